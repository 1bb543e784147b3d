"""``quantmm experiment lattice-gap`` (quantmm.experiments.lattice_gap) end to end at tiny size.

Independent computations: Γ from the certified mpmath reference (quantmm.reference.gamma), the
code rate log2 q + log2(k)/8 and the side information's 64 bits per column written out here, and
the lattices' normalized second moments (quantmm.reference.normalized_second_moment) for the
expected ordering of the gaps.
"""

from __future__ import annotations

import csv
import doctest
import math

import pytest

from quantmm.experiments import lattice_gap
from quantmm.experiments.trials import Task, run_trials
from quantmm.fast.backend import cupy_or_none
from quantmm.reference import gamma, normalized_second_moment


def _rows(path):
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    directory = tmp_path_factory.mktemp("lattice_gap")
    result = lattice_gap.run(size="tiny", seed=3, output_dir=directory, progress=False)
    return result, directory


def test_files_written_and_csv_readable(tiny):
    result, directory = tiny
    assert {path.name for path in result.files} == {"lattice-gap.csv", "lattice-gap.png"}
    assert (directory / "lattice-gap.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rows = _rows(directory / "lattice-gap.csv")
    preset = lattice_gap.SIZE_PRESETS["tiny"]
    groups = len(preset["rates"]) + 1  # the nominal rates and NestQuant's q = 14
    assert len(rows) == groups * len(preset["lattices"]) * len(preset["scales"])
    assert len(result.rows) == len(rows)
    assert 0 < len(result.report.splitlines()) <= 25


def test_no_configuration_beats_the_converse(tiny):
    """theory.md §1.2: E D ≥ Γ(R) for every scheme of rate R (any n, a, b). Every row's 95 %
    upper bound on D must reach Γ at its measured rate, Γ from the mpmath reference here."""
    _, directory = tiny
    for row in _rows(directory / "lattice-gap.csv"):
        reference = float(gamma(float(row["rate"]), digits=17))
        assert float(row["gamma"]) == reference
        assert float(row["distortion_high"]) >= reference, row


def test_gap_is_ten_log10_of_d_over_gamma(tiny):
    """gap_db and its interval recomputed here from D's mean and interval and the reference Γ."""
    _, directory = tiny
    for row in _rows(directory / "lattice-gap.csv"):
        reference = float(gamma(float(row["rate"]), digits=17))
        for suffix in ("", "_low", "_high"):
            d = float(row["distortion" + suffix])
            expected = 10 * math.log10(d / reference) if d > 0 else -math.inf
            assert float(row["gap_db" + suffix]) == pytest.approx(expected, rel=1e-12, abs=1e-12)


def test_measured_rate_counts_the_side_information(tiny):
    """The code alone needs log2 q + log2(k)/8 bits per entry (q, k from the row; the nominal
    rate must allow it); the payload adds at least the float32 mean and weight of every column,
    64/n bits per entry. So code rate + 64/n ≤ measured rate."""
    _, directory = tiny
    n = lattice_gap.SIZE_PRESETS["tiny"]["n"]
    for row in _rows(directory / "lattice-gap.csv"):
        q, k = int(row["q"]), int(row["scales"])
        code = math.log2(q) + math.log2(k) / 8
        assert code <= float(row["nominal_rate"]) + 1e-12
        assert math.log2(q + 1) + math.log2(k) / 8 > float(row["nominal_rate"])  # q is largest
        assert float(row["code_rate"]) == pytest.approx(code, rel=1e-15)
        assert float(row["rate"]) >= code + 64 / n
        if row["group"] == "q=14":
            assert q == 14


def test_best_configuration_flagged_once_per_rate(tiny):
    _, directory = tiny
    rows = _rows(directory / "lattice-gap.csv")
    for group in {row["group"] for row in rows}:
        members = [row for row in rows if row["group"] == group]
        best = [row for row in members if row["best"] == "1"]
        assert len(best) == 1
        assert float(best[0]["gap_db"]) == min(float(row["gap_db"]) for row in members)
    assert "*" in tiny[0].report


def test_gap_ordering_e8_d4_z_at_rate_4(tmp_path, monkeypatch):
    """At R = 4 the gap orders as the lattices' normalized second moments G(E8) < G(D4) < G(Z)
    (mpmath reference; the high-rate granular loss 10·log10(2πe·G) is 0.88, 1.17, 1.53 dB), and
    the 95 % intervals of the gaps are disjoint. Only the ordering is asserted: the absolute gap
    also holds the Voronoi code's shaping and overload loss and the side information, for which
    there is no independent closed form."""
    moments = [float(normalized_second_moment(name)) for name in ("E8", "D4", "Z")]
    assert moments == sorted(moments)
    preset = {
        "rates": (4.0,),
        "lattices": ("E8", "D4", "Z"),
        "scales": (4,),
        "n": 1024,
        "columns": 64,
        "trials": 4,
        "tune_blocks": 1 << 14,
    }
    monkeypatch.setitem(lattice_gap.SIZE_PRESETS, "tiny", preset)
    result = lattice_gap.run(size="tiny", seed=11, output_dir=tmp_path, progress=False)
    at_4 = {row["lattice"]: row for row in result.rows if row["group"] == "R=4"}
    assert at_4["E8"]["gap_db_high"] < at_4["D4"]["gap_db_low"]
    assert at_4["D4"]["gap_db_high"] < at_4["Z"]["gap_db_low"]


def test_same_seed_same_bytes_other_seed_other_numbers(tiny, tmp_path):
    _, directory = tiny
    again = lattice_gap.run(size="tiny", seed=3, output_dir=tmp_path / "a", progress=False)
    assert (tmp_path / "a" / "lattice-gap.csv").read_bytes() == (
        directory / "lattice-gap.csv"
    ).read_bytes()
    assert (tmp_path / "a" / "lattice-gap.png").read_bytes() == (
        directory / "lattice-gap.png"
    ).read_bytes()
    other = lattice_gap.run(size="tiny", seed=4, output_dir=tmp_path / "b", progress=False)
    assert [row["distortion"] for row in other.rows] != [row["distortion"] for row in again.rows]


def test_trials_on_dask_match_the_serial_run():
    """The trial function is picklable and its results do not depend on where it ran."""
    distributed = pytest.importorskip("distributed")
    config = {
        "index": 0,
        "kind": "lattice",
        "lattice": "D4",
        "rate": 3.0,
        "betas": " ".join(repr(b) for b in lattice_gap.scale_list("D4", 3.0, 4, 1 << 14)[1]),
        "scaling": "mmse",
        "n": 64,
        "a": 4,
        "b": 4,
    }
    tasks = [Task(config, 0, t) for t in range(3)]
    serial = run_trials(lattice_gap.matmul_trial, tasks, seed=2, progress=False)
    with distributed.LocalCluster(
        n_workers=1, processes=False, threads_per_worker=2, dashboard_address=None
    ) as cluster:
        spread = run_trials(
            lattice_gap.matmul_trial,
            tasks,
            seed=2,
            scheduler=cluster.scheduler_address,
            progress=False,
        )
    assert spread == serial


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"size": "medium"}, "size must be one of"),
        ({"seed": -1}, "seed must be a non-negative integer"),
        ({"seed": True}, "seed must be a non-negative integer"),
        ({"device": "tpu"}, "device must be 'cpu' or 'gpu'"),
        ({"scheduler": 8786}, "scheduler must be None or an address"),
        ({"output_dir": 3}, "output_dir must be a path"),
    ],
)
def test_bad_arguments_raise(arguments, message, tmp_path):
    arguments = {"output_dir": tmp_path, "progress": False, **arguments}
    with pytest.raises(ValueError, match=message):
        lattice_gap.run(**arguments)


def test_gpu_trial_matches_cpu():
    """The kernels give the same bytes on NumPy and CuPy, so one trial gives the same D."""
    if cupy_or_none() is None:
        pytest.skip("no CuPy with a GPU on this machine: the device='gpu' path cannot run")
    config = {
        "index": 1,
        "kind": "lattice",
        "lattice": "E8",
        "rate": 4.0,
        "betas": " ".join(repr(b) for b in lattice_gap.scale_list("E8", 4.0, 4, 1 << 14)[1]),
        "scaling": "mmse",
        "n": 256,
        "a": 8,
        "b": 8,
    }
    cpu = lattice_gap.matmul_trial(config, 5, 0, "cpu")
    gpu = lattice_gap.matmul_trial(config, 5, 0, "gpu")
    assert gpu["rate"] == cpu["rate"]
    assert gpu["distortion"] == pytest.approx(cpu["distortion"], rel=1e-9)


def test_docstring_examples():
    result = doctest.testmod(lattice_gap, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
