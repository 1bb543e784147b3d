"""The converse: a lower bound on E||AᵀB − C||²_F that holds for every problem size.

theory.md §1.2 (OP; the form of the bound is [derived]): for every n, a, b ≥ 1 and every
(randomized) scheme of rate R on independent A (n x a), B (n x b) with iid N(0, σ_A²), N(0, σ_B²)
entries,

    E||AᵀB − C||²_F ≥ n·a·b·σ_A²·σ_B²·Γ(R).
"""

from __future__ import annotations

import mpmath

from .distortion_rate import _gamma_at_working_precision
from .precision import DEFAULT_DIGITS, certified, checks_digits, exact_integer, exact_real, to_mpf

__all__ = ["lower_bound"]


@checks_digits
def lower_bound(
    n: int,
    a: int,
    b: int,
    rate: object,
    sigma_a: object = 1,
    sigma_b: object = 1,
    digits: int = DEFAULT_DIGITS,
) -> mpmath.mpf:
    """n·a·b·σ_a²·σ_b²·Γ(R): no scheme of rate R gets E||AᵀB − C||²_F below this (theory.md §1.2).

    ``n`` is the inner dimension, ``a`` and ``b`` the numbers of columns of A and B, ``sigma_a`` and
    ``sigma_b`` the entries' standard deviations (> 0).

    >>> from quantmm.reference import to_decimal
    >>> to_decimal(lower_bound(4096, 1, 1, 1, digits=8), 8)
    '1792.0000'
    """
    n_exact = exact_integer(n, "n")
    a_exact = exact_integer(a, "a")
    b_exact = exact_integer(b, "b")
    rate_exact = exact_real(rate, "rate", minimum=0)
    sigma_a_exact = exact_real(sigma_a, "sigma_a", minimum=0, minimum_inclusive=False)
    sigma_b_exact = exact_real(sigma_b, "sigma_b", minimum=0, minimum_inclusive=False)
    scale = n_exact * a_exact * b_exact * sigma_a_exact**2 * sigma_b_exact**2

    def evaluate() -> mpmath.mpf:
        return to_mpf(scale) * _gamma_at_working_precision(rate_exact)  # exact 2^(−2R)

    return certified(evaluate, digits, "lower_bound")
