"""Bounded memory: the encoders work a chunk at a time, and the chunking changes no byte.

Peak memory is measured with tracemalloc (NumPy reports its allocations to it) relative to the
input's size; the bound is 1.5× the input for matrices of a few tens of MiB and more, where the
encoders' fixed per-chunk temporaries (about a MiB) no longer matter. The byte identity of the
chunked computations is checked against their whole-array definitions written here: the pairwise
tree of ``ordered_sum`` over all rows at once, the butterfly Walsh–Hadamard transform with one
``stack`` per level, and the scalar encoder's formulas over the whole matrix.
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

import quantmm.fast.nested_lattice as nested_lattice
import quantmm.fast.rotation as rotation
import quantmm.fast.scalar_matmul as scalar_matmul
from quantmm.fast import NestedLatticeMatmul, ScalarMatmul
from quantmm.fast.backend import ordered_sum, ordered_sum_in_chunks
from quantmm.fast.payload import unpack_payload


def peak_ratio(encode, matrix: np.ndarray) -> float:
    tracemalloc.start()
    try:
        encode(matrix)
        return tracemalloc.get_traced_memory()[1] / matrix.nbytes
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize(
    ("kernel", "shape"),
    [
        # 7.0× before the encoder was chunked (float64 copy, int64 codes, whole-matrix bits)
        (ScalarMatmul(16, "lloyd_max"), (4096, 4096)),
        (ScalarMatmul(16, "lloyd_max"), (16, 1_000_000)),
        # 5.2× before at 2^20×8 (a whole column's temporaries at once, then the packing's bit
        # matrix); 2.86× at 4096×1024. Measured now: 1.08× and 0.89× (16 MiB each).
        (NestedLatticeMatmul(4.06, seed=1), (1 << 19, 8)),
        (NestedLatticeMatmul(4.06, seed=1), (4096, 1024)),
    ],
    ids=["scalar-square", "scalar-wide", "nested-tall", "nested-square"],
)
def test_encoding_peaks_below_one_and_a_half_times_the_input(kernel, shape):
    matrix = np.random.default_rng(1).standard_normal(shape, dtype=np.float32)
    ratio = peak_ratio(kernel.encode_a, matrix)
    assert ratio <= 1.5, f"peak {ratio:.2f}× the input for {kernel!r} on {shape}"


def test_a_single_float32_column_peaks_at_its_float64_working_copy():
    """One column of n float32 entries is rotated as a whole in float64 (8n bytes, twice the
    input): the documented floor for n×1. Measured 2.83× at n = 2^22 (the codes are another
    0.25×, the chunk temporaries a few MiB) and 2.42× at n = 2^24."""
    matrix = np.random.default_rng(2).standard_normal((1 << 22, 1), dtype=np.float32)
    ratio = peak_ratio(NestedLatticeMatmul(4.06, seed=1).encode_a, matrix)
    assert ratio <= 3.0, ratio


@pytest.mark.parametrize("seed", range(40))
def test_ordered_sum_in_chunks_is_the_whole_array_tree_bit_for_bit(seed):
    rng = np.random.default_rng(seed)
    count, chunk = int(rng.integers(1, 700)), 1 << int(rng.integers(0, 8))
    x = rng.standard_normal((count, 3)) * 10.0 ** rng.integers(-8, 8, size=(count, 1))
    x[rng.random((count, 3)) < 0.3] = -0.0  # signed zeros: the padding's +0.0 matters
    if seed % 4 == 0:
        x[:, 1] = -0.0
    for transform in (None, np.square):
        expected = ordered_sum(x if transform is None else transform(x))
        assert ordered_sum_in_chunks(x, chunk, transform).tobytes() == expected.tobytes()


def test_ordered_sum_in_chunks_refuses_a_chunk_that_is_not_a_power_of_two():
    with pytest.raises(ValueError, match="power of two"):
        ordered_sum_in_chunks(np.ones((4, 1)), 3)


def stacked_walsh_hadamard(x: np.ndarray) -> np.ndarray:
    """The butterfly transform with one ``stack`` per level (the definition)."""
    p = x.shape[0]
    y = x.reshape(p, -1)
    h = 1
    while h < p:
        pairs = y.reshape(p // (2 * h), 2, h, -1)
        y = np.stack((pairs[:, 0] + pairs[:, 1], pairs[:, 0] - pairs[:, 1]), axis=1).reshape(p, -1)
        h *= 2
    return y.reshape(x.shape)


@pytest.mark.parametrize("chunk", [1, 4, 64, 1 << 16])
@pytest.mark.parametrize("shape", [(1,), (2, 3), (256, 5), (1 << 12,), (1 << 17, 1)])
def test_the_sliced_in_place_transform_is_the_stacked_one_bit_for_bit(monkeypatch, chunk, shape):
    monkeypatch.setattr(rotation, "_CHUNK", chunk)
    if chunk < 64 and np.prod(shape) > 4096:
        pytest.skip("a tiny chunk on a large array only costs time")
    x = np.random.default_rng(3).standard_normal(shape) * 1e3
    assert rotation.walsh_hadamard(x).tobytes() == stacked_walsh_hadamard(x).tobytes()


@pytest.mark.parametrize(
    ("kernel", "shape"),
    [
        (NestedLatticeMatmul(4.06, seed=2), (3000, 7)),
        (NestedLatticeMatmul(3, scaling="unbiased", seed=3), (1001, 3)),
        (NestedLatticeMatmul(0.5, seed=4), (2000, 2)),
        (ScalarMatmul(5, "pd"), (3000, 7)),
    ],
    ids=["nested-mmse", "nested-unbiased", "nested-sketch", "scalar"],
)
def test_the_chunk_size_changes_no_byte(monkeypatch, kernel, shape):
    """Heavy-tailed input (escapes), signed zeros, a zero column: encoded with the default chunks
    and again with chunks of 64 entries (many columns and row pieces), the same bytes."""
    rng = np.random.default_rng(4)
    matrix = rng.standard_cauchy(shape)
    matrix[::3, 0] = -0.0
    matrix[:, -1] = 0.0
    default = kernel.encode_a(matrix)
    module = nested_lattice if isinstance(kernel, NestedLatticeMatmul) else scalar_matmul
    monkeypatch.setattr(module, "_CHUNK_ENTRIES", 64)
    monkeypatch.setattr(rotation, "_CHUNK", 64)
    assert kernel.encode_a(matrix) == default


@pytest.mark.parametrize("shape", [(5, 3), (300_001, 1), (70_000, 5), (1000, 700)])
def test_the_chunked_scalar_encoder_gives_the_whole_matrix_formulas(shape):
    """s = m·sqrt(Σ (col/m)²/n) (the sum in ordered_sum's order over the whole column) and the
    codes searchsorted(thresholds, x/s, side='left'), computed here on the whole matrix."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal(shape) * 10.0 ** rng.integers(-3, 3, size=(1, shape[1]))
    x[:, 0] = np.where(rng.random(shape[0]) < 0.5, -0.0, x[:, 0])
    kernel = ScalarMatmul(5, "pd")
    _, fields = unpack_payload(kernel.encode_a(x.astype(np.float32)), "ScalarMatmul")
    whole = x.astype(np.float32).astype(np.float64)
    largest = np.abs(whole).max(axis=0)
    unit = whole / np.where(largest > 0, largest, 1.0)
    scales = largest * np.sqrt(ordered_sum(unit * unit) / shape[0])
    normalized = whole / np.where(scales > 0, scales, 1.0)
    codes = np.searchsorted(kernel.codebook.thresholds, normalized.ravel(), side="left")
    assert fields["scales"].tobytes() == scales.tobytes()
    assert np.array_equal(fields["codes"], codes.reshape(shape))
