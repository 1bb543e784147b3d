"""Packing integer codes into bytes at (almost) log2(radix) bits each, and a payload container.

Rate honesty starts here: a kernel's payload is bytes, and its rate is 8·len(bytes) per entry.

**Codes.** Codes in [0, radix) are grouped ``g`` at a time (:func:`group_size`: the g with
radix^g ≤ 2^64 and the fewest bits per code). Each group is the base-radix number
c_0 + c_1·radix + …, written with B = bitlength(radix^g − 1) bits, least significant bit first;
the bit stream is then cut into bytes. So a code costs B/g bits: exactly log2(radix) for a
power of two, 61/16 = 3.8125 for radix 14 (log2 14 = 3.807), 33/7 = 4.714 for radix 26
(log2 26 = 4.700). The last group is padded with zero codes.

**Payloads.** :func:`pack_payload` writes a magic word, a little-endian uint32 length, a compact
JSON header (the kernel's name and small metadata, and for each named field its dtype, shape and
radix, if packed) and then the fields' bytes in header order. :func:`unpack_payload` reverses it
and checks every length, so a truncated or altered payload raises instead of decoding garbage.

>>> import numpy as np
>>> codes = np.array([0, 13, 5, 7, 2], dtype=np.uint8)
>>> data = pack_codes(codes, 14)
>>> len(data), unpack_codes(data, 14, 5).tolist()
(8, [0, 13, 5, 7, 2])
"""

from __future__ import annotations

import functools
import json
import struct
from fractions import Fraction
from typing import Any

import numpy as np

__all__ = [
    "MAGIC",
    "bits_per_code",
    "group_size",
    "pack_codes",
    "pack_payload",
    "unpack_codes",
    "unpack_payload",
]

MAGIC = b"QMM1"
_CHUNK_GROUPS = 1 << 15


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
    groups = -(-codes.size // g)
    shifts = np.arange(B, dtype=np.uint64)
    chunks = []
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
        chunks.append(np.packbits(bits.reshape(-1), bitorder="little"))
    return np.concatenate(chunks).tobytes() if chunks else b""


def unpack_codes(data: bytes, radix: int, count: int) -> np.ndarray:
    """The first ``count`` codes packed by :func:`pack_codes` (dtype uint64 → smallest uint)."""
    g, B = group_size(radix), _group_bits(radix)
    groups = -(-count // g)
    need = -(-groups * B // 8)
    if len(data) != need:
        raise ValueError(f"packed codes: expected {need} bytes for {count} codes, got {len(data)}")
    packed = np.frombuffer(data, dtype=np.uint8)
    if groups * B % 8 and packed[-1] >> (groups * B % 8):
        raise ValueError("packed codes: non-zero bits after the last group (corrupt payload)")
    codes = np.empty((groups, g), dtype=np.min_scalar_type(radix - 1))
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
        if (words != 0).any():
            raise ValueError("packed codes: a group holds radix^g or more (corrupt payload)")
    codes = codes.reshape(-1)
    if (codes[count:] != 0).any():
        raise ValueError("packed codes: non-zero padding (corrupt payload)")
    return codes[:count]


def pack_payload(
    kind: str, meta: dict[str, Any], fields: dict[str, tuple[np.ndarray, int | None]]
) -> bytes:
    """Serialize named arrays into one payload.

    ``fields`` maps a name to ``(array, radix)``: with a radix the (integer) array is packed by
    :func:`pack_codes`, with ``None`` its raw little-endian bytes are stored.
    """
    header: dict[str, Any] = {"kind": kind, "meta": meta, "fields": []}
    blobs = []
    for name, (array, radix) in fields.items():
        array = np.asarray(array)
        if radix is None:
            array = array.astype(array.dtype.newbyteorder("<"))
            blob = array.tobytes()
            dtype = array.dtype.str
        else:
            blob = pack_codes(array, radix)
            dtype = None
        header["fields"].append(
            {
                "name": name,
                "shape": list(array.shape),
                "dtype": dtype,
                "radix": radix,
                "bytes": len(blob),
            }
        )
        blobs.append(blob)
    text = json.dumps(header, separators=(",", ":"), sort_keys=True).encode()
    return MAGIC + struct.pack("<I", len(text)) + text + b"".join(blobs)


def unpack_payload(data: bytes, kind: str) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The ``(meta, fields)`` of a payload written by :func:`pack_payload` for ``kind``."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"payload must be bytes, got {type(data).__name__}")
    data = bytes(data)
    if data[:4] != MAGIC or len(data) < 8:
        raise ValueError("payload does not start with the quantmm magic word b'QMM1'")
    (length,) = struct.unpack("<I", data[4:8])
    try:
        header = json.loads(data[8 : 8 + length].decode())
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"payload header is not valid JSON: {error}") from None
    if not isinstance(header, dict) or not isinstance(header.get("fields"), list):
        raise ValueError("payload header lacks its field list (corrupt payload)")
    if header.get("kind") != kind:
        raise ValueError(f"payload is of kind {header.get('kind')!r}, expected {kind!r}")
    try:
        return _read_fields(data, 8 + length, header)
    except (KeyError, TypeError, AttributeError) as error:
        raise ValueError(f"payload header is malformed: {error!r}") from None


def _read_fields(data: bytes, offset: int, header: dict[str, Any]):
    fields = {}
    for field in header["fields"]:
        blob = data[offset : offset + field["bytes"]]
        if len(blob) != field["bytes"]:
            raise ValueError(f"payload is truncated in field {field['name']!r}")
        offset += field["bytes"]
        shape = tuple(field["shape"])
        count = int(np.prod(shape, dtype=np.int64))
        if field["radix"] is None:
            array = np.frombuffer(blob, dtype=np.dtype(field["dtype"]))
            if array.size != count:
                raise ValueError(f"payload field {field['name']!r} has the wrong length")
            fields[field["name"]] = array.reshape(shape)
        else:
            fields[field["name"]] = unpack_codes(blob, field["radix"], count).reshape(shape)
    if offset != len(data):
        raise ValueError(f"payload has {len(data) - offset} trailing bytes")
    return header["meta"], fields
