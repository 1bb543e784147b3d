"""The harness: run every applicable check on every target and build the certificate (issue #5).

:func:`certify` takes kernel targets (:class:`~quantmm.conformance.targets.KernelTarget`) and,
optionally, lattice decoders and float64 functions, runs the checks that apply to each, reports
progress, and returns a :class:`~quantmm.conformance.certificate.Certificate`.
:func:`builtin_targets` lists everything quantmm ships: the built-in kernels, the closest-point
decoders and the vectorized functions, on NumPy or CuPy.

Checks per kind of target:

- kernel: ``rate_honesty``, ``determinism``, ``robustness``, ``converse``,
  ``claimed_guarantees`` (:mod:`quantmm.conformance.kernel_checks`);
- decoder: ``exactness:<lattice>`` (:mod:`quantmm.conformance.exactness`);
- function: ``numerical_agreement:<function>`` (:mod:`quantmm.conformance.numerical`).
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .certificate import Certificate, TargetReport
from .kernel_checks import KERNEL_CHECKS
from .results import CheckResult
from .targets import KernelTarget

__all__ = ["DecoderTarget", "FunctionTarget", "builtin_targets", "certify"]

PROFILES = ("quick", "full")


@dataclass(frozen=True)
class DecoderTarget:
    """A closest-point decoder ``decoder(x)`` for ``lattice`` on arrays of ``dtype``."""

    name: str
    lattice: str
    decoder: Callable[[Any], Any]
    dtype: Any
    construction: str


@dataclass(frozen=True)
class FunctionTarget:
    """A vectorized float64 implementation of the reference function ``function``."""

    name: str
    function: str
    implementation: Callable[..., Any]
    construction: str


def _nested(rate: float, lattice: str, scaling: str = "mmse") -> KernelTarget:
    from quantmm.fast import NestedLatticeMatmul

    def factory(seed: int = 0, device: str = "cpu") -> NestedLatticeMatmul:
        return NestedLatticeMatmul(rate, lattice, scaling=scaling, seed=seed, device=device)

    arguments = f"{rate!r}, {lattice!r}, scaling={scaling!r}"
    return KernelTarget(
        f"NestedLatticeMatmul({arguments})",
        factory,
        "from quantmm.fast import NestedLatticeMatmul\n"
        f"factory = lambda seed, device='cpu': NestedLatticeMatmul({arguments}, seed=seed, "
        "device=device)",
    )


def _scalar(levels: int, design: str, rho: float = 0.0) -> KernelTarget:
    from quantmm.fast import ScalarMatmul

    def factory(seed: int = 0, device: str = "cpu") -> ScalarMatmul:
        return ScalarMatmul(levels, design, rho, device=device)

    arguments = f"{levels}, {design!r}, {rho!r}"
    return KernelTarget(
        f"ScalarMatmul({arguments})",
        factory,
        "from quantmm.fast import ScalarMatmul\n"
        f"factory = lambda seed, device='cpu': ScalarMatmul({arguments}, device=device)",
    )


def _on_device(function: Callable[..., Any], device: str) -> Callable[..., Any]:
    """``function`` taking and returning NumPy arrays, run on CuPy when ``device`` is "gpu"."""
    if device == "cpu":
        return function
    import cupy

    def on_gpu(x: Any, *rest: Any) -> Any:
        return cupy.asnumpy(function(cupy.asarray(x), *rest))

    return on_gpu


def builtin_targets(
    device: str = "cpu",
) -> tuple[list[KernelTarget], list[DecoderTarget], list[FunctionTarget]]:
    """Every kernel, decoder and function quantmm ships, as certification targets (decoders run
    on ``device``; kernels and functions are given the device by the harness)."""
    import numpy as np

    from quantmm import fast

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
    decoders = []
    for lattice in ("Z", "D4", "A2", "E8"):
        for dtype in (np.float32, np.float64):
            decoders.append(
                DecoderTarget(
                    f"closest_point({lattice}, {np.dtype(dtype).name})",
                    lattice,
                    _on_device(lambda x, lattice=lattice: fast.closest_point(x, lattice), device),
                    dtype,
                    f"from quantmm.fast import closest_point\n"
                    f"decoder = lambda x: closest_point(x, {lattice!r})",
                )
            )
    functions = [
        FunctionTarget(
            f"quantmm.fast.{name}", name, getattr(fast, name), f"from quantmm.fast import {name}"
        )
        for name in ("gamma", "phi", "optimal_density")
    ]
    return kernels, decoders, functions


def _progress_to_stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def certify(
    kernels: Sequence[KernelTarget] = (),
    decoders: Sequence[DecoderTarget] = (),
    functions: Sequence[FunctionTarget] = (),
    *,
    profile: str = "quick",
    seed: int = 0,
    device: str = "cpu",
    checks: Sequence[str] | None = None,
    progress: Callable[[str], None] | None = _progress_to_stderr,
) -> Certificate:
    """Run the applicable checks on every target; ``checks`` restricts the kernel checks by name.

    ``progress`` receives one line per check as it finishes (default: standard error; ``None``
    for silence).
    """
    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {PROFILES}, got {profile!r}")
    if device not in ("cpu", "gpu"):
        raise ValueError(f"device must be 'cpu' or 'gpu', got {device!r}")
    selected = list(KERNEL_CHECKS) if checks is None else list(checks)
    unknown = [name for name in selected if name not in KERNEL_CHECKS]
    if unknown:
        raise ValueError(f"unknown checks {unknown}; choose from {list(KERNEL_CHECKS)}")
    say = progress or (lambda message: None)
    total = len(kernels) * len(selected) + len(decoders) + len(functions)
    done = 0
    reports: list[TargetReport] = []

    def run(target_name: str, run_check: Callable[[], CheckResult]) -> CheckResult:
        nonlocal done
        start = time.perf_counter()
        result = run_check()
        done += 1
        say(
            f"[{done}/{total}] {result.verdict.upper():4} {target_name} / {result.name} "
            f"({time.perf_counter() - start:.1f} s)"
        )
        return result

    for target in kernels:
        results = [
            run(
                target.name,
                lambda check=KERNEL_CHECKS[name], target=target: check(
                    target, profile=profile, seed=seed, device=device
                ),
            )
            for name in selected
        ]
        reports.append(TargetReport(target.name, "kernel", target.construction, results))
    if decoders:
        from .exactness import check_exactness
    for target in decoders:
        result = run(
            target.name,
            lambda target=target: check_exactness(
                target.decoder, target.lattice, profile=profile, seed=seed, dtype=target.dtype
            ),
        )
        reports.append(TargetReport(target.name, "decoder", target.construction, [result]))
    backend = "cupy" if device == "gpu" else "numpy"
    data = None
    if functions:
        from .numerical import check_numerical_agreement
        from .reference_data import load_reference_data

        data = load_reference_data()  # loaded and verified once, used by every function check
    for target in functions:
        result = run(
            target.name,
            lambda target=target: check_numerical_agreement(
                target.function,
                target.implementation,
                backend=backend,
                profile=profile,
                seed=seed,
                data=data,
            ),
        )
        reports.append(TargetReport(target.name, "function", target.construction, [result]))
    checksum = None if data is None else data.checksum
    return Certificate.build(profile, seed, device, reports, checksum)
