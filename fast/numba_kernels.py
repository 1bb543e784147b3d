"""The compiled (numba) kernels behind :mod:`quantmm.fast.compiled`; import that module instead.

Each function here is one pass over a batch of scale blocks (8 entries), parallel over blocks,
with no temporary larger than a block. Every floating-point operation is the one the NumPy code
in :mod:`quantmm.fast.lattices` and :mod:`quantmm.fast.voronoi` performs, in the same order and
with the same operands (numba keeps IEEE semantics: no fast-math, no fused multiply-add), so the
results are bit-identical to it; ``tests/test_fast_compiled.py`` checks that on every lattice.
One shortcut is not the NumPy code's route: the decoder and the encoder's overload check work on
lattice points instead of coordinates (:func:`_decode_point`), a computation exact at every step,
so it has the same bits. fast/voronoi_kernels.cu is this module's algorithm in CUDA C++.

Lattice ids: 0 = Z (d = 1), 1 = A2, 2 = D4, 3 = E8.

**Cache.** The kernels are compiled once and cached (numba ``cache=True``) in this folder's
``__pycache__``. Where that folder is read-only, as in the conformance harness's sandbox, numba
would recompile in every process (about 20 s); :class:`_ReadOnlyTreeLocator` then uses a
private, writable copy of the cached files in the temporary directory instead.
"""

from __future__ import annotations

import os
import shutil
import tempfile

import numpy as np
from numba import njit, prange
from numba.core import caching

_THIS_FILE = os.path.abspath(__file__)


class _ReadOnlyTreeLocator(caching.InTreeCacheLocator):
    """For this module only: the in-tree cache when it is writable, else a private copy of it
    (``$TMPDIR/quantmm-numba-<uid>``), so a read-only install still loads its compiled kernels.
    Numba checks each cached entry against this file's content hash, so a stale copy is
    recompiled, never used."""

    @classmethod
    def from_function(cls, py_func, py_file):
        if os.path.abspath(py_file) != _THIS_FILE:
            return None
        self = cls(py_func, py_file)
        try:
            self.ensure_cache_path()
            return self
        except OSError:
            pass
        tree = self._cache_path
        self._cache_path = os.path.join(tempfile.gettempdir(), f"quantmm-numba-{os.getuid()}")
        try:
            self.ensure_cache_path()
            prefix = os.path.splitext(os.path.basename(_THIS_FILE))[0] + "."
            for name in os.listdir(tree) if os.path.isdir(tree) else ():
                target = os.path.join(self._cache_path, name)
                if name.startswith(prefix) and not os.path.exists(target):
                    partial = f"{target}.{os.getpid()}.partial"
                    shutil.copyfile(os.path.join(tree, name), partial)
                    os.replace(partial, target)  # another process never sees half a file
        except OSError:
            return None
        return self


_IMPLEMENTATION = getattr(caching, "CacheImpl", None) or caching._CacheImpl
if _ReadOnlyTreeLocator not in _IMPLEMENTATION._locator_classes:
    _IMPLEMENTATION._locator_classes.insert(0, _ReadOnlyTreeLocator)

_SQRT3 = float(np.sqrt(3.0))
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_S30, _S27, _S31, _S11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)
_CHUNK = 256  # blocks per parallel task (its scratch arrays are allocated once)

Z, A2, D4, E8 = 0, 1, 2, 3


@njit(cache=True, inline="always")
def _finalize(h):
    h = (h ^ (h >> _S30)) * _MIX1
    h = (h ^ (h >> _S27)) * _MIX2
    return h ^ (h >> _S31)


@njit(cache=True, inline="always")
def _is_odd(s):
    return np.floor(s * 0.5) * 2.0 != s


@njit(cache=True, inline="always")
def _parity(f, error, first, d):
    """D_d's parity fix on f[first:first+d] (lattices._parity_fixed_from): the worst index
    (relative), the step and the squared distance."""
    worst = 0
    largest = abs(error[first])
    for i in range(1, d):
        magnitude = abs(error[first + i])
        if magnitude > largest:
            largest = magnitude
            worst = i
    worst_error = error[first + worst]
    total_f = 0.0
    for i in range(d):
        total_f += f[first + i]  # integers far below 2^53: exact in any order
    odd = _is_odd(total_f)
    step = (1.0 if worst_error >= 0 else -1.0) * (1.0 if odd else 0.0)
    total = error[first] * error[first]
    for i in range(1, d):
        total = total + error[first + i] * error[first + i]
    if odd:
        total = total + (1.0 - 2.0 * abs(worst_error))
    return worst, step, total


@njit(cache=True, inline="always")
def _closest_d(x, first, d, out, f, error):
    """D_d (lattices._round_d) of x[first:first+d] into out[first:first+d]."""
    for i in range(first, first + d):
        f[i] = np.rint(x[i])
        error[i] = x[i] - f[i]
    worst, step, _ = _parity(f, error, first, d)
    for i in range(d):
        out[first + i] = f[first + i] + (1.0 if i == worst else 0.0) * step


@njit(cache=True, inline="always")
def _closest_e8(x, first, out, f1, e1, f2, e2):
    """E8 (lattices._round_e8) of x[first:first+8] into out[first:first+8]."""
    for i in range(first, first + 8):
        f1[i] = np.rint(x[i])
        e1[i] = x[i] - f1[i]
        rounded = np.floor(x[i])
        err = (x[i] - rounded) - 0.5
        if err == -0.5 and _is_odd(rounded):  # lattices._rounded_minus_half's tie
            rounded = rounded - 1.0
            err = 0.5
        f2[i] = rounded
        e2[i] = err
    worst1, step1, distance1 = _parity(f1, e1, first, 8)
    worst2, step2, distance2 = _parity(f2, e2, first, 8)
    second = distance2 < distance1
    worst = worst2 if second else worst1
    step = step2 if second else step1
    for i in range(8):
        base = f2[first + i] + 0.5 if second else f1[first + i]
        out[first + i] = base + (1.0 if i == worst else 0.0) * step


@njit(cache=True, inline="always")
def _a2(x, first):
    """A2 (lattices._round_a2) of x[first:first+2]: the point and its integer coordinates."""
    x0 = x[first]
    x1 = x[first + 1]
    v = x1 / _SQRT3
    m1 = np.rint(x0)
    k1 = np.rint(v)
    m2 = np.rint(x0 - 0.5)
    k2 = np.rint(v - 0.5)
    p0, p1 = m1, _SQRT3 * k1
    s0, s1 = m2 + 0.5, _SQRT3 * (k2 + 0.5)
    d_first = (x0 - p0) * (x0 - p0) + (x1 - p1) * (x1 - p1)
    d_second = (x0 - s0) * (x0 - s0) + (x1 - s1) * (x1 - s1)
    if d_second < d_first:
        m, k = np.int64(m2), np.int64(k2)
        return s0, s1, m - k, 2 * k + 1
    m, k = np.int64(m1), np.int64(k1)
    return p0, p1, m - k, 2 * k


@njit(cache=True)
def _closest(lattice, x, out, f1, e1, f2, e2):
    """The closest lattice point of each sub-block of the 8-block x, into out."""
    if lattice == E8:
        _closest_e8(x, 0, out, f1, e1, f2, e2)
    elif lattice == D4:
        _closest_d(x, 0, 4, out, f1, e1)
        _closest_d(x, 4, 4, out, f1, e1)
    elif lattice == A2:
        for first in range(0, 8, 2):
            p0, p1, _, _ = _a2(x, first)
            out[first] = p0
            out[first + 1] = p1
    else:
        for i in range(8):
            out[i] = np.rint(x[i])


@njit(cache=True)
def _coordinates(lattice, x, twice_inverse, coordinates, point, f1, e1, f2, e2):
    """Integer coordinates of the closest point of each sub-block (lattices._coordinates)."""
    if lattice == A2:
        for first in range(0, 8, 2):
            _, _, c0, c1 = _a2(x, first)
            coordinates[first] = c0
            coordinates[first + 1] = c1
        return
    _closest(lattice, x, point, f1, e1, f2, e2)
    starts, columns, entries = twice_inverse  # 2·G⁻¹'s non-zero entries, as in _generate
    d = starts.shape[0] - 1
    for first in range(0, 8, d):
        for i in range(d):
            total = np.int64(0)  # integers: exact in any order
            for n in range(starts[i], starts[i + 1]):
                total += np.int64(np.rint(2 * point[first + columns[n]])) * entries[n]
            coordinates[first + i] = total // 4


@njit(cache=True, inline="always")
def _generate(generator, c, out):
    """G·c on each sub-block (VoronoiCode._generate): ``generator`` is G's non-zero entries
    row by row, (starts, columns, values), so the terms are summed left to right with the zero
    entries skipped, as there."""
    starts, columns, entries = generator
    d = starts.shape[0] - 1
    for first in range(0, 8, d):
        for i in range(d):
            total = c[first + columns[starts[i]]] * entries[starts[i]]
            for n in range(starts[i] + 1, starts[i + 1]):
                total = total + c[first + columns[n]] * entries[n]
            out[first + i] = total


@njit(cache=True, inline="always")
def _dither(lattice, generator, base, block, z, u, v, f1, e1, f2, e2):
    """The dither of one scale block (VoronoiCode.dither): z = v − Q(v), v = G·u."""
    h0 = _finalize(np.uint64(block) ^ base)
    for i in range(8):
        h = _finalize((h0 + _GOLDEN) ^ np.uint64(i))
        u[i] = np.float64(h >> _S11) * (2.0**-53)
    _generate(generator, u, v)
    _closest(lattice, v, z, f1, e1, f2, e2)
    for i in range(8):
        z[i] = v[i] - z[i]


@njit(cache=True, parallel=True)
def closest_point(lattice, x, out):
    """lattices.closest_point of each row of x (N, d; float32 or float64) into ``out`` (x's
    dtype), computed in float64: E8, A2, Z^d, or D_d (the D4 id, any d >= 2). For Z and D_d
    every operation is exact (rounding, x − rint(x), ±1), so float64 gives the float32
    computation's bits; E8 and A2 are computed in float64 there too."""
    count, d = x.shape
    for chunk in prange((count + _CHUNK - 1) // _CHUNK):
        row, point = np.empty(d), np.empty(d)
        f1, e1, f2, e2 = np.empty(d), np.empty(d), np.empty(d), np.empty(d)
        for b in range(chunk * _CHUNK, min(count, (chunk + 1) * _CHUNK)):
            for i in range(d):
                row[i] = x[b, i]
            if lattice == E8:
                _closest_e8(row, 0, point, f1, e1, f2, e2)
            elif lattice == D4:
                _closest_d(row, 0, d, point, f1, e1)
            elif lattice == A2:
                p0, p1, _, _ = _a2(row, 0)
                point[0] = p0
                point[1] = p1
            else:
                for i in range(d):
                    point[i] = np.rint(row[i])
            for i in range(d):
                out[b, i] = point[i]  # lattice points: exact in float32 in the checked range


@njit(cache=True, parallel=True)
def dither(lattice, generator, base, block_index, z):
    """The dither (N, 8) of the scale blocks ``block_index``, into ``z``."""
    count = block_index.shape[0]
    for chunk in prange((count + _CHUNK - 1) // _CHUNK):
        u, v = np.empty(8), np.empty(8)
        f1, e1, f2, e2 = np.empty(8), np.empty(8), np.empty(8), np.empty(8)
        for b in range(chunk * _CHUNK, min(count, (chunk + 1) * _CHUNK)):
            _dither(lattice, generator, base, block_index[b], z[b], u, v, f1, e1, f2, e2)


@njit(cache=True, inline="always")
def _decode_block(
    lattice,
    generator,
    twice_inverse,
    q,
    codes,
    z,
    coordinates,
    value,
    c,
    y,
    wrapped_point,
    wrapped,
    f1,
    e1,
    f2,
    e2,
):
    """VoronoiCode._decoded_coordinates of one block: t̂'s coordinates and y − q·Q(y/q)."""
    for i in range(8):
        c[i] = np.float64(codes[i])
    _generate(generator, c, y)
    for i in range(8):
        y[i] = (y[i] - z[i]) / q
    _coordinates(lattice, y, twice_inverse, wrapped, wrapped_point, f1, e1, f2, e2)
    for i in range(8):
        coordinates[i] = np.int64(codes[i]) - q * wrapped[i]
        c[i] = np.float64(coordinates[i])
    _generate(generator, c, value)
    for i in range(8):
        value[i] = value[i] - z[i]


@njit(cache=True, inline="always")
def _has_zero(z):
    """Whether the dither z has an entry ±0 (then :func:`_decode_point` is not used)."""
    for i in range(8):
        if z[i] == 0.0:
            return True
    return False


@njit(cache=True, inline="always")
def _decode_point(lattice, generator, q, codes, z, gc, y, wrapped_point, f1, e1, f2, e2):
    """The decoder's point t̂ = G·c − q·Q(y/q), y = (G·c − z)/q, into ``gc`` (E8, D4 and Z, a
    dither with no zero entry; returns nothing).

    This is :func:`_decode_block` without the wrapped point's coordinates and the second G·:
    G·c is exact (integer codes times G's entries, integers and halves, far below 2^53), Q(y/q)
    is a point of integers or halves and q·Q(y/q) is exact, so G·c − q·Q(y/q) is exactly the
    lattice point G·(c − q·G⁻¹Q(y/q)) that _decode_block computes from the coordinates. The
    value t̂ − z then has its bits too, but for the sign of a zero t̂ entry, which only shows
    when z's entry is 0: callers use _decode_block for such a dither."""
    for i in range(8):
        y[i] = np.float64(codes[i])
    _generate(generator, y, gc)
    for i in range(8):
        y[i] = (gc[i] - z[i]) / q
    _closest(lattice, y, wrapped_point, f1, e1, f2, e2)
    for i in range(8):
        gc[i] = gc[i] - q * wrapped_point[i]


@njit(cache=True, inline="always")
def _encode_block(
    lattice,
    generator,
    twice_inverse,
    q,
    bound,
    x,
    beta,
    z,
    codes,
    value,
    v,
    coordinates,
    decoded,
    point,
    c,
    y,
    wrapped_point,
    wrapped,
    f1,
    e1,
    f2,
    e2,
):
    """VoronoiCode.encode_at_scale of one block: its codes and t − z into ``codes`` and
    ``value``; returns whether it decodes to t (no overload)."""
    outside = False
    for i in range(8):
        v[i] = x[i] / beta + z[i]
        if abs(v[i]) > bound:
            outside = True
    if outside:
        for i in range(8):
            v[i] = 0.0
    _coordinates(lattice, v, twice_inverse, coordinates, point, f1, e1, f2, e2)
    for i in range(8):
        codes[i] = coordinates[i] % q
    if lattice != A2 and not _has_zero(z):  # the overload check on points (_decode_point)
        if outside:
            return False
        _decode_point(lattice, generator, q, codes, z, c, y, wrapped_point, f1, e1, f2, e2)
        for i in range(8):
            if c[i] != point[i]:
                return False
        for i in range(8):
            value[i] = point[i] - z[i]
        return True
    _decode_block(
        lattice,
        generator,
        twice_inverse,
        q,
        codes,
        z,
        decoded,
        value,
        c,
        y,
        wrapped_point,
        wrapped,
        f1,
        e1,
        f2,
        e2,
    )
    if outside:
        return False
    for i in range(8):
        if decoded[i] != coordinates[i]:
            return False
    return True


@njit(cache=True, parallel=True)
def encode(
    lattice, generator, twice_inverse, q, bound, base, betas, x, block_index, chosen, codes,
    scale_index, values,
):  # fmt: skip
    """VoronoiCode.encode of the blocks x (N, 8): first fit when ``chosen`` is empty, else each
    block at scale ``chosen[b]``. Writes ``codes``, ``scale_index`` (k: overloaded) and
    ``values`` (t − z; 0 where overloaded)."""
    count = x.shape[0]
    k = betas.shape[0]
    first_fit = chosen.shape[0] == 0
    for chunk in prange((count + _CHUNK - 1) // _CHUNK):
        real = np.empty((10, 8))
        z, u, v, point, c, y, f1, e1, f2, e2 = (
            real[0], real[1], real[2], real[3], real[4], real[5], real[6], real[7], real[8],
            real[9],
        )  # fmt: skip
        integer = np.empty((4, 8), dtype=np.int64)
        block_codes, coordinates, decoded, wrapped = integer[0], integer[1], integer[2], integer[3]
        for b in range(chunk * _CHUNK, min(count, (chunk + 1) * _CHUNK)):
            _dither(lattice, generator, base, block_index[b], z, u, v, f1, e1, f2, e2)
            block = x[b]
            value = values[b]
            index = k
            first, last = (0, k) if first_fit else (chosen[b], chosen[b] + 1)
            for j in range(first, last):
                if _encode_block(
                    lattice, generator, twice_inverse, q, bound, block, betas[j], z,
                    block_codes, value, v, coordinates, decoded, point, c, y, u, wrapped, f1,
                    e1, f2, e2,
                ):  # fmt: skip
                    index = j
                    break
            if index == k:
                for i in range(8):
                    value[i] = 0.0
                    if first_fit:
                        block_codes[i] = 0
            for i in range(8):
                codes[b, i] = block_codes[i]
            scale_index[b] = index


@njit(cache=True, parallel=True)
def decode(lattice, generator, twice_inverse, q, base, codes, beta, block_index, out):
    """VoronoiCode.decode_at_scale with the dither of ``block_index``: β·(y − q·Q(y/q))."""
    count = codes.shape[0]
    for chunk in prange((count + _CHUNK - 1) // _CHUNK):
        real = np.empty((9, 8))
        z, u, v, c, y, f1, e1, f2, e2 = (
            real[0], real[1], real[2], real[3], real[4], real[5], real[6], real[7], real[8],
        )  # fmt: skip
        integer = np.empty((2, 8), dtype=np.int64)
        coordinates, wrapped = integer[0], integer[1]
        for b in range(chunk * _CHUNK, min(count, (chunk + 1) * _CHUNK)):
            _dither(lattice, generator, base, block_index[b], z, u, v, f1, e1, f2, e2)
            value = out[b]
            if lattice != A2 and not _has_zero(z):
                _decode_point(lattice, generator, q, codes[b], z, c, y, u, f1, e1, f2, e2)
                for i in range(8):
                    value[i] = (c[i] - z[i]) * beta[b]
                continue
            _decode_block(
                lattice, generator, twice_inverse, q, codes[b], z, coordinates, value, c, y, u,
                wrapped, f1, e1, f2, e2,
            )  # fmt: skip
            for i in range(8):
                value[i] = value[i] * beta[b]


@njit(cache=True, parallel=True)
def safe_scale_index(lattice, q, bound, betas, x, out):
    """VoronoiCode.safe_scale_index: the first j at which Q(x/(β_j(q − 1))) = 0 on every
    sub-block with no entry beyond ``bound``; k if none."""
    count = x.shape[0]
    k = betas.shape[0]
    for chunk in prange((count + _CHUNK - 1) // _CHUNK):
        scaled, point = np.empty(8), np.empty(8)
        f1, e1, f2, e2 = np.empty(8), np.empty(8), np.empty(8), np.empty(8)
        for b in range(chunk * _CHUNK, min(count, (chunk + 1) * _CHUNK)):
            index = k
            for j in range(k):
                divisor = betas[j] * (q - 1)
                outside = False
                for i in range(8):
                    scaled[i] = x[b, i] / divisor
                    if abs(scaled[i]) > bound:
                        outside = True
                if outside:
                    continue
                _closest(lattice, scaled, point, f1, e1, f2, e2)
                inside = True
                for i in range(8):
                    if point[i] != 0:
                        inside = False
                if inside:
                    index = j
                    break
            out[b] = index


_GROUPS = 1024  # groups per parallel task of the packers: a multiple of 8, so a task's bits start
# on a byte boundary and no two tasks share a byte


@njit(cache=True, parallel=True)
def pack_codes(codes, radix, g, bits, out):
    """packing.pack_codes: groups of g codes as base-radix words of ``bits`` bits each, least
    significant bit first, into the zeroed bytes ``out`` (a group past the end is padded with
    zero codes). Each word is written a byte's worth of bits at a time."""
    count = codes.shape[0]
    r = np.uint64(radix)
    groups = (count + g - 1) // g
    for task in prange((groups + _GROUPS - 1) // _GROUPS):
        for group in range(task * _GROUPS, min(groups, (task + 1) * _GROUPS)):
            word = np.uint64(0)
            for i in range(g - 1, -1, -1):  # Horner, as there: exact, radix^g <= 2^64
                position = group * g + i
                code = np.uint64(codes[position]) if position < count else np.uint64(0)
                word = word * r + code
            k = 0
            while k < bits:
                at = group * bits + k
                shift = at & 7
                take = min(8 - shift, bits - k)
                piece = (word >> np.uint64(k)) & ((np.uint64(1) << np.uint64(take)) - np.uint64(1))
                out[at >> 3] |= np.uint8(piece << np.uint64(shift))
                k += take


@njit(cache=True, parallel=True)
def unpack_codes(packed, radix, g, bits, codes):
    """packing.unpack_codes: the groups of :func:`pack_codes` back into ``codes`` (groups·g);
    returns the number of groups holding radix^g or more (a corrupt payload)."""
    r = np.uint64(radix)
    groups = codes.shape[0] // g
    bad = 0
    for task in prange((groups + _GROUPS - 1) // _GROUPS):
        for group in range(task * _GROUPS, min(groups, (task + 1) * _GROUPS)):
            word = np.uint64(0)
            k = 0
            while k < bits:
                at = group * bits + k
                shift = at & 7
                take = min(8 - shift, bits - k)
                piece = (np.uint64(packed[at >> 3]) >> np.uint64(shift)) & (
                    (np.uint64(1) << np.uint64(take)) - np.uint64(1)
                )
                word = word | (piece << np.uint64(k))
                k += take
            for i in range(g):
                codes[group * g + i] = word % r
                word = word // r
            if word != 0:
                bad += 1
    return bad
