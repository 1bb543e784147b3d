"""What the harness certifies: a kernel *named* so that a fresh process can build it.

The harness never runs a kernel in its own process (:mod:`.sandbox`), so a target is a name, not
an object: ``"module:attribute"`` or ``"path/to/file.py:attribute"``, plus keyword
``arguments``. The attribute is either a kernel object or a factory (a class or function) that
the worker calls as ``factory(**arguments, seed=..., device=...)`` (``seed`` and ``device``
only where its signature takes them). For a ``.py`` path the file's folder goes on the worker's
``sys.path``, as ``python file.py`` does; for a module name the harness's working directory
does, as ``python -m`` does.

:func:`as_target` turns a class, function or module-level kernel object into such a name (for
the Python API and the pytest fixture). :func:`encode_in_fresh_process` and
:func:`estimate_in_fresh_process` run one call as the harness does (the reproductions that
failing checks print use them); :func:`load_kernel` builds the kernel in *this* process, for
debugging.

>>> target = load_target("quantmm.fast:ScalarMatmul", arguments={"levels": 4, "design": "uniform"})
>>> target.spec["target"], target.spec["arguments"]
('quantmm.fast:ScalarMatmul', {'levels': 4, 'design': 'uniform'})
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .arrays import check_known_library

__all__ = [
    "KernelCallError",
    "KernelTarget",
    "TargetError",
    "as_target",
    "encode_in_fresh_process",
    "estimate_in_fresh_process",
    "load_kernel",
    "load_target",
]


class TargetError(ValueError):
    """The target cannot be certified at all: it does not load, or is not a kernel."""


class KernelCallError(RuntimeError):
    """A kernel call run in a fresh process failed (raised, crashed or timed out)."""


@dataclass(frozen=True)
class KernelTarget:
    """A kernel by name: ``target`` ("module:attribute" or "file.py:attribute"), keyword
    ``arguments`` for a factory, extra ``path`` entries for the worker's ``sys.path``, the
    ``name`` the report uses, the ``array`` library its matrices are handed in (None: the
    one the kernel declares, else NumPy; :mod:`.arrays`), and the ``python`` interpreter its
    worker processes run (None: this one), for a kernel whose environment is not quantmm's."""

    name: str
    target: str
    arguments: dict[str, Any] = field(default_factory=dict)
    path: tuple[str, ...] = ()
    array: str | None = None
    python: str | None = None

    @property
    def spec(self) -> dict[str, Any]:
        """What a worker receives to build the kernel (JSON)."""
        return {
            "target": self.target,
            "arguments": dict(self.arguments),
            "path": list(self.path),
            "array": self.array,
            "python": self.python,
        }


def _validated(
    target: str, arguments: dict[str, Any] | None, array: str | None = None
) -> tuple[str, dict[str, Any]]:
    if array is not None:
        check_known_library(array, "array", TargetError)
    module, separator, attribute = target.rpartition(":")
    if not separator or not module or not attribute:
        raise TargetError(
            f"a target must look like 'module:attribute' or 'path/to/file.py:attribute', "
            f"got {target!r}"
        )
    if module.endswith(".py"):
        if not Path(module).is_file():
            raise TargetError(f"target file {module!r} does not exist")
        target = f"{Path(module).resolve()}:{attribute}"
    arguments = dict(arguments or {})
    try:
        json.dumps(arguments, allow_nan=False)
    except (TypeError, ValueError) as error:
        message = f"arguments must be JSON values (numbers, strings, lists): {error}"
        raise TargetError(message) from None
    return target, arguments


def load_target(
    target: str,
    *,
    arguments: dict[str, Any] | None = None,
    name: str | None = None,
    array: str | None = None,
    python: str | None = None,
) -> KernelTarget:
    """A :class:`KernelTarget` for ``"module:attribute"`` or ``"path/file.py:attribute"``
    (nothing is imported here; a worker imports it); ``array``: the library the kernel is handed
    its matrices in (None: as it declares); ``python``: the interpreter of the kernel's own
    environment, which needs only NumPy besides the kernel's packages (None: this one)."""
    resolved, arguments = _validated(target, arguments, array)
    label = name or (target if not arguments else f"{target} {json.dumps(arguments)}")
    # a module name is looked up from the working directory too, as `python -m` does
    path = () if resolved.rpartition(":")[0].endswith(".py") else (os.getcwd(),)
    return KernelTarget(label, resolved, arguments, path, array, _interpreter(python))


def _interpreter(python: str | None) -> str | None:
    """``python`` as an absolute path to an executable file (TargetError if it is not one)."""
    if python is None:
        return None
    found = shutil.which(python)
    if found is None or not os.path.isfile(found):
        raise TargetError(f"python {python!r} is not an executable file")
    return os.path.abspath(found)


def as_target(
    value: Any,
    *,
    arguments: dict[str, Any] | None = None,
    name: str | None = None,
    array: str | None = None,
    python: str | None = None,
) -> KernelTarget:
    """A target for a class, a function or a module-level kernel object (or a target string)."""
    if isinstance(value, KernelTarget):
        return value
    if isinstance(value, str):
        return load_target(value, arguments=arguments, name=name, array=array, python=python)
    module_name = getattr(value, "__module__", None)
    qualname = getattr(value, "__qualname__", None)
    if not (isinstance(value, type) or callable(value)):  # a kernel object: find its name
        module_name = type(value).__module__
        module = sys.modules.get(module_name)
        found = [key for key, item in vars(module).items() if item is value] if module else []
        qualname = found[0] if found else None
    module = sys.modules.get(module_name or "")
    if module is None or not qualname or "<" in qualname:
        raise TypeError(
            f"{value!r} cannot be re-created in a fresh process: the harness needs a module-level "
            "class, function or kernel object (not a lambda, closure or local object), or a "
            "target string 'module:attribute' or 'path/to/file.py:attribute'"
        )
    if module_name == "__main__":
        if not getattr(module, "__file__", None):
            raise TypeError(f"{value!r} is defined in an interactive session; put it in a file")
        where = f"{module.__file__}:{qualname}"
    else:
        where = f"{module_name}:{qualname}"
    target = load_target(where, arguments=arguments, name=name, array=array, python=python)
    # the worker finds the module as this process did: the same search path
    path = tuple(entry for entry in sys.path if entry) + target.path
    return KernelTarget(
        name or qualname, target.target, target.arguments, path, array, target.python
    )


def load_kernel(
    target: str, *, seed: int = 0, device: str = "cpu", arguments: dict[str, Any] | None = None
) -> Any:
    """Build the kernel ``target`` names, with ``seed``, in *this* process (for debugging; the
    harness itself never does this). It takes its matrices in the library it declares
    (``array_library``); :func:`quantmm.conformance.arrays.to_library` makes them."""
    from . import worker

    resolved, arguments = _validated(target, arguments)
    value = worker._load({"target": resolved, "path": [os.getcwd()]})
    return worker.Kernels(value, arguments, device).get(seed)


def _one_call(
    target: dict[str, Any],
    header: dict[str, Any],
    blobs: list[bytes],
    *,
    device: str,
    hash_seed: int,
    timeout: float,
    before: list = (),
):
    from .sandbox import isolation, run_calls

    chosen = load_target(
        target["target"],
        arguments=target.get("arguments"),
        array=target.get("array"),
        python=target.get("python"),
    )
    result = run_calls(
        chosen.spec,
        [*before, (header, blobs)],
        device=device,
        sandbox=isolation()["sandbox"],
        timeout=timeout,
        hash_seed=hash_seed,
    )
    if result.load_failure is not None:
        raise KernelCallError(f"the kernel could not be loaded: {result.load_failure.describe()}")
    outcome = result.outcomes[-1]
    if not outcome.ok:
        raise KernelCallError(f"{header['op']} {outcome.describe()}")
    return outcome


def encode_in_fresh_process(
    target: dict[str, Any],
    side: str,
    matrix: Any,
    *,
    seed: int,
    layout: str = "C",
    device: str = "cpu",
    hash_seed: int = 0,
    timeout: float = 60.0,
    after: list | None = None,
) -> bytes:
    """``encode_a`` (``side="a"``) or ``encode_b`` of ``matrix`` in a fresh isolated process, as
    the harness runs it; ``target`` is ``{"target": ..., "arguments": ...}``; ``after``: matrices
    the same process encodes first (with the same seed), as the harness's workers do; a
    ``target["array"]`` library is handed the matrices as the harness hands them. Raises
    :class:`KernelCallError` if the call fails, TypeError if the payload is not exactly bytes."""
    from .campaign import _matrix_call

    if side not in ("a", "b"):
        raise ValueError(f"side must be 'a' or 'b', got {side!r}")
    header, blobs = _matrix_call(f"encode_{side}", seed, matrix, layout)
    before = [_matrix_call(f"encode_{side}", seed, other) for other in after or []]
    outcome = _one_call(
        target, header, blobs, device=device, hash_seed=hash_seed, timeout=timeout, before=before
    )
    if outcome.header.get("type") != "bytes":
        raise TypeError(f"encode_{side} returned {outcome.header.get('type')}, not bytes")
    return outcome.blobs[0]


def estimate_in_fresh_process(
    target: dict[str, Any],
    payload_a: bytes,
    payload_b: bytes,
    *,
    seed: int,
    device: str = "cpu",
    hash_seed: int = 0,
    timeout: float = 60.0,
) -> Any:
    """``estimate`` in a fresh isolated process that receives only the two payloads; returns
    the estimate as a NumPy array (TypeError if the kernel returned something else)."""
    from .campaign import estimate_array

    outcome = _one_call(
        target,
        {"op": "estimate", "seed": seed},
        [payload_a, payload_b],
        device=device,
        hash_seed=hash_seed,
        timeout=timeout,
    )
    array, problem = estimate_array(outcome)
    if problem:
        raise TypeError(f"estimate {problem}")
    return array
