"""A pytest plugin: run quantmm's conformance checks on your kernel inside your own test suite.

Installed with quantmm (entry point ``pytest11``: ``quantmm``), it provides the fixture
``quantmm_certify``. Call it with your kernel class or factory (a module-level class or function
``f(seed=..., device=...)``, or a module-level kernel object, or a target string
``"module:attribute"`` / ``"path/to/file.py:attribute"``); it runs the kernel checks of
:mod:`quantmm.conformance.kernel_checks` in isolated processes, exactly as ``quantmm certify``
does, and fails the test with the full report (every failing check's message, seed and
reproduction) unless the certificate's verdict is "pass". It returns the
:class:`~quantmm.conformance.certificate.Certificate`, so a test can also write it out.

Example, in a user's ``test_my_kernel.py``::

    from my_package import MyKernel

    def test_my_kernel_conforms(quantmm_certify, tmp_path):
        certificate = quantmm_certify(MyKernel, arguments={"bits": 4})
        certificate.write(tmp_path / "certificate.json")

Keyword arguments: ``arguments`` (keyword arguments of the factory, JSON values), ``profile``
("quick" or "full"), ``seed`` (default: drawn at random and recorded), ``device``, ``checks``
(names of kernel checks to run; a restricted run is "partial" and fails the test unless
``allow_partial=True``), ``timeout`` and ``name`` (how the target is called in the report).
The kernel's module is imported by the worker processes, never by the harness; since your test
module imported it already, a module that patches quantmm on import is outside what the fixture
can rule out (``quantmm certify`` on the command line never imports it).
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
    from .targets import as_target

    def run(
        target: Any,
        *,
        arguments: dict[str, Any] | None = None,
        profile: str = "quick",
        seed: int | None = None,
        device: str = "cpu",
        checks: Sequence[str] | None = None,
        timeout: float = 60.0,
        name: str | None = None,
        allow_partial: bool = False,
    ) -> Certificate:
        kernel = as_target(target, arguments=arguments, name=name)
        certificate = certify(
            [kernel],
            profile=profile,
            seed=seed,
            device=device,
            checks=checks,
            timeout=timeout,
            progress=None,
            command={
                "builtin": False,
                "target": kernel.target,
                "arguments": kernel.arguments,
                "checks": None if checks is None else list(checks),
            },
        )
        if certificate.verdict != "pass" and not (
            allow_partial and certificate.verdict == "partial"
        ):
            pytest.fail(certificate.report(), pytrace=False)
        return certificate

    return run
