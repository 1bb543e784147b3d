"""The isolation of kernel code (quantmm.conformance.sandbox, .worker, .wire).

Each test writes a small kernel file that tries to get out of its worker — write a file the
harness can see, make the file system writable again, reach a socket of the test, leave a
process behind, forge an answer — and checks from outside that it did not succeed (an
independent observation: the file, the socket, the process table), and that the call is
reported, not obeyed. Where this machine does not allow user namespaces the namespace tests
skip and say so; the fresh-process tests run everywhere.
"""

from __future__ import annotations

import io
import os
import socket
import subprocess
import textwrap
import threading

import numpy as np
import pytest

from quantmm.conformance import wire
from quantmm.conformance.sandbox import _namespaces_work, isolation, run_calls
from quantmm.conformance.targets import encode_in_fresh_process, load_target

needs_namespaces = pytest.mark.skipif(
    not _namespaces_work(), reason="this machine does not allow unprivileged user namespaces"
)

HONEST = """
import numpy as np

class Kernel:
    def __init__(self, seed=0, device="cpu"):
        self.seed = seed
    def encode_a(self, A):
        ESCAPE
        return np.asarray(A, "<f8").tobytes()
    def encode_b(self, B):
        return np.asarray(B, "<f8").tobytes()
    def estimate(self, pa, pb):
        return np.zeros((1, 1))
"""


def _kernel(tmp_path, escape: str) -> str:
    source = HONEST.replace("ESCAPE", textwrap.indent(textwrap.dedent(escape), " " * 8).strip())
    path = tmp_path / "escaping_kernel.py"
    path.write_text(source)
    return f"{path}:Kernel"


def _encode(target: str, sandbox: str, timeout: float = 30.0):
    matrix = np.ones((4, 2))
    from quantmm.conformance.campaign import _matrix_call

    header, blobs = _matrix_call("encode_a", 0, matrix)
    spec = load_target(target).spec
    return run_calls(spec, [(header, blobs)], device="cpu", sandbox=sandbox, timeout=timeout)


@needs_namespaces
def test_the_worker_reports_a_read_only_file_system_and_a_private_tmp(tmp_path):
    result = _encode(_kernel(tmp_path, "pass"), "namespaces")
    assert result.outcomes[0].ok
    assert result.isolation["read_only_filesystem"] is True, result.isolation
    assert result.isolation["private_tmp"] is True
    assert isolation()["sandbox"] == "namespaces"


@needs_namespaces
def test_files_written_by_a_kernel_do_not_reach_the_harness(tmp_path):
    marker = tmp_path / "marker"
    shared = f"/tmp/quantmm-test-marker-{os.getpid()}"
    escape = f"""
    import ctypes, ctypes.util, os
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    # try to make the file systems writable again, then write where the harness could read
    libc.mount(None, b"/", None, 32 | 4096, None)
    libc.mount(None, {str(tmp_path).encode()!r}, None, 32 | 4096, None)
    for path in ({str(marker)!r}, {shared!r}):
        try:
            with open(path, "w") as handle:
                handle.write("leaked")
        except OSError:
            pass
    """
    result = _encode(_kernel(tmp_path, escape), "namespaces")
    assert result.outcomes[0].ok
    assert not marker.exists()
    assert not os.path.exists(shared)


@needs_namespaces
def test_a_kernel_cannot_reach_a_socket_on_loopback(tmp_path):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.settimeout(5)
    port = server.getsockname()[1]
    received = []

    def accept():
        try:
            connection, _ = server.accept()
            received.append(connection.recv(100))
        except OSError:
            pass

    listener = threading.Thread(target=accept)
    listener.start()
    escape = f"""
    import socket
    try:
        socket.create_connection(("127.0.0.1", {port}), timeout=2).sendall(b"A leaked")
    except OSError:
        pass
    """
    result = _encode(_kernel(tmp_path, escape), "namespaces")
    listener.join()
    server.close()
    assert result.outcomes[0].ok
    assert received == []


@needs_namespaces
def test_processes_a_kernel_starts_die_with_its_worker(tmp_path):
    tag = f"quantmm-test-sleeper-{os.getpid()}"
    escape = f"""
    import subprocess
    subprocess.Popen(["sh", "-c", "exec -a {tag} sleep 1000"], start_new_session=True)
    """
    result = _encode(_kernel(tmp_path, escape), "namespaces")
    assert result.outcomes[0].ok
    survivors = subprocess.run(["pgrep", "-f", tag], capture_output=True, text=True).stdout
    assert survivors.strip() == ""


@pytest.mark.parametrize("sandbox", ["process", pytest.param("namespaces", marks=needs_namespaces)])
def test_the_kernel_gets_an_empty_private_working_directory_and_home(tmp_path, sandbox):
    escape = """
    import os, pathlib
    assert os.listdir(".") == [], os.listdir(".")
    assert pathlib.Path.home() != pathlib.Path("/root"), pathlib.Path.home()
    assert "QUANTMM_WORKDIR" not in os.environ and "PYTEST_CURRENT_TEST" not in os.environ
    """
    result = _encode(_kernel(tmp_path, escape), sandbox)
    assert result.outcomes[0].ok, result.outcomes[0].describe()


@pytest.mark.parametrize(
    ("escape", "status", "words"),
    [
        ("import sys; sys.exit(0)", "raised", "SystemExit"),
        ("raise KeyboardInterrupt", "raised", "KeyboardInterrupt"),
        ("import os; os._exit(3)", "crashed", "exited with status 3"),
        ("import ctypes; ctypes.string_at(0)", "crashed", "SIGSEGV"),
        ("import time; time.sleep(1000)", "timeout", "no answer within 2 s"),
        (
            "import os, sys; os.write(int(sys.argv[1]), b'QMM1' + b'\\xff' * 8)",
            "crashed",
            "malformed answer",
        ),
    ],
)
def test_a_kernel_that_exits_crashes_hangs_or_forges_an_answer_is_reported(
    tmp_path, escape, status, words
):
    result = _encode(_kernel(tmp_path, escape), "process", timeout=2.0)
    outcome = result.outcomes[0]
    assert outcome.status == status, outcome
    assert words in outcome.describe()


def test_a_crash_restarts_the_worker_for_the_calls_left(tmp_path):
    """The first call crashes its process; the next calls run in a fresh one."""
    escape = """
    import os
    if A.shape[0] == 1:
        os._exit(1)
    """
    from quantmm.conformance.campaign import _matrix_call

    spec = load_target(_kernel(tmp_path, escape)).spec
    calls = [_matrix_call("encode_a", 0, np.ones((rows, 2))) for rows in (1, 2, 3)]
    result = run_calls(spec, calls, device="cpu", sandbox="process", timeout=20)
    assert [outcome.status for outcome in result.outcomes] == ["crashed", "ok", "ok"]


def test_encode_in_fresh_process_gives_the_bytes_and_refuses_other_payloads(tmp_path):
    target = {"target": _kernel(tmp_path, "pass")}
    matrix = np.arange(6.0).reshape(3, 2)
    assert encode_in_fresh_process(target, "a", matrix, seed=0) == matrix.tobytes()
    fortran = encode_in_fresh_process(target, "a", matrix, seed=0, layout="F")
    assert fortran == matrix.tobytes()  # the kernel saw the same matrix, in Fortran order


def test_frames_round_trip_and_refuse_what_is_not_a_frame():
    stream = io.BytesIO()
    wire.write_frame(stream, {"op": "x", "n": 1}, [b"", b"\x00" * 5])
    stream.seek(0)
    assert wire.read_frame(stream) == ({"op": "x", "n": 1, "blobs": [0, 5]}, [b"", b"\x00" * 5])
    for broken in (
        b"XXXX\x00\x00\x00\x00",
        b"QMM1\x02\x00\x00\x00[]",
        b'QMM1\x05\x00\x00\x00{"b":',
    ):
        with pytest.raises((wire.FrameError, EOFError)):
            wire.read_frame(io.BytesIO(broken))
    with pytest.raises(wire.FrameError, match="dtype"):
        wire.array_from({"dtype": "|O", "shape": [1]}, b"\x00" * 8)
    with pytest.raises(wire.FrameError, match="cannot have"):
        wire.array_from({"dtype": "<f8", "shape": [2]}, b"\x00" * 8)
