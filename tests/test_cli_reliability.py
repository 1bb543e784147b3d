"""Issue #17 items 5, 6 and 9: outputs written whole, clean interrupts, resumable sweeps, and
command-line errors as one line (exit status 2) before any work starts.

- Atomic outputs: :mod:`quantmm.atomic` and every writer that uses it (experiment CSVs, figures,
  certificates) leave the final name untouched and no temporary file when interrupted.
- SIGINT / SIGTERM: ``quantmm experiment`` and ``quantmm certify`` run as subprocesses and are
  signalled mid-run: exit 130, one line saying what was kept, every file present complete, no
  temporary file, no certificate, no surviving kernel process.
- ``--resume``: an interrupted sweep resumed gives the same bytes as an uninterrupted run.
- Bad paths and arguments: one ``quantmm: error:`` line, exit status 2, nothing computed.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from quantmm import atomic
from quantmm.cli import main
from quantmm.experiments import least_squares, runner, trials

EXIT_INTERRUPTED = 130  # 128 + SIGINT, as a shell reports Ctrl-C
KERNELS = Path(__file__).with_name("broken_kernels.py")
linux_only = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")


def _temporaries(folder: Path) -> list[Path]:
    return [path for path in folder.rglob("*") if path.name.endswith(atomic.TEMPORARY_SUFFIX)]


def _error_line(capsys) -> str:
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("quantmm: error:"), captured.err
    return lines[0]


# --- atomic outputs -------------------------------------------------------------------------


def test_atomic_write_replaces_whole_and_leaves_nothing_on_an_interrupt(tmp_path):
    target = tmp_path / "out.csv"
    atomic.atomic_write_text(target, "old\n")
    with pytest.raises(KeyboardInterrupt), atomic.atomic_open(target, "w") as handle:
        handle.write("half a fi")
        raise KeyboardInterrupt
    assert target.read_text() == "old\n"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["out.csv"]
    atomic.atomic_write_bytes(target, b"new\n")
    assert target.read_bytes() == b"new\n" and not _temporaries(tmp_path)
    assert (target.stat().st_mode & 0o777) == (0o666 & ~_umask())


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_a_csv_interrupted_while_written_is_not_left_torn(tmp_path, monkeypatch):
    rows = [{"a": float(i), "b": i} for i in range(100)]
    original = trials._cell

    def interrupted(value):
        if value == 50:
            raise KeyboardInterrupt
        return original(value)

    monkeypatch.setattr(trials, "_cell", interrupted)
    with pytest.raises(KeyboardInterrupt):
        trials.write_csv(tmp_path / "rows.csv", rows)
    assert not any(tmp_path.iterdir())


def test_a_figure_is_drawn_to_a_temporary_file_then_renamed(tmp_path, monkeypatch):
    from quantmm.experiments import figures

    figure, axes = figures.new_figure()
    axes.plot([0, 1], [0, 1])
    seen = []
    savefig = type(figure).savefig

    def watching(self, path, **options):
        seen.append(Path(path))
        assert options["format"] == "png"
        savefig(self, path, **options)
        raise KeyboardInterrupt  # drawn, not yet renamed

    monkeypatch.setattr(type(figure), "savefig", watching)
    with pytest.raises(KeyboardInterrupt):
        figures.save_figure(figure, tmp_path / "plot.png")
    assert seen and seen[0].parent == tmp_path and seen[0].name != "plot.png"
    assert not any(tmp_path.iterdir())


def test_a_certificate_write_that_fails_leaves_no_file(tmp_path, monkeypatch):
    from quantmm.conformance.certificate import Certificate, TargetReport
    from quantmm.conformance.results import PASS, CheckResult

    result = CheckResult("determinism", PASS, "ok", {}, {})
    certificate = Certificate.build("quick", 0, "cpu", [TargetReport("k", "kernel", "", [result])])

    def failing(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", failing)
    with pytest.raises(OSError, match="disk full"):
        certificate.write(tmp_path / "certificate.json")
    assert not any(tmp_path.iterdir())


# --- interrupts -----------------------------------------------------------------------------


def _default_interrupt() -> None:
    """In the child before it execs: SIGINT back to its default action. A process started with
    SIGINT ignored (a background job of a non-interactive shell, nohup) passes that on, and
    Python then rightly keeps ignoring it; the test must not depend on how pytest was started."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _start(arguments: list[str], cwd: Path, **environment: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "quantmm", *arguments],
        cwd=cwd,
        env={**os.environ, **environment},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_default_interrupt,
    )


def _wait_for(condition, process: subprocess.Popen, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if process.poll() is not None:
            pytest.fail(f"exited early ({process.returncode}): {process.communicate()[1][-2000:]}")
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail("the condition was not reached in time")
        time.sleep(0.05)


@pytest.mark.parametrize(
    "signal_number", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"]
)
def test_an_interrupted_experiment_keeps_finished_parts_and_resumes_byte_identically(
    tmp_path, capsys, signal_number
):
    interrupted = tmp_path / "interrupted"
    parts = runner.parts_directory(interrupted, least_squares.NAME)
    arguments = ["experiment", "least-squares", "--size", "tiny", "--no-progress"]
    process = _start([*arguments, "--output-dir", str(interrupted)], tmp_path)
    _wait_for(lambda: parts.is_dir() and any(parts.glob("*.json")), process)
    process.send_signal(signal_number)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == EXIT_INTERRUPTED, stderr
    last = stderr.strip().splitlines()[-1]
    assert last.startswith("quantmm: interrupted:") and "--resume" in last, stderr
    assert str(parts) in last and "Traceback" not in stderr
    assert not _temporaries(tmp_path)
    assert not (interrupted / "least-squares.csv").exists()
    kept = sorted(parts.glob("*.json"))
    assert kept and f"{len(kept)} of 10" in last
    for part in kept:  # every file present is complete
        document = json.loads(part.read_text())
        assert document["key"] == part.stem and document["results"]
    if signal_number == signal.SIGTERM:
        return
    # the same command with --resume finishes with the bytes of an uninterrupted run
    assert main([*arguments, "--output-dir", str(interrupted), "--resume"]) == 0
    assert main([*arguments, "--output-dir", str(tmp_path / "clean")]) == 0
    capsys.readouterr()
    for name in ("least-squares.csv", "least-squares.png"):
        assert (interrupted / name).read_bytes() == (tmp_path / "clean" / name).read_bytes()


def test_resume_skips_finished_configurations_and_gives_the_same_bytes(
    tmp_path, capsys, monkeypatch
):
    arguments = ["experiment", "least-squares", "--size", "tiny", "--no-progress", "--seed", "5"]
    assert main([*arguments, "--output-dir", str(tmp_path / "clean")]) == 0
    trial, calls = least_squares.least_squares_trial, []

    def interrupted_on_call_250(config, seed, number, device):
        calls.append(config["design"])
        if len(calls) == 250:  # the third design's trials: two of five designs are done
            raise KeyboardInterrupt
        return trial(config, seed, number, device)

    monkeypatch.setattr(least_squares, "least_squares_trial", interrupted_on_call_250)
    resumed = tmp_path / "resumed"
    capsys.readouterr()
    try:
        status = main([*arguments, "--output-dir", str(resumed)])
    except KeyboardInterrupt:
        pytest.fail("the interrupt escaped main() as a traceback")
    assert status == EXIT_INTERRUPTED
    message = capsys.readouterr().err.strip()
    assert "7 of 10" in message and len(message.splitlines()) == 1, message  # 5 reference, 2 trials
    counted = []
    monkeypatch.setattr(
        least_squares, "least_squares_trial", lambda *a: counted.append(1) or trial(*a)
    )
    assert main([*arguments, "--output-dir", str(resumed), "--resume"]) == 0
    assert len(counted) == 300  # only the three unfinished designs ran
    for name in ("least-squares.csv", "least-squares.png"):
        assert (resumed / name).read_bytes() == (tmp_path / "clean" / name).read_bytes()
    # a resume with another seed computes everything again (the seed is part of the key)
    counted.clear()
    other = [*arguments[:-1], "6", "--output-dir", str(resumed), "--resume"]
    assert main(other) == 0 and len(counted) == 500
    # and without --resume existing results are recomputed
    counted.clear()
    assert main([*arguments, "--output-dir", str(resumed)]) == 0 and len(counted) == 500
    capsys.readouterr()


def test_a_damaged_part_is_computed_again(tmp_path):
    def trial(config, seed, number, device):
        return {"x": float(config["index"] + number)}

    stages = [runner.Stage("trials", trial, 2)]
    configs = [{"index": 0}, {"index": 1}]
    options = {"identity": {"size": "tiny"}, "seed": 0, "progress": False, "output_dir": tmp_path}
    first = runner.run_sweep("demo", configs, stages, **options)
    for part in runner.parts_directory(tmp_path, "demo").glob("*.json"):
        part.write_text(part.read_text()[:20])  # torn by hand
    assert runner.run_sweep("demo", configs, stages, resume=True, **options) == first


def _descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def _running(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "State:\tZ" not in status  # a zombie is dead, waiting to be reaped


def _workers(pid: int) -> set[int]:
    found = set()
    for child in _descendants(pid):
        try:
            command = Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:
            continue
        if b"worker.py" in command:
            found.add(child)
    return found


@linux_only
def test_an_interrupted_certify_kills_its_workers_and_writes_no_certificate(tmp_path):
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    output = tmp_path / "certificate.json"
    arguments = ["certify", f"{KERNELS}:Float16Kernel", "--seed", "4", "--output", str(output)]
    process = _start(arguments, tmp_path, TMPDIR=str(scratch))
    _wait_for(lambda: _workers(process.pid), process)
    time.sleep(0.5)
    seen = _descendants(process.pid)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == EXIT_INTERRUPTED, stderr
    last = stderr.strip().splitlines()[-1]
    assert "interrupted" in last and "no certificate was written" in last, stderr
    assert "Traceback" not in stderr
    assert not output.exists() and not _temporaries(tmp_path)
    deadline = time.monotonic() + 10
    while any(_running(pid) for pid in seen) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in seen if _running(pid)], "kernel processes outlived certify"
    assert not any(scratch.iterdir()), list(scratch.iterdir())  # worker scratch folders removed


def test_the_sandbox_refuses_new_workers_while_stopping():
    from quantmm.conformance import sandbox

    sandbox.stop_workers()
    try:
        with pytest.raises(sandbox.WorkersStopped):
            sandbox.Worker({"target": "x:y"}, "cpu", "process")
    finally:
        sandbox.allow_workers()
    assert sandbox.live_workers() == 0


# --- command-line errors: one line, exit status 2, before any work ---------------------------


@pytest.fixture
def a_file(tmp_path) -> Path:
    path = tmp_path / "a-file"
    path.write_text("not a folder\n")
    return path


@pytest.mark.parametrize("command", ["experiment lattice-gap", "plot density"])
@pytest.mark.parametrize(
    ("where", "message"),
    [
        (lambda file: file, "is a file; give a folder"),
        (lambda file: file / "sub", "is a file, not a folder"),
        (lambda file: Path("/proc/no-such-output"), "is not writable"),
    ],
)
def test_an_output_dir_that_cannot_be_a_folder_is_refused(a_file, capsys, command, where, message):
    if "/proc" in str(where(a_file)) and not Path("/proc/self").exists():
        pytest.skip("needs /proc")
    arguments = [*command.split(), "--size", "tiny", "--no-progress"]
    assert main([*arguments, "--output-dir", str(where(a_file))]) == 2
    line = _error_line(capsys)
    assert "--output-dir" in line and message in line, line
    assert list(a_file.parent.iterdir()) == [a_file]  # nothing computed, nothing written


@pytest.mark.parametrize(
    ("address", "message"),
    [
        ("tcp://127.0.0.1:1", "cannot reach the Dask scheduler"),
        ("not-an-address", "missing port"),
        ("nosuch://host:1", "unknown address scheme"),
    ],
)
def test_an_unreachable_scheduler_is_refused_up_front(
    tmp_path, capsys, monkeypatch, address, message
):
    pytest.importorskip("distributed")
    monkeypatch.setattr(trials, "SCHEDULER_TIMEOUT", 0.5)
    started = time.monotonic()
    arguments = ["experiment", "lattice-gap", "--size", "tiny", "--no-progress"]
    assert main([*arguments, "--scheduler", address, "--output-dir", str(tmp_path)]) == 2
    line = _error_line(capsys)
    assert "--scheduler" in line and message in line, line
    assert time.monotonic() - started < 60  # a hang guard: the refusal waits 0.5 s, not forever
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize(
    ("where", "message"),
    [
        (lambda file: file / "certificate.json", "is a file, not a folder"),
        (lambda file: Path("/proc/certificate.json"), "is not writable"),
    ],
)
def test_certify_output_that_cannot_be_written_is_refused_up_front(a_file, capsys, where, message):
    if "/proc" in str(where(a_file)) and not Path("/proc/self").exists():
        pytest.skip("needs /proc")
    assert main(["certify", "--builtin", "--output", str(where(a_file))]) == 2
    line = _error_line(capsys)
    assert message in line, line


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (
            "raise RuntimeError('first line\\nsecond line')\n",
            "RuntimeError: first line second line",
        ),
        ("import json\nvalue = json.loads('{')\n", "JSONDecodeError"),  # raised in json/
        ("def broken(:\n", "SyntaxError"),
    ],
)
def test_a_target_that_fails_to_import_is_one_line_naming_file_and_exception(
    tmp_path, capsys, source, expected
):
    target = tmp_path / "kernel_module.py"
    target.write_text(source)
    assert main(["certify", f"{target}:Kernel", "--timeout", "30"]) == 2
    line = _error_line(capsys)
    assert expected in line and "kernel_module.py" in line and "line " in line, line
    if "json" in source:
        assert f"(at {target}, line 2)" in line, line  # the target's own line, not json's


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[]", "is not a quantmm-certificate/2 certificate"),
        ('"text"', "is not a quantmm-certificate/2 certificate"),
        ('{"schema": "other"}', "is not a quantmm-certificate/2 certificate"),
        ("{", "cannot read certificate"),
        (None, "No such file"),
        ("folder", "Is a directory"),
    ],
)
def test_verify_of_what_is_not_a_certificate_is_one_line(tmp_path, capsys, content, message):
    path = tmp_path / "certificate.json"
    if content == "folder":
        path.mkdir()
    elif content is not None:
        path.write_text(content)
    assert main(["verify", str(path)]) == 2
    assert message in _error_line(capsys)


def test_verify_of_a_certificate_whose_target_is_gone_is_one_line(tmp_path, capsys):
    document = {
        "schema": "quantmm-certificate/2",
        "command": {"builtin": False, "target": f"{tmp_path / 'gone.py'}:Kernel"},
    }
    path = tmp_path / "certificate.json"
    path.write_text(json.dumps(document))
    assert main(["verify", str(path)]) == 2
    assert "does not exist" in _error_line(capsys)


def test_a_closed_stdout_is_not_a_traceback(tmp_path):
    process = subprocess.Popen(
        [sys.executable, "-m", "quantmm", "table", "gamma", "--rates", "0:4:0.01", "--digits", "5"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    process.stdout.close()  # the reader went away, as `| head -0` does
    _, stderr = process.communicate(timeout=120)
    assert b"Traceback" not in stderr and b"Exception ignored" not in stderr, stderr
    assert process.returncode == 141


def test_help_documents_resume_and_interrupts(capsys):
    with pytest.raises(SystemExit):
        main(["experiment", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--resume" in text and "computed again" in text and ".parts" in text
    with pytest.raises(SystemExit):
        main(["certify", "--help"])
    assert "interrupted" in " ".join(capsys.readouterr().out.split())
    with pytest.raises(SystemExit):
        main(["--help"])
    text = capsys.readouterr().out
    assert all(f"\n  {status} " in text for status in (0, 1, 2, 3, 4, 130)), text
