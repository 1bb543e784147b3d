"""Finite-K scalar quantizer designs for Gaussian pairs (theory.md §2.4) against independent values.

Independent sources: closed forms (Lloyd–Max at K = 2; the sign quantizer's E|XY| and
E[sign X·sign Y] for every design at K = 2; the ρ = 1 stationarity conditions solved with SciPy),
a float64 Lloyd iteration written here with scipy.stats, Φ⁻¹ by root finding on mpmath.ncdf (not
erfinv), and E[D²] from quantmm.reference.product_moments (a different quadrature of a different
formula from the pair tables the designs use internally).
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
from scipy import optimize
from scipy.stats import norm

from quantmm.reference.precision import to_decimal
from quantmm.reference.product_moments import (
    _product_error_moments_at_working_precision,
    product_error_moments,
)
from quantmm.reference.scalar_codebook import ScalarCodebook
from quantmm.reference.scalar_design_matmul_lloyd import (
    _alternating_pair_float,
    _matmul_lloyd_history,
)
from quantmm.reference.scalar_designs import DESIGNS, design_codebook, lloyd_max_distortion

TIGHT = mpmath.mpf(10) ** -27  # slack for values certified to 30 digits


def moments(book_x, book_y, rho, dps=25):
    """(E[D²], E[D]) from product_moments's quadrature, evaluated once at ``dps`` digits (its own
    tolerance is the working precision; the public, certified product_error_moments evaluates
    twice and refuses E[D] when it is exactly 0, as for matmul-Lloyd at |ρ| = 1)."""
    exact = Fraction(rho)
    with mpmath.workdps(dps):
        return _product_error_moments_at_working_precision(
            book_x, book_y, mpmath.mpf(exact.numerator) / exact.denominator
        )


def second_moment(book_x, book_y, rho, dps=25):
    return moments(book_x, book_y, rho, dps)[0]


def float_codebook(levels, thresholds, name="float") -> ScalarCodebook:
    with mpmath.workdps(30):
        return ScalarCodebook(
            tuple(mpmath.mpf(float(v)) for v in levels),
            tuple(mpmath.mpf(float(v)) for v in thresholds),
            name,
        )


def scaled(book: ScalarCodebook, factor) -> ScalarCodebook:
    """Every level and threshold times ``factor`` (computed at 60 digits)."""
    with mpmath.workdps(60):
        return ScalarCodebook(
            tuple(v * factor for v in book.levels),
            tuple(v * factor for v in book.thresholds),
            book.design,
        )


def scipy_lloyd_max(size: int) -> np.ndarray:
    """Independent float64 Lloyd iteration (scipy.stats.norm, tails through the survival
    function), from uniformly spread points, to a change below 1e-14."""
    levels = np.linspace(-2, 2, size) if size > 1 else np.zeros(1)
    for _ in range(200_000):
        cuts = np.concatenate(([-np.inf], (levels[1:] + levels[:-1]) / 2, [np.inf]))
        mass = norm.sf(cuts[:-1]) - norm.sf(cuts[1:])
        updated = (norm.pdf(cuts[:-1]) - norm.pdf(cuts[1:])) / mass
        if np.max(np.abs(updated - levels)) < 1e-14:
            return updated
        levels = updated
    raise AssertionError("the reference Lloyd iteration did not converge")


def abs_product_mean(rho: float) -> float:
    """E|XY| = (2/π)(√(1 − ρ²) + ρ·arcsin ρ) for a standard Gaussian pair, ρ ≥ 0."""
    return 2 / math.pi * (math.sqrt(1 - rho * rho) + rho * math.asin(rho))


# ---------------------------------------------------------------------------------------------
# Lloyd–Max.
# ---------------------------------------------------------------------------------------------


def test_lloyd_max_two_levels_is_the_scaled_sign():
    # Closed form: the centroid of the half line is E[X | X > 0] = √(2/π), MSE 1 − 2/π.
    book = design_codebook("lloyd_max", 0, 2, digits=30)
    distortion = lloyd_max_distortion(2, digits=30)
    with mpmath.workdps(60):
        root = mpmath.sqrt(2 / mpmath.pi)
        assert abs(book.levels[1] - root) < TIGHT and book.levels[0] == -book.levels[1]
        assert book.thresholds == (0,)
        assert abs(distortion - (1 - 2 / mpmath.pi)) < TIGHT
    assert lloyd_max_distortion(1, digits=20) == 1  # the single level 0: E[X²]


@pytest.mark.parametrize("size", range(1, 9))
def test_lloyd_max_satisfies_centroid_and_midpoint_conditions(size):
    # The conditions are re-evaluated here at 60 digits with mpmath.ncdf/npdf, and the levels are
    # compared with an independent float Lloyd iteration (scipy.stats).
    book = design_codebook("lloyd_max", "0.3", size, digits=30)  # independent of ρ
    with mpmath.workdps(60):
        for m, threshold in enumerate(book.thresholds):
            assert abs(threshold - (book.levels[m] + book.levels[m + 1]) / 2) < TIGHT
        for level, (left, right) in zip(book.levels, book.cells(), strict=True):
            mass = mpmath.ncdf(-left) - mpmath.ncdf(-right)
            dens_left = mpmath.npdf(left) if mpmath.isfinite(left) else 0
            dens_right = mpmath.npdf(right) if mpmath.isfinite(right) else 0
            assert abs(level - (dens_left - dens_right) / mass) < TIGHT
    reference = scipy_lloyd_max(size)
    assert np.allclose([float(v) for v in book.levels], reference, rtol=0, atol=1e-10)


def test_lloyd_max_at_sixty_four_levels_satisfies_its_conditions():
    # K = 64, the largest size asked for: the midpoint and centroid conditions re-evaluated at
    # 60 digits (a float Lloyd iteration needs ~10⁵ steps to reach 1e-10 here).
    book = design_codebook("lloyd_max", 0, 64, digits=20)
    slack = mpmath.mpf(10) ** -18
    with mpmath.workdps(60):
        for m, threshold in enumerate(book.thresholds):
            assert abs(threshold - (book.levels[m] + book.levels[m + 1]) / 2) < slack
        for level, (left, right) in zip(book.levels, book.cells(), strict=True):
            mass = mpmath.ncdf(-left) - mpmath.ncdf(-right)
            dens_left = mpmath.npdf(left) if mpmath.isfinite(left) else 0
            dens_right = mpmath.npdf(right) if mpmath.isfinite(right) else 0
            assert abs(level - (dens_left - dens_right) / mass) < slack


def test_lloyd_max_distortion_matches_the_design_error_identity():
    # At ρ = 0 with Lloyd–Max on both sides, E[XQ(X)] = E[Q(X)²] = 1 − mse, so
    # E[D²] = 1 − 2(1 − mse)² + (1 − mse)² = 1 − (1 − mse)² (E[D²] from product_moments).
    for size in (3, 6):
        book = design_codebook("lloyd_max", 0, size, digits=30)
        mse = lloyd_max_distortion(size, digits=30)
        error = second_moment(book, book, 0, dps=40)
        with mpmath.workdps(60):
            assert abs(error - (1 - (1 - mse) ** 2)) < TIGHT


# ---------------------------------------------------------------------------------------------
# Companders.
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [1, 2, 3, 4, 7, 9, 64])
def test_panter_dite_points_are_sqrt3_times_the_normal_quantiles(size):
    # Φ⁻¹ by mpmath.findroot on ncdf at 60 digits (the code uses erfinv), and scipy's ndtri.
    book = design_codebook("pd", "0.7", size, digits=30)
    with mpmath.workdps(60):
        for i, level in enumerate(book.levels, start=1):
            p = mpmath.mpf(2 * i - 1) / (2 * size)
            quantile = mpmath.findroot(lambda x, p=p: mpmath.ncdf(x) - p, 0)
            assert abs(level - mpmath.sqrt(3) * quantile) < TIGHT
            assert abs(float(level) - math.sqrt(3) * norm.ppf((i - 0.5) / size)) < 1e-13
        for m, threshold in enumerate(book.thresholds):
            assert abs(threshold - (book.levels[m] + book.levels[m + 1]) / 2) < TIGHT


@pytest.mark.parametrize("size", [2, 5, 16])
def test_opt_compander_at_zero_correlation_is_panter_dite(size):
    # λ* at ρ = 0 is the N(0, 3) density; the two designs are computed by different code (the
    # λ* quantile of scalar_gaussian against erfinv).
    opt = design_codebook("opt", 0, size, digits=30)
    pd = design_codebook("pd", 0, size, digits=30)
    with mpmath.workdps(60):
        for a, b in zip((*opt.levels, *opt.thresholds), (*pd.levels, *pd.thresholds), strict=True):
            assert abs(a - b) < TIGHT


# ---------------------------------------------------------------------------------------------
# Every design: symmetry, regularity, precision.
# ---------------------------------------------------------------------------------------------


def all_designs(rho, size, digits=15):
    for design in DESIGNS:
        k = 1000 if design == "matmul_lloyd_bias" else None
        yield design, design_codebook(design, rho, size, digits=digits, k=k)


@pytest.mark.parametrize("size", [1, 2, 3, pytest.param(4, marks=pytest.mark.slow)])
def test_every_design_is_symmetric_and_regular(size):
    # Exact mirror symmetry; the middle level (odd K) or threshold (even K) is exactly 0;
    # ScalarCodebook itself checks levels[i] < thresholds[i] < levels[i + 1].
    for design, book in all_designs("0.6", size):
        assert book.size == size and book.design == design
        # (a + b == 0 is exact; −b would be rounded to the 15-digit test precision.)
        assert all(a + b == 0 for a, b in zip(book.levels, reversed(book.levels), strict=True))
        pairs = zip(book.thresholds, reversed(book.thresholds), strict=True)
        assert all(s + t == 0 for s, t in pairs)
        if size % 2:
            assert book.levels[size // 2] == 0
        else:
            assert book.thresholds[size // 2 - 1] == 0
        assert all(x < y for x, y in itertools.pairwise(book.levels))


def test_designs_depend_on_the_magnitude_of_rho_only():
    # (X, Y) → (X, −Y) maps D to −D for a symmetric codebook, so E[D²] and E[D]² are even in ρ.
    for design, book in all_designs("0.6", 3):
        k = 1000 if design == "matmul_lloyd_bias" else None
        assert design_codebook(design, "-0.6", 3, digits=15, k=k) == book


@pytest.mark.parametrize("design", DESIGNS)
def test_values_agree_across_precisions(design):
    # 15 and 30 certified digits round to the same 15 digits.
    k = 1000 if design == "matmul_lloyd_bias" else None
    low = design_codebook(design, "0.5", 3, digits=15, k=k)
    high = design_codebook(design, "0.5", 3, digits=30, k=k)
    for a, b in zip((*low.levels, *low.thresholds), (*high.levels, *high.thresholds), strict=True):
        assert to_decimal(a, 15) == to_decimal(b, 15)


# ---------------------------------------------------------------------------------------------
# K = 2 closed forms: every regular symmetric 2-level codebook is a·sign(x); E[D²] is
# 1 + 2ρ² − 2a²·E|XY| + a⁴ and E[D] = ρ − a²·(2/π)·arcsin ρ.
# ---------------------------------------------------------------------------------------------


@settings(max_examples=3)
@given(st.fractions(min_value=0, max_value=1, max_denominator=50))
def test_two_level_matmul_designs_match_the_sign_closed_form(rho):
    # Minimizing over u = a²: E[D²] gives u = E|XY|; with β = k − 1 the bias-aware objective
    # E[D²] + β·E[D]² gives u = (E|XY| + βρC)/(1 + βC²), C = (2/π)·arcsin ρ.
    value = float(rho)
    expected = math.sqrt(abs_product_mean(value))
    for design in ("matmul_lloyd", "uniform"):
        book = design_codebook(design, rho, 2, digits=16)
        assert book.thresholds == (0,)
        assert abs(float(book.levels[1]) - expected) < 1e-14
    beta, orthant = 99, 2 / math.pi * math.asin(value)
    biased = (abs_product_mean(value) + beta * value * orthant) / (1 + beta * orthant**2)
    book = design_codebook("matmul_lloyd_bias", rho, 2, digits=16, k=beta + 1)
    assert abs(float(book.levels[1]) - math.sqrt(biased)) < 1e-14


# ---------------------------------------------------------------------------------------------
# Uniform.
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rho", "size"), [("0.9", 3), pytest.param("0.5", 4, marks=pytest.mark.slow)]
)
def test_uniform_step_is_a_local_minimum(rho, size):
    # E[D²] from product_moments at Δ and Δ(1 ± 1e-6): both neighbours are larger. The change is
    # about E''·Δ²·1e-12, so the values are computed and compared at 35 digits.
    book = design_codebook("uniform", rho, size, digits=25)
    with mpmath.workdps(40):
        step = book.levels[1] - book.levels[0]
        assert all(
            abs((b - a) - step) < mpmath.mpf(10) ** -23
            for a, b in zip(book.levels, book.levels[1:], strict=False)
        )
    centre = second_moment(book, book, rho, dps=35)
    for factor in ("0.999999", "1.000001"):
        neighbour = scaled(book, mpmath.mpf(factor))
        with mpmath.workdps(35):
            assert second_moment(neighbour, neighbour, rho, dps=35) > centre


# ---------------------------------------------------------------------------------------------
# matmul-Lloyd.
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rho", "size"),
    [("0", 3), ("0.9", 4), ("1", 4), pytest.param("0.3", 5, marks=pytest.mark.slow)],
)
def test_matmul_lloyd_never_does_worse_than_its_start(rho, size):
    # E[D²] of both codebooks from product_moments; the start is the opt compander.
    start = design_codebook("opt", rho, size, digits=15)
    design = design_codebook("matmul_lloyd", rho, size, digits=15)
    with mpmath.workdps(25):
        assert second_moment(design, design, rho) < second_moment(start, start, rho)


@pytest.mark.parametrize(
    ("rho", "size", "k"),
    [("0.5", 4, None), ("0.5", 3, 50), pytest.param("0.99", 4, None, marks=pytest.mark.slow)],
)
def test_matmul_lloyd_history_is_non_increasing(rho, size, k):
    # The recorded objective is non-increasing, and so is E[D²] (or the bias-aware objective)
    # re-evaluated independently by product_moments at a spread of the recorded iterates and at the
    # returned design (the working-precision polish of the last iterate).
    history = _matmul_lloyd_history(rho, size, k)
    values = [entry.objective for entry in history]
    assert history[0].stage == "start" and {"lloyd", "bfgs"} <= {e.stage for e in history}
    assert all(b <= a for a, b in itertools.pairwise(values))
    picks = sorted({0, 1, len(history) // 2, len(history) - 1})
    books = [float_codebook(history[i].levels, history[i].thresholds) for i in picks]
    design = "matmul_lloyd" if k is None else "matmul_lloyd_bias"
    books.append(design_codebook(design, rho, size, digits=15, k=k))
    objectives = []
    for book in books:
        second, mean = moments(book, book, rho, dps=20)
        with mpmath.workdps(20):
            beta = 0 if k is None else k - 1
            objectives.append(second + beta * mean**2)
    with mpmath.workdps(20):
        slack = mpmath.mpf(10) ** -12
        assert all(b <= a + slack for a, b in itertools.pairwise(objectives))
        assert objectives[-1] < objectives[0]


@pytest.mark.parametrize("size", [2, 3, 4, 5, 6])
def test_matmul_lloyd_at_zero_correlation_is_lloyd_max(size):
    # At ρ = 0, g and h are constants G, H: the best response is a_i = (G/H)·centroid_i with
    # thresholds (H/G)·midpoints. For the common codebook G/H = 1/c when Q = c·(Lloyd–Max), so the
    # fixed point has c = 1/c, c = 1: exactly Lloyd–Max (no gauge freedom on the diagonal).
    design = design_codebook("matmul_lloyd", 0, size, digits=30)
    lloyd = design_codebook("lloyd_max", 0, size, digits=30)
    with mpmath.workdps(60):
        for a, b in zip(
            (*design.levels, *design.thresholds), (*lloyd.levels, *lloyd.thresholds), strict=True
        ):
            assert abs(a - b) < TIGHT


def test_alternating_pair_iteration_at_zero_correlation_reaches_lloyd_max():
    # For a pair the fixed points at ρ = 0 are (c·LM, LM/c) for every c > 0 (the product is what
    # matters); the diagnostic balances the gauge (Σa² = Σb²), which selects c = 1.
    ax, tx, ay, ty, history = _alternating_pair_float(0.0, 3, steps=120)
    reference = scipy_lloyd_max(3)
    assert np.allclose(ax, reference, atol=1e-6) and np.allclose(ay, reference, atol=1e-6)
    assert np.allclose(tx, ty, atol=1e-6)
    assert all(b <= a + 1e-15 for a, b in itertools.pairwise(history))


def test_alternating_pair_iteration_leaves_the_diagonal_at_large_correlation():
    # Finding (module docstring): at ρ = 0.9, K = 4 the unrestricted alternating iteration ends
    # at Q_X ≠ Q_Y with interleaved thresholds, with an E[D²] (product_moments, for the pair) below
    # that of the best common codebook — so the common-codebook design is a restriction.
    ax, tx, ay, ty, _ = _alternating_pair_float(0.9, 4, steps=110)
    assert abs(tx[-1] - ty[-1]) > 0.3
    pair = second_moment(float_codebook(ax, tx), float_codebook(ay, ty), "0.9")
    common = design_codebook("matmul_lloyd", "0.9", 4, digits=15)
    with mpmath.workdps(25):
        assert pair < second_moment(common, common, "0.9") - mpmath.mpf("0.03")


@pytest.mark.parametrize(
    ("rho", "size"), [("0.95", 3), pytest.param("0.5", 4, marks=pytest.mark.slow)]
)
def test_matmul_lloyd_is_a_local_minimum_of_the_error(rho, size):
    # E[D²] from product_moments (25 digits) after moving the outermost level or threshold pair by
    # ±δ: both moves increase it, and symmetrically (first-order term ≤ 1% of the second-order
    # one: a stationary point, not just a point better than its neighbours). The changes are
    # ~1e-7, so 25 digits resolve them amply.
    book = design_codebook("matmul_lloyd", rho, size, digits=15)
    centre = second_moment(book, book, rho)
    delta = mpmath.mpf("1e-3")
    for kind in ("levels", "thresholds"):
        changes = []
        for sign in (1, -1):
            with mpmath.workdps(40):
                values = list(getattr(book, kind))
                values[-1] += sign * delta
                values[0] -= sign * delta
                moved = ScalarCodebook(
                    tuple(values) if kind == "levels" else book.levels,
                    tuple(values) if kind == "thresholds" else book.thresholds,
                )
                changes.append(second_moment(moved, moved, rho) - centre)
        with mpmath.workdps(40):
            assert changes[0] > 0 and changes[1] > 0
            assert abs(changes[0] - changes[1]) < mpmath.mpf("0.01") * (changes[0] + changes[1])


def test_matmul_lloyd_at_full_correlation_solves_the_scalar_equations():
    # ρ = 1: E[D²] = E[(X² − Q(X)²)²], stationary when a_i² = E[X² | S_i] and
    # t_m² = (a_m² + a_(m+1)²)/2. Solved here with scipy.optimize for K = 3 (levels 0, ±a) and
    # K = 4 (levels ±a₁, ±a₂, threshold ±t).
    def tail_second(t):  # E[X² | X > t]
        return 1 + t * norm.pdf(t) / norm.sf(t)

    def head_second(t):  # E[X² | 0 < X < t]
        return 1 - t * norm.pdf(t) / (norm.cdf(t) - 0.5)

    t3 = optimize.brentq(lambda t: t * t - tail_second(t) / 2, 0.1, 5)
    book = design_codebook("matmul_lloyd", 1, 3, digits=20)
    assert abs(float(book.thresholds[1]) - t3) < 1e-12
    assert abs(float(book.levels[2]) - math.sqrt(tail_second(t3))) < 1e-12
    t4 = optimize.brentq(lambda t: t * t - (head_second(t) + tail_second(t)) / 2, 0.1, 5)
    book = design_codebook("matmul_lloyd", -1, 4, digits=20)
    assert abs(float(book.thresholds[2]) - t4) < 1e-12
    assert abs(float(book.levels[2]) - math.sqrt(head_second(t4))) < 1e-12
    assert abs(float(book.levels[3]) - math.sqrt(tail_second(t4))) < 1e-12
    # For even K, summing a_i²·P(S_i) = E[X²; S_i] over the cells gives E[Q(X)²] = E[X²] = 1,
    # so the design is unbiased at |ρ| = 1: E[D] = ρ·(1 − E[Q(X)²]) = 0 (60 digits, with ncdf).
    book = design_codebook("matmul_lloyd", 1, 6, digits=30)
    with mpmath.workdps(60):
        total = sum(
            a * a * (mpmath.ncdf(-left) - mpmath.ncdf(-right))
            for a, (left, right) in zip(book.levels, book.cells(), strict=True)
        )
        assert abs(total - 1) < TIGHT


def test_bias_aware_design_trades_second_moment_for_bias_at_large_k():
    # At k = 1000 (≫ K²) the bias-aware design has a smaller |E[D]| and a smaller
    # k·E[D²] + k(k − 1)·E[D]² than plain matmul-Lloyd (moments from product_moments).
    k, rho = 1000, "0.5"
    plain = design_codebook("matmul_lloyd", rho, 4, digits=15)
    biased = design_codebook("matmul_lloyd_bias", rho, 4, digits=15, k=k)
    plain_moments = product_error_moments(plain, plain, rho, digits=15)
    biased_moments = product_error_moments(biased, biased, rho, digits=15)
    assert abs(biased_moments.mean) < abs(plain_moments.mean) / 10

    def objective(moments):
        with mpmath.workdps(30):
            return k * moments.second_moment + k * (k - 1) * moments.mean**2

    assert objective(biased_moments) < objective(plain_moments)
    assert biased_moments.second_moment > plain_moments.second_moment  # the price paid


def test_bias_aware_design_with_k_one_is_plain_matmul_lloyd():
    # k = 1: the objective k·E[D²] + k(k − 1)·E[D]² is E[D²].
    plain = design_codebook("matmul_lloyd", "0.6", 3, digits=15)
    biased = design_codebook("matmul_lloyd_bias", "0.6", 3, digits=15, k=1)
    plain_values = (*plain.levels, *plain.thresholds)
    for a, b in zip(plain_values, (*biased.levels, *biased.thresholds), strict=True):
        assert to_decimal(a, 15) == to_decimal(b, 15)


# ---------------------------------------------------------------------------------------------
# Bad inputs.
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arguments", "name"),
    [
        (("lloyd", 0, 4), "design"),
        (("opt", float("nan"), 4), "rho"),
        (("opt", float("inf"), 4), "rho"),
        (("opt", "1.5", 4), "rho"),
        (("opt", -2, 4), "rho"),
        (("opt", "abc", 4), "rho"),
        (("opt", 0, 0), "levels"),
        (("opt", 0, 2.5), "levels"),
        (("opt", 0, True), "levels"),
        (("opt", 0, "four"), "levels"),
    ],
)
def test_bad_arguments_raise_value_errors_naming_them(arguments, name):
    with pytest.raises(ValueError, match=name):
        design_codebook(*arguments)


def test_bad_digits_and_k_raise_value_errors_naming_them():
    for digits in (0, 1001, 2.5):
        with pytest.raises(ValueError, match="digits"):
            design_codebook("pd", 0, 4, digits=digits)
        with pytest.raises(ValueError, match="digits"):
            lloyd_max_distortion(4, digits=digits)
    with pytest.raises(ValueError, match="k"):
        design_codebook("matmul_lloyd_bias", 0, 4)
    with pytest.raises(ValueError, match="k"):
        design_codebook("matmul_lloyd_bias", 0, 4, k=0)
    with pytest.raises(ValueError, match="k"):
        design_codebook("matmul_lloyd", 0, 4, k=10)
    with pytest.raises(ValueError, match="levels"):
        lloyd_max_distortion(0)


def test_levels_are_bounded_per_design_in_every_public_function():
    from quantmm.reference import MAX_LEVELS, design_codebook, lloyd_max_distortion, scalar_error

    assert set(MAX_LEVELS) == set(DESIGNS)
    with pytest.raises(ValueError, match=r"levels must be an integer in \[1, 64\]"):
        lloyd_max_distortion(65, digits=5)
    with pytest.raises(ValueError, match=r"in \[1, 4096\] for design 'pd'"):
        design_codebook("pd", 0, 10**6, digits=5)
    with pytest.raises(ValueError, match=r"levels must be an integer in \[1, 64\]"):
        scalar_error("uniform", 0, "1000000", digits=5)
