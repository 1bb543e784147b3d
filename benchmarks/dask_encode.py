"""Time of ``NestedLatticeMatmul.encode_a`` on a ``dask.array`` against the same matrix in memory.

    python benchmarks/dask_encode.py [--columns-per-chunk 128] [--repeats 3]

A seeded 4096×1024 float32 Gaussian matrix, encoded in memory and as a Dask array of whole-column
chunks on the synchronous and the threaded schedulers; best of ``--repeats`` wall times each,
after one small warm-up encode (imports, compiled kernels). Every Dask payload is checked to be
the in-memory one. Prints a Markdown table. Set QUANTMM_NUMBA=0 for the NumPy path.
"""

from __future__ import annotations

import argparse
import time

import dask
import dask.array as da
import numpy as np

from quantmm.fast import NestedLatticeMatmul


def best_time(encode, repeats: int) -> tuple[float, bytes]:
    times, payload = [], b""
    for _ in range(repeats):
        start = time.perf_counter()
        payload = encode()
        times.append(time.perf_counter() - start)
    return min(times), payload


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--columns-per-chunk", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    kernel = NestedLatticeMatmul(4.06, seed=1)
    matrix = np.random.default_rng(0).standard_normal((4096, 1024), dtype=np.float32)
    kernel.encode_a(da.from_array(matrix[:, :8], chunks=(4096, 4)))  # warm-up
    seconds, expected = best_time(lambda: kernel.encode_a(matrix), args.repeats)
    print("| where | seconds |\n|---|---|")
    print(f"| in memory | {seconds:.3f} |")
    lazy = da.from_array(matrix, chunks=(4096, args.columns_per_chunk))
    for scheduler in ("synchronous", "threads"):
        with dask.config.set(scheduler=scheduler):
            seconds, payload = best_time(lambda: kernel.encode_a(lazy), args.repeats)
        assert payload == expected, f"the {scheduler} Dask payload differs from the in-memory one"
        print(f"| dask, {scheduler} | {seconds:.3f} |")


if __name__ == "__main__":
    main()
