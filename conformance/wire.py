"""The byte format between the harness and its kernel workers: frames of JSON plus raw blobs.

Each frame is ``b"QMM1"``, a 4-byte little-endian header length, a UTF-8 JSON object whose
``"blobs"`` field lists the lengths of the raw byte strings that follow, and those byte strings.
Nothing is pickled: a worker runs untrusted kernel code, so what it sends back is parsed as data
(JSON, and arrays rebuilt with :func:`array_from` from a whitelisted dtype), never executed.

>>> import io
>>> stream = io.BytesIO()
>>> write_frame(stream, {"op": "ping"}, [b"abc"])
>>> _ = stream.seek(0)
>>> read_frame(stream)
({'op': 'ping', 'blobs': [3]}, [b'abc'])
"""

from __future__ import annotations

import json
import struct
from typing import Any, BinaryIO

__all__ = [
    "ARRAY_DTYPES",
    "FrameError",
    "array_from",
    "array_meta",
    "frame",
    "read_frame",
    "write_frame",
]

MAGIC = b"QMM1"
MAX_HEADER = 1 << 24  # 16 MiB of JSON
MAX_BLOB = 1 << 31  # 2 GiB per blob

#: The dtypes an array may be sent as (little-endian); anything else is described, not sent.
ARRAY_DTYPES = frozenset("<f2 <f4 <f8 <c8 <c16 |b1 |i1 |u1 <i2 <u2 <i4 <u4 <i8 <u8".split())


class FrameError(ValueError):
    """A frame that is not in the format above (a broken or dishonest worker)."""


def frame(header: dict[str, Any], blobs: list[bytes] = ()) -> bytes:
    """One frame as bytes (``header`` gets its ``"blobs"`` field set here)."""
    blobs = [bytes(blob) for blob in blobs]
    text = json.dumps({**header, "blobs": [len(blob) for blob in blobs]}, allow_nan=False)
    encoded = text.encode("utf-8")
    return b"".join([MAGIC, struct.pack("<I", len(encoded)), encoded, *blobs])


def write_frame(stream: BinaryIO, header: dict[str, Any], blobs: list[bytes] = ()) -> None:
    """Write one frame and flush."""
    stream.write(frame(header, blobs))
    stream.flush()


def _read_exact(stream: BinaryIO, size: int) -> bytes:
    chunks, left = [], size
    while left:
        chunk = stream.read(left)
        if not chunk:
            raise EOFError(f"the stream ended {left} bytes before the end of a frame")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def read_frame(stream: BinaryIO) -> tuple[dict[str, Any], list[bytes]]:
    """Read one frame; raises EOFError at a clean or broken end, FrameError on a bad frame."""
    start = stream.read(8)
    if not start:
        raise EOFError("the stream ended")
    start += _read_exact(stream, 8 - len(start)) if len(start) < 8 else b""
    if start[:4] != MAGIC:
        raise FrameError(f"a frame must start with {MAGIC!r}, got {start[:4]!r}")
    (length,) = struct.unpack("<I", start[4:])
    if length > MAX_HEADER:
        raise FrameError(f"frame header of {length} bytes is over the limit {MAX_HEADER}")
    try:
        header = json.loads(_read_exact(stream, length).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise FrameError(f"frame header is not JSON: {error}") from None
    sizes = header.get("blobs") if isinstance(header, dict) else None
    if not isinstance(sizes, list) or not all(
        isinstance(size, int) and not isinstance(size, bool) and 0 <= size <= MAX_BLOB
        for size in sizes
    ):
        raise FrameError("frame header must be an object whose 'blobs' lists blob sizes")
    return header, [_read_exact(stream, size) for size in sizes]


def array_meta(array: Any) -> tuple[dict[str, Any], bytes]:
    """(description, C-order little-endian bytes) of a NumPy array, for :func:`array_from`."""
    import numpy as np

    dtype = array.dtype.newbyteorder("<")
    return {"dtype": dtype.str, "shape": list(array.shape)}, np.ascontiguousarray(
        array, dtype=dtype
    ).tobytes()


def array_from(meta: dict[str, Any], blob: bytes) -> Any:
    """Rebuild a read-only C-ordered NumPy array from ``meta`` (dtype, shape) and ``blob``;
    FrameError if the dtype is not whitelisted or the sizes disagree."""
    import numpy as np

    dtype, shape = meta.get("dtype"), meta.get("shape")
    if dtype not in ARRAY_DTYPES:
        raise FrameError(f"array dtype {dtype!r} is not one that can be received")
    if not isinstance(shape, list) or not all(
        isinstance(size, int) and not isinstance(size, bool) and size >= 0 for size in shape
    ):
        raise FrameError(f"array shape must be a list of sizes, got {shape!r}")
    count = 1
    for size in shape:
        count *= size
    if count * np.dtype(dtype).itemsize != len(blob):
        raise FrameError(f"array of shape {shape} and dtype {dtype} cannot have {len(blob)} bytes")
    return np.frombuffer(blob, dtype=dtype).reshape(shape)
