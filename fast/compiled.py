"""Compiled CPU kernels for the Voronoi codes, with numba (the optional extra ``fast``).

:class:`~quantmm.fast.voronoi.VoronoiCode` runs its dither, first-fit and given-scale encoders,
decoder and safe-scale selection through these kernels when its arrays are NumPy arrays and
numba is installed (``pip install "quantmm[fast]"``); otherwise it runs the vectorized NumPy
code. CuPy arrays take the vectorized CuPy code, or, with ``QUANTMM_CUDA_KERNELS=1``, the same
algorithm as CUDA kernels (:mod:`quantmm.fast.cuda_kernels`). The compiled and vectorized paths
give the same bits: every operation is the vectorized code's, one block at a time
(:mod:`quantmm.fast.numba_kernels`), and the tests compare them bit for bit. Setting the
environment variable ``QUANTMM_NUMBA=0`` turns the compiled path off (to time or debug the
vectorized one).

The compiled encoder does in one pass what the vectorized one does in several: it generates a
block's dither once, runs the encoder and the exact overload check (which decodes the block)
scale by scale until one fits, and keeps the decoded value t − z, which the nested-lattice kernel
then uses for its MMSE weights instead of decoding again.

>>> available() in (True, False)
True
"""

from __future__ import annotations

import functools
import os
from types import ModuleType
from typing import Any

import numpy as np

from .counter_random import first_counter_base
from .lattices import Lattice, _exact_inverse
from .lattices import lattice as code_lattice

__all__ = [
    "PACKED_DTYPES",
    "available",
    "closest_point",
    "decode",
    "dither",
    "encode",
    "pack_codes",
    "safe_scale_index",
    "unpack_codes",
    "warm_up",
]

_LATTICE_IDS = {"Z": 0, "A2": 1, "D4": 2, "E8": 3}


@functools.cache
def _numba_kernels() -> ModuleType | None:
    try:
        from . import numba_kernels
    except ImportError:  # numba is not installed
        return None
    return numba_kernels


def available() -> bool:
    """Whether the compiled kernels can run: numba imports and ``QUANTMM_NUMBA`` is not "0"."""
    return os.environ.get("QUANTMM_NUMBA", "1") != "0" and _numba_kernels() is not None


Sparse = tuple[np.ndarray, np.ndarray, np.ndarray]


def _sparse(matrix: np.ndarray) -> Sparse:
    """The non-zero entries of a square matrix row by row: (row starts, columns, values)."""
    rows, columns = np.nonzero(matrix)  # row-major order: columns ascending within a row
    starts = np.searchsorted(rows, np.arange(matrix.shape[0] + 1)).astype(np.int64)
    return starts, columns.astype(np.int64), np.ascontiguousarray(matrix[rows, columns])


@functools.cache
def _lattice_arrays(name: str) -> tuple[int, Sparse, Sparse]:
    generator = np.asarray(code_lattice(name).generator, dtype=np.float64)
    if name == "A2":  # A2's coordinates come from its two cosets, not from G⁻¹ (unused)
        twice_inverse = np.eye(2, dtype=np.int64)
    else:
        twice_inverse = np.rint(2 * _exact_inverse(name)).astype(np.int64)
    return _LATTICE_IDS[name], _sparse(generator), _sparse(twice_inverse)


def _arrays(lattice: Lattice) -> tuple[int, Sparse, Sparse]:
    """The kernels' lattice id, G and 2·G⁻¹ (int64) of a code lattice, as :func:`_sparse`."""
    return _lattice_arrays(lattice.name)


def closest_point(x: np.ndarray, name: str) -> np.ndarray:
    """lattices.closest_point of x (…, d; float32 or float64, checked) for ``name`` in Z, D, D4,
    A2, E8, in x's dtype (computed in float64, see numba_kernels.closest_point)."""
    kernels = _numba_kernels()
    lattice_id = _LATTICE_IDS["D4" if name == "D" else name]  # D4's kernel takes any D_d
    rows = np.ascontiguousarray(x.reshape(-1, x.shape[-1]))
    out = np.empty_like(rows)  # every output is allocated here, in NumPy: tracemalloc sees it
    kernels.closest_point(lattice_id, rows, out)
    return out.reshape(x.shape)


#: The code dtypes the compiled packer takes (others are packed by the NumPy code).
PACKED_DTYPES = (np.dtype(np.uint8), np.dtype(np.uint16))


def pack_codes(codes: np.ndarray, radix: int, g: int, bits: int, size: int) -> np.ndarray:
    """packing.pack_codes of checked codes (1-D, a dtype in PACKED_DTYPES) into ``size`` bytes."""
    out = np.zeros(size, dtype=np.uint8)
    _numba_kernels().pack_codes(np.ascontiguousarray(codes), radix, g, bits, out)
    return out


def unpack_codes(packed: np.ndarray, radix: int, g: int, bits: int, codes: np.ndarray) -> int:
    """packing.unpack_codes' groups into ``codes`` (groups·g, uint8/uint16/uint32); returns
    the number of groups holding radix^g or more."""
    return int(_numba_kernels().unpack_codes(packed, radix, g, bits, codes))


def warm_up() -> None:
    """Compile (or load from the cache) every kernel for every argument type quantmm passes,
    so that later processes, sandboxed ones included, find them cached. Returns at once when
    numba is not available."""
    if not available():
        return
    for dtype in (np.float32, np.float64):
        closest_point(np.zeros((1, 8), dtype=dtype), "E8")
    for dtype in PACKED_DTYPES:  # codes of q <= 256 and q <= 65536, and the unpacked dtypes
        data = pack_codes(np.zeros(16, dtype=dtype), 14, 16, 61, 8)
        unpack_codes(data, 14, 16, 61, np.zeros(16, dtype=dtype))
    lattice = code_lattice("E8")
    index = np.zeros(1, dtype=np.int64)
    x = np.zeros((1, 8))
    dither(lattice, 0, 2, index)
    safe_scale_index(lattice, 14, (1.0,), x)
    # one signature each: the kernels take every q's codes as uint16
    codes, _, _ = encode(lattice, 14, (1.0,), 0, 2, x, index, None, np.uint8)
    encode(lattice, 14, (1.0,), 0, 2, x, index, np.zeros(1, np.uint8), np.uint8)
    decode(lattice, 14, 0, 2, codes, np.ones(1), index)


def dither(lattice: Lattice, seed: int, stream: int, block_index: np.ndarray) -> np.ndarray:
    """VoronoiCode.dither (N, 8) of the blocks ``block_index`` (int64)."""
    kernels = _numba_kernels()
    name, generator, _ = _arrays(lattice)
    block_index = np.ascontiguousarray(block_index, dtype=np.int64)
    z = np.empty((block_index.shape[0], 8))
    kernels.dither(name, generator, first_counter_base(seed, stream), block_index, z)
    return z


def encode(
    lattice: Lattice,
    q: int,
    betas: tuple[float, ...],
    seed: int,
    stream: int,
    x: np.ndarray,
    block_index: np.ndarray,
    chosen: np.ndarray | None,
    code_dtype: Any,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """VoronoiCode.encode of x (N, 8, float64): codes, scale indices (k = overloaded) and the
    decoded values t − z (0 for an overloaded block); first fit unless ``chosen`` is given."""
    kernels = _numba_kernels()
    name, generator, twice_inverse = _arrays(lattice)
    count = x.shape[0]
    codes = np.empty((count, 8), dtype=np.uint16)  # one compiled signature for every q
    scale_index = np.empty(count, dtype=np.uint8)
    values = np.empty((count, 8))
    chosen = np.zeros(0, np.int64) if chosen is None else chosen.astype(np.int64)
    block_index = np.ascontiguousarray(block_index, dtype=np.int64)
    bound = q * (lattice.covering_radius + 1.0)
    kernels.encode(
        name, generator, twice_inverse, q, bound, first_counter_base(seed, stream),
        np.asarray(betas, dtype=np.float64), np.ascontiguousarray(x), block_index, chosen,
        codes, scale_index, values,
    )  # fmt: skip
    return codes.astype(code_dtype, copy=False), scale_index, values


def decode(
    lattice: Lattice,
    q: int,
    seed: int,
    stream: int,
    codes: np.ndarray,
    beta: np.ndarray,
    block_index: np.ndarray,
) -> np.ndarray:
    """VoronoiCode.decode_at_scale of codes (N, 8) at per-block scales β (N,), with the dither
    of ``block_index``."""
    kernels = _numba_kernels()
    name, generator, twice_inverse = _arrays(lattice)
    out = np.empty((codes.shape[0], 8))
    kernels.decode(
        name, generator, twice_inverse, q, first_counter_base(seed, stream),
        np.ascontiguousarray(codes, dtype=np.uint16),
        np.ascontiguousarray(beta, dtype=np.float64),
        np.ascontiguousarray(block_index, dtype=np.int64), out,
    )  # fmt: skip
    return out


def safe_scale_index(lattice: Lattice, q: int, betas: tuple[float, ...], x: np.ndarray):
    """VoronoiCode.safe_scale_index of x (N, 8, float64)."""
    kernels = _numba_kernels()
    name, _, _ = _arrays(lattice)
    bound = (q - 1) * (lattice.covering_radius + 1.0)
    out = np.empty(x.shape[0], dtype=np.uint8)
    kernels.safe_scale_index(
        name, q, bound, np.asarray(betas, dtype=np.float64), np.ascontiguousarray(x), out
    )
    return out
