"""The training chapters' experiments as functions, so that the chapters, the tests and the
benchmark run the same code: train a U-Net on random crops of a few large images (Chapters 8
and 10), score it on whole held-out ones: nuclei by Dice and object F1 (Chapter 8), EM membranes
by pixel error and Rand error (Chapter 10); and Chapter 11's multi-class recipe,
:func:`train_multiclass`, which returns a :class:`~unetlib.prediction.Segmenter` for raw RGB images of any size.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import replace
from importlib.resources import files

import numpy as np
import torch
from skimage.measure import label
from skimage.segmentation import expand_labels

from unetlib._checks import boolean, choice, integer, label_image, number, real_array
from unetlib.config import TrainConfig
from unetlib.data import RandomCrops
from unetlib.metrics import (
    confusion_matrix,
    dice,
    iou_from_confusion,
    mean_over_classes,
    object_f1,
    pixel_error,
    rand_error,
)
from unetlib.model import UNet
from unetlib.prediction import Segmenter, label_objects, predict_probabilities
from unetlib.recipes import AERIAL_RECIPE, CHAPTER8_RECIPE, Recipe
from unetlib.train import fit

__all__ = [
    "cells_from_membranes",
    "channel_statistics",
    "class_pixel_counts",
    "filed_rows",
    "filed_scores",
    "load_results",
    "median_frequency_weights",
    "score_membranes",
    "score_multiclass",
    "score_on_images",
    "train_multiclass",
    "train_on_crops",
]


def load_results(name: str) -> dict:
    """A results file of an experiment too long for the book build, shipped with ``unetlib``.

    ``benchmarks/learning_curves.py`` writes ``unetlib/results/<name>.json`` (with the machine,
    the versions, the seeds and the date); the chapters plot it, in Colab too.

    Example:
        >>> load_results("chapter8_learning_curves")["seeds"]
        [0, 1, 2]
    """
    folder = files("unetlib.results")
    available = sorted(path.name[:-5] for path in folder.iterdir() if path.name.endswith(".json"))
    if name not in available:
        raise ValueError(f"no results file named {name!r}; available: {available}")
    return json.loads(folder.joinpath(f"{name}.json").read_text())


def filed_rows(results: dict, configuration: str, part: str = "validation") -> list[dict]:
    """The rows of a multi-class results file (``chapter11_aerial``) for one configuration.

    Args:
        results: the file, from :func:`load_results`.
        configuration: a configuration's name, such as ``"dice"``.
        part: the file's section: ``"validation"`` (choices), ``"test"`` (the final recipe
            scored once), ``"curve"`` (scores against length) or another it holds.

    Returns:
        One dict per seed (or per point of a curve), in the file's order.
    """
    if not isinstance(results, dict) or part not in results:
        sections = sorted(k for k, v in results.items() if isinstance(v, list)) if isinstance(results, dict) else []
        raise ValueError(f"part must be a section of the results file, got {part!r}; sections: {sections}")
    rows = [row for row in results[part] if row.get("configuration") == configuration]
    if not rows:
        names = sorted({row.get("configuration") for row in results[part]})
        raise ValueError(f"no rows for configuration {configuration!r} in {part!r}; configurations: {names}")
    return rows


def filed_scores(results: dict, configuration: str, key: str = "mean_iou", part: str = "validation") -> np.ndarray:
    """One score of every seed of a configuration: on the validation tile, or the test tile for
    ``part="test"``.

    Example:
        >>> filed_scores(load_results("chapter11_aerial"), "dice").shape  # three seeds
        (3,)
    """
    tile = "test_tile" if part == "test" else "validation_tile"
    return np.array([row[tile][key] for row in filed_rows(results, configuration, part)])


def train_on_crops(
    images,
    targets,
    weight_maps=None,
    augment: bool = True,
    val: tuple[list, list] | None = None,
    seed: int = 0,
    device=None,
    recipe: Recipe = CHAPTER8_RECIPE,
    **settings,
) -> tuple[UNet, dict, float]:
    """Train a same-padding U-Net (2 classes) with Chapter 8's recipe on random crops of ``images``.

    The recipe (:data:`~unetlib.recipes.CHAPTER8_RECIPE`): a U-Net of depth 3 and 16 channels
    with batch norm, 12 epochs of 8 steps of 8 random 128x128 crops, a learning rate that warms
    up, peaks at 3e-3 and decays along a cosine (the fast recipe of ``benchmarks/learning_curves.py``).

    Args:
        images: ``(1, H, W)`` float arrays.
        targets: ``(H, W)`` class indices (0 background, 1 foreground), one per image.
        weight_maps: optional per-pixel weights for the cross-entropy (:func:`~unetlib.losses.weight_map`).
        augment: flips, rotations, elastic deformation and intensity jitter (else none).
        val: ``(images, targets)`` for the learning curves (16 crops, the same at every epoch).
        seed: seeds the weights, the crops and the augmentation.
        device: where to train (default: :func:`~unetlib.config.choose_device`).
        recipe: the :class:`~unetlib.recipes.Recipe` to start from.
        epoch_steps: with ``steps``, cut them into epochs of this many steps (default: one
            epoch of them all); the crops are drawn afresh every epoch.
        on_epoch_end: called as ``on_epoch_end(segmenter, history)`` after every epoch (the
            network as trained so far, e.g. to score it on validation images: a learning curve
            from one run); returning True stops training there.
        **settings: changes to the recipe: the network's (``depth``, ``base_channels``,
            ``batch_norm``) or the training's (:class:`~unetlib.config.TrainConfig` fields, e.g.
            ``epochs``, ``lr``, ``schedule``).

    Returns:
        The model, its history and the training time in seconds.
    """
    model_settings = recipe.model | {
        k: settings.pop(k) for k in list(settings) if k in ("depth", "base_channels", "batch_norm")
    }
    config = recipe.train.replace(seed=seed, device=device, progress=False, **settings)
    torch.manual_seed(seed)
    model = UNet(1, 2, **model_settings)
    crops = replace(recipe, augment=recipe.augment if augment else "none").crops(images, targets, weight_maps, seed)
    val_crops = (
        None if val is None else RandomCrops(*val, crop=recipe.crop, samples=16, augment=False, seed=99, fixed=True)
    )
    start = time.perf_counter()
    history = fit(model, crops, val=val_crops, config=config)
    return model, history, time.perf_counter() - start


def score_on_images(
    model, images, instances, device=None, threshold: float = 0.5, min_size: int = 0, grow: int = 0
) -> tuple[float, float]:
    """Mean pixel Dice of the foreground and mean object F1 (IoU > 0.5), over whole images,
    against instance labels.

    The Dice scores the most likely class of each pixel; the objects are
    :func:`~unetlib.prediction.label_objects` of the foreground probability with ``threshold``,
    ``min_size`` and ``grow`` (the defaults: the connected regions of that same foreground).
    """
    dices, f1s = [], []
    for image, truth in zip(images, instances):
        probability = predict_probabilities(model, image, device=device)[1].numpy()
        dices.append(dice(probability > 0.5, truth > 0))
        objects = label_objects(probability, threshold, min_size, grow)
        f1s.append(object_f1(objects, truth)["f1"])
    return float(np.mean(dices)), float(np.mean(f1s))


def cells_from_membranes(membranes) -> np.ndarray:
    """Label the cells a membrane mask encloses: each 4-connected region of non-membrane pixels
    gets its own label, membranes are 0. (8-connected regions would leak through a membrane one
    pixel thick wherever it runs diagonally.)

    Example:
        >>> membranes = np.array([[0, 1, 0], [1, 0, 0], [0, 0, 0]], bool)
        >>> cells_from_membranes(membranes).tolist()   # the corner cell stays apart
        [[1, 0, 2], [0, 2, 2], [2, 2, 2]]
    """
    return label(~_membrane_mask(membranes), connectivity=1)


def _membrane_mask(membranes) -> np.ndarray:
    """``membranes`` as a boolean ``(H, W)`` mask, refusing probabilities and empty arrays."""
    mask = real_array(membranes, "membranes", ndim=2, nonempty=True, shape_hint="(H, W)")
    if not np.isin(mask, (0, 1)).all():
        raise ValueError(
            f"membranes must be a 0/1 (or boolean) mask, got values {float(mask.min()):g}..{float(mask.max()):g}: "
            "threshold a probability map first (probability > 0.5)"
        )
    return mask == 1


def score_membranes(membrane_probability, membranes, threshold: float = 0.5) -> tuple[float, float]:
    """Pixel error and Rand error of a membrane probability map, thresholded at ``threshold``.

    The Rand error compares cells: the predicted cells are :func:`cells_from_membranes` of the
    thresholded map, grown over the predicted membrane pixels (``expand_labels``) so that every
    pixel belongs to a cell, as ISBI 2012 thinned the predicted borders; pixels on a true membrane
    are left out ("foreground-restricted"), as in :func:`unetlib.metrics.rand_error`.

    Returns:
        ``(pixel_error, rand_error)``.

    Example:
        Two cells and a wall between them; a prediction with a one-pixel hole in the wall gets
        one pixel in 15 wrong, but merges the two cells.

        >>> membranes = np.array([[0, 0, 1, 0, 0]] * 3, bool)
        >>> broken = membranes.copy()
        >>> broken[1, 2] = False
        >>> score_membranes(membranes.astype(float), membranes)
        (0.0, 0.0)
        >>> pixel, rand = score_membranes(broken.astype(float), membranes)
        >>> round(pixel, 4), rand > 0.3
        (0.0667, True)
    """
    threshold = number(threshold, "threshold", minimum=0, maximum=1)
    probability = real_array(membrane_probability, "membrane_probability", ndim=2, nonempty=True, finite=True)
    predicted = probability > threshold
    truth = _membrane_mask(membranes)
    cells = expand_labels(cells_from_membranes(predicted), distance=max(predicted.shape))
    return pixel_error(predicted, truth), rand_error(cells, cells_from_membranes(truth))


# --------------------------------------------------------------------------------------------
# Chapter 11: many classes, RGB scenes of any size.
# --------------------------------------------------------------------------------------------


def _rgb_images(images, name: str = "images") -> list[np.ndarray]:
    if isinstance(images, np.ndarray) and images.ndim == 3:
        raise TypeError(
            f"{name} must be a list of (3, H, W) arrays, got one array of shape {images.shape}: wrap it in [...]"
        )
    if not isinstance(images, (list, tuple)) and not (isinstance(images, np.ndarray) and images.ndim == 4):
        raise TypeError(f"{name} must be a list of (3, H, W) arrays, got {type(images).__name__}")
    checked = []
    for k, image in enumerate(images):
        array = real_array(image, f"{name}[{k}]", ndim=3, finite=True, shape_hint=" (3, H, W): channels first")
        if array.shape[0] != 3:
            raise ValueError(
                f"{name}[{k}] has shape {array.shape}: expected (3, H, W), RGB channels first "
                "(for an (H, W, 3) array use np.moveaxis(image, -1, 0))"
            )
        if array.min() < 0 or array.max() > 1:
            raise ValueError(
                f"{name}[{k}] holds values {float(array.min()):g}..{float(array.max()):g}: expected [0, 1] "
                "(divide 8-bit images by 255)"
            )
        checked.append(array.astype(np.float32))
    if not checked:
        raise ValueError(f"{name} is empty: give at least one (3, H, W) image")
    return checked


def _check_class_maps(targets) -> None:
    if not isinstance(targets, (list, tuple)) and not (isinstance(targets, np.ndarray) and targets.ndim == 3):
        raise TypeError(f"targets must be a list of (H, W) class maps, got {type(targets).__name__}")


def channel_statistics(images) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation of each colour channel over every pixel of ``images``.

    Computed on the training images only, and then applied to every image (training, test,
    new): one fixed transformation, unlike a per-image stretch, which would make a dark scene
    and a bright one look alike.

    Example:
        >>> mean, std = channel_statistics([np.stack([np.zeros((2, 2)), np.ones((2, 2)), np.eye(2)])])
        >>> mean.tolist(), std.tolist()
        ([0.0, 1.0, 0.5], [0.0, 0.0, 0.5])
    """
    images = _rgb_images(images)
    pixels = sum(image[0].size for image in images)
    mean = sum(image.sum(axis=(1, 2), dtype=np.float64) for image in images) / pixels
    square = sum(((image - mean[:, None, None]) ** 2).sum(axis=(1, 2), dtype=np.float64) for image in images)
    return mean.astype(np.float32), np.sqrt(square / pixels).astype(np.float32)


def class_pixel_counts(targets, num_classes: int, ignore_index: int | None = None) -> np.ndarray:
    """How many pixels of each class ``targets`` hold (``ignore_index`` pixels not counted).

    Example:
        >>> class_pixel_counts([np.array([[0, 1], [1, 255]])], num_classes=3, ignore_index=255).tolist()
        [1, 2, 0]
    """
    num_classes = integer(num_classes, "num_classes", minimum=2)
    if ignore_index is not None:
        ignore_index = integer(ignore_index, "ignore_index")
    _check_class_maps(targets)
    counts = np.zeros(num_classes, np.int64)
    for k, target in enumerate(targets):
        values = label_image(target, f"targets[{k}]", ignore=ignore_index).ravel()
        if ignore_index is not None:
            values = values[values != ignore_index]
        if values.size and values.max() >= num_classes:
            hint = "" if ignore_index is not None else " (an 'unlabelled' value? pass it as ignore_index)"
            raise ValueError(
                f"targets[{k}] holds class {int(values.max())}, but num_classes={num_classes} allows 0..{num_classes - 1}{hint}"
            )
        counts += np.bincount(values, minlength=num_classes)
    return counts


def median_frequency_weights(counts) -> np.ndarray:
    """Class weights ``median(f) / f_c`` from pixel counts (median frequency balancing).

    Eigen and Fergus (2015): a class as frequent as the median class gets weight 1, a rarer
    one more, a commoner one less; classes with no pixels get 0 (there is nothing to weight).
    Gentler than inverse frequency ``1 / f_c``, which lets a class of a few pixels dominate.

    Example:
        >>> median_frequency_weights([600, 300, 100]).round(3).tolist()
        [0.5, 1.0, 3.0]
    """
    counts = real_array(counts, "counts", ndim=1, finite=True)
    if counts.size < 2 or (counts < 0).any() or counts.sum() == 0:
        raise ValueError(f"counts must be pixel counts (>= 0, not all 0) of 2 or more classes, got {counts.tolist()}")
    present = counts > 0
    frequency = counts / counts.sum()
    weights = np.zeros(counts.shape, np.float64)
    weights[present] = np.median(frequency[present]) / frequency[present]
    return weights.astype(np.float32)


#: The losses :func:`train_multiclass` compares (its ``loss`` argument).
AERIAL_LOSSES = ("dice", "cross-entropy", "weighted", "weighted+dice")


def train_multiclass(
    images,
    targets,
    num_classes: int,
    seconds: float | None = None,
    ignore_index: int | None = None,
    seed: int = 0,
    device=None,
    *,
    steps: int | None = None,
    augment: bool = False,
    loss: str = "dice",
    recipe: Recipe = AERIAL_RECIPE,
    epoch_steps: int | None = None,
    on_epoch_end: Callable[[Segmenter, dict], bool | None] | None = None,
    **settings,
) -> Segmenter:
    """Chapter 11's recipe: train a U-Net on raw RGB scenes and return it as a :class:`~unetlib.prediction.Segmenter`.

    A same-padding U-Net with batch norm is trained with Adam on random crops of ``images``,
    normalised with the training set's channel statistics, unlabelled pixels left out of the
    loss (:data:`~unetlib.recipes.AERIAL_RECIPE`; ``python -m unetlib.train --recipe aerial``
    trains the same network). Two choices and a length make the recipe; each is an argument,
    to measure what it brings (``benchmarks/aerial_recipes.py`` does, for Chapter 11, and the
    defaults are what it chose on the validation tile):

    - ``augment``: the 8 flips and rotations of each crop (an aerial scene has no "up"), with
      no elastic deformation (buildings and roads do not bend); off by default: on Chapter
      10's validation tile they tied with none;
    - ``loss``: ``"dice"`` (the default: the soft Dice loss averaged over every class, which
      scores each class by its overlap whatever its size), ``"cross-entropy"``,
      ``"weighted"`` (cross-entropy weighted by :func:`median_frequency_weights` of the
      training pixels) or ``"weighted+dice"`` (their sum).

    ``loss="cross-entropy"`` is the plain baseline.

    Args:
        images: ``(3, H, W)`` float arrays in [0, 1], any sizes (each at least ``crop`` square).
        targets: ``(H, W)`` class indices ``0..num_classes-1`` (or ``ignore_index``), one per image.
        num_classes: the number of classes K (the network's outputs).
        seconds: train for about this many seconds of wall time (stopping after the step that
            reaches it); or give ``steps``; or neither, for the recipe's own length
            (:attr:`~unetlib.recipes.Recipe.steps`: 600 for the aerial recipe, chosen on
            Chapter 11's validation tile).
        ignore_index: a target value whose pixels are left out of the loss (unlabelled).
        seed: seeds the weights, the crops and the augmentation.
        device: where to train (default :func:`~unetlib.config.choose_device`).
        steps: train for exactly this many steps instead (reproducible on one machine).
        augment, loss: the recipe's two choices (above).
        recipe: the :class:`~unetlib.recipes.Recipe` to start from.
        epoch_steps: with ``steps``, cut them into epochs of this many steps (default: one
            epoch of them all); the crops are drawn afresh every epoch.
        on_epoch_end: called as ``on_epoch_end(segmenter, history)`` after every epoch (the
            network as trained so far, e.g. to score it on validation images: a learning curve
            from one run); returning True stops training there.
        **settings: changes to it: ``depth``, ``base_channels``, ``crop``, ``batch_size``, ``lr``.

    Returns:
        A :class:`~unetlib.prediction.Segmenter`, with ``.history``, ``.steps``, ``.seconds``
        and ``.class_weights`` (None unless the loss is weighted).

    Example:
        >>> rng = np.random.default_rng(0)
        >>> images = [rng.random((3, 40, 48), dtype=np.float32)]
        >>> targets = [(images[0][0] > 0.5).astype(np.int64)]
        >>> segment = train_multiclass(images, targets, 2, steps=2, depth=2, base_channels=4, crop=32, batch_size=2)
        >>> segment(images[0]).shape, segment.steps
        ((40, 48), 2)
    """
    images = _rgb_images(images)
    num_classes = integer(num_classes, "num_classes", minimum=2)
    choice(loss, "loss", AERIAL_LOSSES)
    if seconds is not None and steps is not None:
        raise ValueError(
            f"give seconds (wall time) or steps, not both; got seconds={seconds}, steps={steps} "
            "(neither trains the recipe's own length)"
        )
    recipe, config = _aerial_settings(recipe, augment, settings)
    if seconds is None and steps is None:
        steps = recipe.steps
    # Epochs of 8 steps for a time budget (checked after every step); for a number of steps, one
    # epoch of them all unless epoch_steps cuts them.
    per_epoch, epochs = _epochs(steps, epoch_steps)
    config = config.replace(
        loss="dice" if loss == "dice" else ("cross-entropy+dice" if loss == "weighted+dice" else "cross-entropy"),
        ignore_index=ignore_index,
        seed=seed,
        device=device,
        progress=False,
        epochs=epochs,
        time_limit=seconds,
    )
    targets = _matching_targets(images, targets, recipe.crop)
    if loss.startswith("weighted"):
        config = config.replace(
            class_weights=median_frequency_weights(class_pixel_counts(targets, num_classes, ignore_index))
        )
    # One fixed normalisation, from the training images: the network sees colours, not stretches.
    mean, std = channel_statistics(images)
    torch.manual_seed(seed)
    model = UNet(3, num_classes, **recipe.model)
    # The Segmenter's own normalisation, so that training and prediction share one transformation.
    segmenter = Segmenter(model, mean, np.maximum(std, 1e-6))
    crops = recipe.crops(
        [segmenter.normalise(image) for image in images], targets, seed=seed, samples=per_epoch * config.batch_size
    )
    start = time.perf_counter()
    report = None if on_epoch_end is None else (lambda epoch, history: on_epoch_end(segmenter, history))
    history = fit(model, crops, config=config, on_epoch_end=report)
    model.cpu().eval()
    segmenter.history, segmenter.seconds = history, time.perf_counter() - start
    segmenter.steps = history["steps"][-1]
    segmenter.class_weights = None if config.class_weights is None else np.array(config.class_weights)
    return segmenter


def _epochs(steps: int | None, epoch_steps: int | None) -> tuple[int, int]:
    """Steps per epoch and epochs: 8-step epochs for a time budget, ``steps`` cut into ``epoch_steps``."""
    if steps is None:
        if epoch_steps is not None:
            raise ValueError(f"epoch_steps={epoch_steps} needs steps (a number of steps to cut into epochs)")
        return 8, 10**6
    steps = integer(steps, "steps", minimum=1)
    per_epoch = steps if epoch_steps is None else integer(epoch_steps, "epoch_steps", minimum=1)
    if steps % per_epoch:
        raise ValueError(f"steps={steps} is not a whole number of epochs of epoch_steps={per_epoch}: give a divisor")
    return per_epoch, steps // per_epoch


def _aerial_settings(recipe: Recipe, augment, settings: dict) -> tuple[Recipe, TrainConfig]:
    """The recipe with ``settings`` applied: its network and crops, and its training configuration."""
    augment = boolean(augment, "augment")
    network = {k: settings.pop(k) for k in list(settings) if k in ("depth", "base_channels")}
    if "depth" in network:
        network["depth"] = integer(network["depth"], "depth", minimum=1)
    crop = integer(settings.pop("crop", recipe.crop), "crop", minimum=2 ** network.get("depth", recipe.model["depth"]))
    recipe = replace(recipe, model=recipe.model | network, crop=crop, augment="flips" if augment else "none")
    return recipe, recipe.train.replace(**settings)


def _matching_targets(images: list, targets, crop: int) -> list:
    """The targets as a list, checked to match the images one to one, and the images at least ``crop`` square."""
    _check_class_maps(targets)
    targets = list(targets)
    if len(targets) != len(images):
        raise ValueError(f"need one target per image: {len(images)} images, {len(targets)} targets")
    for k, (image, target) in enumerate(zip(images, targets)):
        if np.shape(target) != image.shape[1:]:
            raise ValueError(
                f"targets[{k}] has shape {np.shape(target)}, but images[{k}] is {image.shape[1:]}: they must match"
            )
        if min(image.shape[1:]) < crop:
            raise ValueError(
                f"images[{k}] is {image.shape[1]}x{image.shape[2]}, smaller than the {crop}-pixel crops: use a smaller crop"
            )
    return targets


def score_multiclass(segment, images, targets, num_classes: int, ignore_index: int | None = None) -> dict:
    """Score a :class:`~unetlib.prediction.Segmenter` (or any function image -> class map) on whole images.

    The pixels of all the images are pooled into one confusion matrix (rows true, columns
    predicted), from which come every class's IoU, their mean over the classes present, and the
    pixel accuracy.

    Returns:
        ``{"confusion", "iou", "mean_iou", "accuracy"}``. The ``K x K`` counts as a list of
        lists; every class's IoU (NaN for a class absent and never predicted); their mean;
        the share of pixels right.
    """
    matrix = np.zeros((num_classes, num_classes), np.int64)
    for image, target in zip(images, targets):
        matrix += confusion_matrix(segment(image), target, num_classes, ignore_index)
    iou = iou_from_confusion(matrix)
    return {
        "confusion": matrix.tolist(),
        "iou": iou.tolist(),
        "mean_iou": mean_over_classes(iou),
        "accuracy": float(np.trace(matrix) / matrix.sum()),
    }
