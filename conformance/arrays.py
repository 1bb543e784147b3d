"""The array library a kernel takes its matrices in, and the harness's conversions to and from it.

The harness draws every input as a NumPy array. A kernel written for another library says so,
with an attribute ``array_library = "torch"`` (or ``"jax"``, ``"cupy"``, ``"numpy"``) on the
kernel object, or the caller asks for one (``quantmm certify --array torch``, the fixture's
``array=``). The worker process then hands the kernel each matrix as that library's array: a
fresh copy with the same dtype, shape and values, and the same memory layout where the library
has strides (a Fortran-order matrix stays Fortran order and a strided view stays a strided view
in PyTorch; JAX has no strides). An estimate is brought back to NumPy through the library's own
transfer (``.get()`` for CuPy, ``.detach().cpu().numpy()`` for PyTorch, DLPack otherwise).

All of this happens in the worker, outside the kernel's calls: the payload is still exactly the
bytes the kernel returned, so nothing of the conversion is counted in its rate, and the mutation
check fingerprints the array the kernel was given. With JAX the worker turns on
``jax_enable_x64`` before converting, or JAX would silently round float64 input to float32.

Only the standard library is imported at load time: the worker loads this file before it enters
its sandbox, and imports the chosen library only when it first converts.

>>> resolve(None, None), resolve("torch", None), resolve(None, "jax")
('numpy', 'torch', 'jax')
>>> resolve("numpy", "torch")
Traceback (most recent call last):
...
ValueError: the kernel declares array_library = 'torch', but the run asked for array 'numpy'
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ARRAY_LIBRARIES",
    "check_array_library",
    "check_known_library",
    "resolve",
    "to_library",
    "to_numpy",
    "version",
]

#: The libraries a kernel's inputs can come in.
ARRAY_LIBRARIES = ("numpy", "torch", "jax", "cupy")


def check_known_library(library: Any, argument: str, error: type[ValueError] = ValueError) -> None:
    """``error`` naming ``argument`` unless ``library`` is one of :data:`ARRAY_LIBRARIES`."""
    if library not in ARRAY_LIBRARIES:
        raise error(f"{argument} must be one of {', '.join(ARRAY_LIBRARIES)}, got {library!r}")


def check_array_library(library: Any, device: str, *, argument: str = "array") -> None:
    """ValueError naming ``argument`` unless ``library`` is one of :data:`ARRAY_LIBRARIES` (or
    None: as the kernel declares) and can run on ``device`` (CuPy needs the GPU)."""
    if library is None:
        return
    check_known_library(library, argument)
    if library == "cupy" and device != "gpu":
        raise ValueError(f"{argument} 'cupy' needs device 'gpu' (CuPy arrays live on the GPU)")


def resolve(requested: str | None, declared: Any) -> str:
    """The library the kernel is handed: the one the run asked for, else the one the kernel
    declares (its ``array_library``), else NumPy. A declaration that is not a known library, or
    one that contradicts the request, is a ValueError."""
    if declared is not None:
        check_known_library(declared, "the kernel's array_library")
    if requested is not None and declared is not None and requested != declared:
        raise ValueError(
            f"the kernel declares array_library = {declared!r}, but the run asked for "
            f"array {requested!r}"
        )
    return requested or declared or "numpy"


def version(library: str) -> str:
    """The version of ``library`` as this process imports it."""
    import importlib

    return str(importlib.import_module(library).__version__)


def _same_layout_copy(matrix: Any) -> Any:
    """A writable NumPy copy of ``matrix`` with the same strides: contiguous stays contiguous in
    the same order, and a view with gaps is the same view of a fresh buffer."""
    import numpy as np

    if matrix.flags.c_contiguous or matrix.flags.f_contiguous:
        return matrix.copy(order="K")
    itemsize = matrix.itemsize
    if any(stride <= 0 or stride % itemsize for stride in matrix.strides):
        return np.array(matrix)
    steps = zip(matrix.shape, matrix.strides, strict=True)
    size = 1 + sum((n - 1) * (s // itemsize) for n, s in steps)
    buffer = np.zeros(size, dtype=matrix.dtype)
    view = np.lib.stride_tricks.as_strided(buffer, matrix.shape, matrix.strides)
    view[...] = matrix
    return view


def to_library(matrix: Any, library: str, device: str) -> Any:
    """``matrix`` (a NumPy array) as an array of ``library`` on ``device`` ("cpu" or "gpu").

    NumPy input is returned as it is (the harness made it read-only); every other library gets a
    fresh copy, so the kernel cannot reach the harness's array through it.
    """
    if library == "numpy":
        return matrix
    if library == "torch":
        import torch

        tensor = torch.from_numpy(_same_layout_copy(matrix))
        return tensor.to("cuda") if device == "gpu" else tensor
    if library == "jax":
        import jax

        jax.config.update("jax_enable_x64", True)
        place = jax.devices("gpu" if device == "gpu" else "cpu")[0]
        return jax.device_put(_same_layout_copy(matrix), place)
    if library == "cupy":
        import cupy

        return cupy.array(matrix, order="K")
    raise ValueError(f"array library must be one of {', '.join(ARRAY_LIBRARIES)}, got {library!r}")


def to_numpy(value: Any) -> Any:
    """``value`` as a NumPy array if it is an array of a known library (moved to the host
    explicitly), else None. Raises if the library cannot give NumPy its dtype (bfloat16, say)."""
    import numpy as np

    if isinstance(value, np.ndarray):
        return value
    library = type(value).__module__.partition(".")[0]
    if library == "cupy":
        return value.get()
    if library == "torch" and hasattr(value, "detach"):
        return value.detach().cpu().resolve_conj().resolve_neg().numpy()
    if library in ("jax", "jaxlib"):
        return np.asarray(value)
    if hasattr(value, "__dlpack__"):
        return np.from_dlpack(value)
    return None
