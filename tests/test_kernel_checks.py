"""The kernel checks of the conformance harness catch what they are meant to catch (issue #5).

Every deliberately broken kernel in tests/broken_kernels.py breaks one rule; the check meant for
that rule must reject it, with a failure record holding the seed and a reproduction. Honest
kernels (the built-ins and Float16Kernel, whose bound is rigorous) must pass.
"""

from __future__ import annotations

import pytest

from quantmm.conformance.harness import builtin_targets
from quantmm.conformance.kernel_checks import KERNEL_CHECKS
from quantmm.conformance.results import FAIL, PASS, SKIP
from quantmm.conformance.targets import KernelTarget, as_factory

from broken_kernels import (
    AcceptsNaNKernel,
    BiasedKernel,
    Float16Kernel,
    LeakyKernel,
    NaNOnZeroColumnKernel,
    NondeterministicKernel,
    OverclaimingBoundKernel,
    UnderReportingKernel,
)


def _target(kernel_class) -> KernelTarget:
    name = kernel_class.__name__
    construction = f"from broken_kernels import {name}\nfactory = {name}"
    return KernelTarget(kernel_class.__name__, as_factory(kernel_class), construction)


def _run(check: str, kernel_class, seed: int = 3):
    return KERNEL_CHECKS[check](_target(kernel_class), profile="quick", seed=seed)


@pytest.mark.parametrize(
    ("kernel_class", "check", "message"),
    [
        (LeakyKernel, "rate_honesty", "does not use the bytes"),
        (UnderReportingKernel, "rate_honesty", "more than the claimed rate 2.0"),
        (BiasedKernel, "claimed_guarantees", "differs from AᵀB"),
        (OverclaimingBoundKernel, "claimed_guarantees", "exceeds the declared bound"),
        (NaNOnZeroColumnKernel, "robustness", "not a finite"),
        (AcceptsNaNKernel, "robustness", "returned instead of raising"),
        (NondeterministicKernel, "determinism", "different payload bytes"),
    ],
)
def test_each_broken_kernel_is_rejected_by_its_check(kernel_class, check, message):
    result = _run(check, kernel_class)
    assert result.verdict == FAIL, result
    assert result.name == check
    assert message in result.failure.message
    assert result.failure.seed == 3
    assert "factory" in result.failure.reproduction


def test_a_leaky_kernel_also_beats_the_converse():
    """Decoding from the originals gives D ≈ 0 < Γ(16): the converse check rejects it too."""
    result = _run("converse", LeakyKernel)
    assert result.verdict == FAIL and "beats the converse" in result.failure.message


@pytest.mark.parametrize("check", list(KERNEL_CHECKS))
def test_an_honest_kernel_with_a_rigorous_bound_passes_every_check(check):
    result = _run(check, Float16Kernel)
    assert result.verdict == PASS, result


def test_a_check_that_does_not_apply_is_skipped_not_passed():
    from quantmm.fast import ScalarMatmul

    result = KERNEL_CHECKS["claimed_guarantees"](
        KernelTarget("scalar", as_factory(ScalarMatmul(4, "lloyd_max")), ""), profile="quick"
    )
    assert result.verdict == SKIP


@pytest.mark.parametrize("target", builtin_targets()[0], ids=lambda target: target.name)
def test_every_builtin_kernel_passes_the_quick_profile(target):
    for name, check in KERNEL_CHECKS.items():
        result = check(target, profile="quick", seed=0)
        assert result.verdict in (PASS, SKIP), (name, result)
    assert KERNEL_CHECKS["converse"](target, profile="quick", seed=0).figures["gap_db"] > 0


def test_checks_are_reproducible_for_a_seed():
    target = builtin_targets()[0][0]
    first = KERNEL_CHECKS["converse"](target, profile="quick", seed=5)
    again = KERNEL_CHECKS["converse"](target, profile="quick", seed=5)
    assert first == again


def test_unknown_profile_is_refused():
    with pytest.raises(ValueError, match="profile must be"):
        KERNEL_CHECKS["converse"](_target(Float16Kernel), profile="paper")


@pytest.mark.parametrize(
    ("kernel_class", "check", "printed"),
    [
        (LeakyKernel, "rate_honesty", "False"),
        (AcceptsNaNKernel, "robustness", "accepted NaN entry"),
    ],
)
def test_the_printed_reproduction_runs_and_shows_the_failure(kernel_class, check, printed, capsys):
    """The reproduction in the failure record is real code: executed, it shows the failure."""
    import warnings

    reproduction = _run(check, kernel_class).failure.reproduction
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exec(compile(reproduction, "<reproduction>", "exec"), {})
    assert printed in capsys.readouterr().out
