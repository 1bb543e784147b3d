"""Counter-based randomness (quantmm.fast.counter_random) against an independent re-implementation.

The reference below re-implements the documented hash with Python integers taken modulo 2^64: the
SplitMix64 finalizer (Steele, Lea & Flood, OOPSLA 2014; the constants of Vigna's splitmix64.c),
chained over the seed, the stream label and the counters. It is checked against SplitMix64's
published outputs for state 0 before it is used to check the code under test.

Statistical claims use fixed inputs and a 5-standard-error band, the standard error computed in
closed form for the uniform distribution on [0, 1).
"""

from __future__ import annotations

import math
import random
import warnings

import numpy as np
import pytest

from quantmm.fast.backend import cupy_or_none, to_numpy
from quantmm.fast.counter_random import (
    STREAM_DITHER_A,
    STREAM_DITHER_B,
    STREAM_ROTATION,
    STREAM_TUNING,
    hash64,
    random_signs,
    uniform,
    validated_seed,
)

MASK64 = 2**64 - 1
GOLDEN_GAMMA = 0x9E3779B97F4A7C15  # SplitMix64's increment, 2^64 / golden ratio, odd
Z_SCORE = 5.0  # 5 standard errors: a false alarm about once in 1.7 million runs

# The first four outputs of SplitMix64 started from state 0, as published with xoshiro's seeding
# code (prng.di.unimi.it/splitmix64.c); output k is the finalizer applied to k·GOLDEN_GAMMA.
SPLITMIX64_STATE0_OUTPUTS = [
    0xE220A8397B1DCDAF,
    0x6E789E6AA1B965F4,
    0x06C45D188009454F,
    0xF88BB8A8724C81EC,
]


def splitmix64_finalizer(z: int) -> int:
    """SplitMix64's output function on a Python int, every product reduced mod 2^64."""
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return z ^ (z >> 31)


def reference_hash(seed: int, stream: int, counters: tuple[int, ...]) -> int:
    """The documented chain: start from (seed, stream), then fold in each counter in turn."""
    state = splitmix64_finalizer(seed ^ ((stream * GOLDEN_GAMMA) & MASK64))
    if not counters:
        return state
    value = splitmix64_finalizer((counters[0] & MASK64) ^ ((state + GOLDEN_GAMMA) & MASK64))
    for counter in counters[1:]:
        value = splitmix64_finalizer(((value + GOLDEN_GAMMA) & MASK64) ^ (counter & MASK64))
    return value


def reference_uniform(bits: int) -> float:
    """The top 53 bits as a fraction of 2^53 (an exact rational with a power-of-two denominator)."""
    return (bits >> 11) / 2**53


def reference_sign(bits: int) -> float:
    """+1 when the top bit is 0, −1 when it is 1."""
    return -1.0 if bits >> 63 else 1.0


def as_python_ints(array: np.ndarray) -> list[int]:
    return [int(v) for v in np.asarray(array, dtype=np.uint64).reshape(-1)]


def test_reference_finalizer_reproduces_published_splitmix64_outputs():
    """The reference is itself right: SplitMix64 from state 0 (outputs published with xoshiro)."""
    outputs = [splitmix64_finalizer((k * GOLDEN_GAMMA) & MASK64) for k in range(1, 5)]
    assert outputs == SPLITMIX64_STATE0_OUTPUTS


def test_seed_zero_stream_zero_counter_zero_is_splitmix64_first_output():
    """With seed 0, stream 0 the start is finalizer(0) = 0, so counter 0 hashes GOLDEN_GAMMA:
    SplitMix64's first published output, independently of the reference above."""
    value = hash64(np, 0, 0, (np.array([0], dtype=np.uint64),))
    assert int(value[0]) == SPLITMIX64_STATE0_OUTPUTS[0]


def random_cases(count: int) -> list[tuple[int, int, list[np.ndarray]]]:
    """(seed, stream, counter arrays) combinations, edge values included, from a fixed seed."""
    rng = random.Random(20261125)
    edge_seeds = [0, 1, 2**63 - 1, 2**63, 2**64 - 1]
    edge_counters = [0, 1, 2**32 - 1, 2**32, 2**63 - 1, 2**63, 2**64 - 2, 2**64 - 1]
    streams = [0, STREAM_ROTATION, STREAM_DITHER_A, STREAM_DITHER_B, STREAM_TUNING, 2**40 + 7]
    cases = []
    for index in range(count):
        seed = edge_seeds[index] if index < len(edge_seeds) else rng.randrange(2**64)
        stream = streams[index % len(streams)]
        arity = 1 + index % 3
        counters = []
        for _ in range(arity):
            values = edge_counters + [rng.randrange(2**64) for _ in range(4)]
            counters.append(np.array(values, dtype=np.uint64))
        cases.append((seed, stream, counters))
    return cases


CASES = random_cases(300)


def test_hash64_uniform_and_signs_match_the_independent_reference():
    """300 (seed, stream, counters) combinations × 12 counter values each: every bit agrees."""
    for seed, stream, counters in CASES:
        bits = hash64(np, seed, stream, tuple(counters))
        values = uniform(np, seed, stream, tuple(counters))
        signs = random_signs(np, seed, stream, tuple(counters))
        assert bits.dtype == np.uint64 and values.dtype == np.float64
        columns = zip(*(as_python_ints(c) for c in counters), strict=True)
        for position, counter_tuple in enumerate(columns):
            expected = reference_hash(seed, stream, counter_tuple)
            assert int(bits[position]) == expected, (seed, stream, counter_tuple)
            assert values[position] == reference_uniform(expected)
            assert signs[position] == reference_sign(expected)


def test_no_counters_gives_the_start_of_the_chain():
    for seed, stream in [(0, 0), (5, STREAM_ROTATION), (2**64 - 1, STREAM_TUNING)]:
        assert int(hash64(np, seed, stream, ())) == reference_hash(seed, stream, ())


def test_signed_and_python_int_counters_hash_like_their_uint64_values():
    """Counters of any integer dtype enter as their uint64 value (the reference: mod 2^64)."""
    for dtype in (np.int8, np.int32, np.int64, np.uint8, np.uint16, np.uint64):
        counters = np.arange(20, dtype=dtype)
        bits = hash64(np, 9, STREAM_DITHER_A, (counters,))
        assert as_python_ints(bits) == [reference_hash(9, STREAM_DITHER_A, (c,)) for c in range(20)]
    bits = hash64(np, 9, STREAM_DITHER_A, (3, np.arange(4)))
    assert as_python_ints(bits) == [reference_hash(9, STREAM_DITHER_A, (3, c)) for c in range(4)]


def test_uniform_values_are_multiples_of_2_to_the_minus_53_in_the_unit_interval():
    values = uniform(np, 11, STREAM_DITHER_A, (np.arange(100_000),))
    assert values.min() >= 0.0 and values.max() < 1.0
    scaled = values * 2.0**53  # exact: multiplying by a power of two
    assert np.array_equal(scaled, np.floor(scaled))


def test_uniform_mean_and_variance_within_five_standard_errors():
    """U uniform on [0,1): mean 1/2 (SE √(1/12/N)), variance 1/12 (SE √((μ4 − σ⁴)/N) with
    μ4 = 1/80 and σ⁴ = 1/144, so μ4 − σ⁴ = 1/180). N = 10^5 values from a fixed seed."""
    n = 100_000
    values = uniform(np, 2026, STREAM_DITHER_B, (np.arange(n),))
    mean_se = math.sqrt(1 / 12 / n)
    variance_se = math.sqrt(1 / 180 / n)
    assert abs(values.mean() - 0.5) < Z_SCORE * mean_se
    assert abs(values.var() - 1 / 12) < Z_SCORE * variance_se


def test_random_signs_are_plus_minus_one_with_frequency_one_half():
    """Frequency of +1 within 5 standard errors √(1/4/N) of 1/2, N = 10^5."""
    n = 100_000
    signs = random_signs(np, 2026, STREAM_ROTATION, (0, np.arange(n)))
    assert set(np.unique(signs).tolist()) == {-1.0, 1.0}
    frequency = float((signs == 1.0).mean())
    assert abs(frequency - 0.5) < Z_SCORE * math.sqrt(0.25 / n)


def test_different_streams_and_seeds_give_different_sequences():
    counters = (np.arange(1000),)
    sequences = [hash64(np, 1, stream, counters) for stream in range(1, 5)]
    sequences += [hash64(np, seed, 1, counters) for seed in (0, 2, 2**64 - 1)]
    for i, first in enumerate(sequences):
        for second in sequences[i + 1 :]:
            # Independent 64-bit values collide with chance 2^-64 per position.
            assert not (first == second).any()


def test_permuted_counters_give_permuted_values():
    """Order independence: each value depends only on its own counters."""
    rng = np.random.default_rng(4)
    blocks = np.arange(500)
    coordinates = rng.integers(0, 2**62, size=500)
    permutation = rng.permutation(500)
    straight = uniform(np, 77, STREAM_DITHER_A, (blocks, coordinates))
    permuted = uniform(np, 77, STREAM_DITHER_A, (blocks[permutation], coordinates[permutation]))
    assert np.array_equal(permuted, straight[permutation])


def test_counters_broadcast_like_numpy_arrays():
    rows = np.arange(3)[:, None]
    columns = np.arange(4)[None, :]
    bits = hash64(np, 5, STREAM_TUNING, (rows, columns))
    assert bits.shape == (3, 4)
    for i in range(3):
        for j in range(4):
            assert int(bits[i, j]) == reference_hash(5, STREAM_TUNING, (i, j))
    assert uniform(np, 5, STREAM_TUNING, (7, np.zeros((2, 1, 5), dtype=int))).shape == (2, 1, 5)
    assert random_signs(np, 5, STREAM_TUNING, (np.arange(6).reshape(2, 3),)).shape == (2, 3)


@pytest.mark.parametrize(
    ("seed", "error"),
    [
        (-1, ValueError),
        (2**64, ValueError),
        (1.0, TypeError),
        (True, TypeError),
        ("7", TypeError),
        (None, TypeError),
    ],
)
def test_validated_seed_refuses_bad_seeds_naming_the_argument(seed, error):
    with pytest.raises(error, match="my_seed"):
        validated_seed(seed, "my_seed")
    with pytest.raises(error, match="seed"):
        hash64(np, seed, STREAM_ROTATION, (np.arange(3),))


def test_validated_seed_accepts_the_whole_range_and_numpy_integers():
    assert validated_seed(0) == 0
    assert validated_seed(2**64 - 1) == 2**64 - 1
    assert validated_seed(np.uint64(2**64 - 1)) == 2**64 - 1
    assert type(validated_seed(np.int32(5))) is int


@pytest.mark.parametrize("counter", [np.arange(3.0), np.array([True, False]), np.array([1j])])
def test_counters_must_have_an_integer_dtype(counter):
    with pytest.raises(TypeError, match="integer"):
        hash64(np, 1, STREAM_ROTATION, (counter,))
    with pytest.raises(TypeError, match="integer"):
        uniform(np, 1, STREAM_ROTATION, (np.arange(3), counter))


def test_no_runtime_warning_from_wrapping_arithmetic():
    """uint64 overflow is intended; neither arrays nor 0-d scalars may warn."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        hash64(np, 2**64 - 1, STREAM_TUNING, (np.arange(1000, dtype=np.uint64) + 2**63,))
        uniform(np, 2**64 - 1, STREAM_DITHER_A, (2**63, 5))  # 0-d: NumPy scalar arithmetic
        random_signs(np, 3, STREAM_ROTATION, (np.uint64(2**64 - 1), np.arange(5)))
        hash64(np, 2**64 - 1, 2**40, ())


def test_cupy_gives_the_same_bits_as_numpy():
    cupy = cupy_or_none()
    if cupy is None:
        pytest.skip("CuPy is not installed or sees no GPU; the GPU path cannot run here")
    for seed, stream, counters in CASES[:50]:
        gpu_counters = tuple(cupy.asarray(c) for c in counters)
        for function in (hash64, uniform, random_signs):
            cpu = function(np, seed, stream, tuple(counters))
            gpu = to_numpy(function(cupy, seed, stream, gpu_counters))
            assert cpu.dtype == gpu.dtype and cpu.tobytes() == gpu.tobytes()
