"""Seeded trials, progress, optional Dask, confidence intervals and CSV, shared by experiments.

An experiment is a list of :class:`Task` s (a configuration and a trial index) and a trial function
``trial(config, seed, trial, device) -> dict[str, float]``. Each trial draws its randomness from
``numpy.random.default_rng([seed, task.config_index, task.trial])`` (see :func:`trial_rng`), so a
trial's result depends only on the seed and its own indices: running the tasks in another order,
on another machine, or spread over a Dask cluster (``scheduler="tcp://host:8786"``) gives the
same numbers for the same seed. :func:`run_trials` shows a progress bar (tqdm, on stderr) and
returns the results in task order. :func:`summarize` gives the mean, its standard error and a
95 % Student-t confidence interval; :func:`write_csv` writes rows with every float in ``repr``
form, so the same seed gives the same bytes.

>>> def trial(config, seed, trial, device):
...     return {"x": float(trial_rng(seed, config["index"], trial).standard_normal())}
>>> tasks = [Task({"index": 0}, 0, t) for t in range(4)]
>>> results = run_trials(trial, tasks, seed=7, progress=False)
>>> results == run_trials(trial, tasks[::-1], seed=7, progress=False)[::-1]
True
>>> summary = summarize([r["x"] for r in results])
>>> summary.low < summary.mean < summary.high
True
"""

from __future__ import annotations

import csv
import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "SIZES",
    "ExperimentResult",
    "Summary",
    "Task",
    "check_options",
    "check_seed",
    "check_size",
    "run_configurations",
    "run_trials",
    "summarize",
    "trial_rng",
    "write_csv",
]

#: The sizes every experiment offers: ``tiny`` for tests, ``quick`` (the default, about a minute
#: on two cores) and ``full`` (the paper-sized run).
SIZES = ("tiny", "quick", "full")

TrialFunction = Callable[[Mapping[str, Any], int, int, str], dict[str, float]]


@dataclass(frozen=True)
class Task:
    """One trial: the configuration it runs, that configuration's index, and the trial index."""

    config: Mapping[str, Any]
    config_index: int
    trial: int


def check_seed(seed: object) -> int:
    """A seed is a non-negative integer (it names every random choice of the experiment)."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


def trial_rng(seed: int, config_index: int, trial: int) -> np.random.Generator:
    """The random generator of one trial: ``default_rng([seed, config_index, trial])``."""
    return np.random.default_rng([check_seed(seed), int(config_index), int(trial)])


def _run_one(trial_function: TrialFunction, task: Task, seed: int, device: str) -> dict:
    return trial_function(task.config, seed, task.trial, device)


def run_trials(
    trial_function: TrialFunction,
    tasks: Sequence[Task],
    *,
    seed: int,
    device: str = "cpu",
    scheduler: str | None = None,
    progress: bool = True,
    description: str = "trials",
) -> list[dict[str, float]]:
    """Run every task and return the results in task order.

    ``scheduler``: the address of a Dask scheduler (``tcp://…``, or ``inproc://…`` for an
    in-process cluster); the tasks are then submitted to that cluster (needs
    ``quantmm[cluster]``). The results do not depend on where or in which order tasks ran.
    """
    seed = check_seed(seed)
    if device not in ("cpu", "gpu"):
        raise ValueError(f"device must be 'cpu' or 'gpu', got {device!r}")
    bar = _progress_bar(len(tasks), description, progress)
    try:
        if scheduler is None:
            results = []
            for task in tasks:
                results.append(_run_one(trial_function, task, seed, device))
                bar.update(1)
            return results
        return _run_on_dask(trial_function, tasks, seed, device, scheduler, bar)
    finally:
        bar.close()


def run_configurations(
    trial_function: TrialFunction,
    configs: Sequence[Mapping[str, Any]],
    trials: int,
    *,
    seed: int,
    device: str = "cpu",
    scheduler: str | None = None,
    progress: bool = True,
    description: str = "trials",
) -> list[list[dict[str, float]]]:
    """Run ``trials`` trials of every configuration (each has an ``"index"``) through
    :func:`run_trials`; returns, per configuration in order, the list of its trial results.

    >>> def trial(config, seed, trial, device):
    ...     return {"x": config["index"] * 10 + trial}
    >>> run_configurations(trial, [{"index": 0}, {"index": 1}], 2, seed=0, progress=False)
    [[{'x': 0}, {'x': 1}], [{'x': 10}, {'x': 11}]]
    """
    tasks = [Task(config, config["index"], t) for config in configs for t in range(trials)]
    results = run_trials(
        trial_function,
        tasks,
        seed=seed,
        device=device,
        scheduler=scheduler,
        progress=progress,
        description=description,
    )
    return [results[i * trials : (i + 1) * trials] for i in range(len(configs))]


def _run_on_dask(trial_function, tasks, seed, device, scheduler, bar) -> list[dict[str, float]]:
    try:
        from distributed import Client, as_completed
    except ImportError as missing:
        raise ValueError(
            "--scheduler needs Dask's distributed scheduler: install quantmm[cluster]"
        ) from missing
    with Client(scheduler, set_as_default=False) as client:
        futures = [
            client.submit(_run_one, trial_function, task, seed, device, pure=False)
            for task in tasks
        ]
        for _ in as_completed(futures, loop=client.loop):
            bar.update(1)
        return client.gather(futures)


class _NoProgress:
    def update(self, count: int) -> None:
        pass

    def close(self) -> None:
        pass


def _progress_bar(total: int, description: str, enabled: bool):
    if not enabled:
        return _NoProgress()
    from tqdm import tqdm  # a dependency of quantmm[plot], which the experiments need

    return tqdm(total=total, desc=description, unit="trial", leave=False)


@dataclass(frozen=True)
class Summary:
    """Mean of independent trial values, its standard error, and a 95 % confidence interval."""

    mean: float
    standard_error: float
    low: float
    high: float
    trials: int


def summarize(values: Sequence[float], confidence: float = 0.95) -> Summary:
    """Mean ± t_(n−1)·SE over independent trials (Student t; SE = sample std/√n).

    With one trial the interval is infinite: one sample says nothing about its spread.
    """
    from scipy.stats import t as student_t

    data = np.asarray(values, dtype=np.float64)
    if data.size == 0:
        raise ValueError("summarize needs at least one value")
    if not np.all(np.isfinite(data)):
        raise ValueError("summarize got a non-finite value")
    mean = float(data.mean())
    if data.size == 1:
        return Summary(mean, math.inf, -math.inf, math.inf, 1)
    error = float(data.std(ddof=1) / math.sqrt(data.size))
    half = float(student_t.ppf(0.5 + confidence / 2, data.size - 1)) * error
    return Summary(mean, error, mean - half, mean + half, int(data.size))


def _cell(value: Any) -> str:
    if isinstance(value, float | np.floating):
        return repr(float(value))
    return str(value)


def write_csv(path: Path, rows: Sequence[Mapping[str, Any]]) -> Path:
    """Write rows (dicts with the same keys, in order) as CSV; floats in full ``repr``."""
    if not rows:
        raise ValueError("write_csv needs at least one row")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fields = list(rows[0])
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(fields)
        for row in rows:
            if list(row) != fields:
                raise ValueError(f"every row needs the columns {fields}, got {list(row)}")
            writer.writerow([_cell(row[field]) for field in fields])
    return path


@dataclass(frozen=True)
class ExperimentResult:
    """What an experiment or plot returns: its rows (also in the CSV), the files it wrote, and
    the report ``quantmm`` prints (a short plain-text table of the headline numbers)."""

    name: str
    rows: tuple[dict[str, Any], ...]
    files: tuple[Path, ...]
    report: str


def check_options(device: object, scheduler: object, output_dir: object) -> Path:
    """Validate the options every experiment takes; returns ``output_dir`` as a Path."""
    if device not in ("cpu", "gpu"):
        raise ValueError(f"device must be 'cpu' or 'gpu', got {device!r}")
    if scheduler is not None and not isinstance(scheduler, str):
        raise ValueError(f"scheduler must be None or an address string, got {scheduler!r}")
    if not isinstance(output_dir, str | Path):
        raise ValueError(f"output_dir must be a path, got {output_dir!r}")
    return Path(output_dir)


def check_size(size: object) -> str:
    """A size is one of :data:`SIZES`."""
    if size not in SIZES:
        raise ValueError(f"size must be one of {', '.join(SIZES)}, got {size!r}")
    return str(size)
