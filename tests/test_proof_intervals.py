"""The "certainly" helpers of quantmm.proofs.intervals: they prove, or they fail — never guess.

Expected outcomes come from exact rational arithmetic (fractions.Fraction) on the same numbers.
"""

from __future__ import annotations

import itertools
from fractions import Fraction

import pytest
from mpmath import iv

from quantmm.proofs.intervals import (
    CertificateFailure,
    as_fraction,
    certainly_above,
    certainly_below,
    certainly_contains,
    certainly_negative,
    certainly_nonnegative,
    certainly_nonpositive,
    certainly_positive,
    cover,
    endpoints,
    hull,
    interval,
    overlapping,
    precision,
    rounds_to,
    sign_on_cells,
    width,
)


def _bounds(x):
    low, high = endpoints(x)
    return as_fraction(low), as_fraction(high)


@pytest.mark.parametrize("value", [Fraction(1, 3), Fraction(-2, 7), Fraction(10**30 + 1, 10**30)])
def test_interval_encloses_exact_rationals(value):
    with precision(53):
        low, high = _bounds(interval(value))
    assert low <= value <= high
    assert high - low <= abs(value) * Fraction(1, 2**50)


def test_decimal_strings_are_enclosed_not_rounded():
    with precision(53):
        low, high = _bounds(interval("0.1"))
    assert low < Fraction(1, 10) < high


def test_an_arb_ball_becomes_an_interval_containing_it():
    flint = pytest.importorskip("flint")
    flint.ctx.prec = 200
    ball = flint.arb.pi()
    with precision(200):
        low, high = _bounds(interval(ball))
    # The ball's own exact endpoints, from its midpoint and radius in exact binary.
    mid, rad = ball.mid().man_exp(), ball.rad().man_exp()
    mid = Fraction(int(mid[0])) * Fraction(2) ** int(mid[1])
    rad = Fraction(int(rad[0])) * Fraction(2) ** int(rad[1])
    assert low <= mid - rad and mid + rad <= high
    # π = 3.14159265358979323846264…: the enclosure sits between these two 22-digit rationals.
    assert (
        Fraction(3141592653589793238462, 10**21)
        < low
        < high
        < Fraction(3141592653589793238463, 10**21)
    )


def test_a_non_finite_ball_is_a_failure():
    flint = pytest.importorskip("flint")
    with pytest.raises(CertificateFailure, match="not finite"):
        interval(flint.arb("0 +/- inf"))


def test_endpoints_keep_every_bit_of_a_high_precision_interval():
    with precision(300):
        third = interval(Fraction(1, 3))
        low, high = _bounds(third)
    assert high - low < Fraction(1, 2**290)
    assert as_fraction(width(third)) == high - low  # the width is exact, not rounded


@pytest.mark.parametrize(
    ("x", "y", "outcome"),
    [((1, 2), (3, 4), "below"), ((3, 4), (1, 2), "above"), ((1, 3), (2, 4), "undecided")],
)
def test_comparisons_decide_only_disjoint_intervals(x, y, outcome):
    x, y = iv.mpf(list(x)), iv.mpf(list(y))
    if outcome == "below":
        certainly_below(x, y, "x < y")
        with pytest.raises(CertificateFailure, match="false"):
            certainly_above(x, y, "x > y")
    elif outcome == "above":
        certainly_above(x, y, "x > y")
        with pytest.raises(CertificateFailure, match="false"):
            certainly_below(x, y, "x < y")
    else:
        for compare in (certainly_below, certainly_above):
            with pytest.raises(CertificateFailure, match="undecided"):
                compare(x, y, "overlapping")


def test_touching_intervals_are_undecided_for_strict_comparisons():
    with pytest.raises(CertificateFailure, match="undecided"):
        certainly_below(iv.mpf([0, 1]), iv.mpf([1, 2]), "x < y")
    with pytest.raises(CertificateFailure, match="undecided"):
        certainly_positive(iv.mpf([0, 1]), "x > 0")
    certainly_nonnegative(iv.mpf([0, 1]), "x ≥ 0")
    certainly_nonpositive(iv.mpf([-1, 0]), "x ≤ 0")
    with pytest.raises(CertificateFailure, match="undecided"):
        certainly_nonnegative(iv.mpf([-1e-30, 1]), "x ≥ 0")
    with pytest.raises(CertificateFailure, match="false"):
        certainly_negative(iv.mpf([1, 2]), "x < 0")


def test_containment_and_overlap():
    certainly_contains(iv.mpf([0, 3]), iv.mpf([1, 2]), "inner ⊆ outer")
    with pytest.raises(CertificateFailure, match="undecided"):
        certainly_contains(iv.mpf([0, 3]), iv.mpf([2, 4]), "inner ⊆ outer")
    with pytest.raises(CertificateFailure, match="false"):
        certainly_contains(iv.mpf([0, 1]), iv.mpf([2, 4]), "inner ⊆ outer")
    overlapping(iv.mpf([0, 2]), iv.mpf([1, 3]), "same number")
    with pytest.raises(CertificateFailure, match="disjoint"):
        overlapping(iv.mpf([0, 1]), iv.mpf([2, 3]), "same number")


def test_cover_has_exact_endpoints_and_no_gaps():
    with precision(53):
        cells = cover(Fraction(1, 3), Fraction(2, 3), 7)
        bounds = [_bounds(cell) for cell in cells]
    assert bounds[0][0] <= Fraction(1, 3) and bounds[-1][1] >= Fraction(2, 3)
    for (_, high), (low, _) in itertools.pairwise(bounds):
        assert low <= high  # consecutive cells overlap or touch
    with pytest.raises(ValueError, match="cells"):
        cover(0, 1, 0)
    with pytest.raises(ValueError, match="low < high"):
        cover(1, 0, 3)


def test_sign_on_cells_bisects_and_fails_on_a_zero():
    with precision(80):
        # x² − 2 changes sign at √2: "> 0 on [0, 2]" is false and must fail, not pass.
        with pytest.raises(CertificateFailure):
            sign_on_cells(lambda x: x * x - 2, cover(0, 2, 8), "> 0", "x² − 2 > 0")
        # (x − 1/2)² ≥ 0 touches 0 at 1/2; "> 0" is undecidable there.
        with pytest.raises(CertificateFailure, match="undecided"):
            sign_on_cells(lambda x: (x - 0.5) ** 2, cover(0, 1, 4), "> 0", "(x − 1/2)² > 0")
        fact = sign_on_cells(lambda x: (x - 0.5) ** 2, cover(0, 1, 4), "≥ 0", "(x − 1/2)² ≥ 0")
        assert "4 cells" in fact.evidence
        # 1 + x − x² > 0 on [0, 1.6] needs bisection near the root at 1.618...
        fact = sign_on_cells(lambda x: 1 + x - x * x, cover(0, "1.6", 2), "> 0", "1 + x − x² > 0")
        assert int(fact.evidence.split()[0]) > 2
    with pytest.raises(ValueError, match="sign"):
        sign_on_cells(lambda x: x, cover(0, 1, 1), ">", "bad sign")


@pytest.mark.parametrize(
    ("value", "printed", "outcome"),
    [
        (Fraction(1, 3), "0.333", "ok"),
        (Fraction(1, 3), "0.334", "false"),
        (Fraction(2, 3), "0.667", "ok"),
        (Fraction(-2, 3), "-0.667", "ok"),
        (Fraction(1, 8), "0.12", "undecided"),  # exactly half-way: not certainly either way
        (Fraction(1, 8), "0.125", "ok"),
    ],
)
def test_rounds_to_uses_exact_rational_half_units(value, printed, outcome):
    with precision(200):
        enclosure = interval(value)
    if outcome == "ok":
        rounds_to(enclosure, printed, "rounds")
    else:
        with pytest.raises(CertificateFailure, match=outcome):
            rounds_to(enclosure, printed, "rounds")


def test_hull_and_precision_restore():
    before = iv.prec
    with precision(123):
        assert iv.prec == 123
        joined = hull([iv.mpf([0, 1]), iv.mpf([2, 3])])
    assert iv.prec == before
    assert _bounds(joined) == (0, 3)
