"""The payload container (quantmm.fast.payload) and the kernels' payload checks.

Expected layouts are read by hand here: the magic word, a little-endian uint32 header length, the
JSON header (parsed with the standard library), the fields' bytes and a CRC-32 computed by a
bit-by-bit implementation of the reflected polynomial 0xEDB88320 (independent of zlib). Corrupt
payloads are built from real kernel payloads; the promise tested is that nothing but
:class:`PayloadError` (a ValueError naming the payload) ever comes out of a decoder fed bytes
that are not exactly what an encoder wrote, and that a payload forged with a valid checksum
either raises PayloadError or gives a finite estimate of the right shape.
"""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quantmm.fast import NestedLatticeMatmul, PayloadError, ScalarMatmul
from quantmm.fast.packing import pack_codes
from quantmm.fast.payload import MAGIC, Field, pack_payload, unpack_payload


def bitwise_crc32(data: bytes) -> int:
    """CRC-32 (IEEE 802.3, reflected, init and final xor 0xFFFFFFFF), one bit at a time."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0xEDB88320 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def reseal(body: bytes) -> bytes:
    """``body`` (a payload without its last 4 bytes) with a valid checksum appended."""
    return body + struct.pack("<I", bitwise_crc32(body))


def read_header(payload: bytes) -> tuple[dict, bytes]:
    """The JSON header and the fields' bytes of a payload, read by hand."""
    (length,) = struct.unpack("<I", payload[4:8])
    return json.loads(payload[8 : 8 + length]), payload[8 + length : -4]


def rebuilt(payload: bytes, header: dict, body: bytes | None = None) -> bytes:
    """A payload with ``header`` (and optionally new field bytes), resealed."""
    original_body = read_header(payload)[1]
    text = json.dumps(header, separators=(",", ":"), sort_keys=True).encode()
    body = original_body if body is None else body
    return reseal(MAGIC + struct.pack("<I", len(text)) + text + body)


def sample_fields() -> dict[str, tuple[np.ndarray, int | None]]:
    rng = np.random.default_rng(5)
    return {
        "norms": (np.array([1.5, -0.0, 2.0**-1074, 1e308]), None),
        "single": (np.array([[1.25, -3.0]], dtype=np.float32), None),
        "flags": (np.array([0, 255, 7], dtype=np.uint8), None),
        "means": (np.array([-(2**62), 0, 2**62], dtype=np.int64), None),
        "codes": (rng.integers(0, 14, size=(4, 8)), 14),
        "wide_codes": (np.array([0, 2**32 - 1, 12345], dtype=np.uint64), 2**32),
        "empty": (np.zeros((0, 3)), None),
    }


SAMPLE_META = {"n": 8, "seed": 2**63, "name": "E8 q=14", "scales": [0.5, 1.25], "nested": {"a": []}}


def test_payload_round_trip():
    fields = sample_fields()
    payload = pack_payload("nested-lattice", SAMPLE_META, fields)
    meta, decoded = unpack_payload(payload, "nested-lattice")
    assert meta == SAMPLE_META
    assert list(decoded) == list(fields)
    for name, (array, radix) in fields.items():
        assert decoded[name].shape == array.shape, name
        assert np.array_equal(decoded[name], array), name
        if radix is None:
            assert decoded[name].dtype == array.dtype.newbyteorder("<"), name
    assert unpack_payload(bytearray(payload), "nested-lattice")[0] == SAMPLE_META
    assert unpack_payload(memoryview(payload), "nested-lattice")[0] == SAMPLE_META


def test_payload_layout_magic_length_header_fields_then_crc32():
    """Read the payload by hand: b'QMM2', uint32 header length, JSON header, the fields' bytes,
    and the CRC-32 of everything before it (bit-by-bit CRC, not zlib)."""
    codes = np.array([0, 13, 5, 7, 2])
    norms = np.array([1.0, -2.5])
    payload = pack_payload("k", {"x": 1}, {"codes": (codes, 14), "norms": (norms, None)})
    assert payload[:4] == b"QMM2"
    header, body = read_header(payload)
    assert header["kind"] == "k" and header["meta"] == {"x": 1}
    assert [field["name"] for field in header["fields"]] == ["codes", "norms"]
    assert body == pack_codes(codes, 14) + norms.astype("<f8").tobytes()
    assert struct.unpack("<I", payload[-4:])[0] == bitwise_crc32(payload[:-4])


def small_payload() -> bytes:
    return pack_payload(
        "k",
        {"m": 2},
        {"codes": (np.array([1, 2, 3]), 14), "x": (np.array([1.5, -2.0], dtype=np.float32), None)},
    )


def test_every_truncation_and_every_single_bit_flip_raises_payload_error():
    payload = small_payload()
    for cut in range(len(payload)):
        with pytest.raises(PayloadError):
            unpack_payload(payload[:cut], "k")
    for position in range(len(payload)):
        for bit in range(8):
            broken = bytearray(payload)
            broken[position] ^= 1 << bit
            with pytest.raises(PayloadError):
                unpack_payload(bytes(broken), "k")


def test_wrong_magic_old_format_wrong_kind_and_trailing_bytes_raise():
    payload = small_payload()
    with pytest.raises(PayloadError, match="magic"):
        unpack_payload(b"XMM2" + payload[4:], "k")
    with pytest.raises(PayloadError, match=r"format b'1'.*reads format 2"):
        unpack_payload(reseal(b"QMM1" + payload[4:-4]), "k")
    with pytest.raises(PayloadError, match="kind 'k', expected 'other'"):
        unpack_payload(payload, "other")
    with pytest.raises(PayloadError, match="checksum"):
        unpack_payload(payload + b"\x00", "k")
    with pytest.raises(PayloadError, match="after its header"):
        unpack_payload(reseal(payload[:-4] + b"\x00"), "k")


def test_the_payload_name_prefixes_every_error():
    with pytest.raises(PayloadError, match=r"^payload_b: checksum"):
        unpack_payload(small_payload()[:-1] + b"\x00", "k", name="payload_b")


@pytest.mark.parametrize(
    ("text", "match"),
    [
        (b"\xff", "not valid JSON"),
        (b'{"kind":"k","meta":{},"fields":[],"kind":"k"}', "duplicate key"),
        (b'{"kind":"k","meta":{"x":NaN},"fields":[]}', "NaN"),
        (b'{"kind":"k","meta":{"x":' + b"[" * 100 + b"]" * 100 + b'},"fields":[]}', "deep"),
        (b"[" * 100_000 + b"]" * 100_000, "not valid JSON: maximum recursion depth"),
        (b"[]", "must be an object"),
        (b'{"kind":"k","meta":{}}', "must be an object with keys"),
        (b'{"kind":"k","meta":[],"fields":[]}', "'meta' must be an object"),
        (b'{"kind":1,"meta":{},"fields":[]}', "'kind' must be a string"),
        (b'{"kind":"k","meta":{},"fields":{}}', "'fields' must be a list"),
    ],
)
def test_a_header_that_is_not_strict_json_of_the_schema_raises(text, match):
    payload = reseal(MAGIC + struct.pack("<I", len(text)) + text)
    with pytest.raises(PayloadError, match=match):
        unpack_payload(payload, "k")


def test_a_header_length_beyond_the_payload_raises():
    payload = small_payload()
    longer = reseal(payload[:4] + struct.pack("<I", len(payload)) + payload[8:-4])
    with pytest.raises(PayloadError, match="header length"):
        unpack_payload(longer, "k")


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (lambda f: f.update(bytes=f["bytes"] + 1), "its shape needs"),
        (lambda f: f.update(bytes=True), "its shape needs"),
        (lambda f: f.update(shape=[-1]), "shape must be"),
        (lambda f: f.update(shape=[1.5]), "shape must be"),
        (lambda f: f.update(shape=[1] * 9), "shape must be"),
        (lambda f: f.update(shape=[2**60]), "its shape needs"),
        (lambda f: f.update(dtype="|O"), "dtype must be one of"),
        (lambda f: f.update(dtype=">f8"), "dtype must be one of"),
        (lambda f: f.update(dtype="<c16"), "dtype must be one of"),
        (lambda f: f.update(radix=14), "packed field has no dtype"),
        (lambda f: f.update(extra=1), "keys"),
        (lambda f: f.update(name=3), "name must be a string"),
    ],
)
def test_a_lying_field_descriptor_raises(edit, match):
    payload = small_payload()
    header, _ = read_header(payload)
    edit(header["fields"][1])  # the raw float32 field "x"
    with pytest.raises(PayloadError, match=match):
        unpack_payload(rebuilt(payload, header), "k")


@pytest.mark.parametrize("radix", [1, 2**32 + 1, "14", None, True])
def test_a_packed_field_with_a_bad_radix_raises(radix):
    payload = small_payload()
    header, _ = read_header(payload)
    header["fields"][0]["radix"] = radix
    if radix is None:
        header["fields"][0]["dtype"] = None
    with pytest.raises(PayloadError):
        unpack_payload(rebuilt(payload, header), "k")


def test_a_field_name_twice_raises():
    payload = small_payload()
    header, _ = read_header(payload)
    header["fields"][1]["name"] = "codes"
    with pytest.raises(PayloadError, match="appears twice"):
        unpack_payload(rebuilt(payload, header), "k")


@pytest.mark.parametrize(
    ("layout", "match"),
    [
        ({"codes": Field((3,), radix=14)}, "expected \\['codes'\\]"),
        ({"x": Field((2,), ("<f4",)), "codes": Field((3,), radix=14)}, "expected \\['x', 'codes'"),
        ({"codes": Field((4,), radix=14), "x": Field((2,), ("<f4",))}, "shape \\[3\\]"),
        ({"codes": Field((3, 1), radix=14), "x": Field((2,), ("<f4",))}, "shape \\[3\\]"),
        ({"codes": Field((3,), radix=16), "x": Field((2,), ("<f4",))}, "radix 14, expected 16"),
        ({"codes": Field((3,), radix=14), "x": Field((2,), ("<f8",))}, "dtype '<f4'"),
    ],
)
def test_fields_that_do_not_match_the_kernels_layout_raise(layout, match):
    with pytest.raises(PayloadError, match=match):
        unpack_payload(small_payload(), "k", layout=lambda meta: layout)


def test_a_layout_with_a_free_size_accepts_the_headers_size():
    layout = {"codes": Field((None,), radix=14), "x": Field((None,), ("<f4",))}
    _, fields = unpack_payload(small_payload(), "k", layout=lambda meta: layout)
    assert fields["codes"].tolist() == [1, 2, 3]


@pytest.mark.parametrize("data", ["QMM2", [1, 2], np.zeros(8, dtype=np.uint8), None])
def test_non_bytes_payload_raises_type_error(data):
    with pytest.raises(TypeError, match="payload must be bytes"):
        unpack_payload(data, "k")


def test_meta_that_is_not_json_is_refused_when_packing():
    with pytest.raises(ValueError):
        pack_payload("k", {"x": float("nan")}, {})


# -- the kernels ----------------------------------------------------------------------------------

RNG = np.random.default_rng(11)
A = RNG.standard_normal((77, 5))
B = RNG.standard_normal((77, 3))
KERNELS = {
    "nested-mmse": NestedLatticeMatmul(rate=4, seed=1),
    "nested-unbiased-k1": NestedLatticeMatmul(rate=3, scales=1, scaling="unbiased", seed=2),
    "nested-sketch": NestedLatticeMatmul(rate=0.5, seed=3),
    "scalar": ScalarMatmul(4, "lloyd_max"),
}
PAYLOADS = {name: (k.encode_a(A), k.encode_b(B)) for name, k in KERNELS.items()}


def corruptions() -> st.SearchStrategy:
    """(operation, position, value) triples; applied by :func:`corrupt`."""
    return st.tuples(
        st.sampled_from(["flip", "truncate", "insert", "delete", "replace", "random"]),
        st.integers(0, 10**9),
        st.integers(0, 255),
    )


def corrupt(payload: bytes, operations: list[tuple[str, int, int]]) -> bytes:
    data = bytearray(payload)
    for operation, position, value in operations:
        where = position % max(1, len(data))
        if operation == "flip" and data:
            data[where] ^= 1 << (value % 8)
        elif operation == "truncate":
            del data[where:]
        elif operation == "insert":
            data.insert(where, value)
        elif operation == "delete" and data:
            del data[where]
        elif operation == "replace" and data:
            data[where] = value if value != data[where] else value ^ 0xFF
        elif operation == "random":
            data = bytearray(np.random.default_rng(position).integers(0, 256, value % 64, np.uint8))
    return bytes(data)


@settings(max_examples=150, deadline=None, derandomize=True)
@given(
    kernel=st.sampled_from(sorted(KERNELS)),
    side=st.sampled_from(["a", "b"]),
    operations=st.lists(corruptions(), min_size=1, max_size=3),
)
def test_a_corrupted_payload_never_decodes_and_raises_only_payload_error(kernel, side, operations):
    """Random truncations, bit flips, insertions, deletions and random bytes: PayloadError."""
    payload_a, payload_b = PAYLOADS[kernel]
    original = payload_a if side == "a" else payload_b
    broken = corrupt(original, operations)
    if broken == original:
        return
    pair = (broken, payload_b) if side == "a" else (payload_a, broken)
    with pytest.raises(PayloadError, match=f"payload_{side}"):
        KERNELS[kernel].estimate(*pair)


def forged(payload: bytes, operations: list[tuple[str, int, int]]) -> bytes:
    """Corrupt the header and fields, keep the magic word, and reseal with a valid checksum."""
    return reseal(payload[:4] + corrupt(payload[4:-4], operations))


@settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    kernel=st.sampled_from(sorted(KERNELS)),
    side=st.sampled_from(["a", "b"]),
    operations=st.lists(corruptions(), min_size=1, max_size=2),
)
def test_a_forged_payload_with_a_valid_checksum_raises_payload_error_or_decodes_finite(
    kernel, side, operations
):
    """The schema and range checks behind the checksum: nothing but PayloadError, or a finite
    estimate of shape (a, b) (a resealed payload may be a valid encoding of other numbers)."""
    payload_a, payload_b = PAYLOADS[kernel]
    broken = forged(payload_a if side == "a" else payload_b, operations)
    pair = (broken, payload_b) if side == "a" else (payload_a, broken)
    try:
        estimate = KERNELS[kernel].estimate(*pair)
    except PayloadError as error:
        assert str(error).startswith(f"payload_{side}"), error
        return
    except ValueError as error:  # the only other documented error: an estimate beyond float64
        assert "beyond float64's range" in str(error), error
        return
    assert estimate.shape == (5, 3) and np.isfinite(estimate).all()


def edited(payload: bytes, **changes) -> bytes:
    """``payload`` repacked (with a valid checksum) with its meta keys and fields changed: a
    change whose name is a meta key replaces that key, any other replaces (or adds) a field.
    Fields keep the radix the header gives them."""
    header, _ = read_header(payload)
    meta, fields = unpack_payload(payload, header["kind"])
    radices = {field["name"]: field["radix"] for field in header["fields"]}
    for key, value in changes.items():
        if key in meta:
            meta[key] = value
        else:
            fields[key] = value
    packed = {label: (array, radices.get(label)) for label, array in fields.items()}
    return pack_payload(header["kind"], meta, packed)


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"means": np.array([0.0, np.nan, 0, 0, 0], "<f4")}, "'means' holds a NaN"),
        ({"weights": np.array([np.inf, 1, 1, 1, 1])}, "'weights' holds a NaN or infinite"),
        ({"escape_blocks": np.array([3], "<u4")}, "3 escape_blocks but 0|1 escape_blocks but 0"),
        (
            {"escape_blocks": np.array([10**6], "<u4"), "escape_exponents": np.array([1], "u1")},
            "increasing block indices",
        ),
        (
            {"escape_blocks": np.array([2, 1], "<u4"), "escape_exponents": np.array([1, 1], "u1")},
            "increasing block indices",
        ),
        (
            {"escape_blocks": np.array([1], "<u4"), "escape_exponents": np.array([0], "u1")},
            "must lie in \\[1, 255\\]",
        ),
        ({"escape_blocks": np.array([1], "<u8"), "escape_exponents": np.array([1], "u1")}, "<u4"),
        ({"kept": 8}, "'kept' must be an integer in \\[80, 80\\]"),
        ({"n": 0}, "'n' must be an integer"),
        ({"n": True}, "'n' must be an integer"),
        ({"columns": 6}, "shape \\[5\\], expected \\[6\\]"),
        ({"side": "b"}, "is an encoding of 'b', not 'a'"),
        ({"config": "0" * 16}, "another configuration"),
    ],
)
def test_nested_lattice_payload_fields_are_range_checked(changes, match):
    kernel = KERNELS["nested-mmse"]
    payload_a, payload_b = PAYLOADS["nested-mmse"]
    with pytest.raises(PayloadError, match=match):
        kernel.estimate(edited(payload_a, **changes), payload_b)


def test_an_escaped_block_with_a_scale_index_is_refused():
    kernel = KERNELS["nested-mmse"]
    payload_a, payload_b = PAYLOADS["nested-mmse"]
    _, fields = unpack_payload(payload_a, "NestedLatticeMatmul")
    scale_index = fields["scale_index"].copy()
    scale_index[4] = 1
    broken = edited(
        payload_a,
        scale_index=scale_index,
        escape_blocks=np.array([4], "<u4"),
        escape_exponents=np.array([1], "u1"),
    )
    with pytest.raises(PayloadError, match="escaped block has a non-zero scale_index"):
        kernel.estimate(broken, payload_b)


def test_an_estimate_beyond_float64_is_refused_not_returned_as_infinity():
    """Finite weights of 1e300 on both sides: the product's entries are about 1e600/m."""
    kernel = KERNELS["nested-mmse"]
    payload_a, payload_b = PAYLOADS["nested-mmse"]
    big_a = edited(payload_a, weights=np.full(5, 1e300))
    big_b = edited(payload_b, weights=np.full(3, 1e300))
    with pytest.raises(ValueError, match="beyond float64's range"):
        kernel.estimate(big_a, big_b)


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"scales": np.array([1.0, np.nan, 1, 1, 1])}, "'scales' must be finite and >= 0"),
        ({"scales": np.array([1.0, -1.0, 1, 1, 1])}, "'scales' must be finite and >= 0"),
        ({"shape": [77, 6]}, "shape \\[77, 5\\], expected \\[77, 6\\]"),
        ({"shape": [77]}, "two sizes"),
        ({"shape": [0, 5]}, "two sizes"),
        ({"shape": "77x5"}, "two sizes"),
        ({"side": "b"}, "is an encoding of 'b', not 'a'"),
        ({"levels": 8}, "parameters"),
    ],
)
def test_scalar_payload_fields_are_range_checked(changes, match):
    kernel = KERNELS["scalar"]
    payload_a, payload_b = PAYLOADS["scalar"]
    with pytest.raises(PayloadError, match=match):
        kernel.estimate(edited(payload_a, **changes), payload_b)


def test_scalar_payloads_given_in_the_wrong_order_are_refused():
    """Before the side was recorded, estimate(payload_b, payload_a) returned BᵀA silently."""
    kernel = KERNELS["scalar"]
    payload_a, payload_b = PAYLOADS["scalar"]
    with pytest.raises(PayloadError, match="payload_a is an encoding of 'b'"):
        kernel.estimate(payload_b, payload_a)


def test_payloads_of_every_kernel_still_decode_and_carry_the_checksum():
    for name, kernel in KERNELS.items():
        payload_a, payload_b = PAYLOADS[name]
        for payload in (payload_a, payload_b):
            assert payload[:4] == b"QMM2", name
            assert struct.unpack("<I", payload[-4:])[0] == bitwise_crc32(payload[:-4]), name
        assert kernel.estimate(payload_a, payload_b).shape == (5, 3)
