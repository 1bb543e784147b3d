"""The matrix-multiplication quantizer protocol every kernel implements (theory.md §1).

A is n×a and B is n×b. Encoder 1 sees only A, encoder 2 sees only B, and the decoder forms an
estimate C ≈ AᵀB (a×b) from the two messages and the randomness the parties share. In quantmm that
is three methods on one object that holds the shared configuration and seed:

- ``encode_a(A) -> bytes``: the message for A;
- ``encode_b(B) -> bytes``: the message for B;
- ``estimate(payload_a, payload_b) -> C``: the a×b estimate of AᵀB, computed from the two byte
  strings and the kernel's configuration (which includes its seed) alone.

Messages *are* bytes, so the rate is measured, never declared: :func:`bits_per_entry` is
8·len(payload)/(n·a), everything in the payload (codes, scales, norms, headers) counted. A kernel
built again from the same arguments decodes messages written by the first one.

Kernels that implement it: :class:`quantmm.fast.NestedLatticeMatmul`,
:class:`quantmm.fast.ScalarMatmul`; the conformance harness (:mod:`quantmm.conformance`) accepts
any object with these methods.

>>> class Exact:
...     def encode_a(self, A): return A.astype("<f8").tobytes()
...     def encode_b(self, B): return B.astype("<f8").tobytes()
...     def estimate(self, pa, pb): ...
>>> isinstance(Exact(), MatmulQuantizer)
True
>>> bits_per_entry(b"x" * 16, (2, 1))
64.0
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

__all__ = ["MatmulQuantizer", "bits_per_entry"]


@runtime_checkable
class MatmulQuantizer(Protocol):
    """Anything that quantizes A and B separately to bytes and estimates AᵀB from the bytes."""

    def encode_a(self, A: Any) -> bytes:
        """The message for A (n×a): it may depend on A and the shared seed only."""
        ...

    def encode_b(self, B: Any) -> bytes:
        """The message for B (n×b): it may depend on B and the shared seed only."""
        ...

    def estimate(self, payload_a: bytes, payload_b: bytes) -> Any:
        """The a×b estimate of AᵀB from the two messages (and the shared seed)."""
        ...


def bits_per_entry(payload: bytes, shape: tuple[int, ...]) -> float:
    """The measured rate of ``payload`` for a matrix of ``shape``: 8·len(payload)/entries."""
    entries = 1
    for size in shape:
        entries *= int(size)
    if entries <= 0:
        raise ValueError(f"shape must have at least one entry, got {tuple(shape)}")
    return 8 * len(payload) / entries
