"""Exact brute-force closest points of Z^d, D_d, A2 and E8, and the documented tie rule, exactly.

The reference for lattice exactness (theory.md §1.4; Conway & Sloane, *Sphere Packings, Lattices
and Groups* ch. 4 and 20). Nothing here imports :mod:`quantmm.fast`: it is the independent side
of :func:`quantmm.conformance.exactness.check_exactness` and of the fast path's tests.

Inputs are floats, i.e. exact rationals, and every distance is an exact
:class:`fractions.Fraction` (for A2 an exact element r + s·√3 of Q(√3)), so each
``*_closest_points`` function returns the set of ALL closest points (every tie) and the exact
minimum squared distance.

The searches are exhaustive over a finite candidate set that provably contains every closest
point; the argument is in each docstring. They are slow on purpose: simple beats clever here.

Z^d and D_d minimise a separable sum Σ_i (y_i − x_i)², D_d under the constraint "Σ y_i even"; the
minimum over the product of per-coordinate candidate sets is found by a two-state (sum parity)
table over the coordinates, which is the exhaustive enumeration of that product grouped by the
only quantity the constraint depends on. :func:`e8_closest_points_exhaustive` checks it against a
literal itertools.product enumeration.

:func:`conformance_tie_rule_point` carries out the tie rule documented in
:mod:`quantmm.fast.lattices` in exact arithmetic, so that on a tie (several closest points) the
one point a conforming decoder returns is known exactly.

>>> points, distance = e8_closest_points(exact([0.25] * 8))  # a tie between the two cosets
>>> len(points), distance
(2, Fraction(1, 2))
>>> conformance_tie_rule_point([0.25] * 8, "E8") in points  # the D8 coset wins the tie
True
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Sequence
from fractions import Fraction
from typing import Any

__all__ = [
    "SEARCHES",
    "a2_closest_points",
    "a2_squared_distance",
    "closest_points",
    "conformance_tie_rule_point",
    "d_candidates",
    "d_closest_points",
    "e8_closest_points",
    "e8_closest_points_exhaustive",
    "e8_coset_candidates",
    "e8_window",
    "exact",
    "nearest_float_to_rational",
    "nearest_float_to_surd",
    "rint_half_even",
    "sign_of_surd",
    "z_closest_points",
]

Point = tuple[Fraction, ...]


def exact(values: Iterable[float]) -> tuple[Fraction, ...]:
    """The exact rational value of each float (float32 values must be passed as Python floats).

    >>> exact([0.5, -0.0])
    (Fraction(1, 2), Fraction(0, 1))
    """
    return tuple(Fraction(float(v)) for v in values)


def _squared(y: Fraction, x: Fraction) -> Fraction:
    return (y - x) * (y - x)


def _squared_distance(y: Sequence[Fraction], x: Sequence[Fraction]) -> Fraction:
    return sum((_squared(a, b) for a, b in zip(y, x, strict=True)), Fraction(0))


def _fraction_order(left: Fraction, right: Fraction) -> int:
    return (left > right) - (left < right)


def _minimisers(
    scored: Iterable[tuple[Any, Any]], order: Callable[[Any, Any], int] = _fraction_order
) -> tuple[Any, set[Any]]:
    """The least cost among the (cost, candidate) pairs of ``scored`` and every candidate attaining
    it, comparing costs exactly with ``order`` (negative, 0 or positive as left <, =, > right)."""
    best: Any = None
    winners: set[Any] = set()
    for cost, candidate in scored:
        comparison = -1 if best is None else order(cost, best)
        if comparison < 0:
            best, winners = cost, {candidate}
        elif comparison == 0:
            winners.add(candidate)
    assert best is not None
    return best, winners


def _nearest_in(candidates: Iterable[Fraction], x: Fraction) -> tuple[Fraction, set[Fraction]]:
    """The minimum of (c − x)² over ``candidates`` and every candidate attaining it."""
    return _minimisers((_squared(c, x), c) for c in candidates)


def z_closest_points(x: Sequence[Fraction]) -> tuple[set[Point], Fraction]:
    """All closest points of Z^d to ``x`` and the minimum squared distance.

    The distance is a sum of independent per-coordinate terms, so a point is closest iff every
    coordinate is a nearest integer; an integer outside {⌊x_i⌋, ⌊x_i⌋ + 1} is farther than one of
    those two.
    """
    total = Fraction(0)
    choices = []
    for xi in x:
        floor = Fraction(math.floor(xi))
        cost, winners = _nearest_in((floor, floor + 1), xi)
        total += cost
        choices.append(sorted(winners))
    return set(itertools.product(*choices)), total


def _parity_constrained_minimum(
    candidates: Sequence[Sequence[Fraction]], x: Sequence[Fraction]
) -> tuple[set[Point], Fraction]:
    """Minimise Σ (y_i − x_i)² over y in the product of ``candidates`` (integers) with Σ y even.

    ``table[p]`` holds (minimum cost, all minimising prefixes) over prefixes whose sum has parity
    p; extending by one coordinate and keeping, per parity, every prefix of minimum cost is the
    exhaustive search of the product grouped by parity (all that the constraint looks at).
    """
    table: dict[int, tuple[Fraction, set[Point]]] = {0: (Fraction(0), {()})}
    for xi, options in zip(x, candidates, strict=True):
        extended: dict[int, tuple[Fraction, set[Point]]] = {}
        for parity, (cost, prefixes) in table.items():
            for c in options:
                assert c.denominator == 1
                new_parity = (parity + int(c)) % 2
                new_cost = cost + _squared(c, xi)
                if new_parity not in extended or new_cost < extended[new_parity][0]:
                    extended[new_parity] = (new_cost, {(*prefix, c) for prefix in prefixes})
                elif new_cost == extended[new_parity][0]:
                    extended[new_parity][1].update((*prefix, c) for prefix in prefixes)
        table = extended
    cost, points = table[0]
    return points, cost


def d_candidates(xi: Fraction) -> list[Fraction]:
    """Integers that can be a coordinate of a closest D_d point: ⌊x_i⌋ − 1, …, ⌊x_i⌋ + 2.

    If y_i ≥ ⌊x_i⌋ + 3 then y_i − x_i > 2, so y_i − 2 (same parity of the sum) is strictly
    nearer; if y_i ≤ ⌊x_i⌋ − 2 then x_i − y_i ≥ 2 > 1, so y_i + 2 is strictly nearer. Hence no
    closest point has a coordinate outside this window.
    """
    floor = math.floor(xi)
    return [Fraction(floor + k) for k in (-1, 0, 1, 2)]


def d_closest_points(x: Sequence[Fraction]) -> tuple[set[Point], Fraction]:
    """All closest points of D_d = {y ∈ Z^d : Σ y_i even} to ``x``, and the minimum distance².

    Every closest point has its coordinates in :func:`d_candidates`.

    >>> points, distance = d_closest_points(exact([0.5, 0.5]))  # (0, 0) and (1, 1) tie
    >>> sorted(tuple(int(c) for c in p) for p in points), distance
    ([(0, 0), (1, 1)], Fraction(1, 2))
    """
    return _parity_constrained_minimum([d_candidates(xi) for xi in x], x)


def e8_closest_points(x: Sequence[Fraction]) -> tuple[set[Point], Fraction]:
    """All closest points of E8 = D8 ∪ (D8 + ½·1) to ``x`` and the minimum squared distance.

    Each coset is searched over every point whose coordinates lie within 3/2 of x's (see
    :func:`e8_window`), with the D8 parity constraint applied to y − ½·1 in the second coset.
    """
    assert len(x) == 8
    half = Fraction(1, 2)
    first, first_cost = _parity_constrained_minimum([e8_window(xi, 0) for xi in x], x)
    shifted = [xi - half for xi in x]
    second_d8, second_cost = _parity_constrained_minimum(
        [[c - half for c in e8_window(xi, half)] for xi in x], shifted
    )
    second = {tuple(c + half for c in point) for point in second_d8}
    if first_cost < second_cost:
        return first, first_cost
    if second_cost < first_cost:
        return second, second_cost
    return first | second, first_cost


def e8_window(xi: Fraction, offset: Fraction) -> list[Fraction]:
    """Every value in Z + offset within 3/2 of x_i.

    E8's covering radius is 1 (SPLAG ch. 4 §8.1: the deep holes, e.g. (1, 0, …, 0), are at
    distance 1), so a closest point y has ||y − x|| ≤ 1 and hence |y_i − x_i| ≤ 1 < 3/2 for
    every i. The window of 3/2 is a safety margin; it holds 3 values.
    """
    low = math.ceil(xi - offset - Fraction(3, 2))
    high = math.floor(xi - offset + Fraction(3, 2))
    return [Fraction(k) + offset for k in range(low, high + 1)]


def e8_closest_points_exhaustive(x: Sequence[Fraction]) -> tuple[set[Point], Fraction]:
    """Same as :func:`e8_closest_points`, by literally listing the 3^8 candidates of each coset.

    Slow (≈ 13 000 candidates); used on a few inputs to check the parity table.
    """
    candidates = (
        y
        for offset in (Fraction(0), Fraction(1, 2))
        for y in itertools.product(*(e8_window(xi, offset) for xi in x))
        if sum(c - offset for c in y) % 2 == 0
    )
    best, winners = _minimisers((_squared_distance(y, x), y) for y in candidates)
    return winners, best


# --- A2 in Q(√3) ------------------------------------------------------------------------------
#
# A2 = {m·(1, 0) + n·(1/2, √3/2) : m, n ∈ Z}. For x = (a, b) rational the squared distance to the
# point (m, n) is (m + n/2 − a)² + (n√3/2 − b)² = r + s·√3 with
#   r = (m + n/2 − a)² + 3n²/4 + b²,  s = −n·b,
# both rational, so distances are compared exactly with sign(r + s√3).


def sign_of_surd(r: Fraction, s: Fraction) -> int:
    """The sign of r + s·√3 for rationals r, s.

    Exact: √3 is irrational, so r + s√3 = 0 iff r = s = 0.

    >>> sign_of_surd(Fraction(-17, 10), Fraction(1))  # √3 = 1.732... > 1.7
    1
    """
    if s == 0:
        return (r > 0) - (r < 0)
    if r == 0:
        return (s > 0) - (s < 0)
    if (r > 0) == (s > 0):
        return 1 if r > 0 else -1
    # Opposite signs: |r| vs |s|√3, i.e. r² vs 3s².
    larger_is_r = r * r > 3 * s * s
    return (1 if r > 0 else -1) if larger_is_r else (1 if s > 0 else -1)


def a2_squared_distance(m: int, n: int, a: Fraction, b: Fraction) -> tuple[Fraction, Fraction]:
    """(r, s) with ||(m + n/2, n√3/2) − (a, b)||² = r + s·√3."""
    dx = m + Fraction(n, 2) - a
    return dx * dx + Fraction(3 * n * n, 4) + b * b, -n * b


def a2_closest_points(
    x: Sequence[Fraction],
) -> tuple[set[tuple[int, int]], tuple[Fraction, Fraction]]:
    """All closest A2 points to x = (a, b), as integer coordinates (m, n), and the minimum (r, s).

    A2's covering radius is 1/√3 < 1, so a closest point has |n√3/2 − b| ≤ 1 and
    |m + n/2 − a| ≤ 1. With t = ⌊2|b|/√3⌋ = isqrt(⌊4b²/3⌋) (exact: ⌊√q⌋ = isqrt(⌊q⌋) for
    rational q ≥ 0), 2b/√3 lies within 1 of ±t, and |n − 2b/√3| ≤ 2/√3 < 2, so n ∈ [±t − 3,
    ±t + 3]; for each n, m ∈ [⌊a − n/2⌋ − 1, ⌊a − n/2⌋ + 2]. All these are compared exactly.

    >>> a2_closest_points(exact([0.5, 0.0]))[0] == {(0, 0), (1, 0)}  # midway on an edge
    True
    """
    a, b = x
    t = math.isqrt(math.floor(4 * b * b / 3))
    centre = t if b >= 0 else -t
    candidates = (
        (math.floor(a - Fraction(n, 2)) + k, n)
        for n in range(centre - 3, centre + 4)
        for k in range(-1, 3)
    )
    best, winners = _minimisers(
        ((a2_squared_distance(m, n, a, b), (m, n)) for m, n in candidates),
        lambda left, right: sign_of_surd(left[0] - right[0], left[1] - right[1]),
    )
    return winners, best


def nearest_float_to_surd(q: Fraction, dtype_bits: int) -> float:
    """The float64 (``dtype_bits`` 64) or float32 (32) nearest to q·√3, exactly.

    Starts from an approximation and walks to the neighbour that is nearer, comparing
    |f − q√3| exactly through the sign of q√3 − (f + g)/2 (irrational unless q = 0: no ties).

    >>> nearest_float_to_surd(Fraction(1, 2), 64)
    0.8660254037844386
    """
    import numpy as np

    if q == 0:
        return 0.0
    dtype = np.float64 if dtype_bits == 64 else np.float32
    guess = dtype(float(q) * math.sqrt(3))

    def surd_above(value: Fraction) -> bool:  # q√3 > value, exactly
        return sign_of_surd(-value, q) > 0

    while True:
        up = np.nextafter(guess, dtype(np.inf))
        down = np.nextafter(guess, dtype(-np.inf))
        if surd_above((Fraction(float(guess)) + Fraction(float(up))) / 2):
            guess = up
        elif not surd_above((Fraction(float(guess)) + Fraction(float(down))) / 2):
            guess = down
        else:
            return float(guess)


def nearest_float_to_rational(q: Fraction, dtype_bits: int) -> float:
    """The float64 or float32 nearest to q, exactly (float32 without double rounding).

    Raises AssertionError on a float32 tie (the tests only pass values where none occurs).
    """
    import numpy as np

    if dtype_bits == 64:
        return float(q)  # Fraction.__float__ is correctly rounded
    guess = np.float32(float(q))
    candidates = [np.nextafter(guess, np.float32(-np.inf)), guess]
    candidates.append(np.nextafter(guess, np.float32(np.inf)))
    distances = sorted((abs(Fraction(float(f)) - q), float(f)) for f in candidates)
    assert distances[0][0] < distances[1][0], f"float32 tie at {q}"
    return distances[0][1]


# --- the documented tie rule, in exact arithmetic --------------------------------------------
#
# quantmm.fast.lattices documents its procedure (Conway & Sloane 1982): (1) a coordinate exactly
# halfway between two integers rounds to the even one; (2) D_d re-rounds the coordinate with the
# largest |x_i − f(x_i)|, the lowest index among equals, up when x_i ≥ f(x_i) and down otherwise;
# (3) between the two cosets of A2 (Z × √3Z and its translate by (½, √3/2)) and of E8 (D8 and
# D8 + ½·1) the first wins on equal squared distance. Below, the same procedure with every value
# an exact Fraction (A2's in Q(√3)), so there is no rounding anywhere.

_HALF = Fraction(1, 2)
TIE_RULE_LATTICES = ("Z", "D", "D4", "A2", "E8")


def rint_half_even(q: Fraction) -> int:
    """The integer nearest to q, the even one when q is exactly halfway (IEEE ``rint``).

    >>> [rint_half_even(Fraction(v)) for v in (0.5, 1.5, -0.5, -2.5, 0.75)]
    [0, 2, 0, -2, 1]
    """
    floor = math.floor(q)
    remainder = q - floor
    if remainder < _HALF:
        return floor
    if remainder > _HALF:
        return floor + 1
    return floor if floor % 2 == 0 else floor + 1


def _tie_rule_d(x: Sequence[Fraction]) -> Point:
    """Rule (1) then (2): round every coordinate; on an odd sum re-round the first coordinate of
    largest |error| the other way (up when x_i ≥ f_i)."""
    f = [Fraction(rint_half_even(xi)) for xi in x]
    if sum(f) % 2 != 0:
        magnitudes = [abs(xi - fi) for xi, fi in zip(x, f, strict=True)]
        k = magnitudes.index(max(magnitudes))  # list.index: the lowest index among equals
        f[k] += 1 if x[k] >= f[k] else -1
    return tuple(f)


def e8_coset_candidates(x: Sequence[Fraction]) -> tuple[Point, Point]:
    """The D8 coset's and the D8 + ½·1 coset's candidates of the documented E8 procedure.

    >>> [[float(c) for c in point] for point in e8_coset_candidates(exact([0.25] * 8))]
    [[0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5]]
    """
    first = _tie_rule_d(x)
    second = tuple(c + _HALF for c in _tie_rule_d([xi - _HALF for xi in x]))
    return first, second


def _nearest_multiple_of_sqrt3(b: Fraction, offset: Fraction) -> int:
    """The integer k minimising |(k + offset)·√3 − b| (unique: the midpoints are irrational).

    (k + o)√3 − b squared is 3(k + o)² + b² − 2(k + o)·b·√3; candidates around the float estimate
    are compared exactly in Q(√3), and the winner must not be at the window's edge.
    """
    guess = round(float(b) / math.sqrt(3) - float(offset))
    window = range(guess - 3, guess + 4)

    def cost(k: int) -> tuple[Fraction, Fraction]:
        t = k + offset
        return 3 * t * t + b * b, -2 * t * b

    best = guess - 3
    for k in window:
        r1, s1 = cost(k)
        r0, s0 = cost(best)
        if sign_of_surd(r1 - r0, s1 - s0) < 0:
            best = k
    assert best not in (window[0], window[-1]), "the float estimate of b/√3 was too far off"
    return best


def _tie_rule_a2(x: Sequence[Fraction]) -> tuple[int, int]:
    """A2 as the union of Z × √3Z and its translate by (½, √3/2): round in each (rule 1 for the
    first coordinate; the second, b/√3 − offset, is never halfway for rational b), keep the nearer
    in exact Q(√3) comparison, the first on equal distance (rule 3). Returns (m, n) with point
    m·(1, 0) + n·(½, √3/2)."""
    a, b = x
    m1, k1 = rint_half_even(a), _nearest_multiple_of_sqrt3(b, Fraction(0))
    m2, k2 = rint_half_even(a - _HALF), _nearest_multiple_of_sqrt3(b, _HALF)
    first = (m1 - k1, 2 * k1)  # (m1, √3·k1) = (m1 − k1)·(1, 0) + 2k1·(½, √3/2)
    second = (m2 - k2, 2 * k2 + 1)  # (m2 + ½, √3·(k2 + ½))
    r1, s1 = a2_squared_distance(*first, a, b)
    r2, s2 = a2_squared_distance(*second, a, b)
    return second if sign_of_surd(r2 - r1, s2 - s1) < 0 else first


def conformance_tie_rule_point(x: Sequence[float], lattice: str) -> Point | tuple[int, int]:
    """The closest point that quantmm's documented tie rule picks, computed exactly.

    ``x`` is one vector of floats (or Fractions); ``lattice`` is "Z" (Z^d), "D" (D_d, d ≥ 2),
    "D4", "A2" or "E8", the names :func:`quantmm.fast.closest_point` accepts. The procedure is the
    one documented in :mod:`quantmm.fast.lattices` (Conway & Sloane 1982; theory.md §1.4): halves
    round to even; D_d re-rounds the lowest index among the largest |x_i − f_i|, up when
    x_i ≥ f_i; the first coset (D8, resp. Z × √3Z) wins equal distances in E8 and A2. Every
    step is exact (Fractions; Q(√3) for A2), so the result is always one of the brute-force closest
    points (tests/test_exactness.py checks this).

    Returns the point as a tuple of Fractions, except for A2: its integer coordinates (m, n),
    the point being m·(1, 0) + n·(½, √3/2), as in :func:`a2_closest_points`.

    >>> [int(c) for c in conformance_tie_rule_point([0.6, 0.6, 0.6, 0.1], "D")]
    [0, 1, 1, 0]
    >>> conformance_tie_rule_point([0.5, 0.0], "A2")
    (0, 0)
    """
    if not isinstance(lattice, str) or lattice not in TIE_RULE_LATTICES:
        raise ValueError(f"lattice must be one of {', '.join(TIE_RULE_LATTICES)}, got {lattice!r}")
    values = tuple(Fraction(v) if isinstance(v, Fraction) else Fraction(float(v)) for v in x)
    dimensions = {"D4": 4, "A2": 2, "E8": 8}
    if lattice in dimensions and len(values) != dimensions[lattice]:
        raise ValueError(f"x must have {dimensions[lattice]} entries for {lattice}, got {len(x)}")
    if lattice == "D" and len(values) < 2:
        raise ValueError(f"x must have at least 2 entries for D_d, got {len(x)}")
    if lattice == "Z":
        return tuple(Fraction(rint_half_even(v)) for v in values)
    if lattice in ("D", "D4"):
        return _tie_rule_d(values)
    if lattice == "A2":
        return _tie_rule_a2(values)
    first, second = e8_coset_candidates(values)
    if _squared_distance(second, values) < _squared_distance(first, values):
        return second
    return first


#: The exhaustive search of each lattice name (A2's points are integer coordinates (m, n)).
SEARCHES = {
    "Z": z_closest_points,
    "D": d_closest_points,
    "D4": d_closest_points,
    "E8": e8_closest_points,
    "A2": a2_closest_points,
}


def closest_points(x: Sequence[float], lattice: str) -> set:
    """Every exact closest point of ``lattice`` to the float vector ``x``, by exhaustive search
    (A2: integer coordinates (m, n)).

    >>> sorted(closest_points([0.5], "Z"))
    [(Fraction(0, 1),), (Fraction(1, 1),)]
    """
    return SEARCHES[lattice](exact(x))[0]
