"""Entrywise scalar quantization for matrix multiplication, on NumPy or CuPy (theory.md §2, AKP).

:class:`ScalarMatmul` implements the :class:`~quantmm.protocol.MatmulQuantizer` protocol
(theory.md §1: A is n×a, B is n×b, C ≈ AᵀB). Every column of A (and of B) is normalized by its
root mean square, every entry of the normalized column is quantized by one K-level codebook
designed for a unit-variance Gaussian pair (theory.md §2.4), and the decoder multiplies the
reconstructions: C = Âᵀ B̂ with Â[:, j] = s_j·Q(A[:, j]/s_j).

**Codebook.** ``quantmm.reference.design_codebook(design, rho, K, digits=17, k=k)`` (certified
mpmath), each level and threshold rounded to the nearest float64; cached per (design, ρ, K, k).
ρ is passed to the reference as the exact value of the float given. Cells follow the reference's
rule (:class:`~quantmm.reference.ScalarCodebook`): x maps to level i of the cell
(t_(i−1), t_i], so a value equal to a threshold goes to the lower level; that is
``searchsorted(thresholds, x, side="left")``.

**Scales.** s = sqrt(mean(col²)) in float64, formed without overflow or underflow as
m·sqrt(Σ (col/m)² / n) with m = max |col|, the sum taken in a fixed pairwise order (adjacent
pairs, then pairs of pairs, …) so that NumPy and CuPy give the same bits. The normalized entries
are col/s. A zero column has s = 0: its codes are those of 0 and it decodes to exact zeros (a
column whose scale underflows to 0 is treated the same). Scales are stored as float64: float32
would overflow or flush to zero for float64 columns outside float32's range (and its rounding
changes the distortion only by a relative ~1e−7, below any statistical resolution); float64
costs 64/n bits per entry (0.016 at n = 4096) against 32/n.

**Payload.** :func:`~quantmm.fast.payload.pack_payload` of kind ``"ScalarMatmul"``: the codes
(n×a, packed at radix K, i.e. :func:`~quantmm.fast.packing.bits_per_code` bits each), the a
scales (raw little-endian float64) and a header whose meta holds the shape, the side (A or B) and
the kernel's parameters (design, levels, rho, k); :meth:`ScalarMatmul.estimate` refuses payloads
written with other parameters, of the other side, with non-finite or negative scales, or whose
checksum or layout is wrong (:class:`~quantmm.fast.payload.PayloadError`). The encoder works a
chunk of columns (and of rows of a tall column) at a time.

>>> import numpy as np
>>> from quantmm.protocol import bits_per_entry
>>> kernel = ScalarMatmul(4, "lloyd_max")
>>> rng = np.random.default_rng(0)
>>> A, B = rng.standard_normal((1024, 3)), rng.standard_normal((1024, 2))
>>> payload_a, payload_b = kernel.encode_a(A), kernel.encode_b(B)
>>> C = kernel.estimate(payload_a, payload_b)
>>> C.shape, C.dtype
((3, 2), dtype('float64'))
>>> round(bits_per_entry(payload_a, A.shape), 3)  # 2 bits per code + scales, header, checksum
2.768
"""

from __future__ import annotations

import functools
import math
import numbers
from fractions import Fraction
from typing import Any, NamedTuple

import numpy as np

from .backend import (
    device_module,
    finite_estimate,
    ordered_sum_in_chunks,
    to_numpy,
    validated_array,
)
from .functions import _nearest_float, _validated_rho
from .payload import Field, PayloadError, meta_keys, pack_payload, unpack_payload

__all__ = ["FloatCodebook", "ScalarMatmul"]

#: The payload kind written by :class:`ScalarMatmul`.
KIND = "ScalarMatmul"
#: Reference digits behind the float64 codebooks (then rounded to the nearest float64).
_CODEBOOK_DIGITS = 17
#: Entries per encoding chunk (columns, or rows of one tall column), bounding the temporaries.
_CHUNK_ENTRIES = 1 << 18
#: The most rows or columns a payload may declare.
_MAX_SIZE = 2**40


class FloatCodebook(NamedTuple):
    """A K-level codebook in float64: ``levels`` (K, increasing) and ``thresholds`` (K − 1)."""

    levels: np.ndarray
    thresholds: np.ndarray


@functools.lru_cache(maxsize=128)
def _float_codebook(
    design: str, rho: float, levels: int, k: int | None
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """The reference codebook (theory.md §2.4) rounded to float64, checked still regular."""
    from quantmm.reference import design_codebook

    book = design_codebook(design, Fraction(rho), levels, digits=_CODEBOOK_DIGITS, k=k)
    points = tuple(_nearest_float(v) for v in book.levels)
    thresholds = tuple(_nearest_float(v) for v in book.thresholds)
    for i, threshold in enumerate(thresholds):
        if not points[i] < threshold < points[i + 1]:
            raise ValueError(
                f"the {design} codebook with {levels} levels is not regular after rounding to "
                f"float64 at threshold {i}"
            )
    return points, thresholds


def _validated_levels(levels: Any) -> int:
    if isinstance(levels, (bool, np.bool_)) or not isinstance(levels, numbers.Integral):
        raise ValueError(f"levels must be an integer >= 2, got {levels!r}")
    if int(levels) < 2:
        raise ValueError(f"levels must be an integer >= 2, got {levels!r}")
    return int(levels)


def _validated_k(k: Any) -> int | None:
    if k is None:
        return None
    if isinstance(k, (bool, np.bool_)) or not isinstance(k, numbers.Integral) or int(k) < 1:
        raise ValueError(f"k must be None or an integer >= 1 (the inner dimension), got {k!r}")
    return int(k)


class ScalarMatmul:
    """Quantize A and B entrywise with one K-level scalar codebook after per-column RMS scaling,
    and estimate AᵀB as Âᵀ B̂ (theory.md §2, AKP; the protocol of theory.md §1).

    ``levels`` is K ≥ 2, ``design`` one of :data:`quantmm.reference.DESIGNS` (``opt``, ``pd``,
    ``lloyd_max``, ``uniform``, ``matmul_lloyd``, ``matmul_lloyd_bias``), ``rho`` the correlation
    in [−1, 1] the codebook is designed for, ``k`` the inner dimension (``matmul_lloyd_bias``
    only), ``device`` ``"cpu"`` (NumPy) or ``"gpu"`` (CuPy). The estimate is float64 on the
    device. See the module docstring for the scales and the payload.

    >>> import numpy as np
    >>> kernel = ScalarMatmul(2, "lloyd_max")
    >>> kernel.codebook.levels.round(6).tolist()  # ±√(2/π)
    [-0.797885, 0.797885]
    >>> kernel.quantize(np.array([-0.1, 0.0, 2.5])).round(6).tolist()  # 0 goes to the lower level
    [-0.797885, -0.797885, 0.797885]
    >>> A = np.array([[1.0, 0.0], [-3.0, 0.0]])
    >>> C = kernel.estimate(kernel.encode_a(A), kernel.encode_b(A))
    >>> (C * np.pi).round(9).tolist()  # s = √5, Â = ±√5·√(2/π): 2·5·(2/π) = 20/π; zeros stay 0
    [[20.0, 0.0], [0.0, 0.0]]
    """

    def __init__(
        self,
        levels: int,
        design: str,
        rho: float = 0.0,
        *,
        k: int | None = None,
        device: str = "cpu",
    ) -> None:
        from quantmm.reference import DESIGNS

        self._size = _validated_levels(levels)
        if design not in DESIGNS:
            raise ValueError(f"design must be one of {', '.join(DESIGNS)}, got {design!r}")
        self._design = design
        self._rho = _validated_rho(rho)
        self._k = _validated_k(k)
        self._device = device
        self._xp = device_module(device)
        points, thresholds = _float_codebook(design, self._rho, self._size, self._k)
        self._host_levels = np.array(points, dtype=np.float64)
        self._host_thresholds = np.array(thresholds, dtype=np.float64)
        self._levels = self._xp.asarray(self._host_levels)
        self._thresholds = self._xp.asarray(self._host_thresholds)

    def __repr__(self) -> str:
        extra = "" if self._k is None else f", k={self._k}"
        return (
            f"ScalarMatmul({self._size}, {self._design!r}, rho={self._rho!r}{extra}, "
            f"device={self._device!r})"
        )

    @property
    def levels(self) -> int:
        """K, the number of levels."""
        return self._size

    @property
    def rate(self) -> float:
        """The claimed bits per entry, log2 K (the scales and the header come on top; the
        conformance harness measures the real figure from the bytes)."""
        return math.log2(self._size)

    @property
    def design(self) -> str:
        """The design name (one of :data:`quantmm.reference.DESIGNS`)."""
        return self._design

    @property
    def rho(self) -> float:
        """The correlation the codebook is designed for."""
        return self._rho

    @property
    def k(self) -> int | None:
        """The inner dimension the ``matmul_lloyd_bias`` codebook is designed for, else None."""
        return self._k

    @property
    def device(self) -> str:
        """``"cpu"`` or ``"gpu"``."""
        return self._device

    @property
    def codebook(self) -> FloatCodebook:
        """The unit-variance codebook in float64 (NumPy copies)."""
        return FloatCodebook(self._host_levels.copy(), self._host_thresholds.copy())

    def _parameters(self) -> dict[str, Any]:
        return {"design": self._design, "levels": self._size, "rho": self._rho, "k": self._k}

    def _codes(self, values):
        """The cell index of each entry: i with t_(i−1) < x ≤ t_i."""
        flat = values.reshape(-1)
        return self._xp.searchsorted(self._thresholds, flat, side="left").reshape(values.shape)

    def quantize(self, x: Any):
        """Q(x) entrywise with the unit-variance codebook (no scaling), float64 on the device.

        >>> ScalarMatmul(3, "pd").quantize([-0.5, 0.5]).tolist()  # Panter–Dite: 0, ±√3·Φ⁻¹(5/6)
        [0.0, 0.0]
        """
        values = validated_array(x, "x", xp=self._xp).astype(self._xp.float64)
        return self._levels[self._codes(values)]

    def _encode(self, matrix: Any, name: str, side: str) -> bytes:
        """Codes and scales, computed a chunk of columns (and, for tall columns, of rows) at a
        time so no temporary is larger than about :data:`_CHUNK_ENTRIES` entries; the bytes
        are those of the whole-matrix formulas of the module docstring (s = m·sqrt(Σ (col/m)²/n)
        summed by :func:`~quantmm.fast.backend.ordered_sum`, then :meth:`_codes` of col/s)."""
        xp = self._xp
        x = validated_array(matrix, name, ndim=2, xp=xp)
        n, columns = x.shape
        codes = np.empty((n, columns), dtype=np.min_scalar_type(self._size - 1))
        scales = np.empty(columns, dtype="<f8")
        width = max(1, _CHUNK_ENTRIES // n)
        rows = 1 << max(0, (_CHUNK_ENTRIES // width).bit_length() - 1)  # a power of two
        for start in range(0, columns, width):
            block = x[:, start : start + width]
            largest = xp.zeros(block.shape[1], dtype=xp.float64)
            for first in range(0, n, rows):  # max is exact: any order gives the same
                piece = xp.abs(block[first : first + rows].astype(xp.float64)).max(axis=0)
                largest = xp.maximum(largest, piece)
            unit_scale = xp.where(largest > 0, largest, 1.0)

            def unit_squares(rows_of_block: Any, unit_scale: Any = unit_scale) -> Any:
                unit = rows_of_block.astype(xp.float64) / unit_scale
                return unit * unit

            chunk_scales = largest * xp.sqrt(ordered_sum_in_chunks(block, rows, unit_squares) / n)
            divisor = xp.where(chunk_scales > 0, chunk_scales, 1.0)
            for first in range(0, n, rows):
                cells = self._codes(block[first : first + rows].astype(xp.float64) / divisor)
                codes[first : first + rows, start : start + width] = to_numpy(cells)
            scales[start : start + width] = to_numpy(chunk_scales)
        meta = {"shape": [int(n), int(columns)], "side": side, **self._parameters()}
        return pack_payload(KIND, meta, {"codes": (codes, self._size), "scales": (scales, None)})

    def encode_a(self, A: Any) -> bytes:
        """The message for A (n×a, float32 or float64): codes, column scales and a header."""
        return self._encode(A, "A", "a")

    def encode_b(self, B: Any) -> bytes:
        """The message for B (n×b, float32 or float64): codes, column scales and a header."""
        return self._encode(B, "B", "b")

    def _layout(self, meta: dict[str, Any], name: str, side: str) -> dict[str, Field]:
        """The fields a payload must hold, from its checked header meta."""
        meta_keys(meta, {"shape", "side", *self._parameters()}, name)
        written = {key: meta[key] for key in self._parameters()}
        if written != self._parameters():
            raise PayloadError(
                f"{name} was written by a ScalarMatmul with parameters {written}, this kernel "
                f"has {self._parameters()}"
            )
        if meta["side"] != side:
            raise PayloadError(f"{name} is an encoding of {meta['side']!r}, not {side!r}")
        shape = meta["shape"]
        if (
            not isinstance(shape, list)
            or len(shape) != 2
            or not all(isinstance(size, int) and not isinstance(size, bool) for size in shape)
            or not all(1 <= size <= _MAX_SIZE for size in shape)
        ):
            raise PayloadError(
                f"{name}: field 'shape' must be two sizes in [1, {_MAX_SIZE}], got {shape!r}"
            )
        return {
            "codes": Field(tuple(shape), radix=self._size),
            "scales": Field((shape[1],), ("<f8",)),
        }

    def _decode(self, payload: bytes, name: str, side: str):
        """Â (n×a) on the device from a payload, after checking it is one of ours."""
        _, fields = unpack_payload(
            payload, KIND, name=name, layout=lambda meta: self._layout(meta, name, side)
        )
        codes, scales = fields["codes"], fields["scales"]
        if not (np.isfinite(scales).all() and (scales >= 0).all()):
            raise PayloadError(f"{name}: field 'scales' must be finite and >= 0")
        xp = self._xp
        points = self._levels[xp.asarray(codes.astype(np.int64))]
        return points * xp.asarray(scales)

    def estimate(self, payload_a: bytes, payload_b: bytes):
        """Âᵀ B̂ (a×b, float64 on the device) from the two payloads alone."""
        A_hat = self._decode(payload_a, "payload_a", "a")
        B_hat = self._decode(payload_b, "payload_b", "b")
        if A_hat.shape[0] != B_hat.shape[0]:
            raise ValueError(
                f"payload_a holds n = {A_hat.shape[0]} rows but payload_b holds "
                f"n = {B_hat.shape[0]}; AᵀB needs the same n"
            )
        with np.errstate(over="ignore", invalid="ignore"):
            estimate = A_hat.T @ B_hat
        return finite_estimate(estimate, self._xp)
