"""The chapters' sources: MyST-markdown notebooks, each paired with an output-free .ipynb for Colab.

The book executes every chapter when it builds (`bash .ci/book`, with cell errors failing the
build); these tests check what the build cannot see: that the .ipynb a Colab reader opens says
the same as the .md the book was built from, and that it starts by installing unetlib on Colab.
To re-pair after editing a chapter: `.venv/bin/jupytext --to ipynb notebooks/NN_name.md`.
"""

from __future__ import annotations

import re
from pathlib import Path

import jupytext
import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.md"))
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())


def test_there_are_chapters():
    assert SOURCES, "no notebooks/NN_name.md chapters found"


def _cells(notebook) -> list[tuple[str, str, list[str]]]:
    return [(c.cell_type, c.source.strip(), sorted(c.metadata.get("tags", []))) for c in notebook.cells]


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_ipynb_is_in_sync_with_its_markdown_source(source):
    paired = source.with_suffix(".ipynb")
    assert paired.exists(), f"{paired.name} is missing: run `.venv/bin/jupytext --to ipynb {source.relative_to(ROOT)}`"
    from_markdown = jupytext.read(source)
    from_ipynb = nbformat.read(paired, as_version=4)
    assert _cells(from_ipynb) == _cells(from_markdown), (
        f"{paired.name} differs from {source.name}: run `.venv/bin/jupytext --to ipynb {source.relative_to(ROOT)}`"
    )


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_ipynb_carries_no_outputs(source):
    notebook = nbformat.read(source.with_suffix(".ipynb"), as_version=4)
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, (
                f"cell {index} of {source.stem}.ipynb has outputs"
            )


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_first_code_cell_installs_unetlib_on_colab_only(source):
    notebook = jupytext.read(source)
    first = next(c for c in notebook.cells if c.cell_type == "code")
    assert "remove-cell" in first.metadata.get("tags", []), "the setup cell must be hidden in the book"
    assert "import google.colab" in first.source and "except ImportError" in first.source
    repository = CONFIG["repository"]["url"].rstrip("/")
    # An extra, as in "unetlib[onnx] @ git+...", installs what a chapter needs beyond the rest.
    install = re.search(r'"unetlib(\[[a-z,]+\])? @ git\+([^@"]+)@([^"]+)"', first.source)
    assert install and install.group(2) == repository, f"install from {repository} (as in _config.yml)"
    # Pinned to the release tag, never a moving branch: a notebook opened in Colab installs the
    # package it was written against, and the launch buttons open the notebooks of that tag.
    tag = "v" + re.search(r'^version = "(.+)"', (ROOT / "pyproject.toml").read_text(), re.M).group(1)
    assert install.group(3) == tag, f"pin the install to the release tag {tag}"
    assert CONFIG["repository"]["branch"] == tag, f"_config.yml's repository.branch should be {tag}"


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_no_data_read_through_paths_relative_to_the_notebook(source):
    """Colab's working directory is not the repository: data comes through unetlib."""
    code = "\n".join(c.source for c in jupytext.read(source).cells if c.cell_type == "code")
    assert not re.search(r"""["'](\.\./|\./)?data/""", code), "read data through unetlib.data, not a relative path"


def test_every_chapter_is_in_the_table_of_contents():
    toc = (ROOT / "_toc.yml").read_text()
    for source in SOURCES:
        assert f"notebooks/{source.stem}" in toc


def test_book_configuration_fails_on_errors():
    execute = CONFIG["execute"]
    # The cache re-executes a chapter whose code changed; .ci/book empties it when unetlib or an
    # installed package changes (tests/test_cache_key.py), and a fresh clone has none.
    assert execute["execute_notebooks"] == "cache"
    assert execute["allow_errors"] is False and execute["raise_on_error"] is True
    assert "notebooks/*.ipynb" in CONFIG["exclude_patterns"]
    assert CONFIG["launch_buttons"]["colab_url"] == "https://colab.research.google.com"


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_code_lines_fit_the_code_box(source):
    """The book's code boxes show 80 characters at most; longer lines scroll sideways."""
    long_lines = [
        line
        for cell in jupytext.read(source).cells
        if cell.cell_type == "code" and "remove-cell" not in cell.metadata.get("tags", [])
        for line in cell.source.splitlines()
        if len(line) > 79
    ]
    assert long_lines == [], f"{source.name}: lines longer than 79 characters: {long_lines}"
