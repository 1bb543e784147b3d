"""A pytest plugin: run quantmm's conformance checks on your kernel inside your own test suite.

Installed with quantmm (entry point ``pytest11``: ``quantmm``), it provides the fixture
``quantmm_certify``. Call it with your kernel, or a factory ``f(seed=..., device=...)``; it runs
the kernel checks of :mod:`quantmm.conformance.kernel_checks` and fails the test with the full
report (every failing check's message, seed and reproduction) if any check fails. It returns the
:class:`~quantmm.conformance.certificate.Certificate`, so a test can also write it out.

Example, in a user's ``test_my_kernel.py``::

    from my_package import MyKernel

    def test_my_kernel_conforms(quantmm_certify, tmp_path):
        certificate = quantmm_certify(lambda seed, device="cpu": MyKernel(seed=seed))
        certificate.write(tmp_path / "certificate.json")

Keyword arguments: ``profile`` ("quick" or "full"), ``seed``, ``device``, ``checks`` (names of
kernel checks to run) and ``name`` (how the target is called in the report).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pytest

__all__ = ["quantmm_certify"]


@pytest.fixture
def quantmm_certify() -> Callable[..., Any]:
    """The function ``certify(target, *, profile, seed, device, checks, name)`` (see the
    module docstring)."""
    from .certificate import Certificate
    from .harness import certify
    from .targets import KernelTarget, as_factory

    def run(
        target: Any,
        *,
        profile: str = "quick",
        seed: int = 0,
        device: str = "cpu",
        checks: Sequence[str] | None = None,
        name: str | None = None,
    ) -> Certificate:
        label = name or getattr(target, "__qualname__", type(target).__name__)
        kernel = KernelTarget(
            label,
            as_factory(target),
            f"factory = ...  # the target passed to quantmm_certify ({label})",
        )
        certificate = certify(
            [kernel], profile=profile, seed=seed, device=device, checks=checks, progress=None
        )
        if certificate.verdict != "pass":
            pytest.fail(certificate.report(), pytrace=False)
        return certificate

    return run
