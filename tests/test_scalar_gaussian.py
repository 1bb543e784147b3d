"""Correlated Gaussian pairs (theory.md §2.3) against independent computations.

Independent sources, named at each test: closed forms (√(6π), 6^(5/6)Γ(5/6), √3π/2, Φ, Φ⁻¹,
√3·π·ρ for the Panter–Dite bias, all evaluated with mpmath's own special functions); SciPy
quadrature and root finding in double precision on the plain definition of λ*; a bounded scalar
maximization (SciPy) for the modes; exact Pell-equation rationals for the bimodality threshold;
Gauss–Hermite quadrature (NumPy) for E[W^(1/3)]; and the exact finite-K mean error
E[D] = ρ − E[Q(X)Q(Y)] of compander codebooks built in double precision, integrated cell by cell
with SciPy.
"""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, optimize, special, stats

from quantmm.reference import UncertifiedValueError, to_decimal
from quantmm.reference import scalar_gaussian as sg
from quantmm.reference.scalar_gaussian import (
    compander_bias_coefficient,
    density_normalizer,
    design_gain_db,
    g_opt,
    g_pd,
    is_bimodal,
    optimal_density,
    optimal_density_cdf,
    optimal_density_quantile,
    peak_location,
)

correlations = st.fractions(min_value=-1, max_value=1, max_denominator=1000)
probabilities = st.fractions(
    min_value=Fraction(1, 10**6), max_value=1 - Fraction(1, 10**6), max_denominator=10**6
).filter(lambda p: 0 < p < 1)
RHOS = [
    Fraction(0),
    Fraction(3, 10),
    Fraction(-1, 2),
    Fraction(6, 10),
    Fraction(9, 10),
    Fraction(1),
]


def to_mpf(value: Fraction) -> mpmath.mpf:
    return mpmath.mpf(value.numerator) / value.denominator


# --- Independent double-precision model of λ* (plain definition, SciPy) ----------------------


def float_density(v: float, rho: float) -> float:
    """exp(−v²/6)·((1 − ρ²) + ρ²v²)^(1/3), unnormalized."""
    return math.exp(-v * v / 6) * ((1 - rho * rho) + rho * rho * v * v) ** (1 / 3)


def float_normalizer(rho: float) -> float:
    return 2 * integrate.quad(float_density, 0, np.inf, args=(rho,), epsabs=0, epsrel=1e-13)[0]


def float_cdf(u: float, rho: float) -> float:
    half = integrate.quad(float_density, 0, abs(u), args=(rho,), epsabs=1e-15, epsrel=1e-13)[0]
    return 0.5 + math.copysign(half, u) / float_normalizer(rho)


def float_opt_points(levels: int, rho: float) -> np.ndarray:
    """Compander points Λ⁻¹((i − ½)/K) of λ*, by brentq on the SciPy CDF (upper half, mirrored)."""
    total = float_normalizer(rho)
    upper = []
    for i in range(levels // 2 + 1, levels + 1):
        mass = (i - 0.5) / levels - 0.5

        def excess(v: float, mass: float = mass) -> float:
            head = integrate.quad(float_density, 0, v, args=(rho,), epsabs=1e-15, epsrel=1e-13)[0]
            return head / total - mass

        upper.append(optimize.brentq(excess, 0.0, 40.0, xtol=1e-14, rtol=1e-14))
    upper = np.array(upper)
    return np.concatenate((-upper[::-1], upper))


def float_pd_points(levels: int) -> np.ndarray:
    """Panter–Dite compander points √3·Φ⁻¹((i − ½)/K)."""
    return math.sqrt(3) * stats.norm.ppf((np.arange(1, levels + 1) - 0.5) / levels)


def exact_mean_error(points: np.ndarray, rho: float) -> float:
    """E[D] = E[XY] − E[Q(X)Q(Y)] for X, Y both quantized by (points, midpoint thresholds):
    Σ_i ∫_(cell i) φ(x)·(ρx² − a_i·E[Q(Y)|X = x]) dx with E[Q(Y)|x] = a_K − Σ_j (a_(j+1) − a_j)
    Φ((t_j − ρx)/√(1 − ρ²)), cell by cell with scipy.integrate.quad."""
    thresholds = (points[:-1] + points[1:]) / 2
    spread = math.sqrt(1 - rho * rho)
    jumps = np.diff(points)
    edges = np.concatenate(([-np.inf], thresholds, [np.inf]))

    def integrand(x: float, level: float) -> float:
        conditional = points[-1] - np.sum(jumps * special.ndtr((thresholds - rho * x) / spread))
        return math.exp(-x * x / 2) / math.sqrt(2 * math.pi) * (rho * x * x - level * conditional)

    return sum(
        integrate.quad(
            integrand, edges[i], edges[i + 1], args=(level,), epsabs=1e-16, epsrel=1e-13, limit=200
        )[0]
        for i, level in enumerate(points)
    )


GAUSS_LEGENDRE = np.polynomial.legendre.leggauss(20)


def exact_x_error(points: np.ndarray) -> float:
    """E[X·(X − Q(X))] for X ~ N(0, 1): 20-point Gauss–Legendre on the finite cells, quad on the
    two infinite ones."""
    nodes, weights = GAUSS_LEGENDRE
    thresholds = (points[:-1] + points[1:]) / 2
    left, right = thresholds[:-1], thresholds[1:]
    middle, half = (left + right) / 2, (right - left) / 2
    x = middle[:, None] + half[:, None] * nodes[None, :]
    inner = np.sum(half[:, None] * weights * x * (x - points[1:-1, None]) * stats.norm.pdf(x))

    def outer(level: float, low: float, high: float) -> float:
        return integrate.quad(
            lambda v: v * (v - level) * stats.norm.pdf(v), low, high, epsabs=1e-17, epsrel=1e-13
        )[0]

    return (
        inner + outer(points[0], -np.inf, thresholds[0]) + outer(points[-1], thresholds[-1], np.inf)
    )


def two_stage_richardson(values: np.ndarray) -> float:
    """Extrapolate a sequence at K, 2K, 4K, … whose error behaves like (a + b·ln K)/K: two
    stages of R(K) = 2·f(2K) − f(K) on the last three values (exact for that error model)."""
    first = 2 * values[1:] - values[:-1]
    return float(2 * first[-1] - first[-2])


# --- λ*: normalization, symmetry, CDF and quantile -------------------------------------------


@pytest.mark.parametrize("rho", RHOS)
def test_optimal_density_integrates_to_one(rho):
    # Independent: SciPy quadrature of the reference density (double precision) on [−40, 40]
    # (the mass beyond is below exp(−266)).
    def density(u: float) -> float:
        return float(optimal_density(u, rho, digits=15))

    total = sum(
        integrate.quad(density, low, high, epsabs=0, epsrel=1e-12)[0]
        for low, high in ((-40, -3), (-3, 0), (0, 3), (3, 40))
    )
    assert abs(total - 1) < 1e-10


@settings(max_examples=15)
@given(st.fractions(min_value=-8, max_value=8, max_denominator=1000), correlations)
def test_optimal_density_is_even_and_matches_the_plain_definition(u, rho):
    left, right = optimal_density(u, rho), optimal_density(-u, rho)
    assert to_decimal(left, 30) == to_decimal(right, 30)  # even in u
    assert to_decimal(optimal_density(u, -rho), 30) == to_decimal(left, 30)  # even in ρ
    # Independent: the double-precision definition normalized by SciPy quadrature.
    expected = float_density(float(u), float(rho)) / float_normalizer(float(rho))
    assert float(left) == pytest.approx(expected, rel=1e-11, abs=1e-300)


def test_optimal_density_vanishes_at_zero_only_for_unit_correlation():
    assert optimal_density(0, 1) == 0 and optimal_density(0, -1) == 0  # exact zeros
    assert optimal_density(0, "0.999") > 0


@pytest.mark.parametrize("u", ["-30", "-3", "-0.5", "0.001", "1", "4"])
def test_cdf_at_zero_correlation_is_phi_of_u_over_root_3(u):
    # Independent: Λ = Φ(u/√3) for λ* = the N(0, 3) density, from mpmath's ncdf at 50 digits.
    with mpmath.workdps(50):
        expected = mpmath.ncdf(to_mpf(Fraction(u)) / mpmath.sqrt(3))
        assert to_decimal(optimal_density_cdf(u, 0, digits=30), 30) == to_decimal(expected, 30)


@pytest.mark.parametrize("rho", RHOS[1:])
@pytest.mark.parametrize("u", [-4.5, -1.0, -0.01, 0.3, 2.0])
def test_cdf_matches_scipy_quadrature_of_the_definition(u, rho):
    # Independent: double-precision SciPy quadrature of the plain definition.
    assert float(optimal_density_cdf(u, rho, digits=20)) == pytest.approx(
        float_cdf(u, float(rho)), rel=1e-11
    )


def test_cdf_is_one_half_at_zero_and_symmetric():
    assert optimal_density_cdf(0, "0.7") == mpmath.mpf(1) / 2
    with mpmath.workdps(60):
        total = optimal_density_cdf("1.3", "0.7") + optimal_density_cdf("-1.3", "0.7")
        assert abs(total - 1) < mpmath.mpf(10) ** -28


@pytest.mark.parametrize("p", ["1e-30", "0.0125", "0.3", "0.5000001", "0.975", "0.999999"])
def test_quantile_at_zero_correlation_is_root_3_times_the_normal_quantile(p):
    # Independent: √3·Φ⁻¹(p) = √6·erfinv(2p − 1), mpmath at 60 digits.
    with mpmath.workdps(60):
        exact = to_mpf(Fraction(p))
        expected = mpmath.sqrt(6) * mpmath.erfinv(2 * exact - 1)
        assert to_decimal(optimal_density_quantile(p, 0, digits=30), 30) == to_decimal(expected, 30)


@settings(max_examples=10)
@given(probabilities, correlations)
def test_quantile_inverts_the_cdf(p, rho):
    # Round trip: Λ(Λ⁻¹(p)) = p, both certified at 30 digits.
    point = optimal_density_quantile(p, rho, digits=30)
    with mpmath.workdps(60):
        back = optimal_density_cdf(point, rho, digits=30)
        assert abs(back - to_mpf(p)) <= mpmath.mpf(10) ** -27 * to_mpf(min(p, 1 - p))


@pytest.mark.parametrize("rho", ["0.8", "1"])
@pytest.mark.parametrize(
    "p", [Fraction(1, 10**40), Fraction(1, 2) + Fraction(1, 10**30), 1 - Fraction(1, 10**25)]
)
def test_quantile_keeps_relative_accuracy_far_in_the_tail_and_near_the_middle(p, rho):
    # At ρ = 1, λ* ∝ |u|^(2/3) near 0: the quantile of 1/2 + 10⁻³⁰ is ≈ 3.6·10⁻¹⁸.
    point = optimal_density_quantile(p, rho, digits=30)
    with mpmath.workdps(80):
        back = optimal_density_cdf(point, rho, digits=40)
        if p < Fraction(1, 2):
            assert abs(back / to_mpf(p) - 1) < mpmath.mpf(10) ** -27
        else:  # the distance from 1/2 or from 1 is what must be kept
            gap = to_mpf(p - Fraction(1, 2)) if p < Fraction(3, 4) else to_mpf(1 - p)
            got = back - mpmath.mpf(1) / 2 if p < Fraction(3, 4) else 1 - back
            assert abs(got / gap - 1) < mpmath.mpf(10) ** -20


def test_quantile_of_one_half_is_exactly_zero_and_quantiles_are_odd():
    assert optimal_density_quantile("1/2", "0.9") == 0
    low = to_decimal(optimal_density_quantile("1/64", "0.9"), 30)
    assert low == "-" + to_decimal(optimal_density_quantile("63/64", "0.9"), 30)


def test_private_helpers_used_by_the_codebooks_follow_the_working_precision():
    # The helpers other modules import: at 60 digits they give the certified 50-digit values.
    with mpmath.workdps(60):
        rho = mpmath.mpf(3) / 4
        point = sg._optimal_density_quantile_at_working_precision(mpmath.mpf(5) / 64, rho)
        assert to_decimal(point, 50) == to_decimal(
            optimal_density_quantile("5/64", "3/4", digits=50), 50
        )
        assert to_decimal(sg._optimal_density_cdf_at_working_precision(point, rho), 50) == (
            to_decimal(mpmath.mpf(5) / 64, 50)
        )


def test_float_compander_points_agree_with_the_reference_quantiles():
    # Cross-check of the two independent constructions the bias tests rely on.
    points = float_opt_points(8, 0.6)
    for i, point in enumerate(points, start=1):
        assert float(optimal_density_quantile(Fraction(2 * i - 1, 16), "0.6", 15)) == (
            pytest.approx(point, rel=1e-11)
        )


# --- Modes: unimodal exactly when |ρ| ≤ 1/√3 ------------------------------------------------


@pytest.mark.parametrize("rho", [0, 0.3, 0.5, 0.577, 0.578, 0.6, 0.8, 0.95, 1.0, -0.7])
def test_mode_matches_a_brute_force_maximization(rho):
    # Independent: grid search of the plain density on [0, 5], refined by SciPy's bounded
    # scalar minimizer around the best grid point.
    grid = np.linspace(0, 5, 5001)
    values = np.array([float_density(v, rho) for v in grid])
    best = int(np.argmax(values))
    low, high = grid[max(best - 1, 0)], grid[min(best + 1, len(grid) - 1)]
    if best == 0:
        mode = 0.0
    else:
        mode = optimize.minimize_scalar(
            lambda v: -float_density(v, rho),
            bounds=(low, high),
            method="bounded",
            options={"xatol": 1e-10},
        ).x
    assert float(peak_location(rho)) == pytest.approx(mode, abs=1e-6)
    assert is_bimodal(rho) == (mode > 0)


def pell_convergents(count: int):
    """Exact rationals on both sides of 1/√3 (test-side derivation): q² − 3p² = 1 gives
    3(p/q)² = 1 − 1/q² < 1, and 3p² − q² = 2 gives 3(p/q)² = 1 + 2/q² > 1."""
    below, above = [], []
    p, q = 1, 2  # 4 − 3 = 1; the next solution: (q + p√3)(2 + √3) = (3p + 2q) + (2p + q)√3
    for _ in range(count):
        below.append(Fraction(p, q))
        p, q = 2 * p + q, 3 * p + 2 * q
    p, q = 1, 1  # 3 − 1 = 2
    for _ in range(count):
        above.append(Fraction(p, q))
        p, q = 2 * p + q, 3 * p + 2 * q
    return below, above


def test_bimodality_threshold_is_decided_exactly():
    # 1/√3 is irrational, so no rational ρ lies on the threshold. 577/1000 and 578/1000 straddle
    # it: 3·0.577² = 0.998787 < 1 < 1.002252 = 3·0.578² (exact rationals). The Pell rationals
    # approach 1/√3 within 10^−40 from both sides; a float comparison would misclassify them.
    assert not is_bimodal("577/1000") and is_bimodal("578/1000")
    assert not is_bimodal(Fraction(-577, 1000)) and is_bimodal(Fraction(-578, 1000))
    below, above = pell_convergents(40)
    for rho in below:
        assert 3 * rho**2 < 1 and not is_bimodal(rho) and peak_location(rho) == 0
    for rho in above:
        assert 3 * rho**2 > 1 and is_bimodal(rho)
    assert 0 < 1 - 3 * below[-1] ** 2 < Fraction(1, 10**40)  # so close that floats cannot tell
    assert 0 < 3 * above[-1] ** 2 - 1 < Fraction(1, 10**40)


def test_density_is_lower_at_zero_than_at_the_peak_just_above_the_threshold():
    rho = "578/1000"
    peak = peak_location(rho, digits=30)
    with mpmath.workdps(60):
        assert optimal_density(peak, rho) > optimal_density(0, rho)


# --- I(ρ), G_opt, G_PD and the design gain ----------------------------------------------------


def test_normalizer_special_cases_are_the_closed_forms():
    # Independent: √(6π) and 6^(5/6)·Γ(5/6) at 60 digits (theory.md §2.3).
    with mpmath.workdps(60):
        assert to_decimal(density_normalizer(0, 40), 40) == to_decimal(
            mpmath.sqrt(6 * mpmath.pi), 40
        )
        five_sixths = mpmath.mpf(5) / 6
        expected = mpmath.power(6, five_sixths) * mpmath.gamma(five_sixths)
        assert to_decimal(density_normalizer(1, 40), 40) == to_decimal(expected, 40)
        assert to_decimal(density_normalizer(-1, 40), 40) == to_decimal(expected, 40)


@settings(max_examples=15)
@given(correlations)
def test_normalizer_agrees_with_a_separate_quadrature_of_the_definition(rho):
    # density_normalizer raises unless its quadrature and the Tricomi form agree; here it is also
    # held against a separate plain mpmath.quad of the definition at 50 digits.
    value = density_normalizer(rho, digits=30)
    with mpmath.workdps(50):
        r = to_mpf(rho)

        def integrand(u):
            return mpmath.exp(-u * u / 6) * mpmath.cbrt((1 - r * r) + r * r * u * u)

        direct = 2 * mpmath.quad(integrand, [0, mpmath.mpf(1) / 8, 1, 3, 8, mpmath.inf])
        assert abs(value - direct) < mpmath.mpf(10) ** -26 * direct
        # And the two forms density_normalizer compares, side by side at 50 digits.
        tricomi = sg._density_normalizer_closed_form_at_working_precision(r)
        quadrature = sg._density_normalizer_by_quadrature_at_working_precision(r)
        assert abs(tricomi - quadrature) < mpmath.mpf(10) ** -45 * tricomi


def test_normalizer_refuses_when_the_two_forms_disagree(monkeypatch):
    # A deliberately wrong second form (off by 10^−20 relative) must be caught at 30 digits,
    # and tolerated at 15 digits, where it is below the asked resolution.
    original = sg._density_normalizer_closed_form_at_working_precision

    def wrong(rho):
        return original(rho) * (1 + mpmath.mpf(10) ** -20)

    monkeypatch.setattr(sg, "_density_normalizer_closed_form_at_working_precision", wrong)
    with pytest.raises(UncertifiedValueError, match="Tricomi"):
        density_normalizer("0.4", digits=30)
    density_normalizer("0.4", digits=15)


def test_g_opt_at_zero_is_the_panter_dite_constant():
    # Independent: √3π/2 at 60 digits.
    with mpmath.workdps(60):
        expected = mpmath.sqrt(3) * mpmath.pi / 2
        assert to_decimal(g_opt(0, 40), 40) == to_decimal(expected, 40)
        assert to_decimal(g_pd(0, 40), 40) == to_decimal(expected, 40)
    assert design_gain_db(0) == 0


def test_g_opt_at_one_is_the_closed_form():
    # Independent: (6^(5/6)Γ(5/6))³/(12√(2π)) = 6^(5/2)Γ(5/6)³/(12√(2π)).
    with mpmath.workdps(60):
        expected = (
            mpmath.power(6, 2.5)
            * mpmath.gamma(mpmath.mpf(5) / 6) ** 3
            / (12 * mpmath.sqrt(2 * mpmath.pi))
        )
        assert to_decimal(g_opt(1, 40), 40) == to_decimal(expected, 40)


@settings(max_examples=25)
@given(correlations)
def test_g_opt_is_strictly_below_g_pd_except_at_zero(rho):
    optimal, panter_dite = g_opt(rho), g_pd(rho)
    with mpmath.workdps(60):
        if rho == 0:
            assert to_decimal(optimal, 30) == to_decimal(panter_dite, 30)
        else:
            assert optimal < panter_dite
            assert design_gain_db(rho, 15) > 0


@pytest.mark.parametrize(
    ("rho", "tolerance"), [(0.1, 1e-10), (0.3, 1e-10), (0.5, 1e-10), (0.7, 1e-7)]
)
def test_gain_equals_the_moment_ratio_by_gauss_hermite(rho, tolerance):
    # Independent: G_PD/G_opt = E[W]/(E[W^(1/3)])³, W = 1 − ρ² + 3ρ²Z², by 180-point
    # Gauss–Hermite (probabilists') in NumPy, E[W] = 1 + 2ρ² exactly. W^(1/3) has branch points
    # at Z = ±i·√((1 − ρ²)/(3ρ²)), which slow Gauss–Hermite as ρ grows: hence the tolerances.
    nodes, weights = np.polynomial.hermite_e.hermegauss(180)
    weights = weights / math.sqrt(2 * math.pi)
    cube_root_mean = np.sum(weights * np.cbrt(1 - rho**2 + 3 * rho**2 * nodes**2))
    expected = 10 * math.log10((1 + 2 * rho**2) / cube_root_mean**3)
    assert float(design_gain_db(rho, 15)) == pytest.approx(expected, rel=tolerance)


@pytest.mark.parametrize("exponent", [12, 100])
def test_gain_at_tiny_correlation_is_60_rho_4_over_ln_10(exponent):
    # Hand-derived: with δ = ρ²(3Z² − 1), E[W^(1/3)] = 1 + 2ρ²/3 − E[δ²]/9 + O(ρ⁶) and
    # E[δ²] = 22ρ⁴, so G_PD/G_opt − 1 = (22/3 − 4/3)ρ⁴ + O(ρ⁶) = 6ρ⁴ + O(ρ⁶) and the gain is
    # 60ρ⁴/ln 10·(1 + O(ρ²)): at ρ = 10^−12 the first 20 digits are the leading term. (The
    # plain log10(G_PD/G_opt) would cancel ~4·exponent digits here.)
    rho = Fraction(1, 10**exponent)
    with mpmath.workdps(60):
        expected = 60 * to_mpf(rho) ** 4 / mpmath.ln(10)
        assert to_decimal(design_gain_db(rho, 20), 20) == to_decimal(expected, 20)


def test_g_pd_is_the_closed_form():
    # Independent: (√3π/2)(1 + 2ρ²) at ρ = 1/2 is (3/4)√3π.
    with mpmath.workdps(60):
        assert to_decimal(g_pd("1/2", 40), 40) == to_decimal(3 * mpmath.sqrt(3) * mpmath.pi / 4, 40)


def test_peak_location_closed_form_at_one():
    # Independent: √(3 − 1) = √2.
    with mpmath.workdps(60):
        assert to_decimal(peak_location(1, 40), 40) == to_decimal(mpmath.sqrt(2), 40)


# --- The compander bias coefficient -----------------------------------------------------------


@pytest.mark.parametrize("rho", ["0.3", "-0.8", "0.999"])
def test_panter_dite_bias_coefficient_is_root_3_pi_rho(rho):
    # Independent (hand-derived): φ/λ² = 6π·exp(−x²/6)/√(2π) for λ = N(0, 3) density and
    # ∫ exp(−x²/6)(1 − x²) dx = −2√(6π), so β = √3·π·ρ.
    with mpmath.workdps(60):
        expected = mpmath.sqrt(3) * mpmath.pi * to_mpf(Fraction(rho))
        assert to_decimal(compander_bias_coefficient(rho, "pd", 30), 30) == to_decimal(expected, 30)


def test_panter_dite_bias_coefficient_at_unit_correlation_is_half():
    # At ρ = ±1, E[e_X e_Y] = ±E[e_X²] is of order K⁻² too: β = −(ρ/12)∫φ(2 − x²)/λ² = √3πρ/2
    # (hand-derived; checked against the finite-K value below).
    with mpmath.workdps(60):
        half = mpmath.sqrt(3) * mpmath.pi / 2
        assert to_decimal(compander_bias_coefficient(1, "pd", 30), 30) == to_decimal(half, 30)
        assert to_decimal(compander_bias_coefficient(-1, "pd", 30), 30) == to_decimal(-half, 30)


def test_bias_coefficient_is_zero_at_zero_correlation():
    assert compander_bias_coefficient(0, "opt") == 0 and compander_bias_coefficient(0, "pd") == 0


@pytest.mark.parametrize(("design", "rho"), [("pd", 0.6), ("opt", 0.6), ("opt", -0.8)])
def test_finite_k_mean_error_approaches_the_bias_coefficient(design, rho):
    # Independent: the exact finite-K E[D] = ρ − E[Q(X)Q(Y)] of compander codebooks built in
    # double precision (SciPy), integrated cell by cell. K²·E[D] approaches β monotonically;
    # its error decays like (a + b·ln K)/K (the outer cells), not like K⁻², so the
    # extrapolation is two stages of R(K) = 2f(2K) − f(K) (observed: 0.09–0.18% from 32–128).
    beta = float(compander_bias_coefficient(rho, design, 15))
    sizes = [16, 32, 64, 128]
    scaled = []
    for size in sizes:
        points = float_pd_points(size) if design == "pd" else float_opt_points(size, rho)
        scaled.append(size**2 * exact_mean_error(points, rho))
    gaps = [abs(value - beta) for value in scaled]
    assert all(later < earlier for earlier, later in itertools.pairwise(gaps))
    assert gaps[-1] < 0.08 * abs(beta)
    assert two_stage_richardson(np.array(scaled)) == pytest.approx(beta, rel=3e-3)


@pytest.mark.parametrize(("design", "rho"), [("pd", 0.6), ("opt", 0.3), ("opt", -0.8)])
def test_cross_term_of_the_errors_is_smaller_than_k_to_the_minus_2(design, rho):
    # The derivation's E[e_X e_Y] = o(K⁻²): from the exact identity
    # E[D] = 2ρ·E[X e_X] − E[e_X e_Y] (E[Y|X] = ρX), with both expectations computed
    # independently in double precision, K²·E[e_X e_Y] shrinks by ≥ 2 per doubling of K.
    cross = []
    for size in (16, 32, 64, 128):
        points = float_pd_points(size) if design == "pd" else float_opt_points(size, rho)
        mean_error = exact_mean_error(points, rho)
        cross.append(size**2 * (2 * rho * exact_x_error(points) - mean_error))
    ratios = [later / earlier for earlier, later in itertools.pairwise(cross)]
    assert all(0 < ratio < 0.5 for ratio in ratios), ratios
    beta = float(compander_bias_coefficient(rho, design, 15))
    assert abs(cross[-1]) < 1e-3 * abs(beta)


@pytest.mark.parametrize(("design", "rho", "largest"), [("pd", 0.3, 16384), ("opt", 0.6, 1024)])
def test_k_squared_times_2_rho_x_error_converges_to_the_bias_coefficient(design, rho, largest):
    # The dominant part 2ρ·E[X e_X] at K up to 16384 (one-dimensional, double precision):
    # the two-stage extrapolation lands within 2·10⁻⁵ (PD) and 2·10⁻⁴ (opt) of β.
    beta = float(compander_bias_coefficient(rho, design, 15))
    sizes = [2**e for e in range(4, int(math.log2(largest)) + 1)]
    scaled = []
    for size in sizes:
        points = float_pd_points(size) if design == "pd" else float_opt_points(size, rho)
        scaled.append(size**2 * 2 * rho * exact_x_error(points))
    tolerance = 2e-5 if design == "pd" else 2e-4
    assert two_stage_richardson(np.array(scaled)) == pytest.approx(beta, rel=tolerance)


def test_panter_dite_mean_error_at_unit_correlation_approaches_half_the_coefficient():
    # Independent: at ρ = 1, E[D] = E[X²] − E[Q(X)²] = 1 − Σ P(cell)·a², one-dimensional.
    # K²·E[D] → √3π/2, not the |ρ| < 1 limit √3π: the limit is not uniform in ρ.
    sizes = [2**e for e in range(4, 15)]
    scaled = []
    for size in sizes:
        points = float_pd_points(size)
        edges = np.concatenate(([-np.inf], (points[:-1] + points[1:]) / 2, [np.inf]))
        scaled.append(size**2 * (1 - np.sum(np.diff(special.ndtr(edges)) * points**2)))
    assert two_stage_richardson(np.array(scaled)) == pytest.approx(
        float(compander_bias_coefficient(1, "pd", 15)), rel=2e-5
    )


def test_second_moment_at_unit_correlation_is_four_times_the_one_sided_coefficient():
    # theory.md §2.1–§2.3 say K²·E[D²] → 2·G with the cross term E[XY e_X e_Y] = O(K⁻⁴); at
    # ρ = 1 (X = Y) the cross term is E[X² e²], as large as each one-sided term, and the limit is
    # 4·G. Independent: E[D²] = E[(X² − Q(X)²)²] of the Panter–Dite compander, one-dimensional
    # (Gauss–Legendre on the cells, quad on the two outer ones), K up to 16384.
    nodes, weights = GAUSS_LEGENDRE
    scaled = []
    sizes = [2**e for e in range(4, 15)]
    for size in sizes:
        points = float_pd_points(size)
        thresholds = (points[:-1] + points[1:]) / 2
        left, right = thresholds[:-1], thresholds[1:]
        middle, half = (left + right) / 2, (right - left) / 2
        x = middle[:, None] + half[:, None] * nodes[None, :]
        level = points[1:-1, None]
        total = np.sum(half[:, None] * weights * (x * x - level * level) ** 2 * stats.norm.pdf(x))
        for low, high, end in (
            (-np.inf, thresholds[0], points[0]),
            (thresholds[-1], np.inf, points[-1]),
        ):
            total += integrate.quad(
                lambda v, a=end: (v * v - a * a) ** 2 * stats.norm.pdf(v), low, high, epsabs=1e-17
            )[0]
        scaled.append(size**2 * total)
    limit = two_stage_richardson(np.array(scaled))
    assert limit == pytest.approx(4 * float(g_pd(1, 15)), rel=1e-4)  # 6√3π ≈ 32.648
    assert abs(limit - 2 * float(g_pd(1, 15))) > 16


def test_optimal_bias_coefficient_changes_sign_at_high_correlation():
    # Seen in the finite-K values too: at ρ = 0.97 the opt compander's K²·E[D] is ≈ −1.58 at
    # K = 64, 128 (double precision, below), while at ρ = 0.3 it is positive. (The sign change
    # is near ρ = 0.9087.)
    assert compander_bias_coefficient("0.3", "opt") > 0
    assert (
        compander_bias_coefficient("0.908", "opt") > 0 > compander_bias_coefficient("0.91", "opt")
    )
    beta = float(compander_bias_coefficient("0.97", "opt", 15))
    assert beta < 0
    value = 128**2 * exact_mean_error(float_opt_points(128, 0.97), 0.97)
    assert value == pytest.approx(beta, rel=0.02)


def test_optimal_bias_coefficient_is_refused_at_unit_correlation():
    with pytest.raises(ValueError, match="rho"):
        compander_bias_coefficient(1, "opt")
    with pytest.raises(ValueError, match="rho"):
        compander_bias_coefficient("-1", "opt")


# --- Precision and inputs ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "function",
    [
        lambda digits: g_opt("0.7", digits),
        lambda digits: density_normalizer("-0.35", digits),
        lambda digits: design_gain_db("0.9", digits),
        lambda digits: optimal_density("2.5", "0.6", digits),
        lambda digits: optimal_density_cdf("-2", "0.95", digits),
        lambda digits: optimal_density_quantile("3/64", "0.95", digits),
        lambda digits: compander_bias_coefficient("0.6", "opt", digits),
        lambda digits: peak_location("0.8", digits),
    ],
)
def test_values_agree_across_precisions(function):
    high = function(60)
    for digits in (15, 30):
        assert to_decimal(function(digits), digits) == to_decimal(high, digits)


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: optimal_density(0, "1.5"), "rho"),
        (lambda: optimal_density(float("nan"), 0), "u"),
        (lambda: optimal_density(0, float("inf")), "rho"),
        (lambda: optimal_density_cdf("inf", 0), "u"),
        (lambda: optimal_density_cdf(0, -2), "rho"),
        (lambda: optimal_density_quantile(0, 0), "p"),
        (lambda: optimal_density_quantile(1, 0), "p"),
        (lambda: optimal_density_quantile("1.5", 0), "p"),
        (lambda: optimal_density_quantile("nan", 0), "p"),
        (lambda: density_normalizer("1.0001"), "rho"),
        (lambda: g_opt("abc"), "rho"),
        (lambda: g_pd(None), "rho"),
        (lambda: design_gain_db(True), "rho"),
        (lambda: is_bimodal("nan"), "rho"),
        (lambda: peak_location(2), "rho"),
        (lambda: compander_bias_coefficient("0.5", "lloyd"), "design"),
        (lambda: compander_bias_coefficient("1.2", "pd"), "rho"),
        (lambda: g_opt("0.5", digits=0), "digits"),
        (lambda: optimal_density_quantile("0.3", "0.5", digits=1001), "digits"),
        (lambda: optimal_density(0, 0, digits=2.5), "digits"),
        (lambda: peak_location("0.1", digits=-1), "digits"),
    ],
)
def test_bad_inputs_raise_value_errors_naming_the_argument(call, name):
    with pytest.raises(ValueError, match=name):
        call()
