"""`quantmm experiment` and `quantmm plot` end to end at the tiny size, locally and on Dask.

The numbers themselves are checked against the reference in tests/test_experiment_*.py and
tests/test_plots.py; here: every command runs from the command line, writes its CSV and figure,
gives the same bytes for the same seed, gives the same bytes when its trials run on a Dask
cluster (a separate worker process, so the trial functions must pickle), and rejects bad input
with exit status 2.
"""

from __future__ import annotations

import pytest

from quantmm.cli import EXPERIMENTS, PLOTS, main

JOBS = [("experiment", name) for name in EXPERIMENTS] + [("plot", name) for name in PLOTS]


def _run(command, name, output_dir):
    return main([command, name, "--size", "tiny", "--no-progress", "--output-dir", str(output_dir)])


@pytest.mark.parametrize(("command", "name"), JOBS)
def test_each_job_runs_and_is_reproducible(tmp_path, capsys, command, name):
    assert _run(command, name, tmp_path / "first") == 0
    output = capsys.readouterr().out
    written = [
        line.removeprefix("wrote ") for line in output.splitlines() if line.startswith("wrote ")
    ]
    suffixes = {path.rsplit(".", 1)[1] for path in written}
    assert {"csv", "png"} <= suffixes, output
    assert _run(command, name, tmp_path / "second") == 0
    capsys.readouterr()
    for path in written:
        first = (tmp_path / "first" / path.rsplit("/", 1)[1]).read_bytes()
        second = (tmp_path / "second" / path.rsplit("/", 1)[1]).read_bytes()
        assert first == second, f"{path} differs between two runs with the same seed"


@pytest.fixture(scope="module")
def dask_scheduler():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        yield cluster.scheduler_address


@pytest.mark.parametrize("name", ["scalar-matmul", "lattice-gap"])
def test_dask_gives_the_same_csv_as_a_local_run(tmp_path, capsys, dask_scheduler, name):
    common = ["experiment", name, "--size", "tiny", "--no-progress", "--seed", "3"]
    assert main([*common, "--output-dir", str(tmp_path / "local")]) == 0
    assert (
        main([*common, "--output-dir", str(tmp_path / "dask"), "--scheduler", dask_scheduler]) == 0
    )
    capsys.readouterr()
    stem = name.replace("-", "_")
    local = sorted((tmp_path / "local").glob("*.csv"))
    assert local, f"no CSV written for {stem}"
    for path in local:
        assert path.read_bytes() == (tmp_path / "dask" / path.name).read_bytes()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["experiment", "lattice-gap", "--seed", "-1"], "seed"),
        (["plot", "rate-distortion", "--rho", "0.5"], "--rho and --levels"),
        (["plot", "density", "--rho", "1.5"], "rho"),
        (["experiment", "scalar-matmul", "--device", "gpu"], "gpu"),
    ],
)
def test_bad_input_exits_2_naming_the_problem(tmp_path, capsys, arguments, message):
    from quantmm.fast.backend import cupy_or_none

    if "gpu" in arguments and cupy_or_none() is not None:
        pytest.skip("a GPU is present, so --device gpu is valid here")
    status = main([*arguments, "--size", "tiny", "--no-progress", "--output-dir", str(tmp_path)])
    assert status == 2
    assert message in capsys.readouterr().err


def test_unknown_names_are_rejected_by_the_parser(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["experiment", "no-such-experiment"])
    assert exit_info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err
