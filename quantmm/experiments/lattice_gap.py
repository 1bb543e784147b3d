"""``quantmm experiment lattice-gap``: nested-lattice schemes' gap to Γ (theory.md §1.1–1.4).

For every nominal rate R of the sweep, every lattice (E8, D4, Z) and every scale-list size k, the
kernel :class:`~quantmm.fast.NestedLatticeMatmul` (MMSE scaling; q the largest integer with
log2 q + log2(k)/8 ≤ R) quantizes iid N(0, 1) matrices A (n×a) and B (n×b) through its byte
payloads. The sweep also holds NestQuant's configuration q = 14 (R = log2 14 + log2(k)/8 for each
k; NQ). Per configuration:

- the *measured* rate: 8·len(payload)/(n·a) (:func:`quantmm.protocol.bits_per_entry`), the mean
  over both payloads and all trials, so the side information (column means and weights), the
  escapes and the header are counted;
- D = ||AᵀB − C||_F²/(n·a·b), its mean over trials and 95 % Student-t interval
  (:func:`~quantmm.experiments.trials.summarize`);
- Γ(measured rate) from the certified reference (:func:`quantmm.reference.gamma`) and
  gap_db = 10·log10(D/Γ) with the interval mapped through the same (monotone) function;
- code_rate = (log2 q + log2(k)/8)·(fraction of coordinates sent) and overhead_db =
  10·log10(Γ(code_rate)/Γ(rate)): the part of the gap the side information costs.

The converse (theory.md §1.2) says E D ≥ Γ(R) for every n, a, b and every scheme of rate R; with
unequal measured rates R_A ≠ R_B the bound is D(R_A, R_B) ≥ Γ((R_A + R_B)/2) (the product
(1 − x)(1 − y) ≤ (1 − √(xy))² inside its supremum), so Γ at the mean rate is a valid bound. Per
nominal rate the configuration with the smallest gap is flagged ``best``.

Scale lists: k = 4 uses the stored tuned table (the kernel's default); other k use
:func:`~quantmm.fast.scale_lists.tune_betas` with ``tune_blocks`` Gaussian blocks (the kernel's
own default, 2^14 blocks, at size ``full``; fewer at the smaller sizes to keep them fast). The
lists are computed once in :func:`run` and passed to the trials in the configuration, so Dask
workers use the same lists.

>>> result = run(size="tiny", output_dir=Path(tempfile.mkdtemp()), progress=False)
>>> sorted({row["lattice"] for row in result.rows})
['D4', 'E8', 'Z']
>>> all(row["distortion_high"] >= row["gamma"] for row in result.rows)  # the converse
True
"""

from __future__ import annotations

import math
import tempfile  # noqa: F401  (used by the docstring example)
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from quantmm.protocol import bits_per_entry

from .runner import Experiment, ExperimentRun, Rows, Stage
from .trials import ExperimentResult, Summary, summarize, trial_rng

__all__ = [
    "NESTQUANT_Q",
    "SIZE_PRESETS",
    "code_rate",
    "gap_db",
    "matmul_trial",
    "reference_gamma",
    "run",
    "scale_list",
    "summary_row",
]

NAME = "lattice-gap"

#: NestQuant's nesting ratio (NQ's released code: q = 14, k = 4).
NESTQUANT_Q = 14

#: Plain parameters of each size: nominal rates, lattices, scale-list sizes k, the matrix shape
#: (n rows, a = b columns), trials per configuration and the blocks used to tune lists with k ≠ 4.
SIZE_PRESETS: dict[str, dict[str, Any]] = {
    "tiny": {
        "rates": (3.0, 4.0),
        "lattices": ("E8", "D4", "Z"),
        "scales": (1, 4),
        "n": 512,
        "columns": 32,
        "trials": 3,
        "tune_blocks": 1 << 10,
    },
    "quick": {
        "rates": (2.0, 3.0, 4.0, 5.0),
        "lattices": ("E8", "D4", "Z"),
        "scales": (1, 2, 4, 8),
        "n": 1024,
        "columns": 64,
        "trials": 3,
        "tune_blocks": 1 << 12,
    },
    "full": {
        "rates": (2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0, 5.5, 6.0),
        "lattices": ("E8", "D4", "Z"),
        "scales": (1, 2, 4, 8),
        "n": 4096,
        "columns": 256,
        "trials": 8,
        "tune_blocks": 1 << 14,
    },
}


def _betas_text(betas: Sequence[float]) -> str:
    return " ".join(repr(float(beta)) for beta in betas)


def _betas_from_text(text: str) -> tuple[float, ...]:
    return tuple(float(part) for part in text.split())


def _sizing_kernel(lattice: str, rate: float, k: int) -> Any:
    """A kernel with k placeholder scales: its q, lattice name and time-sharing fraction are
    those of the real one (they depend on the rate and k only), without tuning a list."""
    from quantmm.fast import NestedLatticeMatmul

    return NestedLatticeMatmul(rate, lattice, betas=[float(j + 1) for j in range(k)])


def scale_list(
    lattice: str, rate: float, k: int, tune_blocks: int
) -> tuple[int, tuple[float, ...]]:
    """(q, β list) of the MMSE nested-lattice kernel at nominal ``rate`` with k scales
    (theory.md §1.4): the stored table for k = 4, else ``tune_betas`` with ``tune_blocks``.

    >>> q, betas = scale_list("E8", 4.0, 4, 1 << 14)
    >>> q, len(betas)
    (13, 4)
    """
    from quantmm.fast.scale_lists import default_betas, tune_betas

    kernel = _sizing_kernel(lattice, rate, k)
    if k == 4 or tune_blocks == 1 << 14:
        return kernel.q, tuple(default_betas(kernel.lattice.name, kernel.q, k))
    return kernel.q, tuple(tune_betas(kernel.lattice.name, kernel.q, k, blocks=tune_blocks))


def _kernel(config: Mapping[str, Any], kernel_seed: int, device: str) -> Any:
    from quantmm.fast import NestedLatticeMatmul, ScalarMatmul

    if config["kind"] == "lattice":
        return NestedLatticeMatmul(
            float(config["rate"]),
            str(config["lattice"]),
            betas=_betas_from_text(str(config["betas"])),
            scaling=str(config["scaling"]),
            seed=kernel_seed,
            device=device,
        )
    if config["kind"] == "scalar":
        return ScalarMatmul(
            int(config["levels"]), str(config["design"]), float(config["rho"]), device=device
        )
    raise ValueError(f"config kind must be 'lattice' or 'scalar', got {config['kind']!r}")


def matmul_trial(config: Mapping[str, Any], seed: int, trial: int, device: str) -> dict[str, float]:
    """One trial of a kernel on iid N(0, 1) A (n×a), B (n×b) (theory.md §1): the normalized
    distortion ||AᵀB − C||_F²/(n·a·b) and the rates measured from the payloads.

    All randomness comes from ``trial_rng(seed, config["index"], trial)``: first the kernel's
    seed (its shared randomness: rotation and dithers), then A, then B, drawn on the host so CPU
    and GPU see the same inputs. ``config``: ``index``, ``n``, ``a``, ``b`` and ``kind`` —
    ``"lattice"`` (``rate``, ``lattice``, ``betas`` as space-separated floats, ``scaling``) or
    ``"scalar"`` (``levels``, ``design``, ``rho``).

    >>> config = {"index": 0, "n": 64, "a": 4, "b": 4, "kind": "scalar", "levels": 4,
    ...           "design": "lloyd_max", "rho": 0.0}
    >>> result = matmul_trial(config, 0, 0, "cpu")
    >>> sorted(result), result == matmul_trial(config, 0, 0, "cpu")
    (['distortion', 'rate', 'rate_a', 'rate_b'], True)
    """
    from quantmm.fast.backend import to_numpy

    n, a, b = int(config["n"]), int(config["a"]), int(config["b"])
    rng = trial_rng(seed, int(config["index"]), trial)
    kernel_seed = int(rng.integers(0, 2**63))
    A = rng.standard_normal((n, a))
    B = rng.standard_normal((n, b))
    kernel = _kernel(config, kernel_seed, device)
    payload_a, payload_b = kernel.encode_a(A), kernel.encode_b(B)
    estimate = to_numpy(kernel.estimate(payload_a, payload_b))
    error = A.T @ B - estimate
    rate_a, rate_b = bits_per_entry(payload_a, A.shape), bits_per_entry(payload_b, B.shape)
    return {
        "distortion": float((error * error).sum()) / (n * a * b),
        "rate_a": rate_a,
        "rate_b": rate_b,
        "rate": (rate_a + rate_b) / 2,
    }


def reference_gamma(rate: float) -> float:
    """Γ(rate) from the certified mpmath reference (theory.md §1.1), rounded to float64.

    >>> reference_gamma(1.0)
    0.4375
    """
    from quantmm.reference import gamma

    return float(gamma(float(rate), digits=17))


def gap_db(distortion: float, gamma_value: float) -> float:
    """10·log10(D/Γ) (−inf for a non-positive D, e.g. a confidence bound below zero).

    >>> round(gap_db(0.02, 0.01), 6)
    3.0103
    """
    if not distortion > 0:
        return -math.inf
    return 10.0 * math.log10(distortion / gamma_value)


def _configurations(preset: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The sweep: nominal rates, then NestQuant's q = 14; per lattice and k."""
    groups = [(f"R={rate:g}", float(rate), None) for rate in preset["rates"]]
    groups.append((f"q={NESTQUANT_Q}", None, NESTQUANT_Q))
    configs = []
    for group, rate, fixed_q in groups:
        for lattice in preset["lattices"]:
            for k in preset["scales"]:
                nominal = rate if fixed_q is None else math.log2(fixed_q) + math.log2(k) / 8
                q, betas = scale_list(lattice, nominal, k, preset["tune_blocks"])
                configs.append(
                    {
                        "index": len(configs),
                        "kind": "lattice",
                        "group": group,
                        "lattice": lattice,
                        "scales": int(k),
                        "q": int(q),
                        "rate": float(nominal),
                        "betas": _betas_text(betas),
                        "scaling": "mmse",
                        "n": int(preset["n"]),
                        "a": int(preset["columns"]),
                        "b": int(preset["columns"]),
                    }
                )
    return configs


def code_rate(lattice: str, rate: float, k: int) -> float:
    """The code's own rate, without side information: (log2 q + log2(k)/8)·κ with κ the
    fraction of coordinates sent (κ < 1 only below q = 2: time sharing, theory.md §1.1).

    >>> round(code_rate("E8", 4.0, 4), 6)  # q = 13: log2 13 + 1/4
    3.95044
    """
    kernel = _sizing_kernel(lattice, rate, k)
    return (math.log2(kernel.q) + math.log2(k) / 8) * kernel.sketch_fraction


def summary_row(config: Mapping[str, Any], results: Sequence[Mapping[str, float]]) -> dict:
    """The CSV row of one configuration from its trial results (module docstring)."""
    distortion: Summary = summarize([r["distortion"] for r in results])
    rate = float(np.mean([r["rate"] for r in results]))
    gamma_value = reference_gamma(rate)
    bare_rate = code_rate(str(config["lattice"]), float(config["rate"]), int(config["scales"]))
    return {
        "group": config["group"],
        "lattice": config["lattice"],
        "scales": int(config["scales"]),
        "q": int(config["q"]),
        "scaling": config["scaling"],
        "nominal_rate": float(config["rate"]),
        "code_rate": bare_rate,
        "rate": rate,
        "distortion": distortion.mean,
        "distortion_se": distortion.standard_error,
        "distortion_low": distortion.low,
        "distortion_high": distortion.high,
        "gamma": gamma_value,
        "gap_db": gap_db(distortion.mean, gamma_value),
        "gap_db_low": gap_db(distortion.low, gamma_value),
        "gap_db_high": gap_db(distortion.high, gamma_value),
        "overhead_db": gap_db(reference_gamma(bare_rate), gamma_value),
        "trials": distortion.trials,
        "best": 0,
    }


def _flag_best(rows: list[dict[str, Any]]) -> None:
    for group in dict.fromkeys(row["group"] for row in rows):
        members = [row for row in rows if row["group"] == group]
        min(members, key=lambda row: row["gap_db"])["best"] = 1


def _tables(run: ExperimentRun) -> list[Rows]:
    """The sweep's rows, one per configuration, the best of each nominal rate flagged."""
    stages = [Stage("trials", matmul_trial, run.preset["trials"])]
    rows = run.sweep(_configurations(run.preset), stages, summary_row)
    _flag_best(rows)
    return [rows]


def _draw(axes: Any, run: ExperimentRun, rows: Sequence[Mapping[str, Any]]) -> None:
    colors = {"E8": "tab:blue", "D4": "tab:orange", "Z": "tab:green"}
    markers = ["o", "s", "^", "D", "v", "P"]
    scales = sorted({row["scales"] for row in rows})
    for lattice in dict.fromkeys(row["lattice"] for row in rows):
        for position, k in enumerate(scales):
            chosen = sorted(
                (r for r in rows if r["lattice"] == lattice and r["scales"] == k),
                key=lambda r: r["rate"],
            )
            if not chosen:
                continue
            x = [r["rate"] for r in chosen]
            y = [r["gap_db"] for r in chosen]
            low = [r["gap_db"] - max(r["gap_db_low"], r["gap_db"] - 10.0) for r in chosen]
            high = [r["gap_db_high"] - r["gap_db"] for r in chosen]
            axes.errorbar(
                x,
                y,
                yerr=[low, high],
                color=colors.get(lattice),
                marker=markers[position % len(markers)],
                linestyle="-" if k == 4 else ":",
                capsize=3,
                label=f"{lattice}, k={k}",
            )
    best = [r for r in rows if r["best"]]
    axes.scatter(
        [r["rate"] for r in best],
        [r["gap_db"] for r in best],
        s=160,
        facecolors="none",
        edgecolors="black",
        label="best per rate",
        zorder=5,
    )
    axes.set_xlabel("measured rate R (bits per entry, side information included)")
    axes.set_ylabel("gap to Γ(R) (dB)")
    axes.set_title("Nested-lattice matmul quantization: gap to the distortion-rate function")
    axes.grid(True, alpha=0.3)
    axes.legend(fontsize=7, ncol=3)


def _report(run: ExperimentRun, rows: Sequence[Mapping[str, Any]]) -> str:
    preset, seed = run.preset, run.seed
    lines = [
        f"lattice-gap: gap to Γ(measured rate), 95 % CI; n={preset['n']}, "
        f"a=b={preset['columns']}, {preset['trials']} trials, seed {seed}; * = best of its rate",
        f"{'nominal':>8} {'lattice':>7} {'best k':>6} {'q':>3} {'R used':>7} "
        f"{'side dB':>7} {'gap dB (95% CI)':>22}",
    ]
    for group in dict.fromkeys(row["group"] for row in rows):
        for lattice in dict.fromkeys(row["lattice"] for row in rows):
            members = [r for r in rows if r["group"] == group and r["lattice"] == lattice]
            row = min(members, key=lambda r: r["gap_db"])
            mark = "*" if row["best"] else " "
            lines.append(
                f"{group:>8} {lattice:>7} {row['scales']:>6} {row['q']:>3} {row['rate']:7.3f} "
                f"{row['overhead_db']:7.2f} {row['gap_db']:6.2f} "
                f"[{row['gap_db_low']:5.2f}, {row['gap_db_high']:5.2f}]{mark}"
            )
    return "\n".join(lines)


EXPERIMENT = Experiment(NAME, SIZE_PRESETS, _tables, _draw, _report)


def run(
    *,
    size: str = "quick",
    seed: int = 0,
    device: str = "cpu",
    scheduler: str | None = None,
    output_dir: Path = Path("quantmm-output"),
    progress: bool = True,
    resume: bool = False,
) -> ExperimentResult:
    """Run the sweep (module docstring; theory.md §1.1–1.4) and write ``lattice-gap.csv`` and
    ``lattice-gap.png`` (gap in dB against the measured rate, per lattice and k, with 95 % error
    bars) into ``output_dir``. Each finished configuration is kept in
    ``output_dir/lattice-gap.parts`` as it completes; ``resume`` skips those already there
    (:mod:`~quantmm.experiments.runner`).

    >>> run(size="huge")
    Traceback (most recent call last):
    ...
    ValueError: size must be one of tiny, quick, full, got 'huge'
    """
    return EXPERIMENT.run(**locals())
