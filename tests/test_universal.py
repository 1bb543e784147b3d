"""The universal nested-lattice guarantee (theory.md §1.3) and the exact centered norms.

The guarantee's constants are checked against a Monte Carlo simulation of the idealized scheme
(shared rotation, additive quantization noise independent of the data, MMSE or unbiased scaling),
written here from the scheme's description, not from the formula.
"""

from __future__ import annotations

import math
from fractions import Fraction

import mpmath
import numpy as np
import pytest

from quantmm.reference import centered_frobenius_norms, to_decimal, universal_guarantee

SEED = 1_300_000
Z_SCORE = 4.0


def test_centered_norms_of_a_small_example_by_hand():
    # A = [[1, 0], [3, 2]]: centered columns (−1, 1) and (−1, 1); B = [[1], [2]]: (−1/2, 1/2).
    # ĀᵀB̄ = [1, 1]ᵀ, so ||ĀᵀB̄||² = 2, ||Ā||² = 4, ||B̄||² = 1/2.
    norms = centered_frobenius_norms([[1, 0], [3, 2]], [[1], [2]])
    assert norms == (Fraction(2), Fraction(4), Fraction(1, 2), 2)


def test_centered_norms_agree_with_numpy_in_float64():
    rng = np.random.default_rng(SEED)
    A = rng.normal(3.0, 2.0, (40, 5))
    B = rng.normal(-1.0, 0.5, (40, 7))
    norms = centered_frobenius_norms(A, B)
    A_bar, B_bar = A - A.mean(axis=0), B - B.mean(axis=0)
    floats = (
        np.sum((A_bar.T @ B_bar) ** 2),
        np.sum(A_bar**2),
        np.sum(B_bar**2),
    )
    for exact, approximate in zip(norms[:3], floats, strict=True):
        assert math.isclose(float(exact), approximate, rel_tol=1e-11)
    assert norms.n == 40


def test_centered_norms_are_exact_where_floats_cancel():
    # Columns with a huge common offset: float64 centering loses the small part, exact does not.
    A = [[1e16 + 2.0], [1e16 - 2.0]]
    B = [[1.0], [-1.0]]
    norms = centered_frobenius_norms(A, B)
    assert norms.fro_A_sq == 8
    assert norms.fro_AtB_sq == 16


def test_constant_columns_have_zero_centered_norms():
    norms = centered_frobenius_norms([[5, 1], [5, 2]], [[7], [7]])
    assert norms.fro_B_sq == 0 and norms.fro_AtB_sq == 0


@pytest.mark.parametrize(
    ("A", "B", "message"),
    [
        ([], [[1]], "A must be a non-empty 2-D matrix"),
        ([[1]], [[1], [2]], "same number of rows"),
        ([[1, 2], [3]], [[1], [2]], "A must be rectangular"),
        ([[float("nan")]], [[1]], r"A\[0\]\[0\] must be finite"),
        ([[1]], [[float("inf")]], r"B\[0\]\[0\] must be finite"),
        ([[True]], [[1]], r"A\[0\]\[0\] must be a real number"),
        (np.zeros((2, 2, 2)), [[1], [2]], "A must be a 2-D matrix"),
        (np.zeros((2, 1), dtype=complex), [[1], [2]], "A must hold real numbers"),
        ([[1]], [[1j]], r"B\[0\]\[0\] must be a real number"),
        ([1, 2], [[1], [2]], "A must be a non-empty 2-D matrix; row 0"),
    ],
)
def test_centered_norms_reject_bad_matrices(A, B, message):
    with pytest.raises(ValueError, match=message):
        centered_frobenius_norms(A, B)


def simulate_idealized_scheme(A, B, rate: float, alpha: str, trials: int, seed: int):
    """Per-trial ||AᵀB − C||²_F of the §1.3 scheme with ideal lattices (no overload).

    Each centered column is normalized to norm √n; the quantizer adds noise z of variance
    σ² = 1/(2^(2R) − 1) per coordinate, independent of the data (subtractive dither); the decoder
    scales by α and rebuilds C_ij = (||ā_i||·||b̄_j||/n)·x̂_iᵀŷ_j + n·μ_A,i·μ_B,j.
    """
    rng = np.random.default_rng(seed)
    n = A.shape[0]
    noise_variance = 1.0 / (2.0 ** (2 * rate) - 1.0)
    scale = 1.0 - 2.0 ** (-2 * rate) if alpha == "mmse" else 1.0
    mean_a, mean_b = A.mean(axis=0), B.mean(axis=0)
    A_bar, B_bar = A - mean_a, B - mean_b
    norm_a, norm_b = np.linalg.norm(A_bar, axis=0), np.linalg.norm(B_bar, axis=0)
    X, Y = A_bar / norm_a * math.sqrt(n), B_bar / norm_b * math.sqrt(n)
    product = A.T @ B
    errors = np.empty(trials)
    for trial in range(trials):
        X_hat = scale * (X + rng.normal(0, math.sqrt(noise_variance), X.shape))
        Y_hat = scale * (Y + rng.normal(0, math.sqrt(noise_variance), Y.shape))
        estimate = np.outer(norm_a, norm_b) / n * (X_hat.T @ Y_hat) + n * np.outer(mean_a, mean_b)
        errors[trial] = np.sum((product - estimate) ** 2)
    return errors


@pytest.mark.parametrize("alpha", ["mmse", "unbiased"])
@pytest.mark.parametrize("rate", [0.5, 2.0])
@pytest.mark.parametrize("structure", ["gaussian", "correlated-low-rank"])
def test_guarantee_matches_the_idealized_scheme(alpha, rate, structure):
    seed = (
        SEED
        + int(rate * 10)
        + (0 if alpha == "mmse" else 1)
        + (0 if structure == "gaussian" else 2)
    )
    rng = np.random.default_rng(seed)
    n = 256
    if structure == "gaussian":
        A, B = rng.normal(0, 1, (n, 6)), rng.normal(0, 1, (n, 5))
    else:  # correlated A and B, low rank, offset columns: ||ĀᵀB̄|| is far from its iid value
        basis = rng.normal(0, 1, (n, 2))
        A = basis @ rng.normal(0, 1, (2, 6)) + 3.0
        B = basis @ rng.normal(0, 1, (2, 5)) + 0.1 * rng.normal(0, 1, (n, 5)) - 1.0
    trials = 400
    errors = simulate_idealized_scheme(A, B, rate, alpha, trials, seed)
    mean, standard_error = errors.mean(), errors.std(ddof=1) / math.sqrt(trials)
    norms = centered_frobenius_norms(A, B)
    bound = float(universal_guarantee(rate, *norms[:3], n=norms.n, alpha=alpha))
    assert abs(mean - bound) <= Z_SCORE * standard_error, (
        f"seed={seed}: idealized scheme {mean:.6g} ± {standard_error:.2g} "
        f"vs guarantee {bound:.6g}; "
        f"reproduce with tests/test_universal.py::simulate_idealized_scheme(A, B, {rate}, "
        f"'{alpha}', {trials}, {seed})"
    )


def test_guarantee_has_the_power_to_tell_the_two_scalings_apart():
    # With correlated inputs the MMSE bound carries φ²·||ĀᵀB̄||², the unbiased one does not.
    norms = (Fraction(900), Fraction(40), Fraction(30))
    mmse = universal_guarantee(1, *norms, n=10, alpha="mmse")
    unbiased = universal_guarantee(1, *norms, n=10, alpha="unbiased")
    # Closed forms at R = 1: φ = 7/16, (4/3)² − 1 = 7/9.
    with mpmath.workdps(40):
        assert to_decimal(mmse, 20) == to_decimal(
            mpmath.mpf(49) / 256 * 900 + mpmath.mpf(7 * 9) / 256 * 120, 20
        )
        assert to_decimal(unbiased, 20) == to_decimal(mpmath.mpf(7) / 9 * 120, 20)


def test_guarantee_for_iid_norms_is_n_a_b_phi():
    # ||ĀᵀB̄||² = n·a·b, ||Ā||² = n·a, ||B̄||² = n·b gives n·a·b·φ(R) = 64·7/16 at R = 1.
    assert to_decimal(universal_guarantee(1, 64 * 4 * 2, 64 * 4, 64 * 2, 64), 10) == (
        to_decimal(mpmath.mpf(64 * 4 * 2 * 7) / 16, 10)
    )


def test_guarantee_at_rate_zero_with_mmse_scaling_is_the_centered_product():
    # φ(0) = 1: the decoder outputs only the means, and the error is ||ĀᵀB̄||².
    assert universal_guarantee(0, 12, 5, 7, 3) == 12


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"rate": -1}, "rate must be >= 0"),
        ({"fro_AtB_sq": -1}, "fro_AtB_sq must be >= 0"),
        ({"fro_A_sq": float("nan")}, "fro_A_sq must be finite"),
        ({"n": 0}, "n must be an integer >= 1"),
        ({"alpha": "biased"}, "alpha must be one of mmse, unbiased"),
        ({"fro_AtB_sq": 1000}, "Cauchy"),
        ({"rate": 0, "alpha": "unbiased"}, "rate must be > 0 with alpha='unbiased'"),
    ],
)
def test_guarantee_rejects_bad_arguments(arguments, message):
    valid = {"rate": 1, "fro_AtB_sq": 10, "fro_A_sq": 5, "fro_B_sq": 5, "n": 4}
    with pytest.raises(ValueError, match=message):
        universal_guarantee(**{**valid, **arguments})


def test_unbiased_guarantee_at_a_large_rate_does_not_cancel_to_zero():
    # ((4^R/(4^R − 1))² − 1)·S is about 2·4^(−R)·S: tiny, positive, exactly known as a rational.
    rate = 100
    expansion = Fraction(4**rate)
    exact = ((expansion / (expansion - 1)) ** 2 - 1) * Fraction(8 * 8, 8)
    value = universal_guarantee(rate, 8, 8, 8, 8, alpha="unbiased", digits=20)
    with mpmath.workdps(40):
        target = mpmath.mpf(exact.numerator) / exact.denominator
        assert abs(value - target) <= mpmath.mpf(10) ** -19 * target


def test_mmse_guarantee_at_a_tiny_rate_keeps_the_second_term():
    # With ||ĀᵀB̄|| = 0 only φ(1 − φ)·S remains; 1 − φ = (1 − 2^(−2R))² ≈ (2R ln 2)² is tiny.
    value = universal_guarantee("1e-30", 0, 3, 4, 2, digits=20)
    with mpmath.workdps(80):
        rate = mpmath.mpf(10) ** -30
        single = mpmath.power(2, -2 * rate)
        expected = (2 * single - single**2) * (1 - single) ** 2 * 6
        assert abs(value - expected) <= mpmath.mpf(10) ** -19 * expected


def test_zero_guarantees_are_exact():
    assert universal_guarantee(1, 0, 0, 5, 3) == 0
    assert universal_guarantee(0, 0, 4, 5, 3) == 0
    assert universal_guarantee(2, 0, 4, 0, 3, alpha="unbiased") == 0
