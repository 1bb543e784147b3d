"""Every call the kernel checks need, run once per kernel in isolated workers (theory.md §1).

:func:`observe` sends each kind of call to its own fresh processes (:mod:`.sandbox`): one for
``encode_a`` (it sees only A matrices), one for ``encode_b`` (only B matrices), one for
``estimate`` (only the two byte strings), one for a declared ``guarantee(A, B)``; and, for the
determinism check, a second ``encode_a``, ``encode_b`` and ``estimate`` process with another
``PYTHONHASHSEED`` that repeats a subset of the calls in the reverse order. The checks of
:mod:`.kernel_checks` then judge the recorded :class:`Observations`; none of them calls kernel
code.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import wire
from .inputs import BAD_INPUTS, EDGE_FAMILIES, RATE_FAMILIES, Plan
from .sandbox import Outcome, Worker, WorkerDiedError, run_calls

__all__ = [
    "Description",
    "Observations",
    "describe_target",
    "estimate_array",
    "hash_seeds",
    "observe",
]

Key = tuple


@dataclass
class Observations:
    """What one kernel did with the inputs of ``plan``; keys name the inputs:
    ``("rate", family)``, ``("converse", trial)``, ``("edge", family)``, ``("bad", label)``,
    ``("mismatch",)``, ``("guarantee", pair, repeat)``."""

    plan: Plan
    declarations: dict[str, Any]
    matrices: dict[Key, tuple[Any, Any]] = field(default_factory=dict)
    encodes: dict[tuple[str, Key], Outcome] = field(default_factory=dict)
    estimates: dict[Key, Outcome] = field(default_factory=dict)
    replica_encodes: dict[tuple[str, Key], Outcome] = field(default_factory=dict)
    replica_estimates: dict[Key, Outcome] = field(default_factory=dict)
    bounds: dict[int, Outcome] = field(default_factory=dict)
    isolation: dict[str, Any] = field(default_factory=dict)
    hung: bool = False
    derived: dict[str, Any] = field(default_factory=dict)  # figures the checks share


def _matrix_call(op: str, seed: int, matrix: np.ndarray, layout: str = "C"):
    meta, data = wire.array_meta(matrix.T if layout == "F" else matrix)
    meta["shape"] = list(matrix.shape)
    return {"op": op, "seed": int(seed), "matrix": meta, "layout": layout}, [data]


def hash_seeds(plan: Plan) -> tuple[int, int]:
    """The PYTHONHASHSEED of the first and of the repeating (determinism) workers."""
    return plan.kernel_seed % 4_000_000_000, (plan.kernel_seed + 1) % 4_000_000_000


@dataclass
class Description:
    """The describe call: ``failure`` (the target did not load) or ``outcome``; ``worker`` is
    the still running process, which goes on to be the kernel's first ``encode_a`` worker (it has
    seen no matrix yet), or None."""

    failure: Outcome | None
    outcome: Outcome | None
    isolation: dict[str, Any]
    worker: Worker | None


def describe_target(
    spec: dict[str, Any], plan: Plan, *, device: str, sandbox: str, timeout: float
) -> Description:
    """Load the target in a fresh worker and ask for its declarations."""
    worker = Worker(spec, device, sandbox, hash_seed=hash_seeds(plan)[0], timeout=timeout)
    if not worker.loaded.ok:
        worker.close()
        return Description(worker.loaded, None, worker.isolation, None)
    try:
        outcome = worker.call({"op": "describe", "seed": plan.kernel_seed, "job": -1}, [])
    except WorkerDiedError as died:
        worker.close()
        return Description(None, died.outcome, worker.isolation, None)
    return Description(None, outcome, worker.isolation, worker)


def estimate_array(outcome: Outcome) -> tuple[np.ndarray | None, str | None]:
    """(the estimate as a float64-readable array, or None and what is wrong with it)."""
    if not outcome.ok:
        return None, outcome.describe()
    header = outcome.header
    if header.get("array") is None:
        kind = header.get("type", "?")
        dtype = header.get("dtype")
        return None, f"returned {kind}{f' of dtype {dtype}' if dtype else ''}, not an array"
    try:
        array = wire.array_from(header["array"], outcome.blobs[0])
    except (wire.FrameError, IndexError) as error:
        return None, f"returned an array that could not be read ({error})"
    return array, None


def observe(
    spec: dict[str, Any],
    plan: Plan,
    declarations: dict[str, Any],
    *,
    device: str,
    sandbox: str,
    timeout: float,
    first_worker: Worker | None = None,
) -> Observations:
    """Run every call of the plan (module docstring) and record the outcomes; ``first_worker``
    (from :func:`describe_target`) becomes the first ``encode_a`` process."""
    found = Observations(plan, declarations)
    seed = plan.kernel_seed
    pairs: list[tuple[Key, Any, Any, str, int]] = []  # key, A, B, layout, kernel seed
    for family in RATE_FAMILIES:
        pairs.append((("rate", family), *plan.rate_pair(family), "C", seed))
    for trial in range(plan.trials):
        pairs.append((("converse", trial), *plan.converse_pair(trial), "C", seed))
    for family in EDGE_FAMILIES:
        pairs.append(
            (("edge", family), *plan.edge_pair(family), plan.layout(family), plan.edge_seed(family))
        )
    pairs.append((("mismatch",), *plan.mismatched_pair(), "C", seed))
    guaranteed = declarations.get("guarantee") or (declarations.get("unbiased") or {}).get("truth")
    repeats = 0
    guarantee_pairs = plan.guarantee_pair_list() if guaranteed else []
    if guaranteed:
        seeded = declarations.get("takes_seed") and not declarations.get("is_object")
        repeats = plan.guarantee_seeds if seeded else 1
        for index, (A, B) in enumerate(guarantee_pairs):
            for repeat in range(repeats):
                kernel_seed = plan.guarantee_seed(repeat) if seeded else seed
                pairs.append((("guarantee", index, repeat), A, B, "C", kernel_seed))
    for key, A, B, _, _ in pairs:
        found.matrices[key] = (A, B)
    calls: dict[str, list] = {"a": [], "b": []}
    keys: dict[str, list] = {"a": [], "b": []}
    for key, A, B, layout, kernel_seed in pairs:
        for side, matrix in (("a", A), ("b", B)):
            calls[side].append(_matrix_call(f"encode_{side}", kernel_seed, matrix, layout))
            keys[side].append((key, kernel_seed))
    for label in BAD_INPUTS:
        bad = plan.bad_input(label)
        for side in ("a", "b"):
            calls[side].append(_matrix_call(f"encode_{side}", seed, bad))
            keys[side].append((("bad", label), seed))
    replicated = {
        ("rate", "gaussian"),
        ("converse", 0),
        ("converse", plan.trials - 1),
        ("edge", "n=7"),
        ("edge", "float32"),
        ("guarantee", 0, 0),
    }
    options = {"device": device, "sandbox": sandbox, "timeout": timeout}
    seeds_of_hash = hash_seeds(plan)

    def encode(side: str, replica: bool):
        chosen = [i for i, (key, _) in enumerate(keys[side]) if not replica or key in replicated]
        if replica:
            chosen.reverse()
        worker = first_worker if (side, replica) == ("a", False) else None
        result = run_calls(
            spec,
            [calls[side][i] for i in chosen],
            hash_seed=seeds_of_hash[replica],
            worker=worker,
            **options,
        )
        return side, replica, [keys[side][i][0] for i in chosen], result

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(
            pool.map(
                lambda job: encode(*job), [("a", False), ("b", False), ("a", True), ("b", True)]
            )
        )
    for side, replica, chosen, result in results:
        target = found.replica_encodes if replica else found.encodes
        for key, outcome in zip(chosen, _padded(result, len(chosen)), strict=True):
            target[(side, key)] = outcome
        found.isolation = found.isolation or result.isolation
        found.hung |= result.hung
    estimate_calls, estimate_keys = [], []
    for key, _, _, _, kernel_seed in pairs:
        first, second = found.encodes[("a", key)], found.encodes[("b", key)]
        if first.ok and second.ok and first.blobs and second.blobs:
            estimate_calls.append(
                ({"op": "estimate", "seed": kernel_seed}, [first.blobs[0], second.blobs[0]])
            )
            estimate_keys.append(key)
    jobs = [("estimate", False), ("estimate", True)]
    if declarations.get("guarantee"):
        jobs.append(("guarantee", False))

    def second_stage(job):
        kind, replica = job
        if found.hung:
            return kind, replica, [], None
        if kind == "guarantee":
            bound_calls = []
            for A, B in guarantee_pairs:
                (meta_a, data_a), (meta_b, data_b) = wire.array_meta(A), wire.array_meta(B)
                bound_calls.append(
                    ({"op": "guarantee", "seed": seed, "a": meta_a, "b": meta_b}, [data_a, data_b])
                )
            return (
                kind,
                replica,
                list(range(len(bound_calls))),
                run_calls(spec, bound_calls, hash_seed=seeds_of_hash[0], **options),
            )
        chosen = [i for i, key in enumerate(estimate_keys) if not replica or key in replicated]
        if replica:
            chosen.reverse()
        result = run_calls(
            spec, [estimate_calls[i] for i in chosen], hash_seed=seeds_of_hash[replica], **options
        )
        return kind, replica, [estimate_keys[i] for i in chosen], result

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(second_stage, jobs))
    for kind, replica, chosen, result in results:
        if result is None:
            continue
        target = (
            found.bounds
            if kind == "guarantee"
            else (found.replica_estimates if replica else found.estimates)
        )
        for key, outcome in zip(chosen, _padded(result, len(chosen)), strict=True):
            target[key] = outcome
        found.hung |= result.hung
    return found


def _padded(result, count: int) -> list[Outcome]:
    """The outcomes of a role, one per call (a worker that failed to load fails every call)."""
    if result.load_failure is not None:
        detail = f"the fresh process could not build the kernel: {result.load_failure.describe()}"
        return [Outcome("not_run", detail=detail) for _ in range(count)]
    return result.outcomes + [
        Outcome("not_run", detail="not run") for _ in range(count - len(result.outcomes))
    ]
