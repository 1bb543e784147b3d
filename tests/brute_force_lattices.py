"""Exact brute-force closest points of Z^d, D_d, A2 and E8, for testing quantmm.fast.lattices.

Nothing here imports quantmm. Inputs are floats, i.e. exact rationals, and every distance is an
exact :class:`fractions.Fraction` (for A2 an exact element r + s·√3 of Q(√3)), so each function
returns the set of ALL closest points (every tie) and the exact minimum squared distance.

The searches are exhaustive over a finite candidate set that provably contains every closest
point; the argument is in each docstring. They are slow on purpose: simple beats clever here.

Z^d and D_d minimise a separable sum Σ_i (y_i − x_i)², D_d under the constraint "Σ y_i even"; the
minimum over the product of per-coordinate candidate sets is found by a two-state (sum parity)
table over the coordinates, which is the exhaustive enumeration of that product grouped by the
only quantity the constraint depends on. :func:`e8_closest_points_exhaustive` checks it against a
literal itertools.product enumeration.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from fractions import Fraction

Point = tuple[Fraction, ...]


def exact(values: Iterable[float]) -> tuple[Fraction, ...]:
    """The exact rational value of each float (float32 values must be passed as Python floats)."""
    return tuple(Fraction(float(v)) for v in values)


def _squared(y: Fraction, x: Fraction) -> Fraction:
    return (y - x) * (y - x)


def _nearest_in(candidates: Iterable[Fraction], x: Fraction) -> tuple[Fraction, set[Fraction]]:
    """The minimum of (c − x)² over ``candidates`` and every candidate attaining it."""
    best: Fraction | None = None
    winners: set[Fraction] = set()
    for c in candidates:
        cost = _squared(c, x)
        if best is None or cost < best:
            best, winners = cost, {c}
        elif cost == best:
            winners.add(c)
    assert best is not None
    return best, winners


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
                new_prefixes = {(*prefix, c) for prefix in prefixes}
                if new_parity not in extended or new_cost < extended[new_parity][0]:
                    extended[new_parity] = (new_cost, new_prefixes)
                elif new_cost == extended[new_parity][0]:
                    extended[new_parity][1].update(new_prefixes)
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
    half = Fraction(1, 2)
    best: Fraction | None = None
    winners: set[Point] = set()
    for offset in (Fraction(0), half):
        for y in itertools.product(*(e8_window(xi, offset) for xi in x)):
            if sum(c - offset for c in y) % 2 != 0:
                continue
            cost = sum((_squared(c, xi) for c, xi in zip(y, x, strict=True)), Fraction(0))
            if best is None or cost < best:
                best, winners = cost, {y}
            elif cost == best:
                winners.add(y)
    assert best is not None
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
    """
    a, b = x
    t = math.isqrt(math.floor(4 * b * b / 3))
    centre = t if b >= 0 else -t
    best: tuple[Fraction, Fraction] | None = None
    winners: set[tuple[int, int]] = set()
    for n in range(centre - 3, centre + 4):
        base = math.floor(a - Fraction(n, 2))
        for m in range(base - 1, base + 3):
            distance = a2_squared_distance(m, n, a, b)
            if best is None:
                best, winners = distance, {(m, n)}
                continue
            order = sign_of_surd(distance[0] - best[0], distance[1] - best[1])
            if order < 0:
                best, winners = distance, {(m, n)}
            elif order == 0:
                winners.add((m, n))
    assert best is not None
    return winners, best


def nearest_float_to_surd(q: Fraction, dtype_bits: int) -> float:
    """The float64 (``dtype_bits`` 64) or float32 (32) nearest to q·√3, exactly.

    Starts from an approximation and walks to the neighbour that is nearer, comparing
    |f − q√3| exactly through the sign of q√3 − (f + g)/2 (irrational unless q = 0: no ties).
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
