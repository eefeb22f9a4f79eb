"""Pictures the chapters draw by code, so that they work anywhere (Colab included): a logo and X/O glyphs.

Nothing here reads a path relative to a notebook or downloads anything.
"""

from __future__ import annotations

import numpy as np
from skimage.draw import disk, line_aa, polygon, rectangle

from unetlib._checks import boolean, choice, describe, generator, integer

__all__ = ["XO_CLASSES", "logo", "xo_canvas", "xo_dataset", "xo_glyph"]

XO_CLASSES = ("X", "O", "none")  # class indices 0, 1, 2; "none": no glyph centred in view

#: Limits that keep a call within seconds and memory: the side of a picture or glyph, the number
#: of glyphs in a data set, and glyphs times pixels.
MAX_SIDE, MAX_GLYPH, MAX_COUNT, MAX_PIXELS = 4096, 512, 100_000, 2**28


def logo(size: int = 96) -> np.ndarray:
    """A simple logo-like picture: a disc, a square and a triangle on a dark background.

    Flat shapes with straight, round and slanted borders: every edge orientation an edge
    detector should find, and nothing else (no texture, no noise). ``data/logo.png`` in the
    repository is this picture at the default size, written by ``data/make_assets.py``.

    Args:
        size: side length in pixels, 32 to 4096.

    Returns:
        ``(size, size)`` float64 array with values in ``[0, 1]``.

    Example:
        >>> logo().shape
        (96, 96)
    """
    integer(size, "size", minimum=32, hint=" (pixels, for the shapes to be drawn)")
    integer(size, "size", maximum=MAX_SIDE, hint=" (pixels a side)")
    image = np.full((size, size), 0.1)
    # Positions are fractions of the side, so every size draws the same picture.
    rows, cols = disk((0.32 * size, 0.32 * size), 0.2 * size, shape=image.shape)
    image[rows, cols] = 0.9
    rows, cols = rectangle((0.52 * size, 0.5 * size), end=(0.85 * size, 0.85 * size), shape=image.shape)
    image[rows, cols] = 0.6
    rows, cols = polygon([0.88 * size, 0.88 * size, 0.5 * size], [0.08 * size, 0.45 * size, 0.1 * size], image.shape)
    image[rows, cols] = 0.75
    return image


# --------------------------------------------------------------------------------------------
# X and O glyphs (Chapter 5): a two-class toy problem small enough to train on a CPU in seconds.
# --------------------------------------------------------------------------------------------


def xo_glyph(kind: str, size: int = 14, rng: np.random.Generator | None = None) -> np.ndarray:
    """A hand-drawn-looking X or O on a dark square.

    Without ``rng`` the glyph is drawn the same way every time; with one, its size, position
    (by a pixel), stroke width and brightness vary a little, and faint noise is added, so that a
    classifier trained on many of them must learn the shape rather than the pixels.

    Args:
        kind: ``"X"`` or ``"O"``.
        size: side of the square in pixels, 8 to 512.
        rng: a NumPy random generator for the variations, or None.

    Returns:
        ``(size, size)`` float32 array with values in ``[0, 1]``.

    Example:
        >>> x = xo_glyph("X")
        >>> bool(x[7, 7] > 0.5), bool(xo_glyph("O")[7, 7] < 0.1)  # X crosses the centre, O does not
        (True, True)
    """
    choice(kind, "kind", ("X", "O"))
    integer(size, "size", minimum=8)
    integer(size, "size", maximum=MAX_GLYPH, hint=" (pixels a side)")
    if rng is not None:
        generator(rng)
    jitter = rng is not None
    reach = (0.36 + (rng.uniform(-0.05, 0.04) if jitter else 0.0)) * size  # half the glyph's extent
    centre = (size - 1) / 2 + (rng.integers(-1, 2, size=2) if jitter else np.zeros(2))
    width = int(rng.integers(1, 3)) if jitter else 2
    image = np.zeros((size, size), dtype=np.float32)
    if kind == "X":
        for sign in (1, -1):  # two diagonal strokes, each drawn width pixels thick
            for shift in range(width):
                r0, c0 = centre[0] - reach + shift, centre[1] - sign * reach
                r1, c1 = centre[0] + reach + shift, centre[1] + sign * reach
                rows, cols, value = line_aa(int(round(r0)), int(round(c0)), int(round(r1)), int(round(c1)))
                keep = (rows >= 0) & (rows < size) & (cols >= 0) & (cols < size)
                image[rows[keep], cols[keep]] = np.maximum(image[rows[keep], cols[keep]], value[keep])
    else:
        outer = disk(tuple(centre), reach + 0.5, shape=image.shape)
        inner = disk(tuple(centre), max(reach + 0.5 - width - 0.5, 1.0), shape=image.shape)
        image[outer] = 1.0
        image[inner] = 0.0
    if jitter:
        image *= rng.uniform(0.7, 1.0)
        image += rng.normal(0, 0.05, image.shape).astype(np.float32)
    return np.clip(image, 0.0, 1.0)


def xo_dataset(count: int, size: int = 14, seed: int = 0, none: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """``count`` varied glyphs, as many X as O (and "none" when asked), shuffled.

    Args:
        count: number of pictures, 2 to 100 000 (and at most ``2**28 / size**2``).
        size: their side, 8 to 512.
        seed: seed of the variations.
        none: also make pictures of class ``"none"``: empty (noise only), or a glyph shifted by
            5 to 9 pixels so that only part of it is in view. A classifier that knows this class
            can say "no glyph centred here", which a sliding classifier needs between glyphs.

    Returns:
        ``images`` of shape ``(count, 1, size, size)`` (float32) and ``labels`` of shape
        ``(count,)`` (int64 indices into ``XO_CLASSES``).

    Example:
        >>> images, labels = xo_dataset(10)
        >>> images.shape, labels.tolist().count(0)
        ((10, 1, 14, 14), 5)
    """
    count = integer(count, "count", minimum=2)
    size = integer(integer(size, "size", minimum=8), "size", maximum=MAX_GLYPH, hint=" (pixels a side)")
    seed, none = integer(seed, "seed", minimum=0), boolean(none, "none")
    most = min(MAX_COUNT, MAX_PIXELS // size**2)
    if count > most:
        raise ValueError(
            f"count must be at most {most} for {size}x{size} glyphs, got {count} (that many would take "
            "minutes and gigabytes); a few thousand train a classifier"
        )
    rng = np.random.default_rng(seed)
    classes = 3 if none else 2
    labels = rng.permutation(np.arange(count) % classes)
    images = np.stack([_xo_sample(int(label), size, rng) for label in labels])[:, None]
    return images, labels.astype(np.int64)


def _xo_sample(label: int, size: int, rng: np.random.Generator) -> np.ndarray:
    if label < 2:
        return xo_glyph(XO_CLASSES[label], size, rng)
    picture = rng.normal(0, 0.05, (size, size)).astype(np.float32)
    if rng.random() < 0.8:  # part of a glyph, off-centre; otherwise nothing at all
        glyph = xo_glyph(XO_CLASSES[int(rng.integers(0, 2))], size, rng)
        dr, dc = (int(rng.choice([-1, 1])) * int(rng.integers(5, 10)) if rng.random() < 0.7 else 0 for _ in range(2))
        if dr == dc == 0:
            dr = int(rng.choice([-1, 1])) * int(rng.integers(5, 10))
        shifted = np.zeros_like(glyph)
        rows_to, rows_from = slice(max(dr, 0), size + min(dr, 0)), slice(max(-dr, 0), size + min(-dr, 0))
        cols_to, cols_from = slice(max(dc, 0), size + min(dc, 0)), slice(max(-dc, 0), size + min(-dc, 0))
        shifted[rows_to, cols_to] = glyph[rows_from, cols_from]
        picture = np.maximum(picture, shifted)
    return np.clip(picture, 0.0, 1.0)


def xo_canvas(
    rows: list[str], size: int = 14, spacing: int = 16, seed: int = 1
) -> tuple[np.ndarray, list[tuple[int, int, str]]]:
    """A larger picture with glyphs laid out on a grid, ``"."`` for an empty place.

    Args:
        rows: one string per row of the layout, e.g. ``["X.O", "OX."]``.
        size: side of each glyph.
        spacing: pixels between the top-left corners of neighbouring places. Glyphs sit at the
            corners, multiples of ``spacing``: a sliding classifier whose step divides
            ``spacing`` then has one window exactly on each glyph.
        seed: seed of the glyphs' variations.

    Returns:
        The ``(H, W)`` float32 canvas and the placements ``(top, left, kind)`` of its glyphs.

    Example:
        >>> canvas, placed = xo_canvas(["X.O"])
        >>> canvas.shape, placed
        ((16, 48), [(0, 0, 'X'), (0, 32, 'O')])
    """
    if isinstance(rows, str) or not isinstance(rows, (list, tuple)) or not all(isinstance(r, str) for r in rows):
        raise TypeError(f"rows must be a list of strings, one per row (e.g. ['X.O', 'OX.']), got {describe(rows)}")
    if not rows or len({len(row) for row in rows}) != 1 or not rows[0]:
        raise ValueError(f"rows must be non-empty strings of equal length, got {rows!r}")
    size = integer(integer(size, "size", minimum=8), "size", maximum=MAX_GLYPH, hint=" (pixels a side)")
    spacing, seed = integer(spacing, "spacing", minimum=1), integer(seed, "seed", minimum=0)
    if len(rows) * spacing * len(rows[0]) * spacing > MAX_PIXELS:
        raise ValueError(
            f"rows and spacing make a canvas of {len(rows) * spacing}x{len(rows[0]) * spacing} pixels, more than "
            f"{MAX_PIXELS:,}; use fewer places or a smaller spacing"
        )
    if spacing < size:
        raise ValueError(f"spacing ({spacing}) must be at least the glyph size ({size}) so glyphs do not overlap")
    rng = np.random.default_rng(seed)
    canvas = np.zeros((len(rows) * spacing, len(rows[0]) * spacing), dtype=np.float32)
    placed = []
    for i, row in enumerate(rows):
        for j, kind in enumerate(row):
            if kind == ".":
                continue
            if kind not in ("X", "O"):
                raise ValueError(f"rows may hold only 'X', 'O' and '.', got {kind!r} in {row!r}")
            top, left = i * spacing, j * spacing
            canvas[top : top + size, left : left + size] = xo_glyph(kind, size, rng)
            placed.append((top, left, kind))
    return canvas, placed
