"""Shared by the tests that hold one implementation to another bit for bit (the numba kernels in
tests/test_fast_compiled.py, the CUDA source in tests/test_voronoi_kernels_source.py): the
comparison and the hard inputs."""

from __future__ import annotations

import numpy as np

from quantmm.fast.backend import to_numpy

#: Lattice codes (name, q) both comparisons run: E8 at small, usual and 16-bit q, and the others.
CODES = [("E8", 14), ("E8", 2), ("E8", 300), ("D4", 7), ("A2", 5), ("Z", 16)]


def same_bits(a, b) -> bool:
    """Same dtype, shape and bits (floats compared as integers: −0 ≠ +0, NaN payloads count)."""
    a, b = np.asarray(to_numpy(a)), np.asarray(to_numpy(b))
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    if a.dtype.kind == "f":
        width = {4: np.uint32, 8: np.uint64}[a.dtype.itemsize]
        return np.array_equal(a.view(width), b.view(width))
    return np.array_equal(a, b)


def hard_blocks(seed: int, count: int) -> np.ndarray:
    """Gaussian blocks at several scales, a quarter rounded to multiples of 1/4 (ties of the
    closest-point rules and of the overload check), a few exact zeros and integers."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(count, 8)) * rng.choice([0.1, 1.0, 3.0, 30.0], size=(count, 1))
    x[: count // 4] = np.round(x[: count // 4] * 4) / 4
    x[count // 4 : count // 4 + 8] = 0.0
    x[count // 4 + 8 : count // 4 + 16] = np.round(x[count // 4 + 8 : count // 4 + 16])
    return x
