"""Tests for quantmm.fast.voronoi: the dithered Voronoi code of theory.md §1.4.

Independent computations used: the public closest-point decoder (itself checked against brute force
in test_fast_lattices.py) for t = Q(x/β + z) and NQ's overload test Q((t − z)/q) ≠ 0; the exact
second moments 1/12, 5/72, 13/120, 929/12960 (rational closed forms, re-derived below);
enumeration of the whole code for small q.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

from quantmm.fast.backend import cupy_or_none
from quantmm.fast.lattices import closest_point, lattice
from quantmm.fast.voronoi import BLOCK, OverloadError, VoronoiCode

CODE_LATTICES = ("Z", "A2", "D4", "E8")
LATTICE_CLOSEST = {"Z": "Z", "A2": "A2", "D4": "D4", "E8": "E8"}

# G(Λ)·det^(2/d) with the public G: Z 1/12·1; A2 5/(36√3)·(√3/2); D4 13/(120√2)·√2; E8 929/12960·1.
SECOND_MOMENT = {
    "Z": Fraction(1, 12),
    "A2": Fraction(5, 36) / 2,
    "D4": Fraction(13, 120),
    "E8": Fraction(929, 12960),
}


def _lattice_blocks(values, name):
    d = lattice(name).dimension
    return values.reshape(-1, BLOCK // d, d)


def _independent_encode(code, x, beta, z):
    """t = Q(x/β + z) and NQ's overload flag Q((t − z)/q) ≠ 0, with the public closest_point."""
    name = LATTICE_CLOSEST[code.lattice.name]
    t = closest_point(_lattice_blocks(x / beta + z, name), name)
    wrapped = closest_point((t - _lattice_blocks(z, name)) / code.q, name)
    overloaded = (wrapped != 0).reshape(len(x), -1).any(axis=1)
    return t.reshape(-1, BLOCK), overloaded


@pytest.mark.parametrize("name", CODE_LATTICES)
def test_decode_returns_the_lattice_point_when_no_overload_is_flagged(name):
    code = VoronoiCode(name, q=6, betas=(0.9, 1.4), seed=11)
    x = np.random.default_rng(1).normal(size=(4000, BLOCK))
    words = code.encode(x)
    fine = ~words.overloaded
    assert fine.mean() > 0.9
    decoded = code.decode(words.codes[fine], words.scale_index[fine], np.flatnonzero(fine))
    beta = np.asarray(code.betas)[words.scale_index[fine]][:, None]
    z = code.dither(np.flatnonzero(fine))
    t, nq_overload = _independent_encode(code, x[fine], beta, z)
    # decode(encode(x)) = β(t − z): exactly for the dyadic lattices, to rounding for A2 (√3).
    if name == "A2":
        np.testing.assert_allclose(decoded, beta * (t - z), rtol=0, atol=1e-12)
    else:
        assert np.array_equal(decoded, beta * (t - z))
    assert not nq_overload.any()  # NQ's test agrees: none of these blocks overloads


@pytest.mark.parametrize("name", CODE_LATTICES)
def test_overload_flags_agree_with_nq_test(name):
    """At one scale, blocks flagged overloaded are exactly those failing NQ's test (random data)."""
    code = VoronoiCode(name, q=4, betas=(0.8,), seed=5)
    x = np.random.default_rng(2).normal(size=(5000, BLOCK))
    words = code.encode(x)
    z = code.dither(np.arange(len(x)))
    _, nq_overload = _independent_encode(code, x, 0.8, z)
    assert 0.05 < nq_overload.mean() < 0.95  # both outcomes occur
    assert np.array_equal(words.overloaded, nq_overload)


@pytest.mark.parametrize("name", CODE_LATTICES)
def test_codes_lie_in_range_and_enumerate_the_code(name):
    """Codes are in [0, q); decoding every code word of one lattice block gives q^d distinct points
    of the coset Λ − z, all inside q·V(Λ) − z (brute-force enumeration, q = 3)."""
    q = 3
    code = VoronoiCode(name, q=q, betas=(1.0,), seed=2)
    d = code.lattice.dimension
    words = code.encode(np.random.default_rng(3).normal(size=(200, BLOCK)) * 0.3)
    assert words.codes.min() >= 0 and words.codes.max() < q
    grids = np.stack(np.meshgrid(*[np.arange(q)] * d, indexing="ij"), axis=-1).reshape(-1, d)
    codes = np.zeros((len(grids), BLOCK), dtype=np.uint8)
    codes[:, :d] = grids
    values = code.decode(codes, np.zeros(len(grids), dtype=np.uint8), np.zeros(len(grids), int))
    z = code.dither(np.zeros(1, dtype=np.int64))[0, :d]
    points = values[:, :d] + z  # the lattice points t
    assert len({tuple(np.round(p, 9)) for p in points}) == q**d
    nearest = closest_point(points, LATTICE_CLOSEST[name])
    np.testing.assert_allclose(nearest, points, atol=1e-12)  # they are lattice points
    inside = closest_point(values[:, :d] / q, LATTICE_CLOSEST[name])
    assert not inside.any()  # t − z lies in q·V(Λ): its nearest point of qΛ is 0


@pytest.mark.parametrize("name", CODE_LATTICES)
def test_dithered_error_has_the_lattice_second_moment(name):
    """E||x̂ − x||²/(8β²) = G(Λ)·det^(2/d) (exact rationals above), within 5 standard errors."""
    beta = 0.5
    code = VoronoiCode(name, q=14, betas=(beta,), seed=7)
    x = 0.5 * np.random.default_rng(4).normal(size=(20000, BLOCK))
    words = code.encode(x)
    assert not words.overloaded.any()
    error = code.decode(words.codes, words.scale_index) - x
    per_block = (error**2).mean(axis=1) / beta**2
    standard_error = per_block.std(ddof=1) / math.sqrt(len(per_block))
    assert abs(per_block.mean() - float(SECOND_MOMENT[name])) < 5 * standard_error
    # zero-mean and uncorrelated with x (subtractive dither)
    mean_error = error.mean(axis=0) / beta
    assert np.all(np.abs(mean_error) < 5 * error.std(axis=0) / beta / math.sqrt(len(error)))
    correlation = np.corrcoef(error.ravel(), x.ravel())[0, 1]
    assert abs(correlation) < 5 / math.sqrt(error.size)


def test_first_working_scale_is_chosen():
    code = VoronoiCode("E8", q=4, betas=(0.4, 0.6, 0.9, 1.6), seed=9)
    x = np.random.default_rng(5).normal(size=(3000, BLOCK))
    words = code.encode(x)
    z = code.dither(np.arange(len(x)))
    for j, beta in enumerate(code.betas):
        _, overloaded = _independent_encode(code, x, beta, z)
        chosen = words.scale_index == j
        assert not overloaded[chosen].any()  # the chosen scale works
        for earlier in range(j):  # every earlier scale failed
            _, before = _independent_encode(code, x[chosen], code.betas[earlier], z[chosen])
            assert before.all()
    assert np.bincount(words.scale_index, minlength=5)[:4].min() > 0


def test_overloaded_blocks_are_flagged_and_never_decoded():
    code = VoronoiCode("E8", q=4, betas=(0.1, 0.2), seed=1)
    x = np.zeros((3, BLOCK))
    x[1, 0] = 1e6  # far outside q·β·V
    words = code.encode(x)
    assert words.overloaded.tolist() == [False, True, False]
    assert words.scale_index[1] == 2
    with pytest.raises(OverloadError, match="1 of 3 blocks overloaded"):
        code.decode(words.codes, words.scale_index)
    fine = code.decode(words.codes[[0, 2]], words.scale_index[[0, 2]], np.array([0, 2]))
    assert np.abs(fine).max() < 0.2 * 1.0  # within β·(covering radius) of 0


def test_dither_depends_only_on_seed_and_block_index():
    code = VoronoiCode("E8", q=14, betas=(0.3, 0.5), seed=21)
    x = np.random.default_rng(6).normal(size=(64, BLOCK))
    words = code.encode(x)
    order = np.random.default_rng(7).permutation(64)
    shuffled = code.encode(x[order], order)
    assert np.array_equal(shuffled.codes, words.codes[order])
    assert np.array_equal(shuffled.scale_index, words.scale_index[order])
    other = VoronoiCode("E8", q=14, betas=(0.3, 0.5), seed=22).encode(x)
    assert not np.array_equal(other.codes, words.codes)


def test_float32_and_float64_inputs_give_identical_codes():
    x32 = np.random.default_rng(8).normal(size=(500, BLOCK)).astype(np.float32)
    code = VoronoiCode("D4", q=8, betas=(0.3, 0.6), seed=3)
    a, b = code.encode(x32), code.encode(x32.astype(np.float64))
    assert np.array_equal(a.codes, b.codes) and np.array_equal(a.scale_index, b.scale_index)


def test_rate_is_log2_q_plus_scale_index_bits():
    assert VoronoiCode("E8", 14, (0.1, 0.2, 0.3, 0.4)).rate == math.log2(14) + 2 / 8
    assert VoronoiCode("Z", 16, (1.0,)).rate == 4.0


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"q": 1}, ValueError, "q must be an integer in"),
        ({"q": 2.5}, ValueError, "q must be an integer in"),
        ({"betas": ()}, ValueError, "betas must be a non-empty"),
        ({"betas": (0.2, 0.1)}, ValueError, "strictly increasing"),
        ({"betas": (-1.0,)}, ValueError, "positive"),
        ({"betas": (float("nan"),)}, ValueError, "finite"),
        ({"betas": "abc"}, TypeError, "betas must be"),
        ({"seed": -1}, ValueError, "seed must be"),
        ({"lattice": "E7"}, ValueError, "lattice must be one of"),
    ],
)
def test_bad_construction_raises(kwargs, error, message):
    arguments = {"lattice": "E8", "q": 4, "betas": (1.0,), "seed": 0} | kwargs
    with pytest.raises(error, match=message):
        VoronoiCode(**arguments)


def test_bad_input_raises():
    code = VoronoiCode("E8", 4, (1.0,))
    with pytest.raises(ValueError, match=r"x must have shape \(N, 8\)"):
        code.encode(np.zeros((3, 7)))
    with pytest.raises(ValueError, match="x must be finite"):
        code.encode(np.full((1, 8), np.nan))
    with pytest.raises(TypeError, match="x must have dtype float32 or float64"):
        code.encode(np.zeros((1, 8), dtype=np.int64))
    with pytest.raises(ValueError, match="codes must lie in"):
        code.decode(np.full((1, 8), 4, dtype=np.uint8), np.zeros(1, dtype=np.uint8))
    with pytest.raises(ValueError, match="block_index must be"):
        code.encode(np.zeros((2, 8)), np.array([0]))


def test_cupy_gives_the_same_codes():
    cupy = cupy_or_none()
    if cupy is None:
        pytest.skip("CuPy with a visible GPU is not available on this machine")
    code = VoronoiCode("E8", q=14, betas=(0.3, 0.45, 0.6, 0.9), seed=5)
    x = np.random.default_rng(9).normal(size=(20000, BLOCK))
    cpu = code.encode(x)
    gpu = code.encode(cupy.asarray(x))
    assert np.array_equal(cpu.codes, gpu.codes.get())
    assert np.array_equal(cpu.scale_index, gpu.scale_index.get())
    fine = ~cpu.overloaded
    a = code.decode(cpu.codes[fine], cpu.scale_index[fine], np.flatnonzero(fine))
    b = code.decode(
        gpu.codes[cupy.asarray(fine)],
        gpu.scale_index[cupy.asarray(fine)],
        cupy.asarray(np.flatnonzero(fine)),
    )
    assert np.array_equal(a, b.get())
