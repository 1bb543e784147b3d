"""Kernels for testing the conformance harness: honest ones, and deliberately broken ones.

Each broken kernel breaks exactly one rule, and tests/test_kernel_checks.py asserts that the check
meant for that rule rejects it:

- :class:`LeakyKernel` keeps the original matrices and decodes from them, not from the bytes;
- :class:`UnderReportingKernel` claims 2 bits per entry and uses about 4;
- :class:`BiasedKernel` declares itself unbiased and scales its estimate by 1.05;
- :class:`NaNOnZeroColumnKernel` divides by column norms and returns NaN for a zero column;
- :class:`AcceptsNaNKernel` silently replaces NaN and infinity by numbers;
- :class:`NondeterministicKernel` draws its dither from the operating system, not the seed;
- :class:`OverclaimingBoundKernel` declares an error bound a thousand times too small.

:class:`Float16Kernel` is an honest kernel with a rigorous declared bound.
"""

from __future__ import annotations

import os
import struct
import warnings

import numpy as np

from quantmm.fast import NestedLatticeMatmul, ScalarMatmul

_LEAKED: dict[str, np.ndarray] = {}


def _check_matrix(matrix, name):
    matrix = np.asarray(matrix)
    if matrix.dtype not in (np.float32, np.float64) or matrix.ndim != 2 or matrix.size == 0:
        raise ValueError(f"{name} must be a non-empty 2-D float array")
    if not np.isfinite(matrix).all():
        raise ValueError(f"{name} must be finite")
    return matrix.astype(np.float64)


class Float16Kernel:
    """Sends every entry as IEEE half precision (16 bits) after dividing each column by its largest
    magnitude s, and declares a rigorous bound. An entry a becomes â with
    |â − a| ≤ δ = u·|a| + t·s (u = 2^-11 + 2^-52: half precision's unit roundoff plus the float64
    division; t = 2^-25: half the subnormal spacing of half precision, times s). Then
    |â·b̂ − a·b| ≤ δ_a·|b| + (|a| + δ_a)·δ_b, and ‖AᵀB − ÂᵀB̂‖_F² ≤ Σ_ij (Σ_l that)²."""

    rate = 16.0

    def __init__(self, seed: int = 0, device: str = "cpu") -> None:
        self.seed = seed

    def _encode(self, matrix, name):
        matrix = _check_matrix(matrix, name)
        scales = np.abs(matrix).max(axis=0)
        scales = np.where(scales > 0, scales, 1.0)
        header = struct.pack("<II", *matrix.shape)
        return header + scales.astype("<f8").tobytes() + (matrix / scales).astype("<f2").tobytes()

    def _decode(self, payload):
        rows, columns = struct.unpack("<II", payload[:8])
        scales = np.frombuffer(payload[8 : 8 + 8 * columns], "<f8")
        values = np.frombuffer(payload[8 + 8 * columns :], "<f2").astype(np.float64)
        return values.reshape(rows, columns) * scales

    def encode_a(self, A):
        return self._encode(A, "A")

    def encode_b(self, B):
        return self._encode(B, "B")

    def estimate(self, payload_a, payload_b):
        A, B = self._decode(payload_a), self._decode(payload_b)
        if A.shape[0] != B.shape[0]:
            raise ValueError("payloads have different numbers of rows")
        return A.T @ B

    def guarantee(self, A, B):
        u, t = 2.0**-11 + 2.0**-52, 2.0**-25
        A, B = np.abs(np.asarray(A, np.float64)), np.abs(np.asarray(B, np.float64))
        delta_a = u * A + t * A.max(axis=0)
        delta_b = u * B + t * B.max(axis=0)
        per_entry = delta_a.T @ B + (A + delta_a).T @ delta_b
        return float((per_entry**2).sum())


class OverclaimingBoundKernel(Float16Kernel):
    """Broken: declares a bound 1000 times smaller than the error it really makes."""

    def guarantee(self, A, B):
        exact = np.asarray(A, np.float64).T @ np.asarray(B, np.float64)
        estimate = self.estimate(self.encode_a(A), self.encode_b(B))
        return float(((estimate - exact) ** 2).sum()) / 1000


class LeakyKernel(Float16Kernel):
    """Broken: remembers the originals and returns their exact product, ignoring the bytes."""

    def encode_a(self, A):
        _LEAKED["A"] = np.asarray(A)
        return super().encode_a(A)

    def encode_b(self, B):
        _LEAKED["B"] = np.asarray(B)
        return super().encode_b(B)

    def estimate(self, payload_a, payload_b):
        return _LEAKED["A"].T @ _LEAKED["B"]


class Scalar16Kernel:
    """Honest, declaring nothing: a 16-level Lloyd–Max scalar kernel (about 4 bits per entry)."""

    def __init__(self, seed: int = 0, device: str = "cpu") -> None:
        self.inner = ScalarMatmul(16, "lloyd_max", device=device)

    def encode_a(self, A):
        return self.inner.encode_a(A)

    def encode_b(self, B):
        return self.inner.encode_b(B)

    def estimate(self, payload_a, payload_b):
        return self.inner.estimate(payload_a, payload_b)


class UnderReportingKernel(Scalar16Kernel):
    """Broken: the 16-level scalar kernel (about 4 bits per entry) claiming 2 bits per entry."""

    rate = 2.0


class BiasedKernel:
    """Broken: the unbiased nested-lattice kernel with its estimate scaled by 1.05."""

    unbiased = True

    def __init__(self, seed: int = 0, device: str = "cpu") -> None:
        self.inner = NestedLatticeMatmul(4.06, scaling="unbiased", seed=seed, device=device)

    def encode_a(self, A):
        return self.inner.encode_a(A)

    def encode_b(self, B):
        return self.inner.encode_b(B)

    def estimate(self, payload_a, payload_b):
        return 1.05 * self.inner.estimate(payload_a, payload_b)


class NaNOnZeroColumnKernel(Float16Kernel):
    """Broken: normalizes by the column maxima without guarding zero columns."""

    def _encode(self, matrix, name):
        matrix = _check_matrix(matrix, name)
        with np.errstate(invalid="ignore", divide="ignore"):
            scales = np.abs(matrix).max(axis=0)
            header = struct.pack("<II", *matrix.shape)
            return (
                header + scales.astype("<f8").tobytes() + (matrix / scales).astype("<f2").tobytes()
            )


class AcceptsNaNKernel(Float16Kernel):
    """Broken: turns NaN and infinity into numbers instead of refusing them."""

    def _encode(self, matrix, name):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the complex-to-real cast is the breakage
            cleaned = np.nan_to_num(np.asarray(matrix, dtype=np.float64))
        return super()._encode(cleaned, name)


class NondeterministicKernel(Float16Kernel):
    """Broken: appends 8 bytes from os.urandom (a nonce no seed controls); decoding drops them."""

    def _encode(self, matrix, name):
        return super()._encode(matrix, name) + os.urandom(8)

    def _decode(self, payload):
        return super()._decode(payload[:-8])
