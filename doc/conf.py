"""Sphinx configuration for skdeepcluster's documentation."""

import skdeepcluster

project = "skdeepcluster"
author = "the skdeepcluster developers"
release = skdeepcluster.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

autosummary_generate = True
autodoc_default_options = {"members": True}
numpydoc_show_class_members = False
numpydoc_xref_param_type = False

intersphinx_mapping = {}

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    "reference_url": {"skdeepcluster": None},
    "doc_module": ("skdeepcluster",),
    "backreferences_dir": "auto_examples",
}

templates_path = ["_templates"]
exclude_patterns = ["_build"]
html_theme = "pydata_sphinx_theme"
html_title = "skdeepcluster"
html_static_path = ["_static"]
html_css_files = ["narrow.css"]  # phones: long API names and parameters wrap
# Pages without sub-pages get no left sidebar: the theme's would be an empty "Section
# Navigation" that squeezes their tables and code to about 510 px of a 1280 px window.
html_sidebars = {
    page: []
    for page in ("index", "user_guide", "scaling", "benchmarks", "contributing", "lab_notes")
}
