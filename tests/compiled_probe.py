"""A probe for tests/test_fast_compiled.py: a kernel whose encode_a answers whether quantmm.fast's
compiled kernels ran in the process (the harness's worker) that called it."""

from __future__ import annotations

import sys

import numpy as np


class Probe:
    rate = 64.0

    def __init__(self, seed: int = 0, device: str = "cpu") -> None:
        from quantmm.fast import NestedLatticeMatmul

        self.kernel = NestedLatticeMatmul(4.06, seed=seed)

    def encode_a(self, A: np.ndarray) -> bytes:
        self.kernel.encode_a(A)
        kernels = sys.modules.get("quantmm.fast.numba_kernels")
        ran = kernels is not None and sum(kernels.encode.stats.cache_hits.values()) + sum(
            kernels.encode.stats.cache_misses.values()
        )
        return b"compiled" if ran else b"numpy"

    def encode_b(self, B: np.ndarray) -> bytes:
        return self.encode_a(B)

    def estimate(self, payload_a: bytes, payload_b: bytes) -> np.ndarray:
        raise NotImplementedError("a probe, never certified")
