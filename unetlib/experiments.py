"""The training chapters' experiments as functions, so that the chapters, the tests and the
benchmark run the same code: train a U-Net on random crops of a few large images (Chapters 7
and 9), score it on whole held-out ones: nuclei by Dice and object F1 (Chapter 7), EM membranes
by pixel error and Rand error (Chapter 9).
"""

from __future__ import annotations

import json
import time
from importlib.resources import files

import numpy as np
import torch
from skimage.measure import label
from skimage.segmentation import expand_labels

from unetlib.data import RandomCrops
from unetlib.metrics import dice, object_f1, pixel_error, rand_error
from unetlib.model import UNet
from unetlib.train import choose_device, fit, predict

__all__ = ["cells_from_membranes", "load_results", "score_membranes", "score_on_images", "train_on_crops"]


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
