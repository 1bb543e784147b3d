"""A certificate as JUnit XML, so that CI services (GitHub, GitLab, Jenkins) show its checks as
tests: ``quantmm certify TARGET --junit-xml PATH``.

One ``<testsuite>`` per target and one ``<testcase>`` per check (classname: the target, name: the
check): a failing check is a ``<failure>`` whose message is the check's and whose text is its
seed, re-run command and reproduction; a check that does not apply is ``<skipped>`` with the
reason. A last suite, ``certificate``, has one case, ``verdict``, that fails unless the verdict is
"pass", so a partial run (``--check``) cannot show as all green.

>>> from quantmm.conformance.certificate import Certificate, TargetReport
>>> from quantmm.conformance.results import CheckResult, PASS
>>> report = TargetReport("K", "kernel", "m:K", [CheckResult("protocol", PASS, "ok", {}, {})])
>>> certificate = Certificate("quick", 3, "cpu", {}, {}, None, [report])
>>> print(junit_xml(certificate).splitlines()[1])
<testsuites name="quantmm certify" tests="2" failures="0" skipped="0">
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from typing import Any

from .results import FAIL, PASS, SKIP

__all__ = ["junit_xml"]


def _case(suite: ElementTree.Element, classname: str, name: str, seconds: float = 0.0):
    return ElementTree.SubElement(
        suite, "testcase", classname=classname, name=name, time=f"{seconds:.3f}"
    )


def junit_xml(certificate: Any) -> str:
    """The certificate's checks as a JUnit XML document (module docstring)."""
    root = ElementTree.Element("testsuites", name="quantmm certify")
    total = failures = skipped = 0
    for target in certificate.targets:
        suite = ElementTree.SubElement(root, "testsuite", name=target.name)
        properties = ElementTree.SubElement(suite, "properties")
        for key, value in (
            ("profile", certificate.profile),
            ("seed", certificate.seed),
            ("device", certificate.device),
            ("construction", target.construction),
        ):
            ElementTree.SubElement(properties, "property", name=key, value=str(value))
        for check in target.checks:
            case = _case(suite, target.name, check.name)
            if check.verdict == FAIL:
                failure = check.failure
                element = ElementTree.SubElement(case, "failure", message=failure.message)
                rerun = failure.example.get("rerun")
                element.text = "\n".join(
                    [
                        f"seed: {failure.seed}",
                        *([f"re-run: {rerun}"] if rerun else []),
                        "reproduction (Python):",
                        failure.reproduction,
                    ]
                )
            elif check.verdict == SKIP:
                ElementTree.SubElement(case, "skipped", message=check.summary)
            else:
                ElementTree.SubElement(case, "system-out").text = check.summary
        counts = [check.verdict for check in target.checks]
        suite.set("tests", str(len(counts)))
        suite.set("failures", str(counts.count(FAIL)))
        suite.set("skipped", str(counts.count(SKIP)))
        total += len(counts)
        failures += counts.count(FAIL)
        skipped += counts.count(SKIP)
    suite = ElementTree.SubElement(
        root, "testsuite", name="certificate", tests="1", failures="0", skipped="0"
    )
    case = _case(suite, "certificate", "verdict")
    if certificate.verdict != PASS:
        why = (
            "the run was restricted to some checks (partial): it certifies nothing"
            if certificate.verdict == "partial"
            else f"{len(certificate.failures)} check(s) failed"
        )
        ElementTree.SubElement(case, "failure", message=f"verdict {certificate.verdict}: {why}")
        suite.set("failures", "1")
        failures += 1
    total += 1
    root.set("tests", str(total))
    root.set("failures", str(failures))
    root.set("skipped", str(skipped))
    ElementTree.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ElementTree.tostring(
        root, encoding="unicode"
    )
