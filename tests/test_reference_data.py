"""The stored reference values (conformance/data/reference_values.json) cannot rot.

The checksums are recomputed here from the file's content (sha256 of canonical JSON, written out
in this file rather than imported); a seeded random sample of rows is recomputed with the
certified mpmath reference (quantmm.reference) and must agree digit for digit; the stored inputs
must be exactly what the generator produces today; tampered copies must be refused.
"""

from __future__ import annotations

import doctest
import hashlib
import json
import math
import random
from pathlib import Path

import pytest

import quantmm.conformance.generate_reference_data as generator
import quantmm.conformance.reference_data as reference_data_module
from quantmm.conformance.reference_data import (
    ReferenceRow,
    load_reference_data,
    recompute,
)

DATA_FILE = Path(generator.__file__).resolve().parent / "data" / "reference_values.json"
#: Rows recomputed with mpmath on every run (a different sample per seed; CI uses this one).
SAMPLE_SIZE = 20
SAMPLE_SEED = 20250105


def sha256_of_canonical_json(value) -> str:
    """sha256 of JSON with sorted keys, no whitespace, ASCII (the schema's canonical form)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


@pytest.fixture(scope="module")
def raw():
    return json.loads(DATA_FILE.read_text(encoding="ascii"))


def test_docstring_examples():
    for module in (reference_data_module, generator):
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        assert result.failed == 0 and result.attempted > 0


def test_schema_fields_present(raw):
    assert raw["schema"] == "quantmm-reference-data/1"
    assert raw["digits"] == 40
    assert isinstance(raw["mpmath_version"], str) and raw["mpmath_version"].count(".") >= 1
    commit = raw["generating_commit"]
    assert commit == "unknown" or (len(commit) == 40 and int(commit, 16) >= 0)
    for row in raw["rows"]:
        assert set(row) == {"function", "args", "value"}
        assert all(isinstance(float.fromhex(a), float) for a in row["args"])


def test_checksums_match_the_content(raw):
    inputs = [{"function": row["function"], "args": row["args"]} for row in raw["rows"]]
    assert raw["inputs_sha256"] == sha256_of_canonical_json(inputs)
    assert raw["rows_sha256"] == sha256_of_canonical_json(raw["rows"])
    data = load_reference_data()
    assert data.checksum == raw["rows_sha256"]
    assert data.inputs_checksum == raw["inputs_sha256"]
    assert len(data.rows) == len(raw["rows"])


def test_stored_inputs_are_what_the_generator_produces():
    """The inputs are deterministic (fixed seed): regenerating them gives the stored checksum."""
    assert sha256_of_canonical_json(generator.reference_inputs()) == (
        load_reference_data().inputs_checksum
    )


def test_contents_cover_what_the_checks_need(raw):
    """A few hundred rows, < 300 kB; Γ and φ from 0 to 600 with rates around R*; λ* for the
    stated correlations with u in [−60, 60] including 0."""
    assert 300 <= len(raw["rows"]) <= 800
    assert DATA_FILE.stat().st_size < 300_000
    data = load_reference_data()
    for function in ("gamma", "phi"):
        rates = [row.args[0] for row in data.rows_for(function)]
        assert min(rates) == 0.0 and max(rates) == 600.0
        assert 5e-324 in rates and sum(0.9 < r < 0.91 for r in rates) >= 8
    density = data.rows_for("optimal_density")
    rhos = {row.args[1] for row in density}
    assert rhos == {0.0, 0.3, -0.3, 1 / math.sqrt(3), 0.8, 0.999, 1.0, -1.0}
    for rho in rhos:
        points = [row.args[0] for row in density if row.args[1] == rho]
        assert 0.0 in points and min(points) == -60.0 and max(points) == 60.0


def test_a_seeded_random_sample_recomputes_with_mpmath():
    """CI's guard against rot: SAMPLE_SIZE rows drawn with a fixed seed are evaluated again with
    the certified reference at 40 digits and must match the stored strings exactly."""
    data = load_reference_data()
    sample = random.Random(SAMPLE_SEED).sample(data.rows, SAMPLE_SIZE)
    assert recompute(sample, digits=data.digits) == []


def test_recompute_reports_a_wrong_value():
    row = ReferenceRow("gamma", (1.0,), "0.4375000000000000000000000000000000000001")
    (mismatch,) = recompute([row])
    assert mismatch.stored == row.value
    assert mismatch.recomputed == "0.4375000000000000000000000000000000000000"  # 7/16 exactly


def test_recompute_insists_on_the_stored_digits():
    row = ReferenceRow("phi", (1.0,), "0.4375")
    with pytest.raises(ValueError, match="stored with 4 digits; recompute them with digits=4"):
        recompute([row])
    assert recompute([row], digits=4) == []


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        (lambda d: d["rows"][3].update(value="0.5"), "rows_sha256 does not match"),
        (lambda d: d["rows"][3].update(args=["0x1.0p+0"]), "inputs_sha256 does not match"),
        (lambda d: d["rows"].pop(), "inputs_sha256 does not match"),
        (lambda d: d.update(schema="quantmm-reference-data/2"), "schema must be"),
        (lambda d: d.pop("digits"), r"missing field\(s\) \['digits'\]"),
        (lambda d: d.update(rows=[]), "rows must be a non-empty list"),
    ],
)
def test_a_tampered_copy_is_refused_naming_the_file(raw, tmp_path, tamper, message):
    data = json.loads(json.dumps(raw))
    tamper(data)
    path = tmp_path / "tampered.json"
    path.write_text(json.dumps(data), encoding="ascii")
    with pytest.raises(ValueError, match=message) as raised:
        load_reference_data(path)
    assert str(path) in str(raised.value)


def test_a_value_altered_with_a_recomputed_checksum_is_caught_by_recompute(raw, tmp_path):
    """Someone who edits a value and fixes rows_sha256 passes the load, not the recomputation."""
    data = json.loads(json.dumps(raw))
    index = next(i for i, row in enumerate(data["rows"]) if row["function"] == "phi")
    value = data["rows"][index]["value"]
    data["rows"][index]["value"] = value[:-1] + ("1" if value[-1] != "1" else "2")
    data["rows_sha256"] = sha256_of_canonical_json(data["rows"])
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(data), encoding="ascii")
    loaded = load_reference_data(path)
    assert len(recompute([loaded.rows[index]])) == 1


def test_not_json_is_refused(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text("{not json", encoding="ascii")
    with pytest.raises(ValueError, match=r"broken\.json is invalid: not JSON"):
        load_reference_data(path)


def test_rows_for_unknown_function_raises():
    with pytest.raises(KeyError, match="no reference rows for function 'erf'"):
        load_reference_data().rows_for("erf")


def test_generator_writes_a_loadable_file(tmp_path, monkeypatch):
    """The command line writes a file the loader accepts (values stubbed to keep this fast; the
    real values are checked by the recomputation test above)."""
    monkeypatch.setattr(generator, "reference_value", lambda function, args, digits=40: "1")
    monkeypatch.setattr(generator, "_require_unambiguous_rounding", lambda *args: None)
    path = tmp_path / "out.json"
    assert generator.main(["--output", str(path)]) == 0
    loaded = load_reference_data(path)
    assert loaded.inputs_checksum == load_reference_data().inputs_checksum
    assert loaded.rows[0] == ReferenceRow("gamma", (0.0,), "1")
