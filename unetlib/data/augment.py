"""Joint augmentation of an image and its targets (masks, weight maps), without torchvision.

Every geometric change is applied to the image and to each target alike, so they stay aligned:
integer targets (class or instance labels) are resampled by nearest neighbour, so no label is
ever blended into a value that does not exist; float targets (weight maps) linearly.

The paper's key augmentation is elastic deformation: "random displacement vectors on a coarse
3 by 3 grid ... sampled from a Gaussian distribution with 10 pixels standard deviation.
Per-pixel displacements are then computed using bicubic interpolation" (Ronneberger et al.,
2015). :func:`elastic_deform` does exactly that, with scikit-image and SciPy doing the
interpolation.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.ndimage import map_coordinates
from skimage.transform import resize

from unetlib._checks import boolean, generator, integer, integer_array, number, real_array, to_numpy

__all__ = ["Augment", "RandomCrops", "elastic_deform", "flip_rotate", "intensity_jitter", "random_crop"]


def _check(image: np.ndarray, targets: tuple[np.ndarray, ...]) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
    image = np.asarray(image)
    if image.ndim != 3:
        raise ValueError(f"image must be (C, H, W), got shape {image.shape}")
    targets = tuple(np.asarray(t) for t in targets)
    for index, target in enumerate(targets):
        if target.shape != image.shape[1:]:
            raise ValueError(
                f"target {index} has shape {target.shape}, but the image is {image.shape[1:]}: "
                "each target must be (H, W), the image's size"
            )
    return image, targets


def random_crop(image: np.ndarray, *targets: np.ndarray, crop: int, rng: np.random.Generator):
    """The same random ``crop x crop`` window of the image and of every target.

    Shapes: image ``(C, H, W)``, targets ``(H, W)``; returns ``(C, crop, crop)`` and ``(crop, crop)``.

    Example:
        >>> image = np.arange(36.0).reshape(1, 6, 6)
        >>> crop, mask = random_crop(image, image[0] * 10, crop=3, rng=np.random.default_rng(0))
        >>> crop.shape, bool((mask == crop[0] * 10).all())
        ((1, 3, 3), True)
    """
    image, targets = _check(image, targets)
    height, width = image.shape[1:]
    size = integer(crop, "crop", minimum=1)
    generator(rng)
    if size > min(height, width):
        raise ValueError(f"crop {size} is larger than the image ({height}x{width})")
    top, left = int(rng.integers(0, height - size + 1)), int(rng.integers(0, width - size + 1))
    window = (slice(top, top + size), slice(left, left + size))
    return (image[(slice(None), *window)], *(t[window] for t in targets))


def flip_rotate(image: np.ndarray, *targets: np.ndarray, rng: np.random.Generator):
    """One of the 8 flips and 90-degree rotations of the square, chosen at random, applied alike.

    Example:
        The mask moves with the image: it is still the image's pixels times 10.

        >>> image = np.arange(16.0).reshape(1, 4, 4)
        >>> turned, mask = flip_rotate(image, image[0] * 10, rng=np.random.default_rng(1))
        >>> bool((mask == turned[0] * 10).all()), sorted(turned.ravel()) == sorted(image.ravel())
        (True, True)
    """
    image, targets = _check(image, targets)
    generator(rng)
    turns, flip = int(rng.integers(0, 4)), bool(rng.integers(0, 2))

    def apply(array: np.ndarray) -> np.ndarray:
        array = np.rot90(array, turns, axes=(-2, -1))
        return np.flip(array, axis=-1) if flip else array

    return (apply(image), *(apply(t) for t in targets))


def elastic_deform(
    image: np.ndarray, *targets: np.ndarray, rng: np.random.Generator, sigma: float = 10.0, grid: int = 3
):
    """The paper's elastic deformation: Gaussian displacements (``sigma`` pixels) on a coarse
    ``grid x grid`` lattice, interpolated bicubically to every pixel, applied alike to all arrays.

    Args:
        image: ``(C, H, W)``.
        targets: ``(H, W)`` arrays; integer ones are resampled by nearest neighbour.
        rng: the random generator.
        sigma: standard deviation of the coarse displacements, in pixels (10 in the paper).
        grid: lattice size (3 in the paper).
    """
    image, targets = _check(image, targets)
    sigma, grid = number(sigma, "sigma", minimum=0), integer(grid, "grid", minimum=2)
    generator(rng)
    height, width = image.shape[1:]
    coarse = rng.normal(0.0, sigma, size=(2, grid, grid))
    # Bicubic interpolation of the coarse field to one displacement per pixel (order=3).
    field = np.stack([resize(c, (height, width), order=3, mode="edge", anti_aliasing=False) for c in coarse])
    rows, cols = np.meshgrid(np.arange(height), np.arange(width), indexing="ij")
    coordinates = np.stack([rows + field[0], cols + field[1]])

    def warp(array: np.ndarray, order: int) -> np.ndarray:
        return map_coordinates(array, coordinates, order=order, mode="reflect").astype(array.dtype)

    warped_image = np.stack([warp(channel, 1) for channel in image])
    warped = [warp(t, 0 if t.dtype.kind in "iub" else 1) for t in targets]
    return (warped_image, *warped)


def intensity_jitter(image: np.ndarray, rng: np.random.Generator, scale: float = 0.1, shift: float = 0.1) -> np.ndarray:
    """Multiply by ``1 + U(-scale, scale)`` and add ``U(-shift, shift)``: brightness and contrast."""
    image = real_array(image, "image")
    scale, shift = number(scale, "scale", minimum=0), number(shift, "shift", minimum=0)
    generator(rng)
    return (image * (1 + rng.uniform(-scale, scale)) + rng.uniform(-shift, shift)).astype(np.float32)


class Augment:
    """Crop, flip/rotate, elastically deform and jitter an image and its targets, at random.

    Args:
        crop: side of the random crop, or None to keep the size.
        elastic: probability of an elastic deformation.
        sigma: its displacement standard deviation in pixels (10 in the paper).
        intensity: apply :func:`intensity_jitter` to the image.
        seed: seed of this augmenter's random generator.
        flips: apply one of the 8 flips/rotations at random.

    Example:
        >>> augment = Augment(crop=32, seed=0)
        >>> image, mask = augment(np.zeros((1, 40, 50), np.float32), np.zeros((40, 50), np.int64))
        >>> image.shape, mask.shape
        ((1, 32, 32), (32, 32))
    """

    def __init__(
        self,
        crop: int | None = None,
        elastic: float = 0.5,
        sigma: float = 10.0,
        intensity: bool = True,
        seed: int = 0,
        flips: bool = True,
    ):
        elastic = number(elastic, "elastic", minimum=0, maximum=1, hint=" (a probability)")
        sigma = number(sigma, "sigma", minimum=0)
        if crop is not None:
            crop = integer(crop, "crop", minimum=1)
        intensity, flips = boolean(intensity, "intensity"), boolean(flips, "flips")
        seed = integer(seed, "seed", minimum=0)
        self.crop, self.elastic, self.sigma, self.intensity, self.flips = crop, elastic, sigma, intensity, flips
        self.rng = np.random.default_rng(seed)

    def __call__(self, image: np.ndarray, *targets: np.ndarray):
        arrays = (image, *targets)
        if self.crop is not None:
            arrays = random_crop(*arrays, crop=self.crop, rng=self.rng)
        if self.flips:
            arrays = flip_rotate(*arrays, rng=self.rng)
        if self.rng.random() < self.elastic:
            arrays = elastic_deform(*arrays, rng=self.rng, sigma=self.sigma)
        image, *targets = arrays
        if self.intensity:
            image = intensity_jitter(image, self.rng)
        return (np.ascontiguousarray(image), *(np.ascontiguousarray(t) for t in targets))


class RandomCrops(torch.utils.data.Dataset):
    """Random crops of a few large images, as a dataset of ``samples`` items per epoch.

    Args:
        images: ``(C, H, W)`` float arrays.
        targets: one ``(H, W)`` class-index array per image.
        weights: optional ``(H, W)`` weight maps, cropped (and augmented) with the targets.
        crop: side of the crops.
        samples: items per epoch.
        augment: whether to flip, rotate, deform and jitter each crop (:class:`Augment`).
        seed: seed of the crop positions and augmentations (``fit`` reseeds it every epoch).
        fixed: item ``i`` is the same crop every time it is read (seeded by ``(seed, i)``): for
            validation sets, so that every evaluation scores the same pixels.
        elastic: with ``augment``, the probability of an elastic deformation (0 for scenes
            whose shapes should not bend, such as roads and buildings seen from above).
        intensity: with ``augment``, jitter the brightness and contrast (False where colour
            carries the class, as in aerial images).

    Items:
        ``(image, target)`` or ``(image, target, weights)`` tensors.
    """

    def __init__(
        self,
        images,
        targets,
        weights=None,
        crop: int = 128,
        samples: int = 64,
        augment: bool = True,
        seed: int = 0,
        fixed: bool = False,
        elastic: float = 0.5,
        intensity: bool = True,
    ):
        crop, samples = integer(crop, "crop", minimum=1), integer(samples, "samples", minimum=1)
        augment, fixed = boolean(augment, "augment"), boolean(fixed, "fixed")
        intensity = boolean(intensity, "intensity")
        seed = integer(seed, "seed", minimum=0)
        if len(images) != len(targets) or (weights is not None and len(weights) != len(images)):
            raise ValueError(
                f"need one target (and weight map) per image: {len(images)} images, "
                f"{len(targets)} targets, {None if weights is None else len(weights)} weight maps"
            )
        if not len(images):
            raise ValueError("images must hold at least one (C, H, W) image to crop from, got none")
        self.images = [_crop_source(image, k, crop) for k, image in enumerate(images)]
        self.targets = [_class_map(target, f"targets[{k}]", self.images[k]) for k, target in enumerate(targets)]
        if weights is not None:
            weights = [_weight_map(w, f"weights[{k}]", self.images[k]) for k, w in enumerate(weights)]
        self.weights = weights
        self.samples, self.seed, self.fixed = samples, seed, fixed
        self.transform = Augment(
            crop=crop, elastic=elastic if augment else 0.0, intensity=augment and intensity, flips=augment, seed=seed
        )

    def __len__(self) -> int:
        return self.samples

    def __getitem__(self, index: int):
        if not 0 <= index < self.samples:
            raise IndexError(f"index {index} is out of range for {self.samples} samples")
        if self.fixed:
            self.transform.rng = np.random.default_rng([self.seed, index])
        rng = self.transform.rng
        which = int(rng.integers(0, len(self.images)))
        arrays = (self.images[which], self.targets[which]) + (() if self.weights is None else (self.weights[which],))
        image, *targets = self.transform(*arrays)
        tensors = [torch.from_numpy(image.astype(np.float32)), torch.from_numpy(targets[0].astype(np.int64))]
        if self.weights is not None:
            tensors.append(torch.from_numpy(targets[1].astype(np.float32)))
        return tuple(tensors)


def _crop_source(image, index: int, crop: int) -> np.ndarray:
    """Image ``index`` of :class:`RandomCrops`, checked: ``(C, H, W)``, finite, at least ``crop`` a side."""
    name = f"images[{index}]"
    array = real_array(image, name, ndim=3, finite=True, shape_hint="(C, H, W): channels first")
    if min(array.shape[1:]) < crop:
        raise ValueError(
            f"crop {crop} is larger than {name}, which is {array.shape[1]}x{array.shape[2]}; "
            f"use crop={min(array.shape[1:])} or less"
        )
    return to_numpy(image)  # in its own dtype, as the augmentation has always received it


def _class_map(target, name: str, image: np.ndarray) -> np.ndarray:
    """A target of :class:`RandomCrops`: whole numbers (class indices), the image's ``(H, W)``."""
    array = integer_array(target, name, ndim=2, shape_hint="(H, W): one class index per pixel")
    if array.shape != image.shape[1:]:
        raise ValueError(
            f"{name} has shape {array.shape}, but its image is {image.shape[1:]}: they must be the same size"
        )
    return array


def _weight_map(weights, name: str, image: np.ndarray) -> np.ndarray:
    """A weight map of :class:`RandomCrops`: finite weights >= 0, the image's ``(H, W)``."""
    array = real_array(weights, name, ndim=2, finite=True, shape_hint="(H, W): one weight per pixel")
    if array.shape != image.shape[1:]:
        raise ValueError(
            f"{name} has shape {array.shape}, but its image is {image.shape[1:]}: they must be the same size"
        )
    if (array < 0).any():
        raise ValueError(
            f"{name} holds negative weights (such as {float(array.min()):g}): a pixel's weight must be >= 0 "
            "(0 leaves it out); use unetlib.losses.weight_map, or clip them with np.clip(w, 0, None)"
        )
    return array
