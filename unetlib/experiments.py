"""The training chapters' experiments as functions, so that the chapters, the tests and the
benchmark run the same code: train a U-Net on random crops of a few large images (Chapters 7
and 9), score it on whole held-out ones: nuclei by Dice and object F1 (Chapter 7), EM membranes
by pixel error and Rand error (Chapter 9); and Chapter 10's multi-class recipe,
:func:`train_multiclass`, which returns a :class:`Segmenter` for raw RGB images of any size.
"""

from __future__ import annotations

import json
import time
from importlib.resources import files

import numpy as np
import torch
from skimage.measure import label
from skimage.segmentation import expand_labels

from unetlib._checks import boolean, choice, integer, label_image, number, real_array
from unetlib.data import RandomCrops
from unetlib.losses import combined_loss, dice_loss
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
from unetlib.tiling import predict_tiled
from unetlib.train import choose_device, fit, predict

__all__ = [
    "Segmenter",
    "cells_from_membranes",
    "channel_statistics",
    "class_pixel_counts",
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
        >>> load_results("chapter7_learning_curves")["seeds"]
        [0, 1, 2]
    """
    folder = files("unetlib.results")
    available = sorted(path.name[:-5] for path in folder.iterdir() if path.name.endswith(".json"))
    if name not in available:
        raise ValueError(f"no results file named {name!r}; available: {available}")
    return json.loads(folder.joinpath(f"{name}.json").read_text())


def train_on_crops(
    images,
    targets,
    weight_maps=None,
    augment: bool = True,
    epochs: int = 12,
    val: tuple[list, list] | None = None,
    depth: int = 3,
    base_channels: int = 16,
    batch_norm: bool = True,
    schedule: str = "warmup-cosine",
    lr: float = 3e-3,
    seed: int = 0,
    device=None,
) -> tuple[UNet, dict, float]:
    """Train a same-padding U-Net (2 classes) on random 128x128 crops, 64 per epoch, batches of 8.

    The defaults are the fast recipe of ``benchmarks/learning_curves.py``: batch norm, and a
    learning rate that warms up, peaks at 3e-3 and decays along a cosine.

    Args:
        images: ``(1, H, W)`` float arrays.
        targets: ``(H, W)`` class indices (0 background, 1 foreground), one per image.
        weight_maps: optional weight maps for :func:`~unetlib.losses.weighted_cross_entropy`.
        augment: flips, rotations, elastic deformation and intensity jitter.
        epochs: epochs of 8 steps.
        val: ``(images, targets)`` for the learning curves (16 crops, the same at every epoch).
        depth, base_channels: the U-Net's size.
        batch_norm: batch normalisation after every convolution.
        schedule, lr: the learning-rate schedule and its peak (:func:`~unetlib.train.learning_rate`).
        seed: seeds the weights, the crops and the augmentation.
        device: where to train (default: :func:`~unetlib.train.choose_device`).

    Returns:
        The model, its history and the training time in seconds.
    """
    torch.manual_seed(seed)
    model = UNet(1, 2, depth=depth, base_channels=base_channels, padding="same", batch_norm=batch_norm)
    crops = RandomCrops(images, targets, weight_maps, crop=128, samples=64, augment=augment, seed=seed)
    val_crops = None if val is None else RandomCrops(*val, crop=128, samples=16, augment=False, seed=99, fixed=True)
    start = time.perf_counter()
    history = fit(
        model,
        crops,
        val=val_crops,
        epochs=epochs,
        lr=lr,
        batch_size=8,
        schedule=schedule,
        device=choose_device(device),
        seed=seed,
        progress=False,
    )
    return model, history, time.perf_counter() - start


def score_on_images(model, images, instances, device=None) -> tuple[float, float]:
    """Mean pixel Dice of the foreground and mean object F1 (IoU > 0.5) of its connected
    regions, over whole images, against instance labels."""
    dices, f1s = [], []
    for image, truth in zip(images, instances):
        foreground = (predict(model, image, device=choose_device(device)).argmax(0) == 1).numpy()
        dices.append(dice(foreground, truth > 0))
        f1s.append(object_f1(label(foreground), truth)["f1"])
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
    return label(~np.asarray(membranes, dtype=bool), connectivity=1)


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
    predicted = np.asarray(membrane_probability) > threshold
    truth = np.asarray(membranes, dtype=bool)
    cells = expand_labels(cells_from_membranes(predicted), distance=max(predicted.shape))
    return pixel_error(predicted, truth), rand_error(cells, cells_from_membranes(truth))


# --------------------------------------------------------------------------------------------
# Chapter 10: many classes, RGB scenes of any size.
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
        values = label_image(target, f"targets[{k}]").ravel()
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


class Segmenter:
    """A trained network and the normalisation it was trained with: call it on a raw image.

    Args:
        model: a same-padding :class:`~unetlib.model.UNet` with 3 input channels.
        mean, std: the training set's per-channel statistics (:func:`channel_statistics`).
        tile_size: the side of the tiles :func:`~unetlib.tiling.predict_tiled` runs over an image
            (a multiple of ``2 ** depth``); the memory used does not grow with the image.

    Calling it on a ``(3, H, W)`` float image in [0, 1] of any size returns its ``(H, W)`` int64
    class map; :meth:`probabilities` returns the ``(K, H, W)`` softmax.
    """

    def __init__(self, model: UNet, mean, std, tile_size: int = 512, margin: int = 48):
        if not isinstance(model, UNet) or model.padding != "same" or model.in_channels != 3:
            raise TypeError(f"model must be a same-padding unetlib UNet with 3 input channels, got {model!r:.80}")
        self.model = model
        self.mean = real_array(mean, "mean", ndim=1, finite=True).astype(np.float32)
        self.std = real_array(std, "std", ndim=1, finite=True).astype(np.float32)
        if self.mean.shape != (3,) or self.std.shape != (3,) or (self.std <= 0).any():
            raise ValueError(f"mean and std must be 3 numbers each (std > 0), got {self.mean}, {self.std}")
        self.tile_size = integer(tile_size, "tile_size", minimum=2**model.depth)
        self.margin = integer(margin, "margin", minimum=0)
        self.history: dict = {}
        self.steps = 0
        self.seconds = 0.0
        self.class_weights: np.ndarray | None = None

    def normalise(self, image) -> np.ndarray:
        """``(image - mean) / std``, channel by channel."""
        (image,) = _rgb_images([image], "image")
        return (image - self.mean[:, None, None]) / self.std[:, None, None]

    def _logits(self, image) -> torch.Tensor:
        return predict_tiled(
            self.model, self.normalise(image), tile_size=self.tile_size, margin=self.margin, progress=False
        )

    def probabilities(self, image) -> np.ndarray:
        """``(K, H, W)`` class probabilities of a raw ``(3, H, W)`` image in [0, 1]."""
        return self._logits(image).softmax(0).numpy()

    def __call__(self, image) -> np.ndarray:
        return self._logits(image).argmax(0).numpy().astype(np.int64)


# The losses train_multiclass can train with (its ``loss`` argument).
LOSSES = ("dice", "cross-entropy", "weighted", "weighted+dice")


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
    augment: bool = True,
    loss: str = "dice",
    depth: int = 4,
    base_channels: int = 16,
    crop: int = 128,
    batch_size: int = 8,
    lr: float = 2e-3,
) -> Segmenter:
    """Chapter 10's recipe: train a U-Net on raw RGB scenes and return it as a :class:`Segmenter`.

    A same-padding U-Net with batch norm is trained with Adam on random crops of ``images``,
    normalised with the training set's channel statistics, unlabelled pixels left out of the
    loss. Two choices make the recipe; each is an argument, to measure what it brings
    (``benchmarks/aerial_recipes.py`` does, for Chapter 10):

    - ``augment``: the 8 flips and rotations of each crop (an aerial scene has no "up"), with
      no elastic deformation (buildings and roads do not bend);
    - ``loss``: ``"dice"`` (the default: the soft Dice loss averaged over every class, which
      scores each class by its overlap whatever its size), ``"cross-entropy"``,
      ``"weighted"`` (cross-entropy weighted by :func:`median_frequency_weights` of the
      training pixels) or ``"weighted+dice"`` (their sum).

    ``augment=False, loss="cross-entropy"`` is the plain baseline.

    Args:
        images: ``(3, H, W)`` float arrays in [0, 1], any sizes (each at least ``crop`` square).
        targets: ``(H, W)`` class indices ``0..num_classes-1`` (or ``ignore_index``), one per image.
        num_classes: the number of classes K (the network's outputs).
        seconds: train for about this many seconds of wall time (stopping after the step that
            reaches it); or give ``steps``.
        ignore_index: a target value whose pixels are left out of the loss (unlabelled).
        seed: seeds the weights, the crops and the augmentation.
        device: where to train (default :func:`~unetlib.train.choose_device`).
        steps: train for exactly this many steps instead (reproducible on one machine).
        augment, loss: the recipe's two choices (above).
        depth, base_channels, crop, batch_size, lr: the network, the crops and Adam's rate.

    Returns:
        A :class:`Segmenter`, with ``.history``, ``.steps``, ``.seconds`` and ``.class_weights``
        (None unless the loss is weighted).

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
    seed, depth = integer(seed, "seed", minimum=0), integer(depth, "depth", minimum=1)
    lr = number(lr, "lr", above=0)
    if (seconds is None) == (steps is None):
        raise ValueError(f"give seconds (wall time) or steps, exactly one; got seconds={seconds}, steps={steps}")
    if seconds is not None:
        seconds = number(seconds, "seconds", above=0)
    if steps is not None:
        steps = integer(steps, "steps", minimum=1)
    if ignore_index is not None:
        ignore_index = integer(ignore_index, "ignore_index")
    augment = boolean(augment, "augment")
    choice(loss, "loss", LOSSES)
    crop, batch_size = integer(crop, "crop", minimum=2**depth), integer(batch_size, "batch_size", minimum=1)
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
    counts = class_pixel_counts(targets, num_classes, ignore_index)

    # One fixed normalisation, from the training images: the network sees colours, not stretches.
    mean, std = channel_statistics(images)
    torch.manual_seed(seed)
    model = UNet(3, num_classes, depth=depth, base_channels=base_channels, padding="same", batch_norm=True)
    # The Segmenter's own normalisation, so that training and prediction share one transformation.
    segmenter = Segmenter(model, mean, np.maximum(std, 1e-6))
    normalised = [segmenter.normalise(image) for image in images]
    class_weights = torch.from_numpy(median_frequency_weights(counts)) if loss.startswith("weighted") else None

    taken = [0]  # training steps, counted by the loss (there is no validation set to score)

    def loss_function(logits, target, weights=None):
        taken[0] += 1
        if loss == "dice":
            return dice_loss(logits, target, background=None, ignore_index=ignore_index)
        return combined_loss(
            logits,
            target,
            weights,
            dice_weight=1.0 if loss == "weighted+dice" else 0.0,
            class_weights=class_weights,
            ignore_index=ignore_index,
            background=None,
        )

    # Epochs of 8 steps for a time budget (checked after every step); one epoch of them all for
    # a number of steps.
    per_epoch = 8 if steps is None else steps
    # Flips only: no bending, and no intensity jitter (colours carry the classes: water is blue).
    crops = RandomCrops(
        normalised,
        targets,
        crop=crop,
        samples=per_epoch * batch_size,
        augment=augment,
        seed=seed,
        elastic=0.0,
        intensity=False,
    )
    start = time.perf_counter()
    history = fit(
        model,
        crops,
        epochs=1 if steps is not None else 10**6,
        lr=lr,
        batch_size=batch_size,
        loss=loss_function,
        device=choose_device(device),
        seed=seed,
        progress=False,
        time_limit=seconds,
        ignore_index=ignore_index,
    )
    model.cpu().eval()
    segmenter.history, segmenter.seconds = history, time.perf_counter() - start
    segmenter.steps = taken[0]
    segmenter.class_weights = None if class_weights is None else class_weights.numpy()
    return segmenter


def score_multiclass(segment, images, targets, num_classes: int, ignore_index: int | None = None) -> dict:
    """Score a :class:`Segmenter` (or any function image -> class map) on whole images.

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
