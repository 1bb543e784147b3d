"""``quantmm plot density``: the optimal point density λ* for several ρ (theory.md §2.3–2.4; AKP).

For a unit-variance Gaussian pair with correlation ρ the optimal point density of one side is

    λ*(u) = exp(−u²/6)·((1 − ρ²) + ρ²u²)^(1/3) / I(ρ),

unimodal at 0 for |ρ| ≤ 1/√3 and bimodal beyond, with peaks at ±√(3 − 1/ρ²) (AKP's phase
transition). The plot draws λ* (:func:`quantmm.fast.functions.optimal_density`, normalized by the
certified I(ρ)) on the grid u = i·h, |u| ≤ 8, marks the peaks (the reference's
:func:`~quantmm.reference.peak_location`) and the K-level compander codebook points of the
``opt`` design (:func:`~quantmm.reference.design_codebook`, c_i = Λ⁻¹((i − ½)/K)) on each curve.

Files: ``density.csv`` (the grid: ``u`` and one column ``rho=<ρ>`` per ρ), ``density-points.csv``
(per ρ: the peaks and the codebook points, with λ* there) and ``density.png``. Nothing here is
random; ``seed``, ``size``, ``device`` and ``scheduler`` are validated like every experiment's,
and ``size`` sets the grid step h.

>>> result = run(size="tiny", rhos=(0.0, 0.9), levels=4, output_dir=Path(tempfile.mkdtemp()))
>>> [path.name for path in result.files]
['density.csv', 'density-points.csv', 'density.png']
>>> [row for row in result.rows if row["u"] == 0.0][0]["rho=0.0"]  # 1/√(6π)
0.23032943298089031
"""

from __future__ import annotations

import math
import numbers
import tempfile  # noqa: F401  (used by the docstring example)
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .runner import Experiment, ExperimentRun, Rows
from .trials import ExperimentResult

__all__ = ["DEFAULT_RHOS", "GRID_LIMIT", "SIZE_PRESETS", "codebook_points", "density_grid", "run"]

NAME = "density"

#: The grid covers |u| ≤ GRID_LIMIT (λ* < 2·10^(−5) beyond, for every ρ).
GRID_LIMIT = 8.0

#: The default correlations: unimodal, the transition 1/√3, and bimodal.
#: (√(1/3) rounds to just below 1/√3, so it is unimodal; 1/√(3.0) rounds to just above.)
DEFAULT_RHOS = (0.0, 0.4, math.sqrt(1.0 / 3.0), 0.7, 0.9, 1.0)

#: The grid step h (a power of two, so every grid point u = i·h is exact) for each size.
SIZE_PRESETS: dict[str, dict[str, Any]] = {
    "tiny": {"step": 2.0**-6},
    "quick": {"step": 2.0**-10},
    "full": {"step": 2.0**-12},
}


def _validated_rhos(rhos: object) -> tuple[float, ...]:
    if isinstance(rhos, (str, bytes)) or not isinstance(rhos, Sequence):
        raise ValueError(f"rhos must be a non-empty sequence of numbers in [-1, 1], got {rhos!r}")
    if len(rhos) == 0:
        raise ValueError("rhos must be a non-empty sequence of numbers in [-1, 1], got none")
    values = []
    for rho in rhos:
        if isinstance(rho, (bool, np.bool_)) or not isinstance(rho, numbers.Real):
            raise ValueError(f"rhos must hold real numbers in [-1, 1], got {rho!r}")
        if not math.isfinite(float(rho)) or not -1.0 <= float(rho) <= 1.0:
            raise ValueError(f"rhos must hold finite numbers in [-1, 1], got {rho!r}")
        values.append(float(rho))
    if len(set(values)) != len(values):
        raise ValueError(f"rhos must not repeat a value, got {list(rhos)!r}")
    return tuple(values)


def _validated_levels(levels: object) -> int:
    if isinstance(levels, (bool, np.bool_)) or not isinstance(levels, numbers.Integral):
        raise ValueError(f"levels must be an integer >= 1, got {levels!r}")
    if int(levels) < 1:
        raise ValueError(f"levels must be an integer >= 1, got {levels!r}")
    return int(levels)


def _parameters(rhos: object, levels: object) -> dict[str, Any]:
    """The plot's own parameters, validated (``rhos`` first, then ``levels``)."""
    return {"rhos": _validated_rhos(rhos), "levels": _validated_levels(levels)}


def density_grid(rhos: Sequence[float], step: float) -> list[dict[str, float]]:
    """Rows (u, λ*(u; ρ) for each ρ) on u = i·step, |u| ≤ 8 (theory.md §2.3), vectorized.

    >>> rows = density_grid([0.0], 4.0)
    >>> [row["u"] for row in rows], round(rows[2]["rho=0.0"] * math.sqrt(6 * math.pi), 15)
    ([-8.0, -4.0, 0.0, 4.0, 8.0], 1.0)
    """
    from quantmm.fast.functions import optimal_density

    if not (isinstance(step, float) and 0 < step <= GRID_LIMIT):
        raise ValueError(f"step must be a float in (0, {GRID_LIMIT}], got {step!r}")
    half = math.floor(GRID_LIMIT / step)
    u = np.arange(-half, half + 1) * step
    columns = {f"rho={rho!r}": optimal_density(u, rho) for rho in rhos}
    return [
        {"u": float(value), **{name: float(column[i]) for name, column in columns.items()}}
        for i, value in enumerate(u)
    ]


def codebook_points(rho: float, levels: int) -> list[float]:
    """The K-level ``opt`` compander points for correlation ρ (theory.md §2.4), from the
    certified reference rounded to float64.

    >>> [round(point, 6) for point in codebook_points(0.0, 2)]  # ±√3·Φ⁻¹(3/4)
    [-1.168251, 1.168251]
    """
    from fractions import Fraction

    from quantmm.reference import design_codebook

    book = design_codebook("opt", Fraction(rho), levels, digits=17)
    return [float(level) for level in book.levels]


def _point_rows(rhos: Sequence[float], levels: int) -> list[dict[str, Any]]:
    from fractions import Fraction

    from quantmm.fast.functions import optimal_density
    from quantmm.reference import is_bimodal, peak_location

    rows: list[dict[str, Any]] = []
    for rho in rhos:
        peak = float(peak_location(Fraction(rho), digits=17))
        peaks = [-peak, peak] if is_bimodal(Fraction(rho)) else [0.0]
        for index, u in enumerate(peaks):
            rows.append(_point(rho, "peak", index, u, float(optimal_density(u, rho))))
        for index, u in enumerate(codebook_points(rho, levels)):
            rows.append(_point(rho, "codebook", index, u, float(optimal_density(u, rho))))
    return rows


def _point(rho: float, kind: str, index: int, u: float, density: float) -> dict[str, Any]:
    return {"rho": rho, "kind": kind, "index": index, "u": u, "density": density}


def _tables(run: ExperimentRun) -> list[Rows]:
    """The grid (at the size's step) and the peaks and codebook points of every ρ."""
    rhos = run.parameters["rhos"]
    return [density_grid(rhos, run.preset["step"]), _point_rows(rhos, run.parameters["levels"])]


def _draw(axes: Any, run: ExperimentRun, grid: Rows, points: Rows) -> None:
    rhos = run.parameters["rhos"]
    u = [row["u"] for row in grid]
    for number, rho in enumerate(rhos):
        color = f"C{number % 10}"
        peaks = [p for p in points if p["rho"] == rho and p["kind"] == "peak"]
        shape = "bimodal" if len(peaks) == 2 else "unimodal"
        label = f"ρ = {rho:.4g} ({shape})"
        axes.plot(u, [row[f"rho={rho!r}"] for row in grid], color=color, label=label)
        book = [p for p in points if p["rho"] == rho and p["kind"] == "codebook"]
        axes.plot([p["u"] for p in book], [p["density"] for p in book], "|", color=color, ms=9)
        axes.plot([p["u"] for p in peaks], [p["density"] for p in peaks], "o", color=color, ms=5)
    axes.plot([], [], "k|", ms=9, label="compander codebook points (opt design)")
    axes.plot([], [], "ko", ms=5, label="peaks: 0, or ±√(3 − 1/ρ²) for |ρ| > 1/√3")
    axes.set_xlim(-5.0, 5.0)
    axes.set_ylim(bottom=0.0)
    axes.set_xlabel("u = x/σ")
    axes.set_ylabel("optimal point density λ*(u)")
    axes.set_title("Optimal point density: unimodal for |ρ| ≤ 1/√3, bimodal beyond")
    axes.grid(True, alpha=0.3)
    axes.legend(fontsize=7)


def _report(run: ExperimentRun, grid: Rows, points: Rows) -> str:
    rhos, levels, step = run.parameters["rhos"], run.parameters["levels"], run.preset["step"]
    lines = [
        f"density: λ*(u) for {len(rhos)} values of ρ on |u| ≤ {GRID_LIMIT:g}, step {step:g}; "
        f"opt codebook K = {levels}",
        f"{'rho':>10} {'shape':>9} {'peak u':>10} {'λ*(peak)':>10} {'outermost point':>16}",
    ]
    for rho in rhos:
        peaks = [p for p in points if p["rho"] == rho and p["kind"] == "peak"]
        book = [p for p in points if p["rho"] == rho and p["kind"] == "codebook"]
        shape = "bimodal" if len(peaks) == 2 else "unimodal"
        lines.append(
            f"{rho:10.6f} {shape:>9} {peaks[-1]['u']:10.6f} {peaks[-1]['density']:10.6f} "
            f"{book[-1]['u']:16.6f}"
        )
    return "\n".join(lines)


EXPERIMENT = Experiment(
    NAME,
    SIZE_PRESETS,
    _tables,
    _draw,
    _report,
    suffixes=("", "-points"),
    figure_size=(8.0, 5.0),
    parameters=_parameters,
)


def run(
    *,
    size: str = "quick",
    seed: int = 0,
    device: str = "cpu",
    scheduler: str | None = None,
    output_dir: Path = Path("quantmm-output"),
    progress: bool = True,
    rhos: Sequence[float] = DEFAULT_RHOS,
    levels: int = 16,
    resume: bool = False,
) -> ExperimentResult:
    """Draw λ* for each ρ in ``rhos`` with its peaks and ``levels`` codebook points (module
    docstring; theory.md §2.3–2.4). Returns the grid rows (also in ``density.csv``). It is
    computed in one piece (seconds), so ``resume`` has nothing to skip: it is accepted, as
    every experiment's ``run`` takes it, and the figure is drawn again.

    >>> run(size="tiny", rhos=(0.5, 1.5))
    Traceback (most recent call last):
    ...
    ValueError: rhos must hold finite numbers in [-1, 1], got 1.5
    """
    return EXPERIMENT.run(**locals())
