"""The guarantee of the universal nested-lattice scheme for arbitrary matrices.

theory.md §1.3 (OP: a guarantee in ||Ā||_F, ||B̄||_F, ||ĀᵀB̄||_F; the constants are [derived] and
re-derived in proofs/universal_guarantee.md). Ā, B̄ are A, B with zero-mean columns; with ideal
(good, never overloaded) lattices at rate R, writing φ = φ(R):

    MMSE, α = 1 − 2^(−2R):  E||AᵀB − C||²_F ≲ φ²·||ĀᵀB̄||²_F + φ(1 − φ)·||Ā||²_F·||B̄||²_F / n
    unbiased, α = 1:        E||AᵀB − C||²_F ≲ ((2^(2R)/(2^(2R) − 1))² − 1)·||Ā||²_F·||B̄||²_F / n
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from fractions import Fraction
from typing import NamedTuple

import mpmath

from .distortion_rate import _one_minus_two_pow_minus_2r_exact, _two_pow_minus_2r_exact
from .precision import (
    DEFAULT_DIGITS,
    _to_fraction,
    certified,
    checks_digits,
    exact_integer,
    exact_real,
    to_mpf,
)

__all__ = ["CenteredNorms", "centered_frobenius_norms", "universal_guarantee"]

SCALINGS = ("mmse", "unbiased")


class CenteredNorms(NamedTuple):
    """Exact squared Frobenius norms of column-centered matrices; the fields are the keyword
    arguments of :func:`universal_guarantee`."""

    fro_AtB_sq: Fraction
    fro_A_sq: Fraction
    fro_B_sq: Fraction
    n: int


def _exact_matrix(matrix: object, name: str) -> list[list[Fraction]]:
    """Rows of ``matrix`` (a 2-D array or nested sequence of finite reals) as exact rationals."""
    dtype = getattr(matrix, "dtype", None)
    if dtype is not None and getattr(dtype, "kind", "f") not in "iuf":
        raise ValueError(f"{name} must hold real numbers, got an array of dtype {dtype}")
    shape = getattr(matrix, "shape", None)
    if shape is not None and len(shape) != 2:
        raise ValueError(f"{name} must be a 2-D matrix, got an array of shape {tuple(shape)}")
    rows = matrix.tolist() if hasattr(matrix, "tolist") else matrix
    if not isinstance(rows, Sequence) or isinstance(rows, str) or len(rows) == 0:
        raise ValueError(f"{name} must be a non-empty 2-D matrix, got {type(matrix).__name__}")
    exact_rows: list[list[Fraction]] = []
    for i, row in enumerate(rows):
        if not isinstance(row, Sequence) or isinstance(row, str) or len(row) == 0:
            raise ValueError(f"{name} must be a non-empty 2-D matrix; row {i} is {row!r}")
        if len(row) != len(rows[0]):
            raise ValueError(
                f"{name} must be rectangular: row 0 has {len(rows[0])} entries, "
                f"row {i} has {len(row)}"
            )
        for j, entry in enumerate(row):
            if isinstance(entry, bool) or not isinstance(entry, numbers.Real | str):
                raise ValueError(f"{name}[{i}][{j}] must be a real number, got {entry!r}")
        exact_rows.append([_to_fraction(entry, f"{name}[{i}][{j}]") for j, entry in enumerate(row)])
    return exact_rows


def _centered_columns(rows: list[list[Fraction]]) -> list[list[Fraction]]:
    """Columns of the matrix with their exact means subtracted."""
    n = len(rows)
    columns = [list(column) for column in zip(*rows, strict=True)]
    return [[entry - sum(column) / n for entry in column] for column in columns]


def centered_frobenius_norms(A: object, B: object) -> CenteredNorms:
    """||ĀᵀB̄||²_F, ||Ā||²_F, ||B̄||²_F and n for A (n x a), B (n x b), in exact rational arithmetic.

    Ā and B̄ are A and B with each column's mean subtracted (theory.md §1.3). Float entries are
    taken at their exact binary value. The cost is O(n·a·b) rational operations: meant for the
    reference sizes a conformance check uses, not for large matrices.

    >>> norms = centered_frobenius_norms([[1, 0], [3, 2]], [[1], [2]])
    >>> norms.fro_AtB_sq, norms.fro_A_sq, norms.fro_B_sq, norms.n
    (Fraction(2, 1), Fraction(4, 1), Fraction(1, 2), 2)
    """
    rows_a = _exact_matrix(A, "A")
    rows_b = _exact_matrix(B, "B")
    if len(rows_a) != len(rows_b):
        raise ValueError(
            f"A and B must have the same number of rows n (A is n x a, B is n x b), "
            f"got {len(rows_a)} and {len(rows_b)}"
        )
    columns_a = _centered_columns(rows_a)
    columns_b = _centered_columns(rows_b)
    fro_a_sq = sum((entry * entry for column in columns_a for entry in column), Fraction(0))
    fro_b_sq = sum((entry * entry for column in columns_b for entry in column), Fraction(0))
    fro_atb_sq = Fraction(0)
    for column_a in columns_a:
        for column_b in columns_b:
            inner = sum((x * y for x, y in zip(column_a, column_b, strict=True)), Fraction(0))
            fro_atb_sq += inner * inner
    return CenteredNorms(fro_atb_sq, fro_a_sq, fro_b_sq, len(rows_a))


@checks_digits
def universal_guarantee(
    rate: object,
    fro_AtB_sq: object,
    fro_A_sq: object,
    fro_B_sq: object,
    n: int,
    alpha: str = "mmse",
    digits: int = DEFAULT_DIGITS,
) -> mpmath.mpf:
    """The §1.3 bound on E||AᵀB − C||²_F of the universal nested-lattice scheme at rate R.

    ``fro_AtB_sq`` = ||ĀᵀB̄||²_F, ``fro_A_sq`` = ||Ā||²_F, ``fro_B_sq`` = ||B̄||²_F for the
    column-centered matrices (see :func:`centered_frobenius_norms`), ``n`` the inner dimension.
    ``alpha`` is ``"mmse"`` (α = 1 − 2^(−2R), R ≥ 0) or ``"unbiased"`` (α = 1, R > 0). These are the
    ideal-lattice constants of theory.md §1.3; a practical lattice adds its own loss.

    For iid N(0, 1) matrices the norms concentrate at n·a·b, n·a and n·b, and the MMSE bound is
    n·a·b·φ(R) (here n = 8, a = b = 1):

    >>> from quantmm.reference import to_decimal
    >>> to_decimal(universal_guarantee(1, fro_AtB_sq=8, fro_A_sq=8, fro_B_sq=8, n=8, digits=6), 6)
    '3.50000'
    """
    rate_exact = exact_real(rate, "rate", minimum=0)
    fro_atb = exact_real(fro_AtB_sq, "fro_AtB_sq", minimum=0)
    fro_a = exact_real(fro_A_sq, "fro_A_sq", minimum=0)
    fro_b = exact_real(fro_B_sq, "fro_B_sq", minimum=0)
    n_exact = exact_integer(n, "n")
    if alpha not in SCALINGS:
        raise ValueError(f"alpha must be one of {', '.join(SCALINGS)}, got {alpha!r}")
    if fro_atb > fro_a * fro_b:
        raise ValueError(
            "fro_AtB_sq must not exceed fro_A_sq * fro_B_sq (Cauchy–Schwarz: "
            "||ĀᵀB̄||_F <= ||Ā||_F·||B̄||_F), got inconsistent norms"
        )
    if alpha == "unbiased" and rate_exact == 0:
        raise ValueError("rate must be > 0 with alpha='unbiased' (the bound is infinite at rate 0)")
    spread = fro_a * fro_b / n_exact
    # Exact zeros, decided on the exact inputs: φ(R) > 0 always, and φ(1 − φ) = 0 only at R = 0.
    if alpha == "unbiased":
        exactly_zero = spread == 0
    else:
        exactly_zero = fro_atb == 0 and (spread == 0 or rate_exact == 0)
    if exactly_zero:
        return mpmath.mpf(0)

    def evaluate() -> mpmath.mpf:
        # s = 2^(−2R) and 1 − s from the exact rate (distortion_rate: the power of two is exact,
        # so a rate like 10^400 keeps its digits).
        single = _two_pow_minus_2r_exact(rate_exact)
        if alpha == "mmse":
            # φ = s(2 − s) and 1 − φ = (1 − s)², each formed without cancellation.
            phi = single * (2 - single)
            one_minus_phi = _one_minus_two_pow_minus_2r_exact(rate_exact) ** 2
            return phi * phi * to_mpf(fro_atb) + phi * one_minus_phi * to_mpf(spread)
        # (2^(2R)/(2^(2R) − 1))² − 1 = σ²(2 + σ²), σ² = 1/(2^(2R) − 1) = s/(1 − s): no cancellation.
        noise = single / _one_minus_two_pow_minus_2r_exact(rate_exact)
        return noise * (2 + noise) * to_mpf(spread)

    return certified(evaluate, digits, "universal_guarantee")
