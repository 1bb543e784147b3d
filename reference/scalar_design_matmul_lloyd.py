"""The matmul-Lloyd designs ``matmul_lloyd`` and ``matmul_lloyd_bias`` (theory.md §2.4; AKP).

The best *common* codebook: a local minimizer of F(Q) = E[D²] (or, for the bias-aware variant,
F(Q) = E[D²] + (k − 1)·E[D]², which is k·E[D²] + k(k−1)·E[D]² divided by k) when Q quantizes
both X and Y. The pair tables P, M and the stationarity residual (R_a, R_t) with its Jacobian are
in :mod:`~quantmm.reference.scalar_design_pair_tables`; the ``opt`` compander the iteration starts
from is in :mod:`~quantmm.reference.scalar_design_compander`.

matmul-Lloyd
------------
For fixed Q_Y, mapping x to level a costs a²h(x) − 2a·x·g(x) with g(x) = E[Y·Q_Y(Y) | x],
h(x) = E[Q_Y(Y)² | x]; the best response of Q_X has thresholds x·g/h = (a_i + a_(i+1))/2 and
levels a_i = E[XYQ_Y(Y); S_i]/E[Q_Y(Y)²; S_i] (theory.md §2.4). Two findings shape the design:

1. The law is symmetric in X ↔ Y, but the minimizer over *pairs* (Q_X, Q_Y) need not be: for
   large |ρ| the plain alternating iteration (X's best response, then Y's) leaves the diagonal
   Q_X = Q_Y for interleaved thresholds. In float64 (:func:`_alternating_pair_float`, from the
   Panter–Dite start): K = 4 stays on the diagonal up to ρ = 0.8 and leaves it by ρ = 0.85
   (E[D²] 0.4518 for the pair against 0.4606 for the best common codebook; at ρ = 0.9,
   0.4448 against 0.4968; at ρ = 0.99, 0.364 against 0.630); K = 8 leaves it between 0.9 and
   0.95; K = 3 stays on it. The pair problem also has a gauge, (cQ_X, Q_Y/c) for any c > 0. A
   design that is one codebook used on both sides is therefore defined here as a stationary
   point of F(Q) = E[D²](Q, Q). By the X ↔ Y symmetry, ∂F/∂Q = 2·∂E[D²]/∂Q_X at
   Q_X = Q_Y = Q, so its stationary points are exactly the fixed points of the best response
   with Q_Y = Q:

       R_a,i = Σ_j a_j M_ij − a_i·Σ_j a_j² P_ij + β·E[D]·Σ_j a_j P_ij = 0,
       R_t,m = (a_m + a_(m+1))·h(t_m) − 2·t_m·g(t_m) − 2β·E[D]·q(t_m) = 0,

   with q(x) = E[Q(Y) | x] and β = k − 1 for the bias-aware objective (0 otherwise);
   ∂F/∂a_i = −4·R_a,i and ∂F/∂t_m = 2φ(t_m)(a_m − a_(m+1))·R_t,m. At ρ = 1, g and h are
   taken as their ρ → 1 limits at a threshold (the average of the two adjacent cells), which
   gives t_m² = (a_m² + a_(m+1)²)/2, the stationarity condition of E[(X² − Q(X)²)²]; there
   a_i² = E[X² | S_i], so for even K E[Q(X)²] = 1 and the design is unbiased (E[D] = 0).
2. On the diagonal the best-response step is not always a descent direction for F (at ρ = 0.99
   it points towards the interleaved pair). The iteration therefore runs in stages:
   (i) matmul-Lloyd steps from the ``opt`` compander — the best response of one side to the
   current common codebook, rescaled by the optimal gauge factor, accepted only if F does not
   increase (else halved towards the current codebook, up to :data:`_HALVINGS` times), at most
   :data:`_MATMUL_LLOYD_STEPS` of them; (ii) BFGS on F (SciPy, in log-gap coordinates that keep
   the codebook regular), whose line search also never increases F. The accepted iterates of
   (i)–(ii) are the history (:func:`_matmul_lloyd_history`): F is non-increasing along them by
   construction. (iii) Newton's method on (R_a, R_t) = 0 with an analytic Jacobian (the
   boundary terms of the tables are closed forms) polishes the stationary point they reached.
   Stages (i)–(iii) run in float64 and only provide the starting point; Newton's method then runs
   at the working precision, its early steps at a precision matched to the digits already
   correct, until a correction below 2^(−p/2−8) (p the working precision in bits) guarantees the
   next would be below 2^(−p). The result is checked to be within 10⁻⁸ of the float stationary
   point, whose F is checked to be no worse than the ``opt`` start's. Each budget
   (:data:`_MATMUL_LLOYD_STEPS`, :data:`_BFGS_ITERATIONS`, :data:`_NEWTON_STEPS`) raises
   :class:`~quantmm.reference.precision.UncertifiedValueError` when exhausted without
   convergence (the Lloyd budget only ends stage (i)).

At ρ = 0, g and h are constants and (with no gauge on the diagonal) the fixed point is exactly
Lloyd–Max: a_i = c·centroid_i, t_m = c·midpoint_m, c = (Σ a_j μ_j)/(Σ a_j² p_j) = 1/c, so c = 1.
(For a *pair*, the fixed points at ρ = 0 are (c·LM, LM/c) for every c > 0.)
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import mpmath

from .precision import UncertifiedValueError, exact_real, to_mpf
from .scalar_codebook import ScalarCodebook
from .scalar_design_common import (
    _NEWTON_STEPS,
    _best_lower_precision,
    _mirrored,
    _positive_level_indices,
    _positive_threshold_indices,
    _reduce,
    _remember,
    _step_precision,
)
from .scalar_design_compander import _compander_at_working_precision
from .scalar_design_pair_tables import (
    _FLOAT_LIMIT,
    _float_conditionals,
    _float_objective,
    _float_system,
    _float_tables,
    _moments,
    _objective,
    _system_at_working_precision,
)

#: Budgets (each exhausted budget raises instead of returning an unconverged design).
_MATMUL_LLOYD_STEPS = 30  # stage (i) matmul-Lloyd steps (Lloyd's slow tail is left to BFGS)
_HALVINGS = 6  # halvings of a refused matmul-Lloyd step before stage (ii)
_BFGS_ITERATIONS = 5000  # stage (ii)
_FLOAT_NEWTON_STEPS = 30  # stage (iii)


# ---------------------------------------------------------------------------------------------
# Newton's method at the working precision.
# ---------------------------------------------------------------------------------------------


def _book_from_unknowns(unknowns: Sequence, size: int, design: str) -> ScalarCodebook:
    count = len(_positive_level_indices(size))
    try:
        return _mirrored(unknowns[:count], unknowns[count:], design)
    except ValueError as error:  # a Newton step left the regular codebooks
        raise UncertifiedValueError(
            f"{design}: Newton's method left the regular codebooks"
        ) from error


def _newton_at_working_precision(
    unknowns: Sequence, size: int, rho: mpmath.mpf, beta: int, design: str, correct_bits: int
) -> ScalarCodebook:
    """Newton's method on the reduced stationarity system from ``unknowns`` (positive levels,
    then positive thresholds), believed correct to ``correct_bits`` bits. Each step runs at
    min(p, 2·bits + 40) bits, p the working precision; it stops after a step at p whose
    correction is below 2^(−p/2−8) relative (quadratic convergence puts the next one below 2^−p).
    """
    target = mpmath.mp.prec
    values = [mpmath.mpf(v) for v in unknowns]
    bits = correct_bits
    for _ in range(_NEWTON_STEPS):
        precision = _step_precision(bits, target)
        with mpmath.workprec(precision):
            book = _book_from_unknowns(values, size, design)
            residual, jacobian, _ = _system_at_working_precision(
                book, rho, mpmath.mpf(beta), with_jacobian=True
            )
            reduced_residual, reduced_jacobian = _reduce(residual, jacobian, size)
            step = mpmath.lu_solve(mpmath.matrix(reduced_jacobian), mpmath.matrix(reduced_residual))
            values = [v - s for v, s in zip(values, step, strict=True)]
            scale = max(1, *(abs(v) for v in values))
            relative = max(abs(s) for s in step) / scale
        if precision == target and relative <= mpmath.ldexp(1, -(target // 2) - 8):
            return _book_from_unknowns(values, size, design)
        gained = int(-mpmath.log(relative, 2)) if relative > 0 else target
        bits = max(bits, min(2 * gained - 8, target))
    raise UncertifiedValueError(
        f"{design}: Newton's method did not converge in {_NEWTON_STEPS} steps at "
        f"{mpmath.mp.dps} digits"
    )


# ---------------------------------------------------------------------------------------------
# Float64 stages (i)–(iii) for the starting point (never part of a returned value).
# ---------------------------------------------------------------------------------------------


def _symmetric_arrays(positive_levels, positive_thresholds, size):
    import numpy as np

    pl, pt = np.asarray(positive_levels, float), np.asarray(positive_thresholds, float)
    middle_level = [0.0] if size % 2 else []
    middle_threshold = [] if size % 2 else [0.0]
    levels = np.concatenate((-pl[::-1], middle_level, pl))
    thresholds = np.concatenate((-pt[::-1], middle_threshold, pt))
    return levels, thresholds


def _positive_parts(levels, thresholds, size):
    return levels[(size + 1) // 2 :], thresholds[size // 2 :]


def _best_response_float(levels, thresholds, other_levels, other_thresholds, rho, beta, mean):
    """The best response of one side to the other (both symmetric): thresholds solving
    x·g + β·E[D]·q = (a_m + a_(m+1))/2 · h above the previous one (the root that keeps the
    order), then levels from the linear system (diag(w) + β·v·vᵀ)·a = u + β·ρ·v with
    u = M b, w = P b², v = P b. Returns (levels, thresholds) or None if a threshold has no root."""
    import numpy as np
    from scipy.optimize import brentq

    size = len(levels)
    grid = np.linspace(0.0, _FLOAT_LIMIT, 1801)

    def balance(x, midpoint):
        p, e, _ = _float_conditionals(x, other_levels, other_thresholds, rho)
        g, h, q = e @ other_levels, p @ other_levels**2, p @ other_levels
        return x * g + beta * mean * q - midpoint * h

    new_positive = []
    previous = 0.0
    for m in _positive_threshold_indices(size):
        midpoint = (levels[m] + levels[m + 1]) / 2
        values = balance(grid, midpoint)
        root = None
        for j in range(len(grid) - 1):
            if grid[j + 1] > previous and values[j] <= 0 < values[j + 1]:
                lower = max(grid[j], previous)
                if balance(lower, midpoint)[0] <= 0:
                    root = brentq(lambda x, mid=midpoint: balance(x, mid)[0], lower, grid[j + 1])
                    break
        if root is None or root <= previous:
            return None
        new_positive.append(root)
        previous = root
    _, new_thresholds = _symmetric_arrays([], new_positive, size)
    pair, product = _float_tables(new_thresholds, other_thresholds, rho)
    u, w, v = product @ other_levels, pair @ other_levels**2, pair @ other_levels
    system = np.diag(w) + beta * np.outer(v, v)
    # Least squares: at ρ = 1 a cell whose partner level is 0 has no equation (any level is
    # optimal); the minimum-norm solution keeps it at 0.
    solved = np.linalg.lstsq(system, u + beta * rho * v, rcond=None)[0]
    positive_levels, _ = _positive_parts(solved, new_thresholds, size)
    new_levels, _ = _symmetric_arrays(positive_levels, [], size)
    return new_levels, new_thresholds


def _optimal_gauge(levels, thresholds, rho, beta):
    """The factor s minimizing F(s·Q): with A = Σ a_i a_j M_ij, B = Σ a_i² a_j² P_ij and
    C = Σ a_i a_j P_ij, F is quadratic in u = s² with minimum at u = (A + βρC)/(B + βC²)."""
    import numpy as np

    pair, product = _float_tables(thresholds, thresholds, rho)
    a = np.asarray(levels)
    cross, fourth, second = a @ product @ a, (a**2) @ pair @ (a**2), a @ pair @ a
    return math.sqrt((cross + beta * rho * second) / (fourth + beta * second**2))


@dataclass(frozen=True)
class _Iterate:
    """One accepted iterate of the float stages: the stage, F, levels and thresholds."""

    stage: str
    objective: float
    levels: tuple[float, ...]
    thresholds: tuple[float, ...]


def _record(history: list, stage: str, objective: float, levels, thresholds) -> None:
    history.append(
        _Iterate(stage, objective, tuple(map(float, levels)), tuple(map(float, thresholds)))
    )


def _gap_coordinates(levels, thresholds, size):
    """log-gaps of the increasing positive sequence (levels and thresholds interleaved)."""
    import numpy as np

    pl, pt = _positive_parts(np.asarray(levels), np.asarray(thresholds), size)
    sequence = np.empty(len(pl) + len(pt))
    if size % 2:  # 0 = a_mid < t < a < t < a …
        sequence[0::2], sequence[1::2] = pt, pl
    else:  # 0 = t_mid < a < t < a …
        sequence[0::2], sequence[1::2] = pl, pt
    return np.log(np.diff(np.concatenate(([0.0], sequence))))


def _from_gap_coordinates(gaps, size):
    import numpy as np

    sequence = np.cumsum(np.exp(gaps))
    if size % 2:
        pt, pl = sequence[0::2], sequence[1::2]
    else:
        pl, pt = sequence[0::2], sequence[1::2]
    return _symmetric_arrays(pl, pt, size)


def _float_gradient(levels, thresholds, rho, beta):
    """(F, ∂F/∂a, ∂F/∂t): ∂F/∂a_i = −4·R_a,i, ∂F/∂t_m = 2φ(t_m)(a_m − a_(m+1))·R_t,m."""
    import numpy as np

    size = len(levels)
    residual, _, moments = _float_system(levels, thresholds, rho, beta, with_jacobian=False)
    densities = np.exp(-(np.asarray(thresholds) ** 2) / 2) / math.sqrt(2 * math.pi)
    d_levels = -4 * residual[:size]
    d_thresholds = 2 * densities * (levels[:-1] - levels[1:]) * residual[size:]
    return float(_objective(moments, beta)), d_levels, d_thresholds


def _bfgs_stage(levels, thresholds, rho, beta, history):
    import numpy as np
    from scipy.optimize import minimize

    size = len(levels)

    def value_and_gradient(gaps):
        lv, th = _from_gap_coordinates(gaps, size)
        value, d_levels, d_thresholds = _float_gradient(lv, th, rho, beta)
        pl_grad, pt_grad = _positive_parts(2 * d_levels, 2 * d_thresholds, size)
        sequence_grad = np.empty(len(pl_grad) + len(pt_grad))
        if size % 2:
            sequence_grad[0::2], sequence_grad[1::2] = pt_grad, pl_grad
        else:
            sequence_grad[0::2], sequence_grad[1::2] = pl_grad, pt_grad
        # z_n = Σ_{l ≤ n} exp(u_l): ∂F/∂u_l = exp(u_l)·Σ_{n ≥ l} ∂F/∂z_n.
        tail_sums = np.cumsum(sequence_grad[::-1])[::-1]
        return value, np.exp(gaps) * tail_sums

    def callback(intermediate_result):
        lv, th = _from_gap_coordinates(intermediate_result.x, size)
        _record(history, "bfgs", float(intermediate_result.fun), lv, th)

    result = minimize(
        value_and_gradient,
        _gap_coordinates(levels, thresholds, size),
        jac=True,
        method="BFGS",
        callback=callback,
        options={"gtol": 1e-11, "maxiter": _BFGS_ITERATIONS},
    )
    if result.nit >= _BFGS_ITERATIONS:
        raise UncertifiedValueError(
            f"matmul_lloyd: BFGS did not converge in {_BFGS_ITERATIONS} iterations"
        )
    return _from_gap_coordinates(result.x, size)


@dataclass(frozen=True)
class _FloatDesign:
    """The float64 stationary point (positive levels, then positive thresholds) and the
    accepted iterates that led to it (F non-increasing by construction)."""

    unknowns: tuple[float, ...]
    history: tuple[_Iterate, ...]


@functools.lru_cache(maxsize=64)
def _matmul_lloyd_float(
    rho: float, size: int, beta: int, start: tuple[tuple[float, ...], tuple[float, ...]]
) -> _FloatDesign:
    """Stages (i)–(iii) of the module docstring in float64, from the codebook ``start``."""
    import numpy as np

    levels, thresholds = np.array(start[0]), np.array(start[1])
    history: list[_Iterate] = []
    value = _float_objective(levels, thresholds, rho, beta)
    _record(history, "start", value, levels, thresholds)
    # Stage (i): matmul-Lloyd steps on the common codebook.
    for _ in range(_MATMUL_LLOYD_STEPS):
        mean = _moments(
            list(levels), rho, tuple(t.tolist() for t in _float_tables(thresholds, thresholds, rho))
        ).mean
        proposal = _best_response_float(levels, thresholds, levels, thresholds, rho, beta, mean)
        if proposal is None:
            break
        accepted = False
        for halving in range(_HALVINGS + 1):
            fraction = 0.5**halving
            lv = levels + fraction * (proposal[0] - levels)
            th = thresholds + fraction * (proposal[1] - thresholds)
            lv = lv * _optimal_gauge(lv, th, rho, beta)
            candidate = _float_objective(lv, th, rho, beta)
            if candidate <= value:
                accepted = True
                break
        if not accepted:
            break
        change = max(np.max(np.abs(lv - levels)), np.max(np.abs(th - thresholds), initial=0.0))
        levels, thresholds, value = lv, th, candidate
        _record(history, "lloyd", value, levels, thresholds)
        if change < 1e-6:
            break
    # Stage (ii): BFGS on F.
    if size > 1:
        levels, thresholds = _bfgs_stage(levels, thresholds, rho, beta, history)
    # Stage (iii): Newton's method on the stationarity system (float64).
    pl, pt = _positive_parts(levels, thresholds, size)
    unknowns = np.concatenate((pl, pt))
    for _ in range(_FLOAT_NEWTON_STEPS):
        lv, th = _symmetric_arrays(unknowns[: len(pl)], unknowns[len(pl) :], size)
        residual, jacobian, _ = _float_system(lv, th, rho, beta)
        reduced_residual, reduced_jacobian = _reduce(list(residual), jacobian.tolist(), size)
        step = np.linalg.solve(np.array(reduced_jacobian), np.array(reduced_residual))
        unknowns = unknowns - step
        if np.max(np.abs(step)) < 1e-13 * max(1.0, np.max(np.abs(unknowns))):
            break
    lv, th = _symmetric_arrays(unknowns[: len(pl)], unknowns[len(pl) :], size)
    final = _float_objective(lv, th, rho, beta)
    # The Newton polish moves by ~1e-9 and changes F below float resolution: it is a solve, not
    # a descent step, and is not recorded; the guarantee against the start is checked here.
    if not final <= history[0].objective:
        raise UncertifiedValueError(
            "matmul_lloyd: the float stationary point is worse than its start"
        )
    return _FloatDesign(tuple(float(v) for v in unknowns), tuple(history))


def _matmul_lloyd_history(rho: object, levels: int, k: int | None = None) -> tuple[_Iterate, ...]:
    """The accepted float64 iterates of the matmul-Lloyd design (for tests): F is non-increasing
    along them by construction. ``rho`` exact, as for :func:`design_codebook`."""
    exact = exact_real(rho, "rho", minimum=-1, maximum=1)
    with mpmath.workdps(max(mpmath.mp.dps, 20)):
        return _float_design(to_mpf(abs(exact)), levels, 0 if k is None else k - 1).history


def _float_design(rho: mpmath.mpf, size: int, beta: int) -> _FloatDesign:
    return _matmul_lloyd_float(float(rho), size, beta, _float_start(rho, size))


def _float_start(rho: mpmath.mpf, size: int) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """The ``opt`` compander rounded to float64 (computed once per ρ and K)."""
    key = (float(rho), size)
    if key not in _FLOAT_STARTS:
        start = _compander_at_working_precision("opt", rho, size)
        _FLOAT_STARTS[key] = (
            tuple(float(v) for v in start.levels),
            tuple(float(v) for v in start.thresholds),
        )
    return _FLOAT_STARTS[key]


_FLOAT_STARTS: dict = {}


def _alternating_pair_float(rho: float, size: int, steps: int = 400):
    """Diagnostic (float64): the unrestricted alternating matmul-Lloyd iteration on a *pair*
    (Q_X, Q_Y) of symmetric codebooks from the Panter–Dite compander, with the gauge balanced
    after each round (Σ a_i² = Σ b_j²). Returns (levels_x, thresholds_x, levels_y, thresholds_y,
    E[D²] history). For large ρ it converges off the diagonal (module docstring, finding 1)."""
    import numpy as np
    from scipy.special import ndtri

    ax = np.sqrt(3) * ndtri((np.arange(1, size + 1) - 0.5) / size)
    tx = (ax[1:] + ax[:-1]) / 2
    ay, ty = ax.copy(), tx.copy()

    def second_moment(ax, tx, ay, ty):
        pair, product = _float_tables(tx, ty, rho)
        return 1 + 2 * rho**2 - 2 * ax @ product @ ay + (ax**2) @ pair @ (ay**2)

    history = [second_moment(ax, tx, ay, ty)]
    for _ in range(steps):
        for side in (0, 1):
            mine, other = ((ax, tx), (ay, ty)) if side == 0 else ((ay, ty), (ax, tx))
            proposal = _best_response_float(*mine, *other, rho, 0, 0.0)
            if proposal is None:
                proposal = mine
            value = second_moment(*proposal, *other)
            if value > history[-1]:  # thresholds refused: best levels for the old partition
                pair, product = _float_tables(mine[1], other[1], rho)
                weight = pair @ other[0] ** 2
                lv = np.divide(product @ other[0], weight, out=np.zeros(size), where=weight > 0)
                proposal = (lv, mine[1])
                value = second_moment(*proposal, *other)
            if side == 0:
                ax, tx = proposal
            else:
                ay, ty = proposal
            history.append(value)
        scale = (np.sum(ay**2) / np.sum(ax**2)) ** 0.25
        ax, ay = ax * scale, ay / scale
    return ax, tx, ay, ty, history


# ---------------------------------------------------------------------------------------------
# The design at the working precision.
# ---------------------------------------------------------------------------------------------


def _matmul_lloyd_at_working_precision(
    rho: mpmath.mpf, size: int, beta: int, design: str
) -> ScalarCodebook:
    """Newton's method at the working precision from the float stationary point (or from this
    design's solution at a lower precision), checked against the float point."""
    float_design = _float_design(rho, size, beta)
    seed, bits = float_design.unknowns, 40
    key = ("matmul", float(rho), size, beta)
    lower = _best_lower_precision(key)
    if lower is not None:
        seed, bits = lower
    book = _newton_at_working_precision(seed, size, rho, beta, design, bits)
    unknowns = [*book.levels[(size + 1) // 2 :], *book.thresholds[size // 2 :]]
    distance = max(abs(float(u) - v) for u, v in zip(unknowns, float_design.unknowns, strict=True))
    if not distance < 1e-8:
        raise UncertifiedValueError(
            f"{design}: Newton's method at {mpmath.mp.dps} digits moved {distance:.1e} away from "
            "the float stationary point"
        )
    _remember(key, unknowns)
    return book
