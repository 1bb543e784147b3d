"""Certificate: the last step of the converse, Σψ(r_i) ≤ n·(1 − Γ(R)) when Σr_i ≤ nR.

theory.md §1.2; the whole proof, step by step, is in ``converse.md`` (step 9 is this one). For each
rate R of a grid the certificate proves that a line ℓ_R(r) = ψ̂(R) + ψ̂'(R)·(r − R) with slope ≥ 0
lies above ψ on all of [0, ∞), where ψ̂(R) = 1 − Γ(R). Then for any allocation r_1 … r_n ≥ 0 with
mean r̄ ≤ R, (1/n)Σψ(r_i) ≤ (1/n)Σℓ_R(r_i) = ℓ_R(r̄) ≤ ℓ_R(R) = 1 − Γ(R), which is the concave-
envelope step; the allocation that describes a fraction R/R* of the coordinates at rate R* (or all
at rate R when R ≥ R*) attains it, so 1 − Γ is the concave envelope of ψ at R.

- R < R*: ℓ_R(r) = k·r with k = ψ(R*)/R*, the same line for every such R; it lies above ψ by the
  ``tangent_at_critical_rate`` certificate (ψ(r) ≤ k·r is φ(r) ≥ 1 − k·r), re-proved here.
- R ≥ R*: ℓ_R is the tangent of ψ at R; ℓ_R − ψ vanishes with its derivative at r = R and has
  second derivative −ψ'' > 0 on R ± 1/16 (⊂ (1/2, ∞), where ψ is concave), is certainly positive
  on the rest of [0, r_end], and ℓ_R(r_end) ≥ 1 ≥ ψ with ℓ_R increasing covers r ≥ r_end.

The reference's Γ at every grid rate (`quantmm.reference.gamma`, 30 digits) is checked to be the
correct rounding of 1 − ℓ_R(R).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction

from mpmath import iv

from quantmm.reference import gamma, to_decimal

from .distortion_rate_certificate import COVER_BITS, prove_tangent_at_critical_rate, tangent_slope
from .intervals import (
    Fact,
    certainly_nonnegative,
    certainly_positive,
    cover,
    hull,
    interval,
    precision,
    rounds_to,
    sign_on_cells,
)
from .rate_functions import critical_rate, psi, psi_derivative, psi_second_derivative, s_over
from .runner import Certificate

__all__ = ["CERTIFICATES", "GRID", "envelope_line", "prove_concave_envelope"]

#: The grid of rates: 0 to 6 in steps of 1/8 (R* ≈ 0.906 falls between 7/8 and 1).
GRID = tuple(Fraction(i, 8) for i in range(49))
#: Half-width of the neighbourhood of the touching point handled by the second derivative.
NEIGHBOURHOOD = Fraction(1, 16)


def envelope_line(rate: Fraction) -> tuple[iv.mpf, iv.mpf]:
    """(value, slope) of ψ̂ = 1 − Γ at ``rate``: the line ℓ_R(r) = value + slope·(r − R)."""
    if rate < critical_rate().low:
        slope = tangent_slope()
        return slope * interval(rate), slope
    if rate <= critical_rate().high:
        raise ValueError(f"rate {rate} lies inside the enclosure of R*; pick a grid rate off it")
    s = s_over(rate)
    return psi(s), psi_derivative(s)


def _above_psi_beyond_critical(rate: Fraction) -> list[Fact]:
    """ℓ_R ≥ ψ on [0, ∞) for R > R* (the tangent at R)."""
    value, slope = envelope_line(rate)

    def gap(cell: iv.mpf) -> iv.mpf:
        return value + slope * (cell - interval(rate)) - psi(s_over(cell))

    left, right = rate - NEIGHBOURHOOD, rate + NEIGHBOURHOOD
    approximate_end = float(rate) + (1 - float(psi(s_over(rate)).mid)) / float(slope.mid)
    end = Fraction(math.ceil(approximate_end * 8) + 1, 8)
    facts = [
        sign_on_cells(gap, cover(0, left, 32), "> 0", f"R = {rate}: ℓ_R − ψ > 0"),
        certainly_positive(
            -psi_second_derivative(s_over(hull([interval(left), interval(right)]))),
            f"R = {rate}: (ℓ_R − ψ)'' = −ψ'' > 0 on R ± 1/16, where ℓ_R − ψ and its derivative "
            "vanish at R",
        ),
        sign_on_cells(gap, cover(right, end, 32), "> 0", f"R = {rate}: ℓ_R − ψ > 0"),
        certainly_nonnegative(
            value + slope * (interval(end) - interval(rate)) - 1,
            f"R = {rate}: ℓ_R({end}) ≥ 1 ≥ ψ and ℓ_R increases (slope ψ'(R) > 0): done beyond",
        ),
    ]
    return facts


def prove_concave_envelope(grid: Sequence[Fraction] = GRID) -> list[Fact]:
    """For every grid rate, a non-decreasing line through (R, 1 − Γ(R)) lies above ψ on [0, ∞).

    Aggregates the per-rate facts into one fact per branch, and checks the reference's Γ.
    """
    with precision(COVER_BITS):
        below = [rate for rate in grid if rate < critical_rate().low]
        above = [rate for rate in grid if rate > critical_rate().high]
        facts: list[Fact] = []
        if below:
            tangent = prove_tangent_at_critical_rate()
            facts.append(
                Fact(
                    f"{len(below)} grid rates R in [0, R*): ℓ_R(r) = k·r ≥ ψ(r) on [0, ∞), "
                    "k = ψ(R*)/R* ≥ 0 (the tangent certificate, re-proved)",
                    f"all {len(tangent)} facts of tangent_at_critical_rate proved again; "
                    f"e.g. {tangent[1]}",
                )
            )
        per_rate = [fact for rate in above for fact in _above_psi_beyond_critical(rate)]
        if above:
            facts.append(
                Fact(
                    f"{len(above)} grid rates R in (R*, {max(above)}]: the tangent ℓ_R of ψ at R "
                    "lies above ψ on [0, ∞)",
                    f"{len(per_rate)} interval facts proved, e.g. {per_rate[0]}",
                )
            )
        slopes = [
            certainly_nonnegative(envelope_line(rate)[1], f"slope of ℓ_{rate} ≥ 0") for rate in grid
        ]
        facts.append(
            Fact(
                f"every supporting line has slope ψ̂'(R) ≥ 0, so ℓ_R(r̄) ≤ ℓ_R(R) for r̄ ≤ R "
                f"({len(slopes)} rates)",
                f"last: {slopes[-1].evidence}",
            )
        )
        worst = None
        for rate in grid:
            value, _ = envelope_line(rate)
            printed = to_decimal(gamma(rate, digits=30), 30)
            worst = rounds_to(
                1 - value, printed, f"reference gamma({rate}) = {printed} is 1 − ψ̂({rate})"
            )
        facts.append(
            Fact(
                f"the reference Γ at all {len(grid)} grid rates is the correct 30-digit rounding "
                "of 1 − ℓ_R(R) = 1 − ψ̂(R)",
                f"last: {worst}",
            )
        )
    return facts


CERTIFICATES = (
    Certificate(
        "converse_concave_envelope",
        "the converse's last step: Σψ(r_i) ≤ n(1 − Γ(R)) whenever Σr_i ≤ nR (grid of 49 rates)",
        "converse.md",
        prove_concave_envelope,
    ),
)
