"""The scalar-matmul and least-squares experiments (theory.md §2): end to end at the tiny
size, and their numbers against independent computations.

Statistical checks use fixed seeds and a tolerance of 5 standard errors of the mean over
independent trials (the CSV's own 95 % intervals are ±t·SE; 5 SE keeps a correct prediction from
failing by chance when several designs are checked at once, while the failure tests below show
the check still rejects a wrong prediction by a wide margin).
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest

from quantmm.experiments import least_squares, scalar_matmul
from quantmm.experiments.trials import summarize
from quantmm.fast.backend import cupy_or_none

SIGMAS = 5.0


def _within(summary_mean: float, standard_error: float, expected: float) -> bool:
    return abs(summary_mean - expected) <= SIGMAS * standard_error


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


# ---------------------------------------------------------------------------------------------
# scalar-matmul
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def scalar_tiny(tmp_path_factory):
    """The tiny run (seed 0) and its output folder; the reference values are cached after it."""
    folder = tmp_path_factory.mktemp("scalar")
    return scalar_matmul.run(size="tiny", seed=0, output_dir=folder, progress=False), folder


@pytest.mark.parametrize("rho", [-0.7, 0.0, 0.5, 1.0])
def test_latent_model_gives_unit_variances_and_correlation_rho(rho):
    """With m = n = 1 the k pairs (A_1l, B_l1) are iid, so their sample moments estimate
    E[X²] = E[Y²] = 1 and E[XY] = ρ, the model's specification (not the code's output)."""
    A, B = scalar_matmul.correlated_pair(np.random.default_rng(11), 1, 200_000, 1, rho)
    x, y = A[0], B[:, 0]
    for values, expected in ((x * x, 1.0), (y * y, 1.0), (x * y, rho)):
        summary = summarize(values)
        assert _within(summary.mean, summary.standard_error, expected)


@pytest.mark.parametrize("rho", [-0.6, 0.0, 0.9])
def test_output_entries_have_the_isserlis_second_moment(rho):
    """E[(AB)_11²] = k(1 + 2ρ²) + k(k−1)ρ² (Isserlis, E[X²Y²] = 1 + 2ρ², for k iid pairs) against
    the mean of (AB)_11² over independent draws with m = n = 1, k = 4: this checks both the
    closed form and that the model's pairs are iid."""
    rng = np.random.default_rng(5)
    values = []
    for _ in range(20_000):
        A, B = scalar_matmul.correlated_pair(rng, 1, 4, 1, rho)
        values.append(float((A @ B)[0, 0]) ** 2)
    summary = summarize(values)
    assert _within(summary.mean, summary.standard_error, 4 * (1 + 2 * rho**2) + 12 * rho**2)
    assert scalar_matmul.output_second_moment(rho, 4) == pytest.approx(
        4 * (1 + 2 * rho**2) + 12 * rho**2, rel=1e-15
    )


def test_scalar_tiny_writes_csv_and_png(scalar_tiny):
    result, folder = scalar_tiny
    assert result.name == "scalar-matmul"
    assert {path.name for path in result.files} == {"scalar-matmul.csv", "scalar-matmul.png"}
    assert all(path.stat().st_size > 0 for path in result.files)
    rows = _read_csv(folder / "scalar-matmul.csv")
    preset = scalar_matmul.SIZE_PRESETS["tiny"]
    assert len(rows) == len(preset["designs"]) * len(preset["rhos"])
    assert {row["design"] for row in rows} == set(preset["designs"])
    assert all(int(row["trials"]) == preset["trials"] for row in rows)
    assert 3 <= len(result.report.splitlines()) <= 25


def test_scalar_same_seed_same_bytes_and_other_seed_other_numbers(scalar_tiny, tmp_path):
    result, folder = scalar_tiny
    again = scalar_matmul.run(size="tiny", seed=0, output_dir=tmp_path / "a", progress=False)
    assert (tmp_path / "a" / "scalar-matmul.csv").read_bytes() == (
        folder / "scalar-matmul.csv"
    ).read_bytes()
    assert (tmp_path / "a" / "scalar-matmul.png").read_bytes() == (
        folder / "scalar-matmul.png"
    ).read_bytes()
    assert again.report == result.report
    other = scalar_matmul.run(size="tiny", seed=1, output_dir=tmp_path / "b", progress=False)
    assert [row["mse"] for row in other.rows] != [row["mse"] for row in result.rows]


def test_scalar_measured_mse_agrees_with_the_exact_reference(scalar_tiny):
    """The headline agreement: for every design, the mean per-entry MSE ‖AB − ÂB̂‖²_F/(m·n) over
    200 trials is within 5 SE of k·E[D²] + k(k−1)·E[D]², E[D²] and E[D] from the mpmath
    reference (quantmm.reference.product_error_moments, theory.md §2.1)."""
    result, _ = scalar_tiny
    for row in result.rows:
        assert _within(row["mse"], row["mse_se"], row["exact_mse"]), row["design"]
        assert row["mse_low"] <= row["mse"] <= row["mse_high"]


def test_scalar_exact_moments_match_the_reference_codebook():
    """The experiment's E[D²], E[D] (for the float64 codebook of quantmm.fast) agree with the
    reference's own codebook (quantmm.reference.design_codebook) to float accuracy."""
    from quantmm.reference import design_codebook, product_error_moments

    book = design_codebook("pd", "0.5", 16, digits=20)
    moments = product_error_moments(book, book, "0.5", digits=8)
    second, mean = scalar_matmul.exact_moments("pd", 0.5, 16)
    assert second == pytest.approx(float(moments.second_moment), rel=1e-7)
    assert mean == pytest.approx(float(moments.mean), rel=1e-7)


def test_scalar_check_rejects_a_prediction_without_the_bias_term():
    """At k = 1024 (ρ = 0.5, Panter–Dite, K = 16) the bias term k(k−1)·E[D]² is most of the error:
    the measured MSE agrees with the full k·E[D²] + k(k−1)·E[D]² within 5 SE, while k·E[D²] alone
    (the wrong prediction) lies far outside — the agreement check can fail."""
    config = {"draw": 0, "m": 16, "k": 1024, "n": 16, "levels": 16, "design": "pd", "rho": 0.5}
    summary = summarize(
        [scalar_matmul.scalar_matmul_trial(config, 3, t, "cpu")["mse"] for t in range(100)]
    )
    second, mean = scalar_matmul.exact_moments("pd", 0.5, 16)
    k = config["k"]
    assert _within(summary.mean, summary.standard_error, k * second + k * (k - 1) * mean**2)
    assert not _within(summary.mean, summary.standard_error, k * second)


def test_scalar_highres_prediction_is_blank_where_no_constant_exists(scalar_tiny):
    """uniform and matmul_lloyd have no K⁻² constant (module docstring): NaN. For pd the
    constant is 2·G_PD(ρ) = √3π(1 + 2ρ²) (theory.md §2.3), so highres_mse = k·√3π·1.5/K²."""
    result, _ = scalar_tiny
    by_design = {row["design"]: row for row in result.rows}
    assert math.isnan(by_design["uniform"]["highres_mse"])
    assert math.isnan(by_design["matmul_lloyd"]["highres_mse"])
    levels = scalar_matmul.SIZE_PRESETS["tiny"]["levels"]
    expected = 256 * math.sqrt(3) * math.pi * 1.5 / levels**2
    assert by_design["pd"]["highres_mse"] == pytest.approx(expected, rel=1e-12)
    assert by_design["lloyd_max"]["highres_mse"] == by_design["pd"]["highres_mse"]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"size": "huge"}, "size must be one of"),
        ({"seed": -1}, "seed must be a non-negative integer"),
        ({"seed": 1.5}, "seed must be a non-negative integer"),
        ({"device": "tpu"}, "device must be 'cpu' or 'gpu'"),
        ({"scheduler": 5}, "scheduler must be None or an address string"),
        ({"output_dir": 3}, "output_dir must be a path"),
    ],
)
@pytest.mark.parametrize("module", [scalar_matmul, least_squares])
def test_bad_arguments_raise(module, arguments, message, tmp_path):
    with pytest.raises(ValueError, match=message):
        module.run(**{"size": "tiny", "output_dir": tmp_path, **arguments}, progress=False)
    assert not any(tmp_path.iterdir())


def test_correlated_pair_refuses_rho_outside_the_unit_interval():
    with pytest.raises(ValueError, match="rho must be in"):
        scalar_matmul.correlated_pair(np.random.default_rng(0), 2, 2, 2, 1.5)
    with pytest.raises(ValueError, match="rho must be in"):
        scalar_matmul.correlated_pair(np.random.default_rng(0), 2, 2, 2, math.nan)


def test_trials_on_the_gpu_match_the_cpu():
    """Same host-drawn inputs: the GPU trial's numbers equal the CPU's up to matmul rounding."""
    if cupy_or_none() is None:
        pytest.skip("no CuPy with a visible GPU on this machine")
    config = {"draw": 0, "m": 16, "k": 32, "n": 16, "levels": 16, "design": "pd", "rho": 0.5}
    cpu = scalar_matmul.scalar_matmul_trial(config, 0, 0, "cpu")
    gpu = scalar_matmul.scalar_matmul_trial(config, 0, 0, "gpu")
    assert gpu == pytest.approx(cpu, rel=1e-12)
    config = {"draw": 0, "n": 64, "d": 4, "noise": 0.5, "levels": 16, "design": "pd"}
    cpu = least_squares.least_squares_trial(config, 0, 0, "cpu")
    assert least_squares.least_squares_trial(config, 0, 0, "gpu") == cpu


# ---------------------------------------------------------------------------------------------
# least-squares
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def least_squares_tiny(tmp_path_factory):
    folder = tmp_path_factory.mktemp("least_squares")
    return least_squares.run(size="tiny", seed=0, output_dir=folder, progress=False), folder


def test_least_squares_tiny_end_to_end(least_squares_tiny, tmp_path):
    result, folder = least_squares_tiny
    assert {path.name for path in result.files} == {"least-squares.csv", "least-squares.png"}
    rows = _read_csv(folder / "least-squares.csv")
    assert [row["design"] for row in rows] == list(least_squares.SIZE_PRESETS["tiny"]["designs"])
    assert 3 <= len(result.report.splitlines()) <= 25
    least_squares.run(size="tiny", seed=0, output_dir=tmp_path / "a", progress=False)
    assert (tmp_path / "a" / "least-squares.csv").read_bytes() == (
        folder / "least-squares.csv"
    ).read_bytes()
    other = least_squares.run(size="tiny", seed=1, output_dir=tmp_path / "b", progress=False)
    assert [row["truth_error"] for row in other.rows] != [row["truth_error"] for row in result.rows]


def test_least_squares_entry_mse_agrees_with_the_reference(least_squares_tiny):
    """Mean of ‖Â − A‖²_F/(n·d) within 5 SE of E[(X − Q(X))²] from the mpmath reference
    (quantmm.reference.mean_squared_error) for every design."""
    result, _ = least_squares_tiny
    for row in result.rows:
        assert _within(row["entry_mse"], row["entry_mse_se"], row["exact_entry_mse"])


def test_unquantized_solution_error_matches_inverse_wishart(least_squares_tiny):
    """E‖x_ls − x*‖²/‖x*‖² = σ²·E tr((AᵀA)⁻¹)/d = σ²/(n − d − 1) for Gaussian A (inverse Wishart
    mean), a closed form independent of the experiment: checks the harness itself."""
    result, _ = least_squares_tiny
    preset = least_squares.SIZE_PRESETS["tiny"]
    expected = preset["noise"] ** 2 / (preset["n"] - preset["d"] - 1)
    row = result.rows[0]
    assert _within(row["ls_truth_error"], row["ls_truth_error_se"], expected)


def test_least_squares_first_order_prediction_and_its_power(least_squares_tiny):
    """The derived first-order E‖x̂ − x*‖²/‖x*‖² (module docstring) within 5 SE of the measured mean
    for every design; the same check rejects the unquantized value σ²/(n − d − 1)."""
    result, _ = least_squares_tiny
    for row in result.rows:
        assert _within(row["truth_error"], row["truth_error_se"], row["predicted_truth_error"])
        assert not _within(row["truth_error"], row["truth_error_se"], row["exact_ls_truth_error"])
        assert row["residual_increase_low"] > 0


@pytest.mark.parametrize("design", ["pd", "lloyd_max", "uniform"])
def test_cell_moments_agree_with_the_mpmath_reference(design):
    """cell_moments' float64 closed forms against the mpmath reference's mean_squared_error of
    the same codebook, and the centroid condition c = E[XQ]/E[Q²] = 1 for Lloyd–Max."""
    from quantmm.fast import ScalarMatmul

    book = ScalarMatmul(16, design, 0.0).codebook
    moments = least_squares.cell_moments(book.levels, book.thresholds)
    assert moments["mse"] == pytest.approx(least_squares.exact_entry_mse(design, 16), rel=1e-9)
    assert moments["mse"] == pytest.approx(1 - 2 * moments["xq"] + moments["q2"], rel=1e-9)
    if design == "lloyd_max":
        assert moments["c"] == pytest.approx(1.0, abs=1e-9)


def test_cell_moments_refuses_mismatched_thresholds():
    with pytest.raises(ValueError, match="thresholds must hold"):
        least_squares.cell_moments([-1.0, 0.0, 1.0], [0.0])


@pytest.mark.slow
def test_least_squares_prediction_at_the_quick_size():
    """The first-order prediction at n = 512, d = 32 over 2000 trials (SE about 0.6 %)."""
    preset = least_squares.SIZE_PRESETS["quick"]
    for index, design in enumerate(preset["designs"]):
        config = {
            "draw": index,
            "n": preset["n"],
            "d": preset["d"],
            "noise": preset["noise"],
            "levels": preset["levels"],
            "design": design,
        }
        summary = summarize(
            [
                least_squares.least_squares_trial(config, 9, t, "cpu")["truth_error"]
                for t in range(2000)
            ]
        )
        reference = least_squares._reference_task(config, 9, 0, "cpu")
        assert _within(summary.mean, summary.standard_error, reference["predicted_truth_error"])
