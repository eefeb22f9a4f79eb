"""Make the API reference fail the build when a public name has no docstring.

The reference pages use ``automodule`` with ``:undoc-members:``, so every name in a module's
``__all__`` reaches autodoc even without a docstring; this hook then warns about each empty
one, and the book builds with warnings as errors. ``tests/test_api_reference.py`` checks the
other half: that every public name is on a reference page.
"""

from __future__ import annotations

from sphinx.util import logging

logger = logging.getLogger(__name__)

DOCUMENTED_KINDS = {"module", "class", "exception", "function", "method"}


def _warn_if_empty(app, what, name, obj, options, lines) -> None:
    if what in DOCUMENTED_KINDS and not any(line.strip() for line in lines):
        logger.warning(
            f"{name} ({what}) has no docstring: the API reference needs one "
            "(arguments, shapes, what it returns, an example)",
            type="unetlib",
            subtype="api",
        )


def setup(app):
    app.connect("autodoc-process-docstring", _warn_if_empty)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
