"""Interval comparisons that either prove a claim or fail: the vocabulary of every certificate.

Each certificate in :mod:`quantmm.proofs` proves its numerical part with rigorous enclosures
(:mod:`mpmath.iv` intervals, or python-flint arb balls turned into intervals by :func:`interval`).
A comparison of two enclosures has three outcomes: certainly true, certainly false, or undecided
because the enclosures overlap. Only the first is a proof. The helpers here return a
:class:`Fact` (the statement and the enclosures that prove it, with their widths) when the claim is
certain and raise :class:`CertificateFailure` otherwise, so an undecidable comparison can never
pass.

>>> with precision(60):
...     third = interval(Fraction(1, 3))
...     fact = certainly_below(third, interval("0.34"), "1/3 < 0.34")
>>> fact.statement
'1/3 < 0.34'
>>> with precision(60):
...     certainly_below(third, third, "1/3 < 1/3")
Traceback (most recent call last):
...
quantmm.proofs.intervals.CertificateFailure: undecided: 1/3 < 1/3 ...
"""

from __future__ import annotations

import contextlib
import decimal
import numbers
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction

import mpmath
from mpmath import iv
from mpmath.libmp import from_man_exp

__all__ = [
    "CertificateFailure",
    "Fact",
    "as_fraction",
    "certainly_above",
    "certainly_below",
    "certainly_contains",
    "certainly_negative",
    "certainly_nonnegative",
    "certainly_nonpositive",
    "certainly_positive",
    "cover",
    "describe",
    "endpoints",
    "hull",
    "interval",
    "overlapping",
    "precision",
    "rounds_to",
    "sign_on_cells",
    "width",
]


class CertificateFailure(AssertionError):  # noqa: N818 (a failed certificate, not a crash)
    """A claim that the enclosures do not establish: false, or undecided (never a pass)."""


@dataclass(frozen=True)
class Fact:
    """A claim proved by interval arithmetic.

    ``statement``: the claim in words and symbols; ``evidence``: the enclosures that prove it,
    printed with their widths (what ``quantmm prove`` shows).
    """

    statement: str
    evidence: str

    def __str__(self) -> str:
        return f"{self.statement}  [{self.evidence}]"


@contextlib.contextmanager
def precision(bits: int) -> Iterator[None]:
    """Run the block with :mod:`mpmath.iv` at ``bits`` bits of working precision.

    >>> with precision(200):
    ...     iv.prec
    200
    """
    saved = iv.prec
    iv.prec = bits
    try:
        yield
    finally:
        iv.prec = saved


def interval(value: object) -> iv.mpf:
    """An enclosure of an exact number: int, Fraction, decimal string, float, or an interval.

    Strings and Fractions are rounded outward, so the result always contains the exact value.

    >>> with precision(53):
    ...     x = interval(Fraction(1, 10))
    >>> lo, hi = endpoints(x)
    >>> as_fraction(lo) < Fraction(1, 10) < as_fraction(hi)
    True
    """
    if isinstance(value, iv.mpf):
        return value
    if isinstance(value, Fraction):
        return iv.mpf(value.numerator) / iv.mpf(value.denominator)
    if hasattr(value, "mid") and hasattr(value, "rad"):  # a python-flint arb ball
        return _arb_to_interval(value)
    if isinstance(value, bool) or not isinstance(value, numbers.Real | str):
        raise TypeError(f"cannot enclose {value!r}: expected an exact real number")
    return iv.mpf(value if not isinstance(value, float) else mpmath.mpf(value))


def _arb_to_interval(ball: object) -> iv.mpf:
    """The exact interval [mid − rad, mid + rad] of an arb ball, from its exact binary parts."""
    if not ball.is_finite():
        raise CertificateFailure(f"the ball {ball} is not finite: the computation lost accuracy")
    mid = _exact_mpf(*ball.mid().man_exp())
    rad = _exact_mpf(*ball.rad().man_exp())
    return iv.mpf(mid) + iv.mpf([-rad, rad])


def _exact_mpf(mantissa: object, exponent: object) -> mpmath.mpf:
    """mantissa·2^exponent as an mpf with every bit kept (no rounding to the working precision)."""
    return mpmath.mp.make_mpf(from_man_exp(int(mantissa), int(exponent)))


def endpoints(x: iv.mpf) -> tuple[mpmath.mpf, mpmath.mpf]:
    """The lower and upper endpoints of an interval, as exact :class:`mpmath.mpf` values."""
    low, high = x._mpi_
    return mpmath.mp.make_mpf(low), mpmath.mp.make_mpf(high)


def as_fraction(value: mpmath.mpf) -> Fraction:
    """The exact rational value of a finite binary number (for exact comparisons).

    >>> as_fraction(mpmath.mpf(-0.75))
    Fraction(-3, 4)
    """
    if not mpmath.isfinite(value):
        raise ValueError(f"value must be finite, got {value}")
    sign, mantissa, exponent, _ = value._mpf_  # the exact bits (mpf(value) would round)
    return (-1) ** sign * Fraction(int(mantissa)) * Fraction(2) ** int(exponent)


def width(x: iv.mpf) -> mpmath.mpf:
    """The width of an interval (its upper minus its lower endpoint, rounded up)."""
    low, high = endpoints(x)
    return mpmath.fsub(high, low, exact=True)


def hull(intervals: Sequence[iv.mpf]) -> iv.mpf:
    """The smallest interval containing every interval given."""
    lows, highs = zip(*(endpoints(x) for x in intervals), strict=True)
    return iv.mpf([min(lows), max(highs)])


def describe(x: iv.mpf, digits: int = 12) -> str:
    """``[low, high] (width w)``: an enclosure as ``quantmm prove`` prints it."""
    low, high = endpoints(x)
    return (
        f"[{mpmath.nstr(low, digits)}, {mpmath.nstr(high, digits)}] "
        f"(width {mpmath.nstr(width(x), 2)})"
    )


def _fail(statement: str, verdict: str, *enclosures: iv.mpf) -> CertificateFailure:
    shown = "; ".join(describe(x, 20) for x in enclosures)
    return CertificateFailure(f"{verdict}: {statement} (enclosures {shown})")


def certainly_below(x: iv.mpf, y: iv.mpf, statement: str) -> Fact:
    """Prove x < y: every point of x lies below every point of y; otherwise raise."""
    x, y = interval(x), interval(y)
    if endpoints(x)[1] < endpoints(y)[0]:
        return Fact(statement, f"{describe(x)} < {describe(y)}")
    verdict = "false" if endpoints(x)[0] >= endpoints(y)[1] else "undecided"
    raise _fail(statement, verdict, x, y)


def certainly_above(x: iv.mpf, y: iv.mpf, statement: str) -> Fact:
    """Prove x > y: every point of x lies above every point of y; otherwise raise."""
    x, y = interval(x), interval(y)
    if endpoints(x)[0] > endpoints(y)[1]:
        return Fact(statement, f"{describe(x)} > {describe(y)}")
    verdict = "false" if endpoints(x)[1] <= endpoints(y)[0] else "undecided"
    raise _fail(statement, verdict, x, y)


def certainly_positive(x: iv.mpf, statement: str) -> Fact:
    """Prove x > 0 for every point of the enclosure x; otherwise raise."""
    return certainly_above(x, interval(0), statement)


def certainly_negative(x: iv.mpf, statement: str) -> Fact:
    """Prove x < 0 for every point of the enclosure x; otherwise raise."""
    return certainly_below(x, interval(0), statement)


def certainly_nonnegative(x: iv.mpf, statement: str) -> Fact:
    """Prove x ≥ 0 for every point of the enclosure x (its lower endpoint is ≥ 0)."""
    x = interval(x)
    if endpoints(x)[0] >= 0:
        return Fact(statement, f"{describe(x)} ≥ 0")
    verdict = "false" if endpoints(x)[1] < 0 else "undecided"
    raise _fail(statement, verdict, x)


def certainly_nonpositive(x: iv.mpf, statement: str) -> Fact:
    """Prove x ≤ 0 for every point of the enclosure x (its upper endpoint is ≤ 0)."""
    x = interval(x)
    if endpoints(x)[1] <= 0:
        return Fact(statement, f"{describe(x)} ≤ 0")
    verdict = "false" if endpoints(x)[0] > 0 else "undecided"
    raise _fail(statement, verdict, x)


def rounds_to(x: iv.mpf, printed: str, statement: str) -> Fact:
    """Prove that the decimal ``printed`` is the correct rounding of every point of ``x``.

    That is, x lies strictly inside (d − ½·10^e, d + ½·10^e), where 10^e is the unit in the last
    printed digit; the comparison is in exact rational arithmetic.

    >>> with precision(200):
    ...     third = interval(Fraction(1, 3))
    >>> rounds_to(third, "0.3333", "1/3 prints as 0.3333").statement
    '1/3 prints as 0.3333'
    >>> rounds_to(third, "0.3334", "1/3 prints as 0.3334")
    Traceback (most recent call last):
    ...
    quantmm.proofs.intervals.CertificateFailure: false: 1/3 prints as 0.3334 ...
    """
    value = Fraction(decimal.Decimal(printed))
    exponent = decimal.Decimal(printed).as_tuple().exponent
    half_unit = Fraction(1, 2) * Fraction(10) ** exponent
    low, high = (as_fraction(end) for end in endpoints(interval(x)))
    if value - half_unit < low and high < value + half_unit:
        return Fact(statement, f"{describe(x, 45)} ⊂ {printed} ± ½·10^{exponent}")
    inside = value - half_unit <= high and low <= value + half_unit
    raise _fail(statement, "undecided" if inside else "false", interval(x))


def certainly_contains(outer: iv.mpf, inner: iv.mpf, statement: str) -> Fact:
    """Prove inner ⊆ outer: every point of ``inner`` lies in ``outer``; otherwise raise."""
    outer, inner = interval(outer), interval(inner)
    (outer_low, outer_high), (inner_low, inner_high) = endpoints(outer), endpoints(inner)
    if outer_low <= inner_low and inner_high <= outer_high:
        return Fact(statement, f"{describe(inner)} ⊆ {describe(outer)}")
    verdict = "false" if inner_high < outer_low or inner_low > outer_high else "undecided"
    raise _fail(statement, verdict, outer, inner)


def overlapping(x: iv.mpf, y: iv.mpf, statement: str) -> Fact:
    """Check that two enclosures of the same quantity intersect, as they must if both are right.

    Disjoint enclosures prove that one of the two computations is wrong; intersecting ones are
    consistent (this is a cross-check, not a proof of equality).
    """
    x, y = interval(x), interval(y)
    (x_low, x_high), (y_low, y_high) = endpoints(x), endpoints(y)
    if x_high < y_low or y_high < x_low:
        raise _fail(statement, "false (disjoint)", x, y)
    return Fact(statement, f"{describe(x)} ∩ {describe(y)} ≠ ∅")


_SIGN_TESTS = {
    "> 0": lambda low, high: low > 0,
    "≥ 0": lambda low, high: low >= 0,
    "< 0": lambda low, high: high < 0,
    "≤ 0": lambda low, high: high <= 0,
}


def sign_on_cells(
    function: Callable[[iv.mpf], iv.mpf],
    cells: Sequence[iv.mpf],
    sign: str,
    statement: str,
    max_depth: int = 16,
) -> Fact:
    """Prove ``function(x) <sign> 0`` for every x in every cell, bisecting undecided cells.

    ``function`` must return an enclosure of its values over the whole cell it is given (interval
    evaluation does). A cell still undecided after ``max_depth`` bisections fails the claim. The
    evidence reports the number of cells finally checked and the enclosure nearest to zero.

    >>> with precision(60):
    ...     print(sign_on_cells(lambda x: x * x - x + 1, cover(0, 1, 4), "> 0", "x² − x + 1 > 0"))
    x² − x + 1 > 0 on [0.0, 1.0]  [4 cells; nearest to 0: [0.5, 1.0625] (width 0.56)]
    """
    if sign not in _SIGN_TESTS:
        raise ValueError(f"sign must be one of {', '.join(_SIGN_TESTS)}, got {sign!r}")
    test = _SIGN_TESTS[sign]
    pending = [(cell, 0) for cell in cells]
    checked, nearest, nearest_distance = 0, None, None
    while pending:
        cell, depth = pending.pop()
        value = function(cell)
        low, high = endpoints(value)
        if test(low, high):
            checked += 1
            distance = min(abs(low), abs(high))
            if nearest_distance is None or distance < nearest_distance:
                nearest, nearest_distance = value, distance
            continue
        if (
            depth >= max_depth
            or (low > 0 and sign in ("< 0", "≤ 0"))
            or (high < 0 and sign in ("> 0", "≥ 0"))
        ):
            verdict = "undecided" if low <= 0 <= high else "false"
            raise _fail(f"{statement} (on the cell {describe(cell, 20)})", verdict, value)
        cell_low, cell_high = endpoints(cell)
        middle = iv.mpf(cell_low + (cell_high - cell_low) / 2)
        pending += [(hull([iv.mpf(cell_low), middle]), depth + 1)]
        pending += [(hull([middle, iv.mpf(cell_high)]), depth + 1)]
    span = hull(list(cells))
    return Fact(
        f"{statement} on {describe(span).split(' (')[0]}",
        f"{checked} cells; nearest to 0: {describe(nearest)}",
    )


def cover(low: object, high: object, cells: int) -> list[iv.mpf]:
    """``cells`` closed intervals with exact rational endpoints that cover [low, high].

    >>> with precision(53):
    ...     [describe(cell, 3) for cell in cover(0, 1, 2)]
    ['[0.0, 0.5] (width 0.5)', '[0.5, 1.0] (width 0.5)']
    """
    if cells < 1:
        raise ValueError(f"cells must be a positive integer, got {cells!r}")
    low, high = Fraction(low), Fraction(high)
    if not low < high:
        raise ValueError(f"cover needs low < high, got [{low}, {high}]")
    step = (high - low) / cells
    points = [interval(low + i * step) for i in range(cells + 1)]
    return [hull([points[i], points[i + 1]]) for i in range(cells)]
