"""``quantmm plot rate-distortion``: Γ(R) against the measured distortion of the built-in kernels
(theory.md §1.1–1.2, §1.4, §2.4; OP, NQ, AKP).

The curves, sampled at R = i/64 and written to ``rate-distortion-curve.csv``:

- Γ(R), the distortion-rate function of iid Gaussian AᵀB, with its phase transition at
  R* ≈ 0.906 (marked): below R* it is the straight line from (0, 1) tangent to φ (time sharing);
- φ(R) = 2·2^(−2R) − 2^(−4R), dashed (it equals Γ above R*);
- the one-sided curve 2^(−2R) (B known to the decoder, theory.md §1.2).

All three come from the vectorized float64 functions (:func:`quantmm.fast.functions.gamma`,
:func:`~quantmm.fast.functions.phi`), each within a few ulps of the certified reference.

The points, written to ``rate-distortion.csv``: the normalized distortion D (mean over trials
with its 95 % Student-t interval) against the rate measured from the payloads (side information
and header included) of

- :class:`~quantmm.fast.NestedLatticeMatmul` with E8, D4 and Z (MMSE scaling, k = 4 tuned
  scales, q the largest with log2 q + 1/4 ≤ R; time sharing below q = 2) at several rates;
- :class:`~quantmm.fast.ScalarMatmul` with K = 2^R levels and the designs of theory.md §2.4 for
  ρ = 0 (``opt`` equals Panter–Dite ``pd`` at ρ = 0; ``matmul_lloyd`` equals ``lloyd_max``).

Each point's trials are seeded (:func:`~quantmm.experiments.lattice_gap.matmul_trial`), so the
same seed gives the same CSV, PNG and SVG bytes; by the converse every point lies above Γ.

>>> result = run(size="tiny", output_dir=Path(tempfile.mkdtemp()), progress=False)
>>> sorted(path.suffix for path in result.files)
['.csv', '.csv', '.png', '.svg']
>>> all(row["distortion_high"] >= row["gamma"] for row in result.rows)
True
"""

from __future__ import annotations

import math
import tempfile  # noqa: F401  (used by the docstring example)
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .lattice_gap import gap_db, matmul_trial, reference_gamma, scale_list
from .runner import Experiment, ExperimentRun, Rows, Stage
from .trials import ExperimentResult, summarize

__all__ = ["CURVE_STEP", "SIZE_PRESETS", "curve_rows", "run"]

NAME = "rate-distortion"

#: The curves are sampled at R = i·CURVE_STEP (exact in binary).
CURVE_STEP = 1.0 / 64

#: Plain parameters of each size: the nested-lattice rates and lattices, the scalar rates
#: (K = 2^R) and designs, the matrix shape (n rows, a = b columns) and the trials per point.
SIZE_PRESETS: dict[str, dict[str, Any]] = {
    "tiny": {
        "lattice_rates": (2.0, 4.0),
        "lattices": ("E8", "D4", "Z"),
        "scalar_rates": (2, 4),
        "designs": ("opt", "lloyd_max"),
        "n": 512,
        "columns": 32,
        "trials": 3,
        "max_rate": 5.0,
    },
    "quick": {
        "lattice_rates": (1.0, 2.0, 3.0, 4.0, 5.0),
        "lattices": ("E8", "D4", "Z"),
        "scalar_rates": (1, 2, 3, 4, 5),
        "designs": ("opt", "lloyd_max", "uniform", "matmul_lloyd"),
        "n": 1024,
        "columns": 64,
        "trials": 3,
        "max_rate": 6.0,
    },
    "full": {
        "lattice_rates": (0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0, 5.5, 6.0),
        "lattices": ("E8", "D4", "Z"),
        "scalar_rates": (1, 2, 3, 4, 5, 6),
        "designs": ("opt", "lloyd_max", "uniform", "matmul_lloyd"),
        "n": 4096,
        "columns": 256,
        "trials": 8,
        "max_rate": 7.0,
    },
}


def curve_rows(max_rate: float, step: float = CURVE_STEP) -> list[dict[str, float]]:
    """Γ, φ and 2^(−2R) at R = 0, step, …, max_rate (theory.md §1.1–1.2), vectorized float64.

    >>> rows = curve_rows(1.0, 0.5)
    >>> [(row["rate"], row["gamma"], row["phi"], row["one_sided"]) for row in rows][::2]
    [(0.0, 1.0, 1.0, 1.0), (1.0, 0.4375, 0.4375, 0.25)]
    """
    from quantmm.fast.functions import gamma, phi

    if not (isinstance(max_rate, (int, float)) and math.isfinite(max_rate) and max_rate > 0):
        raise ValueError(f"max_rate must be a finite positive number, got {max_rate!r}")
    if not (isinstance(step, (int, float)) and math.isfinite(step) and 0 < step <= max_rate):
        raise ValueError(f"step must be a finite number in (0, max_rate], got {step!r}")
    rates = np.arange(math.floor(max_rate / step) + 1) * float(step)
    gammas, phis, one_sided = gamma(rates), phi(rates), np.exp2(-2.0 * rates)
    return [
        {
            "rate": float(r),
            "gamma": float(g),
            "phi": float(p),
            "one_sided": float(o),
        }
        for r, g, p, o in zip(rates, gammas, phis, one_sided, strict=True)
    ]


def _configurations(preset: Mapping[str, Any]) -> list[dict[str, Any]]:
    shape = {"n": int(preset["n"]), "a": int(preset["columns"]), "b": int(preset["columns"])}
    configs: list[dict[str, Any]] = []
    for lattice in preset["lattices"]:
        for rate in preset["lattice_rates"]:
            q, betas = scale_list(lattice, float(rate), 4, 1 << 14)
            configs.append(
                {
                    "index": len(configs),
                    "kind": "lattice",
                    "label": f"{lattice} nested lattice",
                    "lattice": lattice,
                    "rate": float(rate),
                    "q": int(q),
                    "betas": " ".join(repr(beta) for beta in betas),
                    "scaling": "mmse",
                    **shape,
                }
            )
    for design in preset["designs"]:
        for rate in preset["scalar_rates"]:
            configs.append(
                {
                    "index": len(configs),
                    "kind": "scalar",
                    "label": f"scalar {design}",
                    "design": design,
                    "levels": 2 ** int(rate),
                    "rho": 0.0,
                    "rate": float(rate),
                    **shape,
                }
            )
    return configs


def _point_row(config: Mapping[str, Any], results: Sequence[Mapping[str, float]]) -> dict:
    distortion = summarize([r["distortion"] for r in results])
    rate = float(np.mean([r["rate"] for r in results]))
    gamma_value = reference_gamma(rate)
    size = f"q={config['q']}" if config["kind"] == "lattice" else f"K={config['levels']}"
    return {
        "kernel": config["label"],
        "size": size,
        "nominal_rate": float(config["rate"]),
        "rate": rate,
        "distortion": distortion.mean,
        "distortion_se": distortion.standard_error,
        "distortion_low": distortion.low,
        "distortion_high": distortion.high,
        "gamma": gamma_value,
        "gap_db": gap_db(distortion.mean, gamma_value),
        "trials": distortion.trials,
    }


def _tables(run: ExperimentRun) -> list[Rows]:
    """The measured points (one per configuration) and the curves up to the preset's rate."""
    stages = [Stage("trials", matmul_trial, run.preset["trials"])]
    points = run.sweep(_configurations(run.preset), stages, _point_row)
    return [points, curve_rows(run.preset["max_rate"])]


def _draw(
    axes: Any,
    run: ExperimentRun,
    points: Sequence[Mapping[str, Any]],
    curve: Sequence[Mapping[str, float]],
) -> None:
    from quantmm.fast.functions import gamma
    from quantmm.reference import critical_rate

    critical = float(critical_rate(digits=17))
    rates = [row["rate"] for row in curve]
    axes.plot(rates, [row["gamma"] for row in curve], color="black", lw=2, label="Γ(R)")
    axes.plot(rates, [row["phi"] for row in curve], "k--", lw=1, label="φ(R)")
    axes.plot(rates, [row["one_sided"] for row in curve], "k:", lw=1, label="one-sided 2^(−2R)")
    axes.plot([critical], [float(gamma(critical))], "kD", label=f"R* ≈ {critical:.4f}")
    axes.axvspan(0.0, critical, color="0.9", label="time sharing (Γ linear)")
    styles = {
        "E8 nested lattice": ("tab:blue", "o"),
        "D4 nested lattice": ("tab:orange", "s"),
        "Z nested lattice": ("tab:green", "^"),
    }
    scalar_markers = ["v", "P", "X", "*", "h"]
    for number, label in enumerate(dict.fromkeys(row["kernel"] for row in points)):
        chosen = [row for row in points if row["kernel"] == label]
        color, marker = styles.get(label, (f"C{3 + number % 7}", scalar_markers[number % 5]))
        mean = np.array([row["distortion"] for row in chosen])
        low = np.array([row["distortion_low"] for row in chosen])
        high = np.array([row["distortion_high"] for row in chosen])
        axes.errorbar(
            [row["rate"] for row in chosen],
            mean,
            yerr=[mean - np.maximum(low, mean * 1e-3), high - mean],
            color=color,
            marker=marker,
            linestyle="none",
            markersize=5,
            capsize=3,
            label=label,
        )
    axes.set_yscale("log")
    axes.set_xlim(0.0, rates[-1])
    axes.set_xlabel("rate R (bits per entry; points: measured from the payloads)")
    axes.set_ylabel("normalized distortion D = E||AᵀB − C||²/(nab)")
    axes.set_title("Gaussian matrix multiplication: Γ(R) and the built-in kernels")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=7, ncol=2)


def _report(
    run: ExperimentRun, points: Sequence[Mapping[str, Any]], curve: Sequence[Mapping[str, float]]
) -> str:
    preset, seed = run.preset, run.seed
    lines = [
        f"rate-distortion: n={preset['n']}, a=b={preset['columns']}, {preset['trials']} trials, "
        f"seed {seed}; gap = 10·log10(D/Γ(measured R)) in dB",
        "kernel (nominal R)    " + " ".join(f"{r:>6g}" for r in _all_rates(points)),
    ]
    for label in dict.fromkeys(row["kernel"] for row in points):
        gaps = {row["nominal_rate"]: row["gap_db"] for row in points if row["kernel"] == label}
        cells = [f"{gaps[r]:6.2f}" if r in gaps else f"{'':>6}" for r in _all_rates(points)]
        lines.append(f"{label:<21} " + " ".join(cells))
    return "\n".join(lines)


def _all_rates(points: Sequence[Mapping[str, Any]]) -> list[float]:
    return sorted({row["nominal_rate"] for row in points})


EXPERIMENT = Experiment(
    NAME,
    SIZE_PRESETS,
    _tables,
    _draw,
    _report,
    suffixes=("", "-curve"),
    figure_size=(8.0, 5.5),
    formats=("png", "svg"),
)


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
    """Measure the kernels and draw them against Γ (module docstring; theory.md §1.1–1.2).

    Writes ``rate-distortion.csv`` (the measured points), ``rate-distortion-curve.csv`` (Γ, φ
    and 2^(−2R) sampled every 1/64 bit), ``rate-distortion.png`` and ``rate-distortion.svg``.
    Each finished configuration is kept in ``output_dir/rate-distortion.parts`` as it completes;
    ``resume`` skips those already there (:mod:`~quantmm.experiments.runner`).

    >>> run(size="tiny", device="tpu")
    Traceback (most recent call last):
    ...
    ValueError: device must be 'cpu' or 'gpu', got 'tpu'
    """
    return EXPERIMENT.run(**locals())
