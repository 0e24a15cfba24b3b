"""Sphinx configuration of the uepmm reference site.

Build it from the repository root with warnings as errors::

    python -m sphinx -W --keep-going -b html docs docs/_build/html
"""

from __future__ import annotations

import os
import sys

# The package is imported from the working tree (src layout), so the site documents the
# code next to it even when another copy is installed.
sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "src")))

import uepmm  # noqa: E402

project = "uepmm"
author = "uepmm contributors"
copyright = "uepmm contributors"
release = uepmm.__version__
version = release

# docs/_ext holds the small local extension that prints the CLI's own --help text.
sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "_ext")))

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "myst_parser",
    "uepmm_cli_help",
]
templates_path = ["_templates"]

# Text is technical (``--flags``, quotes around names): keep it as written.
smartquotes = False

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]

# autodoc / autosummary: one generated page per public name, written under the
# ``generated/`` folder next to the page that lists it (ignored by git).
autosummary_generate = True
autosummary_imported_members = False
autodoc_typehints = "none"  # numpydoc's Parameters sections carry the types

# numpydoc: methods are listed by autosummary, not repeated under each class.
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

# MyST: the Markdown reports in docs/ join the site unchanged; headings get anchors so
# that links such as ``design-gamma.md#under-costwork`` resolve.
myst_heading_anchors = 4
myst_enable_extensions = ["dollarmath"]

html_theme = "furo"
html_title = f"uepmm {release}"


# docs/figures/training/tables.md is a table written by the training figures (no heading of
# its own) that training.md links to; it joins the site as an orphan page, its file unchanged.
_ORPHANS = ("figures/training/tables",)


def _mark_orphans(app, docname, source):  # noqa: ANN001
    if docname in _ORPHANS:
        source[0] = "---\norphan: true\n---\n" + source[0]


def setup(app):  # noqa: ANN001, ANN201 (Sphinx's hook)
    app.connect("source-read", _mark_orphans)
