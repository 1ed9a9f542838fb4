"""Sphinx configuration for the skdeep documentation.

Build (from the repository root; warnings are errors)::

    pip install -e ".[docs]" && sphinx-build -W -b html docs docs/_build/html

The API pages come from the docstrings (autosummary + numpydoc); the gallery is
generated from ``examples/*.py`` by sphinx-gallery, which runs every example.
"""

import os
import sys
from datetime import date

import skdeep

# Let autodoc import skdeep from a plain checkout as well as from an install.
sys.path.insert(0, os.path.abspath(".."))

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
numpydoc_attributes_as_param_list = False

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
