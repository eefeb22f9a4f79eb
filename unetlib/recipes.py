"""The book's named recipes and data splits, defined once.

A recipe is everything a training run needs besides the data: the network's shape, the
:class:`~unetlib.config.TrainConfig`, the random crops and their augmentation, and how raw
images are normalised. The chapters, the benchmarks, the tests and ``python -m unetlib.train
--recipe NAME`` all read these, so that a chapter's recipe and the command's are the same run.

Example:
    >>> CHAPTER8_RECIPE.train.lr, AERIAL_RECIPE.train.loss
    (0.003, 'dice')
    >>> len(BBBC039_SPLIT.train), len(BBBC039_SPLIT.val), len(BBBC039_SPLIT.test)
    (20, 10, 30)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence

from unetlib._checks import choice, describe, integer
from unetlib.config import TrainConfig
from unetlib.data.augment import RandomCrops
from unetlib.data.segmentation import UNLABELLED

__all__ = [
    "NORMALISATIONS",
    "AERIAL_RECIPE",
    "AUGMENTATIONS",
    "BBBC039_SPLIT",
    "BBBC039_SUBSET_SPLIT",
    "CHAPTER8_RECIPE",
    "DUBAI_TEST_TILE",
    "DUBAI_VALIDATION_TILE",
    "RECIPES",
    "Recipe",
    "Split",
    "dubai_split",
]

#: How random crops are augmented. ``"full"`` flips, rotates, deforms elastically and jitters the
#: intensity (microscopy); ``"flips"`` only flips and rotates (aerial scenes: roads do not bend,
#: colours carry the classes); ``"none"``.
AUGMENTATIONS = ("full", "flips", "none")

#: How raw images become the network's input (the command's ``--normalise``).
#: ``"percentile"`` stretches each image's 1st-99.8th percentile to 0..1 (microscopy), ``"scale"``
#: divides by the type's maximum, ``"channel-statistics"`` scales like ``"scale"`` and then
#: subtracts the training set's mean and divides by its standard deviation, channel by channel.
NORMALISATIONS = ("percentile", "scale", "channel-statistics")


@dataclass(frozen=True)
class Split:
    """Which items (by index) train, which choose (validation) and which are scored once (test)."""

    train: Sequence[int]
    val: Sequence[int]
    test: Sequence[int]

    def __post_init__(self) -> None:
        parts = {name: tuple(getattr(self, name)) for name in ("train", "val", "test")}
        for name, items in parts.items():
            if not all(isinstance(i, int) and i >= 0 for i in items):
                raise TypeError(f"{name} must hold item indices (whole numbers >= 0), got {describe(items)}")
        shared = set(parts["train"]) & set(parts["val"]) | set(parts["train"]) & set(parts["test"])
        shared |= set(parts["val"]) & set(parts["test"])
        if shared:
            raise ValueError(f"train, val and test must not share items; {sorted(shared)} are in two of them")

    def pick(self, items: Sequence, part: str) -> list:
        """The items of ``part`` (``"train"``, ``"val"`` or ``"test"``), in order."""
        choice(part, "part", ("train", "val", "test"))
        return [items[i] for i in getattr(self, part)]


#: Chapter 8's split of the 60 BBBC039 images of ``load_bbbc039(more=True)``, by image: the
#: subset's 20 (0-19) train; of the 40 more (20-59), every fourth (20, 24, ..., 56) validates,
#: choosing the training length and how objects are cut out, and the other 30 test, once.
BBBC039_SPLIT = Split(
    train=range(0, 20),
    val=range(20, 60, 4),
    test=[k for k in range(20, 60) if k % 4],
)

#: A split of the 20-image subset alone (``load_bbbc039()``), for the quick runs of Chapter 7's
#: sweep and of the tests: images 0-12 train, 13-14 validate, 15-19 test.
BBBC039_SUBSET_SPLIT = Split(train=range(0, 13), val=range(13, 15), test=range(15, 20))

#: The Dubai set's test tile in Chapter 11, never trained on.
DUBAI_TEST_TILE = 3
#: The tile Chapter 11 validates on. Of the five other than the test tile, it is the one whose
#: class mix is closest to the other four's (total variation distance 0.30, computed in the
#: chapter), so that its score speaks for them.
DUBAI_VALIDATION_TILE = 2


def dubai_split(names: Sequence[str]) -> Split:
    """Chapter 11's split of the Dubai scenes by tile: Tile 2 validates, Tile 3 tests, the others train.

    Example:
        >>> split = dubai_split(["Tile 1/image_part_001", "Tile 2/image_part_001", "Tile 3/image_part_001"])
        >>> split.train, split.val, split.test
        ([0], [1], [2])
    """

    def tile(number: int) -> list[int]:
        return [k for k, name in enumerate(names) if name.startswith(f"Tile {number}/")]

    val, test = tile(DUBAI_VALIDATION_TILE), tile(DUBAI_TEST_TILE)
    return Split(train=[k for k in range(len(names)) if k not in val + test], val=val, test=test)


@dataclass(frozen=True)
class Recipe:
    """A named way to train: the network, the training settings, the crops and the normalisation.

    Args:
        model: :class:`~unetlib.model.UNet` arguments besides ``in_channels`` and ``num_classes``.
        train: the :class:`~unetlib.config.TrainConfig`.
        crop: side of the random training crops.
        samples: crops per epoch.
        augment: one of :data:`AUGMENTATIONS`.
        normalise: one of :data:`NORMALISATIONS`.
        weight_map: weight each pixel's cross-entropy with the paper's border weight map
            (:func:`~unetlib.losses.weight_map` of the objects, ``w0=10``, ``sigma=5``, no class
            balance), for touching objects of one class.
    """

    model: dict = field(default_factory=dict)
    train: TrainConfig = field(default_factory=TrainConfig)
    crop: int = 128
    samples: int = 64
    augment: str = "full"
    normalise: str = "percentile"
    weight_map: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.train, TrainConfig):
            raise TypeError(f"train must be a unetlib.config.TrainConfig, got {describe(self.train)}")
        integer(self.crop, "crop", minimum=1)
        integer(self.samples, "samples", minimum=1)
        choice(self.augment, "augment", AUGMENTATIONS)
        choice(self.normalise, "normalise", NORMALISATIONS)

    @property
    def steps(self) -> int:
        """The number of optimiser steps of the whole training on one process.

        That is ``train.epochs`` epochs of ``ceil(samples / batch_size)`` steps each.
        """
        return self.train.epochs * math.ceil(self.samples / self.train.batch_size)

    def crops(self, images, targets, weights=None, seed: int = 0, samples: int | None = None) -> RandomCrops:
        """The recipe's random, augmented training crops of ``images`` (``samples`` per epoch)."""
        return RandomCrops(
            images,
            targets,
            weights,
            crop=self.crop,
            samples=self.samples if samples is None else samples,
            augment=self.augment != "none",
            seed=seed,
            elastic=0.5 if self.augment == "full" else 0.0,
            intensity=self.augment == "full",
        )


#: Chapter 8's recipe for nuclei. A small U-Net with batch norm, 12 epochs of 8 steps of 8 crops,
#: the rate warmed up to 3e-3 and decayed along a cosine, every augmentation, the border weight map.
CHAPTER8_RECIPE = Recipe(
    model=dict(depth=3, base_channels=16, padding="same", batch_norm=True),
    train=TrainConfig(epochs=12, lr=3e-3, batch_size=8, schedule="warmup-cosine"),
    crop=128,
    samples=64,
    augment="full",
    normalise="percentile",
    weight_map=True,
)

#: Chapter 11's recipe for land cover from the air, as chosen on its validation tile
#: (``benchmarks/aerial_recipes.py``): the soft Dice loss over every class, no augmentation (flips
#: and rotations tied with none there, and none scored higher), 600 steps (75 epochs of 8 steps of
#: 8 crops); unlabelled pixels (255) ignored, RGB normalised with the training set's channel
#: statistics.
AERIAL_RECIPE = Recipe(
    model=dict(depth=4, base_channels=16, padding="same", batch_norm=True),
    train=TrainConfig(epochs=75, lr=2e-3, batch_size=8, loss="dice", ignore_index=UNLABELLED),
    crop=128,
    samples=64,
    augment="none",
    normalise="channel-statistics",
)

#: The command's defaults. The paper's network (depth 4, 64 channels) with same padding, a
#: warmed-up cosine schedule, every augmentation.
DEFAULT_RECIPE = Recipe(
    model=dict(depth=4, base_channels=64, padding="same"), train=TrainConfig(schedule="warmup-cosine")
)

#: The recipes by name (the command's ``--recipe``).
RECIPES = {"default": DEFAULT_RECIPE, "chapter8": CHAPTER8_RECIPE, "aerial": AERIAL_RECIPE}
