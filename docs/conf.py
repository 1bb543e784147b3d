"""Sphinx configuration of quantmm's documentation site.

The source directory is the repository root, so the pages link to each other (and to the
derivations in proofs/) with the same relative links on GitHub and in the built site:

    sphinx-build -W -c docs . build/docs

``tests/test_docs.py`` runs exactly this build, warnings as errors.
"""

from __future__ import annotations

import quantmm

project = "quantmm"
author = "The quantmm developers"
copyright = "the quantmm developers"
version = release = quantmm.__version__

extensions = ["myst_parser", "sphinx.ext.autodoc", "sphinx.ext.napoleon"]
root_doc = "docs/index"
include_patterns = ["README.md", "CHANGELOG.md", "docs/**", "proofs/*.md"]
exclude_patterns = ["docs/conf.py"]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}

# Headings get anchors, so a page can link to a section of another ([text](page.md#anchor)).
myst_heading_anchors = 3
myst_enable_extensions = ["dollarmath"]

autodoc_member_order = "bysource"
autodoc_typehints = "description"
napoleon_google_docstring = False

html_theme = "alabaster"
html_title = f"quantmm {release}"


def _escape_bars(app, what, name, obj, options, lines):
    """Docstrings write absolute values as |ρ| (plain text for ``help()``); in reStructuredText
    ``|ρ|`` is a substitution reference, so bars in prose are escaped here. Doctest lines,
    literal blocks and inline literals keep theirs."""
    in_literal = False
    for index, line in enumerate(lines):
        stripped = line.lstrip()
        if in_literal and stripped and not line.startswith(" "):
            in_literal = False
        if stripped.startswith((">>>", "...")) or in_literal:
            continue
        parts = line.split("``")
        parts[::2] = [part.replace("|", "\\|") for part in parts[::2]]
        lines[index] = "``".join(parts)
        if line.rstrip().endswith("::"):
            in_literal = True


def setup(app):
    app.connect("autodoc-process-docstring", _escape_bars)
