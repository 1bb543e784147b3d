"""Voronoi (self-similar nested-lattice) codes with dither and scale lists (theory.md §1.4).

For a code lattice Λ ⊂ R^d (Z, A2, D4 or E8; :func:`quantmm.fast.lattices.lattice`) with generator
G and nesting ratio q, the code Λ ∩ q·V(Λ) has q^d points. With scale β and dither z uniform on
V(Λ) (OP; NQ):

    encode: t = Q_Λ(x/β + z),  c = G⁻¹t mod q
    decode: y = G·c − z,        x̂ = β·(y − q·Q_Λ(y/q))

**Blocks.** Vectors are cut into *scale blocks* of 8 entries (one E8 vector, two D4, four A2,
eight Z). Each scale block gets one scale from the list β_1 < … < β_k: the first that does not
overload. Its index costs log2(k) bits per 8 entries, so the nominal rate is
log2(q) + log2(k)/8 bits per entry (NQ's choice is E8, q = 14, k = 4).

**Dither.** z for lattice block j of scale block b is z = v − Q_Λ(v), v = G·u with u uniform on
[0, 1)^d from the counter-based generator at (seed, b, coordinate): uniform on the Voronoi cell,
independent across blocks, and a function of the seed and the block's index alone, so any subset of
blocks decodes in any order, on NumPy or CuPy, with the same result.

**Overload, exactly.** NQ's test is Q_Λ((t − z)/q) ≠ 0. Here the encoder runs the decoder itself
(the same floating-point operations the decoder will run) and calls a block overloaded unless
the decoded lattice point, compared in integer coordinates, is t: so whenever no overload is
flagged,
decoding gives back t − z exactly as the encoder had it, and a block flagged overloaded at every
scale gets the scale index k, which :meth:`VoronoiCode.decode` refuses to decode. Blocks with an
entry of x/β + z beyond q·(covering radius + 1) are overloaded without decoding (they cannot lie
in q·V(Λ)).

Computation is float64 throughout (float32 input is widened exactly), so float32 and float64 inputs
holding the same values give the same codes.

>>> import numpy as np
>>> code = VoronoiCode("E8", q=14, betas=(0.35, 0.45, 0.6, 0.9), seed=3)
>>> x = np.random.default_rng(0).normal(size=(5, 8))
>>> words = code.encode(x)
>>> words.codes.shape, bool(words.overloaded.any())
((5, 8), False)
>>> error = code.decode(words.codes, words.scale_index) - x
>>> bool(np.abs(error).max() < 0.9)
True
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import compiled, cuda_kernels
from .backend import array_module, validated_array
from .counter_random import STREAM_DITHER_A, uniform, validated_seed
from .lattices import Lattice, _closest, _coordinates
from .lattices import lattice as code_lattice


def _block_kernels(xp: Any) -> Any:
    """The one-pass block kernels for arrays of ``xp``, or None for the vectorized code: the
    numba kernels (:mod:`quantmm.fast.compiled`) on NumPy, the CUDA ones
    (:mod:`quantmm.fast.cuda_kernels`, opt-in) on CuPy. Both have compiled's signatures."""
    if xp is np:
        return compiled if compiled.available() else None
    return cuda_kernels.kernels() if cuda_kernels.available() else None


__all__ = ["BLOCK", "OverloadError", "VoronoiCode", "VoronoiCodewords"]

#: Entries per scale block (one scale index each).
BLOCK = 8
#: The scales β a code accepts. Rotated, normalized blocks have |x| <= √m < 2^24, so at
#: β_k·2^255 >= 2^191 every block encodes; at β <= 2^64 decoded values stay below 2^82 and their
#: energy far inside float64.
BETA_RANGE = (2.0**-64, 2.0**64)


class OverloadError(ValueError):
    """Raised when asked to decode a block that overloaded at every scale."""


@dataclass(frozen=True)
class VoronoiCodewords:
    """The encoder's output for N scale blocks.

    ``codes`` (N, 8) integers in [0, q); ``scale_index`` (N,) integers in [0, k], k meaning
    "overloaded at every scale"; ``overloaded`` (N,) booleans, ``scale_index == k``;
    ``values`` (N, 8) float64, the decoder's t − z of each block as the overload check computed
    it (x̂ = β·values bit for bit; 0 for an overloaded block), so nothing needs decoding twice.
    """

    codes: Any
    scale_index: Any
    overloaded: Any
    values: Any


def _validated_betas(betas: Sequence[float]) -> tuple[float, ...]:
    try:
        values = tuple(float(b) for b in betas)
    except (TypeError, ValueError):
        raise TypeError(f"betas must be a sequence of positive floats, got {betas!r}") from None
    if not values or not all(math.isfinite(b) and b > 0 for b in values):
        raise ValueError(
            f"betas must be a non-empty sequence of finite positive floats, got {betas!r}"
        )
    if any(b >= c for b, c in itertools.pairwise(values)):
        raise ValueError(f"betas must be strictly increasing, got {values}")
    if values[0] < BETA_RANGE[0] or values[-1] > BETA_RANGE[1]:
        raise ValueError(
            f"betas must lie in [2**-64, 2**64] (scales outside cannot encode every block within "
            f"255 doublings, or overflow the decoded energy), got {values}"
        )
    if len(values) > 255:
        raise ValueError(f"betas must hold at most 255 scales, got {len(values)}")
    return values


class VoronoiCode:
    """The dithered Voronoi code of ``lattice`` with nesting ratio ``q`` and scale list ``betas``.

    ``q`` is an integer in [2, 65536]; ``betas`` a strictly increasing sequence of positive
    scales; ``seed`` an integer in [0, 2^64) that fixes the dither. See the module docstring.
    """

    def __init__(
        self,
        lattice: str = "E8",
        q: int = 14,
        betas: Sequence[float] = (1.0,),
        seed: int = 0,
        stream: int = STREAM_DITHER_A,
    ) -> None:
        self.lattice: Lattice = code_lattice(lattice)
        if isinstance(q, bool) or not isinstance(q, (int, np.integer)) or not 2 <= q <= 65536:
            raise ValueError(f"q must be an integer in [2, 65536], got {q!r}")
        self.q = int(q)
        self.betas = _validated_betas(betas)
        self.seed = validated_seed(seed)
        self.stream = stream

    @property
    def scales(self) -> int:
        """k, the number of scales."""
        return len(self.betas)

    @property
    def rate(self) -> float:
        """Nominal bits per entry: log2(q) + log2(k)/8 (theory.md §1.4)."""
        return math.log2(self.q) + math.log2(self.scales) / BLOCK

    def _generate(self, coordinates: Any) -> Any:
        """G·c along the last axis, as explicit products summed left to right, skipping zero
        entries of G: the same bits on NumPy and CuPy (a library matmul may reorder or fuse)."""
        generator = self.lattice.generator
        d = self.lattice.dimension
        rows = []
        for i in range(d):
            total = None
            for j in range(d):
                if generator[i, j] != 0:
                    term = coordinates[..., j] * float(generator[i, j])
                    total = term if total is None else total + term
            rows.append(total)
        return array_module(coordinates).stack(rows, axis=-1)

    def dither(self, block_index: Any) -> Any:
        """The dither of the given scale blocks, shape (N, 8), float64, on block_index's module."""
        xp = array_module(block_index)
        kernels = _block_kernels(xp)
        if kernels is not None:
            index = xp.ascontiguousarray(block_index, dtype=xp.int64)
            return kernels.dither(self.lattice, self.seed, self.stream, index)
        d = self.lattice.dimension
        coordinate = xp.arange(BLOCK, dtype=xp.int64)[None, :]
        u = uniform(xp, self.seed, self.stream, (block_index[:, None], coordinate))
        u = u.reshape(-1, BLOCK // d, d)
        v = self._generate(u)
        return (v - _closest(xp, v, self.lattice.name)).reshape(-1, BLOCK)

    def _blocks(self, x: Any, name: str) -> Any:
        x = validated_array(x, name, ndim=2)
        if x.shape[1] != BLOCK:
            raise ValueError(f"{name} must have shape (N, {BLOCK}), got {tuple(x.shape)}")
        return x.astype(array_module(x).float64)

    def _block_index(self, xp: Any, block_index: Any, count: int) -> Any:
        if block_index is None:
            return xp.arange(count, dtype=xp.int64)
        block_index = xp.asarray(block_index)
        if block_index.shape != (count,) or block_index.dtype.kind not in "iu":
            raise ValueError(f"block_index must be {count} integers, got {block_index!r}")
        if count and int(block_index.min()) < 0:
            raise ValueError("block_index must be non-negative")
        return block_index.astype(xp.int64)

    def _decoded_coordinates(self, xp: Any, codes: Any, z: Any) -> tuple[Any, Any]:
        """Decoder: integer coordinates of t̂ = G·c − q·Q(y/q), and the value y − q·Q(y/q)."""
        d = self.lattice.dimension
        c = codes.reshape(-1, BLOCK // d, d).astype(xp.float64)
        zz = z.reshape(-1, BLOCK // d, d)
        y = self._generate(c) - zz
        wrapped = _coordinates(xp, y / self.q, self.lattice)
        coordinates = codes.reshape(-1, BLOCK // d, d).astype(xp.int64) - self.q * wrapped
        value = self._generate(coordinates.astype(xp.float64)) - zz
        return coordinates, value.reshape(-1, BLOCK)

    def encode_at_scale(self, x: Any, beta: float, z: Any) -> tuple[Any, Any]:
        """Codes (N, 8) of x (N, 8, float64) at scale β with dither z; mask 'decodes to t'."""
        codes, fine, _ = self.encode_at_scale_with_values(x, beta, z)
        return codes, fine

    def encode_at_scale_with_values(self, x: Any, beta: float, z: Any) -> tuple[Any, Any, Any]:
        """:meth:`encode_at_scale` and the decoded values t − z (N, 8) of the overload check."""
        xp = array_module(x)
        d = self.lattice.dimension
        v = x / beta + z
        bound = self.q * (self.lattice.covering_radius + 1.0)
        outside = (xp.abs(v) > bound).any(axis=1)
        v = xp.where(outside[:, None], 0.0, v)
        coordinates = _coordinates(xp, v.reshape(-1, BLOCK // d, d), self.lattice)
        codes = xp.remainder(coordinates, self.q)
        decoded, values = self._decoded_coordinates(xp, codes, z)
        fine = (decoded == coordinates).reshape(-1, BLOCK).all(axis=1) & ~outside
        return codes.reshape(-1, BLOCK).astype(self._code_dtype(xp)), fine, values

    def _code_dtype(self, xp: Any) -> Any:
        return xp.uint8 if self.q <= 256 else xp.uint16

    def encode(self, x: Any, block_index: Any = None, scale_index: Any = None) -> VoronoiCodewords:
        """Encode the scale blocks ``x`` (N, 8).

        Without ``scale_index`` each block takes the first scale that does not overload (NQ's
        first fit); with it (N integers in [0, k)) each block is encoded at its given scale and
        blocks that overload there are flagged. ``block_index`` (N integers, default 0…N−1)
        names each block for the dither.
        """
        x = self._blocks(x, "x")
        xp = array_module(x)
        index = self._block_index(xp, block_index, x.shape[0])
        k = self.scales
        chosen = None
        if scale_index is not None:
            scale_index = xp.asarray(scale_index)
            if scale_index.shape != (x.shape[0],) or scale_index.dtype.kind not in "iu":
                raise ValueError(f"scale_index must be {x.shape[0]} integers")
            if x.shape[0] and int(scale_index.max()) >= k:
                raise ValueError(f"scale_index must lie in [0, {k})")
            chosen = scale_index.astype(xp.uint8)
        kernels = _block_kernels(xp)
        if kernels is not None:
            codes, scale_index, values = kernels.encode(
                self.lattice, self.q, self.betas, self.seed, self.stream, x, index, chosen,
                self._code_dtype(xp),
            )  # fmt: skip
            return VoronoiCodewords(codes, scale_index, scale_index == k, values)
        z = self.dither(index)
        codes = xp.zeros(x.shape, dtype=self._code_dtype(xp))
        values = xp.zeros(x.shape, dtype=xp.float64)
        scale_index = xp.full(x.shape[0], k, dtype=xp.uint8)
        if chosen is not None:
            for j, beta in enumerate(self.betas):
                rows = xp.nonzero(chosen == j)[0]
                if rows.size:
                    trial, fine, decoded = self.encode_at_scale_with_values(x[rows], beta, z[rows])
                    codes[rows] = trial
                    values[rows[fine]] = decoded[fine]
                    scale_index[rows] = xp.where(fine, j, k)
            return VoronoiCodewords(codes, scale_index, scale_index == k, values)
        remaining = xp.arange(x.shape[0])
        for j, beta in enumerate(self.betas):
            if remaining.size == 0:
                break
            trial, fine, decoded = self.encode_at_scale_with_values(
                x[remaining], beta, z[remaining]
            )
            done = remaining[fine]
            codes[done] = trial[fine]
            values[done] = decoded[fine]
            scale_index[done] = j
            remaining = remaining[~fine]
        return VoronoiCodewords(codes, scale_index, scale_index == k, values)

    def safe_scale_index(self, x: Any) -> Any:
        """For each scale block of x (N, 8, float64), the first j at which the block cannot
        overload for any dither, or k if there is none.

        With t = Q(x/β + z), t − z = x/β + u where u = t − (x/β + z) ranges over the Voronoi cell
        V(Λ) as z does. So the block decodes for every dither iff x/β + V ⊂ q·V, and for the
        convex, symmetric cell V that is x/β ∈ q·V ⊖ V = (q − 1)·V: the closest lattice point
        of x/(β(q − 1)) is 0 for every lattice sub-block. The choice depends on x alone, so the
        dithered error stays uniform on β·V(Λ) and independent of x, which unbiased scaling
        needs; first fit (:meth:`encode` without ``scale_index``) depends on the dither too,
        which correlates the error with x. (A point exactly on the boundary of (q − 1)·V can
        still meet a tie in the decoder; the encoder's exact check flags such a block.)
        """
        xp = array_module(x)
        kernels = _block_kernels(xp)
        if kernels is not None:
            return kernels.safe_scale_index(self.lattice, self.q, self.betas, x)
        d = self.lattice.dimension
        sub = x.reshape(x.shape[0], BLOCK // d, d)
        scale_index = xp.full(x.shape[0], self.scales, dtype=xp.uint8)
        bound = (self.q - 1) * (self.lattice.covering_radius + 1.0)
        for j in reversed(range(self.scales)):
            scaled = sub / (self.betas[j] * (self.q - 1))
            outside = (xp.abs(scaled) > bound).reshape(x.shape[0], -1).any(axis=1)
            scaled = xp.where(outside[:, None, None], 0.0, scaled)
            inside = ~(_closest(xp, scaled, self.lattice.name) != 0).reshape(x.shape[0], -1).any(
                axis=1
            )
            scale_index = xp.where(inside & ~outside, j, scale_index)
        return scale_index

    def decode_at_scale(self, codes: Any, beta: Any, z: Any) -> Any:
        """x̂ = β·(y − q·Q(y/q)) for codes (N, 8) with dither z; β a scalar or (N,) array."""
        xp = array_module(codes)
        _, value = self._decoded_coordinates(xp, codes, z)
        beta = xp.asarray(beta, dtype=xp.float64)
        return value * (beta[:, None] if beta.ndim == 1 else beta)

    def decode_blocks(self, codes: Any, beta: Any, block_index: Any) -> Any:
        """:meth:`decode_at_scale` with the dither of the blocks ``block_index`` (N int64),
        β (N,): in one compiled pass where a block kernel runs (:func:`_block_kernels`)."""
        xp = array_module(codes)
        kernels = _block_kernels(xp)
        if kernels is not None:
            return kernels.decode(
                self.lattice, self.q, self.seed, self.stream, codes, beta, block_index
            )
        return self.decode_at_scale(codes, beta, self.dither(block_index))

    def decode(self, codes: Any, scale_index: Any, block_index: Any = None) -> Any:
        """x̂ (N, 8, float64) from codes and scale indices; overloaded blocks raise OverloadError."""
        xp = array_module(codes)
        codes = xp.asarray(codes)
        if codes.ndim != 2 or codes.shape[1] != BLOCK or codes.dtype.kind not in "iu":
            raise ValueError(f"codes must be integers of shape (N, {BLOCK}), got {codes.shape}")
        if codes.size and (int(codes.min()) < 0 or int(codes.max()) >= self.q):
            raise ValueError(f"codes must lie in [0, {self.q})")
        scale_index = xp.asarray(scale_index)
        if scale_index.shape != (codes.shape[0],):
            raise ValueError(f"scale_index must have shape ({codes.shape[0]},)")
        overloaded = int(xp.count_nonzero(scale_index >= self.scales))
        if overloaded:
            raise OverloadError(
                f"{overloaded} of {codes.shape[0]} blocks overloaded at every scale "
                f"(scale_index {self.scales}); they cannot be decoded"
            )
        index = self._block_index(xp, block_index, codes.shape[0])
        betas = xp.asarray(np.array(self.betas))
        return self.decode_blocks(codes, betas[scale_index.astype(xp.int64)], index)
