"""Decoder and function targets are run in sandboxed workers, like kernels: a target that
patches the judge, exits, raises SystemExit, hangs or writes files still gets an honest FAIL
(cheating targets: tests/dishonest_decoders.py).

The judge-patching cheaters are first shown to work when they are called in-process (in a
throw-away interpreter), so the sandboxed FAIL is evidence, not an accident of a broken cheat.
"""

from __future__ import annotations

import functools
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from quantmm.conformance.harness import DecoderTarget, FunctionTarget, builtin_targets, certify
from quantmm.conformance.results import FAIL, PASS
from quantmm.conformance.sandbox import _namespaces_work
from quantmm.conformance.sandboxed_call import SandboxedCall, SandboxedCallError
from quantmm.conformance.targets import load_target

FILE = Path(__file__).with_name("dishonest_decoders.py")


def _decoder(name: str, lattice: str = "Z", arguments: dict | None = None) -> DecoderTarget:
    target = load_target(f"{FILE}:{name}", arguments=arguments)
    return DecoderTarget(name, lattice, target, np.float64)


def _function(name: str, function: str = "gamma") -> FunctionTarget:
    return FunctionTarget(name, function, load_target(f"{FILE}:{name}"))


@functools.cache
def _verdicts(isolation: str = "auto") -> dict[str, object]:
    """One certificate for every target of dishonest_decoders.py (run seed 4, 3 s per call)."""
    decoders = [
        _decoder("honest_decoder", "E8", {"lattice": "E8"}),
        _decoder("judge_patching_decoder"),
        _decoder("exiting_decoder"),
        _decoder("sleeping_decoder"),
    ]
    functions = [
        _function("honest_gamma"),
        _function("judge_patching_function"),
        _function("sys_exiting_function"),
        _function("list_returning_function"),
    ]
    certificate = certify(
        decoders=decoders, functions=functions, seed=4, timeout=3.0, isolation=isolation,
        progress=None,
    )  # fmt: skip
    return {report.name: report.checks[0] for report in certificate.targets}


def test_honest_user_targets_pass_in_the_sandbox():
    results = _verdicts()
    assert results["honest_decoder"].verdict == PASS, results["honest_decoder"].summary
    assert results["honest_gamma"].verdict == PASS, results["honest_gamma"].summary


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("judge_patching_decoder", "decoded to"),
        ("exiting_decoder", "exited with status 0"),
        ("sleeping_decoder", "no answer within 3 s"),
        ("judge_patching_function", "ulps apart"),
        ("sys_exiting_function", "raised SystemExit"),
        ("list_returning_function", "returned builtins.list, not an array"),
    ],
)
def test_cheating_and_misbehaving_targets_fail(name, words):
    result = _verdicts()[name]
    assert result.verdict == FAIL, result.summary
    assert words in result.failure.message, result.failure.message
    compile(result.failure.reproduction, "<reproduction>", "exec")  # Python as printed


_IN_PROCESS = """
import json, sys
import numpy as np
sys.path.insert(0, {folder!r})
import dishonest_decoders as d
from quantmm.conformance.exactness import check_exactness
from quantmm.conformance.numerical import check_numerical_agreement
print(json.dumps([check_exactness(d.judge_patching_decoder, "Z", seed=4).verdict,
                  check_numerical_agreement("gamma", d.judge_patching_function, seed=4).verdict]))
"""


def test_the_judge_patching_cheats_work_when_called_in_process(tmp_path):
    """Independent evidence that the sandbox is what stops them: in-process, they pass."""
    script = _IN_PROCESS.format(folder=str(FILE.parent))
    run = subprocess.run(  # from outside the repository, whose quantmm/ is not the installed one
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300, cwd=tmp_path
    )
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout.strip().splitlines()[-1]) == [PASS, PASS]


@pytest.mark.skipif(not _namespaces_work(), reason="this machine does not allow user namespaces")
def test_a_decoder_cannot_write_outside_its_private_directories():
    written = FILE.with_name("written_by_a_decoder.txt")
    certificate = certify(
        decoders=[_decoder("file_writing_decoder")], seed=4, isolation="namespaces", progress=None
    )
    result = certificate.targets[0].checks[0]
    assert result.verdict == FAIL and "Read-only file system" in result.failure.message
    assert not written.exists()


def test_the_builtin_decoders_and_functions_are_named_not_imported():
    """Every built-in decoder and function target is a name a worker imports, with a
    construction that re-creates it (it is executed here and compared with quantmm.fast)."""
    from quantmm import fast

    _, decoders, functions = builtin_targets()
    x = np.random.default_rng(0).normal(size=(50, 8)) * 3
    for target in decoders:
        namespace: dict = {}
        exec(target.construction, namespace)
        rows = x[:, : {"Z": 8, "D4": 4, "A2": 2, "E8": 8}[target.lattice]]
        expected = fast.closest_point(rows, target.lattice)
        assert np.array_equal(namespace["decoder"](rows), expected), target.name
    for target in functions:
        namespace = {}
        exec(target.construction, namespace)
        assert target.target.target == f"quantmm.fast:{target.function}"


def test_a_sandboxed_call_reports_a_target_that_does_not_load(tmp_path):
    broken = tmp_path / "broken.py"
    broken.write_text("raise ImportError('no such thing')\ndef decode(x):\n    return x\n")
    with SandboxedCall(load_target(f"{broken}:decode"), "decoder") as call:
        with pytest.raises(SandboxedCallError, match="did not load: raised ImportError"):
            call(np.zeros((1, 8)))
        with pytest.raises(SandboxedCallError, match="did not load"):  # and stays failed
            call(np.zeros((1, 8)))


def test_a_sandboxed_call_returns_the_targets_answer_bytes_for_bytes():
    """The answer crosses the process boundary unchanged (float32 and float64)."""
    target = load_target("quantmm.fast:closest_point", arguments={"lattice": "D4"})
    from quantmm.fast import closest_point

    x = np.random.default_rng(1).normal(size=(200, 4))
    with SandboxedCall(target, "decoder") as call:
        for dtype in (np.float32, np.float64):
            got = call(x.astype(dtype))
            assert got.dtype == dtype
            assert got.tobytes() == closest_point(x.astype(dtype), "D4").tobytes()


@pytest.mark.parametrize(
    ("arguments", "error", "words"),
    [
        ({"decoders": [lambda x: x]}, TypeError, "decoders[0] must be a DecoderTarget"),
        (
            {"decoders": [DecoderTarget("d", "E8", lambda x: x, np.float64)]},
            TypeError,
            "decoders[0].target must be a KernelTarget",
        ),
        (
            {"decoders": [DecoderTarget("d", "E7", load_target(f"{FILE}:honest_decoder"), "f8")]},
            ValueError,
            "decoders[0].lattice must be one of",
        ),
        (
            {"functions": [FunctionTarget("f", "erf", load_target(f"{FILE}:honest_gamma"))]},
            ValueError,
            "functions[0].function must be one of",
        ),
    ],
)
def test_a_malformed_decoder_or_function_target_is_refused_up_front(arguments, error, words):
    with pytest.raises(error) as info:
        certify(**arguments, seed=0, progress=None)
    assert words in str(info.value)
