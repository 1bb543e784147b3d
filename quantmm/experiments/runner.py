"""The sweep runner every experiment uses: stages of trials over configurations, each finished
configuration kept on disk at once, and ``resume`` to skip what is already there.

An experiment is a list of configurations (dicts, each with an ``"index"``) and one or more
:class:`Stage` s (a trial function run ``trials`` times per configuration: for example the exact
reference values once, then the seeded trials). :func:`run_sweep` runs every stage through
:func:`~quantmm.experiments.trials.run_configurations` (progress bar, optional Dask) and, as
soon as all trials of one configuration in one stage have finished, writes their results to
``OUTPUT_DIR/NAME.parts/KEY.json`` atomically (:mod:`quantmm.atomic`). ``KEY`` is a hash of
everything that determines those results: the experiment, the stage, the configuration, the
trial count, the seed, the device, the size and its whole preset, and quantmm's version.

With ``resume=True`` a stage of a configuration whose part file is on disk (and names the same
key and identity) is not run again: its stored results are used. Every result, computed or
stored, goes through the same JSON round trip (floats in ``repr``, exact), so a resumed sweep
gives byte-identical CSVs to an uninterrupted one with the same seed. Without ``resume`` every
stage is computed again (and its part files rewritten).

An interrupt (KeyboardInterrupt: Ctrl-C, or SIGTERM as the CLI turns it) while stages run is
re-raised as :class:`SweepInterrupted`, which says how many parts were kept and where.

>>> import tempfile
>>> def trial(config, seed, trial, device):
...     return {"x": float(config["index"] * 10 + trial)}
>>> stages = [Stage("trials", trial, 2)]
>>> folder = Path(tempfile.mkdtemp())
>>> options = dict(identity={"size": "tiny"}, seed=0, progress=False, output_dir=folder)
>>> first = run_sweep("demo", [{"index": 0}, {"index": 1}], stages, **options)
>>> first
[[[{'x': 0.0}, {'x': 1.0}], [{'x': 10.0}, {'x': 11.0}]]]
>>> len(list((folder / "demo.parts").glob("*.json")))
2
>>> run_sweep("demo", [{"index": 0}, {"index": 1}], stages, resume=True, **options) == first
True

Every experiment module (``quantmm experiment NAME``, ``quantmm plot NAME``) is an
:class:`Experiment`: what is its own (its size presets, the tables it computes, its figure and
its report), while :meth:`Experiment.run` does the rest once for all of them: it validates the
options every experiment takes (:func:`~quantmm.experiments.trials.check_size`,
:func:`~quantmm.experiments.trials.check_seed`,
:func:`~quantmm.experiments.trials.check_options`, then the experiment's own parameters),
hands the experiment an :class:`ExperimentRun` (whose :meth:`~ExperimentRun.sweep` runs stages
through :func:`run_sweep` with the run's seed, device, scheduler, progress, output folder and
``resume``, keyed by the size and its preset), writes each table as ``NAME[-suffix].csv``
(:func:`~quantmm.experiments.trials.write_csv`), draws and saves the figure
(:mod:`~quantmm.experiments.figures`) and returns the
:class:`~quantmm.experiments.trials.ExperimentResult` with the report.

>>> def tables(run):
...     return [run.sweep([{"index": 0}, {"index": 1}], stages, lambda config, results: {
...         "index": config["index"], "x": sum(result["x"] for result in results)})]
>>> demo = Experiment("demo", {"tiny": {}}, tables, lambda axes, run, rows: None,
...                   lambda run, rows: f"demo: {len(rows)} rows, seed {run.seed}")
>>> result = demo.run(size="tiny", seed=0, device="cpu", scheduler=None, output_dir=folder,
...                   progress=False, resume=True)
>>> result.rows, [path.name for path in result.files]
(({'index': 0, 'x': 1.0}, {'index': 1, 'x': 21.0}), ['demo.csv', 'demo.png'])
>>> result.report
'demo: 2 rows, seed 0'
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from quantmm.atomic import atomic_write_text

from .figures import new_figure, save_figure
from .trials import (
    ExperimentResult,
    TrialFunction,
    check_options,
    check_seed,
    check_size,
    run_configurations,
    write_csv,
)

__all__ = [
    "PART_FORMAT",
    "Experiment",
    "ExperimentRun",
    "Rows",
    "Stage",
    "SweepInterrupted",
    "parts_directory",
    "run_sweep",
]

#: The layout of a part file; part of every key, so a change of layout recomputes.
PART_FORMAT = "quantmm-experiment-part/1"


@dataclass(frozen=True)
class Stage:
    """``trials`` calls of ``trial`` per configuration. ``name`` names the stage in its keys
    and progress bar ("trials" shows as the experiment's name alone); ``device`` overrides the
    run's device (the exact reference values are always computed on the host: "cpu")."""

    name: str
    trial: TrialFunction
    trials: int
    device: str | None = None


class SweepInterrupted(KeyboardInterrupt):
    """A sweep stopped by an interrupt; ``kept`` parts of ``total`` are on disk in ``where``."""

    def __init__(self, name: str, kept: int, total: int, where: Path) -> None:
        super().__init__(f"{name}: {kept} of {total} parts kept in {where}")
        self.name, self.kept, self.total, self.where = name, kept, total, where


def parts_directory(output_dir: Path, name: str) -> Path:
    """Where the per-configuration results of experiment ``name`` are kept."""
    return Path(output_dir) / f"{name}.parts"


def _plain(value: Any) -> Any:
    """``value`` with NumPy scalars and tuples made plain Python (JSON) values."""
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _round_trip(results: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Results as they read back from a part file (exact: floats are written in ``repr``)."""
    return json.loads(json.dumps(_plain(list(results))))


def _identity(
    name: str,
    stage: Stage,
    config: Mapping[str, Any],
    seed: int,
    device: str,
    identity: Mapping[str, Any],
) -> dict[str, Any]:
    from quantmm import __version__

    return _plain(
        {
            "format": PART_FORMAT,
            "experiment": name,
            "stage": stage.name,
            "config": config,
            "trials": stage.trials,
            "seed": seed,
            "device": stage.device or device,
            "run": identity,
            "quantmm": __version__,
        }
    )


def _key(document: Mapping[str, Any]) -> str:
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), allow_nan=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]


def _load(path: Path, key: str, document: Mapping[str, Any], trials: int) -> list | None:
    """The stored results at ``path`` if it is a complete part of this key, else None."""
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    if not isinstance(stored, dict) or stored.get("key") != key:
        return None
    results = stored.get("results")
    if stored.get("identity") != document or not isinstance(results, list):
        return None
    if len(results) != trials or not all(isinstance(result, dict) for result in results):
        return None
    return results


def _save(path: Path, key: str, document: Mapping[str, Any], results: list) -> None:
    part = {"key": key, "identity": document, "results": results}
    atomic_write_text(path, json.dumps(part, sort_keys=True, allow_nan=True) + "\n")


class _Progress:
    """How many parts of a sweep are on disk (stored before, or kept as they finished)."""

    def __init__(self) -> None:
        self.kept = 0


def _run_stage(
    name: str,
    configs: Sequence[Mapping[str, Any]],
    stage: Stage,
    run: Mapping[str, Any],
    folder: Path,
    counter: _Progress,
) -> list[list[dict[str, Any]]]:
    """One stage over every configuration: stored parts reused when ``run["resume"]``, the rest
    computed, each kept on disk as soon as all its trials are done."""
    seed, device = run["seed"], run["device"]
    documents = [_identity(name, stage, c, seed, device, run["identity"]) for c in configs]
    keys = [_key(document) for document in documents]
    found: dict[int, list] = {}
    if run["resume"]:
        for position, (key, document) in enumerate(zip(keys, documents, strict=True)):
            stored = _load(folder / f"{key}.json", key, document, stage.trials)
            if stored is not None:
                found[position] = stored
    counter.kept += len(found)
    missing = [position for position in range(len(configs)) if position not in found]

    def keep(which: int, results: list) -> None:
        position = missing[which]
        found[position] = _round_trip(results)
        key = keys[position]
        _save(folder / f"{key}.json", key, documents[position], found[position])
        counter.kept += 1

    if missing:
        run_configurations(
            stage.trial,
            [configs[position] for position in missing],
            stage.trials,
            seed=seed,
            device=stage.device or device,
            scheduler=run["scheduler"],
            progress=run["progress"],
            description=name if stage.name == "trials" else f"{name} {stage.name}",
            on_configuration=keep,
        )
    return [found[position] for position in range(len(configs))]


def run_sweep(
    name: str,
    configs: Sequence[Mapping[str, Any]],
    stages: Sequence[Stage],
    *,
    identity: Mapping[str, Any],
    seed: int,
    device: str = "cpu",
    scheduler: str | None = None,
    progress: bool = True,
    output_dir: Path,
    resume: bool = False,
) -> list[list[list[dict[str, Any]]]]:
    """Run every stage over ``configs`` (module docstring); returns, per stage, per
    configuration in order, the list of its trial results. ``identity``: what else determines
    the results (the size and its preset). Raises :class:`SweepInterrupted` on an interrupt."""
    folder = parts_directory(output_dir, name)
    run = {
        "identity": identity,
        "seed": seed,
        "device": device,
        "scheduler": scheduler,
        "progress": progress,
        "resume": resume,
    }
    counter = _Progress()
    try:
        return [_run_stage(name, configs, stage, run, folder, counter) for stage in stages]
    except SweepInterrupted:
        raise
    except KeyboardInterrupt as interrupt:
        total = len(stages) * len(configs)
        raise SweepInterrupted(name, counter.kept, total, folder) from interrupt


#: One CSV's rows: dicts with the same keys, in order (see
#: :func:`~quantmm.experiments.trials.write_csv`).
Rows = list[dict[str, Any]]


@dataclass(frozen=True)
class ExperimentRun:
    """One run of an experiment, as its own functions see it: the validated options, the preset
    of its size and its own validated parameters (``{}`` for most; density: ``rhos``,
    ``levels``)."""

    name: str
    size: str
    seed: int
    device: str
    scheduler: str | None
    output_dir: Path
    progress: bool
    resume: bool
    preset: Mapping[str, Any]
    parameters: Mapping[str, Any]

    def sweep(
        self,
        configs: Sequence[Mapping[str, Any]],
        stages: Sequence[Stage],
        row: Callable[..., dict[str, Any]],
    ) -> Rows:
        """Run ``stages`` over ``configs`` with :func:`run_sweep` (this run's seed, device,
        scheduler, progress, output folder and ``resume``; the size and its preset in every key)
        and return one row per configuration: ``row(config, results of stage 1, results of
        stage 2, …)``, each a list of that stage's trial results. Raises
        :class:`SweepInterrupted` on an interrupt."""
        results = run_sweep(
            self.name,
            configs,
            stages,
            identity={"size": self.size, "preset": self.preset},
            seed=self.seed,
            device=self.device,
            scheduler=self.scheduler,
            progress=self.progress,
            output_dir=self.output_dir,
            resume=self.resume,
        )
        return [row(config, *outcome) for config, *outcome in zip(configs, *results, strict=True)]


def _no_parameters() -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class Experiment:
    """What is an experiment's own; :meth:`run` does the rest (module docstring).

    ``presets``: the plain parameters of each size. ``tables(run)``: the rows of each CSV (the
    first is ``NAME.csv`` and the result's rows; ``suffixes`` names the files, ``NAME`` +
    suffix + ``.csv``). ``draw(axes, run, *tables)``: the figure, on axes of ``figure_size``
    inches, saved as ``NAME.<format>`` for each of ``formats``. ``report(run, *tables)``: the
    text ``quantmm`` prints. ``parameters(**given)``: the experiment's own keyword parameters,
    validated (ValueError), checked after the common options."""

    name: str
    presets: Mapping[str, Mapping[str, Any]]
    tables: Callable[[ExperimentRun], Sequence[Rows]]
    draw: Callable[..., None]
    report: Callable[..., str]
    suffixes: tuple[str, ...] = ("",)
    figure_size: tuple[float, float] = (7.0, 4.5)
    formats: tuple[str, ...] = ("png",)
    parameters: Callable[..., dict[str, Any]] = _no_parameters

    def run(
        self,
        *,
        size: str,
        seed: int,
        device: str,
        scheduler: str | None,
        output_dir: Path,
        progress: bool,
        resume: bool,
        **parameters: Any,
    ) -> ExperimentResult:
        """Validate the options (ValueError, before any work or file), compute the tables,
        write them as CSV, draw and save the figure, and return the rows, the files and the
        report. Each experiment module's ``run`` hands over its own arguments
        (``**locals()``), so its signature and defaults stay in that module."""
        size = check_size(size)
        seed = check_seed(seed)
        output_dir = check_options(device, scheduler, output_dir)
        own = self.parameters(**parameters)
        run = ExperimentRun(
            self.name,
            size,
            seed,
            device,
            scheduler,
            output_dir,
            progress,
            resume,
            self.presets[size],
            own,
        )
        tables = self.tables(run)
        files = [
            write_csv(output_dir / f"{self.name}{suffix}.csv", rows)
            for suffix, rows in zip(self.suffixes, tables, strict=True)
        ]
        figure, axes = new_figure(*self.figure_size)
        self.draw(axes, run, *tables)
        files += save_figure(figure, output_dir / self.name, self.formats)
        report = self.report(run, *tables)
        return ExperimentResult(self.name, tuple(tables[0]), tuple(files), report)
