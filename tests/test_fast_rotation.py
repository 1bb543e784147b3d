"""The randomized Hadamard rotation (quantmm.fast.rotation) against matrices built independently.

Expected matrices come from scipy.linalg.hadamard (Sylvester's construction) and the sign vectors
from quantmm.fast.counter_random.random_signs (itself checked bit for bit against an independent
SplitMix64 in tests/test_fast_counter_random.py), combined here with plain matrix products as the
module docstring describes: H·D/√n for a power of two n, and for any other n (p the largest power
of two below n) the product F_1·F_0 of F_0 = H_p·D_0/√p on coordinates [0, p) and
F_1 = H_p·D_1/√p on [n − p, n), D_w the signs of window w.

Tolerances: 1e-13 absolute on matrices whose entries are at most 1 in size, i.e. a few hundred
units in the last place of double precision for the at most log2(n) + 2 rounded operations per
entry; the exact cases compare exactly.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import scipy.linalg

from quantmm.fast.backend import cupy_or_none, to_numpy
from quantmm.fast.counter_random import STREAM_ROTATION, random_signs
from quantmm.fast.rotation import RandomizedHadamard, walsh_hadamard

EPS = np.finfo(np.float64).eps
POWERS_OF_TWO = [2**k for k in range(11)]  # 1 … 1024
LENGTHS = [*range(1, 41), 64, 100, 129]
TOLERANCE = 1e-13


def largest_power_of_two_at_most(n: int) -> int:
    p = 1
    while 2 * p <= n:
        p *= 2
    return p


def rotation_matrix(rotation: RandomizedHadamard) -> np.ndarray:
    """Q with Q·x = rotation.apply(x): the images of the standard basis vectors as columns."""
    return rotation.apply(np.eye(rotation.length))


def window_signs(seed: int, window: int, p: int) -> np.ndarray:
    return random_signs(np, seed, STREAM_ROTATION, (window, np.arange(p)))


def windowed_factor(n: int, p: int, start: int, signs: np.ndarray) -> np.ndarray:
    """The n×n matrix acting as H_p·diag(signs)/√p on [start, start + p), identity elsewhere."""
    factor = np.eye(n)
    factor[start : start + p, start : start + p] = scipy.linalg.hadamard(p) * signs / math.sqrt(p)
    return factor


def expected_matrix(n: int, seed: int) -> np.ndarray:
    p = largest_power_of_two_at_most(n)
    first = windowed_factor(n, p, 0, window_signs(seed, 0, p))
    if p == n:
        return first
    second = windowed_factor(n, p, n - p, window_signs(seed, 1, p))
    return second @ first


# ---------------------------------------------------------------- walsh_hadamard


@pytest.mark.parametrize("p", POWERS_OF_TWO)
def test_walsh_hadamard_equals_the_sylvester_matrix_on_integers_exactly(p):
    """Integer inputs: every partial sum is an integer well below 2^53, so both sides are exact."""
    rng = np.random.default_rng(p)
    hadamard = scipy.linalg.hadamard(p).astype(np.int64)
    vector = rng.integers(-1000, 1000, size=p)
    matrix = rng.integers(-1000, 1000, size=(p, 3))
    assert np.array_equal(walsh_hadamard(vector), hadamard @ vector)
    assert np.array_equal(walsh_hadamard(matrix), hadamard @ matrix)
    assert np.array_equal(walsh_hadamard(vector.astype(float)), (hadamard @ vector).astype(float))


@pytest.mark.parametrize("p", POWERS_OF_TWO)
def test_walsh_hadamard_equals_the_sylvester_matrix_on_floats(p):
    """Floats: the butterflies round log2(p) times, the matrix product at most p times, so both lie
    within (p + log2 p)·eps·Σ|x_j| of the exact value; allow twice that."""
    rng = np.random.default_rng(1000 + p)
    hadamard = scipy.linalg.hadamard(p).astype(float)
    for x in (rng.normal(size=p), rng.normal(size=(p, 4)) * 1e3):
        bound = 2 * (p + math.log2(p)) * EPS * np.abs(x).sum(axis=0)
        assert (np.abs(walsh_hadamard(x) - hadamard @ x) <= bound).all()


def test_walsh_hadamard_keeps_trailing_axes_and_refuses_other_lengths():
    x = np.arange(24.0).reshape(4, 3, 2)
    expected = np.einsum("ij,jkl->ikl", scipy.linalg.hadamard(4).astype(float), x)
    assert np.array_equal(walsh_hadamard(x), expected)
    for p in (0, 3, 6, 12):
        with pytest.raises(ValueError, match=f"power-of-two length along axis 0, got {p}"):
            walsh_hadamard(np.ones((p, 2)))


# ---------------------------------------------------------------- RandomizedHadamard


@pytest.mark.parametrize("n", LENGTHS)
def test_rotation_is_orthogonal_and_inverted_by_its_transpose(n):
    rotation = RandomizedHadamard(n, seed=n + 17)
    Q = rotation_matrix(rotation)
    assert np.abs(Q @ Q.T - np.eye(n)).max() < TOLERANCE
    assert np.abs(rotation.apply_transpose(np.eye(n)) - Q.T).max() < TOLERANCE
    x = np.random.default_rng(n).normal(size=(n, 3))
    assert np.abs(rotation.apply_transpose(rotation.apply(x)) - x).max() < TOLERANCE
    assert np.abs(rotation.apply(rotation.apply_transpose(x)) - x).max() < TOLERANCE


@pytest.mark.parametrize("n", [p for p in LENGTHS if p & (p - 1) == 0])
def test_power_of_two_rotation_is_h_times_signs_over_root_n(n):
    seed = 3 * n + 1
    hadamard = scipy.linalg.hadamard(n).astype(float)
    expected = hadamard * window_signs(seed, 0, n)[None, :] / math.sqrt(n)
    Q = rotation_matrix(RandomizedHadamard(n, seed=seed))
    # Every entry is ±1/√n times an exact ±1: they differ at most by the rounding of 1/√n.
    assert np.abs(Q - expected).max() <= EPS
    assert np.array_equal(np.abs(Q) > 0, np.ones((n, n), dtype=bool))


@pytest.mark.parametrize("n", [p for p in LENGTHS if p & (p - 1)])
def test_other_lengths_are_the_product_of_two_windowed_factors(n):
    seed = 5 * n + 2
    Q = rotation_matrix(RandomizedHadamard(n, seed=seed))
    assert np.abs(Q - expected_matrix(n, seed)).max() < TOLERANCE


@pytest.mark.parametrize("n", [p for p in LENGTHS if p & (p - 1)])
def test_actual_mixing_structure_for_lengths_that_are_not_powers_of_two(n):
    """What the two-window product really mixes (p the largest power of two below n):

    - outputs [0, n − p) come from the first factor alone: entries ±1/√p on inputs [0, p) and
      exactly 0 on inputs [p, n), which they never see;
    - outputs [n − p, n) see inputs [p, n) through the second factor alone (entries ±1/√p), and
      inputs [0, p) through both: entries Σ ±1/p over the 2p − n overlapping coordinates, which
      can cancel to 0 (e.g. n = 6).
    """
    p = largest_power_of_two_at_most(n)
    Q = rotation_matrix(RandomizedHadamard(n, seed=n))
    head, tail = slice(0, n - p), slice(n - p, n)
    assert np.array_equal(Q[head, p:], np.zeros((n - p, n - p)))
    assert np.abs(np.abs(Q[head, :p]) - 1 / math.sqrt(p)).max() <= EPS
    assert np.abs(np.abs(Q[tail, p:]) - 1 / math.sqrt(p)).max() <= EPS
    overlap_sums = Q[tail, :p] * p  # integers of the parity of 2p − n, at most 2p − n in size
    assert np.abs(overlap_sums - np.round(overlap_sums)).max() < 1e-12
    assert np.abs(overlap_sums).max() <= 2 * p - n + 1e-12
    assert (np.round(overlap_sums).astype(int) % 2 == (2 * p - n) % 2).all()


def test_same_seed_same_bytes_different_seed_different_output():
    x = np.random.default_rng(2).normal(size=(100, 5))
    first = RandomizedHadamard(100, seed=42).apply(x)
    again = RandomizedHadamard(100, seed=42).apply(x)
    other = RandomizedHadamard(100, seed=43).apply(x)
    assert first.tobytes() == again.tobytes()
    assert not np.array_equal(first, other)
    assert (
        RandomizedHadamard(100, seed=42).apply_transpose(x).tobytes()
        == RandomizedHadamard(100, seed=42).apply_transpose(x).tobytes()
    )


def test_inputs_are_not_modified_and_float32_is_accepted():
    rotation = RandomizedHadamard(12, seed=9)
    x = np.random.default_rng(3).normal(size=(12, 2))
    saved = x.copy()
    rotation.apply(x)
    rotation.apply_transpose(x)
    assert np.array_equal(x, saved)
    x32 = x.astype(np.float32)
    for method in (rotation.apply, rotation.apply_transpose):
        result = method(x32)
        assert result.dtype == np.float64
        assert np.array_equal(result, method(x32.astype(np.float64)))
        assert method(x[:, 0]).shape == (12,)


@pytest.mark.parametrize("length", [0, -4, 2.0, True, "8", None, np.int64(8)])
def test_bad_lengths_are_refused(length):
    with pytest.raises(ValueError, match="length must be a positive integer"):
        RandomizedHadamard(length)


@pytest.mark.parametrize("shape", [(11,), (13, 2), (12, 2, 2), (), (2, 12)])
def test_bad_shapes_are_refused_naming_the_expected_shape(shape):
    rotation = RandomizedHadamard(12)
    for method in (rotation.apply, rotation.apply_transpose):
        with pytest.raises(ValueError, match=r"x must have shape \(12,\) or \(12, m\)"):
            method(np.zeros(shape))


def test_bad_seeds_are_refused():
    with pytest.raises(ValueError, match="seed"):
        RandomizedHadamard(8, seed=-1)
    with pytest.raises(TypeError, match="seed"):
        RandomizedHadamard(8, seed=1.5)


def test_complex_input_is_refused():
    """Repro: RandomizedHadamard(6, 1).apply(np.ones(6) + 1j) returns a real array."""
    with pytest.raises(TypeError), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # today's ComplexWarning is not the point
        RandomizedHadamard(6, seed=1).apply(np.ones(6) + 1j)


def test_cupy_rotation_equals_numpy_bit_for_bit():
    cupy = cupy_or_none()
    if cupy is None:
        pytest.skip("CuPy is not installed or sees no GPU; the GPU path cannot run here")
    rng = np.random.default_rng(11)
    for n in [1, 2, 3, 6, 8, 100, 129, 1024, 1500]:
        rotation = RandomizedHadamard(n, seed=n)
        for x in (rng.normal(size=n), rng.normal(size=(n, 5)).astype(np.float32)):
            for method in (rotation.apply, rotation.apply_transpose):
                cpu = method(x)
                gpu = method(cupy.asarray(x))
                assert type(gpu).__module__.startswith("cupy")
                assert to_numpy(gpu).tobytes() == cpu.tobytes(), (n, x.shape, method.__name__)
    for p in POWERS_OF_TWO:
        x = rng.normal(size=(p, 3))
        assert to_numpy(walsh_hadamard(cupy.asarray(x))).tobytes() == walsh_hadamard(x).tobytes()
