"""`quantmm prove`: every certificate runs and proves in CI, and a failing one fails the command.

The first test is the CI run of all certificates: it calls the command exactly as a
user would and requires every certificate to be proved — none skipped, since the test extra
installs python-flint. The others show that the command's exit status follows the certificates:
a false claim, a crash, or a certificate that proves nothing exits 1; a missing arb is reported
as skipped, never as proved.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from quantmm.cli import main
from quantmm.proofs import runner
from quantmm.proofs.intervals import CertificateFailure, Fact


@pytest.fixture(scope="module")
def full_run():
    import contextlib
    import io

    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        status = main(["prove"])
    return status, output.getvalue()


def test_every_certificate_is_proved(full_run):
    status, output = full_run
    assert status == 0, output
    for certificate in runner.CERTIFICATES:
        assert f"PROVED   {certificate.name}:" in output, output
    assert "FAILED" not in output and "SKIPPED" not in output
    assert f"{len(runner.CERTIFICATES)} certificates proved" in output.splitlines()[-1]
    assert "0 failed" in output.splitlines()[-1]


def test_each_fact_is_printed_with_its_enclosure_width(full_run):
    _, output = full_run
    facts = [line for line in output.splitlines() if line.startswith("  ✓ ")]
    assert len(facts) >= 5 * len(runner.CERTIFICATES) // 2
    assert output.count("width") >= len(facts)


def test_the_installed_command_runs_a_certificate(tmp_path):
    # Run outside the source tree: there `quantmm/` (the front door alone) would shadow the
    # installed package, whose subpackages live in reference/, fast/, … of the checkout.
    completed = subprocess.run(
        [sys.executable, "-m", "quantmm", "prove", "critical_rate"],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert completed.returncode == 0, completed.stderr
    assert "PROVED   critical_rate" in completed.stdout
    assert "1 certificates proved" in completed.stdout


def _one_certificate(monkeypatch, prove):
    certificate = runner.Certificate("probe", "a test certificate", "README.md", prove)
    monkeypatch.setattr(runner, "CERTIFICATES", (certificate,))


def _false_claim():
    raise CertificateFailure("false: 1 < 0")


def _crash():
    raise ZeroDivisionError("division by zero")


def _missing_arb():
    raise runner.ArbUnavailable("this certificate needs python-flint (arb)")


@pytest.mark.parametrize(
    ("prove", "expected"),
    [(_false_claim, "false: 1 < 0"), (_crash, "ZeroDivisionError"), (list, "proved nothing")],
)
def test_a_failing_certificate_fails_the_command(monkeypatch, capsys, prove, expected):
    _one_certificate(monkeypatch, prove)
    assert main(["prove"]) == 1
    output = capsys.readouterr().out
    assert "FAILED   probe" in output and expected in output
    assert "0 certificates proved" in output and "1 failed" in output


def test_a_certificate_without_arb_is_skipped_not_proved(monkeypatch, capsys):
    _one_certificate(monkeypatch, _missing_arb)
    assert main(["prove"]) == 0
    output = capsys.readouterr().out
    assert "SKIPPED  probe" in output
    assert "0 certificates proved" in output and "1 skipped" in output


def test_a_proved_certificate_passes(monkeypatch, capsys):
    _one_certificate(monkeypatch, lambda: [Fact("0 < 1", "exact")])
    assert main(["prove"]) == 0
    assert "PROVED   probe" in capsys.readouterr().out


def test_unknown_certificate_names_are_bad_input(capsys):
    assert main(["prove", "no_such_certificate"]) == 2
    assert "unknown certificate 'no_such_certificate'" in capsys.readouterr().err


def test_list_names_every_certificate(capsys):
    assert main(["prove", "--list"]) == 0
    names = [line.split(":")[0] for line in capsys.readouterr().out.splitlines()]
    assert names == [certificate.name for certificate in runner.CERTIFICATES]
