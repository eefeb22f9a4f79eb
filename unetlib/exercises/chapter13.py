"""Chapter 13's exercises: NDVI by hand, the footprint valid in every band, the area of each
class in hectares, and a pixel's map coordinates from the geotransform.

Each check compares your function with a reference written out here in NumPy, on small cases
that include the traps (a zero denominator, bands with different nodata values and types, a
rotated geotransform).

Example:
    >>> check_ndvi(lambda nir, red: (red - nir) / (red + nir + 1e-9))
    Not yet: your NDVI has the opposite sign: near infrared comes first, (nir -
        red)
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from unetlib.exercises._common import CheckResult, _call, _show

__all__ = ["check_class_areas", "check_ndvi", "check_pixel_to_map", "check_valid_footprint"]


def _ndvi_cases() -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(11)
    return [
        (np.array([[200.0, 50.0], [30.0, 0.0]]), np.array([[40.0, 50.0], [90.0, 0.0]])),  # 0/0 in a corner
        (rng.uniform(1, 255, (5, 7)), rng.uniform(1, 255, (5, 7))),
    ]


def check_ndvi(function: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> CheckResult:
    """``function(nir, red)`` must return NDVI, ``(nir - red) / (nir + red)``, and 0 where both are 0."""
    for nir, red in _ndvi_cases():
        got, problem = _call(function, nir.copy(), red.copy())
        if problem:
            return CheckResult(False, problem)
        total = nir + red
        expected = np.divide(nir - red, total, out=np.zeros_like(total), where=total != 0)
        if got.shape != expected.shape:
            return CheckResult(False, f"your output has shape {got.shape}, the bands {expected.shape}")
        if not np.isfinite(got).all():
            return CheckResult(False, "your NDVI holds NaN or infinity where nir + red is 0: return 0 there")
        if np.allclose(got, -expected):
            return CheckResult(False, "your NDVI has the opposite sign: near infrared comes first, (nir - red)")
        if not np.allclose(got, expected, atol=1e-6):
            return CheckResult(
                False, f"for nir={_show(nir)} and red={_show(red)} expected {_show(expected)}, got {_show(got)}"
            )
    return CheckResult(True, "your NDVI is (nir - red) / (nir + red), 0 where both bands are 0.")


def _bands_cases() -> list[tuple[list[np.ndarray], list]]:
    blue = np.array([[-99999.0, 12.0, 30.0], [5.0, 7.0, np.nan]], np.float32)
    swir = np.array([[4, -32768, 9], [1, 2, 3]], np.int16)
    plain = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], np.float32)
    return [([blue, swir], [-99999.0, -32768]), ([blue, swir, plain], [-99999.0, -32768, None])]


def check_valid_footprint(function: Callable[[list, list], np.ndarray]) -> CheckResult:
    """``function(bands, nodata)`` must return the ``(H, W)`` bool mask of pixels with data in *every* band.

    ``bands`` is a list of ``(H, W)`` arrays of different types, ``nodata`` one value per band
    (``None``: the band declares none); NaN is never data.
    """
    for bands, nodata in _bands_cases():
        got, problem = _call(function, [b.copy() for b in bands], list(nodata))
        if problem:
            return CheckResult(False, problem)
        expected = np.ones(bands[0].shape, bool)
        for band, value in zip(bands, nodata):
            expected &= np.isfinite(band.astype(np.float64))
            if value is not None:
                expected &= band != value
        if got.shape != expected.shape or not np.isin(got, (0, 1)).all():
            return CheckResult(False, f"return a bool mask of shape {expected.shape}, got {_show(got)}")
        got = got.astype(bool)
        if got.sum() > expected.sum() and (got & ~expected).any():
            return CheckResult(
                False,
                f"your footprint keeps {int((got & ~expected).sum())} pixel(s) that some band has no data for "
                "(each band's own nodata value, and NaN): a pixel is valid only where all bands are",
            )
        if not np.array_equal(got, expected):
            return CheckResult(False, f"expected {_show(expected)}, got {_show(got)}")
    return CheckResult(True, "your footprint keeps the pixels with data in every band, each band's nodata honoured.")


def check_class_areas(function: Callable[[np.ndarray, float, int], np.ndarray]) -> CheckResult:
    """``function(classes, pixel_size, num_classes)`` must return each class's area in hectares.

    ``classes`` is an ``(H, W)`` class map with 255 for nodata (not counted), ``pixel_size``
    the side of a square pixel in metres. One hectare is 100 m x 100 m.
    """
    rng = np.random.default_rng(12)
    cases = [(np.array([[0, 0, 1], [255, 2, 2]]), 28.5, 4), (rng.integers(0, 5, (30, 40)), 10.0, 5)]
    cases[1][0][:3] = 255
    for classes, size, count in cases:
        got, problem = _call(function, classes.copy(), size, count)
        if problem:
            return CheckResult(False, problem)
        counts = np.array([(classes == k).sum() for k in range(count)], np.float64)
        expected = counts * size * size / 10_000
        if got.shape != expected.shape:
            return CheckResult(False, f"return one area per class ({count}), got shape {got.shape}")
        if np.allclose(got, counts * size * size):
            return CheckResult(False, "your areas are in square metres: a hectare is 10,000 m2")
        if np.allclose(got, counts * size / 10_000):
            return CheckResult(False, "a pixel's area is its side squared (28.5 m x 28.5 m), not its side")
        if not np.allclose(got, expected, rtol=1e-9):
            return CheckResult(
                False, f"for {_show(classes)} with {size} m pixels expected {_show(expected)} ha, got {_show(got)}"
            )
    return CheckResult(
        True, "your areas count each class's pixels times the pixel's area, in hectares, nodata left out."
    )


def check_pixel_to_map(function: Callable[[tuple, int, int], tuple]) -> CheckResult:
    """``function(transform, row, col)`` must return the map coordinates ``(x, y)`` of the pixel's *centre*.

    ``transform`` is the geotransform as six numbers ``(a, b, c, d, e, f)`` (rasterio's
    ``Affine`` order): ``x = a * column + b * row + c`` and ``y = d * column + e * row + f``
    for a pixel *corner* ``(column, row)``.
    """
    cases = [((28.5, 0.0, 630534.0, 0.0, -28.5, 228114.0), 10, 3), ((2.0, 0.5, 100.0, 0.25, -2.0, 50.0), 4, 7)]
    for transform, row, col in cases:
        got, problem = _call(function, transform, row, col)
        if problem:
            return CheckResult(False, problem)
        a, b, c, d, e, f = transform
        centre = (a * (col + 0.5) + b * (row + 0.5) + c, d * (col + 0.5) + e * (row + 0.5) + f)
        corner = (a * col + b * row + c, d * col + e * row + f)
        swapped = (a * (row + 0.5) + b * (col + 0.5) + c, d * (row + 0.5) + e * (col + 0.5) + f)
        if got.shape != (2,):
            return CheckResult(False, f"return the two numbers (x, y), got shape {got.shape}")
        if np.allclose(got, corner):
            return CheckResult(
                False,
                "you gave the pixel's top-left corner: its centre is half a pixel further, (col + 0.5, row + 0.5)",
            )
        if np.allclose(got, swapped):
            return CheckResult(False, "row and column are swapped: x follows the column, y the row")
        if not np.allclose(got, centre, rtol=0, atol=1e-6):
            return CheckResult(
                False, f"for transform {transform}, row {row}, col {col} expected {centre}, got {tuple(got)}"
            )
    return CheckResult(True, "your coordinates are the pixel centre's, through the whole geotransform.")
