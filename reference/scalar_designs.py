"""Finite-K scalar quantizer designs for standard Gaussian pairs (theory.md §2.4).

X, Y are standard normal with correlation ρ and both are quantized by the same K-level codebook
(AKP = Ang, Kim, Pilanci, arXiv:2603.19559; D = XY − Q(X)Q(Y)). Every design is regular and
symmetric: one half is computed and mirrored, so for odd K the middle level is exactly 0 and for
even K the middle threshold is exactly 0. Every design depends on ρ only through |ρ| (with
(X, Y) → (X, −Y), D → −D for a symmetric codebook), and is computed at |ρ|.

``opt``, ``pd``
    Companders: points c_i = Λ⁻¹((i − ½)/K) with Λ the CDF of the optimal density
    λ*(u) ∝ exp(−u²/6)((1 − ρ²) + ρ²u²)^(1/3) (``opt``) or of N(0, 3) (``pd``, Panter–Dite:
    c_i = √3·Φ⁻¹((i − ½)/K)); midpoint thresholds.
``lloyd_max``
    The MSE-optimal quantizer of N(0, 1): Newton's method at the working precision on the
    centroid/midpoint conditions, from a float Lloyd iteration.
``uniform``
    Levels (i − (K + 1)/2)·Δ, midpoint thresholds, Δ the interior minimizer of E[D²](Δ): a root
    of dE[D²]/dΔ (analytic, below) bracketed at the working precision around a float search.
``matmul_lloyd``, ``matmul_lloyd_bias``
    The best *common* codebook: a local minimizer of F(Q) = E[D²] (or, for the bias-aware
    variant, F(Q) = E[D²] + (k − 1)·E[D]², which is k·E[D²] + k(k−1)·E[D]² divided by k) when Q
    quantizes both X and Y. See "matmul-Lloyd" below.

The pair tables
---------------
For a codebook with levels a_i and cells S_i, let P_ij = P(X ∈ S_i, Y ∈ S_j) and
M_ij = E[XY; X ∈ S_i, Y ∈ S_j]. Then (Isserlis: E[X²Y²] = 1 + 2ρ²)

    E[D²] = 1 + 2ρ² − 2·Σ a_i a_j M_ij + Σ a_i² a_j² P_ij,     E[D] = ρ − Σ a_i a_j P_ij.

At ρ = 0 the tables factor (P_ij = p_i p_j, M_ij = μ_i μ_j, μ_i = E[X; S_i]); at ρ = 1 they are
diagonal (P_ii = p_i, M_ii = E[X²; S_i]); otherwise each row is a one-dimensional integral over the
cell of X of φ(x)·P(Y ∈ S_j | x) and φ(x)·x·E[Y; S_j | x] (Y | x ~ N(ρx, 1 − ρ²)), computed with
the Gauss–Legendre rules and cell refinement of :mod:`quantmm.reference.product_moments`.

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

Cost (one core, 30 certified digits, i.e. evaluations at 40 and 70 digits, first call; results
are cached per working precision): ``pd`` at K = 64 under 0.1 s, Lloyd–Max and ``opt`` at
K = 64 about 2.5 s; ``matmul_lloyd`` (or ``matmul_lloyd_bias``) at K = 16 about 9 s at ρ = 0.5,
30 s at ρ = 0.99 and 1 s at ρ = 1 (closed-form tables); ``uniform`` at K = 16, ρ = 0.9 about
22 s. Almost all of it is the pair tables at 70 digits
(one 1-D Gauss–Legendre integral per cell of X with K conditional Φ's per node); the float
stages take under 2 s.
"""

from __future__ import annotations

import bisect
import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import mpmath

from .precision import (
    DEFAULT_DIGITS,
    UncertifiedValueError,
    certified,
    certified_values,
    checks_digits,
    exact_integer,
    exact_real,
    to_mpf,
)
from .product_moments import (
    _integrate,
    _mean_squared_error_at_working_precision,
    _normal_mass,
    _pieces,
)
from .scalar_codebook import ScalarCodebook
from .scalar_gaussian import _optimal_density_quantile_at_working_precision

__all__ = ["DESIGNS", "MAX_LEVELS", "design_codebook", "lloyd_max_distortion"]

#: The design names accepted by :func:`design_codebook`.
DESIGNS = ("opt", "pd", "lloyd_max", "uniform", "matmul_lloyd", "matmul_lloyd_bias")

#: The most levels each design is computed for: the largest K whose certified codebook (17
#: digits) takes under a minute on one core. Measured (2 shared cores, 2026-12): ``pd`` 4096
#: levels 3.4 s (closed form); ``opt`` 256 levels 10 s (1024: 37 s); ``lloyd_max`` 64 levels 5 s
#: (256: 203 s); ``uniform`` 64 levels 12 s (256: 236 s); ``matmul_lloyd`` and
#: ``matmul_lloyd_bias`` 64 levels 36 s. Larger K was accepted and ran for minutes, or tried to
#: allocate hundreds of GiB.
MAX_LEVELS = {
    "opt": 256,
    "pd": 4096,
    "lloyd_max": 64,
    "uniform": 64,
    "matmul_lloyd": 64,
    "matmul_lloyd_bias": 64,
}


def _validated_levels(design: str, levels: object) -> int:
    """K, an integer in [1, MAX_LEVELS[design]]."""
    size = exact_integer(levels, "levels")
    if size > MAX_LEVELS[design]:
        raise ValueError(
            f"levels must be an integer in [1, {MAX_LEVELS[design]}] for design {design!r} "
            f"(the largest codebook it computes in under a minute), got {levels!r}"
        )
    return size


#: Budgets (each exhausted budget raises instead of returning an unconverged design).
_FLOAT_LLOYD_BUDGET = 200_000  # float Lloyd–Max iterations (K = 64 needs about 6000)
_MATMUL_LLOYD_STEPS = 30  # stage (i) matmul-Lloyd steps (Lloyd's slow tail is left to BFGS)
_HALVINGS = 6  # halvings of a refused matmul-Lloyd step before stage (ii)
_BFGS_ITERATIONS = 5000  # stage (ii)
_FLOAT_NEWTON_STEPS = 30  # stage (iii)
_NEWTON_STEPS = 25  # Newton steps at the working precision (quadratic: ~8 suffice)
_FLOAT_LIMIT = 9.0  # float quadratures stop at |x| = 9: (1 + x²)·φ(x) < 1e-16 beyond


# ---------------------------------------------------------------------------------------------
# Symmetric codebooks: one half, mirrored.
# ---------------------------------------------------------------------------------------------


def _mirrored(
    positive_levels: Sequence[mpmath.mpf], positive_thresholds: Sequence[mpmath.mpf], design: str
) -> ScalarCodebook:
    """The symmetric codebook with the given positive levels (K // 2 of them) and positive
    thresholds ((K − 1) // 2); 0 is the middle level (odd K) or middle threshold (even K)."""
    levels = list(positive_levels)
    thresholds = list(positive_thresholds)
    odd = len(thresholds) == len(levels)  # K odd: (K−1)/2 of each
    zero = [mpmath.mpf(0)]
    return ScalarCodebook(
        tuple([-v for v in reversed(levels)] + (zero if odd else []) + levels),
        tuple([-v for v in reversed(thresholds)] + ([] if odd else zero) + thresholds),
        design,
    )


def _positive_level_indices(size: int) -> range:
    return range((size + 1) // 2, size)


def _positive_threshold_indices(size: int) -> range:
    return range(size // 2, size - 1)


def _midpoint_codebook(positive_levels: Sequence[mpmath.mpf], size: int, design: str):
    """Symmetric codebook with the given positive levels and midpoint thresholds."""
    chain = ([mpmath.mpf(0)] if size % 2 else []) + list(positive_levels)
    thresholds = [(chain[i] + chain[i + 1]) / 2 for i in range(len(chain) - 1)]
    return _mirrored(positive_levels, thresholds, design)


def _single_level(design: str) -> ScalarCodebook:
    return ScalarCodebook((mpmath.mpf(0),), (), design)


# ---------------------------------------------------------------------------------------------
# Companders and Lloyd–Max.
# ---------------------------------------------------------------------------------------------


def _compander_at_working_precision(design: str, rho: mpmath.mpf, size: int) -> ScalarCodebook:
    """Points c_i = Λ⁻¹((i − ½)/K), midpoint thresholds; ``pd`` is √3·Φ⁻¹((i − ½)/K) with
    Φ⁻¹(p) = √2·erfinv(2p − 1), ``opt`` uses the quantile of λ* (theory.md §2.4)."""
    positive = []
    for i in range(1, size + 1):
        if 2 * i - 1 <= size:
            continue
        if design == "pd":  # 2p − 1 = (2i − 1 − K)/K, formed exactly before rounding
            argument = mpmath.mpf(2 * i - 1 - size) / size
            positive.append(mpmath.sqrt(6) * mpmath.erfinv(argument))
        else:
            mass = mpmath.mpf(2 * i - 1) / (2 * size)
            positive.append(_optimal_density_quantile_at_working_precision(mass, rho))
    return _midpoint_codebook(positive, size, design)


def _float_lloyd_max(size: int) -> list[float]:
    """Positive levels of a float64 Lloyd iteration for N(0, 1) from the Panter–Dite points."""
    import numpy as np
    from scipy.special import ndtr, ndtri

    levels = np.sqrt(3) * ndtri((np.arange(1, size + 1) - 0.5) / size)
    change = math.inf
    for _ in range(_FLOAT_LLOYD_BUDGET):
        thresholds = (levels[1:] + levels[:-1]) / 2
        left = np.concatenate(([-np.inf], thresholds))
        right = np.concatenate((thresholds, [np.inf]))
        mass = np.where(left >= 0, ndtr(-left) - ndtr(-right), ndtr(right) - ndtr(left))
        density = np.exp(-(np.concatenate((left, right)) ** 2) / 2) / math.sqrt(2 * math.pi)
        updated = (density[:size] - density[size:]) / mass
        change = float(np.max(np.abs(updated - levels)))
        levels = updated
        if change < 1e-10:
            break
    if not change < 1e-6:
        raise UncertifiedValueError(
            f"lloyd_max: the float Lloyd iteration for K = {size} did not settle "
            f"({_FLOAT_LLOYD_BUDGET} iterations, last change {change:.1e})"
        )
    return [float(v) for v in levels[(size + 1) // 2 :]]


def _lloyd_max_at_working_precision(size: int) -> ScalarCodebook:
    """Newton's method on t_m = (a_m + a_(m+1))/2, a_i = (φ(l_i) − φ(r_i))/(Φ(r_i) − Φ(l_i))
    over the positive half, with the analytic Jacobian ∂c_i/∂r = φ(r)(r − c_i)/P_i,
    ∂c_i/∂l = φ(l)(c_i − l)/P_i; stops once the residual is below 2^(10 − p)."""
    if size == 1:
        return _single_level("lloyd_max")
    level_ids = _positive_level_indices(size)
    unknowns = [mpmath.mpf(v) for v in _float_lloyd_max(size)]
    # Unknowns: the positive levels, then (from the float start's midpoints) positive thresholds.
    chain = ([mpmath.mpf(0)] if size % 2 else []) + unknowns
    unknowns += [(chain[i] + chain[i + 1]) / 2 for i in range(len(chain) - 1)]
    tolerance = mpmath.ldexp(1, 10 - mpmath.mp.prec)
    for _ in range(_NEWTON_STEPS):
        book = _mirrored(unknowns[: len(level_ids)], unknowns[len(level_ids) :], "lloyd_max")
        residual, jacobian = _lloyd_max_system(book)
        reduced_residual, reduced_jacobian = _reduce(residual, jacobian, size)
        if max(abs(r) for r in reduced_residual) <= tolerance:
            return book
        step = mpmath.lu_solve(mpmath.matrix(reduced_jacobian), mpmath.matrix(reduced_residual))
        unknowns = [u - s for u, s in zip(unknowns, step, strict=True)]
    raise UncertifiedValueError(
        f"lloyd_max: Newton's method for K = {size} did not converge in {_NEWTON_STEPS} steps "
        f"at {mpmath.mp.dps} digits"
    )


def _density(z: mpmath.mpf) -> mpmath.mpf:
    return mpmath.npdf(z) if mpmath.isfinite(z) else mpmath.mpf(0)


def _lloyd_max_system(book: ScalarCodebook) -> tuple[list, list]:
    """Full residual (levels a_i − c_i, then thresholds t_m − midpoint) and Jacobian, variables
    ordered (a_0 … a_(K−1), t_0 … t_(K−2))."""
    size = book.size
    levels, thresholds = book.levels, book.thresholds
    count = 2 * size - 1
    residual = [mpmath.mpf(0)] * count
    jacobian = [[mpmath.mpf(0)] * count for _ in range(count)]
    for i, (left, right) in enumerate(book.cells()):
        mass = _normal_mass(left, right)
        centroid = (_density(left) - _density(right)) / mass
        residual[i] = levels[i] - centroid
        jacobian[i][i] = mpmath.mpf(1)
        if i < size - 1:
            jacobian[i][size + i] = -_density(right) * (right - centroid) / mass
        if i > 0:
            jacobian[i][size + i - 1] = -_density(left) * (centroid - left) / mass
    for m, threshold in enumerate(thresholds):
        row = size + m
        residual[row] = threshold - (levels[m] + levels[m + 1]) / 2
        jacobian[row][row] = mpmath.mpf(1)
        jacobian[row][m] = jacobian[row][m + 1] = -mpmath.mpf(1) / 2
    return residual, jacobian


def _reduce(residual: list, jacobian: list, size: int) -> tuple[list, list]:
    """The equations and unknowns of the positive half: each unknown moves a variable and its
    mirror (a_(K−1−i) = −a_i, t_(K−2−m) = −t_m) together."""
    variables = list(_positive_level_indices(size)) + [
        size + m for m in _positive_threshold_indices(size)
    ]

    def mirror(v: int) -> int:
        return size - 1 - v if v < size else size + (size - 2 - (v - size))

    reduced_jacobian = [
        [jacobian[r][c] - jacobian[r][mirror(c)] for c in variables] for r in variables
    ]
    return [residual[r] for r in variables], reduced_jacobian


# ---------------------------------------------------------------------------------------------
# Pair tables and the stationarity system of F(Q) = E[D²](Q, Q) (+ β·E[D]²).
# ---------------------------------------------------------------------------------------------


def _cell_masses_and_means(book: ScalarCodebook) -> tuple[list, list]:
    """p_i = P(X ∈ S_i) and μ_i = E[X; S_i] = φ(l) − φ(r)."""
    masses, means = [], []
    for left, right in book.cells():
        masses.append(_normal_mass(left, right))
        means.append(_density(left) - _density(right))
    return masses, means


def _conditional_cells(
    x: mpmath.mpf, book: ScalarCodebook, rho: mpmath.mpf
) -> tuple[list, list, list]:
    """For Y | x ~ N(ρx, 1 − ρ²), |ρ| < 1: (P(Y ∈ S_j | x), E[Y; S_j | x]) per cell and the
    conditional density at each threshold. Each Φ is taken on the side where it is small."""
    spread = mpmath.sqrt(1 - rho * rho)
    mean = rho * x
    below, above, density = [mpmath.mpf(0)], [mpmath.mpf(1)], [mpmath.mpf(0)]
    for threshold in book.thresholds:
        z = (threshold - mean) / spread
        if z < 0:
            low = mpmath.ncdf(z)
            below.append(low)
            above.append(1 - low)
        else:
            high = mpmath.ncdf(-z)
            below.append(1 - high)
            above.append(high)
        density.append(mpmath.npdf(z))
    below.append(mpmath.mpf(1))
    above.append(mpmath.mpf(0))
    density.append(mpmath.mpf(0))
    masses, firsts = [], []
    for j in range(book.size):
        if above[j] <= below[j]:
            mass = above[j] - above[j + 1]
        else:
            mass = below[j + 1] - below[j]
        masses.append(mass)
        firsts.append(mean * mass + spread * (density[j] - density[j + 1]))
    return masses, firsts, [d / spread for d in density[1:-1]]


def _threshold_conditionals(
    m: int, book: ScalarCodebook, rho: mpmath.mpf
) -> tuple[list, list, list]:
    """:func:`_conditional_cells` at x = t_m; at ρ = 1 (Y = X) the ρ → 1 limit: half of the mass
    in each of the two cells that meet at t_m, and no conditional density."""
    if rho == 1:
        half = mpmath.mpf(1) / 2
        masses = [half if j in (m, m + 1) else mpmath.mpf(0) for j in range(book.size)]
        threshold = book.thresholds[m]
        return masses, [threshold * p for p in masses], [mpmath.mpf(0)] * (book.size - 1)
    return _conditional_cells(book.thresholds[m], book, rho)


def _pair_tables_at_working_precision(book: ScalarCodebook, rho: mpmath.mpf) -> tuple[list, list]:
    """(P, M): P_ij = P(X ∈ S_i, Y ∈ S_j), M_ij = E[XY; X ∈ S_i, Y ∈ S_j] for a symmetric
    codebook used on both sides and 0 ≤ ρ ≤ 1 (see the module docstring)."""
    size = book.size
    zero = mpmath.mpf(0)
    if rho == 0 or rho == 1:
        masses, means = _cell_masses_and_means(book)
        if rho == 0:
            return (
                [[masses[i] * masses[j] for j in range(size)] for i in range(size)],
                [[means[i] * means[j] for j in range(size)] for i in range(size)],
            )
        tables = ([[zero] * size for _ in range(size)], [[zero] * size for _ in range(size)])
        for i, (left, right) in enumerate(book.cells()):
            left_term = left * _density(left) if mpmath.isfinite(left) else zero
            right_term = right * _density(right) if mpmath.isfinite(right) else zero
            tables[0][i][i] = masses[i]
            tables[1][i][i] = masses[i] + left_term - right_term
        return tables
    # Rows over x ≥ 0; the part of S_i below 0 is the mirror of S_(K−1−i) above 0, and
    # (x, y) → (−x, −y) maps cell j to K − 1 − j.
    positive = ([[zero] * size for _ in range(size)], [[zero] * size for _ in range(size)])
    for left, right, _ in _pieces(book, book, rho, mpmath.mpf(0)):
        cell = bisect.bisect_left(book.thresholds, (left + right) / 2)

        def integrand(x: mpmath.mpf) -> list[mpmath.mpf]:
            masses, firsts, _ = _conditional_cells(x, book, rho)
            weight = mpmath.npdf(x)
            return [weight * p for p in masses] + [weight * x * e for e in firsts]

        values = _integrate(integrand, left, right)
        for j in range(size):
            positive[0][cell][j] += values[j]
            positive[1][cell][j] += values[size + j]
    return tuple(
        [
            [table[i][j] + table[size - 1 - i][size - 1 - j] for j in range(size)]
            for i in range(size)
        ]
        for table in positive
    )


@dataclass(frozen=True)
class _Moments:
    """E[D²], E[D] and the vectors Σ_j a_j P_ij, Σ_j a_j² P_ij, Σ_j a_j M_ij of one codebook."""

    second_moment: object
    mean: object
    level_mass: list
    square_mass: list
    cross: list


def _moments(levels: Sequence, rho, tables: tuple[list, list]) -> _Moments:
    """Generic arithmetic (floats or mpf) on the pair tables."""
    pair, product = tables
    size = len(levels)
    level_mass = [sum(pair[i][j] * levels[j] for j in range(size)) for i in range(size)]
    square_mass = [sum(pair[i][j] * levels[j] ** 2 for j in range(size)) for i in range(size)]
    cross = [sum(product[i][j] * levels[j] for j in range(size)) for i in range(size)]
    second = (
        1
        + 2 * rho * rho
        - 2 * sum(levels[i] * cross[i] for i in range(size))
        + sum(levels[i] ** 2 * square_mass[i] for i in range(size))
    )
    mean = rho - sum(levels[i] * level_mass[i] for i in range(size))
    return _Moments(second, mean, level_mass, square_mass, cross)


def _stationarity_system(
    levels: Sequence,
    thresholds: Sequence,
    rho,
    beta,
    tables: tuple[list, list],
    conditionals: Sequence[tuple[list, list, list]],
    densities: Sequence,
    with_jacobian: bool = True,
) -> tuple[list, list | None, _Moments]:
    """The residual (R_a, R_t) of the module docstring and its Jacobian in the variables
    (a_0 … a_(K−1), t_0 … t_(K−2)), each threshold moving on both sides at once.

    ``conditionals[m]`` holds (P(Y ∈ S_j | t_m), E[Y; S_j | t_m], conditional density at each
    threshold), ``densities[m]`` = φ(t_m). The boundary derivatives of the tables are
    ∂P_ij/∂t_n = φ_n[(δ_in − δ_i,n+1)·p_n[j] + (δ_jn − δ_j,n+1)·p_n[i]] and the same for M with
    t_n·e_n. Generic arithmetic: works on floats and on mpf."""
    pair, product = tables
    size = len(levels)
    a, t = levels, thresholds
    moments = _moments(levels, rho, tables)
    e1, pa, pa2, ma = moments.mean, moments.level_mass, moments.square_mass, moments.cross
    q = [sum(a[j] * c[0][j] for j in range(size)) for c in conditionals]
    g = [sum(a[j] * c[1][j] for j in range(size)) for c in conditionals]
    h = [sum(a[j] ** 2 * c[0][j] for j in range(size)) for c in conditionals]
    residual = [ma[i] - a[i] * pa2[i] + beta * e1 * pa[i] for i in range(size)]
    residual += [
        (a[m] + a[m + 1]) * h[m] - 2 * t[m] * g[m] - 2 * beta * e1 * q[m] for m in range(size - 1)
    ]
    if not with_jacobian:
        return residual, None, moments
    count = 2 * size - 1
    jacobian = [[0 * rho] * count for _ in range(count)]
    de1_da = [-2 * pa[k] for k in range(size)]
    de1_dt = [-2 * densities[n] * (a[n] - a[n + 1]) * q[n] for n in range(size - 1)]
    for i in range(size):
        row = jacobian[i]
        for k in range(size):
            row[k] = (
                product[i][k]
                - 2 * a[i] * a[k] * pair[i][k]
                + beta * (de1_da[k] * pa[i] + e1 * pair[i][k])
            )
        row[i] -= pa2[i]
        for n in range(size - 1):
            p_n, e_n, _ = conditionals[n]
            side = (1 if i == n else 0) - (1 if i == n + 1 else 0)
            d_ma = t[n] * densities[n] * (side * g[n] + (a[n] - a[n + 1]) * e_n[i])
            d_pa2 = densities[n] * (side * h[n] + (a[n] ** 2 - a[n + 1] ** 2) * p_n[i])
            d_pa = densities[n] * (side * q[n] + (a[n] - a[n + 1]) * p_n[i])
            row[size + n] = d_ma - a[i] * d_pa2 + beta * (de1_dt[n] * pa[i] + e1 * d_pa)
    for m in range(size - 1):
        row = jacobian[size + m]
        p_m, e_m, d_m = conditionals[m]
        pair_sum = a[m] + a[m + 1]
        for k in range(size):
            row[k] = (
                pair_sum * 2 * a[k] * p_m[k]
                - 2 * t[m] * e_m[k]
                - 2 * beta * (de1_da[k] * q[m] + e1 * p_m[k])
            )
        row[m] += h[m]
        row[m + 1] += h[m]
        # x-derivatives of h, g, q at x = t_m (Gaussian location family: d/dx E[f(Y)|x] =
        # ρ·E[f'(Y)|x]); at ρ = 1 the densities d_m vanish and only ∂g/∂x = ρ·q remains.
        dh_dx = rho * sum((a[n + 1] ** 2 - a[n] ** 2) * d_m[n] for n in range(size - 1))
        dg_dx = rho * (q[m] + sum((a[n + 1] - a[n]) * t[n] * d_m[n] for n in range(size - 1)))
        dq_dx = rho * sum((a[n + 1] - a[n]) * d_m[n] for n in range(size - 1))
        for n in range(size - 1):
            dh = (a[n] ** 2 - a[n + 1] ** 2) * d_m[n]
            dg = (a[n] - a[n + 1]) * t[n] * d_m[n]
            dq = (a[n] - a[n + 1]) * d_m[n]
            if n == m:
                dh, dg, dq = dh + dh_dx, dg + dg_dx, dq + dq_dx
            row[size + n] = (
                pair_sum * dh
                - 2 * t[m] * dg
                - (2 * g[m] if n == m else 0)
                - 2 * beta * (de1_dt[n] * q[m] + e1 * dq)
            )
    return residual, jacobian, moments


def _system_at_working_precision(
    book: ScalarCodebook, rho: mpmath.mpf, beta: mpmath.mpf, with_jacobian: bool = True
) -> tuple[list, list | None, _Moments]:
    tables = _pair_tables_at_working_precision(book, rho)
    conditionals = [_threshold_conditionals(m, book, rho) for m in range(book.size - 1)]
    densities = [mpmath.npdf(t) for t in book.thresholds]
    return _stationarity_system(
        book.levels, book.thresholds, rho, beta, tables, conditionals, densities, with_jacobian
    )


def _objective(moments: _Moments, beta):
    """F = E[D²] + β·E[D]²."""
    return moments.second_moment + beta * moments.mean**2


def _book_from_unknowns(unknowns: Sequence, size: int, design: str) -> ScalarCodebook:
    count = len(_positive_level_indices(size))
    try:
        return _mirrored(unknowns[:count], unknowns[count:], design)
    except ValueError as error:  # a Newton step left the regular codebooks
        raise UncertifiedValueError(
            f"{design}: Newton's method left the regular codebooks"
        ) from error


def _step_precision(correct_bits: int, target: int) -> int:
    """Working precision (bits) of a Newton step from an iterate with ``correct_bits`` correct
    bits: enough for the doubled digits plus 40 guard bits, and the full ``target`` once that is
    within a quarter of it."""
    precision = 2 * correct_bits + 40
    return target if precision >= 3 * target // 4 else precision


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
# Float64 machinery for the starting points (never part of a returned value).
# ---------------------------------------------------------------------------------------------


def _float_conditionals(x, levels, thresholds, rho):
    """Vectorized :func:`_conditional_cells` for 0 ≤ ρ < 1 (or ρ = 1 away from thresholds):
    arrays (n, K) of P(Y ∈ S_j | x), E[Y; S_j | x] and (n, K − 1) conditional densities."""
    import numpy as np
    from scipy.special import ndtr

    x = np.atleast_1d(np.asarray(x, dtype=float))[:, None]
    size = len(levels)
    cuts = np.asarray(thresholds, dtype=float)[None, :]
    if rho >= 1:
        edges = np.concatenate(([-np.inf], thresholds, [np.inf]))
        inside = ((x > edges[None, :-1]) & (x <= edges[None, 1:])).astype(float)
        return inside, inside * x, np.zeros((x.shape[0], size - 1))
    spread = math.sqrt(1 - rho * rho)
    z = (cuts - rho * x) / spread
    low = np.where(z < 0, ndtr(z), 1 - ndtr(-z))
    high = np.where(z < 0, 1 - ndtr(z), ndtr(-z))
    ones, zeros = np.ones((x.shape[0], 1)), np.zeros((x.shape[0], 1))
    low = np.concatenate((zeros, low, ones), axis=1)
    high = np.concatenate((ones, high, zeros), axis=1)
    density = np.exp(-(z**2) / 2) / math.sqrt(2 * math.pi)
    padded = np.concatenate((zeros, density, zeros), axis=1)
    use_high = high[:, :-1] <= low[:, :-1]
    masses = np.where(use_high, high[:, :-1] - high[:, 1:], low[:, 1:] - low[:, :-1])
    firsts = rho * x * masses + spread * (padded[:, :-1] - padded[:, 1:])
    return masses, firsts, density / spread


def _float_tables(thresholds_x, thresholds_y, rho):
    """Float64 pair tables for (possibly different) partitions of X and Y, 0 ≤ ρ ≤ 1."""
    import numpy as np
    from numpy.polynomial.legendre import leggauss
    from scipy.special import ndtr

    tx, ty = np.asarray(thresholds_x, float), np.asarray(thresholds_y, float)
    if rho >= 1:
        ex = np.concatenate(([-np.inf], tx, [np.inf]))
        ey = np.concatenate(([-np.inf], ty, [np.inf]))
        left = np.maximum(ex[:-1, None], ey[None, :-1])
        right = np.minimum(ex[1:, None], ey[None, 1:])
        right = np.maximum(left, right)
        mass = ndtr(right) - ndtr(left)
        finite_left = np.where(np.isfinite(left), left, 0.0)
        finite_right = np.where(np.isfinite(right), right, 0.0)
        left_term = finite_left * np.exp(-(finite_left**2) / 2) / math.sqrt(2 * math.pi)
        right_term = finite_right * np.exp(-(finite_right**2) / 2) / math.sqrt(2 * math.pi)
        return mass, mass + left_term - right_term
    breaks = {-_FLOAT_LIMIT, _FLOAT_LIMIT, *tx.tolist()}
    breaks.update(np.arange(-_FLOAT_LIMIT, _FLOAT_LIMIT, 0.5).tolist())
    if rho > 0:
        width = math.sqrt(1 - rho * rho) / rho
        for s in ty:
            offset = width
            breaks.add(s / rho)
            while 0 < offset < 1:
                breaks.update((s / rho - offset, s / rho + offset))
                offset *= 2
    points = np.array(sorted(b for b in breaks if -_FLOAT_LIMIT <= b <= _FLOAT_LIMIT))
    nodes, weights = leggauss(20)
    half = (points[1:] - points[:-1]) / 2
    middle = (points[1:] + points[:-1]) / 2
    xs = (middle[:, None] + half[:, None] * nodes[None, :]).ravel()
    ws = (half[:, None] * weights[None, :]).ravel()
    cell = np.searchsorted(tx, np.repeat(middle, len(nodes)), side="left")
    masses, firsts, _ = _float_conditionals(xs, np.zeros(len(ty) + 1), ty, rho)
    weight = ws * np.exp(-(xs**2) / 2) / math.sqrt(2 * math.pi)
    pair = np.zeros((len(tx) + 1, len(ty) + 1))
    product = np.zeros_like(pair)
    np.add.at(pair, cell, weight[:, None] * masses)
    np.add.at(product, cell, (weight * xs)[:, None] * firsts)
    return pair, product


def _float_system(levels, thresholds, rho, beta, with_jacobian=True):
    """:func:`_stationarity_system` in float64 for a symmetric codebook on both sides."""
    import numpy as np

    size = len(levels)
    pair, product = _float_tables(thresholds, thresholds, rho)
    tables = (pair.tolist(), product.tolist())
    conditionals = []
    for m, threshold in enumerate(thresholds):
        if rho >= 1:
            masses = [0.5 if j in (m, m + 1) else 0.0 for j in range(size)]
            conditionals.append((masses, [threshold * p for p in masses], [0.0] * (size - 1)))
        else:
            p, e, d = _float_conditionals(threshold, levels, thresholds, rho)
            conditionals.append((p[0].tolist(), e[0].tolist(), d[0].tolist()))
    densities = [math.exp(-(t**2) / 2) / math.sqrt(2 * math.pi) for t in thresholds]
    residual, jacobian, moments = _stationarity_system(
        [float(v) for v in levels],
        [float(v) for v in thresholds],
        float(rho),
        float(beta),
        tables,
        conditionals,
        densities,
        with_jacobian,
    )
    return np.array(residual), (np.array(jacobian) if with_jacobian else None), moments


def _float_objective(levels, thresholds, rho, beta) -> float:
    pair, product = _float_tables(thresholds, thresholds, rho)
    return float(_objective(_moments(list(levels), rho, (pair.tolist(), product.tolist())), beta))


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
# The designs at the working precision.
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


#: The most precise solution so far of each iterative design: (precision in bits, unknowns).
_SOLUTIONS: dict = {}


def _remember(key: tuple, unknowns: Sequence[mpmath.mpf]) -> None:
    """Keep the most precise solution of a design as a seed for evaluations at higher precision
    (certification evaluates at two precisions, the lower first)."""
    precision = mpmath.mp.prec
    known = _SOLUTIONS.get(key)
    if known is None or known[0] < precision:
        _SOLUTIONS[key] = (precision, tuple(unknowns))


def _best_lower_precision(key: tuple) -> tuple[tuple, int] | None:
    known = _SOLUTIONS.get(key)
    if known is None or known[0] >= mpmath.mp.prec:
        return None
    return known[1], known[0] - 20


def _uniform_at_working_precision(rho: mpmath.mpf, size: int) -> ScalarCodebook:
    """Levels (i − (K − 1)/2)·Δ (0-based i), midpoint thresholds, Δ the root of E'(Δ) =
    dE[D²]/dΔ near the float minimizer: Newton's method with the analytic E''(Δ), its early steps
    at a precision matched to the digits already correct, stopped after a step at the working
    precision p below 2^(−p/2−8) relative. The minimum is checked to be interior: E''(Δ) > 0 at
    every step, and the float scan found its minimum strictly inside the scanned range."""
    if size == 1:
        return _single_level("uniform")
    key = ("uniform", float(rho), size)
    lower = _best_lower_precision(key)
    if lower is not None:
        step, bits = mpmath.mpf(lower[0][0]), lower[1]
    else:
        step, bits = mpmath.mpf(_float_uniform_step(float(rho), size)), 24
    target = mpmath.mp.prec
    for _ in range(_NEWTON_STEPS):
        precision = _step_precision(bits, target)
        with mpmath.workprec(precision):
            slope, curvature = _uniform_slope_and_curvature(step, rho, size)
            if not curvature > 0:
                raise UncertifiedValueError(
                    f"uniform: E[D^2] is not convex at the step {mpmath.nstr(step, 8)} "
                    f"(rho = {mpmath.nstr(rho, 8)}, K = {size}); no interior minimum there"
                )
            correction = slope / curvature
            step = step - correction
            relative = abs(correction) / step
        if precision == target and relative <= mpmath.ldexp(1, -(target // 2) - 8):
            _remember(key, [step])
            return _uniform_book(step, size)
        gained = int(-mpmath.log(relative, 2)) if relative > 0 else target
        bits = max(bits, min(2 * gained - 8, target))
    raise UncertifiedValueError(f"uniform: the step did not converge at {mpmath.mp.dps} digits")


def _uniform_book(step: mpmath.mpf, size: int) -> ScalarCodebook:
    positive = [(i - mpmath.mpf(size - 1) / 2) * step for i in _positive_level_indices(size)]
    return _midpoint_codebook(positive, size, "uniform")


def _uniform_slope_and_curvature(
    step: mpmath.mpf, rho: mpmath.mpf, size: int
) -> tuple[mpmath.mpf, mpmath.mpf]:
    """E'(Δ) = c·∇F and E''(Δ) = cᵀ·∇²F·c along c = d(a, t)/dΔ = (i − (K−1)/2, m + 1 − K/2),
    with ∇F = (−4·R_a, 2φ(t_m)(a_m − a_(m+1))·R_t) and ∇²F from the Jacobian of R."""
    book = _uniform_book(step, size)
    residual, jacobian, _ = _system_at_working_precision(book, rho, mpmath.mpf(0))
    levels, thresholds = book.levels, book.thresholds
    direction = [i - mpmath.mpf(size - 1) / 2 for i in range(size)]
    direction += [m + 1 - mpmath.mpf(size) / 2 for m in range(size - 1)]
    count = 2 * size - 1
    slope = curvature = mpmath.mpf(0)
    for v in range(count):
        along = sum(jacobian[v][w] * direction[w] for w in range(count))
        if v < size:
            gradient, gradient_along = -4 * residual[v], -4 * along
        else:  # the factor 2φ(t_m)(a_m − a_(m+1)) moves with Δ too
            m = v - size
            density = mpmath.npdf(thresholds[m])
            gap = levels[m] - levels[m + 1]
            factor = 2 * density * gap
            factor_along = (
                2 * density * (direction[m] - direction[m + 1] - thresholds[m] * gap * direction[v])
            )
            gradient = factor * residual[v]
            gradient_along = factor * along + factor_along * residual[v]
        slope += gradient * direction[v]
        curvature += gradient_along * direction[v]
    return slope, curvature


@functools.lru_cache(maxsize=64)
def _float_uniform_step(rho: float, size: int) -> float:
    """The float64 minimizer of E[D²](Δ): the best of a log-spaced scan of Δ, refined by golden
    section inside its neighbours (checked to be an interior minimum of the scan)."""
    import numpy as np
    from scipy.optimize import minimize_scalar

    def value(step: float) -> float:
        levels = (np.arange(size) - (size - 1) / 2) * step
        thresholds = (levels[1:] + levels[:-1]) / 2
        return _float_objective(levels, thresholds, rho, 0)

    steps = np.geomspace(1e-3, 2 * _FLOAT_LIMIT / max(size - 1, 1), 160)
    values = [value(s) for s in steps]
    best = int(np.argmin(values))
    if not 0 < best < len(steps) - 1:
        raise UncertifiedValueError("uniform: the minimizing step lies at the end of the scan")
    result = minimize_scalar(
        value,
        bracket=(steps[best - 1], steps[best], steps[best + 1]),
        method="golden",
        tol=1e-10,
    )
    return float(result.x)


def _design_at_working_precision(
    design: str, rho: mpmath.mpf, levels: int, k: int | None = None
) -> ScalarCodebook:
    """The ``design`` codebook (K = ``levels``) at the current working precision, for the
    correlation ``rho`` (an mpf in [−1, 1]; only |ρ| matters) and, for ``matmul_lloyd_bias``,
    the inner dimension ``k``. Cached per working precision."""
    return _cached_design(design, abs(+rho), levels, k, mpmath.mp.prec)


@functools.lru_cache(maxsize=256)
def _cached_design(
    design: str, rho: mpmath.mpf, size: int, k: int | None, precision: int
) -> ScalarCodebook:
    with mpmath.workprec(precision):
        if size == 1:
            return _single_level(design)
        if design in ("opt", "pd"):
            return _compander_at_working_precision(design, rho, size)
        if design == "lloyd_max":
            return _lloyd_max_at_working_precision(size)
        if design == "uniform":
            return _uniform_at_working_precision(rho, size)
        if design == "matmul_lloyd":
            return _matmul_lloyd_at_working_precision(rho, size, 0, design)
        if design == "matmul_lloyd_bias":
            if k is None:
                raise ValueError("k (the inner dimension) is required for matmul_lloyd_bias")
            return _matmul_lloyd_at_working_precision(rho, size, k - 1, design)
    raise ValueError(f"design must be one of {', '.join(DESIGNS)}, got {design!r}")


# ---------------------------------------------------------------------------------------------
# Public, certified functions.
# ---------------------------------------------------------------------------------------------


def _validated(design: object, rho: object, levels: object, k: object) -> tuple:
    if design not in DESIGNS:
        raise ValueError(f"design must be one of {', '.join(DESIGNS)}, got {design!r}")
    exact_rho = exact_real(rho, "rho", minimum=-1, maximum=1)
    size = _validated_levels(design, levels)
    if design == "matmul_lloyd_bias":
        if k is None:
            raise ValueError(
                "k (the inner dimension, an integer >= 1) is required for matmul_lloyd_bias"
            )
        k = exact_integer(k, "k")
    elif k is not None:
        raise ValueError(f"k is only accepted for matmul_lloyd_bias, got k={k!r} for {design!r}")
    return exact_rho, size, k


@checks_digits
def design_codebook(
    design: str,
    rho: object,
    levels: object,
    digits: int = DEFAULT_DIGITS,
    k: object = None,
) -> ScalarCodebook:
    """The K-level codebook of ``design`` for standard Gaussian pairs with correlation ``rho``,
    certified to ``digits`` significant digits in every level and threshold (theory.md §2.4; AKP).

    ``design`` is one of :data:`DESIGNS` (see the module docstring): ``opt`` (λ* compander),
    ``pd`` (Panter–Dite compander), ``lloyd_max`` (MSE-optimal for N(0, 1), independent of ρ),
    ``uniform`` (step minimizing E[D²]), ``matmul_lloyd`` (a stationary point of E[D²] when the
    codebook quantizes both X and Y) and ``matmul_lloyd_bias`` (the same for
    k·E[D²] + k(k−1)·E[D]², which needs the inner dimension ``k``). ``rho`` is exact in [−1, 1];
    the designs depend on |ρ| only. K = ``levels`` >= 1; K = 1 is the single level 0.

    >>> from quantmm.reference import to_decimal
    >>> book = design_codebook("lloyd_max", 0, 2, digits=20)
    >>> [to_decimal(v, 20) for v in book.levels], book.thresholds  # ±√(2/π)
    (['-0.79788456080286535588', '0.79788456080286535588'], (mpf('0.0'),))
    >>> book = design_codebook("pd", "0.5", 3, digits=12)
    >>> [to_decimal(v, 12) for v in book.levels]  # 0 and ±√3·Φ⁻¹(5/6)
    ['-1.67562330483', '0.00000000000', '1.67562330483']
    >>> book = design_codebook("matmul_lloyd", "0.9", 3, digits=15)
    >>> [to_decimal(v, 15) for v in book.levels[1:]], [to_decimal(v, 15) for v in book.thresholds]
    (['0.00000000000000', '1.73502951026730'], ['-1.08103447441321', '1.08103447441321'])
    """
    exact_rho, size, k = _validated(design, rho, levels, k)
    magnitude = abs(exact_rho)

    def evaluate() -> tuple[mpmath.mpf, ...]:
        book = _design_at_working_precision(design, to_mpf(magnitude), size, k)
        return (*book.levels, *book.thresholds)

    values = certified_values(evaluate, digits, f"design_codebook({design})", structural_zeros=True)
    return ScalarCodebook(tuple(values[:size]), tuple(values[size:]), design)


@checks_digits
def lloyd_max_distortion(levels: object, digits: int = DEFAULT_DIGITS) -> mpmath.mpf:
    """E[(X − Q(X))²] of the K-level Lloyd–Max quantizer of N(0, 1) (theory.md §2.4; computed,
    not taken from Max's 1960 table). K = 1 gives 1, K = 2 gives 1 − 2/π.

    >>> from quantmm.reference import to_decimal
    >>> to_decimal(lloyd_max_distortion(2, digits=20), 20)  # 1 − 2/π
    '0.36338022763241865692'
    >>> to_decimal(lloyd_max_distortion(8, digits=20), 20)
    '0.034547760788503730277'
    """
    size = _validated_levels("lloyd_max", levels)
    return certified(
        lambda: _mean_squared_error_at_working_precision(
            _design_at_working_precision("lloyd_max", mpmath.mpf(0), size)
        ),
        digits,
        "lloyd_max_distortion",
    )
