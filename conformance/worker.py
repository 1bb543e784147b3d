"""The kernel worker: one fresh process that runs one kind of kernel call, and nothing else.

The harness (:mod:`quantmm.conformance.sandbox`) starts this file as a script,
``python -I worker.py RESULT_FD SANDBOX``, so that nothing but the standard library is loaded
before the sandbox is entered (a user namespace can only be entered by a single-threaded
process, and NumPy starts threads). With ``SANDBOX = "namespaces"`` the process is already
inside fresh user, mount, network, IPC and PID namespaces (started by ``unshare``); it then

1. remounts every file system read-only,
2. mounts fresh, empty tmpfs on /tmp, /var/tmp and /dev/shm (its private temporary space, working
   directory and HOME live there),
3. enters one more user namespace, which drops every capability over those mounts, so kernel
   code cannot make them writable again,

and only then imports NumPy and the kernel. With ``SANDBOX = "process"`` (namespaces not
available) it only gets the private directories its parent made.

Frames (:mod:`quantmm.conformance.wire`) arrive on standard input and results leave on the file
descriptor RESULT_FD; the kernel's own standard output and error go to a log the harness keeps
the end of. The first frame loads the target; each later frame is one call:
``describe`` (declarations), ``encode_a`` / ``encode_b`` (one matrix), ``estimate`` (two byte
strings), ``guarantee`` (a declared bound for one pair). A decoder or function target (spec
``role`` "decoder" or "function") answers only ``call``: one array and some numbers in, the
array it returns out (:class:`Function`). Every call is wrapped in
``except BaseException``, so ``sys.exit`` or ``KeyboardInterrupt`` inside a kernel is reported,
not obeyed.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import hashlib
import importlib.util
import inspect
import numbers
import os
import platform
import sys
import traceback
from pathlib import Path

_HERE = Path(__file__).resolve().parent


def _sibling(name: str):
    """A module of this folder, loaded by path (only the standard library is loaded so far)."""
    spec = importlib.util.spec_from_file_location(f"_quantmm_{name}", _HERE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


wire = _sibling("wire")
arrays = _sibling("arrays")

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_NOATIME, MS_NODIRATIME = 32, 4096, 1024, 2048
MS_REC = 16384
MS_RELATIME, MS_STRICTATIME = 1 << 21, 1 << 24
CLONE_NEWUSER = 0x10000000
_OPTION_FLAGS = {
    "nosuid": MS_NOSUID,
    "nodev": MS_NODEV,
    "noexec": MS_NOEXEC,
    "noatime": MS_NOATIME,
    "nodiratime": MS_NODIRATIME,
    "relatime": MS_RELATIME,
    "strictatime": MS_STRICTATIME,
}
PRIVATE = ("/tmp", "/var/tmp", "/dev/shm")
TRACEBACK_LIMIT = 4000


def _unescape(path: str) -> str:
    return path.encode().decode("unicode_escape")


def _kept(spec: dict) -> list[str]:
    """Folders the worker must still read after /tmp is replaced: the interpreter, its path,
    quantmm itself, the target's folder and path (some may live under /tmp)."""
    module = spec["target"].rpartition(":")[0]
    folders = [sys.prefix, sys.base_prefix, str(_HERE.parent), *sys.path, *spec.get("path", [])]
    if module.endswith(".py"):
        folders.append(str(Path(module).resolve().parent))
    inside = []
    for folder in folders:
        if not folder or not os.path.isdir(folder):
            continue
        resolved = os.path.realpath(folder)
        if any(resolved == point or resolved.startswith(point + "/") for point in PRIVATE):
            inside.append(resolved)
    kept = []
    for folder in sorted(set(inside)):  # a parent before its children
        if not any(folder.startswith(parent + "/") for parent in kept):
            kept.append(folder)
    return kept


def _enter_namespaces(keep: list[str]) -> dict:
    """Make the file system read-only but for fresh private tmpfs (with the ``keep`` folders
    bound back in, read-only), then drop the capabilities."""
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    libc.mount.argtypes = [ctypes.c_char_p] * 3 + [ctypes.c_ulong, ctypes.c_char_p]
    handles = {folder: os.open(folder, os.O_PATH) for folder in keep}
    writable = []
    with open("/proc/self/mountinfo", encoding="utf-8") as table:
        mounts = [line.split() for line in table]
    for fields in sorted(mounts, key=lambda fields: fields[4].count("/")):
        point, options = _unescape(fields[4]), fields[5].split(",")
        if point.startswith("/proc"):
            continue  # a fresh /proc of this PID namespace; not writable storage
        flags = MS_REMOUNT | MS_BIND | MS_RDONLY
        for option in options:
            flags |= _OPTION_FLAGS.get(option, 0)
        if libc.mount(None, point.encode(), None, flags, None) != 0 and "ro" not in options:
            writable.append(point)
    private = []
    for point in PRIVATE:
        if os.path.isdir(point):
            status = libc.mount(
                b"tmpfs", point.encode(), b"tmpfs", MS_NOSUID | MS_NODEV, b"mode=1777,size=2g"
            )
            if status == 0:
                private.append(point)
    for folder, handle in handles.items():
        os.makedirs(folder, exist_ok=True)
        source = f"/proc/self/fd/{handle}".encode()
        if (
            libc.mount(source, folder.encode(), None, MS_BIND | MS_REC, None) != 0
            or libc.mount(
                None,
                folder.encode(),
                None,
                MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV,
                None,
            )
            != 0
        ):
            writable.append(folder)
        os.close(handle)
    if libc.unshare(CLONE_NEWUSER) != 0:
        raise OSError(ctypes.get_errno(), "could not drop the capabilities (unshare)")
    return {
        "read_only_filesystem": not writable,
        "writable_mounts": writable,
        "private_tmp": "/tmp" in private,
        "private_mounts": private,
    }


def _describe_exception(error: BaseException) -> dict:
    text = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    return {
        "status": "raised",
        "exception": type(error).__name__,
        "base": not isinstance(error, Exception),
        "message": str(error)[:1000],
        "traceback": text[-TRACEBACK_LIMIT:],
    }


def _load(spec: dict):
    """The object ``spec["target"]`` names ("module:attribute" or "path/file.py:attribute")."""
    # after the installed packages, so that a source checkout in the working directory (whose
    # quantmm/ folder is not the installed package) cannot shadow them
    sys.path.extend(entry for entry in spec.get("path", []) if entry not in sys.path)
    module_name, _, attribute = spec["target"].rpartition(":")
    if module_name.endswith(".py"):
        path = Path(module_name)
        sys.path.insert(0, str(path.resolve().parent))  # its sibling modules, as `python file`
        module_spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[path.stem] = module
        module_spec.loader.exec_module(module)
    else:
        module = importlib.import_module(module_name)
    value = module
    for part in attribute.split("."):
        value = getattr(value, part)
    return value


def _is_kernel_object(value) -> bool:
    return not isinstance(value, type) and all(
        callable(getattr(value, name, None)) for name in ("encode_a", "encode_b", "estimate")
    )


def _passes(function, name: str) -> bool:
    try:
        parameters = inspect.signature(function).parameters
    except (TypeError, ValueError):
        return True
    return name in parameters or any(p.kind is p.VAR_KEYWORD for p in parameters.values())


class Kernels:
    """The kernels of one target, built once per seed (a kernel object is used as it is), and
    the array library they are handed their matrices in (:mod:`.arrays`): ``array`` if the run
    asked for one, else what the first kernel built declares."""

    def __init__(self, target, arguments: dict, device: str, array: str | None = None) -> None:
        self.target, self.arguments, self.device = target, arguments, device
        self.requested = array
        self.is_object = _is_kernel_object(target)
        self.built: dict = {}
        self.library: str | None = None

    @property
    def takes_seed(self) -> bool:
        return not self.is_object and _passes(self.target, "seed")

    def get(self, seed: int):
        kernel = self.target if self.is_object else self._built(seed)
        if self.library is None:  # once, from the first kernel: the library cannot change
            self.library = arrays.resolve(self.requested, getattr(kernel, "array_library", None))
        return kernel

    def _built(self, seed: int):
        if seed not in self.built:
            options = dict(self.arguments)
            if _passes(self.target, "seed"):
                options["seed"] = seed
            if _passes(self.target, "device"):
                options["device"] = self.device
            elif self.device != "cpu":
                raise ValueError("this factory takes no device argument; it can only run on 'cpu'")
            self.built[seed] = self.target(**options)
        return self.built[seed]


class Function:
    """A decoder or function target: ``target(x, *rest, **arguments)`` for one array ``x`` (a
    fresh, writable copy of what the harness sent, on the run's device: NumPy on "cpu", CuPy on
    "gpu") and the numbers ``rest`` the harness sends with it."""

    def __init__(self, target, arguments: dict, device: str) -> None:
        if not callable(target) or isinstance(target, type):
            raise TypeError(f"a decoder or function target must be a function, got {target!r}")
        self.target, self.arguments, self.device = target, arguments, device

    def call(self, header: dict, blobs: list[bytes]) -> tuple[dict, list[bytes]]:
        import numpy as np

        x = np.array(wire.array_from(header["x"], blobs[0]))
        if self.device == "gpu":
            import cupy

            x = cupy.asarray(x)
        rest = [float(value) for value in header.get("rest", [])]
        return _estimate_reply(self.target(x, *rest, **self.arguments))


def _source_files() -> list[str]:
    """Files of the modules loaded from outside the standard library and site-packages."""
    import sysconfig

    skip = {sysconfig.get_paths()[key] for key in ("stdlib", "platstdlib", "purelib", "platlib")}
    skip = [str(Path(path).resolve()) for path in skip]
    files = set()
    for module in list(sys.modules.values()):
        name = getattr(module, "__file__", None)
        if not name or not name.endswith(".py"):
            continue
        resolved = str(Path(name).resolve())
        if resolved.startswith(str(_HERE)) or any(resolved.startswith(path) for path in skip):
            continue
        files.add(resolved)
    return sorted(files)


def _declarations(kernels: Kernels, seed: int) -> dict:
    kernel = kernels.get(seed)
    missing = [
        name
        for name in ("encode_a", "encode_b", "estimate")
        if not callable(getattr(kernel, name, None))
    ]
    answer = {
        "status": "ok",
        "type": type(kernel).__name__,
        "missing": missing,
        "is_object": kernels.is_object,
        "takes_seed": kernels.takes_seed,
        "array_library": {"name": kernels.library, "version": arrays.version(kernels.library)},
        "interpreter": {
            "executable": sys.executable,
            "python": platform.python_version(),
            "numpy": arrays.version("numpy"),
        },
    }
    rate = getattr(kernel, "rate", None)
    if rate is None:
        answer["rate"] = None
    else:
        real = isinstance(rate, numbers.Real) and not isinstance(rate, bool)
        answer["rate"] = {
            "repr": repr(rate)[:200],
            "type": type(rate).__name__,
            "value": float(rate) if real else None,
        }
    if hasattr(kernel, "unbiased"):
        try:
            answer["unbiased"] = {
                "repr": repr(kernel.unbiased)[:200],
                "truth": bool(kernel.unbiased),
            }
        except BaseException as error:  # an undecidable declaration
            answer["unbiased"] = {
                "repr": repr(type(kernel.unbiased))[:200],
                "truth": None,
                "error": f"{type(error).__name__}: {error}"[:500],
            }
    else:
        answer["unbiased"] = None
    answer["guarantee"] = callable(getattr(kernel, "guarantee", None))
    unsupported = getattr(kernel, "unsupported", None)
    if unsupported is None:
        answer["unsupported"] = {}
    elif isinstance(unsupported, dict) and all(
        isinstance(key, str) and isinstance(value, str) for key, value in unsupported.items()
    ):
        answer["unsupported"] = dict(unsupported)
    else:
        answer["unsupported"] = {
            "error": f"unsupported must map family names to reasons, "
            f"got {type(unsupported).__name__}"
        }
    answer["source_files"] = _source_files()
    return answer


def _matrix(header: dict, blob: bytes):
    """The read-only input matrix in the layout the job asks for."""
    import numpy as np

    layout = header.get("layout", "C")
    if layout == "F":
        shape = header["matrix"]["shape"]
        flipped = {**header["matrix"], "shape": shape[::-1]}
        return wire.array_from(flipped, blob).T
    matrix = wire.array_from(header["matrix"], blob)
    if layout == "strided":
        rows, _columns = matrix.shape if matrix.ndim == 2 else (matrix.shape[0], 1)
        wide = np.zeros((2 * rows, *matrix.shape[1:]), dtype=matrix.dtype)
        wide[::2] = matrix
        wide.setflags(write=False)
        return wide[::2]
    return matrix


def _fingerprint(matrix) -> str:
    import numpy as np

    return hashlib.sha256(np.ascontiguousarray(arrays.to_numpy(matrix)).tobytes()).hexdigest()


class ConversionError(Exception):
    """The harness's own conversion of an input failed: the kernel was not called."""


def _given(kernels: Kernels, matrix):
    """``matrix`` as the kernel's array library has it (:func:`arrays.to_library`)."""
    try:
        return arrays.to_library(matrix, kernels.library, kernels.device)
    except Exception as error:
        raise ConversionError(
            f"the harness could not hand the input ({matrix.dtype}, shape {matrix.shape}) to "
            f"the kernel as a {kernels.library} array: {type(error).__name__}: {error}"
        ) from None


def _estimate_reply(value) -> tuple[dict, list[bytes]]:
    """Describe the estimate and send it as a NumPy array if it is an array of a known library
    (moved to the host explicitly, :func:`arrays.to_numpy`)."""
    import numpy as np

    kind = f"{type(value).__module__}.{type(value).__qualname__}"
    converted = None if isinstance(value, np.ndarray) else type(value).__module__.partition(".")[0]
    try:
        array = arrays.to_numpy(value)
    except Exception:  # an array NumPy has no dtype for (a bfloat16 tensor, say)
        dtype = str(getattr(value, "dtype", "unknown"))
        return {"status": "ok", "type": kind, "array": None, "dtype": dtype}, []
    if not isinstance(array, np.ndarray):
        return {"status": "ok", "type": kind, "array": None}, []
    if array.dtype.newbyteorder("<").str not in wire.ARRAY_DTYPES:
        return {"status": "ok", "type": kind, "array": None, "dtype": str(array.dtype)}, []
    meta, data = wire.array_meta(array)
    return {"status": "ok", "type": kind, "converted": converted, "array": meta}, [data]


def _call(kernels, header: dict, blobs: list[bytes]) -> tuple[dict, list[bytes]]:
    op, seed = header["op"], header.get("seed", 0)
    if isinstance(kernels, Function):
        if op != "call":
            raise ValueError(f"unknown operation {op!r} for a decoder or function target")
        return kernels.call(header, blobs)
    if op == "describe":
        return _declarations(kernels, seed), []
    kernel = kernels.get(seed)
    if op in ("encode_a", "encode_b"):
        matrix = _given(kernels, _matrix(header, blobs[0]))
        before = _fingerprint(matrix)
        payload = getattr(kernel, op)(matrix)
        answer = {
            "status": "ok",
            "type": type(payload).__name__,
            "mutated": _fingerprint(matrix) != before,
        }
        return answer, [payload] if type(payload) is bytes else []
    if op == "estimate":
        return _estimate_reply(kernel.estimate(blobs[0], blobs[1]))
    if op == "guarantee":
        A = _given(kernels, wire.array_from(header["a"], blobs[0]))
        B = _given(kernels, wire.array_from(header["b"], blobs[1]))
        return {"status": "ok", "bound": repr(float(kernel.guarantee(A, B)))}, []
    raise ValueError(f"unknown operation {op!r}")


def main() -> None:
    result_fd, sandbox = int(sys.argv[1]), sys.argv[2]
    jobs = sys.stdin.buffer
    header, _ = wire.read_frame(jobs)  # the target's name: read before the sandbox, run after
    isolation = _enter_namespaces(_kept(header["spec"])) if sandbox == "namespaces" else {}
    for name in ("HOME", "TMPDIR"):
        os.makedirs(os.environ[name], exist_ok=True)
    work = os.environ["QUANTMM_WORKDIR"]
    os.makedirs(work, exist_ok=True)
    os.chdir(work)
    del os.environ["QUANTMM_WORKDIR"]
    results = os.fdopen(result_fd, "wb")
    try:
        spec = header["spec"]
        if spec.get("role", "kernel") == "kernel":
            kernels = Kernels(
                _load(spec), spec.get("arguments", {}), header["device"], spec.get("array")
            )
        else:
            kernels = Function(_load(spec), spec.get("arguments", {}), header["device"])
        wire.write_frame(results, {"status": "ok", "isolation": isolation})
    except BaseException as error:
        wire.write_frame(results, {**_describe_exception(error), "isolation": isolation})
        return
    while True:
        try:
            header, blobs = wire.read_frame(jobs)
        except EOFError:
            return
        try:
            answer, data = _call(kernels, header, blobs)
        except ConversionError as error:  # quantmm's failure, not the kernel's refusal
            answer, data = {"status": "not_converted", "message": str(error)[:1000]}, []
        except BaseException as error:  # the kernel's exit, interrupt or exception: a result
            answer, data = _describe_exception(error), []
        wire.write_frame(results, {**answer, "job": header.get("job")}, data)


if __name__ == "__main__":
    main()
