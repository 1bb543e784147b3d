"""What the harness certifies: kernels, given as objects or factories, and how to load them.

A *kernel* implements :class:`quantmm.protocol.MatmulQuantizer`. The harness needs fresh copies
of it (a fresh decoder proves that decoding uses the bytes alone, and two fresh encoders with one
seed prove determinism), so it works with a *factory*: a callable ``factory(seed=..., device=...)``
returning a kernel (``device`` may be omitted from the signature; then only "cpu" is possible). A
kernel object given directly is turned into a factory that deep-copies the object as it was when
loaded (its own seed is used; the harness's seed then only drives the test matrices).

``quantmm certify module:attribute`` loads ``attribute`` from ``module`` with :func:`load_target`;
``module`` may also be a path to a ``.py`` file.

>>> from quantmm.fast import ScalarMatmul
>>> factory = as_factory(ScalarMatmul(4, "lloyd_max"))
>>> factory(seed=0, device="cpu").levels
4
"""

from __future__ import annotations

import copy
import importlib
import importlib.util
import inspect
import sys
import types
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from quantmm.protocol import MatmulQuantizer

__all__ = ["Factory", "KernelTarget", "as_factory", "load_target"]

Factory = Callable[..., Any]


@dataclass(frozen=True)
class KernelTarget:
    """A named kernel factory; ``construction`` is Python text that defines ``factory`` (used in
    the reproductions a failing check prints)."""

    name: str
    factory: Factory
    construction: str


def _accepts_device(function: Callable[..., Any]) -> bool:
    try:
        parameters = inspect.signature(function).parameters
    except (TypeError, ValueError):
        return True
    return "device" in parameters or any(
        p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()
    )


def _modules_inside(value: Any, memo: dict[int, Any], depth: int = 0) -> dict[int, Any]:
    """A deepcopy memo that keeps every module reachable from ``value`` as itself (modules,
    such as a kernel's array module, cannot be copied)."""
    if depth > 6 or id(value) in memo:
        return memo
    if isinstance(value, types.ModuleType):
        memo[id(value)] = value
    elif isinstance(value, dict):
        for item in value.values():
            _modules_inside(item, memo, depth + 1)
    elif isinstance(value, (list, tuple, set)):
        for item in value:
            _modules_inside(item, memo, depth + 1)
    elif hasattr(value, "__dict__") and not isinstance(value, type):
        _modules_inside(vars(value), memo, depth + 1)
    return memo


def _copy(value: Any) -> Any:
    return copy.deepcopy(value, _modules_inside(value, {}))


def as_factory(target: Any) -> Factory:
    """A factory ``f(seed=..., device=...)`` for a kernel object or a kernel factory."""
    if isinstance(target, MatmulQuantizer) and not isinstance(target, type):
        pristine = _copy(target)

        def copies(seed: int = 0, device: str = "cpu") -> Any:
            own = getattr(pristine, "device", "cpu")
            if device != own:
                raise ValueError(
                    f"this kernel object runs on {own!r}; pass a factory for {device!r}"
                )
            return _copy(pristine)

        copies.seeded = False  # every copy carries the object's own seed
        return copies
    if callable(target):
        takes_device = _accepts_device(target)

        def built(seed: int = 0, device: str = "cpu") -> Any:
            if takes_device:
                kernel = target(seed=seed, device=device)
            elif device != "cpu":
                raise ValueError("this factory takes no device argument; it can only run on 'cpu'")
            else:
                kernel = target(seed=seed)
            if not isinstance(kernel, MatmulQuantizer):
                raise TypeError(
                    f"the factory returned {type(kernel).__name__}, which lacks encode_a, "
                    "encode_b or estimate"
                )
            return kernel

        return built
    raise TypeError(
        f"a target must be a kernel (encode_a, encode_b, estimate) or a factory returning one, "
        f"got {type(target).__name__}"
    )


def load_target(spec: str) -> KernelTarget:
    """Load ``module:attribute`` (``module`` a dotted name or a path to a .py file)."""
    module_name, separator, attribute = spec.partition(":")
    if not separator or not module_name or not attribute:
        raise ValueError(f"target must look like 'module:attribute', got {spec!r}")
    if module_name.endswith(".py"):
        path = Path(module_name)
        if not path.is_file():
            raise ValueError(f"target file {module_name!r} does not exist")
        module_spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(module_spec)
        sys.modules.setdefault(path.stem, module)
        module_spec.loader.exec_module(module)
    else:
        try:
            module = importlib.import_module(module_name)
        except ImportError as error:
            raise ValueError(f"cannot import module {module_name!r}: {error}") from None
    try:
        value = module
        for part in attribute.split("."):
            value = getattr(value, part)
    except AttributeError:
        raise ValueError(f"module {module_name!r} has no attribute {attribute!r}") from None
    construction = (
        f"from quantmm.conformance import load_target\nfactory = load_target({spec!r}).factory"
    )
    return KernelTarget(spec, as_factory(value), construction)
