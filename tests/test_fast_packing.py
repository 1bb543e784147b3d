"""Code packing (quantmm.fast.packing) against an independent bit-level decoding.

The expected layout is computed here with Python integers: g is the largest group size with
radix^g ≤ 2^64, B = bitlength(radix^g − 1), each group is the base-radix number Σ c_i·radix^i and
occupies B bits of a little-endian bit stream (least significant bit first), which is cut into
bytes. The tests read the packed bytes with int.from_bytes and compare, so they do not rely on
pack_codes' own group_size or bit twiddling.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from quantmm.fast.packing import (
    bits_per_code,
    group_size,
    pack_codes,
    packed_bytes,
    unpack_codes,
)

RADICES = [2, 3, 7, 14, 16, 255, 256, 1000, 65536, 2**32]


def expected_group_size(radix: int) -> int:
    """Among g with radix^g ≤ 2^64, the fewest bits per code B/g, the largest g on ties
    (exact Python integers: B/g < B'/g' iff B·g' < B'·g)."""
    best_g, best_bits = 1, (radix - 1).bit_length()
    g = 1
    while radix ** (g + 1) <= 2**64:
        g += 1
        bits = (radix**g - 1).bit_length()
        if bits * best_g <= best_bits * g:
            best_g, best_bits = g, bits
    return best_g


def expected_group_bits(radix: int) -> int:
    return (radix ** expected_group_size(radix) - 1).bit_length()


def counts_for(radix: int) -> list[int]:
    g = expected_group_size(radix)
    return sorted({0, 1, g - 1, g, g + 1, 3 * g + 5, 100_000})


def code_patterns(radix: int, count: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    return {
        "random": rng.integers(0, radix, size=count, dtype=np.uint64),
        "zeros": np.zeros(count, dtype=np.uint64),
        "all radix-1": np.full(count, radix - 1, dtype=np.uint64),
    }


def little_endian_bits(data: bytes) -> str:
    """The bytes as a bit string, least significant bit of the first byte first."""
    return "".join(f"{byte:08b}"[::-1] for byte in data)


def independent_groups(data: bytes, group_bits: int, groups: int) -> list[int]:
    """Cut the little-endian bit stream into B-bit groups and read each as an integer."""
    bits = little_endian_bits(data)
    return [
        int(bits[k * group_bits : (k + 1) * group_bits][::-1], 2) if group_bits else 0
        for k in range(groups)
    ]


def expected_group_values(codes: list[int], radix: int, g: int) -> list[int]:
    """Σ c_i·radix^i over each group of g codes, the last group padded with zero codes."""
    values = []
    for start in range(0, len(codes), g):
        group = codes[start : start + g]
        values.append(sum(c * radix**i for i, c in enumerate(group)))
    return values


@pytest.mark.parametrize("radix", RADICES)
def test_group_size_and_bits_per_code_match_the_independent_computation(radix):
    g, B = expected_group_size(radix), expected_group_bits(radix)
    assert group_size(radix) == g
    assert bits_per_code(radix) == B / g
    assert B / g >= math.log2(radix)


def test_bits_per_code_examples():
    """16 → 4 bits exactly; 14 → 16 codes in 61 bits (14^16 < 2^61), 61/16 = 3.8125."""
    assert bits_per_code(16) == 4.0
    assert bits_per_code(14) == 3.8125
    assert bits_per_code(2) == 1.0 and bits_per_code(2**32) == 32.0


@pytest.mark.parametrize("radix", RADICES)
def test_pack_codes_layout_and_round_trip(radix):
    """Byte count ceil(ceil(count/g)·B/8); each B-bit group equals Σ c_i·radix^i; round trip."""
    rng = np.random.default_rng(radix % 1_000_003)
    g, B = expected_group_size(radix), expected_group_bits(radix)
    for count in counts_for(radix):
        for label, codes in code_patterns(radix, count, rng).items():
            data = pack_codes(codes, radix)
            groups = -(-count // g)
            assert len(data) == -(-groups * B // 8), (radix, count, label)
            decoded = unpack_codes(data, radix, count)
            assert decoded.dtype.kind == "u" and np.array_equal(decoded, codes), (radix, count)
            if count == 100_000 and label != "random":
                continue  # the bit-level check below is the slow part; once per radix suffices
            python_codes = [int(c) for c in codes]
            assert independent_groups(data, B, groups) == expected_group_values(
                python_codes, radix, g
            ), (radix, count, label)
            # The bits after the last group (filling the last byte) are zero.
            assert set(little_endian_bits(data)[groups * B :]) <= {"0"}


def test_pack_codes_doctest_example_by_hand():
    """radix 14, codes [0, 13, 5, 7, 2]: one group 13·14 + 5·14² + 7·14³ + 2·14⁴ in 61 bits."""
    value = 13 * 14 + 5 * 14**2 + 7 * 14**3 + 2 * 14**4
    assert pack_codes(np.array([0, 13, 5, 7, 2]), 14) == value.to_bytes(8, "little")


def test_unpack_codes_returns_the_smallest_unsigned_dtype():
    assert unpack_codes(pack_codes([1, 0], 256), 256, 2).dtype == np.uint8
    assert unpack_codes(pack_codes([1, 0], 257), 257, 2).dtype == np.uint16
    assert unpack_codes(pack_codes([1, 0], 2**32), 2**32, 2).dtype == np.uint32


def test_pack_codes_accepts_any_integer_dtype_and_shape():
    codes = np.arange(12, dtype=np.int16).reshape(3, 4)
    assert unpack_codes(pack_codes(codes, 14), 14, 12).tolist() == list(range(12))


@pytest.mark.parametrize("codes", [[0, 14], [-1, 3], [2**40]])
def test_pack_codes_refuses_codes_out_of_range(codes):
    with pytest.raises(ValueError, match=r"codes must lie in \[0, 14\)"):
        pack_codes(np.array(codes, dtype=np.int64), 14)


def test_pack_codes_refuses_non_integer_codes():
    """Repro: unpack_codes(pack_codes(np.array([1.5, 2.7]), 4), 4, 2) gives [1, 2], no error."""
    with pytest.raises(TypeError):
        pack_codes(np.array([1.5, 2.7]), 4)


@pytest.mark.parametrize("radix", [1, 0, -3, 2**32 + 1, 2.0, "16", None, np.int64(16)])
def test_bad_radix_is_refused(radix):
    for call in (
        lambda: pack_codes([0], radix),
        lambda: unpack_codes(b"\x00", radix, 1),
        lambda: bits_per_code(radix),
    ):
        with pytest.raises((TypeError, ValueError), match="radix"):
            call()


def test_unpack_codes_refuses_a_wrong_byte_count():
    data = pack_codes(np.arange(10) % 14, 14)  # 10 codes: one 61-bit group, 8 bytes
    for wrong in (data[:-1], data + b"\x00", b""):
        with pytest.raises(ValueError, match="expected 8 bytes"):
            unpack_codes(wrong, 14, 10)
    with pytest.raises(ValueError, match="expected 16 bytes"):
        unpack_codes(data, 14, 17)  # 17 codes need two groups


@pytest.mark.parametrize(
    ("radix", "group_value", "byte_count"),
    [
        (14, 14**16, 8),  # 14^16 < 2^61: fits the 61 bits but is not a valid group
        (14, 2**61 - 1, 8),
        (3, 2**46 - 1, 6),  # g = 29: 3^29 < 2^46, B = 46
        (1000, 10**18, 8),  # B = 60
    ],
)
def test_unpack_codes_refuses_a_group_holding_radix_to_the_g_or_more(
    radix, group_value, byte_count
):
    g = expected_group_size(radix)
    assert radix**g <= group_value < 2 ** expected_group_bits(radix)
    data = group_value.to_bytes(byte_count, "little")
    with pytest.raises(ValueError, match="radix\\^g or more"):
        unpack_codes(data, radix, g)


@pytest.mark.parametrize("padding_code_position", [1, 5, 15])
def test_unpack_codes_refuses_non_zero_padding_codes(padding_code_position):
    """One code 3 followed by a non-zero code in a padding position of the 16-code group."""
    value = 3 + 1 * 14**padding_code_position
    with pytest.raises(ValueError, match="non-zero padding"):
        unpack_codes(value.to_bytes(8, "little"), 14, 1)
    assert unpack_codes((3).to_bytes(8, "little"), 14, 1).tolist() == [3]


@pytest.mark.parametrize("bit", [61, 62, 63])
def test_unpack_codes_refuses_non_zero_bits_after_the_last_group(bit):
    """radix 14 uses 61 of the 8 bytes' 64 bits; a set bit 61, 62 or 63 is a corrupt payload."""
    with pytest.raises(ValueError, match="non-zero bits after the last group"):
        unpack_codes((3 + 2**bit).to_bytes(8, "little"), 14, 1)


@pytest.mark.parametrize("radix", [14, 1000])
def test_pack_codes_across_many_groups(radix):
    """More than 2^15 groups of B = 61 (radix 14) or 60 (radix 1000) bits: the layout stays one
    continuous little-endian bit stream however the implementation splits its work."""
    g, B = expected_group_size(radix), expected_group_bits(radix)
    count = 40_000 * g + 3
    codes = np.random.default_rng(radix).integers(0, radix, size=count, dtype=np.uint64)
    data = pack_codes(codes, radix)
    groups = -(-count // g)
    assert len(data) == -(-groups * B // 8)
    assert np.array_equal(unpack_codes(data, radix, count), codes)
    python_codes = [int(c) for c in codes]
    assert independent_groups(data, B, groups) == expected_group_values(python_codes, radix, g)


# ---------------------------------------------------------------- payloads


@pytest.mark.parametrize("radix", RADICES)
def test_packed_bytes_is_the_length_of_the_packed_codes(radix):
    """Expected: ceil(ceil(count/g)·B/8) with g and B from the independent computation above."""
    g, B = expected_group_size(radix), expected_group_bits(radix)
    for count in counts_for(radix):
        assert packed_bytes(radix, count) == math.ceil(math.ceil(count / g) * B / 8)
        assert packed_bytes(radix, count) == len(pack_codes(np.zeros(count, np.uint64), radix))
