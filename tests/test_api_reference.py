"""The API reference covers every public name of unetlib, each with a docstring.

The book build fails on an empty docstring (book/_ext/api_docstrings.py); these tests check the
source directly, and check that the built reference pages (book/api/) hold an entry for every
name that a module lists in ``__all__``, under the module that defines it.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import pytest

import unetlib

ROOT = Path(__file__).resolve().parent.parent
API_HTML = ROOT / "_build" / "html" / "book" / "api"


def public_objects():
    """(defining module, name, object) for every function and class some ``__all__`` lists."""
    found = {}
    for info in pkgutil.walk_packages(unetlib.__path__, "unetlib."):
        module = importlib.import_module(info.name)
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            if inspect.isfunction(obj) or inspect.isclass(obj):
                # A private module's names are documented where readers import them from.
                where = re.sub(r"\._[a-z_]+$", "", obj.__module__)
                found[(where, obj.__qualname__)] = obj
    return sorted(found.items())


def test_there_are_public_objects():
    assert len(public_objects()) > 100


def test_every_public_name_has_a_docstring():
    # One test for all names (the build's api_docstrings extension enforces the same on every page).
    missing = []
    for key, obj in public_objects():
        if not inspect.getdoc(obj):
            missing.append(".".join(key))
        if inspect.isclass(obj):
            missing += [
                f"{'.'.join(key)}.{name}"
                for name, member in vars(obj).items()
                if inspect.isfunction(member) and not name.startswith("_") and not inspect.getdoc(member)
            ]
    assert missing == [], f"no docstring: {missing}"


def test_the_built_reference_has_an_entry_for_every_public_name():
    if not API_HTML.is_dir():
        pytest.fail("_build/html/book/api is missing: build the book first (bash .ci/book)")
    anchors = set()
    for page in API_HTML.glob("*.html"):
        anchors |= set(re.findall(r'<dt class="sig sig-object py" id="([^"]+)"', page.read_text()))
    missing = [f"{module}.{name}" for (module, name), _ in public_objects() if f"{module}.{name}" not in anchors]
    assert missing == [], f"not in the API reference (add the module to a page in book/api/): {missing}"


def test_every_module_is_on_a_reference_page():
    pages = "\n".join(p.read_text() for p in (ROOT / "book" / "api").glob("*.md"))
    modules = [
        info.name
        for info in pkgutil.walk_packages(unetlib.__path__, "unetlib.")
        if not info.name.rsplit(".", 1)[-1].startswith("_")
    ]
    missing = [m for m in modules if f".. automodule:: {m}\n" not in pages]
    assert missing == []
