"""The harness: run every applicable check on every target and build the certificate.

:func:`certify` takes kernel targets (:class:`~quantmm.conformance.targets.KernelTarget`) and,
optionally, lattice decoders and float64 functions, runs the checks that apply to each, reports
progress, and returns a :class:`~quantmm.conformance.certificate.Certificate`.
:func:`builtin_targets` lists everything quantmm ships: the built-in kernels, the closest-point
decoders and the vectorized functions, on NumPy or CuPy.

Targets are only ever named here, never imported: every kernel, decoder and function call runs
in isolated worker processes (:mod:`quantmm.conformance.sandbox`,
:mod:`quantmm.conformance.campaign`, :mod:`quantmm.conformance.sandboxed_call`), and only their
answers, as bytes, come back to be judged.
A target that does not load, or lacks a method, is refused up front (:class:`TargetError`, one
line naming the exception and the file and line where it was raised). If the run is
interrupted (KeyboardInterrupt, or any error), every worker process is killed before the
exception leaves :func:`certify`, and no certificate is built.

Checks per kind of target:

- kernel: :data:`~quantmm.conformance.kernel_checks.KERNEL_CHECKS` (``protocol`` first; if it
  fails the others are not run);
- decoder: ``exactness:<lattice>`` (:mod:`quantmm.conformance.exactness`);
- function: ``numerical_agreement:<function>`` (:mod:`quantmm.conformance.numerical`).
"""

from __future__ import annotations

import functools
import hashlib
import math
import re
import secrets
import shlex
import sys
import sysconfig
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .arrays import check_array_library
from .campaign import Description, Observations, describe_target, observe
from .certificate import Certificate, TargetReport
from .inputs import Plan
from .inputs import plan as make_plan
from .kernel_checks import KERNEL_CHECKS, CheckContext
from .results import FAIL, SKIP, CheckResult, Failure
from .sandbox import _sandbox as choose_sandbox
from .sandbox import abandon_workers, worker_pool
from .sandbox import isolation as isolation_report
from .sandboxed_call import SandboxedCall, reproduction_source
from .targets import KernelTarget, TargetError

__all__ = ["DecoderTarget", "FunctionTarget", "builtin_targets", "certify"]

PROFILES = ("quick", "full")


@dataclass(frozen=True)
class DecoderTarget:
    """A closest-point decoder for ``lattice`` on arrays of ``dtype``, by name: ``target`` names
    a function called as ``decoder(x, **target.arguments)`` (``x`` an (N, d) array), which runs
    in a sandboxed worker like a kernel (:mod:`quantmm.conformance.sandboxed_call`). Make
    ``target`` with :func:`~quantmm.conformance.targets.as_target` or
    :func:`~quantmm.conformance.targets.load_target`."""

    name: str
    lattice: str
    target: KernelTarget
    dtype: Any

    @property
    def construction(self) -> str:
        """How the decoder is made, as the certificate records it."""
        return reproduction_source(self.target, "decoder")


@dataclass(frozen=True)
class FunctionTarget:
    """A vectorized float64 implementation of the reference function ``function`` ("gamma",
    "phi" or "optimal_density"), by name: ``target`` names a function called as
    ``implementation(points, *rest, **target.arguments)`` in a sandboxed worker."""

    name: str
    function: str
    target: KernelTarget

    @property
    def construction(self) -> str:
        """How the implementation is made, as the certificate records it."""
        return reproduction_source(self.target, "implementation")


def _nested(rate: float, lattice: str, scaling: str = "mmse") -> KernelTarget:
    arguments = {"rate": rate, "lattice": lattice, "scaling": scaling}
    return KernelTarget(
        f"NestedLatticeMatmul({rate!r}, {lattice!r}, scaling={scaling!r})",
        "quantmm.fast:NestedLatticeMatmul",
        arguments,
    )


def _scalar(levels: int, design: str, rho: float = 0.0) -> KernelTarget:
    return KernelTarget(
        f"ScalarMatmul({levels}, {design!r}, {rho!r})",
        "quantmm.fast:ScalarMatmul",
        {"levels": levels, "design": design, "rho": rho},
    )


def builtin_targets(
    device: str = "cpu",
) -> tuple[list[KernelTarget], list[DecoderTarget], list[FunctionTarget]]:
    """Every kernel, decoder and function quantmm ships, as certification targets (the harness
    runs each on ``device``)."""
    import numpy as np

    kernels = [
        _nested(math.log2(14) + 0.25, "E8"),
        _nested(math.log2(14) + 0.25, "E8", "unbiased"),
        _nested(3.0, "D4"),
        _nested(2.25, "Z"),
        _nested(2.25, "A2"),
        _nested(0.6, "E8"),  # time sharing below the minimum code rate
        _scalar(16, "lloyd_max"),
        _scalar(8, "opt", 0.5),
        _scalar(4, "uniform"),
    ]
    decoders = [
        DecoderTarget(
            f"closest_point({lattice}, {np.dtype(dtype).name})",
            lattice,
            KernelTarget(
                f"closest_point({lattice})", "quantmm.fast:closest_point", {"lattice": lattice}
            ),
            dtype,
        )
        for lattice in ("Z", "D4", "A2", "E8")
        for dtype in (np.float32, np.float64)
    ]
    functions = [
        FunctionTarget(f"quantmm.fast.{name}", name, KernelTarget(name, f"quantmm.fast:{name}"))
        for name in ("gamma", "phi", "optimal_density")
    ]
    return kernels, decoders, functions


def plan_record(plan: Plan) -> dict[str, Any]:
    """The drawn shapes and seeds of a run, as the certificate records them."""
    return {
        key: list(value) if isinstance(value, tuple) else value
        for key, value in asdict(plan).items()
    }


def _progress_to_stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


_FRAME = re.compile(r'^\s*File "([^"]+)", line (\d+)', re.MULTILINE)


def _raising_frame(target: KernelTarget, traceback: str) -> tuple[str, str] | None:
    """(file, line) where loading ``target`` raised: the deepest frame in the target's own file,
    else the deepest outside the worker, the import machinery and the installed packages."""
    frames = [f for f in _FRAME.findall(traceback) if not f[0].startswith("<")]
    frames = [f for f in frames if Path(f[0]).name != "worker.py"]
    module = target.target.rpartition(":")[0]
    own = [f for f in frames if module.endswith(".py") and f[0] == module]
    installed = tuple(
        sysconfig.get_paths()[key] for key in ("stdlib", "platstdlib", "purelib", "platlib")
    )
    outside = [f for f in frames if not f[0].startswith(installed)]
    chosen = own or outside or frames
    return chosen[-1] if chosen else None


def _load_failure(target: KernelTarget, failure: Any) -> str:
    """One line: why ``target`` did not load, with the file and line that raised."""
    message = " ".join(failure.describe().split())
    frame = _raising_frame(target, failure.header.get("traceback") or "")
    if frame is not None and Path(frame[0]).name not in message:
        message += f" (at {frame[0]}, line {frame[1]})"
    if failure.header.get("exception") == "ModuleNotFoundError":
        if not target.target.rpartition(":")[0].endswith(".py"):
            message += "; to certify a file, name it as path/to/file.py:Class"
        if target.python is None:
            message += (
                "; a kernel whose packages live in another environment runs there with "
                "--python PATH (python= in Python)"
            )
    return f"cannot load {target.name}: {message}"


def _declarations(target: KernelTarget, description: Description) -> dict[str, Any]:
    """The kernel's declarations, or a TargetError if it did not load or is not a kernel."""
    if description.failure is not None:
        raise TargetError(_load_failure(target, description.failure))
    outcome = description.outcome
    if outcome.ok and outcome.header.get("missing"):
        missing = ", ".join(outcome.header["missing"])
        raise TargetError(
            f"{target.name} is not a kernel: it lacks {missing} (a kernel needs encode_a, "
            "encode_b and estimate)"
        )
    if outcome.ok:
        return outcome.header
    if outcome.status == "raised":
        return {**outcome.header, "status": "raised"}
    return {"status": "raised", "exception": outcome.status, "message": outcome.describe()}


def _warm_compiled_kernels() -> None:
    """Compile quantmm.fast's numba kernels into their cache (or load them) before any worker
    starts: a sandboxed worker cannot write the cache, and compiling in every worker would take
    about a minute each. This is quantmm's own code, not a kernel's; when it fails the workers
    compile for themselves, which is slower but gives the same bits."""
    from quantmm.fast import compiled

    try:
        compiled.warm_up()
    except Exception:  # a broken numba install: the kernels then fall back or compile in place
        pass


def _describe_all(
    kernels: Sequence[KernelTarget], plan: Plan, options: dict[str, Any]
) -> list[tuple[dict[str, Any], Description]]:
    """(declarations, description) of every kernel, each built in a fresh process; a target
    that does not load or is not a kernel is a :class:`TargetError`, up front."""
    with worker_pool(max_workers=2) as pool:
        descriptions = list(pool.map(lambda t: describe_target(t.spec, plan, **options), kernels))
    try:
        return [
            (_declarations(target, description), description)
            for target, description in zip(kernels, descriptions, strict=True)
        ]
    except TargetError:
        for description in descriptions:
            if description.worker is not None:
                description.worker.close()
        raise


def _source_hashes(paths: Sequence[str]) -> dict[str, str]:
    """sha256 of each file (read here, in the harness, from the paths the worker named)."""
    hashes = {}
    for path in paths:
        try:
            hashes[path] = hashlib.sha256(Path(path).read_bytes()).hexdigest()
        except OSError:
            hashes[path] = "unreadable"
    return hashes


def _rerun(command: dict[str, Any] | None, profile: str, run_seed: int, device: str) -> str:
    if not command:
        return f"(run certify again with profile {profile!r} and seed {run_seed})"
    where = "--builtin" if command.get("builtin") else shlex.quote(command["target"])
    options = "".join(
        f" --{option} {shlex.quote(str(command[option]))}"
        for option in ("array", "python")
        if command.get(option)
    )
    settings = f"--profile {profile} --seed {run_seed} --device {device}"
    return f"quantmm certify {where} {settings}{options}"


def _array_library(declarations: dict[str, Any]) -> str:
    """The library the describe worker handed (would hand) the kernel its matrices in."""
    return (declarations.get("array_library") or {}).get("name") or "numpy"


def _judged(name: str, observed: Observations, context: CheckContext) -> CheckResult:
    """The check's result; if judging raised (a quantmm bug the kernel's output reached), a
    failure that says so, never a crash of the harness or a pass."""
    try:
        return KERNEL_CHECKS[name](observed, context)
    except Exception as error:
        text = f"{type(error).__name__}: {error}"
        failure = Failure(
            f"the harness could not judge this check ({text}); please report it to quantmm",
            context.run_seed,
            f"# re-run: {context.rerun}",
            {"rerun": context.rerun},
        )
        return CheckResult(name, FAIL, "could not be judged", {}, {}, failure)


@dataclass
class _Reports:
    reports: list[TargetReport]
    seconds: dict[str, float]
    checksum: str


def _decoder_and_function_reports(
    decoders: Sequence[DecoderTarget],
    functions: Sequence[FunctionTarget],
    profile: str,
    run_seed: int,
    options: dict[str, Any],
) -> _Reports:
    """The checks of the decoder and function targets, each run in its own sandboxed worker
    (:class:`~quantmm.conformance.sandboxed_call.SandboxedCall`) and judged here."""
    from .exactness import check_exactness
    from .numerical import check_numerical_agreement
    from .reference_data import load_reference_data

    device = options["device"]
    reports, seconds = [], {}
    for target in decoders:
        start = time.perf_counter()
        with SandboxedCall(target.target, "decoder", **options) as decoder:
            result = check_exactness(
                decoder,
                target.lattice,
                profile=profile,
                seed=run_seed,
                dtype=target.dtype,
                device=device,
            )
        seconds[target.name] = time.perf_counter() - start
        reports.append(TargetReport(target.name, "decoder", target.construction, [result]))
    backend = "cupy" if device == "gpu" else "numpy"
    data = load_reference_data()  # loaded and verified once; its checksum is always recorded
    for target in functions:
        start = time.perf_counter()
        with SandboxedCall(target.target, "function", **options) as implementation:
            result = check_numerical_agreement(
                target.function,
                implementation,
                backend=backend,
                profile=profile,
                seed=run_seed,
                data=data,
            )
        seconds[target.name] = time.perf_counter() - start
        reports.append(TargetReport(target.name, "function", target.construction, [result]))
    return _Reports(reports, seconds, data.checksum)


def _check_decoders_and_functions(
    decoders: Sequence[DecoderTarget], functions: Sequence[FunctionTarget]
) -> None:
    """Refuse, before anything runs, a decoder or function target that is not one."""
    from .exactness import EXACTNESS_LATTICES
    from .numerical import FUNCTIONS

    for kind, targets, field_name, known in (
        ("decoders", decoders, "lattice", EXACTNESS_LATTICES),
        ("functions", functions, "function", tuple(FUNCTIONS)),
    ):
        wanted = DecoderTarget if kind == "decoders" else FunctionTarget
        for index, target in enumerate(targets):
            if not isinstance(target, wanted):
                raise TypeError(
                    f"{kind}[{index}] must be a {wanted.__name__}, got {type(target).__name__}"
                )
            if not isinstance(target.target, KernelTarget):
                raise TypeError(
                    f"{kind}[{index}].target must be a KernelTarget (as_target or load_target: "
                    f"the code runs in a sandboxed worker), got {type(target.target).__name__}"
                )
            if getattr(target, field_name) not in known:
                raise ValueError(
                    f"{kind}[{index}].{field_name} must be one of {', '.join(known)}, "
                    f"got {getattr(target, field_name)!r}"
                )


def _abandoning_workers_on_error(
    function: Callable[..., Certificate],
) -> Callable[..., Certificate]:
    """Wrap :func:`certify`: if it raises (an interrupt, a crash), every kernel process is killed
    before the exception goes on, so none outlives the run."""

    @functools.wraps(function)
    def certify_or_abandon(*args: Any, **kwargs: Any) -> Certificate:
        try:
            return function(*args, **kwargs)
        except BaseException:
            abandon_workers()
            raise

    return certify_or_abandon


@_abandoning_workers_on_error
def certify(
    kernels: Sequence[KernelTarget] = (),
    decoders: Sequence[DecoderTarget] = (),
    functions: Sequence[FunctionTarget] = (),
    *,
    profile: str = "quick",
    seed: int | None = None,
    device: str = "cpu",
    checks: Sequence[str] | None = None,
    timeout: float = 60.0,
    isolation: str = "auto",
    progress: Callable[[str], None] | None = _progress_to_stderr,
    command: dict[str, Any] | None = None,
) -> Certificate:
    """Run the applicable checks on every target and return the certificate.

    ``seed``: the run seed (shapes, matrices and kernel seeds are drawn from it); None draws one
    at random, and the certificate records it. ``checks`` restricts the kernel checks by name
    (the verdict is then "partial" at best). ``timeout``: seconds each kernel call may take.
    ``isolation``: "auto" (namespaces where Linux allows them), "namespaces" (required) or
    "process". ``progress`` receives one line per check as it finishes (None for silence).
    ``command`` records how the run was asked for (the CLI sets it; ``quantmm verify`` re-runs
    it).
    """
    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {PROFILES}, got {profile!r}")
    if device not in ("cpu", "gpu"):
        raise ValueError(f"device must be 'cpu' or 'gpu', got {device!r}")
    if (
        isinstance(timeout, bool)
        or not isinstance(timeout, (int, float))
        or not (0 < timeout <= 86400)
    ):
        raise ValueError(f"timeout must be a number of seconds in (0, 86400], got {timeout!r}")
    _check_decoders_and_functions(decoders, functions)
    for kernel in kernels:
        check_array_library(kernel.array, device, argument=f"the array of {kernel.name}")
    selected = list(KERNEL_CHECKS) if checks is None else list(checks)
    selected = ["protocol", *(name for name in selected if name != "protocol")]
    unknown = [name for name in selected if name not in KERNEL_CHECKS]
    if unknown:
        raise ValueError(f"unknown checks {unknown}; choose from {list(KERNEL_CHECKS)}")
    drawn = seed is None
    run_seed = secrets.randbits(62) if drawn else seed
    plan = make_plan(profile, run_seed)
    sandbox = choose_sandbox(isolation)
    options = {"device": device, "sandbox": sandbox, "timeout": float(timeout)}
    say = progress or (lambda message: None)
    _warm_compiled_kernels()
    described = _describe_all(kernels, plan, options)
    total = len(kernels) * len(selected) + len(decoders) + len(functions)
    done = 0
    reports: list[TargetReport] = []
    isolation_record = isolation_report(isolation)

    def record(target_name: str, result: CheckResult, start: float) -> CheckResult:
        nonlocal done
        done += 1
        say(
            f"[{done}/{total}] {result.verdict.upper():4} {target_name} / {result.name} "
            f"({time.perf_counter() - start:.1f} s)"
        )
        return result

    rerun = _rerun(command, profile, run_seed, device)

    def observed_for(target: KernelTarget, declarations: dict[str, Any], worker):
        library = _array_library(declarations)
        context = CheckContext(
            target.name,
            target.target,
            dict(target.arguments),
            profile,
            run_seed,
            rerun,
            target.array or (library if library != "numpy" else None),
            target.python,
        )
        protocol = KERNEL_CHECKS["protocol"](Observations(plan, declarations), context)
        if not protocol.passed:
            if worker is not None:
                worker.close()
            return context, protocol, Observations(plan, declarations)
        # every later worker is handed the library the first one settled on, and refuses to
        # load a kernel that declares another
        spec = {**target.spec, "array": library}
        observed = observe(spec, plan, declarations, first_worker=worker, **options)
        return context, protocol, observed

    # Two kernels' processes at a time, and the decoders' and functions' workers from this thread
    # meanwhile, so both cores stay busy; the results are judged and reported in order. An
    # interrupt kills every worker before the pool waits for its threads (worker_pool).
    with worker_pool(max_workers=2) as pool:
        futures = [
            pool.submit(observed_for, target, declarations, description.worker)
            for target, (declarations, description) in zip(kernels, described, strict=True)
        ]
        others = _decoder_and_function_reports(decoders, functions, profile, run_seed, options)
        for target, (declarations, description), future in zip(
            kernels, described, futures, strict=True
        ):
            isolation_record["worker"] = description.isolation
            start = time.perf_counter()
            context, protocol, observed = future.result()
            results = []
            for name in selected:
                if name == "protocol":
                    result = protocol
                elif not protocol.passed:
                    result = CheckResult(name, SKIP, "not run: the protocol check failed", {}, {})
                else:
                    result = _judged(name, observed, context)
                results.append(record(target.name, result, start))
                start = time.perf_counter()
            sources = _source_hashes(declarations.get("source_files", []))
            reports.append(
                TargetReport(
                    target.name,
                    "kernel",
                    target.target,
                    results,
                    arguments=dict(target.arguments),
                    sources=sources,
                    array_library=declarations.get("array_library"),
                    interpreter=declarations.get("interpreter"),
                )
            )
    for report in others.reports:
        record(report.name, report.checks[0], time.perf_counter() - others.seconds[report.name])
    reports += others.reports
    return Certificate.build(
        profile,
        run_seed,
        device,
        reports,
        others.checksum,
        seed_drawn=drawn,
        timeout=float(timeout),
        isolation=isolation_record,
        plan=plan_record(plan),
        command=command,
        partial=checks is not None,
    )
