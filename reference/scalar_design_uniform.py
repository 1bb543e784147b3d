"""The uniform design ``uniform`` for standard Gaussian pairs (theory.md §2.4; AKP).

Levels (i − (K + 1)/2)·Δ, midpoint thresholds, Δ the interior minimizer of E[D²](Δ): a root
of dE[D²]/dΔ (analytic, below) bracketed at the working precision around a float search. The
derivatives come from the stationarity residual (R_a, R_t) of F and its Jacobian
(:mod:`~quantmm.reference.scalar_design_pair_tables`) along the direction d(a, t)/dΔ.
"""

from __future__ import annotations

import functools

import mpmath

from .precision import UncertifiedValueError
from .scalar_codebook import ScalarCodebook
from .scalar_design_common import (
    _NEWTON_STEPS,
    _best_lower_precision,
    _midpoint_codebook,
    _positive_level_indices,
    _remember,
    _single_level,
    _step_precision,
)
from .scalar_design_pair_tables import (
    _FLOAT_LIMIT,
    _float_objective,
    _system_at_working_precision,
)


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
