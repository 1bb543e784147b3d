"""The Lloyd–Max design ``lloyd_max`` (theory.md §2.4): the MSE-optimal quantizer of N(0, 1),
independent of ρ.

Newton's method at the working precision on the centroid/midpoint conditions
a_i = E[X | S_i], t_m = (a_m + a_(m+1))/2, from a float Lloyd iteration (computed, not taken from
Max's 1960 table; K = 2 gives ±√(2/π)).
"""

from __future__ import annotations

import math

import mpmath

from .precision import UncertifiedValueError
from .product_moments import _normal_mass
from .scalar_codebook import ScalarCodebook
from .scalar_design_common import (
    _NEWTON_STEPS,
    _density,
    _mirrored,
    _positive_level_indices,
    _reduce,
    _single_level,
)

#: Budgets (each exhausted budget raises instead of returning an unconverged design).
_FLOAT_LLOYD_BUDGET = 200_000  # float Lloyd–Max iterations (K = 64 needs about 6000)


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
