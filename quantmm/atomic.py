"""Atomic file output: a file appears under its name complete, or not at all.

Every file quantmm writes (certificates, experiment CSVs and figures, resumable parts) goes
through :func:`atomic_path`: the content is written to a temporary file in the same directory
(``.NAME.<random>.tmp``), flushed to disk (``fsync``), then renamed over ``NAME`` with
:func:`os.replace`, which is atomic on POSIX and Windows. If anything goes wrong first (an
exception, a full disk, ``KeyboardInterrupt`` from Ctrl-C or SIGTERM), the temporary file is
removed and ``NAME`` is left as it was. Only a hard kill (SIGKILL, power loss) can leave a
``.tmp`` file behind; ``NAME`` itself is never torn.

>>> import tempfile
>>> folder = Path(tempfile.mkdtemp())
>>> atomic_write_text(folder / "a.txt", "complete\\n").read_text()
'complete\\n'
>>> try:
...     with atomic_path(folder / "a.txt") as temporary:
...         _ = temporary.write_text("half")
...         raise KeyboardInterrupt
... except KeyboardInterrupt:
...     pass
>>> (folder / "a.txt").read_text(), sorted(p.name for p in folder.iterdir())
('complete\\n', ['a.txt'])
"""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

__all__ = [
    "TEMPORARY_SUFFIX",
    "atomic_open",
    "atomic_path",
    "atomic_write_bytes",
    "atomic_write_text",
    "probe_directory",
]

#: The suffix of the temporary files (hidden: their names start with a dot).
TEMPORARY_SUFFIX = ".tmp"


@functools.lru_cache(maxsize=1)
def _file_mode() -> int:
    """The mode a plain ``open(path, "w")`` gives a new file: 0o666 less the umask."""
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


@contextlib.contextmanager
def _signals_deferred() -> Iterator[None]:
    """Hold SIGINT and SIGTERM (main thread, POSIX) while a temporary file is created and
    registered, so an interrupt cannot land between its creation and its cleanup handler."""
    if not hasattr(signal, "pthread_sigmask") or threading.current_thread() is not (
        threading.main_thread()
    ):
        yield
        return
    held = {signal.SIGINT, signal.SIGTERM}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _fsync_directory(directory: Path) -> None:
    """Make a rename in ``directory`` durable where the platform allows it."""
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; write it inside the block. On a normal exit
    the file is fsynced and renamed to ``path``; on any exception (KeyboardInterrupt included)
    it is removed and ``path`` is untouched. The folder is created if missing."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary: Path | None = None
    try:
        with _signals_deferred():  # the name is known before an interrupt can arrive
            descriptor, name = tempfile.mkstemp(
                prefix=f".{target.name}.", suffix=TEMPORARY_SUFFIX, dir=target.parent
            )
            temporary = Path(name)
            os.close(descriptor)
        os.chmod(temporary, _file_mode())
        yield temporary
        with open(temporary, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except BaseException:
        if temporary is not None:
            with contextlib.suppress(OSError):
                temporary.unlink()
        raise
    _fsync_directory(target.parent)


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike[str], mode: str = "w", **options: Any) -> Iterator[IO[Any]]:
    """``open(path, mode, **options)`` written atomically (see :func:`atomic_path`); ``mode``
    is "w" or "wb"."""
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_open writes whole files: mode 'w' or 'wb', got {mode!r}")
    with atomic_path(path) as temporary, open(temporary, mode, **options) as handle:
        yield handle


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; returns ``path`` as a Path."""
    with atomic_path(path) as temporary:
        temporary.write_bytes(data)
    return Path(path)


def atomic_write_text(path: str | os.PathLike[str], text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically (no newline translation); returns the Path."""
    with atomic_path(path) as temporary:
        temporary.write_bytes(text.encode(encoding))
    return Path(path)


def probe_directory(directory: str | os.PathLike[str]) -> None:
    """Raise OSError unless a file can be created in the existing ``directory`` (creates and
    removes a temporary file: permissions, read-only and special file systems all show)."""
    with tempfile.TemporaryFile(dir=directory, prefix=".quantmm-probe."):
        pass
