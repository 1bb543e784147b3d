"""Tests for quantmm.fast.scale_lists: tuned scale lists of Voronoi codes (theory.md §1.4).

Independent computations: the closed form D = 1 − (1 + ε)^−2 and φ(R) (theory.md §1.1) for the
predicted gap; the stored table against a fresh run of the tuner and against values copied from the
generated Python module it replaced; the dither-safe guarantee against the exact overload test of
VoronoiCode (checked against NQ's test in test_fast_voronoi.py).
"""

from __future__ import annotations

import itertools
import math
from importlib import resources

import numpy as np
import pytest

from quantmm.fast import scale_lists
from quantmm.fast.scale_lists import (
    TABLE_BLOCKS,
    TABLE_FILE,
    TABLE_K,
    TABLE_LATTICES,
    TABLE_Q,
    TABLE_SEED,
    ScaleTable,
    _gaussian_blocks,
    default_betas,
    format_table,
    parse_table,
    predicted_gap_db,
    tune_betas,
)
from quantmm.fast.scale_table import TABLE, TUNED_BETAS
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


def test_loader_gives_the_dict_the_generated_module_held():
    """A plain dict keyed by (str, int, int) tuples in the generator's order, tuples of floats,
    from first_fit tuning at the stored block count and seed; two values as the generated Python
    module printed them (repr), so the same bits."""
    assert type(TUNED_BETAS) is dict
    assert list(TUNED_BETAS) == [(name, q, TABLE_K) for name in TABLE_LATTICES for q in TABLE_Q]
    for key, betas in TUNED_BETAS.items():
        assert [type(part) for part in key] == [str, int, int]
        assert type(betas) is tuple and all(type(beta) is float for beta in betas)
    assert (TABLE.rule, TABLE.blocks, TABLE.seed) == ("first_fit", TABLE_BLOCKS, TABLE_SEED)
    assert (TABLE_BLOCKS, TABLE_SEED) == (1 << 14, 0)  # tune_betas' defaults
    assert TUNED_BETAS[("Z", 12, 4)][1].hex() == (0.3333333333333333).hex()
    assert TUNED_BETAS[("E8", 32, 4)][3].hex() == (0.1927763531759926).hex()


# Cheap entries, about 6 s together on one core (the slow test below adds D4 and more).
@pytest.mark.parametrize(("name", "q"), [("Z", 6), ("A2", 32), ("E8", 22)])
def test_regenerating_a_sample_reproduces_the_stored_bits(name, q):
    fresh = tune_betas.__wrapped__(name, q, TABLE_K, blocks=TABLE.blocks, seed=TABLE.seed)
    stored = TUNED_BETAS[(name, q, TABLE_K)]
    assert [beta.hex() for beta in fresh] == [beta.hex() for beta in stored]


def test_the_writer_reproduces_the_stored_file_byte_for_byte(monkeypatch, tmp_path):
    """format_table(parse_table(file)) is the file, and write_table with the tuner answering from
    the table (at the stored blocks and seed) writes the same bytes."""
    stored = resources.files("quantmm.fast").joinpath(TABLE_FILE).read_bytes()
    assert stored.endswith(b"}\n") and stored.isascii()
    assert format_table(parse_table(stored.decode("ascii"))).encode("ascii") == stored

    def from_table(name, q, k, *, blocks, seed):
        assert (blocks, seed) == (TABLE.blocks, TABLE.seed)
        return TUNED_BETAS[(name, q, k)]

    monkeypatch.setattr(scale_lists, "tune_betas", from_table)
    scale_lists.write_table(str(tmp_path / "tuned_betas.json"))
    assert (tmp_path / "tuned_betas.json").read_bytes() == stored


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda text: text.replace("tuned-betas/1", "tuned-betas/2"), "schema must be"),
        (lambda text: text.replace("0x1.8000000000000p-1", "0x1.8p-1"), "canonical"),
        (lambda text: text.replace('"q": 3', '"q": 2'), "appears twice"),
    ],
)
def test_parse_table_refuses_an_altered_file(edit, message):
    table = ScaleTable("first_fit", 8, 0, {("Z", 2, 1): (0.75,), ("Z", 3, 1): (0.5,)})
    text = format_table(table)
    assert parse_table(text) == table
    with pytest.raises(ValueError, match=message):
        parse_table(edit(text))


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
