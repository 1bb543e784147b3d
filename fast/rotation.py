"""A seeded randomized Hadamard rotation of any length (theory.md §1.3, §1.4; NQ).

For a length n that is a power of two the rotation is H·D/√n: D a diagonal of random signs,
H the Sylvester–Hadamard matrix. For any other n (let p be the largest power of two below n) it is
the product of two such rotations on overlapping windows: first H_p·D_1/√p on coordinates
[0, p), then H_p·D_2/√p on coordinates [n − p, n). Each factor is orthogonal, so the product is,
nothing is padded and no rate is spent on extra coordinates. Since 2p > n the windows overlap
and every output is a combination of at least p ≥ n/2 inputs: outputs [n − p, n) mix all n
inputs, outputs [0, n − p) mix inputs [0, p) only. The signs are counter-based random bits of
(seed, window, coordinate)
(:mod:`quantmm.fast.counter_random`), so NumPy and CuPy rotate identically.

The transform runs along axis 0 of an (n,) or (n, m) array, in float64, with butterflies
(a + b, a − b) in a fixed order: the result is bit-identical on NumPy and CuPy.

>>> import numpy as np
>>> rotation = RandomizedHadamard(6, seed=1)
>>> x = np.arange(6.0)
>>> y = rotation.apply(x)
>>> bool(np.isclose(y @ y, x @ x)), bool(np.allclose(rotation.apply_transpose(y), x))
(True, True)
"""

from __future__ import annotations

from typing import Any

from .backend import array_module, validated_array
from .counter_random import STREAM_ROTATION, random_signs, validated_seed

__all__ = ["RandomizedHadamard", "walsh_hadamard"]


def walsh_hadamard(x: Any) -> Any:
    """The unnormalized Walsh–Hadamard transform H_p·x along axis 0 (p = len(x), a power of two).

    >>> import numpy as np
    >>> walsh_hadamard(np.array([1.0, 0.0, 0.0, 0.0])).tolist()
    [1.0, 1.0, 1.0, 1.0]
    """
    xp = array_module(x)
    y = xp.array(x, copy=True)
    _walsh_hadamard_in_place(y)
    return y


def _walsh_hadamard_in_place(y: Any) -> None:
    """H_p·y along axis 0, overwriting the C-contiguous array y, with temporaries of at most
    :data:`_CHUNK` entries: each butterfly (a, b) → (a + b, a − b) is done a slice at a time
    (the same floating-point operations as ``first + second`` and ``first − second``, so the bits
    do not depend on how the work is cut)."""
    xp = array_module(y)
    p = y.shape[0]
    if p < 1 or p & (p - 1):
        raise ValueError(f"x must have a power-of-two length along axis 0, got {p}")
    flat = y.reshape(p, -1)
    width = flat.shape[1]
    h = 1
    while h < p:
        pairs = flat.reshape(p // (2 * h), 2, h, width)
        groups = max(1, _CHUNK // (h * width))
        span = min(h, max(1, _CHUNK // width))
        for g in range(0, p // (2 * h), groups):
            for i in range(0, h, span):
                first = pairs[g : g + groups, 0, i : i + span]
                second = pairs[g : g + groups, 1, i : i + span]
                saved = first.copy()
                first += second
                xp.subtract(saved, second, out=second)
        h *= 2


_CHUNK = 1 << 16  # entries per temporary of the in-place transform and of the sign generation


class RandomizedHadamard:
    """The seeded orthogonal rotation of R^n described in the module docstring."""

    def __init__(self, length: int, seed: int = 0) -> None:
        if isinstance(length, bool) or not isinstance(length, int) or length < 1:
            raise ValueError(f"length must be a positive integer, got {length!r}")
        self.length = length
        self.seed = validated_seed(seed)
        self.window = 1 << (length.bit_length() - 1)  # largest power of two <= length

    def _windows(self) -> list[tuple[int, int]]:
        """(window number, start) of each factor, in the order they are applied."""
        if self.window == self.length:
            return [(0, 0)]
        return [(0, 0), (1, self.length - self.window)]

    def _signs(self, xp: Any, window: int, first: int = 0, stop: int | None = None) -> Any:
        """The random signs of coordinates first…stop−1 of a window (counter-based: any range
        of them is the same as the matching slice of all of them)."""
        stop = self.window if stop is None else stop
        coordinates = xp.arange(first, stop, dtype=xp.int64)
        return random_signs(xp, self.seed, STREAM_ROTATION, (window, coordinates))

    def _check(self, x: Any) -> Any:
        x = validated_array(x, "x")
        xp = array_module(x)
        if x.ndim not in (1, 2) or x.shape[0] != self.length:
            raise ValueError(
                f"x must have shape ({self.length},) or ({self.length}, m), got {tuple(x.shape)}"
            )
        return xp, x.astype(xp.float64, copy=True)

    def apply(self, x: Any) -> Any:
        """The rotated copy of ``x`` (float64; x is not modified)."""
        _, y = self._check(x)
        self.apply_in_place(y)
        return y

    def apply_in_place(self, y: Any) -> None:
        """Rotate the C-contiguous float64 array ``y`` (shape (length,) or (length, m)) in place:
        the same bits as :meth:`apply`, without its copy."""
        xp = array_module(y)
        if y.dtype != xp.float64 or y.shape[:1] != (self.length,) or not y.flags.c_contiguous:
            raise ValueError(f"y must be a C-contiguous float64 array of {self.length} rows")
        scale = 1.0 / float(self.window) ** 0.5
        for window, start in self._windows():
            part = y[start : start + self.window]
            for first in range(0, self.window, _CHUNK):  # the signs a chunk at a time
                stop = min(self.window, first + _CHUNK)
                signs = self._signs(xp, window, first, stop)
                part[first:stop] *= signs.reshape((-1,) + (1,) * (y.ndim - 1))
            _walsh_hadamard_in_place(part)
            part *= scale

    def apply_transpose(self, y: Any) -> Any:
        """The inverse (= transposed) rotation of ``y``."""
        xp, x = self._check(y)
        scale = 1.0 / float(self.window) ** 0.5
        for window, start in reversed(self._windows()):
            signs = self._signs(xp, window).reshape((-1,) + (1,) * (x.ndim - 1))
            part = walsh_hadamard(x[start : start + self.window]) * scale
            x[start : start + self.window] = part * signs
        return x
