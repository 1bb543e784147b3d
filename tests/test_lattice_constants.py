"""Lattice constants (theory.md §1.4) against quadrature, exact integrals and Monte Carlo.

The Monte Carlo uses closest-point decoders written here from Conway & Sloane's description,
themselves checked against brute force over a neighbourhood, never the project's fast path.
"""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import mpmath
import numpy as np
import pytest

from quantmm.reference import (
    LATTICES,
    ball_bound,
    lattice_loss_db,
    normalized_second_moment,
    normalized_second_moment_exact,
    sphere_bound,
    to_decimal,
)

SEED = 8_000_001
Z_SCORE = 4.0


def test_integer_lattice_is_the_exact_integral():
    # ∫_{−1/2}^{1/2} x² dx = 2·(1/2)³/3, the cell has volume 1 and d = 1.
    exact = 2 * Fraction(1, 2) ** 3 / 3
    assert normalized_second_moment_exact("Z").rational == exact
    assert normalized_second_moment_exact("Z").radicand == 1


def test_a2_matches_quadrature_over_the_hexagon():
    # A2 with minimal norm 1: its Voronoi cell is the regular hexagon of inradius 1/2,
    # circumradius 1/√3, vertices (±1/√3, 0) and (±1/(2√3), ±1/2); area √3/2.
    with mpmath.workdps(40):
        circumradius = 1 / mpmath.sqrt(3)
        inradius = mpmath.mpf(1) / 2

        def half_height(x):
            x = abs(x)
            if x <= circumradius / 2:
                return inradius
            return inradius * (circumradius - x) / (circumradius / 2)

        def column(x):
            h = half_height(x)
            return 2 * (x * x * h + h**3 / 3)  # ∫_{−h}^{h} (x² + y²) dy

        second_moment = mpmath.quad(
            column, [-circumradius, -circumradius / 2, 0, circumradius / 2, circumradius]
        )
        area = mpmath.sqrt(3) / 2
        expected = second_moment / area / (2 * area)
        assert to_decimal(normalized_second_moment("A2", digits=30), 30) == mpmath.nstr(
            expected, 30, strip_zeros=False
        )


def closest_point_d(points: np.ndarray) -> np.ndarray:
    """Closest point of D_d (integer vectors of even sum): round, and if the sum is odd re-round
    the coordinate with the largest rounding error the other way (Conway & Sloane 1982)."""
    rounded = np.rint(points)
    odd = (rounded.sum(axis=-1) % 2) != 0
    error = points - rounded
    worst = np.argmax(np.abs(error), axis=-1)
    rows = np.nonzero(odd)[0]
    step = np.where(error[rows, worst[rows]] >= 0, 1.0, -1.0)
    rounded[rows, worst[rows]] += step
    return rounded


def closest_point_e8(points: np.ndarray) -> np.ndarray:
    """E8 = D8 ∪ (D8 + ½·1): decode in both cosets and keep the nearer."""
    first = closest_point_d(points)
    second = closest_point_d(points - 0.5) + 0.5
    nearer_second = np.sum((points - second) ** 2, axis=-1) < np.sum((points - first) ** 2, axis=-1)
    return np.where(nearer_second[:, None], second, first)


def brute_force(points: np.ndarray, lattice_points: np.ndarray) -> np.ndarray:
    """The nearest of the given lattice points (an explicit neighbourhood) to each point."""
    distances = ((points[:, None, :] - lattice_points[None, :, :]) ** 2).sum(axis=-1)
    return lattice_points[np.argmin(distances, axis=1)]


def neighbourhood(dimension: int, coset_offsets: tuple[float, ...]) -> np.ndarray:
    """All D_d (+ offset) points with integer part in [−1, 2]. D4's and E8's covering radius is 1,
    so the nearest point to any x in [0, 1)^d has every coordinate in [−1, 2] (or, in E8's other
    coset, in {−1/2, 1/2, 3/2}): the neighbourhood holds it."""
    integer = np.array(list(itertools.product(range(-1, 3), repeat=dimension)), dtype=float)
    even = integer[integer.sum(axis=1) % 2 == 0]
    return np.concatenate([even + offset for offset in coset_offsets])


def test_test_decoders_agree_with_brute_force():
    rng = np.random.default_rng(SEED)
    points4 = rng.uniform(0, 1, (300, 4))
    assert np.array_equal(closest_point_d(points4), brute_force(points4, neighbourhood(4, (0.0,))))
    points8 = rng.uniform(0, 1, (60, 8))
    e8 = neighbourhood(8, (0.0, 0.5))
    decoded = closest_point_e8(points8)
    reference = brute_force(points8, e8)
    # Compare distances (a tie may pick either point at the same distance).
    assert np.allclose(
        ((points8 - decoded) ** 2).sum(axis=1), ((points8 - reference) ** 2).sum(axis=1)
    )


@pytest.mark.parametrize(
    ("lattice", "decoder", "dimension", "volume"),
    [("D4", closest_point_d, 4, 2.0), ("E8", closest_point_e8, 8, 1.0)],
)
def test_normalized_second_moment_matches_monte_carlo(lattice, decoder, dimension, volume):
    # x uniform on [0, 2)^d (a union of cells of 2Z^d, a sublattice of both), so x − Q(x) is
    # uniform on the Voronoi cell; G = E||x − Q(x)||² / (d·V^(2/d)).
    seed = SEED + dimension
    rng = np.random.default_rng(seed)
    samples = 400_000
    points = rng.uniform(0, 2, (samples, dimension))
    squared = ((points - decoder(points)) ** 2).sum(axis=1) / (
        dimension * volume ** (2 / dimension)
    )
    mean, standard_error = squared.mean(), squared.std(ddof=1) / math.sqrt(samples)
    stored = float(normalized_second_moment(lattice))
    assert abs(mean - stored) <= Z_SCORE * standard_error, (
        f"{lattice}: Monte Carlo {mean:.6f} ± {standard_error:.1e} vs stored {stored:.6f}; "
        f"seed={seed}, samples={samples}"
    )
    # Power: the band is narrow enough to catch a constant wrong by 0.3%.
    assert Z_SCORE * standard_error < 3e-3 * stored


def test_lattice_losses_match_the_textbook_decibels():
    # Z: 10·log10(πe/6) ≈ 1.53 dB (the scalar quantizer's "1.53 dB"); E8: 0.88 dB (theory.md §1.4).
    assert to_decimal(lattice_loss_db("Z", digits=3), 3) == "1.53"
    assert to_decimal(lattice_loss_db("E8", digits=2), 2) == "0.88"
    with mpmath.workdps(40):
        assert to_decimal(lattice_loss_db("Z", digits=25), 25) == mpmath.nstr(
            10 * mpmath.log10(mpmath.pi * mpmath.e / 6), 25, strip_zeros=False
        )


def test_ball_bound_in_low_dimensions_is_the_interval_and_the_disk():
    with mpmath.workdps(50):
        assert to_decimal(ball_bound(1, digits=30), 30) == to_decimal(mpmath.mpf(1) / 12, 30)
        disk = 1 / (4 * mpmath.pi)  # E|U|² = r²/2 over area πr², d = 2
        assert to_decimal(ball_bound(2, digits=30), 30) == mpmath.nstr(disk, 30, strip_zeros=False)


def test_ball_bound_decreases_to_the_sphere_bound():
    values = [ball_bound(d, digits=20) for d in (1, 2, 3, 4, 8, 24, 100, 10_000)]
    assert all(first > second for first, second in itertools.pairwise(values))
    assert all(value > sphere_bound() for value in values)
    with mpmath.workdps(30):
        assert (values[-1] - sphere_bound()) / sphere_bound() < 1e-3


@pytest.mark.parametrize("lattice", list(LATTICES))
def test_every_lattice_is_above_the_ball_bound_of_its_dimension(lattice):
    dimension = LATTICES[lattice]
    assert normalized_second_moment(lattice) >= ball_bound(dimension)
    assert lattice_loss_db(lattice) > 0


def test_sphere_bound_is_one_over_two_pi_e():
    with mpmath.workdps(60):
        assert to_decimal(sphere_bound(digits=50), 50) == mpmath.nstr(
            1 / (2 * mpmath.pi * mpmath.e), 50, strip_zeros=False
        )


def test_lattice_names_are_case_insensitive_and_validated():
    assert normalized_second_moment("e8") == normalized_second_moment("E8")
    assert normalized_second_moment_exact("Z1") == normalized_second_moment_exact("Z")
    with pytest.raises(ValueError, match="lattice must be one of Z, A2, D4, E8, got 'E7'"):
        normalized_second_moment("E7")
    with pytest.raises(ValueError, match="lattice must be one of"):
        lattice_loss_db(8)


def test_exact_forms_print_as_surds():
    assert [str(normalized_second_moment_exact(name)) for name in LATTICES] == [
        "1/12",
        "5*sqrt(3)/108",
        "13*sqrt(2)/240",
        "929/12960",
    ]


@pytest.mark.parametrize("bad", [0, -2, 1.5])
def test_ball_bound_rejects_bad_dimensions(bad):
    with pytest.raises(ValueError, match="dimension must be an integer >= 1"):
        ball_bound(bad)
