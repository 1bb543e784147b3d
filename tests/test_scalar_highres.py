"""High-resolution constants for general pair laws (theory.md §2.1–§2.2).

Independent sources, named at each test: hand-derived closed forms for non-Gaussian laws (uniform,
uniform with E[Y²|X = x] = x², Laplace), exact rationals for the error decomposition, the
Gaussian closed forms of §2.3 (and scalar_gaussian's separately computed values), SciPy
quadrature of the sign quantizer's per-pair moments, and a seeded NumPy Monte Carlo of
||AB − ÂB̂||²_F.
"""

from __future__ import annotations

import math
from fractions import Fraction

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, special

from quantmm.reference import to_decimal
from quantmm.reference.scalar_gaussian import g_opt, g_pd, optimal_density
from quantmm.reference.scalar_highres import (
    bennett_coefficient,
    bias_crossover,
    gaussian_pair,
    optimal_point_density,
    optimal_point_density_constant,
    panter_dite_constant,
    product_error,
)

LINE = ("-inf", "inf")
UNIT = (0, 1)


def to_mpf(value: Fraction) -> mpmath.mpf:
    return mpmath.mpf(value.numerator) / value.denominator


def one(x: mpmath.mpf) -> mpmath.mpf:
    return mpmath.mpf(1)


def square(x: mpmath.mpf) -> mpmath.mpf:
    return x * x


def laplace(x: mpmath.mpf) -> mpmath.mpf:
    return mpmath.exp(-abs(x)) / 2


def decimal_of(value: Fraction, digits: int) -> str:
    with mpmath.workdps(digits + 20):
        return to_decimal(to_mpf(value), digits)


# --- The Gaussian pair against the closed forms of §2.3 ---------------------------------------


@pytest.mark.parametrize("rho", ["0", "0.3", "-0.6", "0.9", "1"])
def test_gaussian_pair_constants_match_the_closed_forms(rho):
    # Independent: G_PD = (√3π/2)(1 + 2ρ²) written here; G_opt from scalar_gaussian, whose
    # normalizer is itself checked against the Tricomi form.
    density, moment = gaussian_pair(rho)
    with mpmath.workdps(60):
        expected_pd = mpmath.sqrt(3) * mpmath.pi / 2 * (1 + 2 * to_mpf(Fraction(rho)) ** 2)
        assert to_decimal(panter_dite_constant(density, moment, LINE, 25), 25) == to_decimal(
            expected_pd, 25
        )
    assert to_decimal(optimal_point_density_constant(density, moment, LINE, 25), 25) == (
        to_decimal(g_opt(rho, 25), 25)
    )
    assert to_decimal(g_pd(rho, 25), 25) == to_decimal(
        panter_dite_constant(density, moment, LINE, 25), 25
    )


def test_gaussian_optimal_constant_at_zero_is_root_3_pi_over_2():
    # Independent: √3π/2 (the Panter–Dite constant of N(0, 1)).
    density, moment = gaussian_pair(0)
    with mpmath.workdps(60):
        expected = to_decimal(mpmath.sqrt(3) * mpmath.pi / 2, 40)
    assert to_decimal(optimal_point_density_constant(density, moment, LINE, 40), 40) == expected


@pytest.mark.parametrize("rho", ["0.3", "0.8"])
@pytest.mark.parametrize("x", ["0", "0.7", "-2.5"])
def test_gaussian_optimal_point_density_is_lambda_star(rho, x):
    # scalar_gaussian's λ* is computed from its own normalizer (different quadrature layout).
    density, moment = gaussian_pair(rho)
    assert to_decimal(optimal_point_density(x, density, moment, LINE, 25), 25) == to_decimal(
        optimal_density(x, rho, 25), 25
    )


def test_bennett_coefficient_at_the_panter_dite_density_is_g_pd():
    # λ = the N(0, 3) density written here; independent value (√3π/2)(1 + 2ρ²) at ρ = 0.6.
    density, moment = gaussian_pair("0.6")

    def normal_three(x):
        return mpmath.exp(-x * x / 6) / mpmath.sqrt(6 * mpmath.pi)

    with mpmath.workdps(60):
        expected = mpmath.sqrt(3) * mpmath.pi / 2 * (1 + 2 * mpmath.mpf("0.36"))
        assert to_decimal(bennett_coefficient(density, moment, normal_three, LINE, 25), 25) == (
            to_decimal(expected, 25)
        )


@settings(max_examples=15)
@given(
    st.fractions(min_value=-1, max_value=1, max_denominator=100),
    st.fractions(min_value=Fraction(3, 2), max_value=4, max_denominator=100),
)
def test_bennett_coefficient_is_never_below_the_optimal_constant(rho, scale):
    # Hölder: any normalized λ (here N(0, s²) densities) gives at least C*. (p·m/λ² grows like
    # exp(x²(1/s² − 1/2))·x², so it is integrable only for s² > 2: s ≥ 3/2 here.)
    density, moment = gaussian_pair(rho)
    s = to_mpf(scale)

    def normal(x):
        return mpmath.exp(-x * x / (2 * s * s)) / (s * mpmath.sqrt(2 * mpmath.pi))

    value = bennett_coefficient(density, moment, normal, LINE, 20)
    optimum = optimal_point_density_constant(density, moment, LINE, 20)
    with mpmath.workdps(40):
        assert value >= optimum * (1 - mpmath.mpf(10) ** -18)


# --- Non-Gaussian laws with hand-derived constants --------------------------------------------


def test_uniform_independent_pair_has_the_classical_one_twelfth():
    # X uniform on [0, 1], independent of Y with E[Y²] = 1: p = 1, m = 1, λ* = 1, C* = 1/12.
    expected = decimal_of(Fraction(1, 12), 30)
    assert to_decimal(optimal_point_density_constant(one, one, UNIT, 30), 30) == expected
    assert to_decimal(panter_dite_constant(one, one, UNIT, 30), 30) == expected
    assert to_decimal(bennett_coefficient(one, one, one, UNIT, 30), 30) == expected
    assert to_decimal(optimal_point_density("0.3", one, one, UNIT, 30), 30) == decimal_of(
        Fraction(1), 30
    )
    assert optimal_point_density(2, one, one, UNIT) == 0  # outside the support: exact zero


def test_uniform_with_conditional_moment_x_squared():
    # X uniform on [0, 1], E[Y²|X = x] = x² (e.g. Y = X). Hand-derived:
    #   ∫ (x²)^(1/3) dx = 3/5, so C* = (1/12)(3/5)³ = 9/500 and λ*(x) = (5/3)·x^(2/3);
    #   Panter–Dite (λ = 1): (1/12)∫ x² dx = 1/36 > 9/500;
    #   λ(x) = 2x: (1/12)∫ x²/(4x²) dx = 1/48.
    assert to_decimal(optimal_point_density_constant(one, square, UNIT, 30), 30) == decimal_of(
        Fraction(9, 500), 30
    )
    assert to_decimal(panter_dite_constant(one, square, UNIT, 30), 30) == decimal_of(
        Fraction(1, 36), 30
    )
    assert to_decimal(optimal_point_density("1/8", one, square, UNIT, 30), 30) == decimal_of(
        Fraction(5, 12), 30
    )

    def ramp(x):
        return 2 * x

    def optimal(x):
        return mpmath.mpf(5) / 3 * mpmath.cbrt(x * x)

    assert to_decimal(bennett_coefficient(one, square, ramp, UNIT, 30), 30) == decimal_of(
        Fraction(1, 48), 30
    )
    assert to_decimal(bennett_coefficient(one, square, optimal, UNIT, 30), 30) == decimal_of(
        Fraction(9, 500), 30
    )


def test_laplace_independent_pair():
    # p(x) = e^(−|x|)/2, m = 1. Hand-derived: ∫ (e^(−|x|)/2)^(1/3) dx = 6·2^(−1/3), cubed 108,
    # so C* = 108/12 = 9 (the Panter–Dite constant 9σ²/2 at σ² = 2), equal to the PD value.
    expected = decimal_of(Fraction(9), 30)
    assert to_decimal(optimal_point_density_constant(laplace, one, LINE, 30), 30) == expected
    assert to_decimal(panter_dite_constant(laplace, one, LINE, 30), 30) == expected


def test_small_integrands_keep_their_relative_accuracy():
    # mpmath.quad's stopping rule is absolute; a law with E[Y²|X] = 10⁻⁶⁰ must still give
    # C* = 10⁻⁶⁰/12 to every digit (hand-derived), not the digits above 10⁻⁴⁰.
    def tiny(x):
        return mpmath.mpf(10) ** -60

    expected = decimal_of(Fraction(1, 12 * 10**60), 30)
    assert to_decimal(optimal_point_density_constant(one, tiny, UNIT, 30), 30) == expected
    assert to_decimal(panter_dite_constant(laplace, tiny, LINE, 30), 30) == decimal_of(
        Fraction(9, 10**60), 30
    )


def test_support_with_a_finite_and_an_infinite_end():
    # X ~ Exp(1) on [0, ∞), m = 1: ∫ e^(−x/3) dx = 3, C* = 27/12 = 9/4 (hand-derived).
    def exponential(x):
        return mpmath.exp(-x)

    assert to_decimal(
        optimal_point_density_constant(exponential, one, (0, float("inf")), 30), 30
    ) == decimal_of(Fraction(9, 4), 30)


def test_point_density_is_used_normalized():
    # λ = 1 + 10⁻⁹ on [0, 1] is within the accepted 10⁻⁸ of a density; the coefficient is that
    # of λ/∫λ = 1, i.e. exactly 1/12 (not 1/(12(1 + 10⁻⁹)²)).
    def nearly_one(x):
        return 1 + mpmath.mpf(10) ** -9

    assert to_decimal(bennett_coefficient(one, one, nearly_one, UNIT, 30), 30) == decimal_of(
        Fraction(1, 12), 30
    )


def test_point_density_that_does_not_integrate_to_one_is_refused():
    def twice(x):
        return mpmath.mpf(2)

    with pytest.raises(ValueError, match="point_density"):
        bennett_coefficient(one, one, twice, UNIT)


# --- The exact decomposition and the bias crossover -------------------------------------------


def test_product_error_is_the_exact_rational():
    # m·n·(k·S + k(k−1)·μ²) in exact rationals, written out by hand.
    assert to_decimal(product_error(3, 5, 7, "1/10", "1/100", 30), 30) == decimal_of(
        Fraction(21) * (Fraction(5, 10) + 20 * Fraction(1, 10000)), 30
    )
    assert product_error(4, 1, 4, 0, 0) == 0  # exact zero


def test_bias_crossover_balances_the_two_terms():
    # At k = 1 + S/μ² (here 10001, an integer) the two terms are equal; exact rationals.
    crossover = bias_crossover("0.01", "-0.001", 30)
    assert to_decimal(crossover, 30) == decimal_of(Fraction(10001), 30)
    k, moment, mean = 10001, Fraction(1, 100), Fraction(-1, 1000)
    assert k * moment == k * (k - 1) * mean**2
    with mpmath.workdps(60):
        total = product_error(1, k, 1, "0.01", "-0.001", 40)
        assert abs(total - 2 * k * to_mpf(moment)) < mpmath.mpf(10) ** -35


def sign_quantizer_moments(rho: float) -> tuple[float, float]:
    """E[D], E[D²] for Q(v) = √(2/π)·sign(v) on both sides, by SciPy quadrature over x of the
    closed-form conditional moments given X = x (Y|x ~ N(ρx, 1 − ρ²)):
    E[D|x] = ρx² − c²·s·(2Φ(μ/σ) − 1),  E[D²|x] = x²(μ² + σ²) − 2c²·s·x·E|Y| + c⁴."""
    c2 = 2 / math.pi
    sigma = math.sqrt(1 - rho * rho)

    def conditional(x: float, power: int) -> float:
        mu, s = rho * x, math.copysign(1.0, x)
        if power == 1:
            value = rho * x * x - c2 * s * (2 * special.ndtr(mu / sigma) - 1)
        else:
            absolute = sigma * math.sqrt(2 / math.pi) * math.exp(-mu * mu / (2 * sigma * sigma))
            absolute += mu * (2 * special.ndtr(mu / sigma) - 1)
            value = x * x * (mu * mu + sigma * sigma) - 2 * c2 * s * x * absolute + c2 * c2
        return value * math.exp(-x * x / 2) / math.sqrt(2 * math.pi)

    moments = []
    for power in (1, 2):
        total = sum(
            integrate.quad(conditional, low, high, args=(power,), epsabs=1e-14, epsrel=1e-12)[0]
            for low, high in ((-np.inf, 0), (0, np.inf))
        )
        moments.append(total)
    return moments[0], moments[1]


def test_sign_quantizer_mean_matches_the_arcsine_law():
    # Cross-check of the quadrature: E[sign X sign Y] = (2/π)·arcsin ρ (Sheppard), so
    # E[D] = ρ − (4/π²)·arcsin ρ.
    mean, _ = sign_quantizer_moments(0.5)
    assert mean == pytest.approx(0.5 - 4 / math.pi**2 * math.asin(0.5), rel=1e-10)


@pytest.mark.parametrize(("rho", "seed"), [(0.5, 20260301), (-0.3, 20260302)])
def test_product_error_matches_a_monte_carlo_of_the_frobenius_error(rho, seed):
    # Seeded Monte Carlo of ||AB − Q(A)Q(B)||²_F with every pair (A_il, B_lj) a unit Gaussian
    # pair of correlation ρ: A_il = √|ρ|·G_l + √(1 − |ρ|)·U_il, B_lj = ±√|ρ|·G_l + √(1 − |ρ|)·V_lj.
    # (Different output entries share G, U, V; the decomposition only needs each entry's k pairs
    # to be iid, which they are.)
    rows, inner, columns, trials = 2, 16, 3, 20000
    mean, second = sign_quantizer_moments(rho)
    expected = float(product_error(rows, inner, columns, second, mean, 15))
    generator = np.random.default_rng(seed)
    shared = generator.standard_normal((trials, 1, inner))
    a = math.sqrt(abs(rho)) * shared + math.sqrt(1 - abs(rho)) * generator.standard_normal(
        (trials, rows, inner)
    )
    b = math.copysign(math.sqrt(abs(rho)), rho) * np.swapaxes(shared, 1, 2) + math.sqrt(
        1 - abs(rho)
    ) * generator.standard_normal((trials, inner, columns))
    level = math.sqrt(2 / math.pi)
    error = a @ b - (level * np.sign(a)) @ (level * np.sign(b))
    samples = np.sum(error**2, axis=(1, 2))
    standard_error = samples.std(ddof=1) / math.sqrt(trials)
    assert abs(samples.mean() - expected) <= 4 * standard_error, (
        f"seed {seed}: Monte Carlo {samples.mean():.5f} ± {standard_error:.5f}, "
        f"product_error {expected:.5f}"
    )
    # The bias term is a visible part of the total here (k(k−1)·μ² vs k·S).
    assert inner * (inner - 1) * mean**2 > 0.2 * inner * second


# --- Precision and inputs ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "function",
    [
        lambda digits: optimal_point_density_constant(*gaussian_pair("0.7"), LINE, digits),
        lambda digits: panter_dite_constant(laplace, one, LINE, digits),
        lambda digits: optimal_point_density("0.4", *gaussian_pair("-0.9"), LINE, digits),
        lambda digits: bennett_coefficient(one, square, lambda x: 2 * x, UNIT, digits),
        lambda digits: bias_crossover("1/3", "1/7", digits),
    ],
)
def test_values_agree_across_precisions(function):
    high = function(60)
    for digits in (15, 30):
        assert to_decimal(function(digits), digits) == to_decimal(high, digits)


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: gaussian_pair("1.01"), "rho"),
        (lambda: gaussian_pair(float("nan")), "rho"),
        (lambda: optimal_point_density_constant(None, one, UNIT), "marginal_density"),
        (lambda: optimal_point_density_constant(one, 3, UNIT), "conditional_second_moment"),
        (lambda: bennett_coefficient(one, one, "flat", UNIT), "point_density"),
        (lambda: panter_dite_constant(one, one, (1, 0)), "support"),
        (lambda: panter_dite_constant(one, one, "0 1"), "support"),
        (lambda: panter_dite_constant(one, one, (0,)), "support"),
        (lambda: panter_dite_constant(one, one, ("inf", 1)), "support"),
        (lambda: panter_dite_constant(one, one, (0, float("nan"))), "support"),
        (lambda: optimal_point_density("nan", one, one, UNIT), "x"),
        (lambda: optimal_point_density_constant(one, one, UNIT, digits=0), "digits"),
        (lambda: product_error(0, 1, 1, 1, 0), "m"),
        (lambda: product_error(1, 2.5, 1, 1, 0), "k"),
        (lambda: product_error(1, 1, "n", 1, 0), "n"),
        (lambda: product_error(1, 1, 1, -1, 0), "second_moment"),
        (lambda: product_error(1, 1, 1, "1/100", "1/2"), "second_moment"),
        (lambda: product_error(1, 1, 1, 1, float("inf")), "mean"),
        (lambda: product_error(1, 1, 1, 1, 0, digits=1001), "digits"),
        (lambda: bias_crossover(1, 0), "mean"),
        (lambda: bias_crossover("nan", 1), "second_moment"),
    ],
)
def test_bad_inputs_raise_value_errors_naming_the_argument(call, name):
    with pytest.raises(ValueError, match=name):
        call()
