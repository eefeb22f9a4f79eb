"""How good is a segmentation? Overlap (Dice, IoU), pixel error, Rand error, object F1.

Conventions, stated once: masks are compared as given (boolean or 0/1 for :func:`dice`,
:func:`iou`); when *both* the prediction and the truth are empty, Dice and IoU are 1 (nothing to
find, nothing found: a perfect answer), and when only one is empty they are 0. An array with no
pixels at all (shape ``(0, 0)``) has nothing to score and is refused. Pixel accuracy is not
offered on purpose: with 80 % background, predicting "background" everywhere scores 80 %.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from skimage.metrics import adapted_rand_error

from unetlib._checks import integer, number, real_array, to_numpy

__all__ = [
    "confusion_matrix",
    "dice",
    "iou",
    "iou_from_confusion",
    "mean_iou",
    "mean_over_classes",
    "object_f1",
    "per_class_iou",
    "pixel_error",
    "rand_error",
    "warping_error",
]


def _binary(mask, name: str) -> np.ndarray:
    array = _array(mask, name)
    values = np.unique(array)
    if not np.isin(values, [0, 1]).all():
        raise ValueError(
            f"{name} must be a binary mask (0/1 or bool), found values {values[:6].tolist()}; "
            "compare one class at a time, e.g. dice(prediction == 1, truth == 1)"
        )
    return array.astype(bool)


def _array(value, name: str) -> np.ndarray:
    """A NumPy view of an array or tensor; refuses None, scalars, strings, objects and empty arrays."""
    array = to_numpy(value)
    if array.ndim == 0 or array.dtype.kind not in "biuf":
        raise TypeError(
            f"{name} must be an array of numbers or booleans, got {type(value).__name__}"
            f"{' of dtype ' + str(array.dtype) if array.ndim else ''}"
        )
    if array.size == 0:
        # An empty mask would score 1 (nothing to find, nothing found) or NaN: never what was meant.
        raise ValueError(
            f"{name} is empty (shape {array.shape}): there are no pixels to score; "
            "pass the whole mask or label image (an empty crop or slice?)"
        )
    return array


def _labels(value, name: str, negative: bool = False) -> np.ndarray:
    """An integer label image; float arrays must hold whole numbers (0.3 is not a label).

    Labels below 0 are refused unless ``negative`` (a caller that checks the range itself).
    """
    array = _array(value, name)
    if array.dtype.kind == "f":
        if not np.isfinite(array).all() or (array != np.round(array)).any():
            fractional = ~np.isfinite(array) | (array != np.round(array))
            probabilities = np.isfinite(array).all() and array.min() >= 0 and array.max() <= 1
            raise ValueError(
                f"{name} must hold integer labels, got non-integer values such as "
                f"{array[fractional][:3].tolist()}; "
                + (
                    f"probabilities? threshold them first, e.g. {name} > 0.5"
                    if probabilities
                    else "threshold or label it first"
                )
            )
    labels = array.astype(np.int64)
    if not negative and labels.min() < 0:
        raise ValueError(
            f"{name} holds negative labels (such as {int(labels.min())}): labels are 0 for background and "
            "1, 2, ... for objects or classes"
        )
    return labels


def _instances(value, name: str) -> np.ndarray:
    """Instance labels (one number per object); a binary mask of several objects is refused.

    An image holding only 0 and 1 whose 1s form more than one connected region is a mask, not
    instances: scored as one object, its objects would all be a single one. A single object
    labelled 1 (one connected region) passes.
    """
    labels = _labels(value, name)
    if labels.max() == 1:
        from skimage.measure import label

        regions = int(label(labels).max())
        if regions > 1:
            raise ValueError(
                f"{name} holds only 0 and 1, in {regions} separate regions: that is a binary mask, not "
                f"instance labels (one number per object), and would be scored as one object; label its "
                f"objects first, e.g. skimage.measure.label({name})"
            )
    return labels


def _binary_pair(prediction, truth) -> tuple[np.ndarray, np.ndarray]:
    p, t = _binary(prediction, "prediction"), _binary(truth, "truth")
    if p.shape != t.shape:
        raise ValueError(f"prediction {p.shape} and truth {t.shape} must have the same shape")
    return p, t


def dice(prediction, truth) -> float:
    """Dice coefficient ``2 |P ∩ T| / (|P| + |T|)`` of two binary masks; 1 if both are empty.

    Example:
        >>> dice(np.array([1, 1, 0, 0]), np.array([1, 0, 0, 0]))
        0.6666666666666666
    """
    p, t = _binary_pair(prediction, truth)
    total = p.sum() + t.sum()
    return 1.0 if total == 0 else float(2 * (p & t).sum() / total)


def iou(prediction, truth) -> float:
    """Intersection over union ``|P ∩ T| / |P ∪ T|`` of two binary masks; 1 if both are empty.

    Example:
        >>> iou(np.array([1, 1, 0, 0]), np.array([1, 0, 0, 0]))
        0.5
    """
    p, t = _binary_pair(prediction, truth)
    union = (p | t).sum()
    return 1.0 if union == 0 else float((p & t).sum() / union)


def pixel_error(prediction, truth) -> float:
    """Fraction of pixels whose class differs (the ISBI 2012 challenge's pixel error).

    Example:
        >>> pixel_error(np.array([0, 1, 2, 2]), np.array([0, 1, 1, 2]))
        0.25
    """
    p, t = _labels(prediction, "prediction"), _labels(truth, "truth")
    if p.shape != t.shape:
        raise ValueError(f"prediction {p.shape} and truth {t.shape} must have the same shape")
    for name, values, other in (("truth", t, p), ("prediction", p, t)):
        if values.max() == 255 and set(np.unique(values).tolist()) == {0, 255} and other.max() == 1:
            raise ValueError(
                f"{name} holds 0 and 255, the other argument 0 and 1: a mask saved for viewing; "
                f"decode it first, e.g. {name} // 255 or unetlib.data.decode_mask({name}, 'binary')"
            )
    return float((p != t).mean())


def rand_error(prediction, truth) -> float:
    """Adapted Rand error (1 - Rand F-score) between two label images, as in ISBI 2012.

    Each argument labels regions (cells) with integers, 0 for boundary/background; the score
    asks whether pairs of pixels are grouped together in both. Computed by
    :func:`skimage.metrics.adapted_rand_error`; 0 is perfect. Pixels labelled 0 in ``truth``
    are left out ("foreground-restricted"); in ``prediction``, 0 is a region like any other.

    Args:
        prediction: ``(H, W)`` integer labels of the regions found.
        truth: ``(H, W)`` integer labels of the true regions, 0 where nothing is scored.

    Returns:
        The error, from 0 (the same grouping) towards 1.

    Example:
        Merging two true cells of 18 pixels each: of the 36 * 35 ordered pairs the merge groups,
        2 * 18 * 17 are right (precision 612 / 1260, recall 1), so the error is 1 - F1.

        >>> truth = np.zeros((6, 6), int)
        >>> truth[:, :3], truth[:, 3:] = 1, 2
        >>> round(rand_error(np.ones((6, 6), int), truth), 4), rand_error(truth * 5, truth)
        (0.3462, 0.0)
    """
    s, t = _labels(prediction, "prediction"), _labels(truth, "truth")
    if s.shape != t.shape:
        raise ValueError(f"prediction {s.shape} and truth {t.shape} must have the same shape")
    error, _, _ = adapted_rand_error(t, s)
    return float(error)


# The 8 neighbours of a pixel, in the order of the bits of its neighbourhood code.
_NEIGHBOURS = ((-1, -1), (-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1))


def _is_simple(code: int) -> bool:
    """Whether a pixel whose 8 neighbours are ``code``'s bits (1 = membrane) is simple.

    Membranes are 8-connected and cells 4-connected (as in ``cells_from_membranes``); a pixel
    is simple when its membrane neighbours form one 8-connected group and its cell neighbours
    one 4-connected group that touches it side-on: then flipping it changes no component and
    no hole (Bertrand 1994).
    """
    window = np.zeros((3, 3), bool)
    for bit, (dy, dx) in enumerate(_NEIGHBOURS):
        window[1 + dy, 1 + dx] = bool(code >> bit & 1)
    _, membrane_groups = ndimage.label(window, structure=np.ones((3, 3)))
    cells = ~window
    cells[1, 1] = False
    cell_labels, _ = ndimage.label(cells)  # 4-connected
    touching = {cell_labels[1 + dy, 1 + dx] for dy, dx in ((-1, 0), (0, 1), (1, 0), (0, -1))} - {0}
    return membrane_groups == 1 and len(touching) == 1


_SIMPLE = np.array([_is_simple(code) for code in range(256)])


def _neighbour_codes(mask: np.ndarray) -> np.ndarray:
    """Every pixel's neighbourhood code: bit ``k`` set where neighbour ``k`` is True (outside: False)."""
    padded = np.pad(mask, 1).astype(np.uint8)
    height, width = mask.shape
    codes = np.zeros(mask.shape, np.uint8)
    for bit, (dy, dx) in enumerate(_NEIGHBOURS):
        codes |= padded[1 + dy : 1 + dy + height, 1 + dx : 1 + dx + width] << bit
    return codes


def warping_error(prediction, truth) -> float:
    """Warping error of a binary membrane map (Jain et al. 2010; ISBI 2012): its topological mistakes.

    The true membranes are warped towards the prediction by flipping, one at a time, pixels
    where the two disagree that are *simple* (flipping them joins, splits, opens or closes
    nothing). What no such warp can remove (a gap that merges two cells, a stray wall that
    splits one) is left; the error is the share of pixels where the best warp still
    disagrees. A boundary drawn one pixel off costs nothing, a one-pixel gap costs a pixel.
    Flips are made in nine interleaved grids, in raster order of the grids, until none is
    possible; a different order can end one or two pixels apart.

    Args:
        prediction: ``(H, W)`` binary membrane map found (True or 1 = membrane).
        truth: ``(H, W)`` binary true membrane map.

    Returns:
        The share of pixels that no topology-preserving warp of ``truth`` gets right, 0 to 1.

    Example:
        A wall drawn one pixel to the side costs nothing; a hole in it, one pixel of 25.

        >>> truth = np.zeros((5, 5), bool)
        >>> truth[:, 2] = True
        >>> warping_error(np.roll(truth, 1, axis=1), truth)
        0.0
        >>> holed = truth.copy()
        >>> holed[2, 2] = False
        >>> warping_error(holed, truth)
        0.04
    """
    p, t = _binary_pair(prediction, truth)
    return float((_warp_towards(p, t) != p).mean())


def _warp_towards(prediction: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """``truth`` with simple pixels flipped towards ``prediction`` until no flip is left."""
    warped = truth.copy()
    while True:
        flipped = 0
        for dy in range(3):
            for dx in range(3):
                # Pixels of one grid are 3 apart: flipping one leaves the others' neighbourhoods unchanged.
                grid = np.zeros_like(warped)
                grid[dy::3, dx::3] = True
                flip = grid & (warped != prediction) & _SIMPLE[_neighbour_codes(warped)]
                warped ^= flip
                flipped += int(flip.sum())
        if flipped == 0:
            return warped


def object_f1(prediction, truth, threshold: float = 0.5) -> dict[str, float]:
    """Object-level F1: a predicted object matches a true one if their IoU exceeds ``threshold``.

    With ``threshold >= 0.5`` a match is unique (two objects cannot both overlap a third by more
    than half), so counting pairs is exact.

    Args:
        prediction: instance label image (0 = background, one number per object).
        truth: instance label image (0 = background, one number per object). An image holding
            only 0 and 1 in several separate regions is a binary mask, not instances, and is
            refused: label it first (``skimage.measure.label``).
        threshold: IoU above which two objects are the same object.

    Returns:
        ``{"f1", "precision", "recall", "matched", "predicted", "true"}``.

    Example:
        One of two true objects found, plus one invented: precision 1/2, recall 1/2.

        >>> truth = np.array([[1, 1, 0, 2, 2, 0]])
        >>> found = np.array([[1, 1, 0, 0, 0, 3]])
        >>> object_f1(found, truth)["f1"], object_f1(found, truth)["matched"]
        (0.5, 1)
    """
    threshold = number(threshold, "threshold")
    if not 0.5 <= threshold < 1:
        raise ValueError(
            f"threshold is an IoU in [0.5, 1) (at least 0.5 so that matches are unique), got {threshold!r}"
        )
    p, t = _instances(prediction, "prediction"), _instances(truth, "truth")
    if p.shape != t.shape:
        raise ValueError(f"prediction {p.shape} and truth {t.shape} must have the same shape")
    p, t = p.ravel(), t.ravel()
    p_ids, p_index = np.unique(p, return_inverse=True)
    t_ids, t_index = np.unique(t, return_inverse=True)
    overlap = np.zeros((len(p_ids), len(t_ids)), dtype=np.int64)
    np.add.at(overlap, (p_index, t_index), 1)
    p_size, t_size = overlap.sum(1, keepdims=True), overlap.sum(0, keepdims=True)
    ious = overlap / (p_size + t_size - overlap)
    ious = ious[p_ids != 0][:, t_ids != 0]  # objects only
    matched = int((ious > threshold).sum())
    n_pred, n_true = ious.shape
    precision = matched / n_pred if n_pred else 1.0
    recall = matched / n_true if n_true else 1.0
    f1 = 1.0 if n_pred == n_true == 0 else 2 * matched / (n_pred + n_true)
    return {"f1": f1, "precision": precision, "recall": recall, "matched": matched, "predicted": n_pred, "true": n_true}


# --------------------------------------------------------------------------------------------
# More than two classes: the confusion matrix and the intersection over union of every class.
# --------------------------------------------------------------------------------------------


def confusion_matrix(prediction, truth, num_classes: int, ignore_index: int | None = None) -> np.ndarray:
    """Pixel counts ``C[t, p]``: how many pixels of true class ``t`` were predicted as ``p``.

    Rows are the true classes, columns the predicted ones (as in scikit-learn). Pixels whose
    truth is ``ignore_index`` (an "unlabelled" class, say) are not counted.

    Args:
        prediction, truth: integer class maps of the same shape (arrays or tensors).
        num_classes: ``K``; every counted value must lie in ``0 .. K-1``.
        ignore_index: a truth value to leave out, or None.

    Returns:
        ``(K, K)`` int64 counts.

    Example:
        >>> confusion_matrix(np.array([0, 1, 1, 2]), np.array([0, 1, 2, 2]), num_classes=3)
        array([[1, 0, 0],
               [0, 1, 0],
               [0, 1, 1]])
    """
    num_classes = integer(num_classes, "num_classes", minimum=1)
    if ignore_index is not None:
        ignore_index = integer(ignore_index, "ignore_index")
    p, t = _labels(prediction, "prediction", negative=True), _labels(truth, "truth", negative=True)
    if p.shape != t.shape:
        raise ValueError(f"prediction {p.shape} and truth {t.shape} must have the same shape")
    keep = np.ones(t.shape, bool) if ignore_index is None else t != ignore_index
    p, t = p[keep], t[keep]
    for name, values in (("prediction", p), ("truth", t)):
        if values.size and (values.min() < 0 or values.max() >= num_classes):
            bad = values[(values < 0) | (values >= num_classes)]
            hint = " (a 0/255 mask? decode it first, e.g. with decode_mask)" if 255 in bad else ""
            raise ValueError(
                f"{name} holds {int(bad[0])}, outside the classes 0..{num_classes - 1} "
                f"(num_classes={num_classes}){hint}"
            )
    return np.bincount(t * num_classes + p, minlength=num_classes**2).reshape(num_classes, num_classes)


def per_class_iou(prediction, truth, num_classes: int, ignore_index: int | None = None) -> np.ndarray:
    """The intersection over union ``TP / (TP + FP + FN)`` of every class, from the confusion matrix.

    A class that is neither in the truth nor predicted has no IoU: NaN, left out of
    :func:`mean_iou` (not 1, which would reward a model for classes the images do not hold).

    Returns:
        ``(K,)`` floats.

    Example:
        >>> per_class_iou(np.array([0, 1, 1, 2]), np.array([0, 1, 2, 2]), num_classes=4).round(3)
        array([1. , 0.5, 0.5, nan])
    """
    return iou_from_confusion(confusion_matrix(prediction, truth, num_classes, ignore_index))


def iou_from_confusion(matrix) -> np.ndarray:
    """Every class's IoU from a confusion matrix ``C[true, predicted]`` (see :func:`confusion_matrix`).

    Class ``k``'s true positives are ``C[k, k]``; its false negatives the rest of row ``k``, its
    false positives the rest of column ``k``. Pooling the pixels of many images is adding their
    matrices. NaN for a class with an empty row and column.

    Example:
        >>> iou_from_confusion(np.array([[3, 1], [0, 2]])).round(3)
        array([0.75 , 0.667])
    """
    matrix = real_array(matrix, "matrix", ndim=2, finite=True, nonempty=True)
    if matrix.shape[0] != matrix.shape[1] or (matrix < 0).any():
        raise ValueError(f"matrix must be a square table of counts (K, K), >= 0, got shape {matrix.shape}")
    true_positive = np.diag(matrix).astype(np.float64)
    union = matrix.sum(axis=0) + matrix.sum(axis=1) - true_positive
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, true_positive / union, np.nan)


def mean_iou(prediction, truth, num_classes: int, ignore_index: int | None = None) -> float:
    """The mean of :func:`per_class_iou` over the classes present (in the truth or predicted).

    Every class counts the same, however few its pixels: a class the model never predicts
    costs a whole ``1 / K``, which pixel accuracy would hide.

    Example:
        >>> mean_iou(np.array([0, 1, 1, 2]), np.array([0, 1, 2, 2]), num_classes=4)
        0.6666666666666666
    """
    return mean_over_classes(per_class_iou(prediction, truth, num_classes, ignore_index))


def mean_over_classes(ious) -> float:
    """The mean of per-class scores, leaving out the NaN of classes absent and never predicted
    (NaN if every class is); the one rule behind :func:`mean_iou` and the chapters' tables.

    Example:
        >>> mean_over_classes([1.0, 0.5, float("nan")])
        0.75
    """
    ious = real_array(ious, "ious", ndim=1, nonempty=True)
    outside = (ious < 0) | (ious > 1)
    if outside.any():
        raise ValueError(
            f"ious must be scores from 0 to 1 (NaN for a class absent and never predicted), got "
            f"{ious[outside][:3].tolist()}; pass per-class IoU or Dice, e.g. per_class_iou(...)"
        )
    return float(np.nanmean(ious)) if np.isfinite(ious).any() else float("nan")
