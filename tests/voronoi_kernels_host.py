"""fast/voronoi_kernels.cu built as host C++ and run through quantmm.fast.cuda_kernels'
interface: the CPU test vehicle of the CuPy kernels (tests/test_voronoi_kernels_source.py).

Without ``QMM_CUDA`` every kernel of the source is a C function looping over its blocks; it is
compiled with ``-ffp-contract=off`` (no fused multiply-add, as ``--fmad=false`` on the GPU) and
called with ctypes. :class:`HostLauncher` has the launcher signature of
:class:`quantmm.fast.cuda_kernels.CupyLauncher`, so the very wrapper code the GPU runs is tested.
"""

from __future__ import annotations

import ctypes
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np

_SCALARS = {
    np.dtype(np.int32): ctypes.c_int,
    np.dtype(np.int64): ctypes.c_longlong,
    np.dtype(np.uint64): ctypes.c_ulonglong,
    np.dtype(np.float64): ctypes.c_double,
}


def compiler() -> str | None:
    """The system C++ compiler, or None."""
    return shutil.which("g++") or shutil.which("c++") or shutil.which("clang++")


def build(source: str, directory: Path, name: str = "voronoi_kernels") -> ctypes.CDLL:
    """Compile the C++ ``source`` into a shared library in ``directory`` and load it."""
    path = directory / f"{name}.cpp"
    path.write_text(source, encoding="utf-8")
    library = directory / f"lib{name}.so"
    command = [compiler(), "-O2", "-shared", "-fPIC", "-ffp-contract=off", "-fno-fast-math",
               "-std=c++14", str(path), "-o", str(library)]  # fmt: skip
    subprocess.run(command, check=True, capture_output=True, text=True)
    return ctypes.CDLL(str(library))


class HostLauncher:
    """Runs kernel ``name`` of the host build over ``count`` blocks (count is appended, as the
    CUDA launcher does)."""

    xp = np

    def __init__(self, library: ctypes.CDLL) -> None:
        self.library = library

    def __call__(self, name: str, count: int, *arguments: Any) -> None:
        converted = []
        for argument in (*arguments, np.int64(count)):
            if isinstance(argument, np.ndarray):
                assert argument.flags.c_contiguous, f"{name}: a non-contiguous array"
                converted.append(ctypes.c_void_p(argument.ctypes.data))
            else:
                converted.append(_SCALARS[np.asarray(argument).dtype](argument))
        function = getattr(self.library, name)
        function.restype = None
        function(*converted)
