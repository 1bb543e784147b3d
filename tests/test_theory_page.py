"""docs/theory.md is the project's own theory page: every section the code and pages cite exists
there, every function it names exists, and no page points outside the repository."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

import quantmm.reference

ROOT = Path(__file__).resolve().parent.parent
THEORY = ROOT / "docs" / "theory.md"


def tracked_files() -> list[Path]:
    try:
        listed = subprocess.run(
            ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout: the list of the project's files is not known")
    return [ROOT / name for name in listed if name.endswith((".py", ".md", ".toml", ".sh"))]


def sections() -> set[str]:
    """The section numbers of docs/theory.md's headings (## 1. …, ### 1.1 …)."""
    headings = re.findall(r"^#{2,3} (\d+(?:\.\d+)?)\.? ", THEORY.read_text(encoding="utf-8"), re.M)
    return set(headings)


def test_every_cited_section_exists_on_the_theory_page():
    cited = {}
    pattern = re.compile(r"theory\.md('s)? §(\d+(?:\.\d+)?)(?:[–-]§?(\d+(?:\.\d+)?))?")
    for path in tracked_files():
        for match in pattern.finditer(path.read_text(encoding="utf-8")):
            for number in (match.group(2), match.group(3)):
                if number:
                    cited.setdefault(number, path.relative_to(ROOT))
    assert cited, "nothing cites the theory page"
    missing = {number: str(path) for number, path in cited.items() if number not in sections()}
    assert not missing, f"sections cited but not on docs/theory.md: {missing}"


def test_every_function_the_page_names_is_public():
    named = set(re.findall(r"`([a-z_]+)`", THEORY.read_text(encoding="utf-8")))
    functions = {name for name in named if "_" in name or name in ("phi", "gamma")}
    designs = {"matmul_lloyd", "matmul_lloyd_bias", "lloyd_max"}
    unknown = sorted(functions - set(quantmm.reference.__all__) - designs)
    assert not unknown, f"docs/theory.md names functions quantmm.reference lacks: {unknown}"


def test_no_project_page_points_outside_the_repository():
    outside = "../" + "shared"  # spelled in two parts, so this file does not match itself
    for path in tracked_files():
        text = path.read_text(encoding="utf-8")
        assert outside not in text, f"{path.relative_to(ROOT)} points to {outside}"
