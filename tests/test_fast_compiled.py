"""The compiled (numba) kernels against the vectorized NumPy code, bit for bit.

The expected values are the vectorized NumPy path of the same functions (run with
QUANTMM_NUMBA=0), which the rest of the suite tests against brute force and the reference; the
compiled path must give the same bits, float for float (compared as integers, so −0.0 ≠ 0.0 and
NaN payloads would show), on random, tie-prone (dyadic, half-integer) and wide-range inputs,
on every lattice, and through the whole nested-lattice kernel's payload bytes.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("numba", reason="numba (the 'fast' extra) is not installed")

from bit_identity import CODES, hard_blocks, same_bits

from quantmm.fast import NestedLatticeMatmul, closest_point, compiled
from quantmm.fast.packing import pack_codes, unpack_codes
from quantmm.fast.voronoi import VoronoiCode


@pytest.fixture(autouse=True)
def compiled_path(monkeypatch):
    """These tests run the compiled kernels (the rest of the suite runs the NumPy code,
    tests/conftest.py)."""
    monkeypatch.setenv("QUANTMM_NUMBA", "1")
    assert compiled.available()


@pytest.fixture
def numpy_path(monkeypatch):
    """A context in which quantmm.fast runs its vectorized NumPy code."""

    class Switch:
        def __enter__(self):
            monkeypatch.setenv("QUANTMM_NUMBA", "0")
            assert not compiled.available()

        def __exit__(self, *exc):
            monkeypatch.setenv("QUANTMM_NUMBA", "1")

    return Switch()


@pytest.mark.parametrize(("name", "q"), CODES, ids=[f"{n}-q{q}" for n, q in CODES])
def test_voronoi_code_is_bit_identical(numpy_path, name, q):
    code = VoronoiCode(name, q, (0.3, 0.45, 0.6, 0.9), seed=5, stream=3)
    x = hard_blocks(q, 4000)
    index = np.random.default_rng(1).integers(0, 2**40, size=len(x))
    chosen = np.random.default_rng(2).integers(0, 4, size=len(x))
    words = code.encode(x, index)
    given = code.encode(x, index, chosen)
    safe = code.safe_scale_index(x)
    fine = ~words.overloaded
    beta = np.asarray(code.betas)[np.minimum(words.scale_index, 3)]
    decoded = code.decode_blocks(words.codes[fine], beta[fine], index[fine])
    dither = code.dither(index)
    with numpy_path:
        expected_words = code.encode(x, index)
        expected_given = code.encode(x, index, chosen)
        expected_safe = code.safe_scale_index(x)
        expected_decoded = code.decode_blocks(words.codes[fine], beta[fine], index[fine])
        expected_dither = code.dither(index)
    for got, expected in [
        (words.codes, expected_words.codes),
        (words.scale_index, expected_words.scale_index),
        (words.values, expected_words.values),
        (given.codes, expected_given.codes),
        (given.scale_index, expected_given.scale_index),
        (given.values, expected_given.values),
        (safe, expected_safe),
        (decoded, expected_decoded),
        (dither, expected_dither),
    ]:
        assert same_bits(got, expected)
    assert 0 < words.overloaded.sum() < len(x) or q == 300  # both outcomes are exercised
    # values are what the decoder computes: x̂ = β·values, bit for bit
    assert same_bits(words.values[fine] * beta[fine][:, None], decoded)


@pytest.mark.parametrize(
    ("name", "d"), [("E8", 8), ("D4", 4), ("A2", 2), ("D", 3), ("D", 16), ("Z", 5)]
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_closest_point_is_bit_identical(numpy_path, name, d, dtype):
    rng = np.random.default_rng(d)
    x = rng.normal(size=(3000, d)) * rng.choice([0.3, 1.0, 100.0, 1e5], size=(3000, 1))
    x[:1000] = np.round(x[:1000] * 2) / 2  # half-integers: every tie rule
    x = x.astype(dtype).reshape(30, 100, d)  # a leading shape of two axes
    got = closest_point(x, name)
    with numpy_path:
        expected = closest_point(x, name)
    assert same_bits(got, expected)


KERNELS = [
    dict(rate=4.06),
    dict(rate=4.06, scaling="unbiased"),
    dict(rate=3.0, lattice="D4"),
    dict(rate=2.25, lattice="A2"),
    dict(rate=2.25, lattice="Z"),
    dict(rate=0.6),
    dict(rate=9.1),
]


@pytest.mark.parametrize("arguments", KERNELS, ids=lambda a: "-".join(map(str, a.values())))
def test_nested_lattice_payloads_are_bit_identical(numpy_path, arguments):
    rng = np.random.default_rng(3)
    A = rng.standard_cauchy(size=(203, 5)).astype(np.float32)  # heavy tails: escapes
    B = rng.normal(size=(203, 4))
    kernel = NestedLatticeMatmul(**arguments, seed=11)
    payloads = kernel.encode_a(A), kernel.encode_b(B)
    estimate = kernel.estimate(*payloads)
    with numpy_path:
        assert (kernel.encode_a(A), kernel.encode_b(B)) == payloads
        assert same_bits(kernel.estimate(*payloads), estimate)


def test_a_read_only_install_loads_the_cached_kernels(tmp_path):
    """Where the package's __pycache__ cannot be written (the harness's sandbox), the kernels
    come from a private copy of it in the temporary directory: loaded, not recompiled."""
    compiled.warm_up()  # the in-tree cache holds every kernel
    script = textwrap.dedent(
        """
        import os, sys
        from numba.core import caching
        tree = os.path.join(os.path.dirname(sys.argv[1]), "__pycache__")
        original = caching._CacheLocator.ensure_cache_path

        def read_only_tree(self):  # the tree's cache folder behaves as if mounted read-only
            if os.path.abspath(self.get_cache_path()) == os.path.abspath(tree):
                raise PermissionError(13, "read-only file system", tree)
            return original(self)

        caching._CacheLocator.ensure_cache_path = read_only_tree
        import numpy as np
        from quantmm.fast import numba_kernels
        from quantmm.fast.compiled import dither
        from quantmm.fast.lattices import lattice
        dither(lattice("E8"), 1, 2, np.arange(3, dtype=np.int64))
        stats = numba_kernels.dither.stats
        print(sum(stats.cache_hits.values()), sum(stats.cache_misses.values()))
        """
    )
    from quantmm.fast import numba_kernels

    environment = {**os.environ, "TMPDIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-c", script, numba_kernels.__file__],
        capture_output=True,
        text=True,
        env=environment,
        cwd=tmp_path,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    hits, misses = map(int, result.stdout.split()[-2:])
    assert (hits, misses) == (1, 0), result.stdout  # loaded from the cache, not compiled
    copies = list((tmp_path / f"quantmm-numba-{os.getuid()}").iterdir())
    assert any(path.name.startswith("numba_kernels.dither") for path in copies)


def _certificate(targets) -> dict:
    """The certificate's verdicts, checks and figures (its sources: an editable install also
    hashes numba_kernels.py when the workers load it)."""
    from quantmm.conformance.harness import certify

    certificate = certify(targets, seed=3, progress=None).to_json()
    kernels_file = str(Path(compiled.__file__).with_name("numba_kernels.py"))
    for target in certificate["targets"]:
        target["sources"].pop(kernels_file, None)
    return {key: certificate[key] for key in ("verdict", "targets", "skipped", "plan")}


def _worker_runs_compiled() -> bool:
    """Whether a sandboxed harness worker runs the compiled kernels: tests/compiled_probe.py's
    kernel encodes with NestedLatticeMatmul and answers whether numba's kernels ran."""
    from quantmm.conformance import encode_in_fresh_process

    target = {"target": str(Path(__file__).with_name("compiled_probe.py")) + ":Probe"}
    payload = encode_in_fresh_process(target, "a", np.ones((64, 2)), seed=0)
    assert payload in (b"compiled", b"numpy"), payload
    return payload == b"compiled"


def _nested_targets(names):
    from quantmm.conformance.harness import builtin_targets

    kernels = builtin_targets()[0]
    chosen = [target for target in kernels if any(name in target.name for name in names)]
    assert len(chosen) == len(names), [target.name for target in kernels]
    return chosen


@pytest.mark.parametrize(
    "names",
    [
        pytest.param(["'E8', scaling='unbiased'"], id="E8-unbiased"),
        pytest.param(
            ["'E8', scaling='mmse'", "'D4'", "'A2'", "'Z'", "0.6"],
            id="every-other-nested-target",
            marks=pytest.mark.slow,
        ),
    ],
)
def test_the_harness_gives_the_compiled_kernels_the_numpy_verdicts(monkeypatch, names):
    """The same certificate, check by check and figure by figure, whichever path the workers
    run (the harness passes QUANTMM_NUMBA on to them)."""
    targets = _nested_targets(names)
    assert _worker_runs_compiled()
    compiled_run = _certificate(targets)
    monkeypatch.setenv("QUANTMM_NUMBA", "0")
    assert not _worker_runs_compiled()
    numpy_run = _certificate(targets)
    assert compiled_run == numpy_run
    assert compiled_run["verdict"] == "pass"


@pytest.mark.parametrize("radix", [2, 3, 14, 16, 26, 255, 256, 300, 65536])
# 100003 codes: more groups than one parallel task of the compiled packers packs (1024)
@pytest.mark.parametrize("count", [1, 15, 16, 17, 1000, 100_003])
def test_packing_is_bit_identical(numpy_path, radix, count):
    dtype = np.uint8 if radix <= 256 else np.uint16
    codes = np.random.default_rng(radix + count).integers(0, radix, size=count).astype(dtype)
    codes[: min(count, 3)] = radix - 1  # the largest code in the first group
    data = pack_codes(codes, radix)
    unpacked = unpack_codes(data, radix, count)
    with numpy_path:
        assert pack_codes(codes, radix) == data
        expected = unpack_codes(data, radix, count)
    assert same_bits(unpacked, expected) and same_bits(unpacked.astype(dtype), codes)


def test_corrupt_packed_codes_are_refused_as_before(numpy_path):
    # radix 14: a group of 16 codes in 61 bits; all ones is 2^61 − 1 > 14^16 − 1
    data = b"\xff" * 7 + b"\x1f"
    with pytest.raises(ValueError, match=r"a group holds radix\^g or more"):
        unpack_codes(data, 14, 16)
    with numpy_path, pytest.raises(ValueError, match=r"a group holds radix\^g or more"):
        unpack_codes(data, 14, 16)


def test_a_corrupt_group_in_a_later_parallel_task_is_refused(numpy_path):
    """Group 2000 of 3000 (the second task of the compiled unpacker) set to all ones."""
    data = bytearray(pack_codes(np.zeros(16 * 3000, dtype=np.uint8), 14))
    first_bit = 2000 * 61
    for bit in range(first_bit, first_bit + 61):
        data[bit >> 3] |= 1 << (bit & 7)
    with pytest.raises(ValueError, match=r"a group holds radix\^g or more"):
        unpack_codes(bytes(data), 14, 16 * 3000)
    with numpy_path, pytest.raises(ValueError, match=r"a group holds radix\^g or more"):
        unpack_codes(bytes(data), 14, 16 * 3000)
