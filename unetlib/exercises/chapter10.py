"""Chapter 10's exercises: the Rand error by counting pairs, cells from a membrane map,
averaging over rotations.

Example:
    A wrong answer, and what the check says:

    >>> from skimage.metrics import adapted_rand_error
    >>> check_rand_error(lambda prediction, truth: 1 - adapted_rand_error(truth, prediction)[0])
    Not yet: for a 8x10 case with 3 true regions and 2 predicted ones you give
        0.784431, scikit-image gives 0.2156: that is the Rand F-score: the error
        is 1 minus it
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from skimage.measure import label
from skimage.metrics import adapted_rand_error

from unetlib.exercises._common import CheckResult, _call, _show

__all__ = ["check_cells_from_membranes", "check_dihedral_average", "check_rand_error"]


def _rand_cases() -> list[tuple[np.ndarray, np.ndarray]]:
    """(prediction, truth) label images: a merge, a split, a relabelling, a shifted border, and
    truth with unscored 0 pixels that the prediction labels as it likes."""
    truth = np.zeros((8, 10), np.int64)
    truth[:, :4], truth[:, 4:7], truth[:, 7:] = 1, 2, 3
    merged = np.where(truth == 3, 2, truth)
    split = truth.copy()
    split[:4][truth[:4] == 1] = 9
    shifted = np.roll(truth, 1, axis=1)
    with_gaps = truth.copy()
    with_gaps[3, :] = 0  # a membrane: not scored
    rng = np.random.default_rng(21)
    noisy = np.where(rng.random(truth.shape) < 0.1, rng.integers(0, 4, truth.shape), truth)
    return [(merged, truth), (split, truth), (truth * 7 + 1, truth), (shifted, truth), (noisy, with_gaps)]


def _plain_rand_error(prediction: np.ndarray, truth: np.ndarray) -> float:
    """1 - the plain Rand index over all pixel pairs (agreeing on 'same' or 'different')."""
    a, b = truth.ravel(), prediction.ravel()
    same_a, same_b = a[:, None] == a[None, :], b[:, None] == b[None, :]
    off = ~np.eye(a.size, dtype=bool)
    return float(1 - (same_a == same_b)[off].mean())


def _rand_hint(got: float, prediction: np.ndarray, truth: np.ndarray) -> str:
    """The likely mistake behind a wrong Rand error."""
    if np.isclose(got, 1 - adapted_rand_error(truth, prediction)[0]):
        return "that is the Rand F-score: the error is 1 minus it"
    if np.isclose(got, _plain_rand_error(prediction, truth)):
        return (
            "that is 1 minus the plain Rand index, which also counts pairs split in both; the ISBI error "
            "is 1 - F1 of the pairs grouped together (precision against the prediction, recall against the truth)"
        )
    scored = truth > 0
    if not scored.all():
        everything = adapted_rand_error(truth + 1, prediction)[0]
        if np.isclose(got, everything):
            return "leave out the pixels where truth is 0 (membranes: nothing is scored there)"
    return (
        "count, in a contingency table n[i, j] of truth i against prediction j (truth > 0 only), the pairs "
        "grouped in both, sum n*(n-1), and in each image alone, from the row and column sums"
    )


def check_rand_error(function: Callable[[np.ndarray, np.ndarray], float]) -> CheckResult:
    """Check a reader's ``function(prediction, truth)`` on two label images: the ISBI 2012 Rand
    error, 1 - F1 of the pixel pairs that lie in one region, counted where ``truth > 0``
    (precision: of the pairs the prediction groups; recall: of the pairs the truth groups),
    against :func:`skimage.metrics.adapted_rand_error`."""
    for prediction, truth in _rand_cases():
        got, problem = _call(function, prediction, truth, number=True)
        if problem:
            return CheckResult(False, problem)
        expected = adapted_rand_error(truth, prediction)[0]
        if np.isclose(got, expected, atol=1e-9):
            continue
        return CheckResult(
            False,
            f"for a {truth.shape[0]}x{truth.shape[1]} case with {len(np.unique(truth[truth > 0]))} true regions and "
            f"{len(np.unique(prediction[truth > 0]))} predicted ones you give {_show(got)}, scikit-image gives "
            f"{expected:.4f}: {_rand_hint(float(got), prediction, truth)}",
        )
    return CheckResult(
        True, "your Rand error matches scikit-image's on merges, splits, relabelling and unscored pixels."
    )


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
