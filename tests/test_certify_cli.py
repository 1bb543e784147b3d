"""`quantmm certify` and `quantmm verify`: exit status, report, certificate file, stability.

The targets are the honest and broken kernels of tests/broken_kernels.py and
tests/dishonest_kernels.py, loaded by file path as a user would
(`quantmm certify path/to/file.py:Factory`).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from quantmm.cli import main
from quantmm.conformance.certificate import SCHEMA, Certificate
from quantmm.conformance.kernel_checks import KERNEL_CHECKS

KERNELS = Path(__file__).with_name("broken_kernels.py")
CHEATING = Path(__file__).with_name("dishonest_kernels.py")


@pytest.fixture(scope="module")
def honest_certificate(tmp_path_factory):
    """`quantmm certify broken_kernels.py:Float16Kernel --seed 4 --output ...` run once."""
    output = tmp_path_factory.mktemp("honest") / "certificate.json"
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "quantmm",
            "certify",
            f"{KERNELS}:Float16Kernel",
            "--seed",
            "4",
            "--output",
            str(output),
        ],
        capture_output=True,
        text=True,
        cwd=output.parent,
        timeout=600,
    )
    return completed, output


def test_an_honest_kernel_is_certified_and_the_certificate_is_written(honest_certificate):
    completed, output = honest_certificate
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "PASS" in completed.stdout and "rate_honesty" in completed.stdout
    assert f"[1/{len(KERNEL_CHECKS)}]" in completed.stderr  # progress, one line per check
    document = json.loads(output.read_text())
    assert document["schema"] == SCHEMA and document["verdict"] == "pass" and document["seed"] == 4
    assert [check["name"] for check in document["targets"][0]["checks"]] == list(KERNEL_CHECKS)
    assert document["reference_data"] is not None
    assert document["isolation"]["sandbox"] in ("namespaces", "process")
    sources = document["targets"][0]["sources"]
    assert str(KERNELS.resolve()) in sources and len(sources[str(KERNELS.resolve())]) == 64
    assert document["command"]["target"].endswith("broken_kernels.py:Float16Kernel")
    assert Certificate.read(output).to_json() == document


def test_verify_reproduces_an_untouched_certificate(honest_certificate, capsys):
    _, output = honest_certificate
    assert main(["verify", str(output)]) == 0
    assert "reproduces every field" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("edit", "reported"),
    [
        ("figure", "targets[0].checks[6].figures.distortion"),
        ("name", "targets[0].name"),
        ("verdicts", "targets[0].checks[3].verdict"),
    ],
)
def test_verify_reports_every_edited_field(honest_certificate, tmp_path, capsys, edit, reported):
    _, output = honest_certificate
    document = json.loads(output.read_text())
    target = document["targets"][0]
    if edit == "figure":
        target["checks"][6]["figures"]["distortion"] *= 0.5
    elif edit == "name":
        target["name"] = "SomeoneElsesKernel"
    else:  # a failing check edited to pass, together with the overall verdict: consistent
        target["checks"][3]["verdict"] = "skip"
        document["skipped"] = [{"target": target["name"], "check": "determinism", "why": "-"}]
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(document))
    assert main(["verify", str(edited)]) == 1
    printed = capsys.readouterr().out
    assert f"differs: {reported}" in printed and "NOT reproduced" in printed


def test_verify_says_when_the_kernel_source_changed(tmp_path, capsys):
    kernel = tmp_path / "my_kernel.py"
    shutil.copy(KERNELS, tmp_path / "broken_kernels.py")
    kernel.write_text("from broken_kernels import Float16Kernel as Kernel  # noqa: F401\n")
    output = tmp_path / "certificate.json"
    command = ["certify", f"{kernel}:Kernel", "--seed", "2", "--check", "determinism"]
    assert main([*command, "--output", str(output)]) == 4  # partial: restricted by --check
    kernel.write_text(kernel.read_text() + "# an edit after certification\n")
    assert main(["verify", str(output)]) == 1
    printed = capsys.readouterr().out
    assert f"source: {kernel.resolve()}" in printed and "source changed" in printed


def test_a_broken_kernel_fails_with_its_reproduction(tmp_path, capsys):
    output, junit = tmp_path / "certificate.json", tmp_path / "junit.xml"
    arguments = ["certify", f"{KERNELS}:LeakyKernel", "--output", str(output), "--seed", "0"]
    status = main([*arguments, "--junit-xml", str(junit)])
    printed = capsys.readouterr().out
    assert status == 1
    assert "FAILED" in printed and "reproduction (Python):" in printed and "seed: 0" in printed
    assert "re-run: quantmm certify" in printed
    document = json.loads(output.read_text())
    failure = next(c for c in document["targets"][0]["checks"] if c["verdict"] == "fail")
    assert failure["failure"]["seed"] == 0 and "estimate" in failure["failure"]["reproduction"]
    _assert_junit_matches(junit, document)


def _assert_junit_matches(junit: Path, document: dict) -> None:
    """The JUnit XML holds one case per target and check, with the certificate's verdicts and
    failure messages (the JSON certificate of the same run is the independent record), and a
    last case that fails unless the verdict is pass."""
    import xml.etree.ElementTree as ElementTree

    root = ElementTree.parse(junit).getroot()
    cases = {(case.get("classname"), case.get("name")): case for case in root.iter("testcase")}
    expected = {
        (target["name"], check["name"]): check
        for target in document["targets"]
        for check in target["checks"]
    }
    assert set(cases) == set(expected) | {("certificate", "verdict")}
    for key, check in expected.items():
        failure, skipped = cases[key].find("failure"), cases[key].find("skipped")
        assert (failure is not None) == (check["verdict"] == "fail"), key
        assert (skipped is not None) == (check["verdict"] == "skip"), key
        if failure is not None:
            assert failure.get("message") == check["failure"]["message"]
            assert check["failure"]["reproduction"] in failure.text
    verdict_failed = cases[("certificate", "verdict")].find("failure") is not None
    assert verdict_failed == (document["verdict"] != "pass")
    verdicts = [check["verdict"] for check in expected.values()]
    assert int(root.get("tests")) == len(verdicts) + 1
    assert int(root.get("failures")) == verdicts.count("fail") + verdict_failed
    assert int(root.get("skipped")) == verdicts.count("skip")


def test_a_restricted_run_is_partial_never_pass(tmp_path, capsys):
    output = tmp_path / "certificate.json"
    status = main(
        [
            "certify",
            f"{KERNELS}:Float16Kernel",
            "--check",
            "converse",
            "--seed",
            "1",
            "--output",
            str(output),
            "--junit-xml",
            str(tmp_path / "junit.xml"),
        ]
    )
    assert status == 4
    document = json.loads(output.read_text())
    assert document["verdict"] == "partial"
    _assert_junit_matches(tmp_path / "junit.xml", document)  # partial: the verdict case fails
    assert "PARTIAL" in capsys.readouterr().out
    assert [check["name"] for check in document["targets"][0]["checks"]] == [
        "protocol",
        "converse",
    ]


def test_certificates_are_stable_for_a_fixed_seed(tmp_path, capsys):
    paths = [tmp_path / "first.json", tmp_path / "second.json"]
    for path in paths:
        arguments = ["certify", f"{KERNELS}:Float16Kernel", "--seed", "9", "--output", str(path)]
        assert main([*arguments, "--check", "converse", "--check", "determinism"]) == 4
    capsys.readouterr()
    assert paths[0].read_bytes() == paths[1].read_bytes()


def test_without_a_seed_the_shapes_are_drawn_per_run(tmp_path, capsys):
    documents = []
    for index in range(2):
        path = tmp_path / f"run{index}.json"
        main(["certify", f"{KERNELS}:Float16Kernel", "--check", "protocol", "--output", str(path)])
        documents.append(json.loads(path.read_text()))
    capsys.readouterr()
    assert all(document["seed_drawn"] for document in documents)
    assert documents[0]["seed"] != documents[1]["seed"]
    assert documents[0]["plan"]["converse_shape"] != documents[1]["plan"]["converse_shape"]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ([], "either a TARGET"),
        (["--builtin", "x:y"], "either a TARGET"),
        (["no_such_module_here:thing"], "name it as path/to/file.py:Class"),
        ([f"{KERNELS}:NoSuchKernel"], "has no attribute"),
        (["justtext"], "module:attribute"),
        ([f"{KERNELS}:Float16Kernel", "--check", "telepathy"], "unknown checks"),
        ([f"{KERNELS}:Float16Kernel", "--seed", "-1"], "--seed must be"),
        ([f"{KERNELS}:Float16Kernel", "--timeout", "0"], "timeout must be"),
        ([f"{KERNELS}:Float16Kernel", "--output", "/no/such/folder/c.json"], "does not exist"),
        ([f"{KERNELS}:Float16Kernel", "--output", "/"], "is a directory"),
        ([f"{KERNELS}:Float16Kernel", "--junit-xml", "/no/such/folder/j.xml"], "does not exist"),
        ([f"{CHEATING}:MissingEstimate"], "lacks estimate"),
    ],
)
def test_bad_usage_exits_2_with_one_line(arguments, message, capsys):
    assert main(["certify", *arguments]) == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith("quantmm: error:") and message in error, error


def test_verify_refuses_what_is_not_a_certificate(tmp_path, capsys):
    path = tmp_path / "list.json"
    path.write_text("[]")
    assert main(["verify", str(path)]) == 2
    assert "is not a quantmm-certificate/2 certificate" in capsys.readouterr().err


def test_json_prints_the_certificate_that_output_writes(tmp_path, capsys):
    """stdout is one JSON document, byte for byte the file --output writes (plus a newline)."""
    output = tmp_path / "certificate.json"
    arguments = ["certify", f"{KERNELS}:Float16Kernel", "--check", "protocol", "--seed", "3"]
    assert main([*arguments, "--json", "--output", str(output)]) == 4
    captured = capsys.readouterr()
    assert json.loads(captured.out)["verdict"] == "partial"
    assert captured.out == output.read_text(encoding="utf-8")
    assert f"certificate written to {output}" in captured.err
