"""Every example in README.md and the documentation pages (docs/*.md) is real: console sessions
are run through the installed console script, Python sessions through doctest (one session per
page)."""

from __future__ import annotations

import doctest
import re
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").glob("*.md"))]
CONSOLE_SCRIPT = Path(sys.executable).parent / "quantmm"


def _blocks(language: str, pages: list[Path] = PAGES) -> list[str]:
    text = "\n".join(page.read_text(encoding="utf-8") for page in pages)
    return re.findall(rf"^```{language}\n(.*?)^```", text, flags=re.DOTALL | re.MULTILINE)


def _console_examples() -> list[tuple[str, str]]:
    """(command, expected output) pairs from the ```console blocks."""
    examples = []
    for block in _blocks("console"):
        command, output = None, []
        for line in block.splitlines():
            if line.startswith("$ "):
                if command is not None:
                    examples.append((command, "\n".join(output)))
                command, output = line[2:], []
            else:
                output.append(line)
        if command is not None:
            examples.append((command, "\n".join(output)))
    return examples


def test_the_readme_has_examples():
    assert len(_console_examples()) >= 10
    assert len(_blocks("pycon")) >= 3


@pytest.mark.parametrize(("command", "expected"), _console_examples(), ids=lambda x: x[:60])
def test_console_example_prints_what_the_readme_shows(command, expected):
    if not CONSOLE_SCRIPT.exists():
        pytest.skip(f"the quantmm console script is not installed next to {sys.executable}")
    arguments = shlex.split(command)
    assert arguments[0] == "quantmm", f"README console examples run quantmm, not {arguments[0]}"
    result = subprocess.run(
        [str(CONSOLE_SCRIPT), *arguments[1:]],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tempfile.gettempdir(),
    )
    assert (result.stdout + result.stderr).rstrip("\n") == expected


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_python_examples_run_as_shown(page):
    # A page's blocks form one session, as a reader would type them, so they share their names.
    names: dict[str, object] = {}
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    for index, block in enumerate(_blocks("pycon", [page])):
        test = doctest.DocTestParser().get_doctest(
            block, names, f"{page.name}-pycon-{index}", None, 0
        )
        runner.run(test, clear_globs=False)
        names = test.globs
    assert runner.failures == 0, f"a Python example on {page.name} does not print what it shows"


def test_the_minimal_kernel_in_the_readme_is_certified_as_it_says(tmp_path):
    """The kernel a user is told to copy passes, and prints the converse line the README shows."""
    if not CONSOLE_SCRIPT.exists():
        pytest.skip(f"the quantmm console script is not installed next to {sys.executable}")
    block = next(block for block in _blocks("python") if block.startswith("# my_kernel.py"))
    (tmp_path / "my_kernel.py").write_text(block, encoding="utf-8")
    result = subprocess.run(
        [str(CONSOLE_SCRIPT), "certify", "my_kernel.py:MyKernel", "--seed", "1"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    certify_page = (ROOT / "docs" / "certify.md").read_text(encoding="utf-8")
    shown = re.search(r"report ends with\s+`(converse: [^`]*)`", certify_page)
    assert shown is not None
    assert " ".join(shown.group(1).split()) in result.stdout
