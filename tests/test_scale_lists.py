"""Tests for quantmm.fast.scale_lists: tuned scale lists of Voronoi codes (theory.md §1.4).

Independent computations: the closed form D = 1 − (1 + ε)^−2 and φ(R) (theory.md §1.1) for the
predicted gap; the stored table against a fresh run of the tuner; the dither-safe guarantee against
the exact overload test of VoronoiCode (checked against NQ's test in test_fast_voronoi.py).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from quantmm.fast.scale_lists import (
    TABLE_LATTICES,
    TABLE_Q,
    _gaussian_blocks,
    default_betas,
    predicted_gap_db,
    tune_betas,
)
from quantmm.fast.scale_table import TUNED_BETAS
from quantmm.fast.voronoi import VoronoiCode


def test_predicted_gap_is_zero_for_the_ideal_error_and_grows_with_it():
    for rate in (1.0, 2.5, 4.0, 7.0):
        s = 2.0 ** (-2 * rate)
        ideal = s / (1 - s)  # the test channel: 1 + ε = 1/(1 − s), so 1 − (1 + ε)^−2 = φ(R)
        assert abs(predicted_gap_db(ideal, rate)) < 1e-9
        doubled = predicted_gap_db(2 * ideal, rate)  # high rate: D ≈ 2ε, so about 3 dB
        assert 0 < doubled < 3.02 and (rate < 4 or doubled > 2.9)
    with pytest.raises(ValueError, match="rate must be >= 1"):
        predicted_gap_db(0.1, 0.5)


def test_table_covers_every_lattice_and_q_with_increasing_positive_scales():
    assert set(TUNED_BETAS) == {(name, q, 4) for name in TABLE_LATTICES for q in TABLE_Q}
    for betas in TUNED_BETAS.values():
        assert len(betas) == 4 and all(0 < a < b for a, b in itertools.pairwise(betas))


@pytest.mark.slow
@pytest.mark.parametrize(("name", "q"), [("E8", 14), ("D4", 8), ("Z", 4), ("A2", 3)])
def test_stored_table_equals_a_fresh_tuning(name, q):
    """The table is not stale: re-running the tuner (seed 0, 2^14 blocks) gives the same lists."""
    tune_betas.cache_clear()
    assert tune_betas(name, q, 4) == TUNED_BETAS[(name, q, 4)]


def test_safe_scales_never_overload():
    """Blocks given their safe scale decode exactly for every dither: 20 fresh seeds, the exact
    decoder check of VoronoiCode (itself checked against NQ's test in test_fast_voronoi.py)."""
    for name, q in (("E8", 2), ("E8", 6), ("D4", 4), ("Z", 3), ("A2", 5)):
        betas = default_betas(name, q, 4, "safe")
        x = _gaussian_blocks(2048, seed=9)
        chosen = VoronoiCode(name, q, betas).safe_scale_index(x)
        usable = chosen < len(betas)
        assert usable.mean() > 0.98
        for seed in range(20):
            code = VoronoiCode(name, q, betas, seed=seed)
            words = code.encode(x[usable], np.flatnonzero(usable), chosen[usable])
            assert not words.overloaded.any()


def test_first_fit_tuning_balances_the_scales():
    """Every tuned scale is used by a non-trivial share of Gaussian blocks (fresh seed)."""
    betas = default_betas("E8", 14, 4)
    code = VoronoiCode("E8", 14, betas, seed=77)
    words = code.encode(_gaussian_blocks(8192, seed=3))
    shares = np.bincount(words.scale_index, minlength=5) / len(words.scale_index)
    assert shares[:4].min() > 0.02 and shares[4] < 0.01
    entropy = -sum(p * math.log2(p) for p in shares if p > 0)
    assert 1.0 < entropy <= 2.0 + 1e-9


@pytest.mark.parametrize(("kwargs", "message"), [({"k": 0}, "k must be"), ({"rule": "x"}, "rule")])
def test_bad_arguments_raise(kwargs, message):
    with pytest.raises(ValueError, match=message):
        tune_betas(**({"lattice": "E8", "q": 4, "k": 2} | kwargs))
