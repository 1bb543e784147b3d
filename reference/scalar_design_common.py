"""Shared pieces of the finite-K scalar designs (theory.md §2.4): symmetric codebooks, the
positive-half reduction of a Newton system, the precision schedule of Newton's method and the
seed cache of the iterative designs.

Every design is regular and symmetric: one half is computed and mirrored, so for odd K the middle
level is exactly 0 and for even K the middle threshold is exactly 0 (:func:`_mirrored`,
:func:`_midpoint_codebook`). Newton's method on a codebook (``lloyd_max``, ``matmul_lloyd``)
solves for the positive half only (:func:`_reduce`); ``uniform`` and ``matmul_lloyd`` take their
early Newton steps at a precision matched to the digits already correct (:func:`_step_precision`);
every Newton iteration at the working precision has :data:`_NEWTON_STEPS` steps at most. The most
precise solution so far of each of ``uniform`` and ``matmul_lloyd`` is kept in :data:`_SOLUTIONS`
(:func:`_remember`) and seeds the evaluation at the next, higher precision
(:func:`_best_lower_precision`): certification evaluates at two precisions, the lower first.
"""

from __future__ import annotations

from collections.abc import Sequence

import mpmath

from .scalar_codebook import ScalarCodebook

#: Budgets (each exhausted budget raises instead of returning an unconverged design).
_NEWTON_STEPS = 25  # Newton steps at the working precision (quadratic: ~8 suffice)


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


def _density(z: mpmath.mpf) -> mpmath.mpf:
    return mpmath.npdf(z) if mpmath.isfinite(z) else mpmath.mpf(0)


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


def _step_precision(correct_bits: int, target: int) -> int:
    """Working precision (bits) of a Newton step from an iterate with ``correct_bits`` correct
    bits: enough for the doubled digits plus 40 guard bits, and the full ``target`` once that is
    within a quarter of it."""
    precision = 2 * correct_bits + 40
    return target if precision >= 3 * target // 4 else precision


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
