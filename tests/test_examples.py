"""The files in examples/ stay valid as quantmm changes: the CI recipes of examples/ci/ are YAML
whose quantmm commands quantmm's own command line accepts, and one of them, run for real on an
honest kernel of tests/broken_kernels.py, writes the files the recipe uploads. (The PyTorch
example is certified in tests/test_array_libraries.py.)"""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from quantmm.cli import _parse

CI = Path(__file__).parents[1] / "examples" / "ci"
RECIPES = ("github-workflow.yml", "gitlab-ci.yml", "pre-commit-config.yaml")
KERNELS = Path(__file__).with_name("broken_kernels.py")


COMMAND_KEYS = ("run", "script", "entry")  # GitHub steps, GitLab jobs, pre-commit hooks


def _commands_in(value, key=None):
    """Every string under a command key (a step's run, a job's script, a hook's entry)."""
    if isinstance(value, dict):
        for name, item in value.items():
            yield from _commands_in(item, name)
    elif isinstance(value, list):
        for item in value:
            yield from _commands_in(item, key)
    elif isinstance(value, str) and key in COMMAND_KEYS:
        yield value


def _commands(name: str) -> list[list[str]]:
    yaml = pytest.importorskip("yaml", reason="PyYAML is not installed (it comes with dask)")
    document = yaml.safe_load((CI / name).read_text())
    return [
        shlex.split(text)[1:]
        for text in _commands_in(document)
        if text.strip().startswith("quantmm ")
    ]


@pytest.mark.parametrize("name", RECIPES)
def test_every_quantmm_command_in_a_recipe_parses(name):
    commands = _commands(name)
    assert commands, f"{name} runs no quantmm command"
    for command in commands:
        parsed = _parse(command)  # argparse exits (SystemExit) on an unknown option
        assert parsed.command == "certify" and parsed.target


def test_the_github_recipe_writes_what_it_uploads(tmp_path):
    """The workflow's command, with its target replaced by an honest kernel and restricted to
    one check (the rest is certified elsewhere), writes the certificate and the JUnit XML."""
    (command,) = _commands("github-workflow.yml")
    command[1] = f"{KERNELS}:Float16Kernel"
    completed = subprocess.run(
        [sys.executable, "-m", "quantmm", *command, "--check", "protocol", "--seed", "1"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 4, completed.stderr  # partial: one check
    assert (tmp_path / "certificate.json").is_file() and (tmp_path / "quantmm-junit.xml").is_file()
