"""Time per scale block of the compiled Voronoi kernels, and of the compiled packers.

    python benchmarks/kernel_timings.py [--blocks 524288] [--repeats 3]

On ``--blocks`` seeded Gaussian 8-entry blocks, E8 with q = 14 and NestedLatticeMatmul(4.06)'s
four scales: ``compiled.encode`` (first fit), ``compiled.decode`` of its codes and
``compiled.dither``, best of ``--repeats`` wall times each, in ns per block; then packing and
unpacking the blocks' codes (base 14) in ms, with a check that they round-trip. The kernels are
loaded (or compiled) before timing. Needs numba (the ``fast`` extra).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from quantmm.fast import NestedLatticeMatmul, compiled
from quantmm.fast.lattices import lattice
from quantmm.fast.packing import pack_codes, unpack_codes


def best(function, repeats: int):
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, default=1 << 19)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if not compiled.available():
        raise SystemExit("numba is not available (pip install '.[fast]', QUANTMM_NUMBA unset)")
    compiled.warm_up()
    e8, count, repeats = lattice("E8"), args.blocks, args.repeats
    betas = NestedLatticeMatmul(4.06, seed=1).betas
    x = np.random.default_rng(0).standard_normal((count, 8))
    index = np.arange(count, dtype=np.int64)
    seconds, (codes, scale_index, _) = best(
        lambda: compiled.encode(e8, 14, betas, 1, 2, x, index, None, np.uint8), repeats
    )
    print(f"encode {seconds / count * 1e9:.0f} ns/block")
    beta = np.asarray(betas)[np.minimum(scale_index, len(betas) - 1)]
    seconds, _ = best(lambda: compiled.decode(e8, 14, 1, 2, codes, beta, index), repeats)
    print(f"decode {seconds / count * 1e9:.0f} ns/block")
    seconds, _ = best(lambda: compiled.dither(e8, 1, 2, index), repeats)
    print(f"dither {seconds / count * 1e9:.0f} ns/block")
    flat = codes.reshape(-1)
    seconds, data = best(lambda: pack_codes(flat, 14), repeats)
    print(f"pack {seconds * 1e3:.1f} ms")
    seconds, back = best(lambda: unpack_codes(data, 14, flat.size), repeats)
    assert np.array_equal(back, flat), "the packed codes do not round-trip"
    print(f"unpack {seconds * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
