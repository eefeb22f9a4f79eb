"""Synthetic cells: touching blobs with texture, blur and noise, and their instance labels.

For instant, offline experiments (and tests): the picture looks enough like fluorescent nuclei
to exercise everything a real set does, including touching neighbours that the paper's weight
map is meant to separate, and the true instance labels are known exactly.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter

from unetlib._checks import describe, integer, number

__all__ = ["synthetic_cells"]

#: Limits that keep a call within seconds (and a few hundred MB) instead of minutes: the side,
#: the number of cells, and cells times pixels (each cell is drawn over the whole picture).
MAX_SIZE, MAX_COUNT, MAX_WORK = 4096, 10_000, 2**28


def synthetic_cells(
    size: int = 128, count: int = 20, radius: tuple[float, float] = (6.0, 11.0), seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """A ``size x size`` picture of ``count`` elliptical cells, some touching, and their labels.

    Where two cells' ellipses overlap, each pixel goes to the cell it is relatively deeper
    inside, so touching cells meet along a clean border, as in real segmentations.

    Args:
        size: side of the picture in pixels, 16 to 4096.
        count: number of cells, at most 10 000 and at most ``2**28 / size**2`` (1 024 cells for a
            512-pixel picture, 16 for a 4096-pixel one), which keeps a call to a few seconds.
        radius: ``(low, high)``: the range of the cells' semi-axes in pixels.
        seed: seed of the random generator.

    Returns:
        ``image`` (float32 in ``[0, 1]``) and ``labels`` (int32: 0 background, 1..count cells;
        a cell hidden entirely by others has no pixels).

    Example:
        >>> image, labels = synthetic_cells(64, count=5)
        >>> image.shape, bool(labels.max() <= 5)
        ((64, 64), True)
    """
    size = integer(integer(size, "size", minimum=16), "size", maximum=MAX_SIZE, hint=" (pixels a side)")
    count, most = integer(count, "count", minimum=0), min(MAX_COUNT, MAX_WORK // size**2)
    if count > most:
        raise ValueError(
            f"count must be at most {most} for a {size}x{size} picture, got {count}: each cell is drawn over "
            "the whole picture, so that many would take minutes; draw fewer cells, a smaller picture, or "
            "several pictures"
        )
    seed = integer(seed, "seed", minimum=0)
    if not (isinstance(radius, (tuple, list)) and len(radius) == 2):
        raise TypeError(f"radius must be a pair (low, high) of pixel radii, got {describe(radius)}")
    low, high = (number(r, "radius", above=0) for r in radius)
    if not low <= high < size / 2:
        raise ValueError(f"radius must be (low, high) with 0 < low <= high < size / 2, got {radius!r}")
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0:size, 0:size].astype(np.float64)
    depth = np.full((size, size), np.inf)  # the smallest normalised distance to a cell centre so far
    labels = np.zeros((size, size), dtype=np.int32)
    brightness = np.zeros((size, size))
    for index in range(1, count + 1):
        centre = rng.uniform(high, size - high, size=2)
        a, b = rng.uniform(low, high, size=2)
        angle = rng.uniform(0, np.pi)
        dr, dc = rows - centre[0], cols - centre[1]
        u = (dr * np.cos(angle) + dc * np.sin(angle)) / a
        v = (-dr * np.sin(angle) + dc * np.cos(angle)) / b
        distance = np.hypot(u, v)  # < 1 inside this ellipse
        mine = (distance < 1) & (distance < depth)
        labels[mine] = index
        depth[mine] = distance[mine]
        brightness[mine] = rng.uniform(0.5, 1.0) * (1 - 0.35 * distance[mine] ** 2)
    texture = gaussian_filter(rng.normal(0, 1, (size, size)), 1.5)
    image = brightness * (1 + 0.15 * texture) + 0.05
    image = gaussian_filter(image, 0.8) + rng.normal(0, 0.03, (size, size))
    return np.clip(image, 0, 1).astype(np.float32), labels
