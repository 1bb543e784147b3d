"""Kernels that take PyTorch tensors, for tests/test_array_libraries.py: broken ones, each
breaking one rule the harness must still catch when it hands a kernel tensors, not NumPy
arrays. The honest one is examples/torch_kernel.py; this module needs torch (the test skips
without it)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import torch

_spec = importlib.util.spec_from_file_location(
    "torch_kernel", Path(__file__).parents[1] / "examples" / "torch_kernel.py"
)
_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_module)
AbsmaxRoundToNearest = _module.AbsmaxRoundToNearest


class ScalesInPlace(AbsmaxRoundToNearest):
    """Broken: divides its input tensor by its absmax in place (a tensor, unlike the NumPy
    array the harness makes read-only, cannot refuse the write)."""

    def encode_a(self, A):
        payload = super().encode_a(A)
        if isinstance(A, torch.Tensor) and A.ndim == 2 and A.numel():
            A.div_(A.abs().max().clamp(min=1.0))
        return payload


class Bfloat16Estimate(AbsmaxRoundToNearest):
    """Broken: returns its estimate as bfloat16, a dtype NumPy cannot hold (and 8 bits of
    mantissa would be no reference-grade estimate anyway)."""

    def estimate(self, payload_a, payload_b):
        return super().estimate(payload_a, payload_b).to(torch.bfloat16)


class UnknownLibrary(AbsmaxRoundToNearest):
    """Broken: declares an array library the harness does not know."""

    array_library = "tensorflow"


class Undeclared(AbsmaxRoundToNearest):
    """Honest, but declares no library: it passes only when the run asks for torch."""

    array_library = None


class DetachesGradient(AbsmaxRoundToNearest):
    """Honest: an estimate that requires grad is still an estimate (the harness detaches it)."""

    def estimate(self, payload_a, payload_b):
        return super().estimate(payload_a, payload_b).requires_grad_(True)


#: Honest: a kernel object, not a factory; its declaration is read off the object itself.
KERNEL_OBJECT = AbsmaxRoundToNearest(bits=8)
