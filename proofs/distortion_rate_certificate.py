"""Certificates: the shape of ψ and Γ, and the tangent from (0, 1) touching φ exactly at R*.

theory.md §1.1; derivation in ``distortion_rate.md`` ("Shape of ψ and Γ", "The tangent").
With s = 2^(−2R) and the derivatives of :mod:`quantmm.proofs.rate_functions`:

- ``psi_convex_concave``: ψ'' ≥ 0 on [0, 1/2] and ψ'' ≤ 0 on [1/2, ∞) (strictly away from 1/2);
- ``gamma_shape``: Γ is decreasing, convex and C¹ on [0, ∞);
- ``tangent_at_critical_rate``: g(R) = φ(R) − L(R) ≥ 0 on [0, ∞) for the line
  L(R) = 1 − R·ψ(R*)/R*, with equality only at R = 0 (where L passes through (0, 1)) and R = R*.

Ranges that reach infinity are split at R = 32: beyond it s ∈ (0, 2^(−64)], and the claim is
checked on that s-interval directly.
"""

from __future__ import annotations

from fractions import Fraction

from mpmath import iv

from quantmm.reference import gamma_derivative, to_decimal

from .intervals import (
    Fact,
    certainly_below,
    certainly_negative,
    certainly_positive,
    cover,
    hull,
    interval,
    overlapping,
    precision,
    rounds_to,
    sign_on_cells,
)
from .rate_functions import (
    critical_rate,
    phi,
    phi_derivative,
    phi_second_derivative,
    psi,
    psi_derivative,
    psi_second_derivative,
    s_over,
)
from .runner import Certificate

__all__ = [
    "CERTIFICATES",
    "prove_gamma_shape",
    "prove_psi_convex_concave",
    "prove_tangent_at_critical_rate",
    "tangent_slope",
]

#: Working precision of the covers (bits); R* is enclosed far more tightly than this needs.
COVER_BITS = 120
#: Where the covers in R stop; beyond it the claims are checked on s ∈ [0, 2^(−64)].
TAIL_RATE = 32
TAIL_S = Fraction(1, 2**64)
#: Half-width of the neighbourhood of R* handled by the second-derivative argument.
NEIGHBOURHOOD = Fraction(1, 16)
#: Near R = 0 the tangent's gap grows (g' > 0) on [0, START].
START = Fraction(1, 8)
#: Beyond this rate the tangent line is negative, so φ > 0 lies above it.
LINE_NEGATIVE_FROM = 2


def _tail() -> iv.mpf:
    """s over R ≥ 32: the interval [0, 2^(−64)]."""
    return hull([interval(0), interval(TAIL_S)])


def prove_psi_convex_concave(inflection: Fraction = Fraction(1, 2)) -> list[Fact]:
    """ψ(r) = (1 − 2^(−2r))² is convex on [0, inflection] and concave on [inflection, ∞).

    The true inflection is 1/2 (ψ'' = 2c²·s(2s − 1) vanishes where s = 1/2); any other value of
    ``inflection`` makes the certificate fail.
    """
    with precision(COVER_BITS):

        def second(cell: iv.mpf) -> iv.mpf:
            return psi_second_derivative(s_over(cell))

        margin = Fraction(1, 128)
        return [
            sign_on_cells(second, cover(0, inflection, 64), "≥ 0", "ψ''(r) ≥ 0 (convex)"),
            sign_on_cells(second, cover(0, inflection - margin, 64), "> 0", "ψ''(r) > 0"),
            sign_on_cells(second, cover(inflection, TAIL_RATE, 256), "≤ 0", "ψ''(r) ≤ 0 (concave)"),
            sign_on_cells(second, cover(inflection + margin, TAIL_RATE, 256), "< 0", "ψ''(r) < 0"),
            sign_on_cells(
                psi_second_derivative,
                [_tail()],
                "≤ 0",
                "the tail r ≥ 32: ψ'' = 2c²·s(2s − 1) ≤ 0 for s ∈ [0, 2^−64]",
            ),
        ]


def tangent_slope() -> iv.mpf:
    """k = ψ(R*)/R*: the line from (0, 1) to (R*, φ(R*)) is L(R) = 1 − k·R."""
    rate = critical_rate().enclosure
    return psi(s_over(rate)) / rate


def prove_gamma_shape() -> list[Fact]:
    """Γ decreasing, convex and C¹ on [0, ∞); the reference's Γ' rounds to the enclosures."""
    with precision(COVER_BITS):
        rate = critical_rate()
        start = interval(rate.low)
        slope = -tangent_slope()
        phi_slope_at_critical = phi_derivative(s_over(rate.enclosure))
        facts = [
            certainly_negative(slope, "Γ' = −ψ(R*)/R* < 0 on [0, R*] (the line)"),
            sign_on_cells(
                lambda cell: phi_derivative(s_over(cell)),
                cover(rate.low, TAIL_RATE, 256),
                "< 0",
                "Γ' = φ' = −2c·s(1 − s) < 0 for R ≥ R*",
            ),
            sign_on_cells(
                phi_derivative,
                [_tail()],
                "≤ 0",
                "the tail R ≥ 32: φ' ≤ 0 for s ∈ [0, 2^−64] (and < 0 for s > 0: s(1 − s) > 0)",
            ),
            certainly_below(
                s_over(start), interval(Fraction(1, 2)), "s(R*) < 1/2, so φ'' = 2c²s(1 − 2s) > 0"
            ),
            sign_on_cells(
                lambda cell: phi_second_derivative(s_over(cell)),
                cover(rate.low, TAIL_RATE, 256),
                "> 0",
                "Γ'' = φ'' > 0 for R ≥ R* (convex)",
            ),
            sign_on_cells(
                phi_second_derivative, [_tail()], "≥ 0", "the tail R ≥ 32: φ'' ≥ 0 for small s"
            ),
            overlapping(
                slope,
                phi_slope_at_critical,
                "C¹ at R*: the line's slope −ψ(R*)/R* and φ'(R*) agree (equal by the tangency "
                "identity 1/s* − 1 = 2cR*, distortion_rate.md; this is the interval cross-check)",
            ),
        ]
        for rate_point, branch in ((Fraction(1, 2), slope), (Fraction(2), None)):
            enclosure = branch if branch is not None else phi_derivative(s_over(rate_point))
            printed = to_decimal(gamma_derivative(rate_point, digits=30), 30)
            facts.append(
                rounds_to(
                    enclosure,
                    printed,
                    f"reference gamma_derivative({rate_point}) = {printed} is correctly rounded",
                )
            )
    return facts


def prove_tangent_at_critical_rate() -> list[Fact]:
    """g(R) = φ(R) − (1 − k·R) ≥ 0 on [0, ∞), zero exactly at R = 0 and at R = R*."""
    with precision(COVER_BITS):
        rate = critical_rate()
        slope = tangent_slope()

        def gap(cell: iv.mpf) -> iv.mpf:
            return cell * slope - psi(s_over(cell))

        left = rate.low - NEIGHBOURHOOD
        right = rate.high + NEIGHBOURHOOD
        neighbourhood = hull([interval(left), interval(right)])
        return [
            sign_on_cells(
                lambda cell: slope - psi_derivative(s_over(cell)),
                cover(0, START, 16),
                "> 0",
                "g(0) = 0 and g' = k − ψ' > 0, so g > 0 on (0, 1/8]",
            ),
            sign_on_cells(gap, cover(START, left, 64), "> 0", "g > 0"),
            certainly_below(
                interval(Fraction(1, 2)), interval(left), "the neighbourhood R* ± 1/16 is > 1/2"
            ),
            certainly_positive(
                -psi_second_derivative(s_over(neighbourhood)),
                "g'' = −ψ'' > 0 on R* ± 1/16; with g(R*) = g'(R*) = 0 (tangency, "
                "distortion_rate.md) g > 0 there except at R*",
            ),
            sign_on_cells(gap, cover(right, LINE_NEGATIVE_FROM, 64), "> 0", "g > 0"),
            certainly_negative(
                1 - LINE_NEGATIVE_FROM * slope,
                "L(2) = 1 − 2k < 0 and L decreases, while φ = s(2 − s) > 0: g > 0 on [2, ∞)",
            ),
            overlapping(
                psi_derivative(s_over(rate.enclosure)),
                slope,
                "the line's slope k equals ψ'(R*): it is tangent at R* (interval cross-check of "
                "the identity)",
            ),
            certainly_positive(
                phi(s_over(rate.enclosure)), "the touching point (R*, φ(R*)) has φ(R*) > 0"
            ),
        ]


CERTIFICATES = (
    Certificate(
        "psi_convex_concave",
        "ψ(r) = (1 − 2^(−2r))² is convex on [0, 1/2] and concave on [1/2, ∞)",
        "distortion_rate.md",
        prove_psi_convex_concave,
    ),
    Certificate(
        "gamma_shape",
        "Γ is decreasing, convex and C¹ on [0, ∞)",
        "distortion_rate.md",
        prove_gamma_shape,
    ),
    Certificate(
        "tangent_at_critical_rate",
        "the line from (0, 1) lies below φ and touches it only at R* (and at its start, R = 0)",
        "distortion_rate.md",
        prove_tangent_at_critical_rate,
    ),
)
