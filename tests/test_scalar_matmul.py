"""ScalarMatmul (quantmm.fast.scalar_matmul) against independent computations (theory.md §2).

- Codebooks: the reference's certified ``design_codebook`` at 30 digits, rounded to float64 here,
  and the reference's :meth:`ScalarCodebook.quantize` (mpmath comparisons) for the cell rule.
- Estimates: a brute-force Âᵀ B̂ built in this file (scales from exact sums of squares, cells by
  Python's ``bisect``, products summed by ``math.fsum``).
- Rates: the byte count from the packing rule (group size and bits derived here).
- Distortion: Monte Carlo against the reference's exact E[D²] and E[D] (``scalar_error``).
"""

from __future__ import annotations

import bisect
import json
import math
import struct
from fractions import Fraction

import mpmath
import numpy as np
import pytest

from quantmm import reference
from quantmm.fast.backend import cupy_or_none
from quantmm.fast.packing import bits_per_code
from quantmm.fast.payload import pack_payload, unpack_payload
from quantmm.fast.scalar_matmul import ScalarMatmul
from quantmm.protocol import MatmulQuantizer, bits_per_entry


def nearest_float(value: mpmath.mpf) -> float:
    """The float64 nearest an mpf, via the exact fraction (Python rounds Fraction correctly)."""
    negative, mantissa, exponent, _ = value._mpf_
    magnitude = Fraction(int(mantissa)) * Fraction(2) ** int(exponent)
    return float(-magnitude if negative else magnitude)


#: (design, levels, rho, k): every design, odd and even K, ρ = 0 and ρ ≠ 0 (cheap ones only).
CASES = [
    ("opt", 4, 0.0, None),
    ("opt", 5, 0.8, None),
    ("pd", 7, 0.5, None),
    ("lloyd_max", 8, 0.0, None),
    ("uniform", 4, 0.0, None),
    ("matmul_lloyd", 3, 0.0, None),
    ("matmul_lloyd_bias", 4, 0.0, 16),
]


def kernel_for(case) -> ScalarMatmul:
    design, levels, rho, k = case
    return ScalarMatmul(levels, design, rho, k=k)


def reference_book(case, digits: int = 30) -> reference.ScalarCodebook:
    design, levels, rho, k = case
    return reference.design_codebook(design, Fraction(rho), levels, digits=digits, k=k)


def gaussian(seed: int, shape: tuple[int, int]) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape)


# ---------------------------------------------------------------------------------------------
# The codebook and the cell rule.
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0]}-K{c[1]}-rho{c[2]}")
def test_codebook_is_the_reference_rounded_to_float64(case):
    book, kernel = reference_book(case), kernel_for(case)
    assert kernel.codebook.levels.tolist() == [nearest_float(v) for v in book.levels]
    assert kernel.codebook.thresholds.tolist() == [nearest_float(v) for v in book.thresholds]
    assert kernel.codebook.levels.dtype == np.float64


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0]}-K{c[1]}-rho{c[2]}")
def test_quantize_matches_the_reference_on_random_values(case):
    """reference ScalarCodebook.quantize (30-digit codebook, mpmath comparisons) on the exact
    values of the floats; none of these lies within 1e−15 of a threshold, so rounding the
    thresholds to float64 cannot matter."""
    book, kernel = reference_book(case), kernel_for(case)
    rng = np.random.default_rng(11)
    values = np.concatenate([rng.standard_normal(400), rng.uniform(-8, 8, 100), [0.0, 50.0]])
    expected = [nearest_float(book.quantize(mpmath.mpf(x))) for x in values]
    assert kernel.quantize(values).tolist() == expected


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0]}-K{c[1]}-rho{c[2]}")
def test_quantize_at_thresholds_follows_the_reference_cell_rule(case):
    """A value equal to a threshold goes to the lower level (cells (t_(i−1), t_i]); its float
    neighbours go to either side. The reference's quantize runs on the kernel's float64 codebook
    taken exactly (the thresholds themselves are checked against the reference above)."""
    kernel = kernel_for(case)
    levels, thresholds = kernel.codebook
    exact = reference.ScalarCodebook(
        tuple(mpmath.mpf(v) for v in levels), tuple(mpmath.mpf(t) for t in thresholds)
    )
    values = np.concatenate(
        [thresholds, np.nextafter(thresholds, -np.inf), np.nextafter(thresholds, np.inf)]
    )
    expected = [float(exact.quantize(mpmath.mpf(x))) for x in values]
    assert kernel.quantize(values).tolist() == expected
    assert kernel.quantize(thresholds).tolist() == levels[:-1].tolist()  # the lower level


# ---------------------------------------------------------------------------------------------
# Payloads, estimates and rates.
# ---------------------------------------------------------------------------------------------


def brute_force_estimate(kernel, A, B, payload_a, payload_b):
    """Âᵀ B̂ built here: the scales decoded from the payloads are first checked against
    sqrt(mean(col²)) from exact rational sums of squares; the cells come from bisect_left on the
    float thresholds (x ≤ t_i ↔ cell i); each entry is math.fsum of the products. Returns the
    estimate and the error bound n·u·Σ|â||b̂| of the products' rounding."""
    levels, thresholds = (v.tolist() for v in kernel.codebook)
    columns = []
    for matrix, payload in ((A, payload_a), (B, payload_b)):
        scales = unpack_payload(payload, "ScalarMatmul")[1]["scales"]
        reconstructed = np.empty(matrix.shape)
        for j in range(matrix.shape[1]):
            column = matrix[:, j].astype(np.float64)
            exact_mean_square = sum(Fraction(float(x)) ** 2 for x in column) / len(column)
            expected_scale = math.sqrt(exact_mean_square)  # within 1.5 ulp of the exact RMS
            # The kernel's m·sqrt(Σ(x/m)²/n) carries < (log2 n + 8)·u (pairwise sum, a few
            # roundings, halved by the square root): 16u here.
            assert math.isclose(scales[j], expected_scale, rel_tol=16 * 2.0**-53, abs_tol=0.0)
            scale = float(scales[j])
            for i, x in enumerate(column):
                code = bisect.bisect_left(thresholds, x / scale if scale > 0 else 0.0)
                reconstructed[i, j] = scale * levels[code]
        columns.append(reconstructed)
    A_hat, B_hat = columns
    exact = np.array(
        [
            [math.fsum(A_hat[:, i] * B_hat[:, j]) for j in range(B.shape[1])]
            for i in range(A.shape[1])
        ]
    )
    bound = A.shape[0] * 2.0**-52 * (np.abs(A_hat).T @ np.abs(B_hat))
    return exact, bound


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0]}-K{c[1]}-rho{c[2]}")
def test_estimate_equals_the_brute_force_product(case):
    kernel = kernel_for(case)
    A, B = gaussian(1, (96, 3)), 3.0 * gaussian(2, (96, 4))
    A[:, 1] *= 1e-3
    payload_a, payload_b = kernel.encode_a(A), kernel.encode_b(B)
    expected, bound = brute_force_estimate(kernel, A, B, payload_a, payload_b)
    estimate = kernel.estimate(payload_a, payload_b)
    assert estimate.shape == (3, 4) and estimate.dtype == np.float64
    assert np.all(np.abs(estimate - expected) <= bound)


def test_payload_round_trip_and_determinism():
    """A second kernel built from the same arguments decodes the bytes to the identical
    estimate; the same input gives the same bytes, every time and from every such kernel."""
    case = ("matmul_lloyd_bias", 4, 0.0, 16)
    first, second = kernel_for(case), kernel_for(case)
    A, B = gaussian(3, (200, 5)), gaussian(4, (200, 2))
    payload_a, payload_b = first.encode_a(A), first.encode_b(B)
    assert np.array_equal(
        first.estimate(payload_a, payload_b), second.estimate(payload_a, payload_b)
    )
    assert first.encode_a(A) == payload_a == second.encode_a(A.copy())
    # The two sides use one format and differ only in the side they record.
    assert first.encode_b(B).replace(b'"side":"b"', b'"side":"a"')[:-4] == second.encode_a(B)[:-4]
    assert isinstance(first, MatmulQuantizer)


def test_float32_and_float64_inputs_with_the_same_values_give_the_same_bytes():
    kernel = ScalarMatmul(6, "pd", 0.3)
    A32 = gaussian(5, (300, 4)).astype(np.float32)
    assert kernel.encode_a(A32) == kernel.encode_a(A32.astype(np.float64))


def expected_payload_bytes(payload: bytes, levels: int, n: int, columns: int) -> tuple[int, float]:
    """8 (magic, length) + the header + the codes packed by the rule of quantmm.fast.packing
    (groups of g codes, radix^g ≤ 2^64, each written in bitlength(radix^g − 1) bits) + 8 bytes
    per float64 scale + the 4-byte checksum. g and the bits are derived here, not taken from the
    packing module. Returns the byte count and the bits per code."""
    group = 1
    while levels ** (group + 1) <= 2**64:
        group += 1
    group_bits = (levels**group - 1).bit_length()
    code_bytes = -(-(-(-n * columns // group) * group_bits) // 8)
    (header_length,) = struct.unpack("<I", payload[4:8])
    header = json.loads(payload[8 : 8 + header_length])
    assert header["kind"] == "ScalarMatmul"
    assert [f["name"] for f in header["fields"]] == ["codes", "scales"]
    return 8 + header_length + code_bytes + 8 * columns + 4, group_bits / group


@pytest.mark.parametrize(
    ("levels", "n", "columns"), [(4, 4096, 8), (5, 1000, 3), (14, 77, 2), (16, 1, 1), (2, 64, 1)]
)
def test_measured_rate_is_the_packing_rule_plus_scales_and_header(levels, n, columns):
    kernel = ScalarMatmul(levels, "pd")
    payload = kernel.encode_a(gaussian(6, (n, columns)))
    expected, code_rate = expected_payload_bytes(payload, levels, n, columns)
    assert len(payload) == expected
    assert bits_per_entry(payload, (n, columns)) == 8 * expected / (n * columns)
    assert code_rate == bits_per_code(levels)
    # A code costs ceil(g·log2 K)/g bits: within 1/g (g ≥ 16 for K ≤ 16) above log2 K.
    assert math.log2(levels) <= code_rate < math.log2(levels) + 1 / 16


def test_rate_at_large_n_approaches_log2_levels():
    """K = 4, n = 4096, a = 8: 2 bits per code, 64/4096 bits of scale and the header's share."""
    payload = ScalarMatmul(4, "pd").encode_a(gaussian(7, (4096, 8)))
    rate = bits_per_entry(payload, (4096, 8))
    assert 2 + 64 / 4096 < rate < 2 + 64 / 4096 + 8 * 400 / (4096 * 8)


def test_zero_columns_decode_to_exact_zeros():
    kernel = ScalarMatmul(4, "lloyd_max")
    A, B = gaussian(8, (50, 3)), gaussian(9, (50, 2))
    A[:, 1] = 0.0
    B[:, 0] = 0.0
    estimate = kernel.estimate(kernel.encode_a(A), kernel.encode_b(B))
    assert np.all(np.isfinite(estimate))
    assert np.all(estimate[1, :] == 0.0) and np.all(estimate[:, 0] == 0.0)
    assert np.all(estimate[[0, 2], 1] != 0.0)
    fields = unpack_payload(kernel.encode_a(A), "ScalarMatmul")[1]
    assert fields["scales"][1] == 0.0
    assert np.all(fields["codes"][:, 1] == bisect.bisect_left(kernel.codebook.thresholds, 0.0))


@pytest.mark.parametrize("power", [-600, -300, 300, 600])
def test_scaling_by_a_power_of_two_scales_exactly(power):
    """The scales have no overflow or underflow: multiplying A by 2^p (exact) leaves the codes
    unchanged and multiplies the scales by 2^p exactly (squares of 1e±180 would not fit)."""
    kernel = ScalarMatmul(8, "opt")
    A = gaussian(10, (64, 3))
    _, plain = unpack_payload(kernel.encode_a(A), "ScalarMatmul")
    _, scaled = unpack_payload(kernel.encode_a(np.ldexp(A, power)), "ScalarMatmul")
    assert np.array_equal(plain["codes"], scaled["codes"])
    assert np.array_equal(np.ldexp(plain["scales"], power), scaled["scales"])


# ---------------------------------------------------------------------------------------------
# Bad input.
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("matrix", "error", "message"),
    [
        (np.array([[1.0, np.nan]]), ValueError, "A must be finite"),
        (np.array([[np.inf], [1.0]]), ValueError, "A must be finite"),
        (np.ones((3, 2), dtype=np.int64), TypeError, "A must have dtype float32 or float64"),
        (np.ones(3), ValueError, "A must be a 2-dimensional array"),
        (np.ones((0, 2)), ValueError, "A must not be empty"),
    ],
)
def test_bad_matrices_raise(matrix, error, message):
    with pytest.raises(error, match=message):
        ScalarMatmul(4, "pd").encode_a(matrix)


def test_bad_payloads_raise():
    kernel = ScalarMatmul(4, "pd")
    good = kernel.encode_a(gaussian(12, (10, 2)))
    with pytest.raises(ValueError, match="n = 10 rows but payload_b holds n = 11"):
        kernel.estimate(good, kernel.encode_b(gaussian(13, (11, 2))))
    other_kind = pack_payload("Other", {}, {"codes": (np.zeros(4, dtype=np.uint8), 4)})
    with pytest.raises(ValueError, match="payload_b: payload is of kind 'Other'"):
        kernel.estimate(good, other_kind)
    with pytest.raises(ValueError, match="payload_a: checksum mismatch"):
        kernel.estimate(good[:-3], good)
    with pytest.raises(TypeError, match="payload_a must be bytes"):
        kernel.estimate("not bytes", good)
    for other in (
        ScalarMatmul(4, "lloyd_max"),
        ScalarMatmul(5, "pd"),
        ScalarMatmul(4, "pd", 0.5),
        ScalarMatmul(4, "matmul_lloyd_bias", k=8),
    ):
        with pytest.raises(ValueError, match="payload_a was written by a ScalarMatmul"):
            kernel.estimate(other.encode_a(gaussian(12, (10, 2))), good)


@pytest.mark.parametrize(
    ("arguments", "keywords", "message"),
    [
        ((1, "pd"), {}, "levels must be an integer >= 2"),
        ((2.0, "pd"), {}, "levels must be an integer >= 2"),
        ((True, "pd"), {}, "levels must be an integer >= 2"),
        ((4, "nope"), {}, "design must be one of"),
        ((4, "pd", 1.5), {}, r"rho must be a finite number in \[-1, 1\]"),
        ((4, "pd", float("nan")), {}, "rho must be a finite number"),
        ((4, "pd"), {"k": 0}, "k must be None or an integer >= 1"),
        ((4, "pd"), {"k": 8}, "k is only accepted for matmul_lloyd_bias"),
        ((4, "matmul_lloyd_bias"), {}, "k .* is required for matmul_lloyd_bias"),
        ((4, "pd"), {"device": "tpu"}, "device must be one of"),
    ],
)
def test_bad_parameters_raise(arguments, keywords, message):
    with pytest.raises(ValueError, match=message):
        ScalarMatmul(*arguments, **keywords)


# ---------------------------------------------------------------------------------------------
# Distortion: Monte Carlo against the reference's exact moments.
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("design", "levels"), [("lloyd_max", 4), ("pd", 4), ("opt", 8)])
def test_independent_gaussians_distortion_matches_the_exact_second_moment(design, levels):
    """A, B iid N(0, 1), n = 4096, a = b = 8: E|AᵀB − C|²/(n·a·b) = E[D²] (theory.md §2.1; at
    ρ = 0 E[D] = 0 for a symmetric codebook, so the n(n − 1)E[D]² term vanishes), E[D²] from the
    reference's scalar_error. The 64 entries of one draw share columns, so the standard error is
    taken from the spread of the per-draw means over 64 independent draws; tolerance 5 SE
    (about 12% of E[D²] here, the per-draw relative spread being ≈ √2/8).

    Per-column RMS scaling: A[:, j]/s_j is uniform on the sphere of radius √n and independent of
    s_j, with E[s_j²] = 1, so the error is exactly n·E_sphere[D²]; the sphere's coordinates are
    N(0, 1) up to O(1/n), a relative 2e−4 here, far below the statistical error."""
    exact = float(reference.scalar_error(design, 0, levels, digits=8).second_moment)
    kernel = ScalarMatmul(levels, design)
    n, draws = 4096, 64
    means = []
    for seed in range(draws):
        rng = np.random.default_rng([2024, seed])
        A, B = rng.standard_normal((n, 8)), rng.standard_normal((n, 8))
        error = kernel.estimate(kernel.encode_a(A), kernel.encode_b(B)) - A.T @ B
        means.append(np.mean(error**2) / n)
    standard_error = np.std(means, ddof=1) / math.sqrt(draws)
    assert abs(np.mean(means) - exact) <= 5 * standard_error


def test_correlated_pairs_diagonal_error_matches_the_exact_moments():
    """B = ρA + √(1 − ρ²)Z (ρ = 0.8, a = b = 8, n = 4096), design ``opt`` with K = 4 at ρ: the
    diagonal entry i of AᵀB sums n iid correlated pairs, so E[(AᵀB − C)_ii²] =
    n·(E[D²] + (n − 1)·E[D]²) (theory.md §2.1), moments from the reference's scalar_error. The
    diagonal entries are independent (disjoint columns) and so are the 200 draws: the standard
    error comes from their sample spread; tolerance 5 SE (about 17% here)."""
    rho, n, draws = 0.8, 4096, 200
    moments = reference.scalar_error("opt", Fraction(rho), 4, digits=8)
    second, mean = float(moments.second_moment), float(moments.mean)
    expected = n * (second + (n - 1) * mean**2)
    kernel = ScalarMatmul(4, "opt", rho)
    squares = []
    for seed in range(draws):
        rng = np.random.default_rng([77, seed])
        A, Z = rng.standard_normal((n, 8)), rng.standard_normal((n, 8))
        B = rho * A + math.sqrt(1 - rho**2) * Z
        error = kernel.estimate(kernel.encode_a(A), kernel.encode_b(B)) - A.T @ B
        squares.append(np.diag(error) ** 2)
    squares = np.concatenate(squares)
    standard_error = np.std(squares, ddof=1) / math.sqrt(squares.size)
    assert abs(np.mean(squares) - expected) <= 5 * standard_error


# ---------------------------------------------------------------------------------------------
# CuPy.
# ---------------------------------------------------------------------------------------------


def test_gpu_gives_the_same_bytes_and_estimate_as_cpu():
    cupy = cupy_or_none()
    if cupy is None:
        pytest.skip("CuPy with a visible GPU is not available on this machine")
    for case in (("opt", 5, 0.8, None), ("lloyd_max", 16, 0.0, None)):
        design, levels, rho, k = case
        cpu = ScalarMatmul(levels, design, rho, k=k)
        gpu = ScalarMatmul(levels, design, rho, k=k, device="gpu")
        A, B = gaussian(20, (1000, 6)), gaussian(21, (1000, 3))
        A[:, 2] = 0.0
        payload_a, payload_b = cpu.encode_a(A), cpu.encode_b(B)
        assert gpu.encode_a(A) == payload_a  # NumPy input, moved to the GPU
        assert gpu.encode_b(cupy.asarray(B)) == payload_b
        on_gpu = gpu.estimate(payload_a, payload_b)
        assert isinstance(on_gpu, cupy.ndarray) and on_gpu.dtype == cupy.float64
        on_cpu = cpu.estimate(payload_a, payload_b)
        A_hat = np.abs(cpu._decode(payload_a, "a"))
        B_hat = np.abs(cpu._decode(payload_b, "b"))
        bound = 2 * A.shape[0] * 2.0**-52 * (A_hat.T @ B_hat)  # both within n·u·Σ|â||b̂|
        assert np.all(np.abs(on_gpu.get() - on_cpu) <= bound)
        quantized = gpu.quantize(cupy.asarray(A))
        assert np.array_equal(quantized.get(), cpu.quantize(A))


@pytest.mark.parametrize(
    ("levels", "design"), [(65536, "uniform"), (1024, "uniform"), (65, "lloyd_max"), (257, "opt")]
)
def test_levels_beyond_what_a_design_computes_are_refused_before_any_work(levels, design):
    """Before the bound, ScalarMatmul(65536, "uniform") tried to allocate hundreds of GiB and
    ScalarMatmul(1024, "uniform") ran for minutes; the bound is MAX_LEVELS[design]."""
    from quantmm.reference import MAX_LEVELS

    bound = MAX_LEVELS[design]
    with pytest.raises(ValueError, match=rf"levels must be an integer in \[1, {bound}\]"):
        ScalarMatmul(levels, design)
