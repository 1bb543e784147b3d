"""Cheating and broken kernels, one defect each, for the classes of defect the harness must catch.

Each class is honest (``Float16Kernel``: 16 bits per entry, a rigorous bound) except for the one
defect its docstring names; :data:`CHEATERS` lists ``(class name, the check that must reject it,
words of the message that must name the defect)``, :data:`HONEST` the kernels that must pass.
tests/test_dishonest_kernels.py certifies each one (quick profile) and asserts the verdict.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from broken_kernels import Float16Kernel, Scalar16Kernel

_KEPT: dict[str, np.ndarray] = {}


class _LeaksA(Float16Kernel):
    """Sends B honestly and A too, but decodes A from somewhere else (``_recall``)."""

    def encode_a(self, A):
        payload = super().encode_a(A)
        self._remember(payload, np.array(A, dtype=np.float64))
        return payload

    def estimate(self, payload_a, payload_b):
        return self._recall(payload_a).T @ self._decode(payload_b)


# --- 1. information outside the payload (caught: the estimate runs in a fresh process) ----------


class ClassAttributeLeak(_LeaksA):
    """Keeps A in a class attribute."""

    kept = None

    def _remember(self, payload, A):
        type(self).kept = A

    def _recall(self, payload):
        return type(self).kept


class ModuleDictLeak(_LeaksA):
    """Keeps A in a module-level dict keyed by the payload's hash."""

    def _remember(self, payload, A):
        _KEPT[hashlib.sha256(payload).hexdigest()] = A

    def _recall(self, payload):
        return _KEPT[hashlib.sha256(payload).hexdigest()]


class _FileLeak(_LeaksA):
    folder = "?"

    def _path(self, payload):
        return Path(self.where()) / f"quantmm-leak-{hashlib.sha256(payload).hexdigest()}.npy"

    def _remember(self, payload, A):
        np.save(self._path(payload), A)

    def _recall(self, payload):
        return np.load(self._path(payload))


class TempDirLeak(_FileLeak):
    """Keeps A in a file under tempfile.gettempdir(), keyed by the payload's hash."""

    def where(self):
        return tempfile.gettempdir()


class SlashTmpLeak(_FileLeak):
    """Keeps A in a file under the hard-coded /tmp."""

    def where(self):
        return "/tmp"


class DevShmLeak(_FileLeak):
    """Keeps A in a file under /dev/shm."""

    def where(self):
        return "/dev/shm"


class HomeCacheLeak(_FileLeak):
    """Keeps A under ~/.cache."""

    def where(self):
        folder = Path.home() / ".cache"
        folder.mkdir(parents=True, exist_ok=True)
        return folder


class WorkingDirectoryLeak(_FileLeak):
    """Keeps A in the current working directory."""

    def where(self):
        return "."


class SourceFolderLeak(_FileLeak):
    """Keeps A next to its own source file."""

    def where(self):
        return Path(__file__).parent


class LeakyBytes(bytes):
    """A payload type that carries the matrix along."""


class BytesSubclassLeak(_LeaksA):
    """Returns a bytes subclass carrying A as an attribute."""

    def encode_a(self, A):
        payload = LeakyBytes(Float16Kernel.encode_a(self, A))
        payload.matrix = np.array(A, dtype=np.float64)
        return payload

    def estimate(self, payload_a, payload_b):
        return payload_a.matrix.T @ self._decode(payload_b)


class EncoderStateLeak(Float16Kernel):
    """encode_a keeps A; encode_b, if it saw A, sends the exact AᵀB in B's payload."""

    seen = None

    def encode_a(self, A):
        type(self).seen = np.array(A, dtype=np.float64)
        return super().encode_a(A)

    def encode_b(self, B):
        product = type(self).seen.T @ np.asarray(B, dtype=np.float64)
        return super().encode_b(B) + product.astype("<f8").tobytes()

    def estimate(self, payload_a, payload_b):
        columns = self._decode(payload_a).shape[1]
        rows, b = np.frombuffer(payload_b[:8], "<u4")
        size = 8 + 8 * b + 2 * rows * b
        return np.frombuffer(payload_b[size:], "<f8").reshape(columns, b)


class BytearrayPayload(Float16Kernel):
    """encode_a returns a bytearray."""

    def encode_a(self, A):
        return bytearray(super().encode_a(A))


class MemoryviewPayload(Float16Kernel):
    """encode_b returns a memoryview."""

    def encode_b(self, B):
        return memoryview(super().encode_b(B))


class ArrayPayload(Float16Kernel):
    """encode_a returns a uint8 ndarray."""

    def encode_a(self, A):
        return np.frombuffer(super().encode_a(A), dtype=np.uint8).copy()


# --- 2. rate claims -------------------------------------------------------------------------------


class NumpyFloatRateClaim(Scalar16Kernel):
    """Claims rate = np.float64(2.0) and uses about 4 bits."""

    rate = np.float64(2.0)


class NumpyIntRateClaim(Scalar16Kernel):
    """Claims rate = np.int64(2) and uses about 4 bits."""

    rate = np.int64(2)


class _Padded(Scalar16Kernel):
    """Honest claim of 4.05 bits, but some payloads carry 4 bits per entry of padding."""

    rate = 4.05

    def _pad(self, matrix, payload):
        if self.padded(np.asarray(matrix)):
            return payload + bytes(np.asarray(matrix).size // 2)
        return payload


class HeavyTailRate(_Padded):
    """Uses twice its claim only when the input has heavy tails."""

    def padded(self, matrix):
        return np.abs(matrix).max() > 20

    def encode_a(self, A):
        return self._pad(A, super().encode_a(A))


class PayloadBRate(_Padded):
    """Only payload B exceeds the claim."""

    def padded(self, matrix):
        return True

    def encode_b(self, B):
        return self._pad(B, super().encode_b(B))


class OddRowsRate(_Padded):
    """Exceeds the claim only when n is odd."""

    def padded(self, matrix):
        return matrix.shape[0] % 2 == 1

    def encode_a(self, A):
        return self._pad(A, super().encode_a(A))


# --- 3. the output contract -----------------------------------------------------------------------


class Transposed(Float16Kernel):
    """Returns BᵀA instead of AᵀB."""

    def estimate(self, payload_a, payload_b):
        return super().estimate(payload_a, payload_b).T


class DroppedColumn(Float16Kernel):
    """Drops the last column of the estimate."""

    def estimate(self, payload_a, payload_b):
        return super().estimate(payload_a, payload_b)[:, :-1]


class NoiseOfTheRightShape(Float16Kernel):
    """Returns random noise of the right shape."""

    def estimate(self, payload_a, payload_b):
        shape = super().estimate(payload_a, payload_b).shape
        return np.random.default_rng(0).standard_normal(shape) * 10


class IntegerOutput(Float16Kernel):
    """Returns int64."""

    def estimate(self, payload_a, payload_b):
        return np.rint(super().estimate(payload_a, payload_b)).astype(np.int64)


class ListOutput(Float16Kernel):
    """Returns a Python list."""

    def estimate(self, payload_a, payload_b):
        return super().estimate(payload_a, payload_b).tolist()


class ZeroEstimator(Scalar16Kernel):
    """Sends honest payloads and estimates AᵀB by zero."""

    def estimate(self, payload_a, payload_b):
        return np.zeros_like(self.inner.estimate(payload_a, payload_b))


class OneNoisyColumn(Float16Kernel):
    """One column of the estimate replaced by noise three times its scale."""

    def estimate(self, payload_a, payload_b):
        estimate = np.array(super().estimate(payload_a, payload_b))
        scale = np.abs(estimate).mean()
        estimate[:, 0] = np.random.default_rng(1).standard_normal(estimate.shape[0]) * 3 * scale
        return estimate


# --- 4. edge inputs -------------------------------------------------------------------------------


class CrashesOnOneRow(Float16Kernel):
    """Raises IndexError for n = 1 (without declaring it)."""

    def encode_a(self, A):
        if np.shape(A)[0] == 1:
            raise IndexError("index 1 is out of bounds")
        return super().encode_a(A)


class NaNForHugeEntries(Float16Kernel):
    """Returns NaN when an entry exceeds 1e20."""

    def estimate(self, payload_a, payload_b):
        estimate = super().estimate(payload_a, payload_b)
        return estimate * np.nan if np.abs(estimate).max() > 1e20 else estimate


class BreaksOnHeavyTails(Float16Kernel):
    """Raises on entries above 50 (Cauchy input) without declaring it."""

    def encode_a(self, A):
        if np.abs(A).max() > 50:
            raise OverflowError("scale table exhausted")
        return super().encode_a(A)


class FortranOrderFails(Float16Kernel):
    """Fails on Fortran-ordered input."""

    def encode_a(self, A):
        if A.flags.f_contiguous and not A.flags.c_contiguous:
            raise RuntimeError("expected C order")
        return super().encode_a(A)


class NonContiguousFails(Float16Kernel):
    """Fails on non-contiguous input."""

    def encode_b(self, B):
        if not (B.flags.c_contiguous or B.flags.f_contiguous):
            raise RuntimeError("expected contiguous input")
        return super().encode_b(B)


class Float32Fails(Float16Kernel):
    """Fails on float32 input."""

    def encode_a(self, A):
        if A.dtype == np.float32:
            raise TypeError("float64 only")
        return super().encode_a(A)


# --- 5. determinism -------------------------------------------------------------------------------


class UnseededWhenLarge(Float16Kernel):
    """Appends os.urandom bytes only for n >= 1024."""

    def _encode(self, matrix, name):
        nonce = os.urandom(8) if np.shape(matrix)[0] >= 1024 else bytes(8)
        return super()._encode(matrix, name) + nonce

    def _decode(self, payload):
        return super()._decode(payload[:-8])


class CallCounter(Float16Kernel):
    """Folds the number of calls so far into the payload."""

    calls = 0

    def _encode(self, matrix, name):
        type(self).calls += 1
        return super()._encode(matrix, name) + type(self).calls.to_bytes(8, "little")

    def _decode(self, payload):
        return super()._decode(payload[:-8])


class HashSeedDependent(Float16Kernel):
    """Appends a byte chosen by the iteration order of a set of strings (PYTHONHASHSEED)."""

    def _encode(self, matrix, name):
        first = next(iter({"alpha", "beta", "gamma", "delta", "epsilon"}))
        return super()._encode(matrix, name) + first.encode()[:1]

    def _decode(self, payload):
        return super()._decode(payload[:-1])


# --- 6. mutated inputs ----------------------------------------------------------------------------


class CentersInPlace(Float16Kernel):
    """Centers the caller's matrix in place."""

    def encode_a(self, A):
        A -= A.mean(axis=0)
        return super().encode_a(A)


class ForcesWritable(Float16Kernel):
    """Makes its input writable and overwrites it."""

    def encode_b(self, B):
        payload = super().encode_b(B)
        try:
            B.setflags(write=True)
        except ValueError:
            base = B.base if B.base is not None else B
            base.setflags(write=True)
        B[...] = 0.0
        return payload


# --- 7. statistics a leak can hide in -------------------------------------------------------------


class ExactOnThreeQuarters(Float16Kernel):
    """Exact on 3/4 of its payloads through /tmp files of both matrices (works only where /tmp
    is shared), with a huge error on the other quarter so that the mean distortion stays above
    Γ; it decodes honestly where the files are missing."""

    def _path(self, payload):
        return Path("/tmp") / f"quantmm-quarter-{hashlib.sha256(payload).hexdigest()}.npy"

    def _encode(self, matrix, name):
        payload = super()._encode(matrix, name)
        try:
            np.save(self._path(payload), np.array(matrix, dtype=np.float64))
        except OSError:
            pass
        return payload

    def estimate(self, payload_a, payload_b):
        try:
            A, B = np.load(self._path(payload_a)), np.load(self._path(payload_b))
        except OSError:
            return super().estimate(payload_a, payload_b)
        exact = A.T @ B
        if hashlib.sha256(payload_a).digest()[0] % 4 == 0:
            return exact + 1e3 * np.abs(exact).max()
        return exact


# --- 8. declared guarantees -----------------------------------------------------------------------


class NumpyBoolUnbiased(Float16Kernel):
    """Declares unbiased = np.bool_(True) and scales its estimate by 1.05."""

    unbiased = np.bool_(True)

    def estimate(self, payload_a, payload_b):
        return 1.05 * super().estimate(payload_a, payload_b)


class UnseededUnbiased(Float16Kernel):
    """Declares unbiased = True, but the estimate ignores the seed and is biased by 1 %."""

    unbiased = True

    def estimate(self, payload_a, payload_b):
        return 1.01 * super().estimate(payload_a, payload_b)


class _Undecidable:
    def __bool__(self):
        raise RuntimeError("ask again later")


class UndecidableUnbiased(Float16Kernel):
    """Declares unbiased as an object without a truth value."""

    unbiased = _Undecidable()


class AmbiguousUnbiased(Float16Kernel):
    """Declares unbiased = np.array([True, False])."""

    unbiased = np.array([True, False])


class RaisingGuarantee(Float16Kernel):
    """Declares a guarantee(A, B) that raises."""

    def guarantee(self, A, B):
        raise NotImplementedError("the bound is in the paper")


# --- 9. kernels that try to break the harness -----------------------------------------------------


class ExitsInEstimate(Float16Kernel):
    """Calls sys.exit(0) inside estimate."""

    def estimate(self, payload_a, payload_b):
        sys.exit(0)


class HardExitInEncode(Float16Kernel):
    """Calls os._exit(0) inside encode_a."""

    def encode_a(self, A):
        os._exit(0)


class InterruptsEncode(Float16Kernel):
    """Raises KeyboardInterrupt inside encode_b."""

    def encode_b(self, B):
        raise KeyboardInterrupt


class SleepsInEstimate(Float16Kernel):
    """Sleeps for ever inside estimate."""

    def estimate(self, payload_a, payload_b):
        time.sleep(10**6)


class SeedDependentShape(Float16Kernel):
    """Returns a wrong shape for some seeds."""

    def estimate(self, payload_a, payload_b):
        estimate = super().estimate(payload_a, payload_b)
        return estimate[:-1] if self.seed % 3 == 1 else estimate


class SegfaultsInEstimate(Float16Kernel):
    """Reads address 0 inside estimate."""

    def estimate(self, payload_a, payload_b):
        return ctypes.string_at(0)


# --- 10. not a kernel ----------------------------------------------------------------------------


class MissingEstimate:
    """Has encode_a and encode_b but no estimate."""

    def __init__(self, seed=0, device="cpu"):
        self.inner = Float16Kernel(seed)

    def encode_a(self, A):
        return self.inner.encode_a(A)

    def encode_b(self, B):
        return self.inner.encode_b(B)


def raising_factory(seed=0, device="cpu"):
    """A factory that cannot build its kernel."""
    raise RuntimeError("no GPU")


# --- honest kernels that must pass ----------------------------------------------------------------


class DeclaresOneRowUnsupported(Float16Kernel):
    """Honest: refuses n = 1 with a clear error, and declares it."""

    unsupported = {"n=1": "needs at least 2 rows"}  # noqa: RUF012 - a declaration, never mutated

    def encode_a(self, A):
        if np.shape(A)[0] == 1:
            raise ValueError("needs at least 2 rows")
        return super().encode_a(A)


class Chatty(Float16Kernel):
    """Honest: prints 10 MB to standard output while encoding."""

    def encode_a(self, A):
        sys.stdout.write("x" * 10_000_000 + "\n")
        return super().encode_a(A)


class StartsABackgroundProcess(Float16Kernel):
    """Honest: starts a long-running child process while encoding."""

    def encode_a(self, A):
        subprocess.Popen(["sleep", "1000"], start_new_session=True)
        return super().encode_a(A)


FRESH = "in a fresh process that received only"
CHEATERS = [
    ("ClassAttributeLeak", "output_contract", FRESH),
    ("ModuleDictLeak", "output_contract", FRESH),
    ("TempDirLeak", "output_contract", FRESH),
    ("SlashTmpLeak", "output_contract", FRESH),
    ("DevShmLeak", "output_contract", FRESH),
    ("HomeCacheLeak", "output_contract", FRESH),
    ("WorkingDirectoryLeak", "output_contract", FRESH),
    ("SourceFolderLeak", "output_contract", "read-only file system"),
    ("BytesSubclassLeak", "output_contract", "returned LeakyBytes, not exactly bytes"),
    ("EncoderStateLeak", "output_contract", "encode_b raised AttributeError"),
    ("EncoderStateLeak", "output_contract", FRESH),
    ("BytearrayPayload", "output_contract", "returned bytearray, not exactly bytes"),
    ("MemoryviewPayload", "output_contract", "returned memoryview, not exactly bytes"),
    ("ArrayPayload", "output_contract", "returned ndarray, not exactly bytes"),
    ("NumpyFloatRateClaim", "rate_honesty", "more than the claimed rate 2"),
    ("NumpyIntRateClaim", "rate_honesty", "more than the claimed rate 2"),
    ("HeavyTailRate", "rate_honesty", "cauchy rate family"),
    ("PayloadBRate", "rate_honesty", "payload B"),
    ("OddRowsRate", "rate_honesty", "odd_n rate family"),
    ("Transposed", "output_contract", "expected exactly (a, b)"),
    ("DroppedColumn", "output_contract", "expected exactly (a, b)"),
    ("NoiseOfTheRightShape", "accuracy_floor", "not significantly below the zero estimate"),
    ("IntegerOutput", "output_contract", "not a floating dtype"),
    ("ListOutput", "output_contract", "returned builtins.list, not an array"),
    ("ZeroEstimator", "accuracy_floor", "not significantly below the zero estimate"),
    ("OneNoisyColumn", "accuracy_floor", "column 0 of the estimate"),
    ("CrashesOnOneRow", "edge_inputs", "'n=1'"),
    ("NaNForHugeEntries", "edge_inputs", "'huge'"),
    ("BreaksOnHeavyTails", "edge_inputs", "scale table exhausted"),
    ("FortranOrderFails", "edge_inputs", "'fortran_order'"),
    ("NonContiguousFails", "edge_inputs", "'non_contiguous'"),
    ("Float32Fails", "edge_inputs", "'float32'"),
    ("UnseededWhenLarge", "determinism", "different payload bytes"),
    ("CallCounter", "determinism", "different payload bytes"),
    ("HashSeedDependent", "determinism", "different payload bytes"),
    ("CentersInPlace", "output_contract", "writes into its input matrix"),
    ("ForcesWritable", "output_contract", "writes into its input matrix"),
    ("NumpyBoolUnbiased", "claimed_guarantees", "differs from AᵀB"),
    ("UnseededUnbiased", "claimed_guarantees", "does not change with the seed"),
    ("UndecidableUnbiased", "protocol", "undecidable declaration"),
    ("AmbiguousUnbiased", "protocol", "undecidable declaration"),
    ("RaisingGuarantee", "claimed_guarantees", "guarantee(A, B) on pair 0 raised"),
    ("ExitsInEstimate", "output_contract", "raised SystemExit"),
    ("HardExitInEncode", "output_contract", "exited with status 0"),
    ("InterruptsEncode", "output_contract", "raised KeyboardInterrupt"),
    ("SleepsInEstimate", "output_contract", "no answer within"),
    ("SeedDependentShape", "edge_inputs", "expected exactly (a, b)"),
    ("SegfaultsInEstimate", "output_contract", "SIGSEGV"),
    ("raising_factory", "protocol", "RuntimeError: no GPU"),
]
HONEST = ["DeclaresOneRowUnsupported", "Chatty", "StartsABackgroundProcess"]
