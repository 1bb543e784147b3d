"""Same seed, same bytes: across processes, under different PYTHONHASHSEED, and with two threads
encoding at once on shared kernel objects (issue: determinism across processes).

The expected bytes are those of a plain sequential run in this process; the other runs are
independent processes (``python -c``) or threads, compared by sha256.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

KERNELS_SCRIPT = r"""
import hashlib, json
import numpy as np
from quantmm.fast import NestedLatticeMatmul, ScalarMatmul

KERNELS = {
    "E8-mmse": lambda: NestedLatticeMatmul(4.06, seed=11),
    "E8-unbiased": lambda: NestedLatticeMatmul(3.2, scaling="unbiased", seed=12),
    "D4": lambda: NestedLatticeMatmul(2.5, "D4", seed=13),
    "A2": lambda: NestedLatticeMatmul(3.0, "A2", seed=14),
    "Z-sketch": lambda: NestedLatticeMatmul(0.6, "Z", seed=15),
    "scalar-opt": lambda: ScalarMatmul(8, "opt", 0.3),
    "scalar-lloyd": lambda: ScalarMatmul(4, "lloyd_max"),
}


def inputs():
    rng = np.random.default_rng(2026)
    return {
        "gauss": rng.standard_normal((300, 7)),
        "cauchy32": rng.standard_cauchy((129, 5)).astype(np.float32),
        "tall": rng.standard_normal((70_001, 1)),
    }


def digests():
    out = {}
    matrices = inputs()
    for name, make in KERNELS.items():
        kernel = make()
        for label, matrix in matrices.items():
            for side, encode in (("a", kernel.encode_a), ("b", kernel.encode_b)):
                out[f"{name}/{label}/{side}"] = hashlib.sha256(encode(matrix)).hexdigest()
    return out
"""


def in_process_namespace() -> dict:
    namespace: dict = {}
    exec(KERNELS_SCRIPT, namespace)  # the same definitions the subprocesses run
    return namespace


def digests_in_subprocess(hash_seed: str, folder: Path) -> dict[str, str]:
    """The digests from a fresh ``python -c`` run in ``folder`` (not the source checkout, whose
    ``quantmm/`` folder would shadow the installed package)."""
    code = KERNELS_SCRIPT + "\nprint(json.dumps(digests()))"
    environment = {**os.environ, "PYTHONHASHSEED": hash_seed}
    result = subprocess.run(
        [sys.executable, "-c", code],
        env=environment,
        cwd=folder,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def sequential_digests() -> dict[str, str]:
    return in_process_namespace()["digests"]()


def test_every_kernel_gives_the_same_bytes_in_other_processes_and_hash_seeds(
    sequential_digests, tmp_path
):
    with ThreadPoolExecutor(2) as pool:
        runs = list(pool.map(lambda seed: digests_in_subprocess(seed, tmp_path), ["0", "4242"]))
    for run in runs:
        differing = [key for key in sequential_digests if run[key] != sequential_digests[key]]
        assert not differing, f"payload bytes differ across processes for {differing}"


def test_two_threads_encoding_at_once_on_shared_kernels_give_the_sequential_bytes(
    sequential_digests,
):
    """Every (kernel, input, side) encoded from two threads sharing the kernel objects, twice
    over, in an interleaved order: the bytes of the sequential run."""
    namespace = in_process_namespace()
    kernels = {name: make() for name, make in namespace["KERNELS"].items()}
    matrices = namespace["inputs"]()
    jobs = [
        (name, label, side) for name in kernels for label in matrices for side in ("a", "b")
    ] * 2

    def encode(job: tuple[str, str, str]) -> tuple[str, str]:
        name, label, side = job
        kernel = kernels[name]
        encoder = kernel.encode_a if side == "a" else kernel.encode_b
        key = f"{name}/{label}/{side}"
        return key, hashlib.sha256(encoder(matrices[label])).hexdigest()

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(encode, jobs[::2] + jobs[1::2]))
    differing = sorted({key for key, digest in results if digest != sequential_digests[key]})
    assert not differing, f"payload bytes differ when two threads encode at once: {differing}"


def run_experiment(arguments: list[str], hash_seed: str, output: Path) -> dict[str, str]:
    """Run ``quantmm ARGUMENTS --output-dir OUTPUT`` in a fresh process; sha256 of each CSV."""
    environment = {**os.environ, "PYTHONHASHSEED": hash_seed, "MPLBACKEND": "Agg"}
    output.mkdir(parents=True)
    subprocess.run(
        [sys.executable, "-m", "quantmm", *arguments, "--no-progress", "--output-dir", str(output)],
        env=environment,
        cwd=output,
        capture_output=True,
        check=True,
    )
    return {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in output.glob("*.csv")
    }


EXPERIMENTS = [
    pytest.param(["experiment", "lattice-gap"], id="lattice-gap"),
    pytest.param(["experiment", "least-squares"], id="least-squares", marks=pytest.mark.slow),
    pytest.param(["experiment", "scalar-matmul"], id="scalar-matmul", marks=pytest.mark.slow),
    pytest.param(["plot", "rate-distortion"], id="rate-distortion", marks=pytest.mark.slow),
]


@pytest.mark.parametrize("arguments", EXPERIMENTS)
def test_an_experiment_writes_the_same_csv_in_two_processes_with_other_hash_seeds(
    tmp_path, arguments
):
    command = [*arguments, "--size", "tiny", "--seed", "5"]
    with ThreadPoolExecutor(2) as pool:
        first, second = pool.map(
            lambda run: run_experiment(command, run[0], tmp_path / run[1]),
            [("1", "first"), ("987654", "second")],
        )
    assert first, f"{' '.join(command)} wrote no CSV"
    assert first == second, f"CSV bytes differ across processes for {' '.join(command)}"
