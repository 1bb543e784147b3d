"""Closest-point decoders of quantmm.fast.lattices (theory.md §1.4) against exact brute force.

Every expected closest point comes from quantmm.conformance.brute_force: an exhaustive search over a
candidate set that provably holds every closest point, with exact Fraction distances (exact
Q(√3) arithmetic for A2). Nothing is copied from the code under test. Hand-built tie cases state
in a comment how the documented tie rule gives the expected point, and each is also checked to
be a brute-force closest point (so the derivation is checked too).

The documented tie rule (fast/lattices.py's module docstring): (1) halfway coordinates round to
even; (2) D_d re-rounds the lowest index among the largest |x_i − f(x_i)|, up when x_i ≥ f(x_i);
(3) between the cosets of A2 and E8 the first (Z × √3Z, resp. D8) wins on equal distance.
Documented range: |x| < 2^21 (float32), |x| < 2^50 (float64); A2: |x| < 2^20 in either dtype.

Documented accuracy: Z, D_d and D4 are exactly closest; E8's coset comparison is exact for dyadic
inputs with few bits and otherwise off by at most a few float64 ulps of the squared distance
(COSET_COMPARISON_SLACK); A2 is computed in float64 and the returned point's exact squared
distance exceeds the minimum by less than 2^−28 (A2_COMPARISON_SLACK), and A2's second point
coordinate is within an ulp or so of the exact n·√3/2 (tested: 2 ulps).
"""

from __future__ import annotations

import math
from fractions import Fraction

import mpmath
import numpy as np
import pytest
from hypothesis import Phase, assume, given, settings
from hypothesis import strategies as st

from quantmm.conformance.brute_force import (
    a2_closest_points,
    a2_squared_distance,
    d_closest_points,
    e8_closest_points,
    e8_closest_points_exhaustive,
    exact,
    nearest_float_to_rational,
    nearest_float_to_surd,
    sign_of_surd,
    z_closest_points,
)
from quantmm.fast.backend import cupy_or_none
from quantmm.fast.lattices import closest_point, closest_point_coordinates, lattice

DTYPES = (np.float32, np.float64)
#: The documented range limit (module docstring of fast/lattices.py).
RANGE_LIMIT = {np.float32: 2.0**21, np.float64: 2.0**50}
#: A2's documented range limit, the same for float32 and float64.
A2_RANGE_LIMIT = 2.0**20
#: Scales of the random inputs; None means "uniform over the whole documented range".
SCALES = {"1e-3": 1e-3, "1": 1.0, "1e3": 1e3, "near-limit": None}
#: (name passed to closest_point, dimension) for the random tests.
LATTICE_CASES = (
    [("Z", d) for d in range(1, 10)] + [("D", d) for d in range(2, 10)] + [("D4", 4), ("E8", 8)]
)
#: An upper bound on the relative error of the float64 coset comparison, as documented ("at most
#: a few float64 ulps of the squared distance"): each of the two sums of 8 squares has relative
#: error below 16·2^−53 (8 products and 7 additions, each one rounding), so the returned point's
#: squared distance exceeds the minimum by less than 2·16·2^−53 = 2^−47 of it.
COSET_COMPARISON_SLACK = 2.0**-47
#: A2's documented accuracy (module docstring: in the A2 range the rounding of √3·k and x/√3 moves
#: a squared distance by less than 2^−28, and only comparisons closer than that can go either
#: way): the returned point's exact squared distance is below the minimum plus 2^−28. Absolute,
#: not relative, and compared exactly in Q(√3).
A2_COMPARISON_SLACK = Fraction(1, 2**28)


def brute_force(name: str, x: tuple[Fraction, ...]):
    """The set of all closest points of lattice ``name`` and the minimum squared distance."""
    if name == "Z":
        return z_closest_points(x)
    if name in ("D", "D4"):
        return d_closest_points(x)
    if name == "E8":
        return e8_closest_points(x)
    raise AssertionError(name)


def range_limit(name: str, dtype) -> float:
    """The documented range limit of lattice ``name`` for ``dtype``."""
    return A2_RANGE_LIMIT if name == "A2" else RANGE_LIMIT[dtype]


def random_inputs(
    seed: int, shape: tuple[int, ...], dtype, scale: float | None, limit: float | None = None
) -> np.ndarray:
    """Seeded test vectors: normal × scale, or uniform over (−limit, limit) for scale None (limit
    defaults to the dtype's range limit; pass A2_RANGE_LIMIT for A2)."""
    rng = np.random.default_rng(seed)
    limit = RANGE_LIMIT[dtype] if limit is None else limit
    if scale is None:
        x = rng.uniform(-1.0, 1.0, shape) * (limit - 2.0)
    else:
        x = rng.normal(size=shape) * scale
    x = x.astype(dtype)
    assert np.abs(x).max() < limit
    return x


def assert_a2_within_documented_accuracy(x: np.ndarray, coordinates) -> None:
    """A2's documented accuracy for one input x (float32 or float64 array of 2): the point with
    integer coordinates (m, n) is an exact (Q(√3)) brute-force closest point, or its exact squared
    distance exceeds the minimum by less than A2_COMPARISON_SLACK (then the best and second-best
    squared distances differ by less than that too, since this point is at least second best)."""
    m, n = (int(c) for c in coordinates)
    closest, (r, s) = a2_closest_points(exact(x))
    if (m, n) in closest:
        return
    chosen_r, chosen_s = a2_squared_distance(m, n, *exact(x))
    excess = sign_of_surd(chosen_r - r - A2_COMPARISON_SLACK, chosen_s - s)
    assert excess < 0, (x.tolist(), (m, n), sorted(closest))


def exact_generator(name: str) -> list[list[Fraction]]:
    """lattice(name).generator as exact rationals (its entries are 0, ±1, ±1/2, 2 for Z/D4/E8)."""
    generator = lattice(name).generator
    entries = [[Fraction(float(v)) for v in row] for row in generator]
    assert all(2 * v == int(2 * v) for row in entries for v in row)
    return entries


def exact_product(generator: list[list[Fraction]], coordinates) -> tuple[Fraction, ...]:
    """generator @ coordinates in exact arithmetic."""
    return tuple(
        sum((g * int(c) for g, c in zip(row, coordinates, strict=True)), Fraction(0))
        for row in generator
    )


def is_e8_point(y: tuple[Fraction, ...]) -> bool:
    """y ∈ E8 = D8 ∪ (D8 + ½·1): all integers or all half-odd integers, with an even sum."""
    integral = all(c.denominator == 1 for c in y)
    half = all(c.denominator == 2 for c in y)
    return (integral or half) and sum(y) % 2 == 0


# --- random inputs -----------------------------------------------------------------------------


@pytest.mark.parametrize("scale", SCALES.values(), ids=SCALES.keys())
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda t: t.__name__)
@pytest.mark.parametrize(("name", "d"), LATTICE_CASES, ids=[f"{n}{d}" for n, d in LATTICE_CASES])
def test_random_inputs_give_a_brute_force_closest_point(name, d, dtype, scale):
    """Each returned point is in the exact brute-force set of closest points."""
    count = 40 if name == "E8" else 25
    x = random_inputs(1000 + 17 * d, (count, d), dtype, scale)
    points = closest_point(x, name)
    assert points.dtype == dtype and points.shape == x.shape
    for row, point in zip(x, points, strict=True):
        closest, _ = brute_force(name, exact(row))
        assert exact(point) in closest, (row.tolist(), point.tolist())


COORDINATE_CASES = ("Z", "D4", "E8")
COORDINATE_PARAMS = [
    pytest.param(name, dtype, scale, id=f"{name}-{dtype.__name__}-{label}")
    for name in COORDINATE_CASES
    for dtype in DTYPES
    for label, scale in SCALES.items()
]


@pytest.mark.parametrize(("name", "dtype", "scale"), COORDINATE_PARAMS)
def test_generator_times_coordinates_is_the_point(name, dtype, scale):
    """generator @ closest_point_coordinates(x) == closest_point(x), in exact arithmetic."""
    d = lattice(name).dimension
    x = random_inputs(2000 + d, (400, d), dtype, scale)
    coordinates = closest_point_coordinates(x, name)
    points = closest_point(x, name)
    assert coordinates.dtype == np.int64 and coordinates.shape == x.shape
    generator = exact_generator(name)
    mismatched = [
        (row.tolist(), point.tolist(), c.tolist())
        for row, point, c in zip(x, points, coordinates, strict=True)
        if exact_product(generator, c) != exact(point)
    ]
    assert not mismatched, f"{len(mismatched)} of {len(x)} rows, first: {mismatched[0]}"


def test_e8_coordinates_near_float64_limit():
    """x = ((2^49 + ½)·1_7, −(2^50 − ½)) is an E8 point (half-integers, sum 5·2^49 + 4 even), so
    closest_point returns x; its exact coordinates include 10133099161583616 > 2^53 (the
    generator's inverse has entries up to 6), beyond float64's exact integers: int64 holds them.
    (Formerly a bug: coordinates were computed in float64.)"""
    x = np.array([2.0**49 + 0.5] * 7 + [-(2.0**50) + 0.5])
    assert closest_point(x, "E8").tolist() == x.tolist()  # x is a lattice point
    coordinates = closest_point_coordinates(x, "E8")
    assert coordinates.dtype == np.int64
    assert exact_product(exact_generator("E8"), coordinates) == exact(x)
    assert max(abs(int(c)) for c in coordinates) > 2**53


@pytest.mark.parametrize("scale", SCALES.values(), ids=SCALES.keys())
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda t: t.__name__)
def test_a2_random_inputs_give_brute_force_closest_coordinates(dtype, scale):
    """A2's integer coordinates (m, n) are those of an exact (Q(√3)) brute-force closest point, up
    to the documented A2_COMPARISON_SLACK; "near-limit" is uniform below A2's limit 2^20."""
    x = random_inputs(3000, (60, 2), dtype, scale, limit=A2_RANGE_LIMIT)
    coordinates = closest_point_coordinates(x, "A2")
    assert coordinates.dtype == np.int64 and coordinates.shape == x.shape
    for row, c in zip(x, coordinates, strict=True):
        assert_a2_within_documented_accuracy(row, c)


def a2_near_tie_inputs(seed: int, count: int, bits: int, bound: float) -> list[list[float]]:
    """Seeded A2 inputs on (rounded) Voronoi boundaries, where comparisons are closest: the
    nearest float (exact: nearest_float_to_surd) to the midpoint of (m, n) and (m, n + 1) or
    (m − 1, n + 1), or to the deep hole (m, n) + (½, √3/6) (equidistant from three points), with
    |coordinates| < bound. The x-coordinates are exact (quarter-integers below 2^20)."""
    rng = np.random.default_rng(seed)
    n_max = int(2 * bound / math.sqrt(3)) - 2  # |n·√3/2| < bound − √3
    inputs = []
    while len(inputs) < count:
        n = int(rng.integers(-n_max, n_max + 1))
        m = int(rng.integers(-int(bound) + 1, int(bound))) - n // 2
        kind = len(inputs) % 3
        if kind == 2:  # deep hole: (m + n/2 + ½, √3·(3n + 1)/6)
            a, q = m + Fraction(n, 2) + Fraction(1, 2), Fraction(3 * n + 1, 6)
        else:  # midpoint towards (m, n + 1) or (m − 1, n + 1): (m + n/2 ± ¼, √3·(2n + 1)/4)
            a, q = m + Fraction(n, 2) + Fraction(1 if kind == 0 else -1, 4), Fraction(2 * n + 1, 4)
        x = [float(a), nearest_float_to_surd(q, bits)]
        if max(abs(v) for v in x) < bound:
            inputs.append(x)
    return inputs


@pytest.mark.parametrize("bound", [8.0, 1e3, A2_RANGE_LIMIT], ids=["8", "1e3", "near-limit"])
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda t: t.__name__)
def test_a2_near_ties_within_documented_accuracy(dtype, bound):
    """Near-tie A2 inputs (a2_near_tie_inputs, rounded to x's dtype): each result is an exact
    (Q(√3) brute-force) closest point or within the documented A2_COMPARISON_SLACK of one."""
    bits = 32 if dtype is np.float32 else 64
    x = np.array(a2_near_tie_inputs(9000 + bits, 90, bits, bound), dtype=dtype)
    coordinates = closest_point_coordinates(x, "A2")
    for row, c in zip(x, coordinates, strict=True):
        assert_a2_within_documented_accuracy(row, c)


def surd_ulp(q: Fraction, bits: int) -> Fraction:
    """The ulp of the float format (64 or 32 bits) in the binade of q·√3 (q ≠ 0), exactly:
    2^(e − p + 1) with 2^e ≤ |q√3| < 2^(e+1), i.e. 2^(2e) ≤ 3q² < 2^(2e+2); no subnormals occur
    (|q√3| ≥ √3/2 for q = n/2)."""
    t = 3 * q * q
    k = t.numerator.bit_length() - t.denominator.bit_length()
    while Fraction(2) ** k > t:
        k -= 1
    while Fraction(2) ** (k + 1) <= t:
        k += 1
    precision = 53 if bits == 64 else 24
    return Fraction(2) ** (k // 2 - precision + 1)


def within_ulps_of_surd(value: float, q: Fraction, bits: int, ulps: int) -> bool:
    """|value − q·√3| ≤ ulps · surd_ulp(q), decided exactly through sign_of_surd."""
    if q == 0:
        return value == 0
    slack = ulps * surd_ulp(q, bits)
    v = Fraction(value)
    return sign_of_surd(v - slack, -q) <= 0 <= sign_of_surd(v + slack, -q)


@pytest.mark.parametrize("scale", SCALES.values(), ids=SCALES.keys())
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda t: t.__name__)
def test_a2_point_is_within_two_ulps_of_its_exact_coordinates(dtype, scale):
    """closest_point(x, "A2") is m·(1, 0) + n·(½, √3/2), with (m, n) from
    closest_point_coordinates: the first coordinate m + n/2 exactly (a half-integer below 2^21,
    representable in either dtype), the second within 2 ulps (of x's dtype) of the exact n·√3/2
    (documented: "within an ulp or so"), decided exactly in Q(√3)."""
    bits = 32 if dtype is np.float32 else 64
    x = random_inputs(4000, (60, 2), dtype, scale, limit=A2_RANGE_LIMIT)
    x = np.concatenate([x, np.array(a2_near_tie_inputs(4100, 30, bits, A2_RANGE_LIMIT), dtype)])
    coordinates = closest_point_coordinates(x, "A2")
    points = closest_point(x, "A2")
    assert points.dtype == dtype
    wrong = [
        (point, (m, n))
        for point, (m, n) in zip(points.tolist(), coordinates.tolist(), strict=True)
        if Fraction(point[0]) != m + Fraction(n, 2)
        or not within_ulps_of_surd(point[1], Fraction(n, 2), bits, 2)
    ]
    assert not wrong, f"{len(wrong)} of {len(x)}, first: {wrong[0]}"


def test_a2_point_of_a_lattice_point_input():
    """The point with coordinates (−999, 1998) is (0, 999·√3) = (0, 1730.3028637...); x = its
    nearest float64 (found exactly) decodes to those coordinates, and the returned second
    coordinate is within 2 ulps of 999·√3 (a former test demanded the nearest float, which the
    module no longer documents)."""
    y = nearest_float_to_surd(Fraction(999), 64)
    x = np.array([0.0, y])
    assert closest_point_coordinates(x, "A2").tolist() == [-999, 1998]
    result = closest_point(x, "A2")
    assert result[0] == 0.0 and within_ulps_of_surd(float(result[1]), Fraction(999), 64, 2)


@pytest.mark.parametrize(
    ("x", "dtype"),
    [
        ([-925918.4375, -1369136.25], np.float32),
        ([-340598143065717.4, 793935299515964.4], np.float64),
    ],
    ids=["float32", "float64"],
)
def test_a2_former_large_counterexamples_are_refused(x, dtype):
    """Two inputs that used to decode to a non-closest A2 point lie beyond A2's documented range
    2^20, so they are now refused."""
    with pytest.raises(ValueError, match="magnitude"):
        closest_point_coordinates(np.array(x, dtype=dtype), "A2")
    with pytest.raises(ValueError, match="magnitude"):
        closest_point(np.array(x, dtype=dtype), "A2")


# --- hand-built adversarial inputs --------------------------------------------------------------

# (lattice, x, expected, is_tie, derivation). Every x is dyadic with few bits, where the module
# docstring promises an exact coset comparison, and representable in float32 and float64.
HAND_CASES = [
    ("Z", [0.5, 1.5, 2.5, -0.5, -1.5], [0, 2, 2, 0, -2], True, "rint: halves to even"),
    ("Z", [-0.0, 0.0, -0.25, 3.0], [0, 0, 0, 3], False, "negative zero and a lattice point"),
    # D2 (0.5, 0.5): rint → (0, 0), sum even, kept; (1, 1) is as near.
    ("D", [0.5, 0.5], [0, 0], True, "rint to even, even sum"),
    # D2 (0.5, 1.5): rint → (0, 2), even sum; (1, 1) is as near.
    ("D", [0.5, 1.5], [0, 2], True, "rint to even, even sum"),
    # D4 (.75, .75, .75, .125): rint (1,1,1,0) odd; errors (−¼,−¼,−¼,⅛); lowest index of the
    # largest |error| is 0, error < 0 → round down: (0,1,1,0). (1,0,1,0), (1,1,0,0) tie.
    ("D4", [0.75, 0.75, 0.75, 0.125], [0, 1, 1, 0], True, "lowest index re-rounded, down"),
    # D3 (.25, −.25, 1): rint (0,−0,1) odd; errors (¼, −¼, 0); index 0, error ≥ 0 → up: (1,0,1);
    # (0,−1,1) is as near.
    ("D", [0.25, -0.25, 1.0], [1, 0, 1], True, "lowest index re-rounded, up"),
    # D3 (.5, 1, 0): rint (0,1,0) odd; errors (½,0,0); index 0, error ≥ 0 → up: (1,1,0), unique.
    ("D", [0.5, 1.0, 0.0], [1, 1, 0], False, "parity fix of a rounded half"),
    # D3 (−.5, 1, 0): rint (−0,1,0) odd; error −½ < 0 → down: (−1,1,0), unique.
    ("D", [-0.5, 1.0, 0.0], [-1, 1, 0], False, "parity fix of a rounded negative half"),
    # E8 all ¼: D8 candidate 0 (distance ½), coset candidate ½·1 (distance ½): tie → D8 → 0.
    ("E8", [0.25] * 8, [0] * 8, True, "coset tie, D8 wins"),
    # E8 all −¼: D8 candidate −0 (rint), distance ½; coset: rint(−¾) = −1 → −½·1, distance ½.
    ("E8", [-0.25] * 8, [0] * 8, True, "coset tie, D8 wins"),
    # (1.25, .25, …, .25, 1.25): D8: rint (1,0,…,0,1) even, distance ½; coset: x − ½ = (¾, −¼, …,
    # ¾) → (1, −0, …, 1) even → (1.5, .5, …, .5, 1.5), distance ½: tie → D8.
    ("E8", [1.25] + [0.25] * 6 + [1.25], [1] + [0] * 6 + [1], True, "coset tie shifted"),
    # (½,½,½,½,0,0,0,0): D8: rint → 0, distance 1; coset: x − ½ → (0,0,0,0,−0,…) → ½·1,
    # distance 1: tie → D8 → 0.
    ("E8", [0.5] * 4 + [0.0] * 4, [0] * 8, True, "coset tie with rint halves"),
    # (.75, .25, 0, …): D8 rint (1,0,…) odd; errors (−¼, ¼, 0…): index 0, down → 0; (1,1,0,…)
    # is as near (10/16); the coset is far (≥ 6/4).
    ("E8", [0.75, 0.25] + [0.0] * 6, [0] * 8, True, "D8 parity tie, down"),
    # (.25, .75, 0, …): rint (0,1,0,…) odd; errors (¼, −¼): index 0, up → (1,1,0,…).
    ("E8", [0.25, 0.75] + [0.0] * 6, [1, 1] + [0] * 6, True, "D8 parity tie, up"),
    # (.75, .25, …, .25): D8 gives distance 1, the coset x − ½ = (¼, −¼, …) → ½·1 at distance ½.
    ("E8", [0.75] + [0.25] * 7, [0.5] * 8, False, "coset wins"),
    ("E8", [0.5] * 8, [0.5] * 8, False, "on a coset point"),
    # (−3/2, ½, …, ½): half-integers with sum 2 (even): a coset point.
    ("E8", [-1.5] + [0.5] * 7, [-1.5] + [0.5] * 7, False, "on a second coset point"),
    ("E8", [2.0, 0, 0, 0, 0, 0, 0, 0], [2, 0, 0, 0, 0, 0, 0, 0], False, "on a D8 point"),
    # (1, 0, …, 0) is a deep hole of E8 (distance 1 to 16 + 2·… points): rint → (1, 0, …) odd;
    # errors all 0: index 0, error ≥ 0 → up → (2, 0, …); the coset is as near, D8 wins.
    ("E8", [1.0] + [0.0] * 7, [2] + [0] * 7, True, "deep hole"),
    # A2: rule 3 (first coset wins) never applies to float inputs: for rational (a, b) the
    # distances to points of the two cosets differ by r + s√3 with s = 0 only if b = 0, and with
    # b = 0 the nearest first-coset point (m, 0), |m − a| ≤ ½, beats every second-coset point
    # (distance ≥ ¾). The A2 ties below are within one coset (rule 1).
    # A2 (½, 0): midway between (0, 0) and (1, 0), both in Z × √3Z: rint(½) = 0 → (0, 0).
    ("A2", [0.5, 0.0], (0, 0), True, "A2 edge, rint to even"),
    # A2 (1.5, 0): rint → 2 → (2, 0): coordinates (m, n) = (2, 0).
    ("A2", [1.5, 0.0], (2, 0), True, "A2 edge, rint to even"),
    # A2 (0, ¾): midway between (±½, √3/2) of the second coset ((0, √3) and (0, 0) are farther:
    # ¾ > 1/√3): rint(0 − ½) = −0 → (½, √3/2) = 0·(1, 0) + 1·(½, √3/2): (m, n) = (0, 1).
    ("A2", [0.0, 0.75], (0, 1), True, "A2 edge in the second coset"),
    # A2 (2, ¾): between (1.5, √3/2) and (2.5, √3/2): rint(1.5) = 2 → (2.5, √3/2) = (2, 1).
    ("A2", [2.0, 0.75], (2, 1), True, "A2 edge in the second coset"),
]


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda t: t.__name__)
@pytest.mark.parametrize(
    ("name", "x", "expected", "is_tie", "why"), HAND_CASES, ids=[c[4] for c in HAND_CASES]
)
def test_hand_built_ties_follow_the_documented_rule(name, x, expected, is_tie, why, dtype):
    """The tie rule's answer (derived by hand above) is a brute-force closest point, a tie when
    claimed, and it is what closest_point returns."""
    array = np.array(x, dtype=dtype)
    if name == "A2":
        closest, _ = a2_closest_points(exact(array))
        assert expected in closest and (len(closest) > 1) == is_tie
        assert tuple(closest_point_coordinates(array, "A2").tolist()) == expected
        return
    closest, _ = brute_force(name, exact(array))
    assert exact(expected) in closest and (len(closest) > 1) == is_tie
    result = closest_point(array, name)
    assert result.dtype == dtype
    assert result.tolist() == [float(v) for v in expected]


def test_brute_force_d_and_a2_agree_with_plain_wide_enumerations():
    """Checks of the brute force itself: D_d's parity table equals a plain enumeration of every
    integer vector within 3 of x (d ≤ 4); A2's Q(√3) search equals a 60-digit mpmath scan of
    every (m, n) within 6 of the rounded coordinates of x (ties compared to 1e-40)."""
    import itertools

    rng = np.random.default_rng(11)
    for d in (2, 3, 4):
        for x in [rng.normal(size=d) * 2, np.round(rng.normal(size=d) * 4) / 4]:
            xs = exact(x)
            grid = [range(math.floor(v) - 3, math.floor(v) + 4) for v in xs]
            costs = {
                y: sum((Fraction(c) - v) ** 2 for c, v in zip(y, xs, strict=True))
                for y in itertools.product(*grid)
                if sum(y) % 2 == 0
            }
            best = min(costs.values())
            plain = {tuple(Fraction(c) for c in y) for y, v in costs.items() if v == best}
            assert d_closest_points(xs) == (plain, best)
    with mpmath.workdps(60):
        sqrt3 = mpmath.sqrt(3)
        for x in [*rng.normal(size=(6, 2)) * 5, [0.0, 0.75], [0.5, 0.0], [0.25, 0.25]]:
            a, b = (mpmath.mpf(float(v)) for v in x)
            n0 = int(mpmath.nint(2 * b / sqrt3))
            m0 = int(mpmath.nint(a - mpmath.mpf(n0) / 2))
            distances = {
                (m, n): (m + mpmath.mpf(n) / 2 - a) ** 2 + (n * sqrt3 / 2 - b) ** 2
                for m in range(m0 - 6, m0 + 7)
                for n in range(n0 - 6, n0 + 7)
            }
            best = min(distances.values())
            plain = {k for k, v in distances.items() if v - best < mpmath.mpf(10) ** -40}
            assert a2_closest_points(exact(x))[0] == plain


def test_nearest_float_helpers_against_mpmath():
    """nearest_float_to_surd / _rational (brute force helpers) against 60-digit mpmath."""
    rng = np.random.default_rng(12)
    with mpmath.workdps(60):
        for q in [Fraction(int(k), 2) for k in rng.integers(-(10**15), 10**15, size=40)]:
            for bits, dtype in ((64, np.float64), (32, np.float32)):
                nearest = dtype(nearest_float_to_surd(q, bits))
                target = q.numerator * mpmath.sqrt(3) / q.denominator
                for other in (
                    np.nextafter(nearest, dtype(-np.inf)),
                    np.nextafter(nearest, dtype(np.inf)),
                ):
                    assert abs(mpmath.mpf(float(nearest)) - target) < abs(
                        mpmath.mpf(float(other)) - target
                    )
    assert nearest_float_to_rational(Fraction(1, 3), 32) == float(np.float32(1 / 3))
    assert nearest_float_to_rational(Fraction(2**25 + 1), 32) == 2.0**25  # float32 ulp 4 there


def test_within_ulps_of_surd_against_mpmath():
    """The exact "within k ulps of q·√3" test (surd_ulp, within_ulps_of_surd) against 60-digit
    mpmath, on the floats up to 3 steps either side of the nearest one, q = n/2 including small
    n (binade edges: √3/2, √3, ...), with ulp = 2^(⌊log2 |q√3|⌋ − p + 1)."""
    rng = np.random.default_rng(13)
    qs = [Fraction(n, 2) for n in [1, -1, 2, 3, 5, -8, 1998]]
    qs += [Fraction(int(k), 2) for k in rng.integers(-(2**22), 2**22, size=20)]
    with mpmath.workdps(60):
        for q in qs:
            for bits, dtype in ((64, np.float64), (32, np.float32)):
                target = q.numerator * mpmath.sqrt(3) / q.denominator
                ulp = mpmath.mpf(2) ** (
                    int(mpmath.floor(mpmath.log(abs(target), 2))) - (53 if bits == 64 else 24) + 1
                )
                value = dtype(nearest_float_to_surd(q, bits))
                for _ in range(3):
                    value = np.nextafter(value, dtype(-np.inf))
                for _ in range(7):
                    error = abs(mpmath.mpf(float(value)) - target)
                    for k in (1, 2):
                        assert within_ulps_of_surd(float(value), q, bits, k) == (error <= k * ulp)
                    value = np.nextafter(value, dtype(np.inf))


def test_exhaustive_e8_enumeration_agrees_with_the_parity_table():
    """The parity-table brute force equals the literal 2·3^8 enumeration (a tie and a random x)."""
    for x in ([0.25] * 8, [0.7, -1.2, 0.1, 0.49, -0.5, 2.25, 0.0, -0.8]):
        assert e8_closest_points(exact(x)) == e8_closest_points_exhaustive(exact(x))


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda t: t.__name__)
def test_huge_inputs_just_below_the_range_limit(dtype):
    """Just below the limit L (2^21 or 2^50), where ulp(x) = 1/8 (float32: [2^20, 2^21); float64:
    [2^49, 2^50)), and below A2's limit 2^20. Hand-derived: Z: L − ½ is halfway between L − 1
    (odd) and L (even) → L. D2: (L − ½, L − ½) → rint (L, L), even sum. E8: (L − ¼)·1: D8 → L·1
    (even sum), distance ½; the coset: rint(L − ¾) + ½ = L − ½, distance ½: tie → D8 → L·1. Each
    is checked against the brute force too."""
    limit = RANGE_LIMIT[dtype]
    cases = [
        ("Z", [limit - 0.5, -(limit - 0.5), limit - 0.125], [limit, -limit, limit]),
        ("D", [limit - 0.5, limit - 0.5], [limit, limit]),
        ("E8", [limit - 0.25] * 8, [limit] * 8),
        ("E8", [-(limit - 0.25)] * 8, [-limit] * 8),
    ]
    for name, x, expected in cases:
        array = np.array(x, dtype=dtype)
        assert array.tolist() == x  # representable
        closest, _ = brute_force(name, exact(array))
        assert exact(expected) in closest
        assert closest_point(array, name).tolist() == expected
    # A2 below its limit L = 2^20: (L − ½, 0) is midway between (L − 1, 0) and (L, 0), both in
    # Z × √3Z (the second coset is ≥ √3/2 away): rint to even → (L, 0), coordinates (L, 0).
    a2_limit = int(A2_RANGE_LIMIT)
    for sign in (1, -1):
        array = np.array([sign * (A2_RANGE_LIMIT - 0.5), 0.0], dtype=dtype)
        closest, _ = a2_closest_points(exact(array))
        assert closest == {(sign * a2_limit, 0), (sign * (a2_limit - 1), 0)}
        assert closest_point_coordinates(array, "A2").tolist() == [sign * a2_limit, 0]
        assert closest_point(array, "A2").tolist() == [sign * A2_RANGE_LIMIT, 0.0]


TINY = {
    np.float64: [1e-300, 5e-324, -5e-324, 2.0**-1022, -1e-310],
    np.float32: [1e-38, 1e-45, -1e-45, 2.0**-126, -1e-40],
}


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda t: t.__name__)
def test_tiny_and_subnormal_inputs(dtype):
    """Tiny and subnormal entries (and negative zeros) decode to 0 or to the brute-force point."""
    tiny = [float(dtype(t)) for t in TINY[dtype]]
    assert any(0 < abs(t) < np.finfo(dtype).tiny for t in tiny)  # a subnormal is present
    vectors = {
        "Z": [tiny, [-0.0] * 3],
        "D": [tiny, [-0.0, 0.0], [*tiny[:2], 1.0]],
        "D4": [tiny[:4]],
        "E8": [
            (tiny + [-0.0] * 8)[:8],
            [tiny[2]] + [0.5] * 7,  # (−tiny, ½, …): the coset point ½·1 is nearest
            [tiny[0]] + [-0.5] * 7,
        ],
    }
    for name, cases in vectors.items():
        for x in cases:
            array = np.array(x, dtype=dtype)
            closest, _ = brute_force(name, exact(array))
            assert exact(closest_point(array, name)) in closest, (name, x)
    for x in ([tiny[0], tiny[1]], [-0.0, tiny[2]]):
        assert closest_point_coordinates(np.array(x, dtype=dtype), "A2").tolist() == [0, 0]


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda t: t.__name__)
@pytest.mark.parametrize("name", ["Z", "D4", "E8", "A2"])
def test_lattice_points_decode_to_themselves(name, dtype):
    """x = generator @ c for random integer c (exactly representable): the result is x."""
    rng = np.random.default_rng(5)
    code = lattice(name)
    coordinates = rng.integers(-1000, 1000, size=(50, code.dimension))
    points = coordinates @ code.generator.T
    if name == "A2":  # not exactly representable: decode to the same coordinates instead
        result = closest_point_coordinates(points.astype(dtype), "A2")
        assert result.tolist() == coordinates.tolist()
        return
    assert np.array_equal(points.astype(dtype).astype(np.float64), points)  # exact
    assert np.array_equal(closest_point(points.astype(dtype), name), points)
    assert np.array_equal(closest_point_coordinates(points.astype(dtype), name), coordinates)


# --- near ties in float arithmetic ---------------------------------------------------------------


def test_float64_near_coset_tie_within_documented_accuracy():
    """x = (2^−60, ½, ¼, …, ¼): the coset point ½·1 is nearer than 0 by exactly 2^−60 in squared
    distance (10/16 + 2^−120 vs 10/16 − 2^−60 + 2^−120: computed exactly by the brute force), which
    float64 cannot see. The documented guarantee: the returned point is a lattice point whose
    squared distance exceeds the minimum by at most COSET_COMPARISON_SLACK of it."""
    x = np.array([2.0**-60, 0.5] + [0.25] * 6)
    closest, minimum = e8_closest_points(exact(x))
    assert closest == {exact([0.5] * 8)}
    point = exact(closest_point(x, "E8"))
    assert is_e8_point(point)
    distance = sum((p - v) ** 2 for p, v in zip(point, exact(x), strict=True))
    assert distance <= minimum * (1 + Fraction(COSET_COMPARISON_SLACK))


def test_float32_near_coset_tie_within_documented_accuracy():
    """Same as the float64 case with δ = 2^−30 (exact in float32): ½·1 is nearer than 0 by 2^−30,
    about 2^−29 of the distance, far beyond the documented few float64 ulps, so ½·1 must be
    returned. (Formerly a bug: x − p was formed in float32, where 2^−30 − ½ rounds to −½.)"""
    x = np.array([2.0**-30, 0.5] + [0.25] * 6, dtype=np.float32)
    closest, minimum = e8_closest_points(exact(x))
    assert closest == {exact([0.5] * 8)}
    point = exact(closest_point(x, "E8"))
    distance = sum((p - v) ** 2 for p, v in zip(point, exact(x), strict=True))
    assert distance <= minimum * (1 + Fraction(COSET_COMPARISON_SLACK))


#: x = (¼, ¼, ¼, ¼, ½, ½, 0, −2^−30), exact in float32 (found by the float32 near-tie property
#: test). By hand (and the exact brute force): the D8 candidate 0 is at squared distance ¾ + 2^−60;
#: in D8 + ½·1, x − ½ = (−¼ ×4, 0, 0, −½, −½ − 2^−30) rounds to (0, …, 0, −1), odd sum, and the
#: parity fix re-rounds index 6 (largest |error| ½, error < 0: down), giving y = (½ ×6, −½, −½)
#: at squared distance ¾ − 2^−30 + 2^−60, the unique closest point.
E8_TINY_NEGATIVE_ENTRY = [0.25] * 4 + [0.5, 0.5, 0.0, -(2.0**-30)]


def _check_e8_tiny_negative_entry(dtype) -> None:
    x = np.array(E8_TINY_NEGATIVE_ENTRY, dtype=dtype)
    assert x.tolist() == E8_TINY_NEGATIVE_ENTRY  # exact in either dtype
    expected = exact([0.5] * 6 + [-0.5, -0.5])
    closest, minimum = e8_closest_points(exact(x))
    assert closest == {expected}
    assert minimum == Fraction(3, 4) - Fraction(1, 2**30) + Fraction(1, 2**60)
    assert exact(closest_point(x, "E8")) == expected


def test_e8_second_coset_of_a_tiny_negative_entry_float64():
    """E8_TINY_NEGATIVE_ENTRY in float64: x − ½ is exact, the closest point is returned."""
    _check_e8_tiny_negative_entry(np.float64)


def test_e8_second_coset_of_a_tiny_negative_entry_float32():
    """E8_TINY_NEGATIVE_ENTRY in float32: _round_e8 forms x − ½ in float32, which rounds
    −½ − 2^−30 to −½ before the D8 decoding, so the coset candidate is ½·1 (squared distance
    ¾ + 2^−30 + 2^−60) and the D8 point 0 wins: 2^−30 (≈ 2^−29.6 of the distance) farther than
    the closest point, far beyond the documented few float64 ulps (COSET_COMPARISON_SLACK)."""
    _check_e8_tiny_negative_entry(np.float32)


# --- hypothesis properties ----------------------------------------------------------------------


def float_vectors(d: int, width: int, bound: float):
    """Vectors of d bounded finite floats of the given width, subnormals and −0 included."""
    element = st.floats(
        min_value=-bound,
        max_value=bound,
        allow_nan=False,
        allow_infinity=False,
        allow_subnormal=True,
        width=width,
    )
    return st.lists(element, min_size=d, max_size=d)


def assert_closest_within_documented_accuracy(name: str, x: list[float], dtype) -> None:
    """Z and D: exactly a closest point. E8: a lattice point that is a closest point or within the
    documented accuracy of the coset comparison (COSET_COMPARISON_SLACK)."""
    array = np.array(x, dtype=dtype)
    result = closest_point(array, name)
    point = exact(result)
    closest, minimum = brute_force(name, exact(array))
    if name != "E8" or point in closest:
        assert point in closest, (x, result.tolist())
        return
    assert is_e8_point(point)
    distance = sum((p - v) ** 2 for p, v in zip(point, exact(array), strict=True))
    assert distance <= minimum * (1 + Fraction(COSET_COMPARISON_SLACK)), (x, result.tolist())


@pytest.mark.parametrize(("name", "d"), [("Z", 5), ("D", 3), ("D4", 4), ("D", 9), ("E8", 8)])
@given(data=st.data())
def test_property_float64_result_is_closest(name, d, data):
    x = data.draw(float_vectors(d, 64, 1e6))
    assert_closest_within_documented_accuracy(name, x, np.float64)


@pytest.mark.parametrize(("name", "d"), [("Z", 5), ("D", 3), ("D4", 4), ("D", 9), ("E8", 8)])
@given(data=st.data())
def test_property_float32_result_is_closest(name, d, data):
    x = data.draw(float_vectors(d, 32, 1e5))
    assert_closest_within_documented_accuracy(name, x, np.float32)


def near_tie_vectors(d: int):
    """Quarter-integers (where ties sit: rint halves, D parity, E8 cosets) plus tiny offsets."""
    quarter = st.one_of(
        st.sampled_from([0.25, -0.25, 0.5, -0.5, 0.75, 0.0]),
        st.integers(-16, 16).map(lambda k: k / 4),
    )
    offset = st.sampled_from([0.0, 0.0, 2.0**-60, -(2.0**-60), 2.0**-30, -(2.0**-30), 5e-324])
    return st.lists(st.tuples(quarter, offset).map(sum), min_size=d, max_size=d)


@pytest.mark.parametrize(("name", "d"), [("D", 3), ("D4", 4), ("E8", 8)])
@given(data=st.data())
def test_property_float64_near_ties(name, d, data):
    """Near ties, float64: Z/D exactly closest, E8 within the documented accuracy."""
    assert_closest_within_documented_accuracy(name, data.draw(near_tie_vectors(d)), np.float64)


@pytest.mark.parametrize(("name", "d"), [("D", 3), ("D4", 4)])
@given(data=st.data())
def test_property_float32_near_ties(name, d, data):
    """Near ties, float32 (each drawn value is rounded to float32 first): exactly closest."""
    x = [float(np.float32(v)) for v in data.draw(near_tie_vectors(d))]
    assert_closest_within_documented_accuracy(name, x, np.float32)


@settings(phases=(Phase.explicit, Phase.generate))  # no shrinking: the minimal case is above
@given(x=near_tie_vectors(8))
def test_property_float32_e8_near_ties(x):
    """Near ties, float32 E8: within the documented accuracy of the coset comparison."""
    x = [float(np.float32(v)) for v in x]
    assert_closest_within_documented_accuracy("E8", x, np.float32)


def a2_range_vectors(width: int):
    """Pairs of finite floats of the given width with |x| < 2^20 (A2's range), subnormals too."""
    element = st.floats(
        min_value=-A2_RANGE_LIMIT,
        max_value=A2_RANGE_LIMIT,
        exclude_min=True,
        exclude_max=True,
        allow_nan=False,
        allow_subnormal=True,
        width=width,
    )
    return st.lists(element, min_size=2, max_size=2)


@given(x=a2_range_vectors(64))
def test_property_a2_float64_coordinates_are_closest(x):
    """A2 (float64): the coordinates are those of an exact closest point, or within the documented
    A2_COMPARISON_SLACK (2^−28, absolute, compared exactly in Q(√3)) of the minimum."""
    assert_a2_within_documented_accuracy(np.array(x), closest_point_coordinates(np.array(x), "A2"))


@given(x=a2_range_vectors(32))
def test_property_a2_float32_coordinates_are_closest(x):
    """A2 (float32): as for float64."""
    array = np.array(x, dtype=np.float32)
    assert_a2_within_documented_accuracy(array, closest_point_coordinates(array, "A2"))


def _dyadic(bound: int):
    """Multiples of 1/64 in [−bound, bound]: exact in float32, exact coset comparisons."""
    return st.integers(-64 * bound, 64 * bound).map(lambda k: k / 64)


@pytest.mark.parametrize(("name", "d"), [("Z", 4), ("D", 5), ("D4", 4), ("E8", 8)])
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda t: t.__name__)
@given(data=st.data())
def test_property_translation_invariance(name, d, dtype, data):
    """closest(x + v) == closest(x) + v for a lattice vector v, when x has a unique closest point
    (brute force), i.e. no tie rule is involved; x + v is exact (dyadic, small)."""
    x = data.draw(st.lists(_dyadic(8), min_size=d, max_size=d))
    integers = data.draw(st.lists(st.integers(-1000, 1000), min_size=d, max_size=d))
    if name in ("D", "D4"):
        integers[-1] += sum(integers) % 2  # even sum
        v = [float(i) for i in integers]
    elif name == "E8":
        generator = exact_generator("E8")
        v = [float(c) for c in exact_product(generator, integers)]
    else:
        v = [float(i) for i in integers]
    closest, _ = brute_force(name, exact(x))
    assume(len(closest) == 1)
    shifted = np.array(x, dtype=dtype) + np.array(v, dtype=dtype)
    assert exact(shifted) == tuple(a + b for a, b in zip(exact(x), exact(v), strict=True))
    expected = closest_point(np.array(x, dtype=dtype), name) + np.array(v, dtype=dtype)
    assert closest_point(shifted, name).tolist() == expected.tolist()


@given(
    x=st.tuples(_dyadic(50), _dyadic(50)),
    shift=st.tuples(st.integers(-1000, 1000), st.integers(-1000, 1000)),
)
def test_property_a2_translation_invariance_of_coordinates(x, shift):
    """A2: adding the lattice vector with coordinates (p, q) adds (p, q) to the coordinates, when
    x's closest point is unique. The shifted input is the nearest float64 to x + (p + q/2, q√3/2);
    the exact brute force of the shifted input gives the expected coordinates (it need not be
    unique after rounding, so it is asked for, not assumed)."""
    p, q = shift
    closest, _ = a2_closest_points(exact(x))
    assume(len(closest) == 1)
    shifted_x = exact(x)[0] + p + Fraction(q, 2)
    shifted = np.array([float(shifted_x), float(x[1]) + nearest_float_to_surd(Fraction(q, 2), 64)])
    closest_shifted, _ = a2_closest_points(exact(shifted))
    (m, n) = next(iter(closest))
    assume(closest_shifted == {(m + p, n + q)})
    assert closest_point_coordinates(shifted, "A2").tolist() == [m + p, n + q]


# --- dtypes, shapes, input untouched -------------------------------------------------------------


AGREE_PARAMS = [
    pytest.param(name, scale, id=f"{name}-{label}")
    for name in ("Z", "D", "D4", "E8", "A2")
    for label, scale in SCALES.items()
]


@pytest.mark.parametrize(("name", "scale"), AGREE_PARAMS)
def test_float32_and_float64_holding_the_same_values_agree(name, scale):
    """Same values in either dtype give the same points (A2: the same integer coordinates; A2 is
    documented to compute in float64 for both dtypes, so this is exact agreement)."""
    d = {"Z": 3, "D": 6, "D4": 4, "E8": 8, "A2": 2}[name]
    x32 = random_inputs(6000 + d, (500, d), np.float32, scale, range_limit(name, np.float32))
    x64 = x32.astype(np.float64)
    if name == "A2":
        assert np.array_equal(
            closest_point_coordinates(x32, name), closest_point_coordinates(x64, name)
        )
        return
    assert np.array_equal(closest_point(x32, name).astype(np.float64), closest_point(x64, name))


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda t: t.__name__)
@pytest.mark.parametrize("shape", [(8,), (3, 8), (2, 3, 8), (1, 1, 1, 8)])
@pytest.mark.parametrize("name", ["Z", "D", "E8"])
def test_any_leading_shape_dtype_kept_input_untouched(name, shape, dtype):
    """The result has x's shape and dtype, each vector decodes as it would alone, x is not
    modified."""
    x = random_inputs(7000, shape, dtype, 1.0)
    before = x.copy()
    result = closest_point(x, name)
    assert result.shape == x.shape and result.dtype == x.dtype
    assert np.array_equal(x, before) and x.tobytes() == before.tobytes()
    rows = x.reshape(-1, shape[-1])
    alone = np.stack([closest_point(row, name) for row in rows]).reshape(shape)
    assert result.tobytes() == alone.tobytes()


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda t: t.__name__)
@pytest.mark.parametrize(("name", "d"), [("A2", 2), ("D4", 4), ("E8", 8)])
def test_coordinates_shape_and_input_untouched(name, d, dtype):
    x = random_inputs(7100, (2, 3, d), dtype, 3.0)
    before = x.tobytes()
    points = closest_point(x, name)
    coordinates = closest_point_coordinates(x, name)
    assert points.shape == coordinates.shape == x.shape
    assert points.dtype == dtype and coordinates.dtype == np.int64
    assert x.tobytes() == before


# --- bad input -----------------------------------------------------------------------------------


BAD_INPUTS = [
    ("NaN", np.array([0.0, np.nan] + [0.0] * 6), "E8", ValueError, "finite"),
    ("inf", np.array([np.inf] + [0.0] * 7), "E8", ValueError, "finite"),
    ("-inf", np.array([0.0, -np.inf], dtype=np.float32), "A2", ValueError, "finite"),
    ("int", np.zeros(8, dtype=np.int64), "E8", TypeError, "dtype"),
    ("complex", np.zeros(8, dtype=np.complex128), "E8", TypeError, "dtype"),
    ("float16", np.zeros(4, dtype=np.float16), "D4", TypeError, "dtype"),
    ("empty", np.zeros((0, 8)), "E8", ValueError, "empty"),
    ("scalar", np.float64(0.5), "Z", ValueError, "axis"),
    ("wrong axis E8", np.zeros((3, 7)), "E8", ValueError, "last axis"),
    ("wrong axis A2", np.zeros(3), "A2", ValueError, "last axis"),
    ("wrong axis D4", np.zeros(8), "D4", ValueError, "last axis"),
    ("D1", np.zeros(1), "D", ValueError, "last axis"),
    ("at limit 64", np.array([2.0**50] + [0.0] * 7), "E8", ValueError, "magnitude"),
    ("at limit 32", np.array([0.0, -(2.0**21)], dtype=np.float32), "Z", ValueError, "magnitude"),
    ("above limit", np.array([1e300, 0.0]), "A2", ValueError, "magnitude"),
    ("A2 at limit 64", np.array([2.0**20, 0.0]), "A2", ValueError, "magnitude"),
    ("A2 at -limit 64", np.array([0.0, -(2.0**20)]), "A2", ValueError, "magnitude"),
    ("A2 at limit 32", np.array([0.0, 2.0**20], dtype=np.float32), "A2", ValueError, "magnitude"),
    ("A2 above limit 32", np.array([-3e6, 0.0], dtype=np.float32), "A2", ValueError, "magnitude"),
    ("unknown", np.zeros(8), "E7", ValueError, "lattice"),
    ("not a name", np.zeros(8), 8, ValueError, "lattice"),
]


@pytest.mark.parametrize(
    ("x", "name", "error", "words"), [c[1:] for c in BAD_INPUTS], ids=[c[0] for c in BAD_INPUTS]
)
def test_bad_input_is_refused(x, name, error, words):
    with pytest.raises(error, match=words):
        closest_point(x, name)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda t: t.__name__)
@pytest.mark.parametrize("value", [2.0**20, -(2.0**20), 2.0**20 + 1, 1.5e6])
def test_a2_coordinates_refuse_the_a2_range_limit(value, dtype):
    """|x| ≥ 2^20 is refused for A2 by closest_point_coordinates too, in either coordinate."""
    for x in ([value, 0.0], [0.0, value]):
        with pytest.raises(ValueError, match="magnitude"):
            closest_point_coordinates(np.array(x, dtype=dtype), "A2")


def test_bad_input_to_closest_point_coordinates():
    with pytest.raises(ValueError, match="code lattice"):
        closest_point_coordinates(np.zeros(4), "D")
    with pytest.raises(ValueError, match="last axis 1"):
        closest_point_coordinates(np.zeros(3), "Z")
    with pytest.raises(ValueError, match="magnitude"):
        closest_point_coordinates(np.array([2.0**50, 0.0]), "A2")
    with pytest.raises(TypeError, match="dtype"):
        closest_point_coordinates(np.zeros(8, dtype=np.int32), "E8")
    with pytest.raises(ValueError, match="lattice"):
        lattice("D")


def test_range_limit_is_inclusive_below():
    """The largest floats below the limits are accepted (no off-by-one refusal), A2's too."""
    for dtype, limit in RANGE_LIMIT.items():
        below = np.nextafter(dtype(limit), dtype(0))
        closest_point(np.array([below, -below], dtype=dtype), "Z")
        below = np.nextafter(dtype(A2_RANGE_LIMIT), dtype(0))
        closest_point(np.array([below, -below], dtype=dtype), "A2")
        closest_point_coordinates(np.array([-below, below], dtype=dtype), "A2")


# --- Monte Carlo second moment -------------------------------------------------------------------


def exact_second_moments() -> dict[str, Fraction]:
    """E||U||²/d = G(Λ)·det(Λ)^(2/d) from the public closed forms of G (Conway & Sloane, SPLAG
    ch. 2 and 21; theory.md §1.4) and each lattice's determinant at this scaling:
      Z:  G = 1/12,          det 1              → 1/12
      A2: G = 5/(36√3),      det √3/2 (min. distance 1), det^(2/2) = √3/2 → 5/72
      D4: G = 13/(120√2),    det 2 (index 2 in Z^4), det^(2/4) = √2        → 13/120
      E8: G = 929/12960,     det 1 (unimodular)                            → 929/12960
    Each product is checked against the float evaluation of the closed form at 50 digits."""
    values = {
        "Z": Fraction(1, 12),
        "A2": Fraction(5, 72),
        "D4": Fraction(13, 120),
        "E8": Fraction(929, 12960),
    }
    with mpmath.workdps(50):
        closed = {
            "Z": mpmath.mpf(1) / 12,
            "A2": 5 / (36 * mpmath.sqrt(3)) * (mpmath.sqrt(3) / 2),
            "D4": 13 / (120 * mpmath.sqrt(2)) * mpmath.sqrt(2),
            "E8": mpmath.mpf(929) / 12960,
        }
        for name, value in values.items():
            assert abs(closed[name] - mpmath.mpf(value.numerator) / value.denominator) < 1e-45
    return values


def test_lattice_constants_match_the_closed_forms():
    """lattice(name).second_moment and the determinant of its generator match the closed forms."""
    determinants = {"Z": 1.0, "A2": math.sqrt(3) / 2, "D4": 2.0, "E8": 1.0}
    for name, value in exact_second_moments().items():
        code = lattice(name)
        assert code.second_moment == float(value)
        assert abs(abs(np.linalg.det(code.generator)) - determinants[name]) < 1e-12


@pytest.mark.parametrize("name", ["Z", "A2", "D4", "E8"])
def test_monte_carlo_second_moment(name):
    """U = x − Q(x) for x uniform on a box that is a union of fundamental cells of a sublattice
    (Z: [−50, 50); D4, E8 ⊃ 2Z^d: [−50, 50)^d; A2 ⊃ Z × √3Z: [−50, 50) × [−25√3, 25√3)) is
    uniform on the Voronoi cell, so mean(||U||²/d) estimates the exact second moment; with
    N = 2·10^5 seeded vectors it must lie within 5 standard errors (sample std / √N)."""
    code = lattice(name)
    d = code.dimension
    rng = np.random.default_rng(12345)
    n = 200_000
    x = rng.uniform(-50.0, 50.0, size=(n, d))
    if name == "A2":
        x[:, 1] = rng.uniform(-25.0 * math.sqrt(3), 25.0 * math.sqrt(3), size=n)
    u = x - closest_point(x, name)
    samples = np.einsum("ij,ij->i", u, u) / d
    assert samples.max() * d <= code.covering_radius**2 * (1 + 1e-12)
    mean, error = samples.mean(), samples.std(ddof=1) / math.sqrt(n)
    expected = float(exact_second_moments()[name])
    assert abs(mean - expected) < 5 * error, (mean, expected, error)
    assert code.second_moment == expected


# --- CuPy -----------------------------------------------------------------------------------------


def test_cupy_matches_numpy_bit_for_bit():
    """On a GPU, closest_point and closest_point_coordinates of CuPy arrays equal the NumPy
    results bit for bit (signed zeros included), in float32 and float64, on random inputs at every
    scale, on the hand-built tie cases, and on quarter-integer vectors (full of ties)."""
    cupy = cupy_or_none()
    if cupy is None:
        pytest.skip("CuPy with a visible GPU is not available (cupy_or_none() is None)")
    rng = np.random.default_rng(8000)
    for dtype in DTYPES:
        for name, d in [("Z", 5), ("D", 3), ("D", 9), ("D4", 4), ("E8", 8), ("A2", 2)]:
            limit = range_limit(name, dtype)
            inputs = [random_inputs(8000 + d, (4096, d), dtype, s, limit) for s in SCALES.values()]
            inputs.append((rng.integers(-8, 9, size=(4096, d)) / 4).astype(dtype))
            inputs.append(-inputs[-1])  # negative zeros too
            ties = [c[1] for c in HAND_CASES if c[0] == name and len(c[1]) == d]
            if ties:
                inputs.append(np.array(ties, dtype=dtype))
            for x in inputs:
                expected = closest_point(x, name)
                got = closest_point(cupy.asarray(x), name)
                assert isinstance(got, cupy.ndarray)
                assert cupy.asnumpy(got).tobytes() == expected.tobytes(), (name, dtype)
                if name in ("D4", "E8", "A2"):
                    coordinates = closest_point_coordinates(cupy.asarray(x), name)
                    assert np.array_equal(
                        cupy.asnumpy(coordinates), closest_point_coordinates(x, name)
                    )
