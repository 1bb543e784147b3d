"""The pytest plugin (entry point pytest11 "quantmm"): the `quantmm_certify` fixture, the
`quantmm_certify` marker and the `--quantmm-profile` / `--quantmm-seed` options.

Runs a small user test suite in a subprocess pytest (pytester), as a user's CI would, against an
honest kernel and a broken one from tests/broken_kernels.py.
"""

from __future__ import annotations

from pathlib import Path

pytest_plugins = ["pytester"]

KERNELS = Path(__file__).with_name("broken_kernels.py")


def test_the_fixture_passes_an_honest_kernel_and_fails_a_broken_one(pytester):
    pytester.makepyfile(broken_kernels=KERNELS.read_text())
    pytester.makepyfile(
        test_user_kernels="""
        from broken_kernels import Float16Kernel, LeakyKernel

        def test_honest(quantmm_certify, tmp_path):
            certificate = quantmm_certify(Float16Kernel, seed=5)
            certificate.write(tmp_path / "certificate.json")
            assert certificate.verdict == "pass"

        def test_leaky(quantmm_certify):
            quantmm_certify(LeakyKernel, seed=11)

        def test_partial_is_not_a_pass(quantmm_certify):
            quantmm_certify(Float16Kernel, checks=["converse"], seed=5)

        def test_partial_when_allowed(quantmm_certify):
            certificate = quantmm_certify(Float16Kernel, checks=["converse"], seed=5,
                                          allow_partial=True)
            assert certificate.verdict == "partial"

        def test_a_lambda_is_refused_with_advice(quantmm_certify):
            quantmm_certify(lambda seed=0: Float16Kernel(seed))
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-o", "addopts=")
    result.assert_outcomes(passed=2, failed=3)
    output = result.stdout.str()
    assert "FAILED LeakyKernel / output_contract" in output
    assert "seed: 11" in output and "reproduction (Python):" in output
    assert "PARTIAL: the run was restricted" in output
    assert "not a lambda, closure or local object" in output


def test_the_marker_certifies_before_the_body_and_the_options_set_the_defaults(pytester):
    pytester.makepyfile(broken_kernels=KERNELS.read_text())
    pytester.makepyfile(
        test_marked="""
        import pytest
        from broken_kernels import Float16Kernel, LeakyKernel

        BODIES = []

        @pytest.mark.quantmm_certify(Float16Kernel, checks=["protocol"], allow_partial=True)
        def test_marked_honest(quantmm_certificate):
            BODIES.append("honest")
            assert quantmm_certificate.profile == "full"  # from --quantmm-profile
            assert quantmm_certificate.seed == 17  # from --quantmm-seed
            assert quantmm_certificate.verdict == "partial"

        @pytest.mark.quantmm_certify("broken_kernels:LeakyKernel", seed=11, profile="quick")
        def test_marked_leaky():
            BODIES.append("leaky")  # never reached: the certification fails first

        def test_explicit_arguments_win(quantmm_certify):
            certificate = quantmm_certify(Float16Kernel, profile="quick", seed=5,
                                          checks=["protocol"], allow_partial=True)
            assert (certificate.profile, certificate.seed) == ("quick", 5)

        def test_bodies_that_ran():
            assert BODIES == ["honest"]

        def test_the_certificate_fixture_needs_the_marker(quantmm_certificate):
            pass
        """
    )
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-o", "addopts=", "--quantmm-profile", "full",
        "--quantmm-seed", "17", "-p", "no:randomly",
    )  # fmt: skip
    result.assert_outcomes(passed=3, failed=1, errors=1)
    output = result.stdout.str()
    assert "FAILED broken_kernels:LeakyKernel / output_contract" in output
    assert "seed: 11" in output
    assert "needs a @pytest.mark.quantmm_certify(target, ...) marker" in output
    help_text = pytester.runpytest_subprocess("--help").stdout.str()
    assert "--quantmm-profile={quick,full}" in help_text and "--quantmm-seed" in help_text
