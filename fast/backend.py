"""Array backends: NumPy on the CPU (the default) and CuPy on a GPU, from one source.

Every function in :mod:`quantmm.fast` is written against an array module ``xp`` that is either
:mod:`numpy` or :mod:`cupy`; this module picks it and checks inputs the same way for both.

Devices are named ``"cpu"`` (NumPy) and ``"gpu"`` (CuPy, which must be importable and see a GPU).
An array's own module is found with :func:`array_module`, so a CuPy array stays on the GPU.

The closest-point functions (:mod:`quantmm.fast.lattices`) also take the arrays of any library
that follows the Python array API standard (PyTorch, JAX, array-api-strict, …): their namespace
comes from :func:`array_namespace`, through the optional ``array-api-compat`` (``pip install
'quantmm[array-api]'``). NumPy and CuPy arrays keep their own modules, with or without it, and
the few calls that differ between those modules and the standard (a dtype cast, rounding to
nearest, a device for new arrays) go through :func:`astype`, :func:`round_half_even` and
:func:`device_kwargs`.

>>> import numpy as np
>>> array_module(np.zeros(3)).__name__
'numpy'
>>> array_namespace(np.zeros(3)).__name__
'numpy'
>>> validated_array([1.0, float("nan")], "x")
Traceback (most recent call last):
...
ValueError: x must be finite: 1 of its 2 entries are NaN or infinite
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np

__all__ = [
    "DEVICES",
    "FLOAT_DTYPES",
    "array_module",
    "array_namespace",
    "astype",
    "check_dtype_and_shape",
    "combine_chunk_sums",
    "cupy_or_none",
    "device_kwargs",
    "device_module",
    "dtype_name",
    "finite_estimate",
    "is_numpy_or_cupy",
    "nonfinite_error",
    "ordered_sum",
    "ordered_sum_in_chunks",
    "round_half_even",
    "to_numpy",
    "validated_array",
]

#: The devices a kernel can run on.
DEVICES = ("cpu", "gpu")

#: The floating dtypes the fast path accepts.
FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def cupy_or_none() -> ModuleType | None:
    """CuPy if it is installed and sees at least one GPU, else ``None``."""
    try:
        import cupy
    except ImportError:
        return None
    try:
        if cupy.cuda.runtime.getDeviceCount() < 1:
            return None
    except Exception:  # CUDA driver missing or broken: treat as no GPU
        return None
    return cupy


def device_module(device: str) -> ModuleType:
    """The array module for ``device`` (``"cpu"`` → NumPy, ``"gpu"`` → CuPy).

    >>> device_module("cpu").__name__
    'numpy'
    >>> device_module("tpu")
    Traceback (most recent call last):
    ...
    ValueError: device must be one of 'cpu', 'gpu', got 'tpu'
    """
    if device == "cpu":
        return np
    if device == "gpu":
        cupy = cupy_or_none()
        if cupy is None:
            raise RuntimeError("device='gpu' needs CuPy and a visible GPU; neither was found")
        return cupy
    raise ValueError(f"device must be one of 'cpu', 'gpu', got {device!r}")


def array_module(x: Any) -> ModuleType:
    """The module an array belongs to: CuPy for a CuPy array, NumPy for anything else."""
    module = type(x).__module__
    if module.startswith("cupy"):
        import cupy

        return cupy
    return np


#: Top-level modules whose arrays are array-API arrays even without ``__array_namespace__``
#: (PyTorch tensors have none): refused without array-api-compat rather than converted.
_ARRAY_API_LIBRARIES = frozenset(
    {"torch", "jax", "jaxlib", "dask", "array_api_strict", "sparse", "ndonnx", "mlx"}
)


@functools.cache
def _array_api_compat() -> ModuleType | None:
    try:
        import array_api_compat
    except ImportError:
        return None
    return array_api_compat


def _is_other_array(x: Any) -> bool:
    """Whether ``x`` is an array of a library other than NumPy and CuPy (the same answer with or
    without array-api-compat installed: the standard's ``__array_namespace__``, or a library in
    :data:`_ARRAY_API_LIBRARIES`)."""
    if isinstance(x, (np.ndarray, np.generic)) or type(x).__module__.startswith("cupy"):
        return False
    top_level = type(x).__module__.partition(".")[0]
    return hasattr(x, "__array_namespace__") or top_level in _ARRAY_API_LIBRARIES


def array_namespace(x: Any, name: str = "x") -> Any:
    """The namespace to compute on ``x`` with: CuPy for a CuPy array, NumPy for a NumPy array and
    for anything that is not an array (Python sequences and numbers, converted by
    :func:`validated_array`), and for the array of another library (PyTorch, JAX, …) the
    array-API namespace ``array_api_compat.array_namespace(x)``; without array-api-compat that
    last case is a ``TypeError`` naming ``name``.

    >>> import numpy as np
    >>> array_namespace([1.0, 2.0]).__name__
    'numpy'
    """
    if not _is_other_array(x):
        return array_module(x)
    compat = _array_api_compat()
    if compat is None:
        kind = f"{type(x).__module__}.{type(x).__qualname__}"
        raise TypeError(
            f"{name} has type {kind}, not a NumPy or CuPy array: arrays of other libraries "
            "need array-api-compat (pip install 'quantmm[array-api]')"
        )
    return compat.array_namespace(x)


def is_numpy_or_cupy(xp: Any) -> bool:
    """Whether the namespace ``xp`` is the NumPy or the CuPy module itself."""
    return xp is np or getattr(xp, "__name__", None) == "cupy"


def astype(xp: Any, x: Any, dtype: Any) -> Any:
    """``x`` cast to ``dtype`` (a copy). The array API's function ``xp.astype`` is missing from
    NumPy before 2.1 (quantmm supports 1.24) and from CuPy, so those keep the method, which
    gives the same values."""
    if is_numpy_or_cupy(xp):
        return x.astype(dtype)
    return xp.astype(x, dtype)


def round_half_even(xp: Any, x: Any) -> Any:
    """Each entry rounded to the nearest integer, halves to even (IEEE ``rint``). NumPy and CuPy
    keep ``rint``, the call the byte-identity tests and the compiled kernels were checked
    against; the array API has no ``rint``, and its ``round`` rounds halves to even."""
    if is_numpy_or_cupy(xp):
        return xp.rint(x)
    return xp.round(x)


def device_kwargs(xp: Any, like: Any) -> dict[str, Any]:
    """Keyword arguments that put a new array of ``xp`` on the device of ``like``: none for NumPy
    (whose ``device=`` needs 2.0) and CuPy (which has none: the current GPU), ``device=`` for an
    array-API namespace (a PyTorch tensor on a GPU, array-api-strict's test devices)."""
    if is_numpy_or_cupy(xp):
        return {}
    return {"device": _array_api_compat().device(like)}


def dtype_name(dtype: Any) -> str:
    """A dtype's bare name, as NumPy prints it ("float32"), for any library's dtype object
    (array-api-strict prints "array_api_strict.float32", PyTorch "torch.float32")."""
    if isinstance(dtype, np.dtype):
        return str(dtype)
    return str(dtype).rpartition(".")[2]


def to_numpy(x: Any) -> np.ndarray:
    """A NumPy copy (or view) of a NumPy or CuPy array."""
    if array_module(x) is np:
        return np.asarray(x)
    return x.get()


def validated_array(x: Any, name: str, *, ndim: int | None = None, xp: ModuleType | None = None):
    """``x`` as a float32 or float64 array of module ``xp``, checked.

    Raises ``TypeError`` for a dtype other than float32/float64 (integers, complex, float16 and
    objects are refused rather than converted), and ``ValueError`` for the wrong number of
    dimensions, an empty array or any NaN/infinity. The message names ``name``. Python sequences
    of floats are accepted and become float64. The array is not copied when it already qualifies.
    An array-API namespace ``xp`` (see :func:`array_namespace`) takes an array of its own library,
    checked the same way with the same messages.
    """
    if xp is None:
        xp = array_module(x)
    if not is_numpy_or_cupy(xp):
        return _validated_namespace_array(x, name, ndim, xp)
    if array_module(x) is not xp:
        x = xp.asarray(to_numpy(x)) if xp is not np else to_numpy(x)
    else:
        x = xp.asarray(x)
    check_dtype_and_shape(x.dtype, x.shape, name, ndim=ndim)
    bad = int(x.size - int(xp.count_nonzero(xp.isfinite(x))))
    if bad:
        raise nonfinite_error(name, bad, x.size)
    return x


def _validated_namespace_array(x: Any, name: str, ndim: int | None, xp: Any) -> Any:
    """:func:`validated_array` for an array of the array-API namespace ``xp`` (not NumPy or
    CuPy): the same checks, in the same order, with the same messages; ``x`` is not copied."""
    if not (x.dtype == xp.float32 or x.dtype == xp.float64):
        raise TypeError(f"{name} must have dtype float32 or float64, got {dtype_name(x.dtype)}")
    _check_shape(tuple(x.shape), name, ndim)
    finite = xp.isfinite(x)
    if not bool(xp.all(finite)):  # counted with sum: count_nonzero is new (2023.12) and uneven
        bad = int(xp.sum(xp.astype(xp.logical_not(finite), xp.int64)))
        raise nonfinite_error(name, bad, math.prod(x.shape))
    return x


def check_dtype_and_shape(dtype: Any, shape: tuple, name: str, *, ndim: int | None = None) -> None:
    """:func:`validated_array`'s checks that need no data, for an array known only by its dtype
    and shape (a ``dask.array``): TypeError for a dtype other than float32/float64, ValueError
    for another number of dimensions or an empty shape. The messages name ``name``."""
    if dtype not in FLOAT_DTYPES:
        raise TypeError(f"{name} must have dtype float32 or float64, got {dtype}")
    _check_shape(shape, name, ndim)


def _check_shape(shape: tuple, name: str, ndim: int | None) -> None:
    if ndim is not None and len(shape) != ndim:
        raise ValueError(f"{name} must be a {ndim}-dimensional array, got shape {tuple(shape)}")
    if 0 in shape:
        raise ValueError(f"{name} must not be empty, got shape {tuple(shape)}")


def nonfinite_error(name: str, bad: int, size: int) -> ValueError:
    """The error for ``bad`` NaN or infinite entries among the ``size`` of ``name``."""
    return ValueError(f"{name} must be finite: {bad} of its {size} entries are NaN or infinite")


def finite_estimate(estimate: Any, xp: ModuleType) -> Any:
    """``estimate`` itself if every entry is finite; otherwise ValueError (a decoder never
    returns NaN or infinity silently: with finite side information that can only be a product
    beyond float64's range)."""
    bad = int(estimate.size - int(xp.count_nonzero(xp.isfinite(estimate))))
    if bad:
        raise ValueError(
            f"the estimate has {bad} of {estimate.size} entries beyond float64's range "
            f"(|value| > {float(np.finfo(np.float64).max):.3g}); it is not returned"
        )
    return estimate


def ordered_sum(x: Any) -> Any:
    """The sum along axis 0 in one fixed pairwise order: bit-identical on NumPy and CuPy.

    Library reductions sum in an order of their own choosing (NumPy's pairwise blocks, CuPy's
    thread tree), so their last bits differ; quantities that decide payload bytes are summed here
    instead: rows are added in pairs (0+1, 2+3, …; a zero row pads an odd count) until one remains.

    >>> import numpy as np
    >>> ordered_sum(np.arange(10.0).reshape(5, 2)).tolist()
    [20.0, 25.0]
    """
    xp = array_module(x)
    if x.shape[0] == 0:
        return xp.zeros(x.shape[1:], dtype=x.dtype)
    while x.shape[0] > 1:
        if x.shape[0] % 2:
            x = xp.concatenate([x, xp.zeros_like(x[:1])])
        x = x[0::2] + x[1::2]
    return x[0]


def ordered_sum_in_chunks(x: Any, chunk: int, transform: Callable[[Any], Any] | None = None) -> Any:
    """:func:`ordered_sum` of ``transform(x)`` (elementwise on rows; default: x itself), bit for
    bit, with ``transform`` applied to ``chunk`` rows (a power of two) at a time, so no
    temporary holds more than ``chunk`` rows.

    The pairwise tree of :func:`ordered_sum` reduces each aligned run of 2^k rows on its own in
    its first k levels, so the chunks' sums are its nodes at level k; a last, shorter chunk that
    reaches one row in fewer levels is then paired k − levels times with the zero padding, which
    adds +0.0 (it turns a −0.0 into +0.0 and changes nothing else). The chunk sums are then
    reduced by the same tree (:func:`combine_chunk_sums`).

    >>> import numpy as np
    >>> x = np.arange(11.0).reshape(11, 1) / 7
    >>> bool((ordered_sum_in_chunks(x, 4, np.square) == ordered_sum(x * x)).all())
    True
    """
    if chunk < 1 or chunk & (chunk - 1):
        raise ValueError(f"chunk must be a power of two, got {chunk}")
    count = x.shape[0]
    sums = []
    for start in range(0, count, chunk):
        rows = x[start : start + chunk]
        sums.append(ordered_sum(rows if transform is None else transform(rows)))
    return combine_chunk_sums(sums, count, chunk)


def combine_chunk_sums(sums: list[Any], count: int, chunk: int) -> Any:
    """:func:`ordered_sum` of a ``count``-row array from the :func:`ordered_sum` of each of its
    runs of ``chunk`` rows (a power of two), in order (see :func:`ordered_sum_in_chunks`)."""
    if len(sums) == 1:
        return sums[0]
    last = count - chunk * (len(sums) - 1)
    if (last - 1).bit_length() < chunk.bit_length() - 1:
        sums = [*sums[:-1], sums[-1] + 0.0]
    return ordered_sum(array_module(sums[0]).stack(sums))
