"""The documentation site builds from the pages and the docstrings with no warning (Sphinx with
myst-parser, autodoc and napoleon; the command the README gives), and its pages link only to
files that exist."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_the_site_builds_with_warnings_as_errors(tmp_path):
    pytest.importorskip("sphinx", reason="the docs extra (Sphinx, myst-parser) is not installed")
    pytest.importorskip("myst_parser", reason="the docs extra (myst-parser) is not installed")
    # Run from elsewhere: `python -m` puts the working directory first on the path, and the
    # repository's quantmm/ folder is not the installed package (setuptools package-dir).
    out = tmp_path / "site"
    command = [sys.executable, "-m", "sphinx", "-W", "-E", "-q", "-c", str(ROOT / "docs")]
    result = subprocess.run(
        [*command, str(ROOT), str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (out / "docs" / "index.html").is_file()
    assert (out / "docs" / "api" / "reference.html").is_file()


@pytest.mark.parametrize(
    "page",
    [ROOT / "README.md", ROOT / "CHANGELOG.md", *sorted((ROOT / "docs").rglob("*.md"))],
    ids=lambda page: str(page.relative_to(ROOT)),
)
def test_every_relative_link_names_a_file_that_exists(page):
    """Independent of Sphinx: GitHub renders the same links."""
    text = re.sub(r"^```.*?^```", "", page.read_text(encoding="utf-8"), flags=re.S | re.M)
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue
        path = (page.parent / target.split("#")[0]).resolve()
        assert path.exists(), f"{page.name} links to {target}, which does not exist"


def test_no_issue_numbers_in_user_facing_pages():
    pages = [ROOT / "README.md", *(ROOT / "docs").rglob("*.md"), *(ROOT / "proofs").glob("*.md")]
    for page in pages:
        found = re.findall(r"issues? #\d+", page.read_text(encoding="utf-8"))
        assert not found, f"{page.relative_to(ROOT)} mentions {found}"
