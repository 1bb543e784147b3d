"""Running untrusted kernel code: each kind of call in its own fresh, isolated process.

The harness never calls a kernel in its own process. :class:`Worker` starts
``conformance/worker.py`` with a clean environment and private, empty working directory, HOME
and temporary directory; it sends one call at a time and waits for the answer with a deadline.
Where Linux allows it (user namespaces, which need no root), the worker also runs in fresh
user, mount, network, IPC and PID namespaces: the whole file system is read-only except a
private /tmp, /var/tmp and /dev/shm, there is no network (not even loopback), and every process
the kernel starts dies with the worker. :func:`isolation` says which of these this machine
gives; the certificate records it.

A worker that crashes (``os._exit``, a segmentation fault) or overruns its deadline is killed,
and the call is reported as crashed or timed out; :func:`run_calls` then starts a fresh worker
for the calls that remain, or gives up after :data:`MAX_RESTARTS`.

Every live worker is registered, so an interrupt can stop them all: :func:`stop_workers` kills
each one's process group and refuses new workers (:class:`WorkersStopped`) until
:func:`allow_workers`; :func:`worker_pool` is a thread pool for the threads that drive workers
that does this when its block raises (Ctrl-C included), so the threads end at once instead of
running the campaign to the end, and no kernel process outlives the harness.

>>> sorted(isolation())  # doctest: +NORMALIZE_WHITESPACE
['environment', 'fresh_process_per_role', 'network', 'pid_namespace', 'private_home_and_cwd',
 'private_tmp', 'read_only_filesystem', 'sandbox', 'start']
"""

from __future__ import annotations

import functools
import os
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import wire

__all__ = [
    "MAX_RESTARTS",
    "Outcome",
    "Worker",
    "WorkersStopped",
    "abandon_workers",
    "allow_workers",
    "isolation",
    "run_calls",
    "stop_workers",
    "worker_pool",
]

WORKER = Path(__file__).with_name("worker.py")
MAX_RESTARTS = 2
LOG_TAIL = 4000
#: Environment variables passed to a worker (names only are recorded): thread counts and the
#: OpenBLAS settings some processors need, and what CUDA needs to find the GPU.
PASSED_ENVIRONMENT = (
    "OPENBLAS_CORETYPE",
    "OPENBLAS_L2_SIZE",
    "OPENBLAS_NUM_THREADS",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "CUDA_VISIBLE_DEVICES",
    "QUANTMM_NUMBA",
    "NUMBA_NUM_THREADS",
    "CUDA_PATH",
    "LD_LIBRARY_PATH",
)
#: Workers run side by side, so their BLAS is single-threaded unless the caller says otherwise.
SINGLE_THREADED = {
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "NUMBA_NUM_THREADS": "1",
}
NAMESPACE_COMMAND = (
    "unshare",
    "--user",
    "--map-root-user",
    "--mount",
    "--net",
    "--ipc",
    "--pid",
    "--fork",
    "--kill-child",
    "--mount-proc",
)
PRIVATE_ROOT = "/tmp/quantmm-kernel"  # inside the worker's own tmpfs when namespaces are used


@functools.lru_cache(maxsize=1)
def _namespaces_work() -> bool:
    """Whether ``unshare`` can make the namespaces here (checked once, by running ``true``)."""
    if sys.platform != "linux" or shutil.which("unshare") is None:
        return False
    try:
        done = subprocess.run(
            [*NAMESPACE_COMMAND, "true"], capture_output=True, timeout=30, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


def _sandbox(requested: str) -> str:
    if requested not in ("auto", "namespaces", "process"):
        raise ValueError(f"isolation must be 'auto', 'namespaces' or 'process', got {requested!r}")
    if requested == "process":
        return "process"
    if _namespaces_work():
        return "namespaces"
    if requested == "namespaces":
        raise ValueError(
            "isolation 'namespaces' was asked for, but this system does not allow unprivileged "
            "user namespaces (unshare --user failed)"
        )
    return "process"


def isolation(requested: str = "auto") -> dict[str, Any]:
    """What isolation a worker gets on this machine (before it starts; a worker confirms the
    file-system part itself and the harness records its answer)."""
    sandbox = _sandbox(requested)
    namespaces = sandbox == "namespaces"
    return {
        "sandbox": sandbox,
        "start": "spawn (a new interpreter, python -I; nothing inherited but the calls' data)",
        "fresh_process_per_role": True,
        "environment": "clean: "
        + ", ".join(("HOME", "TMPDIR", "PATH", "PYTHONHASHSEED"))
        + " set; BLAS threads 1 unless set; passed through when set: "
        + ", ".join(PASSED_ENVIRONMENT),
        "private_home_and_cwd": True,
        "private_tmp": namespaces,
        "read_only_filesystem": namespaces,
        "network": "none (own network namespace)" if namespaces else "shared with the harness",
        "pid_namespace": namespaces,
    }


@dataclass
class Outcome:
    """One call's result: ``status`` "ok", "raised", "crashed", "timeout" or "not_run"."""

    status: str
    header: dict[str, Any] = field(default_factory=dict)
    blobs: list[bytes] = field(default_factory=list)
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def describe(self) -> str:
        """One line: what went wrong with this call."""
        if self.status == "raised":
            kind = self.header.get("exception", "an exception")
            return f"raised {kind}: {self.header.get('message', '')}".rstrip(": ")
        return self.detail or self.status


class WorkersStopped(BaseException):
    """No worker may start: :func:`stop_workers` was called (the run is being interrupted).

    A BaseException, like KeyboardInterrupt, so that no ``except Exception`` in a check turns
    the stop into a kernel failure."""


_LIVE: set[Worker] = set()
_LIVE_LOCK = threading.Lock()
_STOPPING = threading.Event()


def stop_workers() -> int:
    """Kill every live worker's process group and refuse new workers until
    :func:`allow_workers`; returns how many were killed."""
    with _LIVE_LOCK:
        _STOPPING.set()
        live = list(_LIVE)
    for worker in live:
        worker.kill()
    return len(live)


def allow_workers() -> None:
    """Let workers start again after :func:`stop_workers`."""
    _STOPPING.clear()


def abandon_workers() -> None:
    """Kill and close every live worker (their threads, if any, have ended: a run being given
    up), then allow workers again."""
    stop_workers()
    with _LIVE_LOCK:
        orphans = list(_LIVE)
    for worker in orphans:
        worker.close()
    allow_workers()


def live_workers() -> int:
    """How many worker processes are running now."""
    with _LIVE_LOCK:
        return len(_LIVE)


@contextmanager
def worker_pool(max_workers: int) -> Iterator[ThreadPoolExecutor]:
    """A thread pool for threads that drive workers. If the block raises (KeyboardInterrupt
    included), every worker is killed and new ones refused *before* the pool waits for its
    threads, so they end at once; workers are allowed again once the threads have ended."""
    pool = ThreadPoolExecutor(max_workers=max_workers)
    stopped = False
    try:
        yield pool
    except BaseException:
        stop_workers()
        stopped = True
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=stopped)
        if stopped:
            abandon_workers()


class WorkerDiedError(Exception):
    """The worker process ended or stopped answering; ``outcome`` says how."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__(outcome.detail)
        self.outcome = outcome


class Worker:
    """One worker process for one target (see the module docstring)."""

    def __init__(
        self,
        spec: dict[str, Any],
        device: str,
        sandbox: str,
        *,
        hash_seed: int = 0,
        timeout: float = 60.0,
    ) -> None:
        if _STOPPING.is_set():
            raise WorkersStopped("the run is being stopped: no new kernel process")
        self.timeout = timeout
        self.sandbox = sandbox
        self.log: deque[bytes] = deque()
        self.log_size = 0
        self._scratch = None
        if sandbox == "namespaces":
            root = PRIVATE_ROOT
        else:
            self._scratch = tempfile.mkdtemp(prefix="quantmm-kernel-")
            root = self._scratch
        environment = {
            "PATH": "/usr/bin:/bin",
            "HOME": f"{root}/home",
            "TMPDIR": f"{root}/tmp",
            "QUANTMM_WORKDIR": f"{root}/work",
            "LANG": "C.UTF-8",
            "PYTHONHASHSEED": str(hash_seed),
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        environment.update(SINGLE_THREADED)
        environment.update({k: os.environ[k] for k in PASSED_ENVIRONMENT if k in os.environ})
        read_end, write_end = os.pipe()
        python = spec.get("python") or sys.executable  # the kernel's environment, if not ours
        command = [python, "-I", str(WORKER), str(write_end), sandbox]
        if sandbox == "namespaces":
            command = [*NAMESPACE_COMMAND, *command]
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=environment,
            cwd="/",
            pass_fds=(write_end,),
            start_new_session=True,
        )
        os.close(write_end)
        self.results = os.fdopen(read_end, "rb", buffering=0)
        self._drain = threading.Thread(target=self._read_log, daemon=True)
        self._drain.start()
        with _LIVE_LOCK:
            _LIVE.add(self)
            stopping = _STOPPING.is_set()
        if stopping:  # stop_workers ran while this one was starting
            self.kill()
            self.close()
            raise WorkersStopped("the run is being stopped: no new kernel process")
        self.isolation: dict[str, Any] = {}
        os.set_blocking(self.process.stdin.fileno(), False)
        try:
            self.loaded = self._send({"op": "load", "spec": spec, "device": device}, [], timeout)
        except WorkerDiedError as died:
            self.loaded = died.outcome
        if self.loaded.ok:
            self.isolation = self.loaded.header.get("isolation") or {}

    def _read_log(self) -> None:
        for chunk in iter(lambda: self.process.stdout.read(4096), b""):
            self.log.append(chunk)
            self.log_size += len(chunk)
            while self.log_size > LOG_TAIL and len(self.log) > 1:
                self.log_size -= len(self.log.popleft())

    def log_tail(self) -> str:
        return b"".join(self.log)[-LOG_TAIL:].decode("utf-8", "replace")

    def _read_exact(self, size: int, deadline: float) -> bytes:
        chunks, left = [], size
        with selectors.DefaultSelector() as selector:
            selector.register(self.results, selectors.EVENT_READ)
            while left:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not selector.select(remaining):
                    raise TimeoutError
                chunk = self.results.read(min(left, 1 << 20))
                if not chunk:
                    raise EOFError
                chunks.append(chunk)
                left -= len(chunk)
        return b"".join(chunks)

    def _write(self, data: bytes, deadline: float) -> None:
        view = memoryview(data)
        with selectors.DefaultSelector() as selector:
            selector.register(self.process.stdin, selectors.EVENT_WRITE)
            while view:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not selector.select(remaining):
                    raise TimeoutError
                try:
                    view = view[os.write(self.process.stdin.fileno(), view) :]
                except BlockingIOError:
                    continue

    def _receive(self, deadline: float) -> tuple[dict[str, Any], list[bytes]]:
        class Stream:
            def read(stream, size):  # noqa: N805 - a tiny adapter for wire.read_frame
                return self._read_exact(size, deadline)

        return wire.read_frame(Stream())

    def _send(self, header: dict[str, Any], blobs: list[bytes], timeout: float) -> Outcome:
        deadline = time.monotonic() + timeout
        try:
            self._write(wire.frame(header, blobs), deadline)
            answer, data = self._receive(deadline)
        except TimeoutError:
            self.kill()
            raise WorkerDiedError(
                Outcome("timeout", detail=f"no answer within {timeout:g} s (the call was stopped)")
            ) from None
        except (EOFError, BrokenPipeError, OSError, wire.FrameError) as error:
            self.kill()
            code = self.process.wait()
            how = _exit_description(code)
            if isinstance(error, wire.FrameError):
                how = f"sent a malformed answer ({error})"
            raise WorkerDiedError(
                Outcome("crashed", detail=f"the target's process {how}")
            ) from None
        status = answer.get("status")
        if status == "not_converted":  # the harness could not hand the kernel its input
            return Outcome("not_run", answer, data, detail=str(answer.get("message", "")))
        return Outcome(status if status in ("ok", "raised") else "crashed", answer, data)

    def call(self, header: dict[str, Any], blobs: list[bytes]) -> Outcome:
        """One call; raises :class:`WorkerDiedError` if the process crashed or timed out."""
        return self._send(header, blobs, self.timeout)

    def kill(self) -> None:
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                self.process.kill()
        self.process.wait()

    def close(self) -> None:
        try:
            self.process.stdin.close()
        except OSError:
            pass
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        self.kill()
        self.results.close()
        self._drain.join(timeout=5)
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)
        with _LIVE_LOCK:
            _LIVE.discard(self)


def _exit_description(code: int) -> str:
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"was killed by {name}"
    return f"exited with status {code}"


@dataclass
class RoleResult:
    """The outcomes of a sequence of calls of one role, and what the workers reported."""

    outcomes: list[Outcome]
    isolation: dict[str, Any]
    load_failure: Outcome | None
    log: str
    hung: bool


def run_calls(
    spec: dict[str, Any],
    calls: list[tuple[dict[str, Any], list[bytes]]],
    *,
    device: str,
    sandbox: str,
    timeout: float,
    hash_seed: int = 0,
    worker: Worker | None = None,
) -> RoleResult:
    """Run ``calls`` in order in fresh workers: a crash restarts the worker for the calls left
    (at most :data:`MAX_RESTARTS` times); a timeout stops the role (the rest are not run).
    ``worker``: an already started worker of this role to use first (it is closed here)."""
    outcomes: list[Outcome] = []
    restarts, isolation_seen, log, hung = 0, {}, "", False
    index = 0
    if worker is not None and not calls:
        worker.close()
    while index < len(calls):
        if worker is None:
            worker = Worker(spec, device, sandbox, hash_seed=hash_seed, timeout=timeout)
        try:
            if not worker.loaded.ok:
                log = worker.log_tail()
                return RoleResult(outcomes, worker.isolation, worker.loaded, log, False)
            isolation_seen = worker.isolation
            while index < len(calls):
                header, blobs = calls[index]
                outcomes.append(worker.call({**header, "job": index}, blobs))
                index += 1
        except WorkerDiedError as died:
            outcome = died.outcome
            tail = worker.log_tail().strip()
            if tail:
                outcome.detail += f"; its last output: {tail[-500:]}"
            outcomes.append(outcome)
            index += 1
            hung = outcome.status == "timeout"
            restarts += 1
            if hung or restarts > MAX_RESTARTS:
                reason = (
                    "not run: an earlier call of this role timed out"
                    if hung
                    else f"not run: the kernel's process crashed {restarts} times"
                )
                outcomes += [Outcome("not_run", detail=reason) for _ in calls[index:]]
                index = len(calls)
        finally:
            log = worker.log_tail() or log
            worker.close()
            worker = None
    return RoleResult(outcomes, isolation_seen, None, log, hung)
