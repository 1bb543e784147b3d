"""E[D²] and E[D] of a named scalar design on a Gaussian pair (theory.md §2.4).

The design's codebook and the error integrals are computed together at each working precision,
so the certified moments are those of the exact design (not of a rounded codebook).
"""

from __future__ import annotations

from typing import NamedTuple

import mpmath

from .precision import DEFAULT_DIGITS, certified_values, checks_digits, to_mpf
from .product_moments import _product_error_moments_at_working_precision
from .scalar_codebook import ScalarCodebook
from .scalar_designs import _design_at_working_precision, _validated, design_codebook

__all__ = ["ScalarError", "scalar_error"]


class ScalarError(NamedTuple):
    """E[D²], E[D] and the codebook (used on both X and Y) of a design."""

    second_moment: mpmath.mpf
    mean: mpmath.mpf
    codebook: ScalarCodebook


@checks_digits
def scalar_error(
    design: str,
    rho: object,
    levels: object,
    digits: int = DEFAULT_DIGITS,
    k: object = None,
) -> ScalarError:
    """E[D²] and E[D] for D = XY − Q(X)·Q(Y), both inputs quantized by ``design`` with ``levels``
    levels, (X, Y) standard normal with correlation ``rho`` (theory.md §2.4; AKP).

    ``design`` is one of ``opt`` (λ* compander), ``pd`` (Panter–Dite compander), ``lloyd_max``,
    ``uniform``, ``matmul_lloyd``, ``matmul_lloyd_bias`` (which needs the inner dimension ``k``).
    The matrix error then follows from :func:`quantmm.reference.scalar_highres.product_error`.

    >>> from quantmm.reference import to_decimal
    >>> result = scalar_error("lloyd_max", 0, 2, digits=12)
    >>> to_decimal(result.second_moment, 12), result.mean  # 1 − (2/π)², E[D] = 0 at ρ = 0
    ('0.594715265431', mpf('0.0'))
    """
    rho_exact, level_count, k_exact = _validated(design, rho, levels, k)
    codebook = design_codebook(design, rho_exact, level_count, digits=digits, k=k_exact)
    # Exact zeros of E[D]: at ρ = 0 every (symmetric) design has E[D] = −E[Q(X)]·E[Q(Y)] = 0; at
    # |ρ| = 1 the even-K matmul-Lloyd design satisfies a_i² = E[X² | S_i]
    # (scalar_design_matmul_lloyd), so E[D] = ρ·(1 − Σ a_i²·P(S_i)) = 0.
    mean_is_zero = rho_exact == 0 or (
        design == "matmul_lloyd" and abs(rho_exact) == 1 and level_count % 2 == 0
    )

    def evaluate() -> tuple[mpmath.mpf, ...]:
        working = _design_at_working_precision(design, to_mpf(rho_exact), level_count, k_exact)
        second_moment, mean = _product_error_moments_at_working_precision(
            working, working, to_mpf(rho_exact)
        )
        return (second_moment,) if mean_is_zero else (second_moment, mean)

    values = certified_values(evaluate, digits, f"scalar_error[{design}]")
    return ScalarError(values[0], mpmath.mpf(0) if mean_is_zero else values[1], codebook)
