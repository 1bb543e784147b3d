"""The matrix-multiplication quantizer protocol and the measured rate (quantmm/protocol.py).

Expected rates are computed by hand from the definition 8·len(payload)/(number of entries).
"""

from __future__ import annotations

from fractions import Fraction

import pytest

from quantmm.protocol import MatmulQuantizer, bits_per_entry


class Complete:
    def encode_a(self, A):
        return b"a"

    def encode_b(self, B):
        return b"b"

    def estimate(self, payload_a, payload_b):
        return None


class MissingEstimate:
    def encode_a(self, A):
        return b"a"

    def encode_b(self, B):
        return b"b"


class MissingEncodeB:
    def encode_a(self, A):
        return b"a"

    def estimate(self, payload_a, payload_b):
        return None


def test_an_object_with_the_three_methods_is_a_matmul_quantizer():
    assert isinstance(Complete(), MatmulQuantizer)


@pytest.mark.parametrize("cls", [MissingEstimate, MissingEncodeB, object])
def test_an_object_missing_a_method_is_not(cls):
    assert not isinstance(cls(), MatmulQuantizer)


@pytest.mark.parametrize(
    ("length", "shape"),
    [(16, (2, 1)), (0, (3, 3)), (1, (1,)), (7, (3, 5)), (1000, (10, 20, 3)), (5, (2**20, 2**20))],
)
def test_bits_per_entry_is_eight_bits_per_byte_over_the_entries(length, shape):
    entries = 1
    for size in shape:
        entries *= size
    expected = Fraction(8 * length, entries)
    assert bits_per_entry(b"\x00" * length, shape) == pytest.approx(float(expected), rel=1e-15)


def test_bits_per_entry_examples():
    assert bits_per_entry(b"x" * 16, (2, 1)) == 64.0
    assert bits_per_entry(b"x" * 3, (4, 6)) == 1.0  # 24 bits over 24 entries


def test_a_zero_dimensional_shape_has_one_entry_as_in_numpy():
    """The empty product is 1, as numpy.empty(()).size is: () is one entry, not an empty shape."""
    assert bits_per_entry(b"abc", ()) == 24.0


@pytest.mark.parametrize("shape", [(0,), (3, 0), (0, 5), (4, -1)])
def test_bits_per_entry_refuses_shapes_without_entries(shape):
    with pytest.raises(ValueError, match="shape must have at least one entry"):
        bits_per_entry(b"abc", shape)
