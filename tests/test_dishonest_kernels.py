"""Every cheating or broken kernel of tests/dishonest_kernels.py is rejected by the check meant
for its defect, with a message that names the defect; the honest ones there are certified.

The default run certifies at least one kernel of every class of defect; ``pytest -m slow`` runs
all of them. Each certificate: quick profile, run seed 3, 5 s per kernel call (so the kernel that
sleeps for ever costs 5 s).
"""

from __future__ import annotations

import functools
import glob
import os
from pathlib import Path

import pytest
from dishonest_kernels import CHEATERS, HONEST

from quantmm.conformance.harness import certify
from quantmm.conformance.results import FAIL, PASS
from quantmm.conformance.targets import load_target

FILE = Path(__file__).with_name("dishonest_kernels.py")
DEFAULT = {
    "ClassAttributeLeak", "TempDirLeak", "SourceFolderLeak", "BytesSubclassLeak",
    "EncoderStateLeak", "NumpyFloatRateClaim", "HeavyTailRate", "PayloadBRate", "Transposed",
    "ListOutput", "ZeroEstimator", "OneNoisyColumn", "CrashesOnOneRow", "Float32Fails",
    "UnseededWhenLarge", "CallCounter", "CentersInPlace", "NumpyBoolUnbiased",
    "UndecidableUnbiased", "ExitsInEstimate", "HardExitInEncode", "SleepsInEstimate",
    "SegfaultsInEstimate", "raising_factory", "SeedDependentShape",
}  # fmt: skip


@functools.cache
def certified(name: str, isolation: str = "auto"):
    target = load_target(f"{FILE}:{name}")
    command = {"builtin": False, "target": target.target, "checks": None, "isolation": isolation}
    return certify(
        [target], seed=3, timeout=5.0, isolation=isolation, progress=None, command=command
    )


def _cases(default: bool):
    return [
        pytest.param(name, check, words, id=f"{name}-{check}")
        for name, check, words in CHEATERS
        if (name in DEFAULT) == default
    ]


def _assert_rejected(name, check_name, words):
    certificate = certified(name)
    result = next(result for result in certificate.targets[0].checks if result.name == check_name)
    assert certificate.verdict == FAIL
    assert result.verdict == FAIL, f"{name} passed {check_name}: {result.summary}"
    assert words in result.failure.message, result.failure.message
    compile(result.failure.reproduction, "<reproduction>", "exec")  # it is Python as printed


@pytest.mark.parametrize(("name", "check_name", "words"), _cases(default=True))
def test_a_cheater_of_every_class_is_rejected_naming_its_defect(name, check_name, words):
    _assert_rejected(name, check_name, words)


@pytest.mark.slow
@pytest.mark.parametrize(("name", "check_name", "words"), _cases(default=False))
def test_every_other_cheater_is_rejected_naming_its_defect(name, check_name, words):
    _assert_rejected(name, check_name, words)


@pytest.mark.parametrize("name", HONEST)
def test_the_honest_kernels_there_are_certified(name):
    certificate = certified(name)
    assert certificate.verdict == PASS, certificate.report()


def test_a_declared_refusal_is_recorded_in_the_certificate():
    edge = certified("DeclaresOneRowUnsupported").targets[0].checks[5]
    assert edge.name == "edge_inputs"
    assert "needs at least 2 rows" in edge.figures["refused_as_declared"]["n=1"]


def test_no_subset_of_trials_may_beat_the_converse():
    """Where /tmp is shared (isolation 'process'), a kernel can be exact on most trials through
    files and hide that behind a few huge errors: its mean distortion is far above Γ, but the
    lower median and the single trials are not."""
    try:
        result = certified("ExactOnThreeQuarters", "process").targets[0].checks[6]
    finally:
        for path in glob.glob("/tmp/quantmm-quarter-*.npy"):
            os.remove(path)
    assert result.name == "converse" and result.verdict == FAIL
    message = result.failure.message
    assert "lower median" in message and "have D below 0.75·Γ" in message
    assert "the mean D" not in message  # the mean alone would have passed


def test_the_same_kernel_decodes_honestly_when_the_files_are_private():
    """With namespaces the files do not reach the decoder; it falls back to its honest path."""
    from quantmm.conformance.sandbox import _namespaces_work

    if not _namespaces_work():
        pytest.skip("this machine does not allow unprivileged user namespaces")
    assert certified("ExactOnThreeQuarters").verdict == PASS


@pytest.mark.parametrize(
    ("name", "check_name", "printed"),
    [
        ("Transposed", "output_contract", "(20, 19)"),
        ("CallCounter", "determinism", "False"),
    ],
)
def test_reproductions_run_as_pasted_and_show_the_failure(name, check_name, printed, capsys):
    result = next(r for r in certified(name).targets[0].checks if r.name == check_name)
    exec(compile(result.failure.reproduction, "<reproduction>", "exec"), {})
    assert printed in capsys.readouterr().out
