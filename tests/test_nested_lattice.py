"""Tests for quantmm.fast.NestedLatticeMatmul (theory.md §1.3, §1.4).

Independent computations: the exact product AᵀB (NumPy float64); the converse Γ(R) from the
certified mpmath reference (quantmm.reference.gamma); exact byte counts from the packing rule
(bits_per_code is checked against Python big integers in test_fast_packing.py); unbiasedness by
averaging over seeds with a 5-standard-error tolerance.
"""

from __future__ import annotations

import json
import math
import struct

import numpy as np
import pytest

from quantmm.fast.backend import cupy_or_none
from quantmm.fast.monte_carlo import distortion, gaussian_pair
from quantmm.fast.nested_lattice import NestedLatticeMatmul
from quantmm.fast.packing import group_size
from quantmm.protocol import MatmulQuantizer, bits_per_entry
from quantmm.reference import gamma


def _matrices(n=96, a=5, b=4, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, a)), rng.normal(size=(n, b))


def _relative_error(kernel, A, B):
    C = kernel.estimate(kernel.encode_a(A), kernel.encode_b(B))
    exact = A.T @ B
    return np.linalg.norm(C - exact) / np.linalg.norm(exact)


def test_implements_the_protocol_and_decodes_from_bytes_with_a_fresh_kernel():
    A, B = _matrices()
    kernel = NestedLatticeMatmul(4.06, seed=5)
    assert isinstance(kernel, MatmulQuantizer)
    payload_a, payload_b = kernel.encode_a(A), kernel.encode_b(B)
    assert isinstance(payload_a, bytes)
    fresh = NestedLatticeMatmul(4.06, seed=5)
    np.testing.assert_array_equal(
        fresh.estimate(bytes(payload_a), bytes(payload_b)), kernel.estimate(payload_a, payload_b)
    )


def test_same_seed_same_bytes_and_float32_matches_float64():
    A, _ = _matrices(seed=1)
    A32 = A.astype(np.float32)
    kernel = NestedLatticeMatmul(3.25, seed=9)
    assert kernel.encode_a(A) == NestedLatticeMatmul(3.25, seed=9).encode_a(A)
    assert kernel.encode_a(A32) == kernel.encode_a(A32.astype(np.float64))
    assert kernel.encode_a(A) != NestedLatticeMatmul(3.25, seed=10).encode_a(A)


def test_payload_from_another_configuration_or_side_is_refused():
    A, B = _matrices(seed=2)
    kernel = NestedLatticeMatmul(4.06, seed=1)
    payload_a, payload_b = kernel.encode_a(A), kernel.encode_b(B)
    with pytest.raises(ValueError, match="configuration"):
        NestedLatticeMatmul(4.06, seed=2).estimate(payload_a, payload_b)
    with pytest.raises(ValueError, match="configuration"):
        NestedLatticeMatmul(4.06, "D4", seed=1).estimate(payload_a, payload_b)
    with pytest.raises(ValueError, match="is an encoding of 'b'"):
        kernel.estimate(payload_b, payload_b)
    with pytest.raises(ValueError, match="payloads are for n = 96"):
        kernel.estimate(payload_a, kernel.encode_b(np.ones((95, 2))))
    with pytest.raises(ValueError, match="payload_a: checksum mismatch"):
        kernel.estimate(payload_a[:-3], payload_b)


def test_q_and_time_sharing_follow_the_rate_budget():
    """q = the largest integer with log2 q + log2(k)/8 <= rate; below q = 2, time sharing."""
    for rate, q in ((4.06, 14), (4.25, 16), (2.25, 4), (1.25, 2), (1.3, 2)):
        expected = max(q2 for q2 in range(2, 100) if math.log2(q2) + 0.25 <= rate + 1e-12)
        assert expected == q
        assert NestedLatticeMatmul(rate).q == q
    kernel = NestedLatticeMatmul(0.5)
    assert kernel.q == 2 and kernel.sketch_fraction == pytest.approx(0.5 / 1.25)


def test_measured_rate_matches_the_payload_layout():
    """Bytes = header + 4 bytes per mean and norm + packed codes + packed scale indices + escapes
    + the 4-byte checksum, with the code and scale-index byte counts from the packing rule
    (ceil(groups·B/8))."""
    n, a = 200, 6
    A = np.random.default_rng(3).normal(size=(n, a))
    kernel = NestedLatticeMatmul(4.06, seed=4)
    payload = kernel.encode_a(A)
    (length,) = struct.unpack("<I", payload[4:8])
    header = json.loads(payload[8 : 8 + length])
    fields = {f["name"]: f for f in header["fields"]}
    padded = 8 * math.ceil(n / 8)
    codes = a * padded

    def packed_bytes(count, radix):
        g = group_size(radix)
        bits = (radix**g - 1).bit_length()
        return math.ceil(math.ceil(count / g) * bits / 8)

    escapes = fields["escape_blocks"]["shape"][0]
    expected = (
        8
        + length
        + 4 * a
        + 4 * a
        + packed_bytes(codes, 14)
        + packed_bytes(codes // 8, 4)
        + 5 * escapes
        + 4
    )
    assert len(payload) == expected
    assert bits_per_entry(payload, A.shape) == 8 * expected / (n * a)


def test_exact_on_constant_columns_and_no_nan_on_zero_columns():
    """Constant columns are all mean: Ĉ = n·μ_A·μ_B exactly (μ float32-representable here)."""
    n = 64
    A = np.tile(np.array([1.5, -2.0, 0.0]), (n, 1))
    B = np.tile(np.array([0.25, 3.0]), (n, 1))
    kernel = NestedLatticeMatmul(2.25, seed=0)
    C = kernel.estimate(kernel.encode_a(A), kernel.encode_b(B))
    np.testing.assert_array_equal(C, A.T @ B)
    B[:, 1] = np.random.default_rng(0).normal(size=n)
    C = kernel.estimate(kernel.encode_a(A), kernel.encode_b(B))
    assert np.isfinite(C).all()
    np.testing.assert_array_equal(C[2], 0.0)  # zero column of A


@pytest.mark.parametrize("n", [1, 7, 8, 13, 100, 257])
def test_any_number_of_rows(n):
    A, B = _matrices(n=n, a=3, b=2, seed=n)
    kernel = NestedLatticeMatmul(5.25, seed=2)
    C = kernel.estimate(kernel.encode_a(A), kernel.encode_b(B))
    assert C.shape == (3, 2) and np.isfinite(C).all()
    if n >= 8:
        assert _relative_error(kernel, A, B) < 0.15


def test_unbiased_scaling_is_unbiased_over_the_shared_randomness():
    """For fixed A, B the mean of Ĉ over seeds is AᵀB (within 5 standard errors per entry)."""
    A, B = _matrices(n=64, a=2, b=2, seed=7)
    estimates = np.array(
        [
            (k := NestedLatticeMatmul(2.25, scaling="unbiased", seed=s)).estimate(
                k.encode_a(A), k.encode_b(B)
            )
            for s in range(300)
        ]
    )
    mean = estimates.mean(axis=0)
    standard_error = estimates.std(axis=0, ddof=1) / math.sqrt(len(estimates))
    assert np.all(np.abs(mean - A.T @ B) < 5 * standard_error)


def test_mmse_scaling_beats_unbiased_scaling_on_gaussian_data():
    """theory.md §1.3: with error ε per entry, unbiased D = (1 + ε)² − 1 exceeds the MMSE
    D = 1 − (1 + ε)^−2."""
    common = {"n": 512, "a": 32, "b": 32, "trials": 4, "seed": 4}
    mmse = distortion(NestedLatticeMatmul(2.25, seed=1), **common)
    unbiased = distortion(NestedLatticeMatmul(2.25, scaling="unbiased", seed=1), **common)
    paired = np.array(unbiased.values) - np.array(mmse.values)  # same matrices in each trial
    assert paired.mean() > 5 * paired.std(ddof=1) / math.sqrt(len(paired))


def test_escapes_keep_overloaded_blocks_exact_instead_of_clipping():
    """With a tiny scale list every block escapes; the estimate stays accurate (no clipping)."""
    A, B = _matrices(n=128, a=3, b=3, seed=4)
    A[5, 0] = 1e4  # one spike: a column far from Gaussian
    kernel = NestedLatticeMatmul(4.06, betas=(1e-3, 2e-3, 4e-3, 8e-3), seed=3)
    payload = kernel.encode_a(A)
    (length,) = struct.unpack("<I", payload[4:8])
    header = json.loads(payload[8 : 8 + length])
    escapes = {f["name"]: f for f in header["fields"]}["escape_blocks"]["shape"][0]
    assert escapes == 3 * 128 // 8  # every block escaped
    assert _relative_error(kernel, A, B) < 0.15


def test_distortion_is_above_the_converse_and_near_gamma():
    """Monte Carlo D on iid Gaussians is not below Γ(R) at the measured rate (converse, certified
    mpmath Γ) and is within 3 dB of it at this small size (the payload header is counted)."""
    for rate in (2.25, 4.06):
        result = distortion(NestedLatticeMatmul(rate, seed=1), n=2048, a=48, b=48, trials=2, seed=2)
        bound = float(gamma(result.rate, digits=15))
        assert result.mean > bound - 5 * result.standard_error
        assert result.mean < bound * 10 ** (3 / 10)


def test_time_sharing_below_the_minimum_code_rate():
    result = distortion(NestedLatticeMatmul(0.6, seed=1), n=2048, a=48, b=48, trials=2, seed=3)
    bound = float(gamma(result.rate, digits=15))
    assert result.rate < 0.7
    assert bound - 5 * result.standard_error < result.mean < 1.0


@pytest.mark.parametrize("lattice_name", ["E8", "D4", "Z"])
def test_gap_to_gamma_at_four_bits(lattice_name):
    """The issue's target: E8 at q = 14, k = 4 within 2.4 dB of Γ at the rate actually used on iid
    Gaussian A, B with n = 4096 (side information counted). D4 and Z: regression bounds a few
    tenths of a dB above what they measured when written (2.84 and 3.80 dB)."""
    limit = {"E8": 2.4, "D4": 3.2, "Z": 4.1}[lattice_name]
    kernel = NestedLatticeMatmul(math.log2(14) + 0.25, lattice_name, seed=11)
    result = distortion(kernel, n=4096, a=256, b=256, trials=2, seed=5)
    gap = 10 * math.log10(result.mean / float(gamma(result.rate, digits=15)))
    relative_error = result.standard_error / result.mean
    assert gap + 10 * math.log10(1 + 5 * relative_error) < limit, (gap, result)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"rate": 0}, "rate must be positive"),
        ({"rate": float("nan")}, "rate must be a finite"),
        ({"rate": "4"}, "rate must be a finite"),
        ({"lattice": "E7"}, "lattice must be one of"),
        ({"scaling": "biased"}, "scaling must be"),
        ({"scales": 0}, "scales must be an integer"),
        ({"betas": (0.3, 0.2)}, "strictly increasing"),
        ({"device": "tpu"}, "device must be one of"),
        ({"rate": True}, "rate must be a finite"),
        # q <= 65536: the largest budget with 4 scales is 16 + 2/8 bits (it was capped silently)
        ({"rate": 64}, "rate must be at most 16.25 bits per entry with 4 scales"),
        ({"rate": 16.3}, "rate must be at most 16.25"),
        ({"rate": 16.01, "scales": 1}, "rate must be at most 16 bits per entry with 1 scales"),
        # scales that overflowed to an all-NaN estimate, or could not encode any block
        ({"betas": (1e300,)}, r"betas must lie in \[2\*\*-64, 2\*\*64\]"),
        ({"betas": (1e-300,)}, r"betas must lie in \[2\*\*-64, 2\*\*64\]"),
        ({"betas": (0.5, 2.0**65)}, r"betas must lie in"),
    ],
)
def test_bad_construction_raises(kwargs, message):
    with pytest.raises(ValueError, match=message):
        NestedLatticeMatmul(**({"rate": 4.0} | kwargs))


def test_the_largest_budget_is_accepted_and_numpy_scalars_are_rates():
    """rate = 16.25 (q = 65536, k = 4) is honoured; np.int64 and np.float64 rates give the same
    kernel as the Python number (np.int64 was refused)."""
    assert NestedLatticeMatmul(16.25).q == 65536
    A = np.random.default_rng(8).normal(size=(40, 3))
    reference = NestedLatticeMatmul(4, seed=3).encode_a(A)
    assert NestedLatticeMatmul(np.int64(4), seed=3).encode_a(A) == reference
    assert NestedLatticeMatmul(np.float64(4.0), seed=3).encode_a(A) == reference
    assert NestedLatticeMatmul(np.int64(4)).code_rate == 4.0


def test_the_extreme_accepted_scales_encode_and_decode_finitely():
    """betas at the ends of [2^-64, 2^64]: every block encodes (escapes at the smallest) and the
    estimate is finite (the largest scale decodes almost everything to 0)."""
    A = np.random.default_rng(9).normal(size=(64, 3))
    for betas in ((2.0**-64,), (2.0**64,)):
        kernel = NestedLatticeMatmul(4, betas=betas, seed=1)
        estimate = kernel.estimate(kernel.encode_a(A), kernel.encode_b(A))
        assert np.isfinite(estimate).all(), betas


def test_bad_input_raises():
    kernel = NestedLatticeMatmul(4.0)
    with pytest.raises(ValueError, match="A must be finite"):
        kernel.encode_a(np.array([[np.inf, 1.0]]))
    with pytest.raises(TypeError, match="B must have dtype float32 or float64"):
        kernel.encode_b(np.ones((4, 2), dtype=np.int32))
    with pytest.raises(ValueError, match="A must be a 2-dimensional array"):
        kernel.encode_a(np.ones(4))
    with pytest.raises(ValueError, match="A must not be empty"):
        kernel.encode_a(np.ones((0, 3)))
    with pytest.raises(TypeError, match="payload_a must be bytes"):
        kernel.estimate("abc", b"")


def test_gpu_gives_the_same_bytes_as_cpu():
    cupy = cupy_or_none()
    if cupy is None:
        pytest.skip("CuPy with a visible GPU is not available on this machine")
    A, B = _matrices(n=1000, a=40, b=30, seed=8)
    cpu = NestedLatticeMatmul(4.06, seed=3)
    gpu = NestedLatticeMatmul(4.06, seed=3, device="gpu")
    payload_a, payload_b = cpu.encode_a(A), cpu.encode_b(B)
    assert gpu.encode_a(cupy.asarray(A)) == payload_a
    assert gpu.encode_b(B.astype(np.float32)) == cpu.encode_b(B.astype(np.float32))
    np.testing.assert_allclose(
        gpu.estimate(payload_a, payload_b).get(),
        cpu.estimate(payload_a, payload_b),
        rtol=1e-12,
        atol=1e-12,
    )


@pytest.mark.slow
def test_encoding_allocates_less_than_one_more_copy_of_a_4096_square_float32_input():
    """Peak traced allocation while encoding a 4096×4096 float32 matrix (64 MiB) stays below 1.25
    times the input's size: columns are encoded in bounded chunks (measured: 0.95 times)."""
    import tracemalloc

    A = np.random.default_rng(0).standard_normal((4096, 4096), dtype=np.float32)
    kernel = NestedLatticeMatmul(4.06, seed=1)
    kernel.encode_a(A[:, :8])  # tables and caches outside the measurement
    tracemalloc.start()
    try:
        kernel.encode_a(A)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1.25 * A.nbytes, peak / A.nbytes


@pytest.mark.parametrize("rate", [2.25, 4.06])
def test_mmse_estimate_needs_no_further_scaling(rate):
    """MMSE scaling: the least-squares factor c* = <Ĉ, AᵀB>/<Ĉ, Ĉ> is 1 within 0.03 (mean over 5
    seeded trials; its spread is about 0.005 here). Without the per-column scalar (α = 1) it
    would be about 1/(1 + ε)² ≈ 0.87 at rate 2.25."""
    factors = []
    for trial in range(5):
        A, B = gaussian_pair(2048, 32, 32, seed=7, trial=trial)
        kernel = NestedLatticeMatmul(rate, seed=trial)
        C = kernel.estimate(kernel.encode_a(A), kernel.encode_b(B))
        factors.append(float((C * (A.T @ B)).sum() / (C * C).sum()))
    assert abs(np.mean(factors) - 1) < 0.03, factors


def test_rotation_spreads_a_spike_so_one_hot_columns_need_no_escape():
    """x = √m·H·e_i has entries ±1 (|H| entries are 1/√m), far inside the code: no escapes,
    and the estimate is as accurate as for Gaussian columns. Without the rotation, the spike
    √m = 16 would overload every scale."""
    n = 256
    A = np.eye(n)[:, :8]
    B = np.random.default_rng(1).normal(size=(n, 4))
    kernel = NestedLatticeMatmul(4.06, seed=2)
    payload = kernel.encode_a(A)
    (length,) = struct.unpack("<I", payload[4:8])
    header = json.loads(payload[8 : 8 + length])
    assert {f["name"]: f for f in header["fields"]}["escape_blocks"]["shape"] == [0]
    assert _relative_error(kernel, A, B) < 0.15
