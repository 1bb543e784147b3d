"""Run the certificates and report what each proved (``quantmm prove``).

A certificate is a function that returns the :class:`~quantmm.proofs.intervals.Fact` s it proved
and raises :class:`~quantmm.proofs.intervals.CertificateFailure` on the first claim it cannot
establish. :data:`CERTIFICATES` lists them all with the derivation each one checks; :func:`run`
runs some or all of them and :func:`report` prints the outcome with every enclosure width.

A certificate that needs python-flint (arb ball arithmetic) raises :class:`ArbUnavailable` when it
is not installed; it is reported as skipped, never as proved.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from .intervals import CertificateFailure, Fact

__all__ = [
    "CERTIFICATES",
    "ArbUnavailable",
    "Certificate",
    "CertificateResult",
    "certificate_names",
    "report",
    "run",
]

PROVED = "proved"
FAILED = "failed"
SKIPPED = "skipped"


class ArbUnavailable(RuntimeError):  # noqa: N818 (a missing optional backend)
    """python-flint (arb) is not installed; install ``quantmm[proofs]``."""


@dataclass(frozen=True)
class Certificate:
    """One certificate: its name, what it proves, the derivation it checks, and its function."""

    name: str
    title: str
    derivation: str  # a file in proofs/ (installed with quantmm.proofs)
    prove: Callable[[], list[Fact]]


@dataclass(frozen=True)
class CertificateResult:
    """The outcome of one certificate: the facts proved, or why it failed or was skipped."""

    name: str
    title: str
    derivation: str
    verdict: str
    facts: tuple[Fact, ...] = ()
    message: str = ""
    seconds: float = 0.0
    detail: str = field(default="", repr=False)  # a traceback for an unexpected error


def _certificates() -> tuple[Certificate, ...]:
    from . import (
        converse_certificate,
        critical_rate_certificate,
        distortion_rate_certificate,
        scalar_certificate,
        second_moment_certificate,
    )

    modules = (
        critical_rate_certificate,
        distortion_rate_certificate,
        converse_certificate,
        scalar_certificate,
        second_moment_certificate,
    )
    return tuple(certificate for module in modules for certificate in module.CERTIFICATES)


CERTIFICATES: tuple[Certificate, ...] = _certificates()


def certificate_names() -> tuple[str, ...]:
    """The names ``quantmm prove`` accepts, in the order it runs them."""
    return tuple(certificate.name for certificate in CERTIFICATES)


def _run_one(certificate: Certificate) -> CertificateResult:
    start = time.perf_counter()
    common = (certificate.name, certificate.title, certificate.derivation)
    try:
        facts = tuple(certificate.prove())
    except CertificateFailure as failure:
        return CertificateResult(
            *common, FAILED, message=str(failure), seconds=time.perf_counter() - start
        )
    except ArbUnavailable as missing:
        return CertificateResult(
            *common, SKIPPED, message=str(missing), seconds=time.perf_counter() - start
        )
    except Exception as error:  # a crash is a failed certificate, with its traceback
        return CertificateResult(
            *common,
            FAILED,
            message=f"{type(error).__name__}: {error}",
            seconds=time.perf_counter() - start,
            detail=traceback.format_exc(),
        )
    if not facts:
        return CertificateResult(
            *common, FAILED, message="the certificate proved nothing", seconds=0.0
        )
    return CertificateResult(*common, PROVED, facts, seconds=time.perf_counter() - start)


def run(
    names: Sequence[str] | None = None,
    progress: Callable[[CertificateResult], None] | None = None,
) -> list[CertificateResult]:
    """Run the named certificates (all when ``names`` is empty or None), in registry order."""
    known = certificate_names()
    unknown = [name for name in names or () if name not in known]
    if unknown:
        raise ValueError(f"unknown certificate {unknown[0]!r}; expected one of: {', '.join(known)}")
    chosen = [c for c in CERTIFICATES if not names or c.name in names]
    results = []
    for certificate in chosen:
        result = _run_one(certificate)
        results.append(result)
        if progress is not None:
            progress(result)
    return results


def format_result(result: CertificateResult) -> str:
    """One certificate's block of the report: verdict, title, derivation, and each fact."""
    lines = [
        f"{result.verdict.upper():8} {result.name}: {result.title} "
        f"({result.seconds:.1f} s; derivation proofs/{result.derivation})"
    ]
    lines += [f"  ✓ {fact.statement}\n      {fact.evidence}" for fact in result.facts]
    if result.message:
        lines.append(f"  ✗ {result.message}")
    if result.detail:
        lines.append(result.detail.rstrip())
    return "\n".join(lines)


def report(results: Sequence[CertificateResult]) -> str:
    """The summary line that closes ``quantmm prove``'s output."""
    counts = {verdict: sum(r.verdict == verdict for r in results) for verdict in (PROVED, FAILED)}
    skipped = [r.name for r in results if r.verdict == SKIPPED]
    facts = sum(len(r.facts) for r in results)
    line = f"{counts[PROVED]} certificates proved ({facts} facts), {counts[FAILED]} failed"
    if skipped:
        line += (
            f", {len(skipped)} skipped for want of python-flint ({', '.join(skipped)}); "
            "install quantmm[proofs] to run them"
        )
    return line
