"""Gap to Γ in dB of the built-in kernels on iid Gaussian A, B (issue #4's distortion report).

    python benchmarks/gap_table.py [--columns 256] [--trials 2] [--seed 5]

For each nominal rate R in 2, 3, 4, 5: the nested-lattice kernels (E8, D4, Z; MMSE scaling; q the
largest with log2 q + 1/4 <= R; four tuned scales) and the scalar kernels (K = 2^R levels;
designs pd = opt at ρ = 0, lloyd_max, uniform, matmul_lloyd); then NestQuant's q = 14 (E8 with
both scalings, D4, Z). Each runs through its byte payloads with n = 4096 rows. The rate is
measured from the payloads (side information and header included); Γ is the certified mpmath
reference at that rate. A second table gives what an ideal entropy coder of the E8 scale indices
would save (log2 k − H bits per 8 entries) and the gap at that lower rate.
Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import math

import numpy as np

from quantmm.fast import NestedLatticeMatmul, ScalarMatmul, distortion, gaussian_pair
from quantmm.fast.payload import unpack_payload
from quantmm.reference import gamma

ROWS = 4096


def gap_db(mean: float, rate: float) -> float:
    return 10 * math.log10(mean / float(gamma(rate, digits=15)))


def scale_index_entropy(kernel: NestedLatticeMatmul, columns: int, seed: int) -> float:
    """Empirical entropy (bits) of the scale indices in one payload of a Gaussian matrix."""
    A, _ = gaussian_pair(ROWS, columns, 1, seed, 0)
    _, fields = unpack_payload(kernel.encode_a(A), "NestedLatticeMatmul")
    counts = np.bincount(fields["scale_index"].astype(np.int64))
    shares = counts[counts > 0] / counts.sum()
    return float(-(shares * np.log2(shares)).sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--columns", type=int, default=256)
    parser.add_argument("--trials", type=int, default=2)
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()
    common = {"n": ROWS, "a": args.columns, "b": args.columns, "trials": args.trials}
    rows, entropy_rows = [], []
    for rate in (2, 3, 4, 5):
        kernels = [(name, NestedLatticeMatmul(rate, name, seed=11)) for name in ("E8", "D4", "Z")]
        kernels += [
            (f"scalar {design}", ScalarMatmul(2**rate, design))
            for design in ("pd", "lloyd_max", "uniform", "matmul_lloyd")
        ]
        for label, kernel in kernels:
            result = distortion(kernel, seed=args.seed, **common)
            size = f"q={kernel.q}" if isinstance(kernel, NestedLatticeMatmul) else f"K={2**rate}"
            rows.append(
                f"| {label} {size} | {rate} | {result.rate:.4f} | "
                f"{result.mean:.5f} ± {result.standard_error:.5f} | "
                f"{gap_db(result.mean, result.rate):.2f} |"
            )
            if label == "E8":
                entropy = scale_index_entropy(kernel, args.columns, args.seed)
                saved = (math.log2(len(kernel.betas)) - entropy) / 8
                entropy_rows.append(
                    f"| E8 q={kernel.q} | {entropy:.3f} | {saved:.4f} | "
                    f"{gap_db(result.mean, result.rate):.2f} → "
                    f"{gap_db(result.mean, result.rate - saved):.2f} |"
                )
    nq_rate = math.log2(14) + 0.25  # NestQuant's configuration: q = 14, four scales
    for name, scaling in (("E8", "mmse"), ("E8", "unbiased"), ("D4", "mmse"), ("Z", "mmse")):
        kernel = NestedLatticeMatmul(nq_rate, name, scaling=scaling, seed=11)
        result = distortion(kernel, seed=args.seed, **common)
        rows.append(
            f"| {name} q={kernel.q} {scaling} | log2 14 + 1/4 | {result.rate:.4f} | "
            f"{result.mean:.5f} ± {result.standard_error:.5f} | "
            f"{gap_db(result.mean, result.rate):.2f} |"
        )
    print("| kernel | nominal R | measured R | D (± s.e.) | gap to Γ (dB) |")
    print("|---|---|---|---|---|")
    print("\n".join(rows))
    print()
    print("| scale index | entropy H (bits per block) | saved (bit/entry) | gap (dB) |")
    print("|---|---|---|---|")
    print("\n".join(entropy_rows))


if __name__ == "__main__":
    main()
