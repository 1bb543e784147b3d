"""A decoder or function target, run in its own sandboxed worker, as a plain callable.

:func:`~quantmm.conformance.harness.certify` judges closest-point decoders
(:func:`~quantmm.conformance.exactness.check_exactness`) and float64 functions
(:func:`~quantmm.conformance.numerical.check_numerical_agreement`) the way it judges kernels:
the target's code never runs in the harness's process, so it cannot patch the judge, the
reference or the certificate. :class:`SandboxedCall` is what those checks are handed instead of
the target itself: calling it sends the array (and any numbers after it) to a worker
(:mod:`quantmm.conformance.sandbox`, role "decoder" or "function") that imports the target and
calls ``target(x, *rest, **arguments)``, and returns the answer as a NumPy array. A target that
raises, crashes, hangs past the timeout, does not load or returns something that is not an
array makes the call raise :class:`SandboxedCallError`, which the checks report as a FAIL.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import wire
from .arrays import to_numpy
from .campaign import estimate_array
from .sandbox import Worker, WorkerDiedError
from .targets import KernelTarget

__all__ = ["ROLES", "SandboxedCall", "SandboxedCallError", "reproduction_source"]

ROLES = ("decoder", "function")


class SandboxedCallError(RuntimeError):
    """The target raised, crashed, timed out, did not load or returned no array."""


def reproduction_source(target: KernelTarget, variable: str) -> str:
    """Python lines that bind ``variable`` to the target as the checks call it: ``variable(x,
    *rest)`` is ``target(x, *rest, **arguments)``.

    >>> target = KernelTarget("E8", "quantmm.fast:closest_point", {"lattice": "E8"})
    >>> print(reproduction_source(target, "decoder"))
    import importlib
    _target = importlib.import_module('quantmm.fast').closest_point
    decoder = lambda x, *rest: _target(x, *rest, lattice='E8')
    """
    module, _, attribute = target.target.rpartition(":")
    if module.endswith(".py"):
        load = [
            "import importlib.util",
            f"_spec = importlib.util.spec_from_file_location('target_module', {module!r})",
            "_module = importlib.util.module_from_spec(_spec)",
            "_spec.loader.exec_module(_module)",
            f"_target = _module.{attribute}",
        ]
    else:
        load = ["import importlib", f"_target = importlib.import_module({module!r}).{attribute}"]
    keywords = "".join(f", {key}={value!r}" for key, value in target.arguments.items())
    return "\n".join([*load, f"{variable} = lambda x, *rest: _target(x, *rest{keywords})"])


class SandboxedCall:
    """``target`` (a function named by a :class:`~quantmm.conformance.targets.KernelTarget`)
    as a callable whose every call runs in one sandboxed worker, started at the first call.

    ``role``: "decoder" or "function" (what the worker is told it runs). ``device``: "cpu"
    (the target gets NumPy arrays) or "gpu" (CuPy). ``timeout``: seconds per call. Inputs may
    be NumPy or CuPy arrays; the answer is always a fresh NumPy array. After one call has
    crashed or timed out (the worker is then killed) or the target did not load, every later
    call raises the same :class:`SandboxedCallError`. Use it as a context manager, or call
    :meth:`close`, to end the worker.
    """

    def __init__(
        self,
        target: KernelTarget,
        role: str,
        *,
        device: str = "cpu",
        sandbox: str = "process",
        timeout: float = 60.0,
    ) -> None:
        if role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}, got {role!r}")
        self.target = target
        self.spec = {**target.spec, "role": role}
        self.device, self.sandbox, self.timeout = device, sandbox, timeout
        self.reproduction_source = reproduction_source(target, role)
        self.isolation: dict[str, Any] = {}
        self._worker: Worker | None = None
        self._failure: str | None = None
        self._calls = 0

    def _started(self) -> Worker:
        if self._worker is None:
            worker = Worker(self.spec, self.device, self.sandbox, timeout=self.timeout)
            if not worker.loaded.ok:
                tail = worker.log_tail().strip()
                self._failure = f"the target {self.target.target!r} did not load: " + (
                    worker.loaded.describe() + (f"; its output: {tail[-500:]}" if tail else "")
                )
                worker.close()
                raise SandboxedCallError(self._failure)
            self.isolation = worker.isolation
            self._worker = worker
        return self._worker

    def __call__(self, x: Any, *rest: Any) -> np.ndarray:
        if self._failure is not None:
            raise SandboxedCallError(self._failure)
        array = to_numpy(x)
        if not isinstance(array, np.ndarray):
            raise TypeError(f"a sandboxed call takes a NumPy or CuPy array, got {type(x).__name__}")
        worker = self._started()
        meta, data = wire.array_meta(array)
        header = {"op": "call", "x": meta, "rest": [float(r) for r in rest], "job": self._calls}
        self._calls += 1
        try:
            outcome = worker.call(header, [data])
        except WorkerDiedError as died:
            self._failure = died.outcome.describe()
            self.close()
            raise SandboxedCallError(self._failure) from None
        answer, problem = estimate_array(outcome)
        if problem is not None:
            raise SandboxedCallError(problem)
        return np.array(answer)

    def close(self) -> None:
        """End the worker (a later call starts none: it raises if the worker had failed)."""
        if self._worker is not None:
            self._worker.close()
            self._worker = None

    def __enter__(self) -> SandboxedCall:
        return self

    def __exit__(self, *exception: object) -> None:
        self.close()
