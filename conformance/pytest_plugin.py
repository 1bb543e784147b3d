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
("quick" or "full"), ``seed`` (default: drawn at random and recorded), ``device``, ``array``
(the library the kernel is handed its matrices in: "numpy", "torch", "jax" or "cupy"; default:
the kernel's ``array_library`` declaration, else NumPy), ``python`` (the interpreter of the
environment the kernel's packages live in, if not this one: PyTorch cannot be installed next to
quantmm, so a PyTorch kernel is named by a target string and runs there), ``checks`` (names of
kernel checks to run; a restricted run is "partial" and fails the test unless
``allow_partial=True``), ``timeout`` and ``name`` (how the target is called in the report).

Or mark a test, and the plugin certifies the target before the test runs (the test fails with
the report unless the verdict is "pass"); the ``quantmm_certificate`` fixture hands the test
the certificate::

    import pytest

    @pytest.mark.quantmm_certify("my_package:MyKernel", arguments={"bits": 4})
    def test_my_kernel_conforms(quantmm_certificate):
        assert quantmm_certificate.profile in ("quick", "full")

Command-line options: ``pytest --quantmm-profile full`` runs every certification of the session
with the full profile (the default is quick), and ``--quantmm-seed N`` with run seed N (to
reproduce a failure a report printed); a ``profile=`` or ``seed=`` given in the test wins.

The kernel's module is imported by the worker processes, never by the harness; since your test
module imported it already, a module that patches quantmm on import is outside what the fixture
can rule out (``quantmm certify`` on the command line never imports it).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pytest

__all__ = ["quantmm_certificate", "quantmm_certify"]

PROFILE_OPTION, SEED_OPTION = "--quantmm-profile", "--quantmm-seed"
MARKER = "quantmm_certify"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("quantmm", "quantmm conformance certification")
    group.addoption(
        PROFILE_OPTION,
        choices=("quick", "full"),
        default=None,
        help="profile of every certification in the session (default: quick; a profile= in "
        "the test wins)",
    )
    group.addoption(
        SEED_OPTION,
        type=int,
        default=None,
        help="run seed of every certification (default: drawn at random and recorded; a "
        "seed= in the test wins)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(target, **options): certify the target (a kernel class, factory, object or "
        "'module:attribute') before the test runs, with the options of the quantmm_certify "
        "fixture; the quantmm_certificate fixture gives the test the certificate",
    )


def _certified(
    config: pytest.Config,
    target: Any,
    *,
    arguments: dict[str, Any] | None = None,
    profile: str | None = None,
    seed: int | None = None,
    device: str = "cpu",
    array: str | None = None,
    python: str | None = None,
    checks: Sequence[str] | None = None,
    timeout: float = 60.0,
    name: str | None = None,
) -> Any:
    """The certificate of ``target``, with the session's command-line defaults."""
    from .harness import certify
    from .targets import as_target

    kernel = as_target(target, arguments=arguments, name=name, array=array, python=python)
    return certify(
        [kernel],
        profile=profile or config.getoption(PROFILE_OPTION) or "quick",
        seed=config.getoption(SEED_OPTION) if seed is None else seed,
        device=device,
        checks=checks,
        timeout=timeout,
        progress=None,
        command={
            "builtin": False,
            "target": kernel.target,
            "arguments": kernel.arguments,
            "checks": None if checks is None else list(checks),
            "array": array,
            "python": kernel.python,
        },
    )


def _fail_unless_passed(certificate: Any, allow_partial: bool) -> None:
    if certificate.verdict != "pass" and not (allow_partial and certificate.verdict == "partial"):
        pytest.fail(certificate.report(), pytrace=False)


@pytest.fixture
def quantmm_certify(request: pytest.FixtureRequest) -> Callable[..., Any]:
    """The function ``certify(target, *, arguments, profile, seed, device, array, python,
    checks, timeout, name, allow_partial)`` (see the module docstring): it returns the
    certificate and fails the test unless the verdict is "pass"."""

    def run(target: Any, *, allow_partial: bool = False, **options: Any) -> Any:
        certificate = _certified(request.config, target, **options)
        _fail_unless_passed(certificate, allow_partial)
        return certificate

    return run


_CERTIFICATE = pytest.StashKey[Any]()


def _marked_certificate(item: pytest.Item) -> Any:
    """The certificate of the target the item's marker names (certified once per test)."""
    if _CERTIFICATE not in item.stash:
        marker = item.get_closest_marker(MARKER)
        if marker is None:
            raise pytest.UsageError(
                f"{item.nodeid}: the quantmm_certificate fixture needs a "
                f"@pytest.mark.{MARKER}(target, ...) marker on the test"
            )
        if len(marker.args) != 1:
            raise pytest.UsageError(
                f"{item.nodeid}: @pytest.mark.{MARKER} takes one target (a kernel class, "
                f"factory, object or 'module:attribute'), got {len(marker.args)} positional "
                "arguments"
            )
        options = {key: value for key, value in marker.kwargs.items() if key != "allow_partial"}
        item.stash[_CERTIFICATE] = _certified(item.config, marker.args[0], **options)
    return item.stash[_CERTIFICATE]


@pytest.fixture
def quantmm_certificate(request: pytest.FixtureRequest) -> Any:
    """The certificate of the target named by the test's ``quantmm_certify`` marker."""
    return _marked_certificate(request.node)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_call(item: pytest.Item) -> None:
    """A marked test fails with the report, before its body runs, unless the verdict is
    "pass" (or "partial" with ``allow_partial=True``)."""
    marker = item.get_closest_marker(MARKER)
    if marker is not None:
        _fail_unless_passed(_marked_certificate(item), marker.kwargs.get("allow_partial", False))
