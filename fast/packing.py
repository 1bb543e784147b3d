"""Packing integer codes into bytes at (almost) log2(radix) bits each.

Rate honesty starts here: a kernel's payload is bytes, and its rate is 8·len(bytes) per entry.

**Codes.** Codes in [0, radix) are grouped ``g`` at a time (:func:`group_size`: the g with
radix^g ≤ 2^64 and the fewest bits per code). Each group is the base-radix number
c_0 + c_1·radix + …, written with B = bitlength(radix^g − 1) bits, least significant bit first;
the bit stream is then cut into bytes. So a code costs B/g bits: exactly log2(radix) for a
power of two, 61/16 = 3.8125 for radix 14 (log2 14 = 3.807), 33/7 = 4.714 for radix 26
(log2 26 = 4.700). The last group is padded with zero codes.

The payload container that holds packed codes next to raw fields is :mod:`quantmm.fast.payload`.
With numba, uint8 and uint16 codes are packed, and all codes unpacked, by compiled loops
(:mod:`quantmm.fast.compiled`) that write the same bytes.

>>> import numpy as np
>>> codes = np.array([0, 13, 5, 7, 2], dtype=np.uint8)
>>> data = pack_codes(codes, 14)
>>> len(data), unpack_codes(data, 14, 5).tolist()
(8, [0, 13, 5, 7, 2])
"""

from __future__ import annotations

import functools
from fractions import Fraction
from typing import Any

import numpy as np

from . import compiled

__all__ = [
    "bits_per_code",
    "group_size",
    "pack_codes",
    "packed_bytes",
    "unpack_codes",
]

_CHUNK_GROUPS = 1 << 12  # groups per step: temporaries of 2^12·64 bits per bit position


def group_size(radix: int) -> int:
    """The number g of base-``radix`` codes packed into one group: among the g with
    radix^g ≤ 2^64, the one with the fewest bits per code B/g (the largest such g on ties).

    >>> group_size(16), group_size(14), group_size(26)
    (16, 16, 7)
    """
    if not isinstance(radix, int) or radix < 2 or radix > 2**32:
        raise ValueError(f"radix must be an integer in [2, 2**32], got {radix!r}")
    return _best_group(radix)


@functools.cache
def _best_group(radix: int) -> int:
    largest = 1
    while radix ** (largest + 1) <= 2**64:
        largest += 1
    return min(
        range(largest, 0, -1),
        key=lambda g: Fraction((radix**g - 1).bit_length(), g),
    )


def _group_bits(radix: int) -> int:
    return (radix ** group_size(radix) - 1).bit_length()


def bits_per_code(radix: int) -> float:
    """Bits each code costs when packed: B/g (see the module docstring).

    >>> bits_per_code(16), bits_per_code(14)
    (4.0, 3.8125)
    """
    return _group_bits(radix) / group_size(radix)


def packed_bytes(radix: int, count: int) -> int:
    """The length in bytes of :func:`pack_codes` of ``count`` codes in base ``radix``.

    >>> packed_bytes(14, 5), packed_bytes(16, 16), packed_bytes(2, 0)
    (8, 8, 0)
    """
    g, B = group_size(radix), _group_bits(radix)
    groups = -(-count // g)
    return -(-groups * B // 8)


def pack_codes(codes: Any, radix: int) -> bytes:
    """Pack a 1-D array of integer codes in [0, radix) into bytes."""
    g, B = group_size(radix), _group_bits(radix)
    codes = np.asarray(codes).reshape(-1)
    if codes.dtype.kind not in "iu":
        raise TypeError(f"codes must be integers, got dtype {codes.dtype}")
    if codes.size and (codes.min() < 0 or codes.max() >= radix):
        raise ValueError(
            f"codes must lie in [0, {radix}), got range [{codes.min()}, {codes.max()}]"
        )
    if codes.dtype in compiled.PACKED_DTYPES and compiled.available():
        return compiled.pack_codes(codes, radix, g, B, packed_bytes(radix, codes.size)).tobytes()
    groups = -(-codes.size // g)
    shifts = np.arange(B, dtype=np.uint64)
    out = np.empty(packed_bytes(radix, codes.size), dtype=np.uint8)
    for start in range(0, groups, _CHUNK_GROUPS):  # bounded temporaries; _CHUNK_GROUPS % 8 == 0
        stop = min(groups, start + _CHUNK_GROUPS)
        block = np.zeros((stop - start) * g, dtype=np.uint64)
        part = codes[start * g : stop * g]
        block[: part.size] = part
        block = block.reshape(stop - start, g)
        words = np.zeros(stop - start, dtype=np.uint64)
        for i in range(g - 1, -1, -1):  # Horner: exact, radix^g ≤ 2^64
            words = words * np.uint64(radix) + block[:, i]
        bits = ((words[:, None] >> shifts) & np.uint64(1)).astype(np.uint8)
        chunk = np.packbits(bits.reshape(-1), bitorder="little")
        out[start * B // 8 : start * B // 8 + chunk.size] = chunk  # chunks start on a byte
    return out.tobytes()


def unpack_codes(data: bytes, radix: int, count: int) -> np.ndarray:
    """The first ``count`` codes packed by :func:`pack_codes` (dtype uint64 → smallest uint)."""
    g, B = group_size(radix), _group_bits(radix)
    groups = -(-count // g)
    need = packed_bytes(radix, count)
    if len(data) != need:
        raise ValueError(f"packed codes: expected {need} bytes for {count} codes, got {len(data)}")
    packed = np.frombuffer(data, dtype=np.uint8)
    if groups * B % 8 and packed[-1] >> (groups * B % 8):
        raise ValueError("packed codes: non-zero bits after the last group (corrupt payload)")
    codes = np.empty((groups, g), dtype=np.min_scalar_type(radix - 1))
    if compiled.available():
        overflowing = compiled.unpack_codes(packed, radix, g, B, codes.reshape(-1))
    else:
        overflowing = _unpack_groups(packed, radix, g, B, codes)
    if overflowing:
        raise ValueError("packed codes: a group holds radix^g or more (corrupt payload)")
    codes = codes.reshape(-1)
    if (codes[count:] != 0).any():
        raise ValueError("packed codes: non-zero padding (corrupt payload)")
    return codes[:count]


def _unpack_groups(packed: np.ndarray, radix: int, g: int, B: int, codes: np.ndarray) -> int:
    """The groups of ``packed`` into ``codes`` (groups × g), a chunk of groups at a time;
    returns the number of groups holding radix^g or more."""
    groups = codes.shape[0]
    overflowing = 0
    for start in range(0, groups, _CHUNK_GROUPS):  # chunks start on byte boundaries
        stop = min(start + _CHUNK_GROUPS, groups)
        chunk_bytes = packed[start * B // 8 : -(-stop * B // 8)]
        bits = np.unpackbits(chunk_bytes, bitorder="little")[: (stop - start) * B]
        bits = bits.reshape(stop - start, B).astype(np.uint64)
        words = np.zeros(stop - start, dtype=np.uint64)
        for i in range(B - 1, -1, -1):
            words = (words << np.uint64(1)) | bits[:, i]
        for i in range(g):
            codes[start:stop, i] = words % np.uint64(radix)
            words = words // np.uint64(radix)
        overflowing += int(np.count_nonzero(words))
    return overflowing
