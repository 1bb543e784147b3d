"""The payload container: versioned, checksummed, parsed by one strict schema.

Every payload of the project's kernels is one byte string laid out as

    ``QMM`` + format version (one ASCII digit, now ``2``)            4 bytes
    header length L (little-endian uint32)                          4 bytes
    header: compact JSON object {"kind", "meta", "fields"}          L bytes
    the fields' bytes, in header order
    CRC-32 (``zlib.crc32``, little-endian uint32) of all the above   4 bytes

Every byte, the checksum included, is counted in the rate (8·len(payload) per entry).

:func:`unpack_payload` refuses, with :class:`PayloadError` (a :class:`ValueError`) naming the
payload and the field, anything that is not exactly such a payload: a wrong magic word or
version, a checksum that does not match (any corruption of up to 32 consecutive bits, and all
but a 2^-32 fraction of other corruptions), a header that is not strict JSON (duplicate keys,
NaN or Infinity constants, nesting deeper than a few levels), a field list whose names, shapes,
dtypes, radices or byte counts are not those the kernel expects (``layout``), or trailing bytes.
The checksum guards against accidents; it is not a signature, so a deliberately forged payload
with a valid checksum meets the same schema and range checks, and each kernel then checks the
values it reads (:mod:`quantmm.fast.nested_lattice`, :mod:`quantmm.fast.scalar_matmul`).

>>> import numpy as np
>>> data = pack_payload("demo", {"n": 3}, {"codes": (np.array([0, 13, 5]), 14)})
>>> data[:4], len(data)
(b'QMM2', 124)
>>> meta, fields = unpack_payload(data, "demo")
>>> meta, fields["codes"].tolist()
({'n': 3}, [0, 13, 5])
>>> unpack_payload(data[:50] + bytes([data[50] ^ 1]) + data[51:], "demo", name="payload_a")
Traceback (most recent call last):
...
quantmm.fast.payload.PayloadError: payload_a: checksum mismatch (the payload is corrupt)
"""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .packing import group_size, pack_codes, packed_bytes, unpack_codes

__all__ = [
    "FORMAT_VERSION",
    "MAGIC",
    "Field",
    "PayloadError",
    "meta_integer",
    "meta_keys",
    "pack_payload",
    "unpack_payload",
]

#: The payload format this quantmm writes and reads.
FORMAT_VERSION = 2
#: The first four bytes of every payload: ``QMM`` and the version digit.
MAGIC = b"QMM" + str(FORMAT_VERSION).encode()
_PREFIX = b"QMM"
_FRAME = 4 + 4 + 4  # magic, header length, checksum
#: Raw (unpacked) field dtypes a payload may hold, little-endian.
RAW_DTYPES = ("|b1", "|u1", "|i1", "<u2", "<i2", "<u4", "<i4", "<u8", "<i8", "<f4", "<f8")
_MAX_RANK = 8
_MAX_DEPTH = 8
_HEADER_KEYS = {"kind", "meta", "fields"}
_FIELD_KEYS = {"name", "shape", "dtype", "radix", "bytes"}
_FIELD_KEYS_TEXT = str(sorted(_FIELD_KEYS))


class PayloadError(ValueError):
    """A payload that is not a well-formed payload of the expected kind and layout."""


@dataclass(frozen=True)
class Field:
    """What a kernel expects of one payload field: its shape (``None`` for a size the header
    states), and either its raw dtypes (``dtypes``, a tuple of :data:`RAW_DTYPES` strings) or
    its packing radix (``radix``)."""

    shape: tuple[int | None, ...]
    dtypes: tuple[str, ...] = ()
    radix: int | None = None


def pack_payload(
    kind: str, meta: dict[str, Any], fields: dict[str, tuple[np.ndarray, int | None]]
) -> bytes:
    """Serialize named arrays into one payload (module docstring).

    ``fields`` maps a name to ``(array, radix)``: with a radix the (integer) array is packed by
    :func:`~quantmm.fast.packing.pack_codes`, with ``None`` its raw little-endian bytes are
    stored. ``meta`` must be JSON (finite numbers, strings, lists, objects).
    """
    header: dict[str, Any] = {"kind": kind, "meta": meta, "fields": []}
    blobs = []
    for name, (array, radix) in fields.items():
        array = np.asarray(array)
        if radix is None:
            array = array.astype(array.dtype.newbyteorder("<"))
            if array.dtype.str not in RAW_DTYPES:
                raise TypeError(f"field {name!r}: dtype {array.dtype} cannot be stored raw")
            blob = array.tobytes()
            dtype = array.dtype.str
        else:
            blob = pack_codes(array, radix)
            dtype = None
        header["fields"].append(
            {
                "name": name,
                "shape": [int(size) for size in array.shape],
                "dtype": dtype,
                "radix": radix,
                "bytes": len(blob),
            }
        )
        blobs.append(blob)
    text = json.dumps(header, separators=(",", ":"), sort_keys=True, allow_nan=False).encode()
    body = bytearray(MAGIC + struct.pack("<I", len(text)) + text)
    for blob in blobs:
        body += blob
    body += struct.pack("<I", zlib.crc32(body))
    return bytes(body)


def unpack_payload(
    data: bytes,
    kind: str,
    *,
    name: str = "payload",
    layout: Callable[[dict[str, Any]], Mapping[str, Field]] | None = None,
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The ``(meta, fields)`` of a payload written by :func:`pack_payload` for ``kind``.

    ``layout``, given the header's meta, returns the fields the kernel expects (it may itself
    raise :class:`PayloadError` for meta it does not accept); the header's field list must match
    it exactly before any field is read. ``name`` (``"payload_a"``, …) prefixes every error.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"{name} must be bytes, got {type(data).__name__}")
    data = bytes(data)
    if len(data) < _FRAME or data[:3] != _PREFIX:
        raise PayloadError(f"{name}: does not start with the quantmm magic word {MAGIC!r}")
    if data[:4] != MAGIC:
        raise PayloadError(
            f"{name}: payload format {data[3:4]!r}, this quantmm reads format {FORMAT_VERSION} "
            f"only (re-encode the matrix)"
        )
    (checksum,) = struct.unpack("<I", data[-4:])
    if zlib.crc32(data[:-4]) != checksum:
        raise PayloadError(f"{name}: checksum mismatch (the payload is corrupt)")
    (length,) = struct.unpack("<I", data[4:8])
    if length > len(data) - _FRAME:
        raise PayloadError(f"{name}: header length {length} exceeds the payload")
    header = _parse_header(data[8 : 8 + length], name)
    if header["kind"] != kind:
        raise PayloadError(f"{name}: payload is of kind {header['kind']!r}, expected {kind!r}")
    meta = header["meta"]
    descriptors = [_field_descriptor(field, name) for field in header["fields"]]
    names = [descriptor["name"] for descriptor in descriptors]
    if len(set(names)) != len(names):
        raise PayloadError(f"{name}: a field name appears twice in {names}")
    if layout is not None:
        _match_layout(descriptors, layout(meta), name)
    return meta, _read_fields(data, 8 + length, descriptors, name)


def meta_keys(meta: Mapping[str, Any], keys: set[str], name: str) -> None:
    """PayloadError unless the header meta holds exactly ``keys``.

    >>> meta_keys({"n": 4, "x": 1}, {"n"}, "payload_b")
    Traceback (most recent call last):
    ...
    quantmm.fast.payload.PayloadError: payload_b: header meta has keys ['n', 'x'], expected ['n']
    """
    if set(meta) != set(keys):
        raise PayloadError(f"{name}: header meta has keys {sorted(meta)}, expected {sorted(keys)}")


def meta_integer(
    meta: Mapping[str, Any], key: str, name: str, minimum: int, maximum: int | None = None
) -> int:
    """``meta[key]``, checked to be an integer in [minimum, maximum] (PayloadError otherwise).

    >>> meta_integer({"n": 4}, "n", "payload_a", 1)
    4
    >>> meta_integer({"n": 0}, "n", "payload_a", 1, 10)
    Traceback (most recent call last):
    ...
    quantmm.fast.payload.PayloadError: payload_a: field 'n' must be an integer in [1, 10], got 0
    """
    value = meta.get(key)
    bound = f"[{minimum}, {maximum}]" if maximum is not None else f">= {minimum}"
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or value < minimum
        or (maximum is not None and value > maximum)
    ):
        raise PayloadError(f"{name}: field {key!r} must be an integer in {bound}, got {value!r}")
    return value


def _reject_constant(constant: str) -> None:
    raise ValueError(f"the constant {constant} is not allowed")


def _unique_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ValueError(f"duplicate key in {keys}")
    return dict(pairs)


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(item) for item in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(item) for item in value), default=0)
    return 0


def _parse_header(text: bytes, name: str) -> dict[str, Any]:
    try:
        header = json.loads(
            text.decode("utf-8"),
            parse_constant=_reject_constant,
            object_pairs_hook=_unique_object,
        )
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise PayloadError(f"{name}: header is not valid JSON: {error}") from None
    if not isinstance(header, dict) or set(header) != _HEADER_KEYS:
        raise PayloadError(f"{name}: header must be an object with keys {sorted(_HEADER_KEYS)}")
    if _depth(header) > _MAX_DEPTH:
        raise PayloadError(f"{name}: header is nested deeper than {_MAX_DEPTH} levels")
    if not isinstance(header["kind"], str):
        raise PayloadError(f"{name}: header field 'kind' must be a string")
    if not isinstance(header["meta"], dict):
        raise PayloadError(f"{name}: header field 'meta' must be an object")
    if not isinstance(header["fields"], list):
        raise PayloadError(f"{name}: header field 'fields' must be a list")
    return header


def _field_descriptor(field: Any, name: str) -> dict[str, Any]:
    """One entry of the header's field list, checked: name, shape, dtype xor radix, bytes."""
    if not isinstance(field, dict) or set(field) != _FIELD_KEYS:
        raise PayloadError(
            f"{name}: a field entry must be an object with keys {sorted(_FIELD_KEYS)}"
        )
    label = field["name"]
    if not isinstance(label, str):
        raise PayloadError(f"{name}: a field's name must be a string, got {label!r}")
    where = f"{name}: field {label!r}"
    shape = field["shape"]
    if (
        not isinstance(shape, list)
        or len(shape) > _MAX_RANK
        or not all(isinstance(size, int) and not isinstance(size, bool) for size in shape)
        or any(size < 0 for size in shape)
    ):
        raise PayloadError(f"{where}: shape must be a list of at most {_MAX_RANK} sizes >= 0")
    count = 1
    for size in shape:
        count *= size
    dtype, radix = field["dtype"], field["radix"]
    if radix is None:
        if dtype not in RAW_DTYPES:
            raise PayloadError(f"{where}: dtype must be one of {RAW_DTYPES}, got {dtype!r}")
        expected = count * np.dtype(dtype).itemsize
    else:
        if dtype is not None:
            raise PayloadError(f"{where}: a packed field has no dtype, got {dtype!r}")
        if isinstance(radix, bool) or not isinstance(radix, int) or not 2 <= radix <= 2**32:
            raise PayloadError(f"{where}: radix must be an integer in [2, 2**32], got {radix!r}")
        group_size(radix)
        expected = packed_bytes(radix, count)
    if field["bytes"] != expected or isinstance(field["bytes"], bool):
        raise PayloadError(f"{where}: holds {field['bytes']!r} bytes, its shape needs {expected}")
    return {"name": label, "shape": tuple(shape), "dtype": dtype, "radix": radix, "bytes": expected}


def _match_layout(descriptors: list[dict[str, Any]], layout: Mapping[str, Field], name: str):
    names = [descriptor["name"] for descriptor in descriptors]
    if names != list(layout):
        raise PayloadError(f"{name}: fields {names}, expected {list(layout)}")
    for descriptor in descriptors:
        spec = layout[descriptor["name"]]
        where = f"{name}: field {descriptor['name']!r}"
        shape = descriptor["shape"]
        if len(shape) != len(spec.shape) or any(
            want is not None and size != want for size, want in zip(shape, spec.shape, strict=False)
        ):
            raise PayloadError(f"{where}: shape {list(shape)}, expected {list(spec.shape)}")
        if spec.radix is not None and descriptor["radix"] != spec.radix:
            raise PayloadError(f"{where}: radix {descriptor['radix']!r}, expected {spec.radix}")
        if spec.radix is None and descriptor["dtype"] not in spec.dtypes:
            raise PayloadError(
                f"{where}: dtype {descriptor['dtype']!r}, expected one of {spec.dtypes}"
            )


def _read_fields(
    data: bytes, offset: int, descriptors: list[dict[str, Any]], name: str
) -> dict[str, np.ndarray]:
    end = len(data) - 4
    if offset + sum(descriptor["bytes"] for descriptor in descriptors) != end:
        raise PayloadError(
            f"{name}: the fields hold {sum(d['bytes'] for d in descriptors)} bytes, the payload "
            f"{end - offset} after its header"
        )
    fields = {}
    for descriptor in descriptors:
        blob = data[offset : offset + descriptor["bytes"]]
        offset += descriptor["bytes"]
        shape = descriptor["shape"]
        if descriptor["radix"] is None:
            array = np.frombuffer(blob, dtype=np.dtype(descriptor["dtype"])).reshape(shape)
        else:
            count = int(np.prod(shape, dtype=np.int64))
            try:
                array = unpack_codes(blob, descriptor["radix"], count).reshape(shape)
            except ValueError as error:
                raise PayloadError(f"{name}: field {descriptor['name']!r}: {error}") from None
        fields[descriptor["name"]] = array
    return fields
