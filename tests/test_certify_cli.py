"""`quantmm certify`: exit status, report, certificate file, stability (issue #5).

The targets are the honest and broken kernels of tests/broken_kernels.py, loaded by file path as a
user would (`quantmm certify path/to/file.py:Factory`).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from quantmm.cli import main
from quantmm.conformance.certificate import SCHEMA, Certificate

KERNELS = Path(__file__).with_name("broken_kernels.py")


def test_an_honest_kernel_is_certified_and_the_certificate_is_written(tmp_path, capsys):
    output = tmp_path / "certificate.json"
    status = main(["certify", f"{KERNELS}:Float16Kernel", "--seed", "4", "--output", str(output)])
    printed = capsys.readouterr()
    assert status == 0, printed.out
    assert "PASS" in printed.out and "rate_honesty" in printed.out
    assert "[1/5]" in printed.err  # progress, one line per check
    document = json.loads(output.read_text())
    assert document["schema"] == SCHEMA and document["verdict"] == "pass" and document["seed"] == 4
    assert {check["name"] for check in document["targets"][0]["checks"]} == {
        "rate_honesty",
        "determinism",
        "robustness",
        "converse",
        "claimed_guarantees",
    }
    assert Certificate.read(output).to_json() == document


def test_a_broken_kernel_fails_with_its_reproduction(tmp_path, capsys):
    output = tmp_path / "certificate.json"
    status = main(
        ["certify", f"{KERNELS}:LeakyKernel", "--output", str(output), "--check", "rate_honesty"]
    )
    printed = capsys.readouterr().out
    assert status == 1
    assert "FAILED" in printed and "reproduction:" in printed and "seed: 0" in printed
    failure = json.loads(output.read_text())["targets"][0]["checks"][0]["failure"]
    assert failure["seed"] == 0 and "estimate" in failure["reproduction"]


def test_certificates_are_stable_for_a_fixed_seed(tmp_path, capsys):
    paths = [tmp_path / "first.json", tmp_path / "second.json"]
    for path in paths:
        assert (
            main(
                [
                    "certify",
                    f"{KERNELS}:Float16Kernel",
                    "--seed",
                    "9",
                    "--output",
                    str(path),
                    "--check",
                    "converse",
                    "--check",
                    "determinism",
                ]
            )
            == 0
        )
    capsys.readouterr()
    assert paths[0].read_bytes() == paths[1].read_bytes()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ([], "either a TARGET"),
        (["--builtin", "x:y"], "either a TARGET"),
        (["no_such_module_here:thing"], "cannot import module"),
        ([f"{KERNELS}:NoSuchKernel"], "has no attribute"),
        (["justtext"], "module:attribute"),
        ([f"{KERNELS}:Float16Kernel", "--check", "telepathy"], "unknown checks"),
        ([f"{KERNELS}:Float16Kernel", "--seed", "-1"], "--seed must be"),
    ],
)
def test_bad_usage_exits_2_with_one_line(arguments, message, capsys):
    assert main(["certify", *arguments]) == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith("quantmm: error:") and message in error
