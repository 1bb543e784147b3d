"""Exact E[D²] and E[D] of scalar quantizers on Gaussian pairs (theory.md §2.1, §2.4).

Independent references: closed forms for the sign quantizer (E[sign X sign Y] = (2/π)·arcsin ρ and
E|XY| = (2/π)(√(1−ρ²) + ρ·arcsin ρ)), the degenerate case Y = ±X in closed form, a float64 SciPy
quadrature of the *unsubtracted* integrand E[(xY − a·Q_Y(Y))² | x], and a seeded Monte Carlo.
"""

from __future__ import annotations

import math
from fractions import Fraction

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate
from scipy.stats import norm

from quantmm.reference.precision import to_decimal
from quantmm.reference.product_moments import (
    ProductErrorMoments,
    mean_squared_error,
    product_error_moments,
)
from quantmm.reference.scalar_codebook import ScalarCodebook

SEED = 2_000_003
correlations = st.fractions(min_value=-1, max_value=1, max_denominator=1000)


def codebook(levels, thresholds, name="test") -> ScalarCodebook:
    with mpmath.workdps(50):
        return ScalarCodebook(
            tuple(mpmath.mpf(v) for v in levels), tuple(mpmath.mpf(t) for t in thresholds), name
        )


def sign_codebook() -> ScalarCodebook:
    with mpmath.workdps(80):
        root = mpmath.sqrt(2 / mpmath.pi)
        return ScalarCodebook((-root, root), (mpmath.mpf(0),), "sign")


def sign_closed_form(rho: mpmath.mpf) -> tuple[mpmath.mpf, mpmath.mpf]:
    """(E[D²], E[D]) for Q = √(2/π)·sign on both sides, from Gaussian orthant identities."""
    c2 = 2 / mpmath.pi
    arcsine = mpmath.asin(rho)
    abs_product = (2 / mpmath.pi) * (mpmath.sqrt(1 - rho**2) + rho * arcsine)
    second = 1 + 2 * rho**2 - 2 * c2 * abs_product + c2**2
    mean = rho - c2 * (2 / mpmath.pi) * arcsine
    return second, mean


@settings(max_examples=12)
@given(correlations)
def test_sign_quantizer_matches_its_closed_form(rho):
    moments = product_error_moments(sign_codebook(), sign_codebook(), rho, digits=25)
    with mpmath.workdps(50):
        rho_mp = mpmath.mpf(rho.numerator) / rho.denominator
        second, mean = sign_closed_form(rho_mp)
        assert to_decimal(moments.second_moment, 25) == to_decimal(second, 25)
        if rho == 0:
            assert moments.mean == 0
        else:
            assert to_decimal(moments.mean, 25) == to_decimal(mean, 25)


@pytest.mark.parametrize("rho", [1, -1])
def test_degenerate_pairs_match_the_one_dimensional_closed_form(rho):
    # Y = ±X: D = ±(X² − c²) with c² = 2/π, so E[D] = ±(1 − c²), E[D²] = 3 − 2c² + c⁴.
    moments = product_error_moments(sign_codebook(), sign_codebook(), rho, digits=30)
    with mpmath.workdps(60):
        c2 = 2 / mpmath.pi
        assert to_decimal(moments.second_moment, 30) == to_decimal(3 - 2 * c2 + c2**2, 30)
        assert to_decimal(moments.mean, 30) == to_decimal(rho * (1 - c2), 30)


def scipy_moments(levels_x, thresholds_x, levels_y, thresholds_y, rho):
    """float64 (E[D²], E[D]) by SciPy: ∫ φ(x)·E[(xY − a·Q_Y(Y))² | x] dx over each X-cell."""
    sigma = math.sqrt(1 - rho * rho)
    edges_y = [-np.inf, *thresholds_y, np.inf]

    def conditional(x, a):
        mean_y = rho * x
        second = mean = 0.0
        for j, b in enumerate(levels_y):
            lo, hi = (edges_y[j] - mean_y) / sigma, (edges_y[j + 1] - mean_y) / sigma
            mass = norm.cdf(hi) - norm.cdf(lo)
            first = mean_y * mass + sigma * (norm.pdf(lo) - norm.pdf(hi))
            second_y = (mean_y**2 + sigma**2) * mass + sigma * (
                (edges_y[j] + mean_y if np.isfinite(lo) else 0) * norm.pdf(lo)
                - (edges_y[j + 1] + mean_y if np.isfinite(hi) else 0) * norm.pdf(hi)
            )
            second += x * x * second_y - 2 * a * b * x * first + (a * b) ** 2 * mass
            mean += x * first - a * b * mass
        return second, mean

    edges_x = [-np.inf, *thresholds_x, np.inf]
    total_second = total_mean = 0.0
    for i, a in enumerate(levels_x):
        points = (
            [p / rho for p in thresholds_y if edges_x[i] < p / rho < edges_x[i + 1]] if rho else []
        )
        options = (
            {"points": points}
            if points and np.isfinite(edges_x[i]) and np.isfinite(edges_x[i + 1])
            else {}
        )
        total_second += integrate.quad(
            lambda x, a=a: norm.pdf(x) * conditional(x, a)[0],
            edges_x[i],
            edges_x[i + 1],
            epsabs=1e-13,
            epsrel=1e-12,
            limit=200,
            **options,
        )[0]
        total_mean += integrate.quad(
            lambda x, a=a: norm.pdf(x) * conditional(x, a)[1],
            edges_x[i],
            edges_x[i + 1],
            epsabs=1e-13,
            epsrel=1e-12,
            limit=200,
            **options,
        )[0]
    return total_second, total_mean


@pytest.mark.parametrize("rho", [0.0, 0.3, -0.6, 0.9])
def test_asymmetric_codebooks_agree_with_scipy_quadrature(rho):
    levels_x, thresholds_x = [-1.7, -0.4, 0.35, 1.2, 2.5], [-1.0, 0.0, 0.8, 1.9]
    levels_y, thresholds_y = [-0.9, 0.1, 1.3], [-0.5, 0.6]
    moments = product_error_moments(
        codebook(levels_x, thresholds_x), codebook(levels_y, thresholds_y), Fraction(rho), digits=15
    )
    second, mean = scipy_moments(levels_x, thresholds_x, levels_y, thresholds_y, rho)
    assert math.isclose(float(moments.second_moment), second, rel_tol=1e-8, abs_tol=1e-10)
    assert math.isclose(float(moments.mean), mean, rel_tol=1e-8, abs_tol=1e-10)


def test_four_level_codebook_agrees_with_a_seeded_monte_carlo():
    rho, samples = 0.7, 2_000_000
    levels, thresholds = [-1.5, -0.45, 0.45, 1.5], [-1.0, 0.0, 1.0]
    moments = product_error_moments(
        codebook(levels, thresholds), codebook(levels, thresholds), "0.7", digits=12
    )
    rng = np.random.default_rng(SEED)
    x = rng.standard_normal(samples)
    y = rho * x + math.sqrt(1 - rho * rho) * rng.standard_normal(samples)
    q = np.asarray(levels)
    d = x * y - q[np.searchsorted(thresholds, x)] * q[np.searchsorted(thresholds, y)]
    for exact, draws in ((moments.second_moment, d * d), (moments.mean, d)):
        error = draws.std(ddof=1) / math.sqrt(samples)
        assert abs(float(exact) - draws.mean()) <= 4 * error, (
            f"seed={SEED}: exact {float(exact):.6f} vs Monte Carlo {draws.mean():.6f} ± {error:.1e}"
        )


def test_symmetric_codebooks_have_an_exactly_zero_mean_at_rho_zero():
    assert product_error_moments(sign_codebook(), sign_codebook(), 0).mean == 0


def test_asymmetric_codebook_at_rho_zero_has_mean_minus_product_of_means():
    # Independent X, Y: E[D] = −E[Q_X(X)]·E[Q_Y(Y)], each a sum of level × cell mass.
    levels, thresholds = [-1, 0.5, 2], [-0.5, 1]
    one_sided = product_error_moments(
        codebook(levels, thresholds), codebook(levels, thresholds), 0, digits=20
    )
    with mpmath.workdps(50):
        edges = [-mpmath.inf, mpmath.mpf(-0.5), mpmath.mpf(1), mpmath.inf]
        mean_q = sum(
            mpmath.mpf(a) * (mpmath.ncdf(edges[i + 1]) - mpmath.ncdf(edges[i]))
            for i, a in enumerate(levels)
        )
        assert to_decimal(one_sided.mean, 20) == to_decimal(-(mean_q**2), 20)


def test_moments_are_continuous_as_the_correlation_reaches_one():
    near = product_error_moments(sign_codebook(), sign_codebook(), "0.999999", digits=10)
    at_one = product_error_moments(sign_codebook(), sign_codebook(), 1, digits=10)
    assert abs(float(near.second_moment) - float(at_one.second_moment)) < 1e-2
    assert abs(float(near.mean) - float(at_one.mean)) < 1e-2


def test_values_agree_across_precisions():
    levels, thresholds = [-1.5, -0.45, 0.45, 1.5], [-1.0, 0.0, 1.0]
    book = codebook(levels, thresholds)
    high = product_error_moments(book, book, "0.4", digits=40)
    low = product_error_moments(book, book, "0.4", digits=15)
    assert to_decimal(high.second_moment, 15) == to_decimal(low.second_moment, 15)
    assert to_decimal(high.mean, 15) == to_decimal(low.mean, 15)
    assert isinstance(low, ProductErrorMoments)


def test_mean_squared_error_closed_forms():
    # Sign quantizer: 1 − 2/π; the single level 0: E[X²] = 1.
    with mpmath.workdps(40):
        assert to_decimal(mean_squared_error(sign_codebook(), digits=25), 25) == to_decimal(
            1 - 2 / mpmath.pi, 25
        )
    assert to_decimal(mean_squared_error(codebook([0], []), digits=10), 10) == "1.000000000"


def test_mean_squared_error_agrees_with_scipy():
    levels, thresholds = [-1.2, 0.1, 0.9], [-0.6, 0.5]
    edges = [-np.inf, *thresholds, np.inf]
    expected = sum(
        integrate.quad(lambda x, a=a: (x - a) ** 2 * norm.pdf(x), edges[i], edges[i + 1])[0]
        for i, a in enumerate(levels)
    )
    assert math.isclose(
        float(mean_squared_error(codebook(levels, thresholds))), expected, rel_tol=1e-10
    )


@pytest.mark.parametrize("rho", [-1.01, 2, float("nan"), "x"])
def test_bad_correlations_are_rejected(rho):
    with pytest.raises(ValueError, match=r"^rho must be"):
        product_error_moments(sign_codebook(), sign_codebook(), rho)


def test_codebooks_must_be_codebooks():
    with pytest.raises(ValueError, match="codebook_y must be a ScalarCodebook"):
        product_error_moments(sign_codebook(), [1, 2], 0)
    with pytest.raises(ValueError, match="codebook must be a ScalarCodebook"):
        mean_squared_error((0,))


def test_codebook_validation():
    with pytest.raises(ValueError, match="thresholds must hold"):
        codebook([0, 1], [])
    with pytest.raises(ValueError, match="threshold 0 must lie strictly between"):
        codebook([0, 1], [2])
    with pytest.raises(ValueError, match="must be finite"):
        codebook([0, float("inf")], [0.5])
