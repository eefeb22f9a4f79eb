"""Small helpers for running the chapters both in the book build and in Colab / Jupyter."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["glue", "in_colab"]


def in_colab() -> bool:
    """True when running inside Google Colab."""
    try:
        import google.colab  # noqa: F401
    except ImportError:
        return False
    return True


def glue(name: str, value: Any, display: bool = False) -> None:
    """Make ``value`` available to the page's prose, by name (myst-nb's glue).

    In the book build this is ``myst_nb.glue``. NumPy scalars become Python numbers first, so
    that the prose can format them (their repr is ``np.float64(...)``). Where myst-nb is not
    installed (Colab, a plain Jupyter), nothing is stored, and the value is printed when
    ``display`` is true.

    Args:
        name: the name the prose uses, a Python identifier.
        value: a number, string, or anything IPython can display.
        display: also show the value where the cell runs.

    Example:
        In a code cell, then in the prose after it (MyST markdown)::

            glue("n_images", 20)

            The set has {glue:}`n_images` images, {glue:text}`share:.1%` of them ...
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"name must be a Python-identifier-like string, got {name!r}")
    if isinstance(value, np.generic):
        value = value.item()
    try:
        from myst_nb import glue as myst_glue
    except ImportError:
        if display:
            print(f"{name} = {value}")
        return
    myst_glue(name, value, display=display)
