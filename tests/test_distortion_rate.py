"""Γ(R), φ(R), R* and friends (theory.md §1.1–§1.2) against independent computations.

Independent sources: the Lambert-W closed form of R* (tests/independent.py), exact rationals at
integer rates, one-sided finite differences for derivatives, a separate root finder for the
inverse, and a bounded scalar maximization (SciPy) for the supremum over κ.
"""

from __future__ import annotations

from fractions import Fraction

import mpmath
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from quantmm.reference import (
    critical_rate,
    gamma,
    gamma_derivative,
    gamma_inverse,
    lower_bound,
    one_sided,
    phi,
    time_sharing_fraction,
    to_decimal,
    unequal_rates,
)

from independent import critical_rate_lambert, gamma_lambert, phi_definition

rates = st.fractions(min_value=0, max_value=8, max_denominator=10**6)
positive_rates = st.fractions(min_value=Fraction(1, 10**6), max_value=8, max_denominator=10**6)
TIGHT = mpmath.mpf(10) ** -25  # slack for comparing two values certified to 30 digits


def to_mpf(value: Fraction) -> mpmath.mpf:
    """An exact rational at the current working precision (the tests use 60 digits)."""
    return mpmath.mpf(value.numerator) / value.denominator


def test_critical_rate_matches_the_lambert_w_closed_form_to_100_digits():
    reference_value = critical_rate_lambert(130)
    assert to_decimal(critical_rate(digits=100), 100) == mpmath.nstr(
        reference_value, 100, strip_zeros=False
    )


def test_critical_rate_is_the_papers_0_906():
    # OP's abstract: "a phase transition ... at approximately 0.906 bits per entry" [paper].
    assert to_decimal(critical_rate(digits=3), 3) == "0.906"


def test_critical_rate_solves_its_defining_equation():
    with mpmath.workdps(80):
        rate = critical_rate(digits=60)
        residual = mpmath.power(2, 2 * rate) - 1 - 4 * rate * mpmath.ln(2)
        assert abs(residual) < mpmath.mpf(10) ** -58


@pytest.mark.parametrize("rate", range(0, 13))
def test_gamma_at_integer_rates_is_the_exact_rational(rate):
    # theory.md §1.1: Γ(R) = (2^(2R+1) − 1)/2^(4R) at integer R (R* < 1, and Γ(0) = 1).
    exact = Fraction(2 ** (2 * rate + 1) - 1, 2 ** (4 * rate))
    digits = 60  # longer than the terminating expansion (4R ≤ 48 decimals): the string is exact
    assert Fraction(to_decimal(gamma(rate, digits=digits), digits)) == exact
    assert Fraction(to_decimal(phi(rate, digits=digits), digits)) == exact


@given(rates)
def test_gamma_matches_the_lambert_w_construction(rate):
    assert to_decimal(gamma(rate, digits=40), 40) == mpmath.nstr(
        gamma_lambert(rate, 70), 40, strip_zeros=False
    )


@given(rates, rates)
def test_gamma_is_strictly_decreasing(first, second):
    if first == second:
        return
    low, high = sorted((first, second))
    assert gamma(low) > gamma(high)


@given(rates, rates, st.fractions(min_value=0, max_value=1, max_denominator=1000))
def test_gamma_is_convex(first, second, weight):
    middle = weight * first + (1 - weight) * second
    with mpmath.workdps(60):  # the chord's arithmetic must not round away the certified digits
        chord = to_mpf(weight) * gamma(first) + to_mpf(1 - weight) * gamma(second)
        assert gamma(middle) <= chord + TIGHT


@given(rates)
def test_gamma_lies_between_one_sided_and_phi(rate):
    value = gamma(rate)
    with mpmath.workdps(60):
        assert one_sided(rate) <= value + TIGHT
        assert value <= phi(rate) + TIGHT


@given(rates)
def test_gamma_equals_phi_exactly_above_the_critical_rate(rate):
    if rate >= critical_rate():
        assert to_decimal(gamma(rate), 30) == to_decimal(phi(rate), 30)
    elif rate > 0:  # the two curves meet at R = 0 and at R*, and φ is above Γ in between
        with mpmath.workdps(60):
            assert phi(rate) - gamma(rate) > 0
    else:
        assert gamma(rate) == phi(rate) == 1


def test_gamma_is_strictly_below_phi_just_below_the_critical_rate():
    below = Fraction(906, 1000)
    with mpmath.workdps(60):
        assert phi(below, digits=40) - gamma(below, digits=40) > mpmath.mpf(10) ** -12


def _one_sided_slopes(function, point: mpmath.mpf, step: mpmath.mpf):
    """(f(x) − f(x − h))/h and (f(x + h) − f(x))/h with certified values."""
    left = (function(point, digits=80) - function(point - step, digits=80)) / step
    right = (function(point + step, digits=80) - function(point, digits=80)) / step
    return left, right


def test_gamma_is_continuously_differentiable_at_the_critical_rate():
    with mpmath.workdps(100):
        point = critical_rate(digits=90)
        step = mpmath.mpf(10) ** -30
        left, right = _one_sided_slopes(gamma, point, step)
        derivative = gamma_derivative(point, digits=60)
        # Each one-sided difference is within O(h) of its branch's derivative.
        assert abs(left - derivative) < mpmath.mpf(10) ** -28
        assert abs(right - derivative) < mpmath.mpf(10) ** -28


@given(rates)
def test_gamma_derivative_matches_central_differences(rate):
    with mpmath.workdps(100):
        point = mpmath.mpf(rate.numerator) / rate.denominator
        step = mpmath.mpf(10) ** -25
        if point < step:  # the right derivative at 0
            slope = (gamma(step, digits=80) - gamma(0, digits=80)) / step
        else:
            slope = (gamma(point + step, digits=80) - gamma(point - step, digits=80)) / (2 * step)
        assert abs(slope - gamma_derivative(rate)) < mpmath.mpf(10) ** -20


@given(rates)
def test_gamma_inverse_undoes_gamma(rate):
    recovered = gamma_inverse(gamma(rate, digits=40), digits=30)
    with mpmath.workdps(60):
        assert abs(recovered - to_mpf(rate)) < TIGHT


@pytest.mark.parametrize("distortion", ["1", "0.9", "0.5", "7/16", "1e-3", "1e-40"])
def test_gamma_inverse_agrees_with_a_separate_root_finder(distortion):
    target = Fraction(distortion)
    with mpmath.workdps(60):
        # Bisection on the decreasing Γ, independent of the closed-form inversion. Γ is evaluated
        # at 120 digits: its form 1 − (1 − 2^(−2R))² cancels about 40 digits at D = 1e-40.
        low, high = mpmath.mpf(0), mpmath.mpf(200)
        for _ in range(260):
            middle = (low + high) / 2
            if gamma_lambert(middle, 120) > to_mpf(target):
                low = middle
            else:
                high = middle
        assert abs(gamma_inverse(distortion, digits=30) - low) < mpmath.mpf(10) ** -28 * (1 + low)


def test_gamma_inverse_at_distortion_one_is_rate_zero():
    assert gamma_inverse(1) == 0


@given(rates)
def test_time_sharing_fraction_reproduces_gamma_below_the_critical_rate(rate):
    fraction = time_sharing_fraction(rate)
    critical = critical_rate(digits=40)
    if rate >= critical:
        assert fraction == 1
    else:
        with mpmath.workdps(60):
            # Γ(R) = κ·φ(R*) + (1 − κ)·1: describe a fraction κ at rate R*, output 0 elsewhere.
            mixture = fraction * phi_definition(critical) + (1 - fraction)
            assert abs(mixture - gamma(rate)) < TIGHT


@given(rates)
def test_unequal_rates_equals_gamma_on_the_diagonal(rate):
    assert to_decimal(unequal_rates(rate, rate), 28) == to_decimal(gamma(rate), 28)


@given(rates, rates)
def test_unequal_rates_is_symmetric(rate_a, rate_b):
    assert to_decimal(unequal_rates(rate_a, rate_b), 30) == to_decimal(
        unequal_rates(rate_b, rate_a), 30
    )


@given(positive_rates, positive_rates)
def test_unequal_rates_matches_a_bounded_maximization_over_kappa(rate_a, rate_b):
    from scipy.optimize import minimize_scalar

    ra, rb = float(rate_a), float(rate_b)

    def negative_gain(kappa: float) -> float:
        return -kappa * (1 - 2 ** (-2 * ra / kappa)) * (1 - 2 ** (-2 * rb / kappa))

    result = minimize_scalar(
        negative_gain, bounds=(1e-12, 1.0), method="bounded", options={"xatol": 1e-13}
    )
    best = min(result.fun, negative_gain(1.0))
    assert abs(float(unequal_rates(rate_a, rate_b)) - (1 + best)) < 1e-9


@given(rates, rates, rates)
def test_unequal_rates_decreases_in_each_rate(rate_a, rate_b, extra):
    with mpmath.workdps(60):
        assert unequal_rates(rate_a + extra, rate_b) <= unequal_rates(rate_a, rate_b) + TIGHT


@given(rates)
def test_unequal_rates_with_one_rate_zero_is_trivial(rate):
    assert unequal_rates(rate, 0) == 1
    assert unequal_rates(0, rate) == 1


def test_one_sided_is_a_power_of_two():
    assert to_decimal(one_sided(3, digits=10), 10) == "0.01562500000"  # 1/64, exactly


def test_lower_bound_scales_gamma_by_the_problem_size():
    value = lower_bound(4096, 3, 5, "0.5", sigma_a="2", sigma_b="0.5", digits=40)
    with mpmath.workdps(70):
        expected = 4096 * 3 * 5 * 4 * gamma_lambert(Fraction(1, 2), 70) / 4
        assert to_decimal(value, 40) == mpmath.nstr(expected, 40, strip_zeros=False)


def test_lower_bound_at_an_integer_rate_is_exact():
    # n·a·b·Γ(1) = 4096·7/16.
    assert to_decimal(lower_bound(4096, 1, 1, 1, digits=10), 10) == "1792.000000"


FUNCTIONS_OF_RATE = [phi, gamma, gamma_derivative, time_sharing_fraction, one_sided]


@pytest.mark.parametrize("function", FUNCTIONS_OF_RATE, ids=lambda f: f.__name__)
@given(rate=rates)
def test_values_agree_across_precisions(function, rate):
    values = {digits: function(rate, digits=digits) for digits in (15, 30, 60, 100)}
    for low in (15, 30, 60):
        for high in (30, 60, 100):
            if high > low:
                assert to_decimal(values[high], low) == to_decimal(values[low], low)


@given(rates, rates)
def test_unequal_rates_agree_across_precisions(rate_a, rate_b):
    assert to_decimal(unequal_rates(rate_a, rate_b, digits=100), 15) == to_decimal(
        unequal_rates(rate_a, rate_b, digits=15), 15
    )


def test_gamma_inverse_agrees_across_precisions():
    for distortion in ("0.999", "0.5", "1e-9"):
        assert to_decimal(gamma_inverse(distortion, digits=100), 60) == to_decimal(
            gamma_inverse(distortion, digits=60), 60
        )


@pytest.mark.parametrize("function", FUNCTIONS_OF_RATE, ids=lambda f: f.__name__)
@pytest.mark.parametrize("bad", [-1, "-0.001", float("nan"), float("inf"), "inf", "x", None])
def test_functions_of_rate_reject_bad_rates_naming_rate(function, bad):
    with pytest.raises(ValueError, match=r"^rate must be"):
        function(bad)


@pytest.mark.parametrize("bad", [0, "0", -0.5, "1.0000001", 2, float("nan"), "abc"])
def test_gamma_inverse_rejects_distortions_outside_zero_one(bad):
    with pytest.raises(ValueError, match=r"^distortion must be"):
        gamma_inverse(bad)


def test_unequal_rates_names_the_bad_argument():
    with pytest.raises(ValueError, match=r"^rate_a must be"):
        unequal_rates(-1, 1)
    with pytest.raises(ValueError, match=r"^rate_b must be"):
        unequal_rates(1, float("nan"))


@pytest.mark.parametrize(
    ("arguments", "name"),
    [
        ((0, 1, 1, 1), "n"),
        ((1, -1, 1, 1), "a"),
        ((1, 1, 2.5, 1), "b"),
        ((1, 1, 1, -1), "rate"),
    ],
)
def test_lower_bound_rejects_bad_sizes(arguments, name):
    with pytest.raises(ValueError, match=rf"^{name} must be"):
        lower_bound(*arguments)


@pytest.mark.parametrize("sigma", [0, -1, float("inf")])
def test_lower_bound_rejects_bad_standard_deviations(sigma):
    with pytest.raises(ValueError, match=r"^sigma_a must be"):
        lower_bound(1, 1, 1, 1, sigma_a=sigma)


@pytest.mark.parametrize("digits", [0, 1001])
def test_every_function_rejects_digits_out_of_range(digits):
    for call in (
        lambda: gamma(1, digits=digits),
        lambda: critical_rate(digits=digits),
        lambda: unequal_rates(1, 1, digits=digits),
        lambda: gamma_inverse("0.5", digits=digits),
    ):
        with pytest.raises(ValueError, match=r"^digits must be"):
            call()


def test_thousand_digits_are_certified():
    value = gamma("0.5", digits=1000)
    assert to_decimal(value, 1000) == mpmath.nstr(
        gamma_lambert(Fraction(1, 2), 1040), 1000, strip_zeros=False
    )


@pytest.mark.parametrize(
    ("rate_a", "rate_b"), [(0.5, 0.5), (2.0, 0.1), (1.0, 0.2), (0.3, 0.6), (5.0, 0.05)]
)
def test_unequal_rates_is_not_beaten_by_mixing_two_allocations(rate_a, rate_b):
    # theory.md §1.2 takes the supremum over one fraction κ at rates (R_a/κ, R_b/κ). The converse
    # allows any allocation (r_i, t_i) with mean (R_a, R_b), i.e. the concave envelope of
    # (1 − 2^(−2r))(1 − 2^(−2t)). Search two-point allocations (three with the zero point) from
    # seeded random starts: none may beat the formula. See proofs/unequal_rates.md.
    from scipy.optimize import minimize
    from scipy.special import expit

    def gain(r: float, t: float) -> float:
        return (1 - 2.0 ** (-2 * r)) * (1 - 2.0 ** (-2 * t))

    def part(weight: float, r: float, t: float) -> float:
        # A vanishing fraction contributes nothing: κ·g(R/κ)·g(T/κ) → 0 as κ → 0.
        return weight * gain(r / weight, t / weight) if weight > 0 else 0.0

    def negative_mixture(x: np.ndarray) -> float:
        w1 = expit(x[0])
        w2 = (1 - w1) * expit(x[1])
        share_a, share_b = expit(x[2]), expit(x[3])
        return -(
            part(w1, share_a * rate_a, share_b * rate_b)
            + part(w2, (1 - share_a) * rate_a, (1 - share_b) * rate_b)
        )

    rng = np.random.default_rng(4_100_000)
    best = 0.0
    for _ in range(40):
        start = rng.normal(0, 2, 4)
        result = minimize(
            negative_mixture,
            start,
            method="Nelder-Mead",
            options={"xatol": 1e-10, "fatol": 1e-14, "maxiter": 4000},
        )
        if np.isfinite(result.fun):
            best = max(best, -result.fun)
    formula = 1 - float(unequal_rates(rate_a, rate_b))
    assert best <= formula + 1e-9
    assert best >= formula - 1e-6  # the search is good enough to find the formula's own optimum


@pytest.mark.parametrize("rate", [50, 100, 1000])
def test_unequal_rates_at_large_rates_does_not_cancel_to_zero(rate):
    # D(R, R) = Γ(R) = 2·4^(−R) − 16^(−R): tiny but positive. A form 1 − κ·g·g cancels to an
    # exact 0 here at any sensible precision; the reference must return the digits.
    exact = Fraction(2, 4**rate) - Fraction(1, 16**rate)
    with mpmath.workdps(40):
        value = unequal_rates(rate, rate, digits=20)
        assert abs(value - to_mpf(exact)) <= mpmath.mpf(10) ** -19 * to_mpf(exact)


def test_gamma_inverse_near_distortion_one_uses_the_exact_complement():
    # 1 − D = 10^-500 is lost if D is rounded before subtracting; R = R*·(1 − D)/(1 − φ(R*)).
    distortion = 1 - Fraction(1, 10**500)
    with mpmath.workdps(60):
        critical = critical_rate_lambert(60)
        expected = critical * mpmath.mpf(10) ** -500 / (1 - phi_definition(critical))
        assert abs(gamma_inverse(distortion, digits=30) - expected) < mpmath.mpf(10) ** -528


def test_exact_zeros_are_returned_exactly():
    assert gamma_inverse(1) == 0
    assert time_sharing_fraction(0) == 0
