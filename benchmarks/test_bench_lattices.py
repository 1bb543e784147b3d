"""Benchmarks of the vectorized closest-point decoders (theory.md §1.4, fast/lattices.py).

Not part of the default test run (testpaths = tests). Run with

    .venv/bin/pytest benchmarks -p no:cacheprovider

QUANTMM_BENCH_VECTORS sets the number of vectors (default 10^7; e.g. 10^5 for a quick run).
The E8 benchmark compares the vectorized decoder with a plain per-vector loop of the same
Conway–Sloane algorithm (:func:`e8_closest_point_loop`, written here independently) on a subset,
records both throughputs and their ratio in ``benchmark.extra_info``, and asserts the ratio
(never a wall-clock time) is at least 20, the requirement of issue #4.
"""

from __future__ import annotations

import os
import time

import numpy as np
import pytest

from quantmm.fast.backend import cupy_or_none
from quantmm.fast.lattices import closest_point

#: Vectors decoded by the vectorized benchmarks.
VECTORS = int(os.environ.get("QUANTMM_BENCH_VECTORS", 10_000_000))
#: Vectors decoded by the per-vector loop (its cost per vector is what is compared).
LOOP_VECTORS = min(20_000, VECTORS)
#: The speed-up that issue #4 requires of the vectorized E8 decoder over a per-vector loop.
REQUIRED_RATIO = 20.0
ROUNDS = 3


def seeded_normal(n: int, d: int, seed: int = 2024) -> np.ndarray:
    """n standard normal float32 vectors of dimension d, from a fixed seed."""
    return np.random.default_rng(seed).standard_normal((n, d), dtype=np.float32)


def d_closest_point_loop(v: np.ndarray) -> np.ndarray:
    """Conway–Sloane's D_n decoder on one vector: round; if the sum is odd, re-round the
    coordinate farthest from its rounding (first among equals) the other way."""
    f = np.rint(v)
    if int(f.sum()) % 2 != 0:
        error = v - f
        i = int(np.argmax(np.abs(error)))
        f[i] += 1.0 if error[i] >= 0 else -1.0
    return f


def e8_closest_point_loop(v: np.ndarray) -> np.ndarray:
    """Conway–Sloane's E8 decoder on one 8-vector: decode in D8 and in D8 + ½·1, keep the nearer
    (D8 on equal distance; squared distances summed in float64)."""
    half = v.dtype.type(0.5)
    first = d_closest_point_loop(v)
    second = d_closest_point_loop(v - half) + half
    wide = v.astype(np.float64)
    first_distance = float(np.sum((wide - first) ** 2))
    second_distance = float(np.sum((wide - second) ** 2))
    return second if second_distance < first_distance else first


def best_loop_seconds(x: np.ndarray) -> tuple[float, np.ndarray]:
    """The fastest of ROUNDS timings of the per-vector loop over x, and its result."""
    best = float("inf")
    result = np.empty_like(x)
    for _ in range(ROUNDS):
        start = time.perf_counter()
        for i in range(len(x)):
            result[i] = e8_closest_point_loop(x[i])
        best = min(best, time.perf_counter() - start)
    return best, result


def test_bench_e8_vectorized_against_per_vector_loop(benchmark):
    """E8 closest point of VECTORS float32 vectors, against the per-vector loop on a subset."""
    x = seeded_normal(VECTORS, 8)
    result = benchmark.pedantic(closest_point, args=(x, "E8"), rounds=ROUNDS, iterations=1)
    vectorized_seconds = benchmark.stats.stats.min
    loop_seconds, loop_result = best_loop_seconds(x[:LOOP_VECTORS])
    assert np.array_equal(loop_result, result[:LOOP_VECTORS])  # same points on the subset

    vectorized_rate = VECTORS / vectorized_seconds
    loop_rate = LOOP_VECTORS / loop_seconds
    ratio = vectorized_rate / loop_rate
    benchmark.extra_info.update(
        {
            "vectors": VECTORS,
            "loop_vectors": LOOP_VECTORS,
            "vectorized_vectors_per_second": vectorized_rate,
            "loop_vectors_per_second": loop_rate,
            "speed_ratio": ratio,
        }
    )
    print(
        f"\nE8 float32: vectorized {vectorized_rate:.3e} vectors/s ({VECTORS} vectors, best of "
        f"{ROUNDS}), per-vector loop {loop_rate:.3e} vectors/s ({LOOP_VECTORS} vectors), "
        f"ratio {ratio:.1f}"
    )
    assert ratio >= REQUIRED_RATIO


@pytest.mark.parametrize(("name", "d"), [("D4", 4), ("Z", 8)])
def test_bench_vectorized_throughput(benchmark, name, d):
    """D4 and Z^8 closest point of VECTORS float32 vectors: vectors per second."""
    x = seeded_normal(VECTORS, d)
    benchmark.pedantic(closest_point, args=(x, name), rounds=ROUNDS, iterations=1)
    rate = VECTORS / benchmark.stats.stats.min
    benchmark.extra_info.update({"vectors": VECTORS, "vectors_per_second": rate})
    print(f"\n{name} float32: {rate:.3e} vectors/s ({VECTORS} vectors, best of {ROUNDS})")


def test_bench_e8_cupy(benchmark):
    """E8 on CuPy (float32, VECTORS vectors), synchronized; skipped without a GPU."""
    cupy = cupy_or_none()
    if cupy is None:
        pytest.skip("CuPy with a visible GPU is not available (cupy_or_none() is None)")
    x = cupy.asarray(seeded_normal(VECTORS, 8))

    def decode():
        result = closest_point(x, "E8")
        cupy.cuda.Device().synchronize()
        return result

    decode()  # warm-up: kernel compilation
    result = benchmark.pedantic(decode, rounds=ROUNDS, iterations=1)
    rate = VECTORS / benchmark.stats.stats.min
    benchmark.extra_info.update({"vectors": VECTORS, "vectors_per_second": rate})
    print(f"\nE8 float32 on CuPy: {rate:.3e} vectors/s ({VECTORS} vectors, best of {ROUNDS})")
    assert np.array_equal(
        cupy.asnumpy(result[:LOOP_VECTORS]), closest_point(x[:LOOP_VECTORS].get(), "E8")
    )
