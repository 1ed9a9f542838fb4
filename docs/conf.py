"""Sphinx configuration for the skdeep documentation.

Build (from the repository root; warnings are errors)::

    pip install -e ".[docs]" && sphinx-build -W -b html docs docs/_build/html

The API pages come from the docstrings (autosummary + numpydoc); the gallery is
generated from ``examples/*.py`` by sphinx-gallery, which runs every example.
"""

import os
import re
import sys
import warnings
from datetime import date

# The gallery's networks multiply small matrices: one BLAS thread runs them
# fastest, and OpenBLAS's spinning threads slow them several times over on a
# busy machine. Set before numpy is first imported (through skdeep).
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

# Document the skdeep of this checkout, installed or not.
sys.path.insert(0, os.path.abspath(".."))

import skdeep  # noqa: E402

# numpydoc parses every docstring once more for the signatures and warns about
# the Keras-style layer sections that `_move_extra_sections` handles below.
warnings.filterwarnings(
    "ignore", message="Unknown section (Input|Output) Shape", category=UserWarning
)

project = "skdeep"
author = "The skdeep developers"
copyright = f"{date.today().year}, {author}"
release = skdeep.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "README.md", "Thumbs.db", ".DS_Store"]
# Unqualified names in backticks are tried as Python objects, as in scikit-learn.
default_role = "obj"

# -- autodoc / autosummary / numpydoc ----------------------------------------
autosummary_generate = True
autodoc_default_options = {"members": True}
autodoc_typehints = "none"
# numpydoc renders the Parameters/Attributes tables; the autosummary class
# template lists the public methods, so numpydoc must not list them again.
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True

# -- sphinx-gallery -------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    # Run every example: they are the executable part of the documentation.
    "filename_pattern": "/plot_",
    "doc_module": ("skdeep",),
    "backreferences_dir": "gen_modules/backreferences",
    "reference_url": {"skdeep": None},
    "within_subsection_order": "FileNameSortKey",
    "remove_config_comments": True,
    "show_memory": False,
    # An example that raises fails the build, warnings or not.
    "abort_on_example_error": False,
    "only_warn_on_example_error": False,
}

# -- HTML ---------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"skdeep {release}"
html_static_path = []
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
}
html_show_sourcelink = False


# -- hooks --------------------------------------------------------------------
# Methods scikit-learn generates on every estimator whose fit/score take
# metadata (``set_fit_request``, ``set_score_request``, ...): their docstrings
# point into scikit-learn's own glossary and user guide, which this build does
# not have. They are documented in scikit-learn's metadata-routing guide.
_SKIP_MEMBER = re.compile(r"set_\w+_request")

# Sections of the layers' docstrings that numpydoc does not know (Keras writes
# them): their text moves into the Notes section under a rubric.
_EXTRA_SECTIONS = ("Input shape", "Output shape")


# Docstrings skdeep inherits from scikit-learn (e.g. the ``n_features_in_``
# property that numpydoc summarises in an Attributes table) use roles that
# point into scikit-learn's glossary; render those terms as plain emphasis.
_SKLEARN_TERM = re.compile(r":term:`([^`<]+?)(?:\s*<[^>]+>)?`")


def _plain_sklearn_terms(app, what, name, obj, options, lines):
    lines[:] = [_SKLEARN_TERM.sub(r"*\1*", line) for line in lines]


def _skip_member(app, what, name, obj, skip, options):
    if _SKIP_MEMBER.fullmatch(name):
        return True
    return None


def _is_header(lines, i):
    return (
        i + 1 < len(lines)
        and lines[i].strip()
        and set(lines[i + 1].strip()) == {"-"}
        and len(lines[i + 1].strip()) == len(lines[i].strip())
    )


def _move_extra_sections(app, what, name, obj, options, lines):
    """Turn 'Input shape' / 'Output shape' sections into rubrics under Notes."""
    moved, out, i = [], [], 0
    while i < len(lines):
        if lines[i].strip() in _EXTRA_SECTIONS and _is_header(lines, i):
            title, i = lines[i].strip(), i + 2
            body = []
            while i < len(lines) and not _is_header(lines, i):
                body.append(lines[i])
                i += 1
            moved += [f".. rubric:: {title}", "", *body]
            if moved[-1].strip():
                moved.append("")
        else:
            out.append(lines[i])
            i += 1
    if not moved:
        return
    notes = next(
        (
            j
            for j, line in enumerate(out)
            if line.strip() == "Notes" and _is_header(out, j)
        ),
        None,
    )
    if notes is None:
        # A new Notes section before the first of these sections (or at the end).
        anchor = next(
            (
                j
                for j in range(len(out))
                if out[j].strip() in ("See Also", "References", "Examples")
                and _is_header(out, j)
            ),
            len(out),
        )
        block = ["Notes", "-----", *moved]
    else:
        # At the end of the existing Notes section.
        anchor = next(
            (j for j in range(notes + 2, len(out)) if _is_header(out, j)), len(out)
        )
        block = moved
    lines[:] = out[:anchor] + block + out[anchor:]


def setup(app):
    app.connect("autodoc-skip-member", _skip_member)
    # Before numpydoc (priority 500) parses the sections.
    app.connect("autodoc-process-docstring", _move_extra_sections, priority=400)
    # After numpydoc, which copies the inherited summaries into the tables.
    app.connect("autodoc-process-docstring", _plain_sklearn_terms, priority=600)
