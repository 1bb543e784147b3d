"""Array backends: NumPy on the CPU (the default) and CuPy on a GPU, from one source.

Every function in :mod:`quantmm.fast` is written against an array module ``xp`` that is either
:mod:`numpy` or :mod:`cupy`; this module picks it and checks inputs the same way for both.

Devices are named ``"cpu"`` (NumPy) and ``"gpu"`` (CuPy, which must be importable and see a GPU).
An array's own module is found with :func:`array_module`, so a CuPy array stays on the GPU.

>>> import numpy as np
>>> array_module(np.zeros(3)).__name__
'numpy'
>>> validated_array([1.0, float("nan")], "x")
Traceback (most recent call last):
...
ValueError: x must be finite: 1 of its 2 entries are NaN or infinite
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np

__all__ = [
    "DEVICES",
    "FLOAT_DTYPES",
    "array_module",
    "check_dtype_and_shape",
    "combine_chunk_sums",
    "cupy_or_none",
    "device_module",
    "finite_estimate",
    "nonfinite_error",
    "ordered_sum",
    "ordered_sum_in_chunks",
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
    """
    if xp is None:
        xp = array_module(x)
    if array_module(x) is not xp:
        x = xp.asarray(to_numpy(x)) if xp is not np else to_numpy(x)
    else:
        x = xp.asarray(x)
    check_dtype_and_shape(x.dtype, x.shape, name, ndim=ndim)
    bad = int(x.size - int(xp.count_nonzero(xp.isfinite(x))))
    if bad:
        raise nonfinite_error(name, bad, x.size)
    return x


def check_dtype_and_shape(dtype: Any, shape: tuple, name: str, *, ndim: int | None = None) -> None:
    """:func:`validated_array`'s checks that need no data, for an array known only by its dtype
    and shape (a ``dask.array``): TypeError for a dtype other than float32/float64, ValueError
    for another number of dimensions or an empty shape. The messages name ``name``."""
    if dtype not in FLOAT_DTYPES:
        raise TypeError(f"{name} must have dtype float32 or float64, got {dtype}")
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
