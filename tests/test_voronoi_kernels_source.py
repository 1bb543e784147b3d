"""The CuPy kernels' source (fast/voronoi_kernels.cu), bit for bit against the vectorized code.

The source is built as host C++ (tests/voronoi_kernels_host.py) and run through
quantmm.fast.cuda_kernels.VoronoiKernels, the wrapper the GPU uses; with CuPy and a GPU the same
tests also run the CUDA build. Expected values are the vectorized NumPy code's (the suite runs
it with QUANTMM_NUMBA=0), which tests/test_fast_lattices.py and tests/test_fast_voronoi.py hold
against exact brute force. Deliberately broken copies of the source (a tie broken the other way,
the overload check dropped, C's remainder for Python's, a wrong dither constant, …) must fail.
"""

from __future__ import annotations

import numpy as np
import pytest
from bit_identity import CODES, hard_blocks, same_bits
from voronoi_kernels_host import HostLauncher, build, compiler

from quantmm.fast import VoronoiCode, closest_point
from quantmm.fast.backend import cupy_or_none
from quantmm.fast.cuda_kernels import SOURCE, VoronoiKernels
from quantmm.fast.lattices import lattice as code_lattice

POINTS = [("E8", 8), ("D4", 4), ("A2", 2), ("D", 3), ("D", 16), ("Z", 5)]
BETAS = (0.3, 0.45, 0.6, 0.9)


def point_inputs(d: int, dtype) -> np.ndarray:
    rng = np.random.default_rng(d)
    x = rng.normal(size=(3000, d)) * rng.choice([0.3, 1.0, 100.0, 1e5], size=(3000, 1))
    x[:1000] = np.round(x[:1000] * 2) / 2  # half-integers: every tie rule
    return x.astype(dtype)


def differences(kernels: VoronoiKernels) -> list[str]:
    """The names of the kernel outputs that differ from the vectorized code's."""
    xp, wrong = kernels.xp, []
    for name, d in POINTS:
        for dtype in (np.float32, np.float64):
            x = point_inputs(d, dtype)
            if not same_bits(kernels.closest_point(xp.asarray(x), name), closest_point(x, name)):
                wrong.append(f"closest_point {name}{d} {np.dtype(dtype).name}")
    for name, q in CODES:
        code = VoronoiCode(name, q, BETAS, seed=5, stream=3)
        lattice = code_lattice(name)
        x = hard_blocks(q, 4000)
        index = np.random.default_rng(1).integers(0, 2**40, size=len(x))
        chosen = np.random.default_rng(2).integers(0, 4, size=len(x)).astype(np.uint8)
        label = f"{name} q={q}"
        if not same_bits(kernels.dither(lattice, 5, 3, xp.asarray(index)), code.dither(index)):
            wrong.append(f"dither {label}")
        for given in (None, chosen):
            expected = code.encode(x, index, given)
            codes, scale_index, values = kernels.encode(
                lattice, q, BETAS, 5, 3, xp.asarray(x), xp.asarray(index),
                None if given is None else xp.asarray(given), expected.codes.dtype,
            )  # fmt: skip
            rule = "first fit" if given is None else "given scale"
            for field, got, want in [
                ("codes", codes, expected.codes),
                ("scale_index", scale_index, expected.scale_index),
                ("values", values, expected.values),
            ]:
                if not same_bits(got, want):
                    wrong.append(f"encode {rule} {field} {label}")
        words = code.encode(x, index)
        fine = ~words.overloaded
        beta = np.asarray(BETAS)[np.minimum(words.scale_index, 3)][fine]
        decoded = kernels.decode(
            lattice, q, 5, 3, xp.asarray(words.codes[fine]), xp.asarray(beta),
            xp.asarray(index[fine]),
        )  # fmt: skip
        if not same_bits(decoded, code.decode_blocks(words.codes[fine], beta, index[fine])):
            wrong.append(f"decode {label}")
        safe = kernels.safe_scale_index(lattice, q, BETAS, xp.asarray(x))
        if not same_bits(safe, code.safe_scale_index(x)):
            wrong.append(f"safe_scale_index {label}")
    return wrong


needs_compiler = pytest.mark.skipif(compiler() is None, reason="no C++ compiler (g++/clang++)")


@pytest.fixture(scope="module")
def host_build(tmp_path_factory):
    if compiler() is None:
        pytest.skip("no C++ compiler (g++/clang++) to build fast/voronoi_kernels.cu for the CPU")
    return build(SOURCE.read_text(encoding="utf-8"), tmp_path_factory.mktemp("host"))


def test_the_host_build_gives_the_vectorized_bits(host_build):
    assert differences(VoronoiKernels(HostLauncher(host_build))) == []


def test_every_code_exercises_both_outcomes_of_the_overload_check():
    """So that a kernel without the check, or one that always fails it, differs somewhere."""
    for name, q in CODES:
        words = VoronoiCode(name, q, BETAS, seed=5, stream=3).encode(hard_blocks(q, 4000))
        assert 0 < words.overloaded.sum() < 4000 or q == 300
        assert 0 < (words.scale_index > 0).sum()


MUTANTS = {
    "E8 tie to the other coset": ("bool second = distance2 < distance1;",
                                  "bool second = distance2 <= distance1;"),
    "D_d parity tie to the later index": ("if (magnitude > largest) {",
                                          "if (magnitude >= largest) {"),
    "overload check dropped": ("if (decoded_point[i] != point[i]) return false;", ";"),
    "C's remainder for Python's": ("return r < 0 ? r + b : r;", "return r;"),
    "D_d halves away from zero": ("double f = rint(xi);", "double f = round(xi);"),
    "dither constant": ("0x9E3779B97F4A7C15ULL", "0x9E3779B97F4A7C17ULL"),
    "safe scale at q, not q − 1": ("double divisor = betas[j] * (double)(q - 1);",
                                   "double divisor = betas[j] * (double)q;"),
    "A2 coordinates": ("c[1] = 2 * k + 1;", "c[1] = 2 * k - 1;"),
}  # fmt: skip


@needs_compiler
@pytest.mark.parametrize("mutant", sorted(MUTANTS))
def test_a_broken_copy_of_the_source_fails(mutant, tmp_path):
    original, broken = MUTANTS[mutant]
    source = SOURCE.read_text(encoding="utf-8")
    assert source.count(original) == 1, f"the mutant's target is not unique: {original}"
    library = build(source.replace(original, broken), tmp_path, "mutant")
    assert differences(VoronoiKernels(HostLauncher(library))) != []


def test_the_cuda_build_gives_the_vectorized_bits():
    if cupy_or_none() is None:
        pytest.skip("needs CuPy and a GPU (bash benchmarks/gpu_checks.sh)")
    from quantmm.fast.cuda_kernels import kernels

    assert differences(kernels()) == []


def test_the_source_is_installed_with_the_package():
    """cuda_kernels reads SOURCE at run time: it must ship as package data (pyproject)."""
    assert SOURCE.is_file() and "QMM_KERNEL encode(" in SOURCE.read_text(encoding="utf-8")


def test_cupy_arrays_take_the_cuda_kernels_only_when_opted_in(monkeypatch):
    import quantmm.fast.voronoi as voronoi

    sentinel = object()
    monkeypatch.setattr(voronoi.cuda_kernels, "kernels", lambda: sentinel)
    not_numpy = object()  # stands for the cupy module
    monkeypatch.delenv("QUANTMM_CUDA_KERNELS", raising=False)
    assert voronoi._block_kernels(not_numpy) is None
    monkeypatch.setenv("QUANTMM_CUDA_KERNELS", "1")
    assert voronoi._block_kernels(not_numpy) is sentinel
    assert voronoi._block_kernels(np) in (None, voronoi.compiled)  # NumPy: never the CUDA path
