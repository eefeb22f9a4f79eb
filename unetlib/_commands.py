"""The data side of ``python -m unetlib.train`` and ``python -m unetlib.predict``, in one place.

Training reads image/mask pairs, decodes the masks (a palette's unlabelled colours become the
ignore index, never a class), normalises the images and cuts random crops; it records what
prediction needs to treat new images the same way (:class:`Prepared.settings`, stored in the
checkpoint). Prediction reads those settings back (:func:`normalise_image`, :func:`colourise`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from unetlib._checks import is_int

#: Where a palette's unlabelled colours go when ``--ignore-index`` is not given.
DEFAULT_IGNORE_INDEX = 255


@dataclass
class Prepared:
    """Training (and validation) crops, and what the network and prediction need to know."""

    train: object
    val: object
    in_channels: int
    num_classes: int
    ignore_index: int | None
    settings: dict = field(default_factory=dict)


def read_palette(spec: str, ignore_index: int | None) -> tuple[dict, list]:
    """``({(R, G, B): class or ignore_index}, [colour of each class])`` from ``--palette``.

    ``spec`` is ``"dubai"``, or a JSON file: a list of ``[R, G, B]`` (one per class, in order), a
    ``{name: colour}`` dict, or ``{"classes": [...] or {...}, "unlabelled": [colours]}``.
    """
    from unetlib.data import DUBAI_PALETTE, UNLABELLED

    ignore = DEFAULT_IGNORE_INDEX if ignore_index is None else ignore_index
    if spec == "dubai":
        mapping = {colour: (ignore if index == UNLABELLED else index) for colour, index in DUBAI_PALETTE.items()}
        classes = [
            list(c) for c, index in sorted(DUBAI_PALETTE.items(), key=lambda item: item[1]) if index != UNLABELLED
        ]
        return mapping, classes
    try:
        content = json.loads(Path(spec).read_text())
    except (OSError, ValueError) as error:
        raise ValueError(f"--palette {spec}: not a readable JSON file ({error}), nor 'dubai'") from None
    unlabelled = content.get("unlabelled", []) if isinstance(content, dict) and "classes" in content else []
    colours = content["classes"] if isinstance(content, dict) and "classes" in content else content
    colours = list(colours.values()) if isinstance(colours, dict) else colours
    for group in (colours, unlabelled):
        if not isinstance(group, list) or not all(_is_colour(c) for c in group) or group is colours and not group:
            raise ValueError(
                f"--palette {spec}: expected a list of [R, G, B] (0-255), one per class, got {content!r:.80}"
            )
    mapping = {tuple(colour): index for index, colour in enumerate(colours)}
    mapping |= {tuple(colour): ignore for colour in unlabelled}
    return mapping, [list(c) for c in colours]


def _is_colour(value) -> bool:
    return isinstance(value, list) and len(value) == 3 and all(is_int(v) and 0 <= v <= 255 for v in value)


def scale(image: np.ndarray) -> np.ndarray:
    """``image`` divided by its type's maximum (255 for 8-bit), as float32 (``load_dubai`` does the same)."""
    top = np.iinfo(image.dtype).max if image.dtype.kind in "iu" else 1.0
    return image.astype(np.float32) / np.float32(top)


def _normaliser(name: str):
    """The function that scales a raw image: per-image percentiles, or the type's maximum."""
    from unetlib.data import normalise_percentile

    return normalise_percentile if name == "percentile" else scale


def _standardise(pixels: np.ndarray, settings: dict) -> np.ndarray:
    """``(pixels - mean) / std`` channel by channel, with the training set's statistics in ``settings``."""
    mean, std = (np.asarray(settings[k], np.float32)[:, None, None] for k in ("mean", "std"))
    return (pixels - mean) / std


def normalise_image(image: np.ndarray, settings: dict) -> np.ndarray:
    """A raw ``(H, W)`` or ``(H, W, C)`` image as the network's ``(C, H, W)`` input, as it was trained."""
    pixels = _normaliser(settings.get("normalise", "percentile"))(np.asarray(image))
    pixels = pixels[None] if pixels.ndim == 2 else np.moveaxis(pixels, -1, 0)
    channels = settings.get("in_channels", pixels.shape[0])
    pixels = pixels[:channels] if pixels.shape[0] == channels + 1 else pixels  # an alpha channel dropped
    if settings.get("mean") is not None:
        pixels = _standardise(pixels, settings)
    return pixels.astype(np.float32)


def colourise(classes: np.ndarray, palette: list | None) -> np.ndarray:
    """A class map as the palette's colours ``(H, W, 3)`` uint8, or as indices (uint8) without one."""
    if not palette:
        return classes.astype(np.uint8)
    return np.asarray(palette, np.uint8)[classes]


def _files(folders) -> list[Path]:
    """The files of each folder, in sorted order, folder after folder."""
    files = []
    for folder in folders:
        if not Path(folder).is_dir():
            raise ValueError(f"{folder} is not a folder of images")
        files += sorted(p for p in Path(folder).iterdir() if p.is_file() and not p.name.startswith("."))
    return files


def _pairs(images, masks, encoding, normalise, what: str):
    from unetlib.data import SegmentationDataset

    if images is None or masks is None:
        raise ValueError(
            f"give both --{what}images and --{what}masks (folders), or neither"
            if what
            else "give --images and --masks (folders), or --dataset"
        )
    pairs = SegmentationDataset(_files(images), _files(masks), encoding, _normaliser(normalise))
    return pairs.images, pairs.masks


def _record_statistics(images: list, settings: dict) -> None:
    """The training images' channel statistics, recorded in ``settings`` (std at least 1e-6)."""
    from unetlib.experiments import channel_statistics

    mean, std = channel_statistics(images) if images[0].shape[0] == 3 else _any_statistics(images)
    settings |= {"mean": [float(m) for m in mean], "std": [float(s) for s in np.maximum(std, 1e-6)]}


def _any_statistics(images: list) -> tuple[np.ndarray, np.ndarray]:
    pixels = np.concatenate([image.reshape(image.shape[0], -1) for image in images], axis=1).astype(np.float64)
    return pixels.mean(axis=1), pixels.std(axis=1)


def _weight_maps(targets: list) -> list:
    """The paper's border weight map of each binary target's objects (as Chapter 8 weights them)."""
    from skimage.measure import label

    from unetlib.losses import weight_map

    if any(int(target.max()) > 1 for target in targets):
        raise ValueError(
            "the border weight map (this recipe's) separates touching objects of one class, and these masks "
            "hold more than two classes: use another --recipe, or binary masks"
        )
    return [weight_map(label(target), balance=False) for target in targets]


#: File names that may be GeoTIFF scenes.
GEOTIFF_SUFFIXES = (".tif", ".tiff")


def geotiff_scenes(paths, option: str = "--images") -> list[Path] | None:
    """The GeoTIFF scenes ``paths`` name (files, or folders of them), or None for ordinary images.

    A scene is a ``.tif`` file with a coordinate reference system; microscopy TIFFs have none
    and stay ordinary images. A file (not a folder) given to ``option`` must be a scene.
    """
    if paths is None:
        return None
    paths = [Path(p) for p in paths]
    if not any(p.is_file() for p in paths):
        files = _files(paths) if all(p.is_dir() for p in paths) else []
    else:
        files = paths
    if not files or any(f.suffix.lower() not in GEOTIFF_SUFFIXES for f in files):
        if any(p.is_file() for p in paths):
            raise ValueError(
                f"{option}: files must be GeoTIFF scenes (.tif), got {[str(p) for p in paths]}; give folders of ordinary images"
            )
        return None
    try:
        import rasterio
    except ImportError:
        if any(p.is_file() for p in paths):
            from unetlib.geo import INSTALL_HINT

            raise ValueError(f"{option} {paths[0]}: GeoTIFF scenes need rasterio: {INSTALL_HINT}") from None
        return None
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
        for file in files:
            with rasterio.open(file) as raster:
                if raster.crs is None:
                    if file in paths:
                        raise ValueError(
                            f"{option} {file}: a TIFF without a coordinate reference system is not a scene"
                        )
                    return None
    return files


def _scene_pairs(images: list[Path], masks, ignore_index: int, class_values=None, what: str = ""):
    """Normalisable scenes and their labels: ``(pixels, valid, labels)`` per scene, and the class values."""
    from unetlib import geo

    masks = geotiff_scenes(masks, f"--{what}masks") if masks is not None else None
    if masks is None or len(masks) != len(images):
        raise ValueError(
            f"--{what}images names {len(images)} GeoTIFF scene(s): give --{what}masks with one label GeoTIFF each, "
            f"on the same grid, got {masks if masks is None else len(masks)}"
        )
    if class_values is None:
        class_values = sorted(set().union(*(_label_values(mask) for mask in masks)))
    pairs = []
    for image, mask in zip(images, masks):
        with geo.Scene(image) as scene:
            pixels, valid = scene.read()
            labels = geo.read_labels(mask, scene, class_values, ignore_index, valid=valid)
        pairs.append((pixels, valid, labels))
    counts = {len(pixels) for pixels, _, _ in pairs}
    if len(counts) > 1:
        raise ValueError(
            f"--{what}images: the scenes have different numbers of bands {sorted(counts)}: give scenes alike"
        )
    return pairs, class_values


def _label_values(path: Path) -> set:
    import rasterio

    with rasterio.open(path) as labels:
        values, nodata = labels.read(1), labels.nodata
    from unetlib.geo import _is_nodata

    found = np.unique(values[~_is_nodata(values, nodata)])
    if not found.size:
        raise ValueError(f"--masks {path}: every pixel is the raster's nodata ({nodata}): no label to learn from")
    if not np.all(found == np.round(found)) or found.min() < 0 or found.max() >= 255:
        raise ValueError(f"--masks {path}: label values must be whole numbers 0..254, got {found[:8].tolist()}")
    return {int(v) for v in found}


def _prepare_scenes(args, recipe, config, images: list[Path]) -> Prepared:
    """GeoTIFF scenes: labels under nodata ignored, per-band statistics of the training pixels, chips."""
    from unetlib import geo
    from unetlib.data import RandomCrops

    ignore = DEFAULT_IGNORE_INDEX if config.ignore_index is None else config.ignore_index
    train, class_values = _scene_pairs(images, args.masks, ignore)
    if len(class_values) < 2:
        raise ValueError(
            f"--masks: the label rasters hold one class ({class_values}): a segmentation needs two or more"
        )
    val = None
    if args.val_images is not None:
        val, _ = _scene_pairs(
            geotiff_scenes(args.val_images, "--val-images") or [], args.val_masks, ignore, class_values, "val-"
        )
    # The statistics of every valid training pixel, and no other: prediction uses the same.
    valid_pixels = np.concatenate([pixels[:, valid] for pixels, valid, _ in train], axis=1).astype(np.float64)
    mean, std = valid_pixels.mean(axis=1), np.maximum(valid_pixels.std(axis=1), 1e-6)

    def chips(pairs):
        cut = [
            geo.scene_chips(geo.normalise_bands(p, v, mean, std), labels, recipe.crop, ignore) for p, v, labels in pairs
        ]
        return [c for chips, _ in cut for c in chips], [t for _, targets in cut for t in targets]

    seed, batch = config.seed, config.batch_size
    crops = recipe.crops(*chips(train), seed=seed)
    val_crops = (
        None
        if val is None
        else RandomCrops(*chips(val), crop=recipe.crop, samples=max(8, batch), augment=False, seed=seed + 1, fixed=True)
    )
    bands = len(train[0][0])
    settings = {
        "geo": True,
        "normalise": "band-statistics",
        "palette": None,
        "mean": [float(m) for m in mean],
        "std": [float(s) for s in std],
        "class_values": class_values,
        "in_channels": bands,
        "ignore_index": ignore,
    }
    return Prepared(crops, val_crops, bands, len(class_values), ignore, settings)


def prepare_training_data(args, recipe, config) -> Prepared:
    """Read, decode and normalise the command's data; its random crops (training and validation)."""
    from unetlib.data import RandomCrops, load_bbbc039, split_touching
    from unetlib.recipes import BBBC039_SPLIT

    scenes = geotiff_scenes(args.images) if args.dataset is None else None
    if scenes is not None:
        return _prepare_scenes(args, recipe, config, scenes)
    settings: dict = {"normalise": recipe.normalise, "palette": None}
    ignore_index = config.ignore_index
    if args.dataset == "bbbc039":
        # Chapter 8's data: 60 fields of touching nuclei separated by a gap, the split of unetlib.recipes.
        _, images, instances = load_bbbc039(more=True)
        targets = [split_touching(i) for i in instances]
        train = (BBBC039_SPLIT.pick(images, "train"), BBBC039_SPLIT.pick(targets, "train"))
        val = (BBBC039_SPLIT.pick(images, "val"), BBBC039_SPLIT.pick(targets, "val"))
    else:
        encoding = args.encoding
        if args.palette is not None:
            encoding, settings["palette"] = read_palette(args.palette, ignore_index)
            if len(set(encoding.values())) > len(settings["palette"]):
                ignore_index = DEFAULT_IGNORE_INDEX if ignore_index is None else ignore_index
        train = _pairs(args.images, args.masks, encoding, recipe.normalise, "")
        val = None
        if args.val_images is not None or args.val_masks is not None:
            val = _pairs(args.val_images, args.val_masks, encoding, recipe.normalise, "val-")
    if recipe.normalise == "channel-statistics":
        # One transformation, from the training images, for training, validation and prediction.
        _record_statistics(train[0], settings)
        train = ([_standardise(image, settings) for image in train[0]], train[1])
        if val is not None:
            val = ([_standardise(image, settings) for image in val[0]], val[1])
    smallest = min(min(image.shape[1:]) for image in train[0])
    if recipe.crop > smallest:
        raise ValueError(f"--crop {recipe.crop} is larger than the smallest training image ({smallest} pixels)")
    classes = max(int(np.max(np.where(mask == ignore_index, 0, mask))) for mask in train[1]) + 1
    seed, batch = config.seed, config.batch_size
    crops = recipe.crops(*train, weights=_weight_maps(train[1]) if recipe.weight_map else None, seed=seed)
    val_crops = (
        None
        if val is None
        else RandomCrops(*val, crop=recipe.crop, samples=max(8, batch), augment=False, seed=seed + 1, fixed=True)
    )
    in_channels = train[0][0].shape[0]
    settings |= {"in_channels": in_channels, "ignore_index": ignore_index}
    return Prepared(crops, val_crops, in_channels, max(classes, 2), ignore_index, settings)
