"""Chapter 11's exercises: IoU per class from a confusion matrix, class weights from pixel
counts, and decoding a colour mask with a palette.

Example:
    A wrong answer, and what the check says:

    >>> check_class_weights(lambda counts: 1 / counts)
    Not yet: for counts [600, 300, 100] you give [0.0017, 0.0033, 0.01]:
        expected [0.5, 1.0, 3.0]
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from unetlib.exercises._common import CheckResult, _call, _show

__all__ = [
    "check_class_weights",
    "check_decode_palette",
    "check_iou_from_confusion",
]


def _matrices() -> list[np.ndarray]:
    """Confusion matrices C[true, predicted] to check against: hand-made, random, one class absent."""
    rng = np.random.default_rng(10)
    noisy = rng.integers(0, 20, (4, 4)) + np.diag([90, 60, 30, 5])
    absent = np.array([[5, 1, 0], [2, 7, 0], [0, 0, 0]])  # class 2: neither true nor predicted
    return [np.array([[3, 1], [0, 2]]), noisy, absent]


def _iou_by_counting(matrix: np.ndarray) -> np.ndarray:
    """IoU of each class from pixel lists rebuilt from the matrix, counted as sets of pixels."""
    truth = np.repeat(np.arange(matrix.size) // matrix.shape[0], matrix.ravel())
    prediction = np.repeat(np.arange(matrix.size) % matrix.shape[0], matrix.ravel())
    ious = []
    for k in range(matrix.shape[0]):
        union = np.sum((truth == k) | (prediction == k))
        ious.append(np.sum((truth == k) & (prediction == k)) / union if union else np.nan)
    return np.array(ious)


def check_iou_from_confusion(function: Callable[[np.ndarray], np.ndarray]) -> CheckResult:
    """Check a reader's ``function(matrix)``: the IoU of every class from a confusion matrix
    ``C[true, predicted]``, NaN for a class with no pixels true or predicted.

    The reference rebuilds a pixel list from each matrix and counts intersection and union per
    class, independently of :func:`unetlib.metrics.iou_from_confusion`."""
    for matrix in _matrices():
        got, problem = _call(function, matrix.copy())
        if problem:
            return CheckResult(False, problem)
        expected = _iou_by_counting(matrix)
        if got.shape != expected.shape:
            if got.shape == ():
                return CheckResult(
                    False,
                    f"you return one number ({_show(got)}): return one IoU per class, {len(expected)} of them",
                )
            return CheckResult(False, f"you return shape {got.shape}: one IoU per class is shape {expected.shape}")
        if np.allclose(got, expected, equal_nan=True):
            continue
        hits = np.diag(matrix).astype(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            recall, precision = hits / matrix.sum(1), hits / matrix.sum(0)
            dice = 2 * hits / (matrix.sum(0) + matrix.sum(1))
        present = ~np.isnan(expected)
        if np.allclose(got[present], recall[present]):
            hint = "that is each class's recall, C[k, k] / row sum: the union also holds the column"
        elif np.allclose(got[present], precision[present]):
            hint = "that is each class's precision, C[k, k] / column sum: the union also holds the row"
        elif np.allclose(got[present], dice[present]):
            hint = "that is the Dice of each class; IoU is TP / (TP + FP + FN)"
        elif np.allclose(got[present], expected[present]):
            hint = (
                f"for class {int(np.flatnonzero(~present)[0])}, with no pixels true or predicted, you give "
                f"{_show(got[~present][0])}: it has no IoU (NaN), so that a mean can leave it out"
            )
        else:
            hint = f"IoU is C[k, k] / (row k + column k - C[k, k]); expected {np.round(expected, 4).tolist()}"
        return CheckResult(False, f"for C = {matrix.tolist()} you give {np.round(got, 4).tolist()}: {hint}")
    return CheckResult(True, "your IoU per class matches counting the pixels, NaN for an absent class included.")


def check_class_weights(function: Callable[[np.ndarray], np.ndarray]) -> CheckResult:
    """Check a reader's ``function(counts)``: median frequency balancing, ``median(f) / f_c``
    with ``f`` the pixel frequencies of the classes present, and 0 for a class with no pixels."""
    cases = [np.array([600, 300, 100]), np.array([4_366_211, 14_351_827, 2_819_345, 3_516_601, 11_413_607])]
    cases.append(np.array([50, 0, 200, 150]))
    for counts in cases:
        got, problem = _call(function, counts.copy())
        if problem:
            return CheckResult(False, problem)
        present = counts > 0
        frequency = counts / counts.sum()
        expected = np.zeros(len(counts))
        expected[present] = np.median(frequency[present]) / frequency[present]
        if got.shape != expected.shape:
            return CheckResult(False, f"you return shape {got.shape}: one weight per class is shape {expected.shape}")
        if np.allclose(got, expected):
            continue
        with np.errstate(divide="ignore"):
            inverse = np.where(present, 1 / frequency, 0)
            by_mean = np.where(present, np.mean(frequency[present]) / frequency, 0)
        if np.allclose(got[present], inverse[present]):
            hint = "that is 1 / f: divide the median frequency by each class's, so the median class gets 1"
        elif np.allclose(got[present], 1 / expected[present]):
            hint = "upside down: the rarer class must get the larger weight, median(f) / f_c"
        elif np.allclose(got[present], by_mean[present]):
            hint = "that uses the mean frequency: median frequency balancing uses the median"
        elif not present.all() and np.allclose(got[present], expected[present]):
            hint = "a class with no pixels gets weight 0 (and the median is over the classes present)"
        else:
            hint = f"expected {np.round(expected, 4).tolist()}"
        return CheckResult(False, f"for counts {counts.tolist()} you give {np.round(got, 4).tolist()}: {hint}")
    return CheckResult(True, "your weights are median(f) / f, and 0 for an absent class.")


def check_decode_palette(function: Callable[[np.ndarray, dict], np.ndarray]) -> CheckResult:
    """Check a reader's ``function(mask, palette)``: an ``(H, W, 3)`` uint8 colour mask and a dict
    ``{(r, g, b): class}`` give the ``(H, W)`` class map; a colour missing from the palette
    raises ValueError instead of becoming a class."""
    palette = {(60, 16, 152): 0, (132, 41, 246): 1, (110, 193, 228): 2, (16, 60, 152): 3, (155, 155, 155): 255}
    colours = np.array(list(palette))
    rng = np.random.default_rng(4)
    which = rng.integers(0, len(colours), (6, 7))
    mask = colours[which].astype(np.uint8)
    expected = np.array(list(palette.values()))[which]
    got, problem = _call(function, mask.copy(), dict(palette))
    if problem:
        return CheckResult(False, problem)
    if got.shape != expected.shape:
        return CheckResult(
            False,
            f"you return shape {got.shape} for a {mask.shape} mask: one class index per pixel is "
            f"{expected.shape} (compare all three channels, then keep one number per pixel)",
        )
    if not np.array_equal(got, expected):
        swapped = {(b, g, r): k for (r, g, b), k in palette.items()}
        if all(np.array_equal(got[which == k], expected[which == k]) for k in (1, 2, 4)) and not np.array_equal(
            got[(which == 0) | (which == 3)], expected[(which == 0) | (which == 3)]
        ):
            hint = (
                "(60, 16, 152) and (16, 60, 152) got mixed up: compare the colours channel by channel, "
                "not by a sum or other summary of the three"
            )
        elif len(swapped) == len(palette) and np.array_equal(got, np.array(list(swapped.values()))[which]):
            hint = "the channels are in order R, G, B"
        else:
            first = tuple(int(i) for i in np.argwhere(got != expected)[0])
            hint = (
                f"pixel {first} is colour {tuple(int(v) for v in mask[first])}, class {expected[first]}, "
                f"you give {_show(got[first])} (with uint8 values, r * 65536 overflows: convert to int first)"
            )
        return CheckResult(False, hint)
    stray = mask.copy()
    stray[2, 3] = (0, 0, 0)
    try:
        function(stray, dict(palette))
    except ValueError:
        return CheckResult(True, "your decoding matches, and a colour outside the palette stops with a ValueError.")
    except Exception as error:  # the reader's code may raise anything; report it
        return CheckResult(
            False,
            f"for a colour outside the palette your function raised {type(error).__name__}: {error}; raise ValueError",
        )
    return CheckResult(
        False,
        "a mask with a pixel of colour (0, 0, 0), which the palette does not hold, was decoded without an error: "
        "raise a ValueError naming the colour, or it silently becomes some class",
    )
