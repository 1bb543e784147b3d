"""The pytest plugin (entry point pytest11 "quantmm"): the `quantmm_certify` fixture (issue #5).

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
