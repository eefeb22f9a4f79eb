"""Chapter 13's scene and experiment: a Landsat 7 scene of North Carolina and its land-cover map.

The same functions serve the chapter, its tests and ``benchmarks/landsat_bands.py``, so that a
number on the page and the one in the results file come from one piece of code:

- :func:`load_landsat`: the six bands (a :class:`~unetlib.geo.Scene`), the valid mask and the labels
- :func:`band_inputs`: the network's input for a set of bands (all six, RGB, RGB + indices)
- :func:`spectral_index`: a normalised difference of two bands (NDVI, NDWI)
- :func:`spatial_blocks`: a split of the scene by square blocks, not by pixels
- :func:`train_on_scene`: train a U-Net on the training blocks, score the validation and test blocks

Needs rasterio (``pip install "unetlib[geo]"``). The data are CC BY-SA 3.0 (see the chapter).
"""

from __future__ import annotations

import numpy as np
import torch

from unetlib._checks import choice, integer
from unetlib.config import TrainConfig
from unetlib.data import RandomCrops
from unetlib.geo import NODATA_CLASS, Scene, band_statistics, normalise_bands, read_labels, scene_chips
from unetlib.metrics import confusion_matrix, iou_from_confusion, mean_over_classes
from unetlib.model import UNet
from unetlib.prediction import predict_logits
from unetlib.train import fit

__all__ = [
    "BAND_SETS",
    "LANDSAT_BANDS",
    "LANDSAT_CLASSES",
    "SPLIT_NAMES",
    "band_inputs",
    "load_landsat",
    "spatial_blocks",
    "spectral_index",
    "train_on_scene",
]

#: The scene's bands, in the order :func:`load_landsat` stacks them: (file suffix, name).
LANDSAT_BANDS = (
    ("10", "blue"),
    ("20", "green"),
    ("30", "red"),
    ("40", "near infrared"),
    ("50", "short-wave infrared 1"),
    ("70", "short-wave infrared 2"),
)

#: The land-cover classes, in class-index order; the label raster codes them 1..7.
LANDSAT_CLASSES = ("developed", "agriculture", "herbaceous", "shrubland", "forest", "water", "sediment")

#: The network inputs the chapter compares.
BAND_SETS = ("six bands", "RGB", "RGB + indices")

#: The parts of :func:`spatial_blocks`'s map, by value.
SPLIT_NAMES = ("train", "validation", "test")


def load_landsat(folder=None, with_frame: bool = False) -> tuple[Scene, np.ndarray, np.ndarray, np.ndarray]:
    """``(scene, pixels, valid, labels)``: the six-band scene (open), its ``(6, H, W)`` float32
    values, the pixels valid in all bands, and the class indices (255 where unknown or nodata).

    ``folder`` holds the files (default: :func:`unetlib.data.download.fetch` ``("landsat")``).
    ``with_frame=True`` keeps the labels the map has under the imagery's nodata frame (a mistake
    to train on, which the chapter measures).
    """
    from pathlib import Path

    from unetlib.data import fetch

    folder = Path(fetch("landsat") if folder is None else folder)
    scene = Scene([folder / f"lsat7_2000_{suffix}.tif" for suffix, _ in LANDSAT_BANDS])
    pixels, valid = scene.read()
    codes = range(1, len(LANDSAT_CLASSES) + 1)
    if with_frame:
        with Scene(folder / "strata.tif") as label_scene:  # valid wherever the map itself has a label
            labels = read_labels(folder / "strata.tif", label_scene, classes=codes)
    else:
        labels = read_labels(folder / "strata.tif", scene, classes=codes, valid=valid)
    return scene, pixels, valid, labels


def spectral_index(first, second) -> np.ndarray:
    """The normalised difference ``(first - second) / (first + second)``, 0 where both are 0.

    NDVI is (near infrared, red): leaves reflect near infrared strongly and absorb red.
    NDWI (McFeeters) is (green, near infrared): water absorbs near infrared.
    """
    first, second = np.asarray(first, np.float64), np.asarray(second, np.float64)
    total = first + second
    return np.where(total != 0, (first - second) / np.where(total != 0, total, 1), 0.0)


def band_inputs(pixels, band_set: str) -> np.ndarray:
    """The network's input channels for ``band_set`` (one of :data:`BAND_SETS`) from the six bands."""
    choice(band_set, "band_set", BAND_SETS)
    blue, green, red, near_infrared = pixels[0], pixels[1], pixels[2], pixels[3]
    if band_set == "six bands":
        return np.asarray(pixels, np.float32)
    rgb = np.stack([red, green, blue])
    if band_set == "RGB":
        return rgb.astype(np.float32)
    indices = np.stack([spectral_index(near_infrared, red), spectral_index(green, near_infrared)])
    return np.concatenate([rgb, indices]).astype(np.float32)


def spatial_blocks(valid, block: int = 64, fractions=(0.5, 0.2, 0.3), seed: int = 0) -> np.ndarray:
    """A ``(H, W)`` map of 0 (train), 1 (validation) and 2 (test), assigned by square blocks.

    Neighbouring pixels of a scene are alike (the same field, the same wood): a split by random
    pixels puts near-copies of every test pixel in the training set. Whole blocks of
    ``block`` pixels go to one part each; the blocks holding valid pixels are shuffled
    (``seed``) and dealt out in the given ``fractions``.
    """
    valid = np.asarray(valid, bool)
    block = integer(block, "block", minimum=1)
    rows, cols = -(-valid.shape[0] // block), -(-valid.shape[1] // block)
    ids = (np.arange(valid.shape[0])[:, None] // block) * cols + np.arange(valid.shape[1])[None, :] // block
    used = np.unique(ids[valid])
    order = np.random.default_rng(seed).permutation(used)
    edges = np.round(np.cumsum(fractions)[:-1] / np.sum(fractions) * len(order)).astype(int)
    part = np.full(rows * cols, 2, np.int64)
    for index, blocks in enumerate(np.split(order, edges)):
        part[blocks] = index
    return part[ids]


def train_on_scene(
    inputs,
    valid,
    labels,
    split,
    seed: int = 0,
    epochs: int = 40,
    mask_nodata: bool = True,
    crop: int = 64,
    parts=("validation",),
) -> dict:
    """Train a small U-Net on the scene's training part; score its validation and test parts.

    Args:
        inputs: ``(C, H, W)`` raw channels (:func:`band_inputs`).
        valid: ``(H, W)`` pixels with data in every band.
        labels: ``(H, W)`` class indices, 255 where unknown. With ``mask_nodata=False``, pass
            the labels under the nodata frame too, from ``load_landsat(with_frame=True)``.
        split: ``(H, W)`` 0/1/2 map (:func:`spatial_blocks`, or a random-pixel one).
        seed: seeds the network's weights and the training.
        epochs: passes of 64 random crops (8 steps of 8).
        mask_nodata: False shows the mistake: statistics over every pixel, nodata values included
            and fed to the network, and labels under the nodata frame trained on.
        crop: side of the training crops.
        parts: the parts scored, of ``"validation"`` and ``"test"`` (score the test part once,
            for the configuration chosen on validation).

    Returns:
        A dict of ``"validation"`` (the mIoU) and ``"validation_per_class"`` (each class's IoU),
        the same for ``"test"`` if scored, ``"model"`` (the network), ``"mean"`` and ``"std"``
        (the statistics it was trained with) and ``"classes"`` (the ``(H, W)`` prediction).
        Scores count valid pixels only; a class's IoU is NaN where it is neither in the part
        nor predicted.
    """
    inputs, valid, labels = np.asarray(inputs, np.float32), np.asarray(valid, bool), np.asarray(labels)
    train_area = split == 0
    if mask_nodata:
        mean, std = band_statistics(inputs, train_area & valid)
        network_input = normalise_bands(inputs, valid, mean, std)
        train_labels = np.where(train_area & valid, labels, NODATA_CLASS)
    else:
        everything = np.ones(valid.shape, bool)
        mean, std = band_statistics(inputs, train_area)
        network_input = normalise_bands(inputs, everything, mean, std)
        train_labels = np.where(train_area, labels, NODATA_CLASS)
    chips, chip_labels = scene_chips(network_input, train_labels, crop, min_labelled=0.25)
    crops = RandomCrops(
        chips, chip_labels, crop=crop, samples=64, augment=True, elastic=0.0, intensity=False, seed=seed
    )
    torch.manual_seed(seed)
    num_classes = len(LANDSAT_CLASSES)
    model = UNet(len(inputs), num_classes, depth=3, base_channels=16, padding="same", batch_norm=True)
    config = TrainConfig(epochs=epochs, lr=3e-3, batch_size=8, seed=seed, ignore_index=NODATA_CLASS, progress=False)
    fit(model, crops, config=config)
    classes = predict_logits(model, network_input).argmax(0).numpy()
    result = {"model": model, "mean": mean, "std": std, "classes": classes}
    for name in parts:
        part = SPLIT_NAMES.index(choice(name, "parts", SPLIT_NAMES[1:]))
        scored = (split == part) & valid & (labels != NODATA_CLASS)
        matrix = confusion_matrix(classes[scored], labels[scored], num_classes)
        per_class = iou_from_confusion(matrix)
        result[name] = float(mean_over_classes(per_class))
        result[f"{name}_per_class"] = [float(v) for v in per_class]
    return result
