"""What isolating kernels costs: `quantmm certify --builtin --profile quick`, before and after.

Installs two copies of quantmm side by side (``pip install --target``, no dependencies: they use
this environment's NumPy, SciPy, mpmath and hypothesis): the working tree, and the commit given
as ``--baseline`` (default: the last commit before kernels ran in isolated processes). Then runs
``python -m quantmm certify --builtin --profile quick --seed 0`` with each, interleaved, and
prints the median wall time of each and their ratio. This is a benchmark, not a test: run it by
hand on an otherwise idle machine::

    .venv/bin/python benchmarks/bench_certify_isolation.py --repeats 3
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BASELINE = "f2a0aaf"  # the commit before issue #16 (kernels in the harness's own process)


def _install(source: Path, target: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(target),
            str(source),
        ],
        check=True,
    )


def _time(site: Path, scratch: Path) -> float:
    environment = {**os.environ, "PYTHONPATH": str(site)}
    start = time.perf_counter()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "quantmm",
            "certify",
            "--builtin",
            "--profile",
            "quick",
            "--seed",
            "0",
            "--output",
            str(scratch / "certificate.json"),
        ],
        cwd=scratch,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"certify failed ({done.returncode}):\n{done.stdout[-2000:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default=BASELINE, help=f"git revision (default {BASELINE})")
    parser.add_argument("--repeats", type=int, default=3)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        scratch = Path(folder)
        tree = scratch / "baseline-tree"
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), options.baseline],
            check=True,
            capture_output=True,
        )
        try:
            _install(tree, scratch / "baseline")
            _install(ROOT, scratch / "current")
        finally:
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)],
                check=False,
                capture_output=True,
            )
        times: dict[str, list[float]] = {"baseline": [], "current": []}
        for _ in range(options.repeats):
            for name in times:
                times[name].append(_time(scratch / name, scratch))
                print(f"{name}: {times[name][-1]:.1f} s", flush=True)
    baseline, current = (statistics.median(times[name]) for name in ("baseline", "current"))
    print(
        f"median baseline ({options.baseline}) {baseline:.1f} s, current {current:.1f} s, "
        f"ratio {current / baseline:.2f}"
    )


if __name__ == "__main__":
    main()
