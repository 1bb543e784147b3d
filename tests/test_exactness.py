"""The exactness check (quantmm.conformance.exactness) and its exact tie-rule reference.

- conformance_tie_rule_point (exact Fractions, Q(√3) for A2) is always one of the exhaustive
  brute-force closest points (quantmm.conformance.brute_force), and on hand-derived ties it
  gives the point the documented rule gives (each derivation is in a comment);
- quantmm.fast.closest_point passes the check for every lattice in float32 and float64;
- four deliberately broken decoders fail it, by the check's name, with a seed and a reproduction:
  (a) E8 giving coset ties to the second coset, (b) D_d re-rounding the last index among equals,
  (c) Z rounding halves away from zero, (d) E8 without the parity fix;
- a decoder that raises, returns NaN or the wrong shape fails instead of raising; misuse raises.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from quantmm.conformance.brute_force import (
    closest_points,
    conformance_tie_rule_point,
    e8_closest_points,
    exact,
)
from quantmm.conformance.exactness import _hypothesis_inputs, check_exactness
from quantmm.conformance.results import FAIL, PASS
from quantmm.conformance.strategies import LATTICE_DIMENSIONS, lattice_inputs
from quantmm.fast import closest_point

LATTICES = list(LATTICE_DIMENSIONS)
DTYPES = [np.float32, np.float64]


def brute_force(name: str, x) -> set:
    """All exact closest points (A2: integer coordinates (m, n))."""
    return closest_points(x, name)


# --- the exact tie rule ---------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("name", LATTICES)
@given(data=st.data())
def test_tie_rule_point_is_a_brute_force_closest_point(name, dtype, data):
    """On the hard inputs of lattice_inputs (ties, parity boundaries, range edges, subnormals)."""
    x = data.draw(lattice_inputs(name, dtype)).tolist()
    assert conformance_tie_rule_point(x, name) in brute_force(name, x)


@pytest.mark.parametrize("name", ["Z", "D", "D4", "E8"])
@given(data=st.data())
def test_tie_rule_point_on_quarter_grids(name, data):
    """Quarter-integer vectors (mostly ties) in dimensions 2…9 (Z, D) or the lattice's own."""
    d = LATTICE_DIMENSIONS[name] if name in ("D4", "E8") else data.draw(st.integers(2, 9))
    x = [k / 4 for k in data.draw(st.lists(st.integers(-9, 9), min_size=d, max_size=d))]
    assert conformance_tie_rule_point(x, name) in brute_force(name, x)


# (lattice, x, expected point (A2: (m, n)), derivation by the documented rule)
HAND_TIES = [
    # rint to even: 0.5 → 0, 1.5 → 2, −2.5 → −2.
    ("Z", [0.5, 1.5, -2.5], (0, 2, -2), "halves to even"),
    # D4 (.6, .6, .6, .1): rint (1, 1, 1, 0), odd; errors (−.4, −.4, −.4, .1): first index 0,
    # x_0 < f_0 → down: (0, 1, 1, 0) (the fast module's own docstring example).
    ("D4", [0.6, 0.6, 0.6, 0.1], (0, 1, 1, 0), "first index, down"),
    # D3 (.25, −.25, 1): rint (0, 0, 1) odd; errors (.25, −.25, 0): index 0, x_0 ≥ f_0 → up.
    ("D", [0.25, -0.25, 1.0], (1, 0, 1), "first index, up"),
    # D2 (.5, .5): rint (0, 0), even sum: kept ((1, 1) is as near).
    ("D", [0.5, 0.5], (0, 0), "even sum kept"),
    # E8 all ¼: D8 gives 0 (distance ½), the coset ½·1 (distance ½): tie, D8 wins.
    ("E8", [0.25] * 8, (0,) * 8, "coset tie, first wins"),
    # E8 (1, 0, …, 0), a deep hole: rint → (1, 0, …) odd, all errors 0: index 0, up → (2, 0, …);
    # the coset's candidate is as near (distance 1): D8 wins.
    ("E8", [1.0] + [0.0] * 7, (2,) + (0,) * 7, "deep hole"),
    # A2 (½, 0): rint(½) = 0 in Z × √3Z → (0, 0), coordinates (0, 0); (1, 0) is as near.
    ("A2", [0.5, 0.0], (0, 0), "A2 edge, rint to even"),
    # A2 (0, ¾): second coset, rint(0 − ½) = −0 → (½, √3/2) = 0·(1, 0) + 1·(½, √3/2).
    ("A2", [0.0, 0.75], (0, 1), "A2 edge in the second coset"),
]


@pytest.mark.parametrize(("name", "x", "expected", "why"), HAND_TIES, ids=[c[3] for c in HAND_TIES])
def test_tie_rule_point_on_hand_derived_ties(name, x, expected, why):
    """The rule's answer (derived by hand above) is returned, and it is one of several closest."""
    closest = brute_force(name, x)
    point = conformance_tie_rule_point(x, name)
    assert len(closest) > 1 and point in closest
    assert point == (expected if name == "A2" else tuple(Fraction(v) for v in expected))


def test_tie_rule_point_refuses_bad_arguments():
    with pytest.raises(ValueError, match="lattice"):
        conformance_tie_rule_point([0.0] * 8, "E7")
    with pytest.raises(ValueError, match="8 entries"):
        conformance_tie_rule_point([0.0] * 7, "E8")
    with pytest.raises(ValueError, match="at least 2"):
        conformance_tie_rule_point([0.0], "D")


# --- quantmm.fast passes --------------------------------------------------------------------------


#: Found by check_exactness; every entry is below the documented float64 limit 2^50.
E8_COUNTEREXAMPLE = [-(2.0**50) + 0.125, -221.5, 0.0, 2.0**50 - 0.125]
E8_COUNTEREXAMPLE += [-(2.0**49) - 0.5, -(2.0**49) - 0.5, -85.5, 0.5]


def test_fast_e8_float64_counterexample_near_the_range_limit():
    """The exact minimum (brute force) is 17/32; fast's answer must attain it."""
    x = np.array(E8_COUNTEREXAMPLE)
    closest, minimum = e8_closest_points(exact(x.tolist()))
    assert minimum == Fraction(17, 32)
    assert exact(closest_point(x, "E8").tolist()) in closest


PASSING = [
    pytest.param(
        name,
        dtype,
        id=f"{name}-{dtype.__name__}",
    )
    for name in LATTICES
    for dtype in DTYPES
]


@pytest.mark.parametrize(("name", "dtype"), PASSING)
def test_fast_closest_point_passes(name, dtype):
    """quantmm.fast.closest_point: every answer is the documented point (quick profile, seed 0)."""
    result = check_exactness(lambda x: closest_point(x, name), name, dtype=dtype)
    assert result.name == f"exactness:{name}"
    assert result.verdict == PASS, result.failure and result.failure.message
    figures = result.figures
    assert figures["mismatches"] == 0 and figures["ties"] > 0
    assert figures["inputs"] == figures["random_inputs"] + figures["hypothesis_inputs"] >= 2000


# --- broken decoders fail -------------------------------------------------------------------------


def d_first_index(x: np.ndarray) -> np.ndarray:
    """D_d by the documented rule (no range check: x − ½ near 2^50 may leave fast's range)."""
    f = np.rint(x)
    error = x - f
    first = np.argmax(np.abs(error), axis=-1)
    worst = np.take_along_axis(error, first[..., None], axis=-1)[..., 0]
    step = np.where(worst >= 0, 1.0, -1.0) * (f.sum(axis=-1) % 2 != 0)
    return f + (np.arange(x.shape[-1]) == first[..., None]) * step[..., None]


def e8_second_coset_wins_ties(x: np.ndarray) -> np.ndarray:
    """(a) quantmm's E8 decoder, except that the second coset wins where the float64 squared
    distances of the two cosets' D8 decodings are equal (the tie rule reversed, nothing else)."""
    wide = x.astype(np.float64)
    first = d_first_index(wide)
    second = d_first_index(wide - 0.5) + 0.5
    d1 = ((wide - first) ** 2).sum(axis=-1)
    d2 = ((wide - second) ** 2).sum(axis=-1)
    reversed_ties = np.where((d2 == d1)[..., None], second, closest_point(x, "E8"))
    return reversed_ties.astype(x.dtype)


def d_last_index_re_rounded(x: np.ndarray) -> np.ndarray:
    """(b) D_d re-rounding the LAST coordinate among the largest |error|."""
    f = np.rint(x)
    error = x - f
    last = x.shape[-1] - 1 - np.argmax(np.abs(error)[..., ::-1], axis=-1)
    worst = np.take_along_axis(error, last[..., None], axis=-1)[..., 0]
    step = np.where(worst >= 0, 1.0, -1.0) * (f.sum(axis=-1) % 2 != 0)
    return (f + (np.arange(x.shape[-1]) == last[..., None]) * step[..., None]).astype(x.dtype)


def halves_away_from_zero(x: np.ndarray) -> np.ndarray:
    """(c) Z rounding halves away from zero instead of to even."""
    return np.sign(x) * np.floor(np.abs(x) + 0.5)


def e8_without_parity_fix(x: np.ndarray) -> np.ndarray:
    """(d) E8 as the nearer of rint(x) and rint(x − ½) + ½: no D8 parity fix."""
    wide = x.astype(np.float64)
    first, second = np.rint(wide), np.rint(wide - 0.5) + 0.5
    d1 = ((wide - first) ** 2).sum(axis=-1)
    d2 = ((wide - second) ** 2).sum(axis=-1)
    return np.where((d2 < d1)[..., None], second, first).astype(x.dtype)


BROKEN = [
    ("E8", e8_second_coset_wins_ties),
    ("D", d_last_index_re_rounded),
    ("Z", halves_away_from_zero),
    ("E8", e8_without_parity_fix),
]


@pytest.mark.parametrize(("name", "decoder"), BROKEN, ids=[d.__name__ for _, d in BROKEN])
def test_broken_decoders_fail(name, decoder):
    """Each broken decoder fails exactness:<lattice>, with the seed, a reproduction naming the
    failing input in hex, and an example (input, got, expected) that really is a mismatch: the
    expected point is a brute-force closest point and the decoder's answer on that input differs."""
    result = check_exactness(decoder, name, seed=3)
    assert result.verdict == FAIL and result.name == f"exactness:{name}"
    assert result.figures["mismatches"] > 0
    if decoder is not e8_without_parity_fix:  # (a)-(c) differ from the rule on exact ties
        assert result.figures["tie_mismatches"] > 0
    failure = result.failure
    assert failure.seed == 3 and "float.fromhex" in failure.reproduction
    assert f"import {decoder.__name__} as decoder" in failure.reproduction
    x = np.array([[float.fromhex(h) for h in failure.example["x"]]])
    expected = [float.fromhex(h) for h in failure.example["expected"]["point"]]
    assert exact(expected) in brute_force(name, x[0].tolist())
    assert decoder(x)[0].tolist() != expected
    assert [float.fromhex(h) for h in failure.example["got"]] == decoder(x)[0].tolist()


def test_reproduction_runs_and_shows_the_failure(capsys):
    """The reproduction of (c) runs as printed (its import line finds this module) and ends by
    printing the same failure message."""
    failure = check_exactness(halves_away_from_zero, "Z", seed=5).failure
    exec(failure.reproduction, {})
    assert capsys.readouterr().out.strip().endswith(failure.message)


def test_failure_json_is_plain():
    """The failing result round-trips through JSON (figures and example are plain values)."""
    import json

    from quantmm.conformance.results import CheckResult

    result = check_exactness(halves_away_from_zero, "Z", dtype=np.float32)
    text = json.dumps(result.to_json())
    assert CheckResult.from_json(json.loads(text)) == result


# --- misbehaving decoders, misuse, reproducibility ------------------------------------------------


def raises(x):
    raise RuntimeError("no decoder here")


MISBEHAVING = [
    ("raises", raises, "no decoder here"),
    ("NaN", lambda x: np.full_like(x, np.nan), "NaN"),
    ("wrong shape", lambda x: closest_point(x, "Z")[:, :4], "shape"),
    ("complex", lambda x: closest_point(x, "Z").astype(np.complex128), "dtype"),
]


@pytest.mark.parametrize(
    ("decoder", "words"), [c[1:] for c in MISBEHAVING], ids=[c[0] for c in MISBEHAVING]
)
def test_misbehaving_decoder_fails_instead_of_raising(decoder, words):
    result = check_exactness(decoder, "Z", seed=2)
    assert result.verdict == FAIL and words in result.failure.message
    assert result.failure.seed == 2 and "check_exactness" in result.failure.reproduction


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"lattice": "E7"}, ValueError, "lattice"),
        ({"profile": "paper"}, ValueError, "profile"),
        ({"seed": -1}, ValueError, "seed"),
        ({"seed": 1.5}, ValueError, "seed"),
        ({"dtype": np.float16}, TypeError, "dtype"),
        ({"device": "tpu"}, ValueError, "device"),
        ({"decoder": "closest_point"}, TypeError, "decoder"),
    ],
)
def test_misuse_raises(kwargs, error, words):
    arguments = {"decoder": lambda x: closest_point(x, "Z"), "lattice": "Z", **kwargs}
    decoder, lattice = arguments.pop("decoder"), arguments.pop("lattice")
    with pytest.raises(error, match=words):
        check_exactness(decoder, lattice, **arguments)


def test_same_seed_same_inputs_and_result():
    """The hypothesis examples are the same bytes for one seed and differ for another; the whole
    result (figures included) is identical on a rerun."""
    first = _hypothesis_inputs("E8", np.dtype(np.float64), 60, 9)
    assert first.tobytes() == _hypothesis_inputs("E8", np.dtype(np.float64), 60, 9).tobytes()
    assert first.tobytes() != _hypothesis_inputs("E8", np.dtype(np.float64), 60, 10).tobytes()
    decoder = d_last_index_re_rounded
    assert check_exactness(decoder, "D4", seed=9) == check_exactness(decoder, "D4", seed=9)
