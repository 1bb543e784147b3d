"""``quantmm experiment least-squares``: what entrywise scalar quantization of A does to a
least-squares solve (theory.md §2.4 designs; AKP's scalar quantizers, ρ = 0).

**Setting.** A is n×d with iid N(0, 1) entries; x* is a random direction scaled to ‖x*‖² = d
(x* = √d·g/‖g‖, g ~ N(0, I_d)); b = A·x* + σ·ε with ε ~ N(0, I_n). A is quantized entrywise with
the K-level (K = 16) codebook of each design of :data:`quantmm.reference.DESIGNS`, designed for
ρ = 0 (a single matrix has no partner to correlate with), used as is (the entries have the known
variance 1, so no scaling); b is kept exact. Every design sees the same draws (A, x*, ε of trial
t come from ``trial_rng(seed, 0, t)``: common random numbers), so designs are compared on the same
problems. Both systems are solved with ``numpy.linalg.lstsq``:
x_ls from A, x̂ from Â. Per trial:

- ``entry_mse`` = ‖Â − A‖²_F/(n·d), whose expectation is the codebook's MSE E[(X − Q(X))²]
  (``exact_entry_mse``, :func:`quantmm.reference.mean_squared_error`, exact);
- ``solution_error`` = ‖x̂ − x_ls‖/‖x_ls‖, against the unquantized solution;
- ``residual_increase`` = ‖b − A·x̂‖/‖b − A·x_ls‖ − 1 (≥ 0: x_ls minimizes the true residual);
- ``truth_error`` = ‖x̂ − x*‖²/‖x*‖² and ``ls_truth_error`` = ‖x_ls − x*‖²/‖x*‖².

**Predictions.** For Gaussian A, E[(AᵀA)⁻¹] = I/(n − d − 1) (inverse Wishart), so
E[ls_truth_error] = σ²/(n − d − 1) exactly (``exact_ls_truth_error``). For the quantized solve a
first-order (large-n) prediction of E[truth_error] (``predicted_truth_error``), derived here:
with q₂ = E[Q²], c = E[X·Q]/q₂ (the regression coefficient of X on Q(X)) and F = X − c·Q, write
A = c·Â + F; F is uncorrelated with Â entrywise, its entries are independent across columns with
mean 0 and variance D_F = 1 − E[XQ]²/q₂. So b = Â·(c·x*) + η with η = F·x* + σε uncorrelated
with the rows of Â, and OLS gives x̂ ≈ c·x* + (ÂᵀÂ)⁻¹Âᵀη. Its sandwich covariance, with
E[ÂᵢÂᵢᵀ] = q₂·I and Ω = E[ηᵢ²ÂᵢÂᵢᵀ], tr Ω = d·q₂·(σ² + D_F‖x*‖²) + ‖x*‖²·(E[F²Q²] − D_F·q₂)
(the last term: η's variance depends on the cell of Âᵢⱼ, one column at a time), gives

    E‖x̂ − x*‖²/‖x*‖² ≈ (1 − c)² + [σ² + D_F·d + E[F²Q²]/q₂ − D_F] / ((n − d − 1)·q₂)

with ‖x*‖² = d, taking n − d − 1 for n as in the Gaussian case. For Lloyd–Max (and matmul-Lloyd,
which is Lloyd–Max at ρ = 0) the centroid condition gives c = 1, q₂ = 1 − D, D_F = D: the
"Berkson" form (σ² + D‖x*‖²)·d/((n − d − 1)(1 − D)) up to the heteroskedastic term. The cell
moments are closed forms in Φ and φ (:func:`cell_moments`). It is an approximation (O(1/n²)
terms and the non-Gaussian law of Â are left out); the tests check it against the measured
mean within the trials' statistical error at the sizes run.

>>> moments = cell_moments([-1.0, 1.0], [0.0])
>>> round(moments["xq"], 6), moments["q2"]  # E|X| = √(2/π), Q² = 1
(0.797885, 1.0)
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .runner import Experiment, ExperimentRun, Rows, Stage
from .trials import ExperimentResult, summarize, trial_rng

__all__ = [
    "SIZE_PRESETS",
    "cell_moments",
    "exact_entry_mse",
    "least_squares_trial",
    "predicted_truth_error",
    "run",
]

NAME = "least-squares"

_DESIGNS = ("opt", "pd", "lloyd_max", "uniform", "matmul_lloyd")

#: Plain parameters of each size: A is n×d, the noise σ, K, the designs and the trials per design.
SIZE_PRESETS: dict[str, dict[str, Any]] = {
    "tiny": {"n": 256, "d": 16, "noise": 0.25, "levels": 16, "designs": _DESIGNS, "trials": 100},
    "quick": {"n": 512, "d": 32, "noise": 0.25, "levels": 16, "designs": _DESIGNS, "trials": 2000},
    "full": {"n": 4096, "d": 128, "noise": 0.25, "levels": 16, "designs": _DESIGNS, "trials": 5000},
}


def least_squares_trial(
    config: Mapping[str, Any], seed: int, trial: int, device: str
) -> dict[str, float]:
    """One trial (module docstring; theory.md §2.4): from ``trial_rng(seed, config["draw"],
    trial)`` draw A (n×d), g (d) and ε (n) on the host, quantize A entrywise on ``device`` with
    :meth:`quantmm.fast.ScalarMatmul.quantize` (ρ = 0 codebook), solve both systems with
    ``numpy.linalg.lstsq``. ``config``: ``draw`` (the random stream: every design uses draw 0, so
    all designs see the same A, x*, ε), ``n``, ``d``, ``noise``, ``levels``, ``design``.

    >>> config = {"draw": 0, "n": 32, "d": 4, "noise": 0.5, "levels": 16, "design": "pd"}
    >>> result = least_squares_trial(config, 0, 0, "cpu")
    >>> sorted(result)
    ['entry_mse', 'ls_truth_error', 'residual_increase', 'solution_error', 'truth_error']
    >>> result["residual_increase"] >= 0
    True
    """
    from quantmm.fast import ScalarMatmul
    from quantmm.fast.backend import to_numpy

    n, d, noise = int(config["n"]), int(config["d"]), float(config["noise"])
    rng = trial_rng(seed, int(config["draw"]), trial)
    A = rng.standard_normal((n, d))
    direction = rng.standard_normal(d)
    truth = math.sqrt(d) * direction / np.linalg.norm(direction)
    b = A @ truth + noise * rng.standard_normal(n)
    kernel = ScalarMatmul(int(config["levels"]), str(config["design"]), 0.0, device=device)
    A_hat = to_numpy(kernel.quantize(A))
    x_ls = np.linalg.lstsq(A, b, rcond=None)[0]
    x_hat = np.linalg.lstsq(A_hat, b, rcond=None)[0]
    quantization = A_hat - A
    squared_truth = float(truth @ truth)
    return {
        "entry_mse": float(np.sum(quantization * quantization)) / (n * d),
        "solution_error": float(np.linalg.norm(x_hat - x_ls) / np.linalg.norm(x_ls)),
        "residual_increase": float(
            np.linalg.norm(b - A @ x_hat) / np.linalg.norm(b - A @ x_ls) - 1.0
        ),
        "truth_error": float(np.sum((x_hat - truth) ** 2)) / squared_truth,
        "ls_truth_error": float(np.sum((x_ls - truth) ** 2)) / squared_truth,
    }


def cell_moments(levels: Sequence[float], thresholds: Sequence[float]) -> dict[str, float]:
    """Moments of X ~ N(0, 1) and its quantization Q(X) (levels a_i on cells (t_(i−1), t_i]),
    cell by cell in closed form (theory.md §2.4): P(S) = Φ(r) − Φ(l), E[X; S] = φ(l) − φ(r),
    E[X²; S] = P(S) + l·φ(l) − r·φ(r). Returns ``mse`` = E[(X − Q)²], ``xq`` = E[X·Q],
    ``q2`` = E[Q²], ``c`` = xq/q2, ``residual`` = D_F = 1 − xq²/q2 and ``weighted`` =
    E[(X − c·Q)²·Q²] (float64).

    >>> moments = cell_moments([-1.0, 1.0], [0.0])
    >>> round(moments["mse"], 6), round(2 - 2 * math.sqrt(2 / math.pi), 6)  # 2 − 2·√(2/π)
    (0.404231, 0.404231)
    """
    from scipy.special import ndtr

    a = np.asarray(levels, dtype=np.float64)
    edges = np.concatenate(([-np.inf], np.asarray(thresholds, dtype=np.float64), [np.inf]))
    if a.ndim != 1 or edges.size != a.size + 1:
        raise ValueError(
            f"thresholds must hold len(levels) - 1 values, got {len(thresholds)} for "
            f"{len(levels)} levels"
        )
    finite = np.where(np.isfinite(edges), edges, 0.0)  # φ(±∞) = ±∞·φ(±∞) = 0
    density = np.where(np.isfinite(edges), np.exp(-finite * finite / 2), 0.0) / math.sqrt(
        2 * math.pi
    )
    edge_term = finite * density
    left, right = slice(0, -1), slice(1, None)
    lower, upper = edges[left], edges[right]
    # Φ(r) − Φ(l), taken in the tail where it is small so that it does not cancel
    mass = np.where(lower >= 0, ndtr(-lower) - ndtr(-upper), ndtr(upper) - ndtr(lower))
    first = density[left] - density[right]
    second = mass + edge_term[left] - edge_term[right]
    xq, q2 = float(np.sum(a * first)), float(np.sum(a * a * mass))
    c = xq / q2
    return {
        "mse": float(np.sum(second - 2 * a * first + a * a * mass)),
        "xq": xq,
        "q2": q2,
        "c": c,
        "residual": 1.0 - xq * xq / q2,
        "weighted": float(np.sum(a * a * (second - 2 * c * a * first + c * c * a * a * mass))),
    }


def predicted_truth_error(moments: Mapping[str, float], n: int, d: int, noise: float) -> float:
    """The first-order prediction of E‖x̂ − x*‖²/‖x*‖² (module docstring), from
    :func:`cell_moments`; with ``noise`` σ and A n×d.

    >>> exact = {"c": 1.0, "q2": 1.0, "residual": 0.0, "weighted": 0.0}  # no quantization
    >>> predicted_truth_error(exact, 100, 9, 1.0) == 1 / 90  # σ²/(n − d − 1)
    True
    """
    c, q2, residual = moments["c"], moments["q2"], moments["residual"]
    variance = noise**2 + residual * d + moments["weighted"] / q2 - residual
    return (1.0 - c) ** 2 + variance / ((n - d - 1) * q2)


@functools.lru_cache(maxsize=64)
def exact_entry_mse(design: str, levels: int) -> float:
    """E[(X − Q(X))²] for X ~ N(0, 1) and the float64 ρ = 0 codebook of ``design`` that
    :class:`quantmm.fast.ScalarMatmul` uses, from :func:`quantmm.reference.mean_squared_error`
    (exact; theory.md §2.4).

    >>> round(exact_entry_mse("lloyd_max", 2), 9)  # 1 − 2/π
    0.363380228
    """
    import mpmath

    from quantmm.fast import ScalarMatmul
    from quantmm.reference import ScalarCodebook, mean_squared_error

    book = ScalarMatmul(levels, design, 0.0).codebook
    codebook = ScalarCodebook(
        tuple(mpmath.mpf(float(v)) for v in book.levels),
        tuple(mpmath.mpf(float(v)) for v in book.thresholds),
        design,
    )
    return float(mean_squared_error(codebook, digits=15))


def _reference_task(
    config: Mapping[str, Any], seed: int, trial: int, device: str
) -> dict[str, float]:
    """The reference values of one design (exact entry MSE, predictions), as a trial function."""
    from quantmm.fast import ScalarMatmul

    n, d, noise = int(config["n"]), int(config["d"]), float(config["noise"])
    book = ScalarMatmul(int(config["levels"]), str(config["design"]), 0.0).codebook
    moments = cell_moments(book.levels, book.thresholds)
    return {
        "exact_entry_mse": exact_entry_mse(str(config["design"]), int(config["levels"])),
        "exact_ls_truth_error": noise**2 / (n - d - 1),
        "predicted_truth_error": predicted_truth_error(moments, n, d, noise),
        "regression_coefficient": moments["c"],
    }


def _configurations(preset: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "index": index,
            "draw": 0,
            "design": str(design),
            "levels": int(preset["levels"]),
            "n": int(preset["n"]),
            "d": int(preset["d"]),
            "noise": float(preset["noise"]),
        }
        for index, design in enumerate(preset["designs"])
    ]


_MEASURED = ("entry_mse", "solution_error", "residual_increase", "truth_error", "ls_truth_error")


def _summary_row(
    config: Mapping[str, Any],
    reference: Sequence[Mapping[str, float]],
    results: Sequence[Mapping[str, float]],
) -> dict[str, Any]:
    """One design's row: its measured means and intervals, then its reference values (the one
    result of the reference stage)."""
    (exact,) = reference
    row: dict[str, Any] = {key: config[key] for key in ("design", "levels", "n", "d", "noise")}
    for name in _MEASURED:
        summary = summarize([r[name] for r in results])
        row["trials"] = summary.trials
        row.update(
            {
                name: summary.mean,
                f"{name}_se": summary.standard_error,
                f"{name}_low": summary.low,
                f"{name}_high": summary.high,
            }
        )
    row.update(exact)
    return row


def _tables(run: ExperimentRun) -> list[Rows]:
    """One row per design: the reference values first (on the host), then the trials."""
    stages = [
        Stage("reference", _reference_task, 1, "cpu"),
        Stage("trials", least_squares_trial, run.preset["trials"]),
    ]
    return [run.sweep(_configurations(run.preset), stages, _summary_row)]


def _draw(axes: Any, run: ExperimentRun, rows: Sequence[Mapping[str, Any]]) -> None:
    x = np.arange(len(rows))
    width = 0.4
    for offset, name, label in (
        (-width / 2, "solution_error", "‖x̂ − x_ls‖/‖x_ls‖"),
        (width / 2, "residual_increase", "‖b − Ax̂‖/‖b − Ax_ls‖ − 1"),
    ):
        y = np.array([row[name] for row in rows])
        low = y - np.array([max(row[f"{name}_low"], 0.0) for row in rows])
        high = np.array([row[f"{name}_high"] for row in rows]) - y
        axes.bar(x + offset, y, width * 0.9, yerr=[low, high], capsize=3, label=label)
    axes.set_xticks(x, [row["design"] for row in rows])
    first = rows[0]
    axes.set_title(
        f"Least squares with A quantized entrywise (K = {first['levels']}), A {first['n']}×"
        f"{first['d']}, σ = {first['noise']:g}: mean and 95 % CI"
    )
    axes.set_yscale("log")
    axes.grid(True, axis="y", alpha=0.3)
    axes.legend(fontsize=8)


def _report(run: ExperimentRun, rows: Sequence[Mapping[str, Any]]) -> str:
    preset, seed = run.preset, run.seed
    lines = [
        f"least-squares: A {preset['n']}x{preset['d']} quantized with K={preset['levels']}, "
        f"noise {preset['noise']:g}, {preset['trials']} trials, seed {seed}; mean [95% CI]",
        f"{'design':>12} {'entry MSE':>30} {'exact':>9} {'|x^-x_ls|/|x_ls|':>17} "
        f"{'resid. +':>9} {'|x^-x*|^2/|x*|^2':>30} {'pred.':>9}",
    ]
    for row in rows:
        lines.append(
            f"{row['design']:>12} {row['entry_mse']:9.6f} [{row['entry_mse_low']:9.6f},"
            f"{row['entry_mse_high']:9.6f}] {row['exact_entry_mse']:9.6f} "
            f"{row['solution_error']:17.5f} {row['residual_increase']:9.2e} "
            f"{row['truth_error']:9.6f} [{row['truth_error_low']:9.6f},"
            f"{row['truth_error_high']:9.6f}] {row['predicted_truth_error']:9.6f}"
        )
    first = rows[0]
    lines.append(
        f"unquantized: |x_ls-x*|^2/|x*|^2 = {first['ls_truth_error']:.6f} "
        f"[{first['ls_truth_error_low']:.6f}, {first['ls_truth_error_high']:.6f}], "
        f"exact sigma^2/(n-d-1) = {first['exact_ls_truth_error']:.6f}"
    )
    return "\n".join(lines)


EXPERIMENT = Experiment(NAME, SIZE_PRESETS, _tables, _draw, _report, figure_size=(8.0, 4.5))


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
    """Run the experiment (module docstring; theory.md §2.4) and write ``least-squares.csv``
    (one row per design) and ``least-squares.png`` (solution error and residual increase per
    design, 95 % error bars) into ``output_dir``.
    Each finished configuration is kept in ``output_dir/least-squares.parts`` as it completes;
    ``resume`` skips those already there (:mod:`~quantmm.experiments.runner`).

    >>> run(size="tiny", seed=-1)
    Traceback (most recent call last):
    ...
    ValueError: seed must be a non-negative integer, got -1
    """
    return EXPERIMENT.run(**locals())
