"""Benchmarks: NestedLatticeMatmul encoding throughput against a copy of the same input.

Run with ``pytest benchmarks -p no:cacheprovider`` (not part of the default test run). Each
benchmark measures its baseline in the same run and records the ratio in ``extra_info``:

- CPU: E8 encoding (q = 14, four scales) of an n×a float32 matrix against ``numpy.copy``;
- GPU (skipped without CuPy and a GPU): the same on CuPy against ``cupy.copy``, i.e. the
  device's copy bandwidth, with the peak of CuPy's memory pool.

The sizes come from QUANTMM_BENCH_COLUMNS (default 1024 on the CPU, 4096 on the GPU); n = 4096.
"""

from __future__ import annotations

import os
import time

import numpy as np
import pytest

from quantmm.fast import NestedLatticeMatmul, cupy_or_none

ROWS = 4096


def _columns(default: int) -> int:
    return int(os.environ.get("QUANTMM_BENCH_COLUMNS", default))


def _best_of(function, repeats: int, synchronize=lambda: None) -> float:
    best = float("inf")
    for _ in range(repeats):
        synchronize()
        start = time.perf_counter()
        function()
        synchronize()
        best = min(best, time.perf_counter() - start)
    return best


def test_cpu_encode_throughput_against_copy(benchmark):
    A = np.random.default_rng(0).normal(size=(ROWS, _columns(1024))).astype(np.float32)
    kernel = NestedLatticeMatmul(np.log2(14) + 0.25, seed=1)
    payload = benchmark.pedantic(kernel.encode_a, args=(A,), rounds=3, iterations=1)
    encode_seconds = benchmark.stats.stats.min
    copy_seconds = _best_of(lambda: np.copy(A), 10)
    gigabytes = A.nbytes / 1e9
    benchmark.extra_info.update(
        {
            "input_GB": gigabytes,
            "encode_GB_per_s": gigabytes / encode_seconds,
            "copy_GB_per_s": gigabytes / copy_seconds,
            "encode_over_copy_time": encode_seconds / copy_seconds,
            "bits_per_entry": 8 * len(payload) / A.size,
        }
    )


def test_gpu_encode_throughput_against_copy(benchmark):
    cupy = cupy_or_none()
    if cupy is None:
        pytest.skip("CuPy with a visible GPU is not available on this machine")
    A = cupy.asarray(np.random.default_rng(0).normal(size=(ROWS, _columns(4096))), cupy.float32)
    kernel = NestedLatticeMatmul(np.log2(14) + 0.25, seed=1, device="gpu")
    synchronize = cupy.cuda.runtime.deviceSynchronize
    kernel.encode_a(A)  # compile kernels
    pool = cupy.get_default_memory_pool()
    pool.free_all_blocks()
    before = pool.used_bytes()

    def encode():
        payload = kernel.encode_a(A)
        synchronize()
        return payload

    payload = benchmark.pedantic(encode, rounds=3, iterations=1)
    encode_seconds = benchmark.stats.stats.min
    copy_seconds = _best_of(lambda: cupy.copy(A), 20, synchronize)
    gigabytes = A.nbytes / 1e9
    benchmark.extra_info.update(
        {
            "device": cupy.cuda.runtime.getDeviceProperties(0)["name"].decode(),
            "input_GB": gigabytes,
            "encode_GB_per_s": gigabytes / encode_seconds,
            "copy_GB_per_s": gigabytes / copy_seconds,
            "encode_over_copy_time": encode_seconds / copy_seconds,
            "pool_total_bytes_after": pool.total_bytes() - before,
            "bits_per_entry": 8 * len(payload) / A.size,
        }
    )
