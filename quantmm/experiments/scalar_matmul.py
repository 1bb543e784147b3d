"""``quantmm experiment scalar-matmul``: AKP's synthetic setting, measured against the exact theory.

theory.md §2 (Ang–Kim–Pilanci, arXiv:2603.19559): A (m×k) and B (k×n) are quantized entrywise
with one K-level codebook (K = 16, 4 bits) of each design of :data:`quantmm.reference.DESIGNS`
(``opt`` the λ* compander, ``pd`` the Panter–Dite compander, ``lloyd_max``, ``uniform``,
``matmul_lloyd``), designed for the correlation ρ of the configuration; the error of ÂB̂ is
measured over many seeded trials and set beside the exact finite-K value and the high-resolution
prediction.

**Model (the pair-iid model of theory.md §2).** Every output entry (i, j) of AB sees k iid pairs
(A_il, B_lj), each a standard Gaussian pair with correlation ρ. It is built with a shared latent
vector W (k entries) and independent U (m×k), V (k×n), all iid N(0, 1):

    A_il = √|ρ|·W_l + √(1 − |ρ|)·U_il,     B_lj = sgn(ρ)·√|ρ|·W_l + √(1 − |ρ|)·V_lj.

Each pair is jointly Gaussian with Var A_il = |ρ| + (1 − |ρ|) = 1, Var B_lj = 1 and
Cov(A_il, B_lj) = sgn(ρ)·|ρ| = ρ. For fixed (i, j) the pair l is a function of (W_l, U_il, V_lj)
only, and these triples are independent across l, so the k pairs are iid. (Entries of different
output cells share W, rows of U or columns of V, so they are dependent; that changes the spread of
one trial's average, not its expectation, and the confidence intervals are taken over independent
trials.) The entries are quantized with the unit-variance codebook as is: σ = 1 is the model's
known setting, there is no data-dependent scaling, so the exact reference applies.

Every design at one ρ sees the same matrices (trial t draws from ``trial_rng(seed, index of ρ,
t)``: common random numbers), so differences between designs are measured on the same inputs.

**Measured per trial:** the relative Frobenius error ‖AB − ÂB̂‖_F/‖AB‖_F and the per-entry mean
squared error ‖AB − ÂB̂‖²_F/(m·n); per configuration their mean and 95 % Student-t interval.

**Beside each (all from the mpmath reference, for the float64 codebook actually used):**

(a) ``exact_mse`` = k·E[D²] + k(k−1)·E[D]², D = XY − Q(X)Q(Y) (theory.md §2.1;
    :func:`quantmm.reference.product_error_moments`): the expectation of the per-entry MSE.
(b) ``exact_relative_error`` = √(exact_mse / E[(AB)_ij²]) with, by Isserlis
    (E[X²Y²] = E[X²]E[Y²] + 2E[XY]² = 1 + 2ρ² for a standard Gaussian pair, which each latent-model
    pair is), E[(AB)_ij²] = k·(1 + 2ρ²) + k(k−1)·ρ². This is a prediction of the relative error,
    not its exact expectation (a ratio of norms; it is close when m·n is large).
(c) ``highres_mse`` = k·c·G/K² with c = 2 for |ρ| < 1 and c = 4 at |ρ| = 1 (proofs/scalar.md),
    G = G_opt(ρ) for ``opt`` and G_PD(ρ) for ``pd`` and ``lloyd_max`` (Lloyd–Max has the
    Panter–Dite point density asymptotically); NaN for ``uniform`` (a uniform quantizer of a
    Gaussian has no finite K⁻² constant: its optimal step shrinks like √(log K)/K) and
    ``matmul_lloyd`` (no point-density limit is derived for it). This is the variance term only;
    ``highres_bias_mse`` = k(k−1)·(β/K²)² adds the bias term for the companders
    (β from :func:`quantmm.reference.compander_bias_coefficient`; 0 at ρ = 0 for every symmetric
    design; NaN where β is unknown), and ``highres_relative_error`` = √(highres_mse/E[(AB)_ij²]).

>>> row = exact_row({"design": "pd", "rho": 0.0, "levels": 4, "k": 8})
>>> round(row["exact_mse"] / 8, 6) == round(row["exact_second_moment"], 6)  # E[D] = 0 at ρ = 0
True
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from .runner import Experiment, ExperimentRun, Rows, Stage
from .trials import ExperimentResult, summarize, trial_rng

__all__ = [
    "SIZE_PRESETS",
    "correlated_pair",
    "exact_moments",
    "exact_row",
    "output_second_moment",
    "run",
    "scalar_matmul_trial",
]

NAME = "scalar-matmul"

#: Digits to which the reference's E[D²] and E[D] are certified (far below any statistical
#: resolution of the trials, and cheaper than the default 30).
_REFERENCE_DIGITS = 6

_DESIGNS = ("opt", "pd", "lloyd_max", "uniform", "matmul_lloyd")

#: Plain parameters of each size: the shape (m, k, n), K, the designs, the correlations and the
#: trials per (design, ρ). One trial's per-entry MSE is skewed (all entries share the latent W), so
#: a handful of trials underestimates its spread: even "tiny" runs 200 (they take milliseconds).
#: "tiny" keeps k = 256, where the bias term k(k−1)·E[D]² is a large part of the error, so its
#: agreement check would notice that term missing.
SIZE_PRESETS: dict[str, dict[str, Any]] = {
    "tiny": {
        "m": 16,
        "k": 256,
        "n": 16,
        "levels": 4,  # the reference needs seconds for K = 4 codebooks, half a minute for K = 16
        "designs": _DESIGNS,
        "rhos": (0.5,),
        "trials": 200,
    },
    "quick": {
        "m": 128,
        "k": 256,
        "n": 128,
        "levels": 16,
        "designs": _DESIGNS,
        "rhos": (0.0, 0.5, 0.9),
        "trials": 200,
    },
    "full": {
        "m": 128,
        "k": 256,
        "n": 128,
        "levels": 16,
        "designs": _DESIGNS,
        "rhos": (0.0, 0.25, 0.5, 0.75, 0.9, 0.99),
        "trials": 2000,
    },
}


def correlated_pair(
    rng: np.random.Generator, m: int, k: int, n: int, rho: float
) -> tuple[np.ndarray, np.ndarray]:
    """A (m×k) and B (k×n) of the latent model (module docstring; theory.md §2): every pair
    (A_il, B_lj) is a standard Gaussian pair with correlation ``rho``, iid over l for each (i, j).
    Draws W (k), then U (m×k), then V (k×n) from ``rng``.

    >>> A, B = correlated_pair(np.random.default_rng(0), 2, 3, 4, -1.0)
    >>> A.shape, B.shape, bool(np.array_equal(B, -np.tile(A[0], (4, 1)).T))  # ρ = −1: B = −W
    ((2, 3), (3, 4), True)
    """
    if not -1.0 <= rho <= 1.0:
        raise ValueError(f"rho must be in [-1, 1], got {rho!r}")
    shared, own = math.sqrt(abs(rho)), math.sqrt(1.0 - abs(rho))
    sign = math.copysign(1.0, rho)
    latent = rng.standard_normal(k)
    A = shared * latent[None, :] + own * rng.standard_normal((m, k))
    B = sign * shared * latent[:, None] + own * rng.standard_normal((k, n))
    return A, B


def scalar_matmul_trial(
    config: Mapping[str, Any], seed: int, trial: int, device: str
) -> dict[str, float]:
    """One trial (theory.md §2; AKP): draw A, B of the latent model from
    ``trial_rng(seed, config["draw"], trial)`` on the host, quantize both entrywise with the
    unit-variance codebook of :class:`quantmm.fast.ScalarMatmul` on ``device``, and return the
    relative Frobenius error and the per-entry MSE of ÂB̂. ``config``: ``draw`` (the random
    stream; the index of ρ in the sweep, shared by all designs), ``m``, ``k``, ``n``, ``levels``,
    ``design``, ``rho``.

    >>> config = {"draw": 0, "m": 4, "k": 8, "n": 4, "levels": 4, "design": "pd", "rho": 0.5}
    >>> result = scalar_matmul_trial(config, 0, 0, "cpu")
    >>> sorted(result), result == scalar_matmul_trial(config, 0, 0, "cpu")
    (['mse', 'relative_error'], True)
    """
    from quantmm.fast import ScalarMatmul
    from quantmm.fast.backend import array_module

    m, k, n = int(config["m"]), int(config["k"]), int(config["n"])
    rho = float(config["rho"])
    A, B = correlated_pair(trial_rng(seed, int(config["draw"]), trial), m, k, n, rho)
    kernel = ScalarMatmul(int(config["levels"]), str(config["design"]), rho, device=device)
    A_hat, B_hat = kernel.quantize(A), kernel.quantize(B)
    xp = array_module(A_hat)
    exact = xp.asarray(A) @ xp.asarray(B)
    error = exact - A_hat @ B_hat
    squared_error = float(xp.sum(error * error))
    squared_norm = float(xp.sum(exact * exact))
    return {
        "relative_error": math.sqrt(squared_error / squared_norm),
        "mse": squared_error / (m * n),
    }


@functools.lru_cache(maxsize=256)
def exact_moments(design: str, rho: float, levels: int) -> tuple[float, float]:
    """(E[D²], E[D]) of D = XY − Q(X)Q(Y) for a standard Gaussian pair with correlation ``rho``,
    Q the float64 codebook :class:`quantmm.fast.ScalarMatmul` uses (its levels and thresholds
    taken exactly), from :func:`quantmm.reference.product_error_moments` (theory.md §2.1, §2.4).

    >>> second, mean = exact_moments("lloyd_max", 0.0, 2)  # sign quantizer ±√(2/π)
    >>> round(second, 6), round(1 - (2 / math.pi) ** 2, 6), mean  # 1 − (2/π)², 0
    (0.594715, 0.594715, 0.0)
    """
    import mpmath

    from quantmm.fast import ScalarMatmul
    from quantmm.reference import ScalarCodebook, product_error_moments

    book = ScalarMatmul(levels, design, rho).codebook
    codebook = ScalarCodebook(
        tuple(mpmath.mpf(float(v)) for v in book.levels),
        tuple(mpmath.mpf(float(v)) for v in book.thresholds),
        design,
    )
    moments = product_error_moments(codebook, codebook, Fraction(rho), digits=_REFERENCE_DIGITS)
    return float(moments.second_moment), float(moments.mean)


def output_second_moment(rho: float, k: int) -> float:
    """E[(AB)_ij²] = k·(1 + 2ρ²) + k(k−1)·ρ² for k iid standard Gaussian pairs with correlation
    ρ (Isserlis: E[X²Y²] = 1 + 2ρ²; theory.md §2.1).

    >>> output_second_moment(0.0, 256), output_second_moment(1.0, 2)  # ρ = 1: E[(X₁² + X₂²)²] = 8
    (256.0, 8.0)
    """
    return k * (1.0 + 2.0 * rho * rho) + k * (k - 1) * rho * rho


@functools.lru_cache(maxsize=256)
def _highres_constant(design: str, rho: float) -> float:
    """c·G with c = 2 (|ρ| < 1) or 4 (|ρ| = 1): the limit of K²·E[D²]; NaN where none is derived."""
    from quantmm.reference import g_opt, g_pd

    factor = 4.0 if abs(rho) == 1.0 else 2.0
    if design == "opt":
        return factor * float(g_opt(rho, digits=_REFERENCE_DIGITS))
    if design in ("pd", "lloyd_max"):
        return factor * float(g_pd(rho, digits=_REFERENCE_DIGITS))
    return math.nan


@functools.lru_cache(maxsize=256)
def _highres_bias(design: str, rho: float) -> float:
    """β = lim K²·E[D]: 0 at ρ = 0 (symmetric codebooks), the compander coefficient for opt/pd."""
    from quantmm.reference import compander_bias_coefficient

    if rho == 0.0:
        return 0.0
    if design not in ("opt", "pd") or (design == "opt" and abs(rho) == 1.0):
        return math.nan
    return float(compander_bias_coefficient(rho, design, digits=_REFERENCE_DIGITS))


def exact_row(config: Mapping[str, Any]) -> dict[str, float]:
    """The reference values of one configuration (``design``, ``rho``, ``levels``, ``k``): the
    exact E[D²], E[D], per-entry MSE and relative-error prediction, and the high-resolution ones
    (module docstring (a)–(c); theory.md §2.1–§2.3).

    >>> row = exact_row({"design": "uniform", "rho": 0.0, "levels": 2, "k": 1})
    >>> math.isnan(row["highres_mse"]), row["output_second_moment"]
    (True, 1.0)
    """
    design, rho = str(config["design"]), float(config["rho"])
    levels, k = int(config["levels"]), int(config["k"])
    second, mean = exact_moments(design, rho, levels)
    output = output_second_moment(rho, k)
    exact_mse = k * second + k * (k - 1) * mean * mean
    highres = k * _highres_constant(design, rho) / levels**2
    bias = _highres_bias(design, rho) / levels**2
    return {
        "exact_second_moment": second,
        "exact_mean": mean,
        "output_second_moment": output,
        "exact_mse": exact_mse,
        "exact_relative_error": math.sqrt(exact_mse / output),
        "highres_mse": highres,
        "highres_relative_error": math.sqrt(highres / output),
        "highres_bias_mse": k * (k - 1) * bias * bias,
    }


def _reference_task(
    config: Mapping[str, Any], seed: int, trial: int, device: str
) -> dict[str, float]:
    """:func:`exact_row` as a trial function, so the reference runs with progress (and on Dask)."""
    return exact_row(config)


def _configurations(preset: Mapping[str, Any]) -> list[dict[str, Any]]:
    configs = []
    for draw, rho in enumerate(preset["rhos"]):
        for design in preset["designs"]:
            configs.append(
                {
                    "index": len(configs),
                    "draw": draw,
                    "design": str(design),
                    "rho": float(rho),
                    "levels": int(preset["levels"]),
                    "m": int(preset["m"]),
                    "k": int(preset["k"]),
                    "n": int(preset["n"]),
                }
            )
    return configs


def _summary_row(
    config: Mapping[str, Any],
    reference: Sequence[Mapping[str, float]],
    results: Sequence[Mapping[str, float]],
) -> dict[str, Any]:
    """One (design, ρ) row: the measured means and intervals, then the reference values (the
    one result of the reference stage, :func:`exact_row`)."""
    (exact,) = reference
    relative = summarize([r["relative_error"] for r in results])
    mse = summarize([r["mse"] for r in results])
    return {
        "design": config["design"],
        "rho": config["rho"],
        "levels": config["levels"],
        "m": config["m"],
        "k": config["k"],
        "n": config["n"],
        "trials": relative.trials,
        "relative_error": relative.mean,
        "relative_error_se": relative.standard_error,
        "relative_error_low": relative.low,
        "relative_error_high": relative.high,
        "mse": mse.mean,
        "mse_se": mse.standard_error,
        "mse_low": mse.low,
        "mse_high": mse.high,
        **exact,
    }


def _tables(run: ExperimentRun) -> list[Rows]:
    """One row per (design, ρ): the reference values first (on the host), then the trials."""
    stages = [
        Stage("reference", _reference_task, 1, "cpu"),
        Stage("trials", scalar_matmul_trial, run.preset["trials"]),
    ]
    return [run.sweep(_configurations(run.preset), stages, _summary_row)]


def _find(rows: Sequence[Mapping[str, Any]], design: str, rho: float) -> Mapping[str, Any]:
    return next(row for row in rows if row["rho"] == rho and row["design"] == design)


def _draw(axes: Any, run: ExperimentRun, rows: Sequence[Mapping[str, Any]]) -> None:
    rhos = list(dict.fromkeys(row["rho"] for row in rows))
    designs = list(dict.fromkeys(row["design"] for row in rows))
    width = 0.8 / len(designs)
    for position, design in enumerate(designs):
        chosen = [_find(rows, design, rho) for rho in rhos]
        x = np.arange(len(rhos)) + (position - (len(designs) - 1) / 2) * width
        y = np.array([r["relative_error"] for r in chosen])
        low = y - np.array([max(r["relative_error_low"], 0.0) for r in chosen])
        high = np.array([r["relative_error_high"] for r in chosen]) - y
        axes.bar(x, y, width * 0.9, yerr=[low, high], capsize=3, label=design)
        axes.scatter(
            x,
            [r["exact_relative_error"] for r in chosen],
            marker="_",
            s=200,
            color="black",
            zorder=5,
            label="exact prediction" if position == 0 else None,
        )
    axes.set_xticks(np.arange(len(rhos)), [f"ρ = {rho:g}" for rho in rhos])
    axes.set_yscale("log")
    axes.set_ylabel("relative Frobenius error ‖AB − ÂB̂‖/‖AB‖")
    first = rows[0]
    axes.set_title(
        f"Entrywise {first['levels']}-level quantization, A {first['m']}×{first['k']}, "
        f"B {first['k']}×{first['n']}: mean and 95 % CI"
    )
    axes.grid(True, axis="y", alpha=0.3)
    axes.legend(fontsize=7, ncol=3)


def _report(run: ExperimentRun, rows: Sequence[Mapping[str, Any]]) -> str:
    preset, seed = run.preset, run.seed
    lines = [
        f"scalar-matmul: A {preset['m']}x{preset['k']}, B {preset['k']}x{preset['n']}, "
        f"K={preset['levels']}, {preset['trials']} trials, seed {seed}; mean [95% CI]",
        f"{'rho':>5} {'design':>12} {'rel. error':>28} {'exact':>8} {'high-res':>8} "
        f"{'MSE/entry':>26} {'exact':>9}",
    ]
    for row in rows:
        lines.append(
            f"{row['rho']:5.2f} {row['design']:>12} {row['relative_error']:8.5f} "
            f"[{row['relative_error_low']:8.5f},{row['relative_error_high']:8.5f}] "
            f"{row['exact_relative_error']:8.5f} {row['highres_relative_error']:8.5f} "
            f"{row['mse']:7.4g} [{row['mse_low']:7.4g},{row['mse_high']:7.4g}] "
            f"{row['exact_mse']:9.4g}"
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
    """Run the sweep (module docstring; theory.md §2, AKP) and write ``scalar-matmul.csv`` (one
    row per (design, ρ)) and ``scalar-matmul.png`` (relative error per design, grouped by ρ, with
    95 % error bars and the exact prediction marked) into ``output_dir``. The reference values
    are computed first (most of the time at the smaller sizes), then the trials.
    Each finished configuration is kept in ``output_dir/scalar-matmul.parts`` as it completes;
    ``resume`` skips those already there (:mod:`~quantmm.experiments.runner`).

    >>> run(size="tiny", device="tpu")
    Traceback (most recent call last):
    ...
    ValueError: device must be 'cpu' or 'gpu', got 'tpu'
    """
    return EXPERIMENT.run(**locals())
