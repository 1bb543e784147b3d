"""The numerical-agreement check (quantmm.conformance.numerical).

The fast functions must pass; deliberately broken implementations, each with a defect the stated
tolerance must catch, must fail with this check's name. Expected values in the independent
checks come from the certified mpmath reference (quantmm.reference) rounded through exact
Fractions, and ulp distances are recounted by walking ``np.nextafter``.

This check found a real defect, since fixed in fast/functions.py: optimal_density returned 0 (or
values off by ~1e10 ulps) for |ρ| = 1 and |u| < ~1.5e−154, where u² leaves the normal range
while the exact λ* ∝ |u|^(2/3) is still a normal number. A regression test keeps it caught.
"""

from __future__ import annotations

import contextlib
import doctest
import io
import math
from fractions import Fraction

import numpy as np
import pytest

import quantmm.conformance.numerical as numerical_module
from quantmm import fast, reference
from quantmm.conformance.errors import correctly_rounded, tolerance_for
from quantmm.conformance.numerical import check_numerical_agreement
from quantmm.conformance.reference_data import load_reference_data
from quantmm.conformance.results import FAIL, PASS, SKIP
from quantmm.fast.backend import cupy_or_none

# --- implementations -----------------------------------------------------------------------------


def density_losing_tiny_u(u, rho):
    """The defect fast.optimal_density had: at |ρ| = 1, λ* = 0 once u² underflows (|u| < 1e−160
    here), although λ*(u) ≈ |u|^(2/3)/I(1) is a normal number down to the smallest subnormal u."""
    values = fast.optimal_density(u, rho)
    if abs(rho) == 1:
        values = np.where(np.abs(u) < 1e-160, 0.0, values)
    return values


def cancelling_phi(rate):
    """φ = 1 − (1 − s)², s = 2^(−2R): mathematically equal, but 1 − s rounds to 1 once
    s ≤ 2^−54 (R ≥ 27; at 27 a tie, to even) and the result collapses to 0 (fast.functions
    uses s·(2 − s) for this reason, theory.md §1.1)."""
    single = np.exp2(-2.0 * np.asarray(rate, dtype=np.float64))
    return 1.0 - (1.0 - single) ** 2


def gamma_with_slope_off(rate):
    """Γ with the time-sharing slope c = (1 − φ(R*))/R* too large by 1e−12 relative: below R*,
    Γ = 1 − R·c is off by R·c·1e−12 ≈ up to 5e−13 absolute ≈ 4500 ulps at Γ ≈ 0.5."""
    critical, slope = fast.functions._gamma_constants()
    rates = np.asarray(rate, dtype=np.float64)
    return np.where(rates >= critical, fast.phi(rates), 1.0 - rates * (slope * (1 + 1e-12)))


def gamma_switching_early(rate):
    """Γ that switches to φ at R*·(1 − 1e−3) instead of R*: between the two, φ lies above the
    tangent line by ~φ''(R*)·(ΔR)²/2 ≈ 1e−6 relative (millions of ulps); the stored rows hold
    rates at R*·(1 − 1e−6) and R*·(1 − 1e−9) there."""
    critical, slope = fast.functions._gamma_constants()
    rates = np.asarray(rate, dtype=np.float64)
    return np.where(rates >= critical * (1 - 1e-3), fast.phi(rates), 1.0 - rates * slope)


def gamma_with_critical_rate_off(rate):
    """Γ built from R*·(1 + 1e−12) (slope (1 − φ(R'))/R' to match): NOT a float64 defect. Γ is the
    tangent from (0, 1) to φ, so the slope is stationary in R' and both the slope and the branch
    switch change Γ by O((1e−12)²): no value moves by an ulp the tolerance could see."""
    critical = fast.functions._gamma_constants()[0] * (1 + 1e-12)
    slope = float(correctly_rounded((1 - reference.phi(critical, digits=30)) / critical))
    rates = np.asarray(rate, dtype=np.float64)
    return np.where(rates >= critical, fast.phi(rates), 1.0 - rates * slope)


def density_biased(bias):
    def biased(u, rho):
        return fast.optimal_density(u, rho) * (1 + bias)

    return biased


def run(function, implementation, **options):
    return check_numerical_agreement(function, implementation, **options)


def nextafter_steps(computed: float, expected: float) -> int:
    """ulps between two finite float64 by walking from one to the other (independent count)."""
    steps, value = 0, expected
    while value != computed:
        value = np.nextafter(value, computed)
        steps += 1
        assert steps < 10_000
    return steps


# --- the fast functions pass ---------------------------------------------------------------------


def test_module_docstring_examples():
    result = doctest.testmod(numerical_module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0


@pytest.mark.parametrize("function", ["gamma", "phi"])
def test_fast_gamma_and_phi_pass(function):
    result = run(function, getattr(fast, function))
    assert result.name == f"numerical_agreement:{function}"
    assert result.verdict == PASS, result.summary
    figures = result.figures
    assert figures["stored_count"] == len(load_reference_data().rows_for(function)) > 50
    assert figures["generated_count"] >= 40  # ~50 drawn, a few duplicates dropped
    assert figures["reference_data_checksum"] == load_reference_data().checksum
    assert figures["worst_ulps"] <= result.tolerance["max_ulps"] == 4
    assert set(figures["worst_input"]) == {"rate"}


def test_fast_optimal_density_passes():
    result = run("optimal_density", fast.optimal_density)
    assert result.name == "numerical_agreement:optimal_density"
    assert result.verdict == PASS, result.summary
    assert result.figures["worst_ulps"] <= result.tolerance["max_ulps"] == 9
    assert set(result.figures["worst_input"]) == {"u", "rho"}


def test_the_tiny_u_defect_is_caught():
    """The stored rows hold u = ±1e−300 at ρ = ±1, where the old defect returned 0."""
    result = run("optimal_density", density_losing_tiny_u)
    assert result.verdict == FAIL
    worst = {k: float.fromhex(v) for k, v in result.figures["worst_input"].items()}
    assert abs(worst["rho"]) == 1.0 and 0 < abs(worst["u"]) < 1e-160
    assert float.fromhex(result.failure.example["got"]) == 0.0
    assert result.figures["stored_worst_ulps"] > 1e15


def test_stored_worst_matches_an_independent_count():
    """The check's worst ulps on the stored rows, recounted: reference strings → exact Fraction →
    Python's correctly rounded float; distance by walking np.nextafter."""
    rows = load_reference_data().rows_for("gamma")
    rates = np.array([row.args[0] for row in rows])
    computed = fast.gamma(rates)
    steps = [
        nextafter_steps(float(c), float(Fraction(row.value)))
        for c, row in zip(computed, rows, strict=True)
    ]
    assert run("gamma", fast.gamma).figures["stored_worst_ulps"] == max(steps)


# --- broken implementations fail -----------------------------------------------------------------


def test_cancelling_phi_fails_at_large_rates():
    result = run("phi", cancelling_phi)
    assert (result.name, result.verdict) == ("numerical_agreement:phi", FAIL)
    assert float.fromhex(result.figures["worst_input"]["rate"]) >= 27
    assert float.fromhex(result.failure.example["got"]) == 0.0


@pytest.mark.parametrize("broken", [gamma_with_slope_off, gamma_switching_early])
def test_broken_gamma_fails(broken):
    result = run("gamma", broken)
    assert (result.name, result.verdict) == ("numerical_agreement:gamma", FAIL)
    rate = float.fromhex(result.figures["worst_input"]["rate"])
    assert rate < fast.functions._gamma_constants()[0]  # the defect lives below R*
    assert result.figures["worst_ulps"] > 1000


def test_gamma_with_critical_rate_off_by_1e12_is_not_a_float64_defect():
    """Documented non-detection (see gamma_with_critical_rate_off): the check passes it, and the
    largest change against the correct Γ is at most an ulp or two."""
    result = run("gamma", gamma_with_critical_rate_off)
    assert result.verdict == PASS
    rates = np.linspace(0.0, 2.0, 20001)
    change = np.abs(gamma_with_critical_rate_off(rates) - fast.gamma(rates))
    assert change.max() <= 2 * np.spacing(1.0)


@pytest.mark.parametrize("bias", [1e-13, 3e-15])
def test_biased_density_fails(bias):
    """A relative bias b is b/2^−52 to b/2^−53 ulps: 1e−13 → 450–900 ulps; 3e−15 → 13.5–27 ulps,
    above the 9-ulp bound on every input (one rounding aside), so the stored rows catch it."""
    result = run("optimal_density", density_biased(bias))
    assert (result.name, result.verdict) == ("numerical_agreement:optimal_density", FAIL)
    assert result.figures["stored_worst_ulps"] > 9


def test_failure_carries_a_reproduction_that_runs():
    result = run("phi", cancelling_phi, seed=3)
    failure = result.failure
    assert failure.seed == 3
    assert "from test_numerical_agreement import cancelling_phi" in failure.reproduction or (
        "import cancelling_phi" in failure.reproduction
    )
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        exec(failure.reproduction, {})
    first_line = output.getvalue().splitlines()[0]
    assert first_line.split()[:2] == [failure.example["got"], failure.example["expected"]]
    assert "numerical_agreement:phi" in output.getvalue()


# --- misbehaving targets fail, misuse raises -----------------------------------------------------


@pytest.mark.parametrize(
    ("implementation", "message"),
    [
        (lambda r: 1 / 0, "raised ZeroDivisionError"),
        (lambda r: fast.gamma(r).astype(np.float32), "returned dtype float32, expected float64"),
        (lambda r: fast.gamma(r)[:-1], "returned shape"),
        (lambda r: "gamma", "returned shape ()"),
    ],
)
def test_misbehaving_implementation_fails_with_its_reason(implementation, message):
    result = run("gamma", implementation)
    assert result.verdict == FAIL and message in result.failure.message


def test_a_crash_names_the_batch_that_crashed():
    def crashes_at_rho_08(u, rho):
        if rho == 0.8:
            raise RuntimeError("no")
        return fast.optimal_density(u, rho)

    result = run("optimal_density", crashes_at_rho_08)
    assert result.verdict == FAIL and "raised RuntimeError: no (on a batch of" in result.summary
    assert float.fromhex(result.failure.example["args"]["rho"]) == 0.8


def test_nan_output_fails_at_that_input():
    def nan_at_two(rate):
        values = fast.gamma(rate)
        return np.where(rate == 2.0, np.nan, values)

    result = run("gamma", nan_at_two)
    assert result.verdict == FAIL
    assert result.figures["worst_input"] == {"rate": (2.0).hex()}
    assert result.failure.example["got"] == "nan"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"function_name": "erf"}, "function_name must be one of"),
        ({"profile": "thorough"}, "profile must be one of"),
        ({"backend": "torch"}, "backend must be one of"),
        ({"seed": -1}, "seed must be a non-negative integer"),
    ],
)
def test_misuse_raises(arguments, message):
    options = {"function_name": "gamma", **arguments}
    name = options.pop("function_name")
    with pytest.raises(ValueError, match=message):
        check_numerical_agreement(name, fast.gamma, **options)


# --- reproducibility and backends ----------------------------------------------------------------


def test_same_seed_same_result_other_seed_other_examples():
    first = run("phi", fast.phi, seed=7)
    again = run("phi", fast.phi, seed=7)
    other = run("phi", fast.phi, seed=8)
    assert first.to_json() == again.to_json()
    fingerprint = "generated_inputs_sha256"
    assert first.figures[fingerprint] != other.figures[fingerprint]


def test_examples_do_not_depend_on_imported_local_code(tmp_path, monkeypatch):
    """hypothesis draws literals from imported local modules; the check hides them, so importing
    a module full of float literals does not change the examples of a seed."""
    before = run("gamma", fast.gamma, seed=5).figures["generated_inputs_sha256"]
    module = tmp_path / "constants_for_hypothesis_probe.py"
    module.write_text("VALUES = [0.123456789, 1.5e-7, 0.9061, 3.25, 17.0, 123.456, 0.875]\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    __import__("constants_for_hypothesis_probe")
    after = run("gamma", fast.gamma, seed=5).figures["generated_inputs_sha256"]
    assert after == before


def test_cupy_backend_skips_without_a_gpu():
    if cupy_or_none() is not None:
        pytest.skip("a GPU is visible: the CuPy backend runs instead (test below)")
    result = run("gamma", fast.gamma, backend="cupy")
    assert result.verdict == SKIP and "GPU" in result.summary
    assert result.tolerance["max_ulps"] == tolerance_for("gamma", "float64", "cupy").max_ulps


@pytest.mark.parametrize("function", ["gamma", "phi"])
def test_cupy_backend_passes_on_a_gpu(function):
    if cupy_or_none() is None:
        pytest.skip("CuPy with a visible GPU is not available on this machine")
    result = run(function, getattr(fast, function), backend="cupy")
    assert result.verdict == PASS, result.summary


def test_cupy_optimal_density_passes_on_a_gpu():
    if cupy_or_none() is None:
        pytest.skip("CuPy with a visible GPU is not available on this machine")
    assert run("optimal_density", fast.optimal_density, backend="cupy").verdict == PASS


@pytest.mark.slow
@pytest.mark.parametrize("function", ["gamma", "phi", "optimal_density"])
def test_full_profile(function):
    result = run(function, getattr(fast, function), profile="full", seed=1)
    assert result.verdict == PASS, result.summary
    assert result.figures["generated_count"] > 1000
    assert math.isfinite(result.figures["rms_ulps"])
