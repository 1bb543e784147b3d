"""quantmm.fast.functions against the certified mpmath reference, in ulps (theory.md §1.1, §2.3).

Expected values come from :mod:`quantmm.reference` (certified to 25–30 digits, then rounded to the
nearest float64 through an exact fraction), from exact rationals (Γ at integer rates), or from the
mpmath definition of λ* at 40 digits with the reference's certified I(ρ).

Ulp bounds, from the error analysis of each formula (u = 2^−53; the library's ``exp2``, ``exp``
and ``cbrt`` are taken to be accurate to < 1 ulp, i.e. a relative error < 2u, which
tests/ulps.py-style measurements confirm for NumPy). A relative error below ε·u is below ε ulps
of the exact value; rounding the exact value to float64 adds half an ulp, so the integer distance
is at most floor(ε + ½).

- φ = s·(2 − s): s carries < 2u; it enters twice with opposite signs, net weight
  (2 − 2s)/(2 − s) ≤ 1, so < 2u; the subtraction and the product add u each: ε = 4 → 4 ulps.
- Γ below R*: c = (1 − φ(R*))/R* rounded (u) times R (u): an absolute error < 2u·(1 − φ(R*)) =
  1.024u in p = R·c; 1 − p ≥ 0.488 is rounded once. For Γ ∈ [0.5, 1) (ulp = u) that is
  1.02 + 0.5 + 0.5 → 2 ulps, for Γ ∈ [0.488, 0.5) (ulp = u/2) 2.05 + 0.5 + 0.5 → 3 ulps. With
  the φ branch: 4 ulps.
- λ* = exp(−e)(1 − r)·cbrt(w)/I: exp 2u; w = (1 − ρ²) + ρ²·fl(u²) from correctly rounded
  constants is a sum of non-negative terms with < 4u, a third of it through cbrt plus cbrt's
  own 2u; the two products, the rounded 1/I and the final correction u each: ε = 2 + 4/3 + 2 +
  4 = 9.33 → 9 ulps. (The argument e + r equals u²/6 to ~1e−25 relative, see the module.)
"""

from __future__ import annotations

import math
from fractions import Fraction

import mpmath
import numpy as np
import pytest
from scipy.integrate import quad

from quantmm import reference
from quantmm.fast.backend import cupy_or_none
from quantmm.fast.functions import gamma, optimal_density, phi

from ulps import ulp_distance

#: Ulp bounds from the error analysis in the module docstring (not fitted to measurements).
PHI_ULPS = 4
GAMMA_ULPS = 4
GAMMA_LOWER_ULPS = 3
DENSITY_ULPS = 9


def nearest_float(value: mpmath.mpf) -> float:
    """The float64 nearest an mpf, via the exact fraction (Python rounds Fraction correctly)."""
    negative, mantissa, exponent, _ = value._mpf_
    magnitude = Fraction(int(mantissa)) * Fraction(2) ** int(exponent)
    return float(-magnitude if negative else magnitude)


def rate_grid() -> np.ndarray:
    """A dense grid over [0, 5] (both branches of Γ), random rates to 60 and log-spread ones."""
    rng = np.random.default_rng(20250101)
    return np.concatenate(
        [
            np.linspace(0.0, 5.0, 801),
            rng.uniform(0.0, 60.0, 300),
            np.exp(rng.uniform(-30.0, 6.3, 200)),
            [40.0, 500.0, 538.0, 538.5, 539.0, 1e4],
        ]
    )


@pytest.fixture(scope="module")
def rates_and_reference():
    rates = rate_grid()
    phis = np.array([nearest_float(reference.phi(r, digits=25)) for r in rates])
    gammas = np.array([nearest_float(reference.gamma(r, digits=25)) for r in rates])
    return rates, phis, gammas


def test_phi_within_its_ulp_bound_of_the_reference(rates_and_reference):
    rates, expected, _ = rates_and_reference
    distance = ulp_distance(phi(rates), expected)
    assert distance.max() <= PHI_ULPS, rates[np.argmax(distance)]


def test_gamma_within_its_ulp_bound_of_the_reference(rates_and_reference):
    rates, _, expected = rates_and_reference
    distance = ulp_distance(gamma(rates), expected)
    assert distance.max() <= GAMMA_ULPS, rates[np.argmax(distance)]
    critical = nearest_float(reference.critical_rate(digits=30))
    lower = rates < critical
    assert distance[lower].max() <= GAMMA_LOWER_ULPS


def test_gamma_at_integer_rates_is_the_exact_rational():
    """Γ(R) = (2^(2R+1) − 1)/2^(4R) at integer R ≥ 1 (theory.md §1.1), as an exact Fraction."""
    rates = np.arange(1, 30, dtype=np.float64)
    exact = [float(Fraction(2 ** (2 * r + 1) - 1, 2 ** (4 * r))) for r in range(1, 30)]
    assert ulp_distance(gamma(rates), exact).max() <= GAMMA_ULPS
    assert ulp_distance(phi(rates), exact).max() <= PHI_ULPS
    assert float(gamma(1.0)) == 0.4375  # 7/16, exact in binary


def test_gamma_at_zero_and_at_the_critical_rate():
    assert float(gamma(0.0)) == 1.0
    assert float(phi(0.0)) == 1.0
    critical = nearest_float(reference.critical_rate(digits=30))
    expected = nearest_float(reference.gamma(critical, digits=30))
    assert ulp_distance(gamma(critical), expected) <= GAMMA_ULPS
    below = np.nextafter(critical, 0.0)  # the other branch, one float below
    expected_below = nearest_float(reference.gamma(below, digits=30))
    assert ulp_distance(gamma(below), expected_below) <= GAMMA_ULPS


def test_large_rates():
    """φ(40) = 2^−79 − 2^−160, φ(500) rounds to 2^−999, and from R = 538.5 on φ rounds to 0
    (2·2^(−2R) ≤ 2^−1076, half the smallest subnormal): exact rationals."""
    assert float(phi(40.0)) == float(Fraction(2, 2**80) - Fraction(1, 2**160))
    assert float(gamma(500.0)) == float(Fraction(2, 2**1000) - Fraction(1, 2**2000))
    assert phi(np.array([538.5, 1e4, 1e300])).tolist() == [0.0, 0.0, 0.0]


def test_shapes_modules_and_float32():
    rates32 = np.array([[0.5, 1.0], [2.0, 3.0]], dtype=np.float32)
    result = gamma(rates32)
    assert result.shape == (2, 2) and result.dtype == np.float64
    assert np.array_equal(result, gamma(rates32.astype(np.float64)))
    assert isinstance(phi(2), np.floating)  # a Python int is a number, not an array


@pytest.mark.parametrize("function", [phi, gamma])
@pytest.mark.parametrize(
    ("bad", "error", "message"),
    [
        (-0.5, ValueError, "rate must be >= 0"),
        (np.array([1.0, -1e-300]), ValueError, "rate must be >= 0"),
        (float("nan"), ValueError, "rate must be finite"),
        (np.array([math.inf]), ValueError, "rate must be finite"),
        (np.array([1, 2]), TypeError, "rate must have dtype float32 or float64"),
        (np.array([], dtype=np.float64), ValueError, "rate must not be empty"),
        (True, TypeError, "rate must have dtype"),
    ],
)
def test_bad_rates_raise(function, bad, error, message):
    with pytest.raises(error, match=message):
        function(bad)


RHOS = [0.0, 0.3, 1 / math.sqrt(3), 0.6, 0.9, 0.999, 1.0, -0.9]


@pytest.mark.parametrize("rho", RHOS)
def test_optimal_density_within_its_ulp_bound_of_the_definition(rho):
    """Against exp(−u²/6)·((1 − ρ²) + ρ²u²)^(1/3)/I(ρ) in mpmath at 40 digits (u and ρ at their
    exact binary values), I(ρ) the reference's certified normalizer; u up to 60 (λ* ≈ 1e−254)."""
    rng = np.random.default_rng(7)
    points = np.concatenate([np.linspace(-60.0, 60.0, 1201), rng.normal(0.0, 4.0, 300)])
    normalizer = reference.density_normalizer(Fraction(rho), digits=30)
    with mpmath.workdps(40):
        r = mpmath.mpf(rho)
        expected = np.array(
            [
                nearest_float(
                    mpmath.exp(-(mpmath.mpf(u) ** 2) / 6)
                    * mpmath.cbrt((1 - r * r) + r * r * mpmath.mpf(u) ** 2)
                    / normalizer
                )
                for u in points
            ]
        )
    distance = ulp_distance(optimal_density(points, rho), expected)
    assert distance.max() <= DENSITY_ULPS, points[np.argmax(distance)]


@pytest.mark.parametrize(
    ("rho", "points"),
    [
        (0.9, [0.0, 0.7, 1.5, 4.0, 12.5]),
        (1.0, [0.0, 2.0]),
        # |ρ| = 1 and u² below float64's range: λ* ∝ |u|^(2/3) is still a normal number
        # (found by the conformance harness: the float path returned 0 there)
        (-1.0, [1.4563766138424852e-185, 1e-300, 5e-324, 1e-160]),
    ],
)
def test_optimal_density_matches_the_certified_reference_function(rho, points):
    """Directly against reference.optimal_density (certified, 25 digits)."""
    expected = [nearest_float(reference.optimal_density(u, rho, digits=25)) for u in points]
    assert ulp_distance(optimal_density(np.array(points), rho), expected).max() <= DENSITY_ULPS


def test_optimal_density_far_tail_is_zero_and_vanishes_at_zero_for_rho_one():
    values = optimal_density(np.array([70.0, -1e3, 1e200]), 0.5)
    assert values.tolist() == [0.0, 0.0, 0.0]  # λ* < 2^−1075 from |u| ≈ 68 on: rounds to 0
    assert float(optimal_density(0.0, 1.0)) == 0.0 and float(optimal_density(0.0, -1.0)) == 0.0


@pytest.mark.parametrize("rho", [0.0, 0.5, 0.9, 1.0])
def test_optimal_density_integrates_to_one(rho):
    """2·∫_0^60 λ* by adaptive quadrature (QUADPACK, which also handles the |u|^(2/3) cusp at
    0 when |ρ| = 1); the tail beyond 60 is below e^−599. The integrand's own relative error is
    below 9 ulps (~2e−15), so with quad's error estimate the integral is 1 to within 1e−13."""
    half, error = quad(
        lambda u: float(optimal_density(u, rho)), 0.0, 60.0, epsabs=1e-14, epsrel=0.0, limit=200
    )
    assert error < 1e-13
    assert abs(2 * half - 1) <= 1e-13 + 2 * error


def test_optimal_density_is_even_in_u_and_rho():
    u = np.linspace(-8.0, 8.0, 161)
    for rho in (0.3, 0.8):
        assert np.array_equal(optimal_density(u, rho), optimal_density(-u, rho))
        assert np.array_equal(optimal_density(u, rho), optimal_density(u, -rho))


#: The largest float64 ρ with 3ρ² ≤ 1 (the float nearest 1/√3 lies just above it: bimodal).
LAST_UNIMODAL_RHO = float(np.nextafter(1 / math.sqrt(3), 0.0))


@pytest.mark.parametrize("rho", [0.0, 0.3, 0.5, LAST_UNIMODAL_RHO])
def test_optimal_density_is_unimodal_at_zero_up_to_one_over_root_three(rho):
    """For |ρ| ≤ 1/√3 λ* decreases on u > 0 (theory.md §2.3, AKP): strictly, on a grid whose
    steps change λ* by far more than its ulps (even at 1/√3, where λ* − λ*(0) is quartic)."""
    u = np.linspace(0.0, 10.0, 1001)
    assert not reference.is_bimodal(rho) and reference.peak_location(rho) == 0
    assert np.all(np.diff(optimal_density(u, rho)) < 0)


@pytest.mark.parametrize("rho", [0.6, 0.8, 0.95, 1.0, -0.7])
def test_optimal_density_peaks_at_the_closed_form(rho):
    """For |ρ| > 1/√3 the modes are ±√(3 − 1/ρ²) (theory.md §2.3, AKP; the reference's
    peak_location, exact in ρ): λ* rises on [0, peak] and falls after it, on a grid of step
    1e−3 that skips the 2e−3 around the peak (where the differences are O(step²))."""
    peak = float(reference.peak_location(rho, digits=20))
    assert math.isclose(peak, math.sqrt(3 - 1 / rho**2), rel_tol=1e-15)
    rising = np.linspace(0.0, peak - 2e-3, 1000)
    falling = np.linspace(peak + 2e-3, 10.0, 1000)
    assert np.all(np.diff(optimal_density(rising, rho)) > 0)
    assert np.all(np.diff(optimal_density(falling, rho)) < 0)
    around = peak + np.linspace(-1e-3, 1e-3, 2001)
    values = optimal_density(around, rho)
    assert abs(around[np.argmax(values)] - peak) <= 1e-5
    assert np.array_equal(optimal_density(-around, rho), values)  # the mirror mode


@pytest.mark.parametrize(
    ("rho", "error", "message"),
    [
        (1.5, ValueError, r"rho must be a finite number in \[-1, 1\]"),
        (float("nan"), ValueError, "rho must be a finite"),
        ("0.5", TypeError, "rho must be a real number"),
        (True, TypeError, "rho must be a real number"),
    ],
)
def test_optimal_density_bad_rho_raises(rho, error, message):
    with pytest.raises(error, match=message):
        optimal_density(np.zeros(3), rho)


def test_optimal_density_bad_u_raises():
    with pytest.raises(ValueError, match="u must be finite"):
        optimal_density(np.array([0.0, np.nan]), 0.5)
    with pytest.raises(TypeError, match="u must have dtype"):
        optimal_density(np.array([1, 2]), 0.5)


def test_gpu_matches_cpu():
    cupy = cupy_or_none()
    if cupy is None:
        pytest.skip("CuPy with a visible GPU is not available on this machine")
    rates = rate_grid()
    u = np.linspace(-60.0, 60.0, 1201)
    for function, argument, bound in ((phi, rates, PHI_ULPS), (gamma, rates, GAMMA_ULPS)):
        on_gpu = function(cupy.asarray(argument))
        assert isinstance(on_gpu, cupy.ndarray)
        assert ulp_distance(on_gpu.get(), function(argument)).max() <= 2 * bound
    on_gpu = optimal_density(cupy.asarray(u), 0.9)
    assert ulp_distance(on_gpu.get(), optimal_density(u, 0.9)).max() <= 2 * DENSITY_ULPS
