"""Kernels written for PyTorch (and JAX): the harness hands them their matrices in their own
library (conformance/arrays.py) and still catches every broken one.

PyTorch cannot share quantmm's environment (torch needs sympy, and sympy pins mpmath < 1.4,
which quantmm's interval certificates require), so these kernels run as users run theirs: in
their own interpreter, named with ``certify(..., python=)`` / ``quantmm certify --python``.
That interpreter is ``QUANTMM_ARRAY_PYTHON`` (an environment with numpy, torch and jax; `.ci/run`
step 3 builds one), else this one if it happens to have torch. Without one the tests skip,
saying so; if ``QUANTMM_ARRAY_PYTHON`` is set but lacks torch they fail, since CI asked for them.

The expected values are independent of the conversion code: NumPy's own copy of each matrix (the
same bytes, dtype, shape and strides, compared with torch's own ``Tensor.numpy``), and
certificates of examples/torch_kernel.py and of the broken kernels of
tests/array_library_kernels.py.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from quantmm.conformance import arrays
from quantmm.conformance.harness import certify
from quantmm.conformance.inputs import BAD_INPUTS, EDGE_FAMILIES, plan
from quantmm.conformance.results import FAIL, PASS, SKIP
from quantmm.conformance.targets import TargetError, load_target

ROOT = Path(__file__).parents[1]
EXAMPLE = ROOT / "examples" / "torch_kernel.py"
BROKEN = Path(__file__).with_name("array_library_kernels.py")
ARRAYS, WORKER = ROOT / "conformance" / "arrays.py", ROOT / "conformance" / "worker.py"
VARIABLE = "QUANTMM_ARRAY_PYTHON"

pytest_plugins = ["pytester"]


def _has(python: str, module: str) -> bool:
    found = subprocess.run([python, "-c", f"import {module}"], capture_output=True, text=True)
    return found.returncode == 0


@functools.cache
def _interpreter(module: str) -> str | None:
    """The interpreter that has ``module`` (None: there is none, and no one asked for one)."""
    chosen = os.environ.get(VARIABLE)
    if chosen:
        assert _has(chosen, module), f"{VARIABLE}={chosen} cannot import {module}"
        return chosen
    return sys.executable if _has(sys.executable, module) else None


def python_with(module: str) -> str:
    """The interpreter with ``module``, or skip the test saying how to get one."""
    python = _interpreter(module)
    if python is None:
        pytest.skip(
            f"no Python with {module}: set {VARIABLE} to an interpreter that has numpy and "
            f"{module} (.ci/run step 3 builds one)"
        )
    return python


def in_interpreter(python: str, script: str, data: object = None) -> object:
    """Run ``script`` in ``python`` with ``arrays`` (conformance/arrays.py), ``worker`` (the
    worker module, loaded by path as the harness loads it) and ``data`` (JSON) defined; it sets
    ``result``, which comes back as JSON."""
    prelude = f"""
import importlib.util, json, sys
import numpy as np
def load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
arrays = load("arrays", {str(ARRAYS)!r})
worker = load("worker", {str(WORKER)!r})
data = json.loads(sys.stdin.read())
"""
    done = subprocess.run(
        [python, "-c", prelude + script + "\nprint(json.dumps(result))"],
        input=json.dumps(data),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def test_resolution_and_validation_name_the_argument():
    assert arrays.resolve(None, None) == "numpy"
    assert arrays.resolve("torch", "torch") == "torch"
    with pytest.raises(ValueError, match="array_library must be one of"):
        arrays.resolve(None, "tensorflow")
    with pytest.raises(ValueError, match="--array must be one of"):
        arrays.check_array_library("tf", "cpu", argument="--array")
    with pytest.raises(ValueError, match="'cupy' needs device 'gpu'"):
        arrays.check_array_library("cupy", "cpu")
    with pytest.raises(ValueError, match="array must be one of"):
        load_target(f"{EXAMPLE}:AbsmaxRoundToNearest", array="tensorflow")
    with pytest.raises(TargetError, match="python '/no/such/python' is not an executable file"):
        load_target(f"{EXAMPLE}:AbsmaxRoundToNearest", python="/no/such/python")


LAYOUTS = ("C", "F", "strided")
DTYPES = ("<f8", "<f4", "<i8", "<c16")
#: How the child makes each layout (the same construction as _layouts below).
MAKE_LAYOUTS = """
def layouts():
    base = np.arange(24, dtype=np.float64).reshape(6, 4) / 7
    return {"C": base, "F": np.asfortranarray(base),
            "strided": np.arange(48.0).reshape(12, 4)[::2]}
"""


def _layouts():
    """The layouts the harness hands kernels: C order, Fortran order, a view with gaps."""
    base = np.arange(24, dtype=np.float64).reshape(6, 4) / 7
    return {"C": base, "F": np.asfortranarray(base), "strided": np.arange(48.0).reshape(12, 4)[::2]}


@functools.cache
def _torch_conversions(python: str) -> dict:
    """What a torch kernel is handed for each layout and dtype, observed in ``python``."""
    script = (
        MAKE_LAYOUTS
        + """
import torch
result = {}
for layout in data["layouts"]:
    for dtype in data["dtypes"]:
        matrix = layouts()[layout].astype(dtype, order="K")
        matrix.setflags(write=False)
        tensor = arrays.to_library(matrix, "torch", "cpu")
        seen = {
            "type": type(tensor).__module__ + "." + type(tensor).__qualname__,
            "dtype": str(tensor.dtype).removeprefix("torch."),
            "shape": list(tensor.shape),
            "byte_strides": [s * tensor.element_size() for s in tensor.stride()],
            "same_values": bool(np.array_equal(tensor.numpy(), matrix)),
        }
        tensor.add_(1)  # the kernel writes to its tensor
        seen["harness_copy_untouched"] = bool(
            np.array_equal(matrix, layouts()[layout].astype(dtype)))
        seen["back_equals_written"] = bool(np.array_equal(arrays.to_numpy(tensor), matrix + 1))
        result[layout + " " + dtype] = seen
"""
    )
    return in_interpreter(python, script, {"layouts": LAYOUTS, "dtypes": DTYPES})


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_torch_gets_the_same_bytes_dtype_shape_and_strides(layout, dtype):
    seen = _torch_conversions(python_with("torch"))[f"{layout} {dtype}"]
    matrix = _layouts()[layout].astype(dtype, order="K")
    assert seen["type"] == "torch.Tensor"
    assert seen["dtype"] == matrix.dtype.name
    assert seen["shape"] == list(matrix.shape)
    assert seen["byte_strides"] == list(matrix.strides)
    assert seen["same_values"]
    assert seen["harness_copy_untouched"]  # a fresh copy, not a view of the harness's array
    assert seen["back_equals_written"]


@pytest.mark.parametrize("dtype", DTYPES)
def test_jax_gets_the_same_values_and_dtype_without_rounding_to_float32(dtype):
    python = python_with("jax")
    matrix = (_layouts()["F"] * (1 + 2**-40)).astype(dtype)  # float32 would round 2^-40 away
    script = (
        MAKE_LAYOUTS
        + """
matrix = (layouts()["F"] * (1 + 2**-40)).astype(data)
array = arrays.to_library(matrix, "jax", "cpu")
back = arrays.to_numpy(array)
result = {"dtype": str(array.dtype), "type": type(array).__module__,
          "back": [back.dtype.str, back.tobytes().hex()]}
"""
    )
    seen = in_interpreter(python, script, dtype)
    assert seen["dtype"] == matrix.dtype.name and seen["type"].startswith("jax")
    assert seen["back"] == [matrix.dtype.str, matrix.tobytes().hex()]


@functools.cache
def certified(name: str, array: str | None = None, file: Path = BROKEN):
    python = python_with("torch")
    target = load_target(f"{file}:{name}", array=array, python=python)
    command = {
        "builtin": False,
        "target": target.target,
        "checks": None,
        "array": array,
        "python": python,
    }
    return certify([target], seed=3, timeout=30.0, progress=None, command=command)


def _check(certificate, name):
    return next(check for check in certificate.targets[0].checks if check.name == name)


def test_the_pytorch_example_is_certified_and_its_library_recorded():
    certificate = certified("AbsmaxRoundToNearest", file=EXAMPLE)
    assert certificate.verdict == PASS, certificate.report()
    verdicts = {check.name: check.verdict for check in certificate.targets[0].checks}
    assert verdicts.pop("claimed_guarantees") == SKIP  # it claims nothing
    assert set(verdicts.values()) == {PASS}
    report = certificate.targets[0]
    library = report.array_library
    assert library["name"] == "torch" and library["version"].startswith("2.")
    recorded = json.loads(certificate.json_text())["targets"][0]
    assert recorded["array_library"] == library
    assert recorded["interpreter"]["executable"] == report.interpreter["executable"]
    assert os.path.samefile(report.interpreter["executable"], python_with("torch"))
    assert f"[kernel, torch {library['version']} arrays]" in certificate.report()
    # the rate is measured on the bytes alone: 4 bits plus the scales, as the example says
    worst = _check(certificate, "rate_honesty").figures["worst_bits_per_entry"]
    assert 4 < worst < 4 + 64 / 961 + 64 / (961 * 17)


@pytest.mark.parametrize(
    ("name", "array", "check", "words"),
    [
        ("ScalesInPlace", None, "output_contract", "modified its input matrix in place"),
        ("Bfloat16Estimate", None, "output_contract", "bfloat16"),
        ("UnknownLibrary", None, "protocol", "array_library must be one of"),
        ("AbsmaxRoundToNearest", "numpy", "protocol", "declares array_library = 'torch'"),
        ("Undeclared", None, "output_contract", "must be a torch.Tensor, got ndarray"),
    ],
)
def test_broken_torch_kernels_are_rejected(name, array, check, words):
    certificate = certified(name, array)
    result = _check(certificate, check)
    assert certificate.verdict == FAIL
    assert result.verdict == FAIL, result.summary
    assert words in result.failure.message, result.failure.message
    python = python_with("torch")
    assert f"python={python!r}" in result.failure.reproduction
    assert f"--python {python}" in result.failure.example["rerun"]
    if array:
        assert f"array={array!r}" in result.failure.reproduction
        assert f"--array {array}" in result.failure.example["rerun"]


@pytest.mark.parametrize("name", ["Undeclared", "DetachesGradient", "KERNEL_OBJECT"])
def test_honest_torch_kernels_pass_when_handed_tensors(name):
    certificate = certified(name, "torch" if name == "Undeclared" else None)
    assert certificate.verdict == PASS, certificate.report()


def test_a_kernel_whose_library_is_missing_is_refused_with_advice():
    """Certified without ``python=`` from an interpreter that has no torch, the example cannot
    be built: the harness refuses the target, names the import error and says what to do."""
    if _has(sys.executable, "torch"):
        pytest.skip("this interpreter has torch, so the example builds")
    target = load_target(f"{EXAMPLE}:AbsmaxRoundToNearest")
    with pytest.raises(TargetError) as refused:
        certify([target], seed=3, timeout=30.0, progress=None, checks=["protocol"])
    message = str(refused.value)
    assert "No module named 'torch'" in message and "--python PATH" in message
    assert "name it as path/to/file.py" not in message  # it is named as a file already


def test_a_failed_conversion_is_not_credited_as_the_kernel_refusing_bad_input(monkeypatch):
    """If the harness cannot make the input (a library that cannot hold it), the kernel was not
    called: the call is "not run", which no check counts as a refusal."""
    from quantmm.conformance import worker
    from quantmm.conformance.campaign import Observations
    from quantmm.conformance.kernel_checks import CheckContext, check_robustness
    from quantmm.conformance.sandbox import Outcome

    class Kernel:
        array_library = "torch"
        calls = 0

        def encode_a(self, A):
            Kernel.calls += 1
            raise ValueError("refused")

        encode_b = encode_a

        def estimate(self, a, b):
            raise ValueError("refused")

    def broken(matrix, library, device):
        raise TypeError("no such dtype")

    kernels = worker.Kernels(Kernel(), {}, "cpu")
    monkeypatch.setattr(worker.arrays, "to_library", broken)
    meta, data = worker.wire.array_meta(np.ones((3, 2)))
    with pytest.raises(worker.ConversionError, match="as a torch array: TypeError"):
        worker._call(kernels, {"op": "encode_a", "seed": 0, "matrix": meta}, [data])
    assert Kernel.calls == 0
    observed = Observations(plan("quick", 3), {})
    for label in BAD_INPUTS:
        for side in ("a", "b"):
            observed.encodes[(side, ("bad", label))] = Outcome("not_run", detail="not converted")
    context = CheckContext("k", None, {}, "quick", 3, "rerun")
    assert check_robustness(observed, context).verdict == FAIL


def test_the_cli_takes_array_and_refuses_it_where_it_cannot_apply(tmp_path):
    def run(*arguments):
        return subprocess.run(
            [sys.executable, "-m", "quantmm", "certify", *arguments],
            capture_output=True,
            text=True,
            cwd=tmp_path,
        )

    refused = run("--builtin", "--array", "torch")
    assert refused.returncode == 2 and "--array and --python apply to a TARGET" in (refused.stderr)
    refused = run(f"{EXAMPLE}:AbsmaxRoundToNearest", "--array", "tf")
    assert refused.returncode == 2 and "--array must be one of numpy, torch, jax, cupy" in (
        refused.stderr
    )
    refused = run(f"{EXAMPLE}:AbsmaxRoundToNearest", "--array", "cupy")
    assert refused.returncode == 2 and "'cupy' needs device 'gpu'" in refused.stderr
    refused = run("--builtin", "--python", sys.executable)
    assert refused.returncode == 2 and "--python apply to a TARGET" in refused.stderr
    refused = run(f"{EXAMPLE}:AbsmaxRoundToNearest", "--python", "no-such-python-here")
    assert refused.returncode == 2
    assert "python 'no-such-python-here' is not an executable file" in refused.stderr


def test_every_edge_family_reaches_a_torch_kernel_in_its_layout():
    """The strided and Fortran-order families keep their strides in the tensor the kernel sees
    (the plan's own matrices, framed as the harness frames them and unframed by the worker's own
    code in the torch interpreter)."""
    from quantmm.conformance.campaign import _matrix_call

    python = python_with("torch")
    p = plan("quick", 3)
    jobs, expected = [], []
    for family in EDGE_FAMILIES:
        A, _ = p.edge_pair(family)
        header, blobs = _matrix_call("encode_a", 0, A, p.layout(family))
        jobs.append({"header": header, "blob": blobs[0].hex()})
        expected.append((family, A))
    script = """
result = []
for job in data:
    given = worker._matrix(job["header"], bytes.fromhex(job["blob"]))
    tensor = arrays.to_library(given, "torch", "cpu")
    strides = [s * tensor.element_size() for s in tensor.stride()]
    back = tensor.numpy()
    result.append({"given_strides": list(given.strides), "tensor_strides": strides,
                   "values": [back.dtype.str, list(back.shape), back.tobytes(order="C").hex()]})
"""
    for (family, A), seen in zip(expected, in_interpreter(python, script, jobs), strict=True):
        assert seen["tensor_strides"] == seen["given_strides"], family
        assert seen["values"] == [A.dtype.str, list(A.shape), A.tobytes(order="C").hex()], family


def test_the_pytest_marker_certifies_a_torch_kernel_in_its_own_interpreter(pytester):
    """A user's suite, in quantmm's environment, certifies the PyTorch example run by the
    torch interpreter (the marker's ``python=``) and a broken one, which fails the test."""
    python = python_with("torch")
    pytester.makepyfile(
        test_torch_kernels=f"""
        import pytest

        @pytest.mark.quantmm_certify({f"{EXAMPLE}:AbsmaxRoundToNearest"!r}, python={python!r},
                                     seed=3)
        def test_honest(quantmm_certificate):
            assert quantmm_certificate.targets[0].array_library["name"] == "torch"

        def test_in_place(quantmm_certify):
            quantmm_certify({f"{BROKEN}:ScalesInPlace"!r}, python={python!r}, seed=3)
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-o", "addopts=")
    result.assert_outcomes(passed=1, failed=1)
    output = result.stdout.str()
    assert f"FAILED {BROKEN}:ScalesInPlace / output_contract" in output
    assert "modified its input matrix in place" in output
