"""A kernel written in PyTorch, as most quantization kernels are: round-to-nearest integer codes
with one absmax scale per column (the "RTN" baseline of LLM weight quantization).

Every column of A (and of B) is divided by its largest magnitude s and rounded to the nearest of
the 2^bits − 1 integers −L..L (L = 2^(bits−1) − 1); the payload holds the shape, the scales and
the codes (two 4-bit codes per byte, or one 8-bit code), so the rate is ``bits`` per entry plus
64 bits per column. The estimate is ÂᵀB̂ in float64.

The harness hands the kernel torch tensors because it declares ``array_library = "torch"``::

    quantmm certify examples/torch_kernel.py:AbsmaxRoundToNearest

Round-to-nearest is deterministic and biased; it declares no ``unbiased`` and no ``guarantee``.
"""

from __future__ import annotations

import struct

import torch

HEADER = struct.Struct("<II")  # rows, columns


class AbsmaxRoundToNearest:
    """Per-column absmax round-to-nearest quantization of A and B to ``bits`` (4 or 8) bits."""

    array_library = "torch"

    def __init__(self, bits: int = 4, device: str = "cpu") -> None:
        if bits not in (4, 8):
            raise ValueError(f"bits must be 4 or 8, got {bits!r}")
        self.bits = bits
        self.rate = float(bits)
        self.device = torch.device("cuda" if device == "gpu" else "cpu")
        self.largest = 2 ** (bits - 1) - 1

    def _checked(self, matrix: torch.Tensor, name: str) -> torch.Tensor:
        if not isinstance(matrix, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(matrix).__name__}")
        if matrix.dtype not in (torch.float32, torch.float64):
            raise TypeError(f"{name} must be float32 or float64, got {matrix.dtype}")
        if matrix.ndim != 2 or matrix.numel() == 0:
            shape = tuple(matrix.shape)
            raise ValueError(f"{name} must be a non-empty 2-D tensor, got shape {shape}")
        if not bool(torch.isfinite(matrix).all()):
            raise ValueError(f"{name} must be finite (it holds NaN or infinity)")
        return matrix.to(self.device, torch.float64)

    def _encode(self, matrix: torch.Tensor, name: str) -> bytes:
        matrix = self._checked(matrix, name)
        rows, columns = matrix.shape
        scales = matrix.abs().amax(dim=0)
        scales = torch.where(scales > 0, scales, torch.ones_like(scales))
        codes = torch.round(matrix / scales * self.largest).to(torch.int16) + self.largest
        codes = codes.to(torch.uint8).T.reshape(-1)  # column by column
        if self.bits == 4:
            if codes.numel() % 2:
                codes = torch.cat([codes, codes.new_zeros(1)])
            codes = codes[0::2] | (codes[1::2] << 4)
        return (
            HEADER.pack(rows, columns)
            + scales.cpu().numpy().astype("<f8").tobytes()
            + codes.cpu().numpy().tobytes()
        )

    def _decode(self, payload: bytes) -> torch.Tensor:
        rows, columns = HEADER.unpack_from(payload)
        start = HEADER.size + 8 * columns
        scales = torch.frombuffer(bytearray(payload[HEADER.size : start]), dtype=torch.float64)
        codes = torch.frombuffer(bytearray(payload[start:]), dtype=torch.uint8)
        if self.bits == 4:
            codes = torch.stack([codes & 15, codes >> 4], dim=1).reshape(-1)
        codes = codes[: rows * columns].reshape(columns, rows).T.to(self.device, torch.float64)
        return (codes - self.largest) / self.largest * scales.to(self.device)

    def encode_a(self, A: torch.Tensor) -> bytes:
        return self._encode(A, "A")

    def encode_b(self, B: torch.Tensor) -> bytes:
        return self._encode(B, "B")

    def estimate(self, payload_a: bytes, payload_b: bytes) -> torch.Tensor:
        A, B = self._decode(payload_a), self._decode(payload_b)
        if A.shape[0] != B.shape[0]:
            raise ValueError(f"A has {A.shape[0]} rows and B has {B.shape[0]}: not one product")
        return A.T @ B
