"""CuPy kernels for the Voronoi codes: ``fast/voronoi_kernels.cu`` through ``cupy.RawModule``.

The CUDA source is one algorithm with the numba kernels (:mod:`quantmm.fast.numba_kernels`):
closest points (Z^d, D_d, A2, E8), the dither, the first-fit and given-scale encoders with the
exact overload check, the decoder and the safe-scale selection, one scale block per GPU thread,
with the same floating-point operations in the same order. It is compiled with
``--fmad=false`` so that NVRTC does not fuse a multiply and an add into one rounding; the bits
are then the vectorized NumPy/CuPy code's.

**Status: opt-in, not yet run on a GPU.** Set ``QUANTMM_CUDA_KERNELS=1`` to make
:class:`~quantmm.fast.voronoi.VoronoiCode` and :func:`~quantmm.fast.lattices.closest_point` use
these kernels for CuPy arrays; by default CuPy arrays take the vectorized code. The same source
compiles as host C++ (without ``QMM_CUDA`` each kernel is a loop over its blocks), and
``tests/test_voronoi_kernels_source.py`` builds it with the system compiler and runs it through
:class:`VoronoiKernels`, the interface the GPU uses, checking every kernel bit for bit against
the vectorized code; with CuPy and a GPU the same tests run the CUDA build.

>>> SOURCE.name
'voronoi_kernels.cu'
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

import numpy as np

from .compiled import _LATTICE_IDS, _arrays
from .counter_random import first_counter_base
from .lattices import Lattice

__all__ = ["SOURCE", "THREADS", "CupyLauncher", "VoronoiKernels", "available", "kernels"]

#: The CUDA C++ source (also valid host C++).
SOURCE = Path(__file__).with_name("voronoi_kernels.cu")
#: Threads per CUDA block.
THREADS = 256


def available() -> bool:
    """Whether CuPy arrays go through these kernels: ``QUANTMM_CUDA_KERNELS=1`` (opt-in)."""
    return os.environ.get("QUANTMM_CUDA_KERNELS", "0") == "1"


class CupyLauncher:
    """Runs a kernel of :data:`SOURCE` on the GPU: one thread per block (or row)."""

    def __init__(self) -> None:
        import cupy

        self.xp = cupy
        code = "#define QMM_CUDA 1\n" + SOURCE.read_text(encoding="utf-8")
        self._module = cupy.RawModule(code=code, options=("--fmad=false", "--std=c++14"))

    def __call__(self, name: str, count: int, *arguments: Any) -> None:
        if count == 0:
            return
        function = self._module.get_function(name)
        grid = (count + THREADS - 1) // THREADS
        function((grid,), (THREADS,), (*arguments, np.int64(count)))


class VoronoiKernels:
    """The kernels of :data:`SOURCE` on the arrays of ``launcher.xp``, with the signatures of
    :mod:`quantmm.fast.compiled`. ``launcher(name, count, *arguments)`` runs kernel ``name``
    over ``count`` blocks; arrays are C-contiguous, scalars NumPy scalars of the C types."""

    def __init__(self, launcher: Any) -> None:
        self.launcher = launcher
        self.xp = launcher.xp
        self._device_arrays: dict[str, tuple] = {}

    def _lattice(self, lattice: Lattice) -> tuple:
        """The lattice id, G, 2·G⁻¹ (as :func:`quantmm.fast.compiled._sparse`) on the device,
        and the sub-block dimension d."""
        name = lattice.name
        if name not in self._device_arrays:
            lattice_id, generator, twice_inverse = _arrays(lattice)
            xp = self.xp
            device = tuple(xp.asarray(part) for part in (*generator, *twice_inverse))
            self._device_arrays[name] = (
                np.int32(lattice_id),
                device,
                np.int32(len(generator[0]) - 1),
            )
        return self._device_arrays[name]

    def _contiguous(self, x: Any, dtype: Any) -> Any:
        return self.xp.ascontiguousarray(self.xp.asarray(x, dtype=dtype))

    def closest_point(self, x: Any, name: str) -> Any:
        """lattices.closest_point of x (…, d; float32 or float64, checked) in x's dtype."""
        lattice_id = _LATTICE_IDS["D4" if name == "D" else name]
        rows = self.xp.ascontiguousarray(x.reshape(-1, x.shape[-1]))
        out = self.xp.empty_like(rows)
        kernel = "closest_point_float32" if rows.dtype == np.float32 else "closest_point_float64"
        self.launcher(
            kernel, rows.shape[0], np.int32(lattice_id), rows, out, np.int32(rows.shape[1])
        )
        return out.reshape(x.shape)

    def dither(self, lattice: Lattice, seed: int, stream: int, block_index: Any) -> Any:
        """VoronoiCode.dither (N, 8) of the blocks ``block_index``."""
        lattice_id, (starts, columns, entries, *_), d = self._lattice(lattice)
        block_index = self._contiguous(block_index, np.int64)
        z = self.xp.empty((block_index.shape[0], 8))
        self.launcher(
            "dither", block_index.shape[0], lattice_id, starts, columns, entries, d,
            first_counter_base(seed, stream), block_index, z,
        )  # fmt: skip
        return z

    def encode(
        self,
        lattice: Lattice,
        q: int,
        betas: tuple[float, ...],
        seed: int,
        stream: int,
        x: Any,
        block_index: Any,
        chosen: Any,
        code_dtype: Any,
    ) -> tuple[Any, Any, Any]:
        """VoronoiCode.encode of x (N, 8, float64): codes, scale indices (k = overloaded) and
        the decoded values t − z (0 for an overloaded block); first fit unless ``chosen``."""
        xp = self.xp
        lattice_id, sparse, d = self._lattice(lattice)
        count = x.shape[0]
        codes = xp.empty((count, 8), dtype=xp.uint16)
        scale_index = xp.empty(count, dtype=xp.uint8)
        values = xp.empty((count, 8))
        has_chosen = chosen is not None
        chosen = self._contiguous(chosen if has_chosen else xp.zeros(1), np.int64)
        device_betas = self._contiguous(np.asarray(betas, dtype=np.float64), np.float64)
        self.launcher(
            "encode", count, lattice_id, *sparse, d, np.int64(q),
            np.float64(q * (lattice.covering_radius + 1.0)), first_counter_base(seed, stream),
            device_betas, np.int32(len(betas)), self._contiguous(x, np.float64),
            self._contiguous(block_index, np.int64), chosen, np.int32(has_chosen), codes,
            scale_index, values,
        )  # fmt: skip
        return codes.astype(code_dtype, copy=False), scale_index, values

    def decode(
        self,
        lattice: Lattice,
        q: int,
        seed: int,
        stream: int,
        codes: Any,
        beta: Any,
        block_index: Any,
    ) -> Any:
        """VoronoiCode.decode_at_scale of codes (N, 8) at per-block scales β (N,)."""
        lattice_id, sparse, d = self._lattice(lattice)
        out = self.xp.empty((codes.shape[0], 8))
        self.launcher(
            "decode", codes.shape[0], lattice_id, *sparse, d, np.int64(q),
            first_counter_base(seed, stream), self._contiguous(codes, np.uint16),
            self._contiguous(beta, np.float64), self._contiguous(block_index, np.int64), out,
        )  # fmt: skip
        return out

    def safe_scale_index(self, lattice: Lattice, q: int, betas: tuple[float, ...], x: Any) -> Any:
        """VoronoiCode.safe_scale_index of x (N, 8, float64)."""
        lattice_id, _, _ = self._lattice(lattice)
        out = self.xp.empty(x.shape[0], dtype=self.xp.uint8)
        self.launcher(
            "safe_scale_index", x.shape[0], lattice_id, np.int64(q),
            np.float64((q - 1) * (lattice.covering_radius + 1.0)),
            self._contiguous(np.asarray(betas, dtype=np.float64), np.float64),
            np.int32(len(betas)), self._contiguous(x, np.float64), out,
        )  # fmt: skip
        return out


@functools.cache
def kernels() -> VoronoiKernels:
    """The GPU kernels (compiled by NVRTC on first use, then cached by CuPy)."""
    return VoronoiKernels(CupyLauncher())
