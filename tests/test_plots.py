"""``quantmm plot rate-distortion`` and ``quantmm plot density`` end to end at tiny size.

Independent computations: Γ, φ, 2^(−2R), R* from the certified mpmath reference
(quantmm.reference); λ*'s mass on the grid's range from the reference CDF Λ
(optimal_density_cdf), its peaks from the reference peak_location, and the compander points from
the reference design_codebook.
"""

from __future__ import annotations

import csv
import doctest
import math
from fractions import Fraction

import numpy as np
import pytest

from quantmm.experiments import density, rate_distortion
from quantmm.reference import (
    design_codebook,
    gamma,
    is_bimodal,
    one_sided,
    optimal_density_cdf,
    peak_location,
    phi,
)


def _rows(path):
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _ulp_distance(value: float, reference: float) -> float:
    return abs(value - reference) / math.ulp(reference)


# -- rate-distortion ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rate_plot(tmp_path_factory):
    directory = tmp_path_factory.mktemp("rate_distortion")
    result = rate_distortion.run(size="tiny", seed=1, output_dir=directory, progress=False)
    return result, directory


def test_rate_distortion_files_written(rate_plot):
    result, directory = rate_plot
    names = {path.name for path in result.files}
    assert names == {
        "rate-distortion.csv",
        "rate-distortion-curve.csv",
        "rate-distortion.png",
        "rate-distortion.svg",
    }
    assert (directory / "rate-distortion.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert b"<svg" in (directory / "rate-distortion.svg").read_bytes()[:1000]
    preset = rate_distortion.SIZE_PRESETS["tiny"]
    points = _rows(directory / "rate-distortion.csv")
    expected = len(preset["lattices"]) * len(preset["lattice_rates"]) + len(
        preset["designs"]
    ) * len(preset["scalar_rates"])
    assert len(points) == expected == len(result.rows)
    assert 0 < len(result.report.splitlines()) <= 25


def test_curves_equal_the_reference(rate_plot):
    """The curve CSV against the mpmath reference at every 1/8 bit: Γ and φ within 4 ulps (the
    vectorized functions' documented bound, i.e. float64 accuracy), 2^(−2R) exactly."""
    _, directory = rate_plot
    curve = _rows(directory / "rate-distortion-curve.csv")
    assert float(curve[0]["rate"]) == 0.0
    assert float(curve[1]["rate"]) == rate_distortion.CURVE_STEP
    assert float(curve[-1]["rate"]) == rate_distortion.SIZE_PRESETS["tiny"]["max_rate"]
    for row in curve[::8]:
        rate = float(row["rate"])
        assert _ulp_distance(float(row["gamma"]), float(gamma(rate, digits=17))) <= 4, rate
        assert _ulp_distance(float(row["phi"]), float(phi(rate, digits=17))) <= 4, rate
        assert float(row["one_sided"]) == float(one_sided(rate, digits=17)), rate


def test_measured_points_lie_above_gamma(rate_plot):
    """The converse (theory.md §1.2): E D ≥ Γ(R). Every point's 95 % upper bound on D reaches Γ
    at its measured rate (reference Γ); the scalar kernels pay log2 K bits plus side info."""
    _, directory = rate_plot
    for row in _rows(directory / "rate-distortion.csv"):
        rate = float(row["rate"])
        assert float(row["distortion_high"]) >= float(gamma(rate, digits=17)), row
        assert rate > float(row["nominal_rate"]) - 0.25  # the code rate is at most 1/4 below
        if row["kernel"].startswith("scalar"):
            assert rate > math.log2(int(row["size"].removeprefix("K=")))


def test_rate_distortion_same_seed_same_bytes(rate_plot, tmp_path):
    result, _ = rate_plot
    rate_distortion.run(size="tiny", seed=1, output_dir=tmp_path, progress=False)
    for path in result.files:
        assert (tmp_path / path.name).read_bytes() == path.read_bytes(), path.name
    other = rate_distortion.run(size="tiny", seed=2, output_dir=tmp_path / "b", progress=False)
    assert [r["distortion"] for r in other.rows] != [r["distortion"] for r in result.rows]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"size": "big"}, "size must be one of"),
        ({"seed": -3}, "seed must be a non-negative integer"),
        ({"device": "tpu"}, "device must be 'cpu' or 'gpu'"),
        ({"scheduler": 1}, "scheduler must be None or an address"),
    ],
)
def test_rate_distortion_bad_arguments(arguments, message, tmp_path):
    with pytest.raises(ValueError, match=message):
        rate_distortion.run(**{"output_dir": tmp_path, "progress": False, **arguments})


def test_curve_rows_validates():
    with pytest.raises(ValueError, match="max_rate"):
        rate_distortion.curve_rows(float("nan"))
    with pytest.raises(ValueError, match="step"):
        rate_distortion.curve_rows(2.0, 0.0)


# -- density --------------------------------------------------------------------------------------

LEVELS = 4  # the codebook size in these tests (the CLI default is 16; K = 4 is faster)


@pytest.fixture(scope="module")
def density_plot(tmp_path_factory):
    directory = tmp_path_factory.mktemp("density")
    result = density.run(size="tiny", levels=LEVELS, output_dir=directory, progress=False)
    return result, directory


def _grid(directory):
    rows = _rows(directory / "density.csv")
    u = np.array([float(row["u"]) for row in rows])
    columns = {
        float(name.removeprefix("rho=")): np.array([float(row[name]) for row in rows])
        for name in rows[0]
        if name != "u"
    }
    return u, columns


def test_density_files_written(density_plot):
    result, directory = density_plot
    assert [path.name for path in result.files] == [
        "density.csv",
        "density-points.csv",
        "density.png",
    ]
    u, columns = _grid(directory)
    assert sorted(columns) == sorted(density.DEFAULT_RHOS)
    assert u[0] == -density.GRID_LIMIT and u[-1] == density.GRID_LIMIT
    assert 0 < len(result.report.splitlines()) <= 25


def test_density_integrates_to_its_mass_on_the_grid(density_plot):
    """Trapezoid rule on the grid against ∫_{−8}^{8} λ* = 2Λ(8) − 1 from the reference CDF.

    Tolerance: the grid error, estimated as 2·|T_h − T_2h| (the trapezoid error is (T_h −
    T_2h)/3 for smooth λ*, and /(2^(5/3) − 1) at |ρ| = 1 where λ* ~ |u|^(2/3) at 0), plus 1e-12
    for the float64 sums."""
    _, directory = density_plot
    u, columns = _grid(directory)
    step = u[1] - u[0]
    for rho, values in columns.items():
        fine = step * (values.sum() - (values[0] + values[-1]) / 2)
        coarse_values = values[::2]
        coarse = 2 * step * (coarse_values.sum() - (coarse_values[0] + coarse_values[-1]) / 2)
        mass = 2 * float(optimal_density_cdf(density.GRID_LIMIT, Fraction(rho), digits=17)) - 1
        tolerance = 2 * abs(fine - coarse) + 1e-12
        assert abs(fine - mass) <= tolerance, (rho, fine, mass, tolerance)
        assert abs(mass - 1) < 1e-4  # the grid holds all but the tails


def test_density_maxima_where_the_reference_puts_them(density_plot):
    """The grid maxima are within one step of the reference's peak_location: 0 for
    |ρ| ≤ 1/√3 (exact rational test is_bimodal), else ±√(3 − 1/ρ²)."""
    _, directory = density_plot
    u, columns = _grid(directory)
    step = u[1] - u[0]
    for rho, values in columns.items():
        peak = float(peak_location(Fraction(rho), digits=17))
        if is_bimodal(Fraction(rho)) and peak > step:
            negative, positive = u < 0, u > 0
            assert abs(u[negative][np.argmax(values[negative])] + peak) <= step, rho
            assert abs(u[positive][np.argmax(values[positive])] - peak) <= step, rho
        else:
            assert abs(u[np.argmax(values)]) <= step, rho
    points = _rows(directory / "density-points.csv")
    for rho in columns:
        peaks = [float(p["u"]) for p in points if float(p["rho"]) == rho and p["kind"] == "peak"]
        expected = float(peak_location(Fraction(rho), digits=17))
        assert peaks == ([-expected, expected] if is_bimodal(Fraction(rho)) else [0.0])


def test_density_codebook_points_equal_the_reference(density_plot):
    """The marked compander points are the reference's opt codebook levels (rounded to float64)."""
    _, directory = density_plot
    points = _rows(directory / "density-points.csv")
    for rho in density.DEFAULT_RHOS:
        marked = [
            float(p["u"]) for p in points if float(p["rho"]) == rho and p["kind"] == "codebook"
        ]
        book = design_codebook("opt", Fraction(rho), LEVELS, digits=17)
        assert marked == [float(level) for level in book.levels]


def test_density_same_arguments_same_bytes(density_plot, tmp_path):
    result, _ = density_plot
    density.run(size="tiny", levels=LEVELS, output_dir=tmp_path, progress=False)
    for path in result.files:
        assert (tmp_path / path.name).read_bytes() == path.read_bytes(), path.name


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"rhos": ()}, "rhos must be a non-empty"),
        ({"rhos": "0.5"}, "rhos must be a non-empty"),
        ({"rhos": (float("nan"),)}, "finite numbers in \\[-1, 1\\]"),
        ({"rhos": (1.5,)}, "finite numbers in \\[-1, 1\\]"),
        ({"rhos": (True,)}, "real numbers"),
        ({"rhos": (0.5, 0.5)}, "must not repeat"),
        ({"levels": 0}, "levels must be an integer >= 1"),
        ({"size": "big"}, "size must be one of"),
        ({"seed": -1}, "seed must be a non-negative integer"),
        ({"device": "tpu"}, "device must be 'cpu' or 'gpu'"),
    ],
)
def test_density_bad_arguments(arguments, message, tmp_path):
    with pytest.raises(ValueError, match=message):
        density.run(**{"output_dir": tmp_path, "progress": False, **arguments})


@pytest.mark.parametrize("module", [rate_distortion, density])
def test_docstring_examples(module):
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
