"""Chapter 10's exercises: pixel error, cells from a membrane map, averaging over rotations.

Example:
    A wrong answer, and what the check says:

    >>> check_pixel_error(lambda prediction, truth: (prediction == truth).mean())
    Not yet: you give 0.857143, which is the accuracy (pixels that agree); the
        error is the fraction that differ
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from skimage.measure import label
from skimage.metrics import adapted_rand_error

from unetlib.exercises._common import CheckResult, _call, _show

__all__ = ["check_cells_from_membranes", "check_dihedral_average", "check_pixel_error"]


def check_pixel_error(function: Callable[[np.ndarray, np.ndarray], float]) -> CheckResult:
    """Check a reader's ``function(prediction, truth)`` on 0/1 masks: the fraction of pixels
    where the two differ."""
    rng = np.random.default_rng(12)
    for shape in ((6, 7), (10, 10), (3, 12)):
        truth = (rng.random(shape) < 0.3).astype(np.int64)
        prediction = np.where(rng.random(shape) < 0.2, 1 - truth, truth)
        got, problem = _call(function, prediction, truth, number=True)
        if problem:
            return CheckResult(False, problem)
        wrong = int((prediction != truth).sum())
        expected = wrong / prediction.size
        if got.shape == () and np.isclose(got, expected):
            continue
        if np.isclose(got, 1 - expected):
            return CheckResult(
                False,
                f"you give {_show(got)}, which is the accuracy (pixels that agree); "
                "the error is the fraction that differ",
            )
        if np.isclose(got, wrong):
            return CheckResult(
                False,
                f"you give {_show(got)}, the number of wrong pixels: divide by the "
                f"number of pixels ({prediction.size})",
            )
        return CheckResult(
            False,
            f"on a {shape[0]}x{shape[1]} case you give {_show(got)}, expected "
            f"{expected:.4f} ({wrong} of {prediction.size} pixels differ)",
        )
    return CheckResult(True, "your pixel error matches in every case.")


def _membrane_cases() -> list[np.ndarray]:
    # A thin diagonal membrane: 8-connected interiors leak through it, 4-connected ones do not.
    diagonal = np.eye(6, dtype=bool)
    grid = np.zeros((9, 11), dtype=bool)
    grid[4, :] = grid[:, 5] = True
    rng = np.random.default_rng(3)
    walls = np.zeros((12, 12), dtype=bool)
    walls[:, [3, 8]] = True
    walls[rng.integers(0, 12, 4), :] = True
    return [diagonal, grid, walls]


def check_cells_from_membranes(function: Callable[[np.ndarray], np.ndarray]) -> CheckResult:
    """Check a reader's ``function(membranes)``: from a boolean membrane mask, a label image with
    0 on the membranes and one positive label per connected cell interior (4-connected, so that a
    one-pixel diagonal membrane still separates). Label numbers may differ; the grouping may not."""
    for membranes in _membrane_cases():
        got, problem = _call(function, membranes)
        if problem:
            return CheckResult(False, problem)
        expected = label(~membranes, connectivity=1)
        if got.shape != membranes.shape:
            return CheckResult(False, f"your label image is {got.shape}, the membrane mask {membranes.shape}")
        if not np.array_equal(got == 0, membranes):
            if np.array_equal(got == 0, ~membranes):
                return CheckResult(False, "you labelled the membranes; label the cell interiors (~membranes)")
            return CheckResult(False, "label 0 should mark exactly the membrane pixels")
        with np.errstate(invalid="ignore", divide="ignore"):  # a single-pixel cell has no pairs
            error, _, _ = adapted_rand_error(expected, got.astype(np.int64))
        if np.isclose(error, 0):
            continue
        if np.array_equal(got.astype(np.int64), label(~membranes, connectivity=2)):
            return CheckResult(
                False,
                "your cells leak through one-pixel diagonal membranes: pass "
                "connectivity=1 to skimage.measure.label (4-neighbours)",
            )
        return CheckResult(
            False, f"you found {len(np.unique(got)) - 1} cells where there are {int(expected.max())} separate interiors"
        )
    return CheckResult(True, "your cells match the connected interiors in every case.")


def check_dihedral_average(function: Callable[[Callable, np.ndarray], np.ndarray]) -> CheckResult:
    """Check a reader's ``function(predict, image)``: apply ``predict`` to the image turned by 0, 90,
    180, 270 degrees, each also mirrored left-right; turn every result back; return their mean."""
    rng = np.random.default_rng(5)
    image = rng.random((5, 5))

    def predict(array: np.ndarray) -> np.ndarray:
        # Not rotation-invariant on purpose: a difference along the rows, shifted down.
        return np.roll(np.diff(array, axis=1, append=0), 1, axis=0) + array[:1]

    views = []
    for turns in range(4):
        for mirror in (False, True):
            view = np.rot90(image, turns)
            view = view[:, ::-1] if mirror else view
            answer = predict(view.copy())
            answer = answer[:, ::-1] if mirror else answer
            views.append(np.rot90(answer, -turns))
    expected = np.mean(views, axis=0)
    got, problem = _call(function, predict, image)
    if problem:
        return CheckResult(False, problem)
    if got.shape != image.shape:
        return CheckResult(False, f"your result is {got.shape}, the image {image.shape}")
    if np.allclose(got, expected):
        return CheckResult(True, "your average over the 8 rotations and mirrors matches.")
    if np.allclose(got, np.mean(views[::2], axis=0)):
        return CheckResult(False, "that averages the 4 rotations only: add each rotation's mirror image")
    not_turned_back = np.mean(
        [predict(np.rot90(image, k)[:, ::-1] if m else np.rot90(image, k)) for k in range(4) for m in (False, True)],
        axis=0,
    )
    if np.allclose(got, not_turned_back):
        return CheckResult(
            False,
            "turn each prediction back (mirror again, then np.rot90 by -k) before "
            "averaging, so every pixel is averaged with itself",
        )
    return CheckResult(False, "the average differs: mirror, rotate by k, predict, mirror back, rotate by -k")
