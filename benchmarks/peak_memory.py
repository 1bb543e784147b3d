"""Peak memory of the encoders relative to the input's size (tracemalloc), and their time.

    python benchmarks/peak_memory.py [--seed 0]

For each kernel and shape: one ``encode_a`` of a seeded float32 Gaussian matrix under
tracemalloc (NumPy reports its allocations to it), the peak of the traced memory divided by the
input's bytes, and the wall time of that call. The input itself is allocated before tracing
starts, so 1.0× means the encoder's temporaries and its payload together are as large as the
input. A small encode before tracing keeps one-off imports (numba and its cached kernels,
with the ``fast`` extra) out of the figure. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np

from quantmm.fast import NestedLatticeMatmul, ScalarMatmul

CASES = [
    ("ScalarMatmul(16, lloyd_max)", (8192, 8192)),
    ("ScalarMatmul(16, lloyd_max)", (1 << 22, 8)),
    ("ScalarMatmul(16, lloyd_max)", (16, 1_000_000)),
    ("NestedLatticeMatmul(4.06)", (4096, 1024)),
    ("NestedLatticeMatmul(4.06)", (1 << 22, 8)),
    ("NestedLatticeMatmul(4.06)", (64, 100_000)),
    ("NestedLatticeMatmul(4.06)", (1 << 24, 1)),
]


def kernel_for(name: str):
    if name.startswith("Scalar"):
        return ScalarMatmul(16, "lloyd_max")
    return NestedLatticeMatmul(4.06, seed=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    seed = parser.parse_args().seed
    print("| kernel | shape (float32) | input | peak / input | time |")
    print("|---|---|---|---|---|")
    for name, shape in CASES:
        matrix = np.random.default_rng(seed).standard_normal(shape, dtype=np.float32)
        kernel = kernel_for(name)
        kernel.encode_a(matrix[:64, :2])  # imports and loads (numba's cache) are not the encoder's
        tracemalloc.start()
        start = time.perf_counter()
        kernel.encode_a(matrix)
        elapsed = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        size = f"{matrix.nbytes / 2**20:.0f} MiB"
        shape_text = f"{shape[0]}×{shape[1]}"
        print(f"| {name} | {shape_text} | {size} | {peak / matrix.nbytes:.2f}× | {elapsed:.1f} s |")


if __name__ == "__main__":
    main()
