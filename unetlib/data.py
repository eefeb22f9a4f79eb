"""Images the chapters use, made by code so that they work anywhere (Colab included).

Nothing here reads a path relative to a notebook or downloads anything.
"""

from __future__ import annotations

import numpy as np
from skimage.draw import disk, polygon, rectangle

__all__ = ["logo"]


def logo(size: int = 96) -> np.ndarray:
    """A simple logo-like picture: a disc, a square and a triangle on a dark background.

    Flat shapes with straight, round and slanted borders: every edge orientation an edge
    detector should find, and nothing else (no texture, no noise). ``data/logo.png`` in the
    repository is this picture at the default size, written by ``data/make_assets.py``.

    Args:
        size: side length in pixels, at least 32.

    Returns:
        ``(size, size)`` float64 array with values in ``[0, 1]``.

    Example:
        >>> logo().shape
        (96, 96)
    """
    if not isinstance(size, (int, np.integer)) or isinstance(size, bool):
        raise TypeError(f"size must be an int, got {size!r}")
    if size < 32:
        raise ValueError(f"size must be at least 32 pixels for the shapes to be drawn, got {size}")
    image = np.full((size, size), 0.1)
    # Positions are fractions of the side, so every size draws the same picture.
    rows, cols = disk((0.32 * size, 0.32 * size), 0.2 * size, shape=image.shape)
    image[rows, cols] = 0.9
    rows, cols = rectangle((0.52 * size, 0.5 * size), end=(0.85 * size, 0.85 * size), shape=image.shape)
    image[rows, cols] = 0.6
    rows, cols = polygon([0.88 * size, 0.88 * size, 0.5 * size], [0.08 * size, 0.45 * size, 0.1 * size], image.shape)
    image[rows, cols] = 0.75
    return image
