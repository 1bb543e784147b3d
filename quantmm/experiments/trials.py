"""Seeded trials, progress, optional Dask, confidence intervals and CSV, shared by experiments.

An experiment is a list of :class:`Task` s (a configuration and a trial index) and a trial function
``trial(config, seed, trial, device) -> dict[str, float]``. Each trial draws its randomness from
``numpy.random.default_rng([seed, task.config_index, task.trial])`` (see :func:`trial_rng`), so a
trial's result depends only on the seed and its own indices: running the tasks in another order,
on another machine, or spread over a Dask cluster (``scheduler="tcp://host:8786"``) gives the
same numbers for the same seed. :func:`run_trials` shows a progress bar (tqdm, on stderr) and
returns the results in task order (and, if asked, hands each result over as it arrives, so a
caller can keep finished work: :mod:`~quantmm.experiments.runner`). :func:`summarize` gives the
mean, its standard error and a 95 % Student-t confidence interval; :func:`write_csv` writes rows
with every float in ``repr`` form, so the same seed gives the same bytes, and atomically
(:mod:`quantmm.atomic`): a CSV is complete or absent, never torn.

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

from quantmm.atomic import atomic_open

__all__ = [
    "SIZES",
    "ExperimentResult",
    "Summary",
    "Task",
    "check_options",
    "check_scheduler",
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
#: ``on_result(position, result)``: called with each task's position in the list and its result.
ResultCallback = Callable[[int, dict[str, float]], None]

#: Seconds :func:`check_scheduler` waits for a Dask scheduler to answer.
SCHEDULER_TIMEOUT = 5.0


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
    on_result: ResultCallback | None = None,
) -> list[dict[str, float]]:
    """Run every task and return the results in task order.

    ``scheduler``: the address of a Dask scheduler (``tcp://…``, or ``inproc://…`` for an
    in-process cluster); the tasks are then submitted to that cluster (needs
    ``quantmm[cluster]``). The results do not depend on where or in which order tasks ran.
    ``on_result(position, result)`` is called as each task finishes (in task order when run
    here, in completion order on Dask).
    """
    seed = check_seed(seed)
    if device not in ("cpu", "gpu"):
        raise ValueError(f"device must be 'cpu' or 'gpu', got {device!r}")
    report = on_result or (lambda position, result: None)
    bar = _progress_bar(len(tasks), description, progress)
    try:
        if scheduler is None:
            results = []
            for position, task in enumerate(tasks):
                results.append(_run_one(trial_function, task, seed, device))
                bar.update(1)
                report(position, results[-1])
            return results
        return _run_on_dask(trial_function, tasks, seed, device, scheduler, bar, report)
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
    on_configuration: Callable[[int, list[dict[str, float]]], None] | None = None,
) -> list[list[dict[str, float]]]:
    """Run ``trials`` trials of every configuration (each has an ``"index"``) through
    :func:`run_trials`; returns, per configuration in order, the list of its trial results.
    ``on_configuration(position, results)`` is called as soon as every trial of the
    configuration at ``position`` has finished (so finished work can be kept).

    >>> def trial(config, seed, trial, device):
    ...     return {"x": config["index"] * 10 + trial}
    >>> run_configurations(trial, [{"index": 0}, {"index": 1}], 2, seed=0, progress=False)
    [[{'x': 0}, {'x': 1}], [{'x': 10}, {'x': 11}]]
    """
    tasks = [Task(config, config["index"], t) for config in configs for t in range(trials)]
    done: dict[int, dict[int, dict[str, float]]] = {}

    def collect(position: int, result: dict[str, float]) -> None:
        which, trial = divmod(position, trials)
        finished = done.setdefault(which, {})
        finished[trial] = result
        if len(finished) == trials and on_configuration is not None:
            on_configuration(which, [finished[t] for t in range(trials)])

    results = run_trials(
        trial_function,
        tasks,
        seed=seed,
        device=device,
        scheduler=scheduler,
        progress=progress,
        description=description,
        on_result=collect if on_configuration is not None else None,
    )
    return [results[i * trials : (i + 1) * trials] for i in range(len(configs))]


def _client(scheduler: str) -> Any:
    """A Dask client of ``scheduler``; ValueError if Dask is missing or the scheduler does not
    answer (within Dask's connection timeout)."""
    try:
        from distributed import Client
    except ImportError as missing:
        raise ValueError(
            "--scheduler needs Dask's distributed scheduler: install quantmm[cluster]"
        ) from missing
    try:
        return Client(scheduler, set_as_default=False)
    except (OSError, TimeoutError) as error:
        message = " ".join(str(error).split()) or type(error).__name__
        raise ValueError(f"cannot reach the Dask scheduler {scheduler!r}: {message}") from None


def check_scheduler(scheduler: str, timeout: float | None = None) -> None:
    """ValueError (one line) if Dask is not installed, ``scheduler`` is not an address, or a
    ``tcp://`` scheduler does not answer within ``timeout`` seconds (default
    :data:`SCHEDULER_TIMEOUT`; a bare connection, opened and closed; other schemes, which need
    their own security settings or live in-process, are only parsed)."""
    import asyncio

    timeout = SCHEDULER_TIMEOUT if timeout is None else timeout

    try:
        from distributed.comm import connect, parse_address
        from distributed.comm.addressing import parse_host_port
        from distributed.comm.registry import get_backend
    except ImportError as missing:
        raise ValueError(
            "--scheduler needs Dask's distributed scheduler: install quantmm[cluster]"
        ) from missing

    async def probe() -> None:
        comm = await connect(scheduler, timeout=timeout)
        await comm.close()

    try:
        scheme, location = parse_address(scheduler)
        get_backend(scheme)  # ValueError for an unknown scheme
        if scheme == "tcp":
            parse_host_port(location)
            asyncio.run(probe())
    except (OSError, TimeoutError, ValueError, TypeError) as error:
        message = " ".join(str(error).split()) or type(error).__name__
        raise ValueError(f"cannot reach the Dask scheduler {scheduler!r}: {message}") from None


def _run_on_dask(
    trial_function, tasks, seed, device, scheduler, bar, report
) -> list[dict[str, float]]:
    from distributed import as_completed

    with _client(scheduler) as client:
        futures = [
            client.submit(_run_one, trial_function, task, seed, device, pure=False)
            for task in tasks
        ]
        positions = {future.key: position for position, future in enumerate(futures)}
        for future in as_completed(futures, loop=client.loop):
            bar.update(1)
            report(positions[future.key], future.result())
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
    """Write rows (dicts with the same keys, in order) as CSV; floats in full ``repr``. The
    file is written atomically: complete under its name, or not there at all."""
    if not rows:
        raise ValueError("write_csv needs at least one row")
    path = Path(path)
    fields = list(rows[0])
    with atomic_open(path, "w", newline="", encoding="utf-8") as handle:
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
