"""Image/mask pairs for training, with the mask's encoding checked rather than assumed.

The most common silent failure in segmentation code is the mask: saved as 0/255 and used as if
it were 0/1, or saved as colours and used as grey. :class:`SegmentationDataset` reads every pair
when it is built, turns each mask into class indices with an explicit ``encoding``, and stops
with an error that names the file for anything unexpected: an unreadable file, an image and
mask of different sizes, or a mask value the encoding does not know.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence, Union

import numpy as np
import torch
from scipy.ndimage import grey_dilation, grey_erosion
from PIL import Image
from skimage.io import imread
from skimage.measure import label

from unetlib._checks import boolean, integer, label_image, number, real_array

__all__ = [
    "SegmentationDataset",
    "decode_mask",
    "fill_gaps",
    "DUBAI_CLASSES",
    "DUBAI_PALETTE",
    "UNLABELLED",
    "load_bbbc039",
    "load_dubai",
    "load_isbi2012",
    "normalise_percentile",
    "read_image",
    "split_touching",
]

Encoding = Union[str, dict, Callable[[np.ndarray], np.ndarray]]


def read_image(path: str | Path) -> np.ndarray:
    """Read an image file; an unreadable file raises a ValueError that names it."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"path {str(path)!r} does not exist or is not a file; check the name and the folder")
    try:
        return np.asarray(imread(path))
    except Exception as error:  # imageio/tifffile/Pillow each raise their own kinds
        raise ValueError(f"{path} could not be read as an image: {type(error).__name__}: {error}") from None


def normalise_percentile(image: np.ndarray, low: float = 1.0, high: float = 99.8) -> np.ndarray:
    """Scale an image so its ``low`` and ``high`` percentiles become 0 and 1 (float32, clipped).

    Microscopy images use a fraction of their bit depth (BBBC039: 12-bit data in 16-bit files,
    each image with its own maximum); percentiles are robust to a few saturated pixels.

    Example:
        >>> normalise_percentile(np.array([100, 200, 300, 4095]), 0, 100).round(3)
        array([0.   , 0.025, 0.05 , 1.   ], dtype=float32)
    """
    image = real_array(image, "image", nonempty=True).astype(np.float64)
    low = number(low, "low", minimum=0, maximum=100, hint=" (a percentile)")
    high = number(high, "high", minimum=0, maximum=100, hint=" (a percentile)")
    if not low < high:
        raise ValueError(f"low must be below high (percentiles), got low={low}, high={high}")
    bad = int((~np.isfinite(image)).sum())
    if bad:
        # One NaN makes every percentile NaN, and with it every pixel of the result.
        raise ValueError(
            f"image has {bad} NaN or infinite pixel(s) of {image.size}: replace them first "
            "(e.g. np.nan_to_num(image, nan=np.nanmedian(image)))"
        )
    lo, hi = np.percentile(image, [low, high])
    if hi <= lo:
        return np.zeros(image.shape, dtype=np.float32)
    return np.clip((image - lo) / (hi - lo), 0, 1).astype(np.float32)


def decode_mask(mask: np.ndarray, encoding: Encoding, source: str = "mask") -> np.ndarray:
    """Turn a stored mask into an ``(H, W)`` int64 array of class indices.

    Args:
        mask: the mask as read from its file.
        encoding: how classes are stored:

            - ``"binary"``: two values, 0 for background and 1 or 255 for foreground (a grey
              mask, or an RGB(A) one whose colour channels are equal);
            - ``"indices"``: class indices stored directly (0, 1, 2, ...);
            - a dict mapping RGB colours ``(r, g, b)`` to class indices (colour palettes such as
              the Dubai aerial set's);
            - a function from the mask array to class indices.
        source: a name for error messages (the file).

    Example:
        >>> decode_mask(np.array([[0, 255], [255, 0]], dtype=np.uint8), "binary")
        array([[0, 1],
               [1, 0]])
    """
    mask = np.asarray(mask)
    if callable(encoding):
        decoded = np.asarray(encoding(mask))
    elif isinstance(encoding, dict):
        decoded = _decode_palette(mask, encoding, source)
    elif encoding == "binary":
        grey = _single_channel(mask, source)
        values = set(np.unique(grey).tolist())
        if not values <= {0, 1} and not values <= {0, 255}:
            raise ValueError(
                f"{source}: a binary mask should hold 0 and 1, or 0 and 255; found values {sorted(values)[:10]}; "
                "use encoding='indices' for class indices or a palette dict for colours"
            )
        decoded = grey > 0
    elif encoding == "indices":
        decoded = _single_channel(mask, source)
        if decoded.dtype.kind not in "iub" or decoded.min() < 0:
            raise ValueError(
                f"{source}: class indices must be whole numbers >= 0, got dtype {decoded.dtype}, "
                f"minimum {decoded.min()}"
            )
        if set(np.unique(decoded).tolist()) == {0, 255}:
            # 255 alone beside 0 is a binary mask saved for viewing, not class 255 of 256.
            raise ValueError(
                f"{source} holds only 0 and 255: that is a binary mask, not class indices "
                "(it would make 256 classes); use encoding='binary'"
            )
    else:
        raise ValueError(f"encoding must be 'binary', 'indices', a palette dict or a function, got {encoding!r}")
    if decoded.ndim != 2:
        raise ValueError(f"{source}: the decoded mask must be (H, W), got shape {decoded.shape}")
    return decoded.astype(np.int64)


def _single_channel(mask: np.ndarray, source: str) -> np.ndarray:
    if mask.ndim == 2:
        return mask
    if mask.ndim == 3 and mask.shape[-1] in (3, 4):
        colour = mask[..., :3]
        if (colour == colour[..., :1]).all():
            return colour[..., 0]
        raise ValueError(f"{source} is a colour mask (its R, G and B differ): pass a palette dict as encoding")
    raise ValueError(f"{source}: expected a (H, W) mask or an RGB(A) one, got shape {mask.shape}")


def _decode_palette(mask: np.ndarray, palette: dict, source: str) -> np.ndarray:
    if mask.ndim != 3 or mask.shape[-1] < 3:
        raise ValueError(f"{source}: a palette encoding needs an RGB mask, got shape {mask.shape}")
    rgb = mask[..., :3].astype(np.int64)
    codes = (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]
    decoded = np.full(codes.shape, -1, dtype=np.int64)
    for colour, index in palette.items():
        r, g, b = (int(v) for v in colour)
        decoded[codes == (r << 16 | g << 8 | b)] = index
    if (decoded < 0).any():
        unknown = np.unique(rgb[decoded < 0].reshape(-1, 3), axis=0)[:5]
        raise ValueError(f"{source}: colours not in the palette: {[tuple(int(v) for v in c) for c in unknown]}")
    return decoded


class SegmentationDataset(torch.utils.data.Dataset):
    """Image/mask pairs, read and checked up front, served as tensors.

    Args:
        images: image files (a list, or a folder whose files are taken in sorted order).
        masks: mask files, one per image (a list, or a folder; paired with the images by order).
        encoding: how the masks store classes; see :func:`decode_mask`.
        normalise: turns a raw image into float32 (default: :func:`normalise_percentile`).
        transform: optional ``transform(image, mask) -> (image, mask)`` on NumPy arrays, e.g. an
            augmentation from :mod:`unetlib.data.augment`, applied on every access.
        ignore_index: the value of unlabelled pixels (e.g. :data:`UNLABELLED`, what
            :data:`DUBAI_PALETTE` gives its "unlabeled" colour): not a class, so not counted in
            ``num_classes``.

    Attributes:
        num_classes: one more than the largest class index in the masks (``ignore_index`` aside).

    Items:
        ``(image, mask)``: a float32 tensor ``(C, H, W)`` and an int64 tensor ``(H, W)``.
    """

    def __init__(
        self,
        images: Sequence[str | Path] | str | Path,
        masks: Sequence[str | Path] | str | Path,
        encoding: Encoding = "binary",
        normalise: Callable[[np.ndarray], np.ndarray] | None = None,
        transform: Callable | None = None,
        ignore_index: int | None = None,
    ):
        if ignore_index is not None:
            ignore_index = integer(ignore_index, "ignore_index")
        image_paths, mask_paths = _as_paths(images, "images"), _as_paths(masks, "masks")
        if len(image_paths) != len(mask_paths):
            raise ValueError(f"got {len(image_paths)} images but {len(mask_paths)} masks; they are paired one to one")
        if not image_paths:
            raise ValueError("no image files given")
        normalise = normalise or normalise_percentile
        self.transform = transform
        self.images, self.masks, self.paths = [], [], list(zip(image_paths, mask_paths))
        for image_path, mask_path in self.paths:
            image, mask = read_image(image_path), read_image(mask_path)
            decoded = decode_mask(mask, encoding, str(mask_path))
            if image.shape[:2] != decoded.shape:
                raise ValueError(
                    f"{image_path} is {image.shape[0]}x{image.shape[1]} but its mask {mask_path} is "
                    f"{decoded.shape[0]}x{decoded.shape[1]}; they must be the same size"
                )
            pixels = normalise(image)
            self.images.append(pixels[None] if pixels.ndim == 2 else np.moveaxis(pixels, -1, 0))
            self.masks.append(decoded)
        self.num_classes = int(max(np.where(m == ignore_index, 0, m).max() for m in self.masks)) + 1

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        image, mask = self.images[index], self.masks[index]
        if self.transform is not None:
            image, mask = self.transform(image, mask)
        return torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32)), torch.from_numpy(
            np.ascontiguousarray(mask)
        )


def _as_paths(value, name: str) -> list[Path]:
    if isinstance(value, (str, Path)):
        folder = Path(value)
        if not folder.is_dir():
            raise ValueError(f"{name}: {folder} is not a folder; pass a folder or a list of files")
        return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    return [Path(p) for p in value]


def _neighbour_labels(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """The highest and the lowest object label in each pixel's 3x3 neighbourhood, background
    ignored, and the value the lowest takes where there is no object.

    That value is one more than the highest label, not the int64 maximum: SciPy's grey erosion
    wraps the int64 maximum round to the minimum, which made every pixel next to the background
    look as if it touched another object.
    """
    no_label = int(labels.max(initial=0)) + 1
    highest = grey_dilation(labels, size=3, mode="nearest")
    lowest = grey_erosion(np.where(labels > 0, labels, no_label), size=3, mode="nearest")
    return highest, lowest, no_label


def split_touching(instances: np.ndarray) -> np.ndarray:
    """A foreground mask (0/1) in which touching objects are separated by background.

    Pixels of an object that touch a *different* object (8-neighbourhood) become background, so
    that each object is its own connected component: the thin gaps the paper's weight map
    emphasises. Objects that touch only the background keep all their pixels.

    Example:
        >>> split_touching(np.array([[1, 1, 2, 2]]))
        array([[1, 0, 0, 1]])
    """
    labels = label_image(instances, "instances")
    highest, lowest, no_label = _neighbour_labels(labels)
    touching = (labels > 0) & ((highest != labels) & (highest > 0) | (lowest != labels) & (lowest < no_label))
    return ((labels > 0) & ~touching).astype(np.int64)


def fill_gaps(objects: np.ndarray) -> np.ndarray:
    """Undo :func:`split_touching` on predicted objects: give each gap pixel (background with two
    different objects among its 8 neighbours) to the nearest object.

    Example:
        >>> fill_gaps(np.array([[1, 0, 0, 2]]))  # a 2-pixel gap: each side takes its half
        array([[1, 1, 2, 2]])
    """
    from skimage.segmentation import expand_labels

    labels = label_image(objects, "objects")
    grown = expand_labels(labels, distance=1.5)
    highest, lowest, no_label = _neighbour_labels(grown)
    between = (labels == 0) & (highest > 0) & (lowest < no_label) & (highest != lowest)
    return np.where(between, grown, labels)


def load_bbbc039(more: bool = False) -> tuple[list[str], list[np.ndarray], list[np.ndarray]]:
    """The BBBC039 nuclei subset: names, normalised images ``(1, H, W)`` and instance labels.

    The files come from :func:`~unetlib.data.download.fetch` (downloaded and verified once, then cached).
    Images are 12-bit, scaled with :func:`normalise_percentile`. The masks store colour indices
    in their red channel (0 background, 1-3 so that touching nuclei differ); instances are the
    connected regions of each index, as the BBBC039 documentation decodes them.

    Args:
        more: also the 40 further pairs of ``"bbbc039_more"`` (60 of BBBC039's 200 in all). The
            subset's 20 come first, each set sorted by name.
    """
    from unetlib.data.download import fetch

    names, images, instances = [], [], []
    for name in ("bbbc039", "bbbc039_more") if boolean(more, "more") else ("bbbc039",):
        folder = fetch(name)
        stems = sorted(p.stem for p in (folder / "images").iterdir() if p.suffix == ".tif")
        names += stems
        images += [normalise_percentile(read_image(folder / "images" / f"{n}.tif"))[None] for n in stems]
        instances += [label(read_image(folder / "masks" / f"{n}.png")[..., 0], background=0) for n in stems]
    return names, images, instances


def load_isbi2012() -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The 30 labelled ISBI 2012 EM slices (the U-Net paper's data): images and membrane masks.

    The files come from :func:`~unetlib.data.download.fetch` (downloaded and verified once, then cached;
    the data is for non-commercial use only). Each slice is 512 x 512, 8-bit; images are scaled
    with :func:`normalise_percentile`. The label files store cell interiors as 255 and membranes
    as 0; they are decoded (and checked, with :func:`decode_mask`) to **1 = membrane**, 0 = cell
    interior, so that class 1 is the thin structure the network has to find.

    Returns:
        ``images`` (30 float32 arrays ``(1, 512, 512)``) and ``membranes`` (30 int64 ``(512, 512)``),
        in slice order 0..29.
    """
    from unetlib.data.download import fetch

    folder = fetch("isbi2012") / "train"
    images, membranes = [], []
    for k in range(30):
        images.append(normalise_percentile(read_image(folder / "image" / f"{k}.png"))[None])
        label_file = folder / "label" / f"{k}.png"
        interior = decode_mask(read_image(label_file), "binary", source=str(label_file))
        membranes.append(1 - interior)
    return images, membranes


#: The Dubai aerial set's five classes, in the order of their indices 0..4.
DUBAI_CLASSES = ("building", "land", "road", "vegetation", "water")
#: The class index of unlabelled pixels (an ignore index, outside 0..4).
UNLABELLED = 255
#: The colours the set's mask PNGs actually hold, each with its class index (counted in
#: Chapter 11; the set's classes.json lists other colours, the annotation tool's).
DUBAI_PALETTE = {
    (60, 16, 152): 0,  # building   #3C1098
    (132, 41, 246): 1,  # land (unpaved)  #8429F6
    (110, 193, 228): 2,  # road   #6EC1E4
    (254, 221, 58): 3,  # vegetation   #FEDD3A
    (226, 169, 41): 4,  # water   #E2A929
    (155, 155, 155): UNLABELLED,  # "unlabeled"   #9B9B9B
    (0, 0, 0): UNLABELLED,  # a few stray black pixels, in no class list
}


#: Colours to *look at* Dubai class maps in (building, land, road, vegetation, water): Okabe and
#: Ito's colour-blind-safe set. The set's own colours (:data:`DUBAI_PALETTE`) paint building and land
#: in two purples that are hard to tell apart; keep those for mask files.
DUBAI_DISPLAY_COLOURS = ((213, 94, 0), (240, 228, 66), (0, 0, 0), (0, 158, 115), (0, 114, 178))


def load_dubai() -> tuple[list[str], list[np.ndarray], list[np.ndarray]]:
    """The Dubai aerial land-cover set (Tiles 1-6, 54 scenes): names, images and class maps.

    The files come from :func:`~unetlib.data.download.fetch` (downloaded and verified once, then
    cached). Images are 8-bit RGB JPEGs, returned as float32 ``(3, H, W)`` in [0, 1]. Masks are
    colour PNGs (Tiles 2 and 4 palette-mode ones, read as RGB), decoded with
    :data:`DUBAI_PALETTE` into class indices 0..4 (:data:`DUBAI_CLASSES`), with
    :data:`UNLABELLED` (255) for the "unlabeled" colour and the stray black pixels.

    Returns:
        ``names`` (``"Tile 1/image_part_001"``, ...), ``images`` and ``targets`` (int64 ``(H, W)``),
        in tile and part order.
    """
    from unetlib.data.download import fetch

    folder = fetch("dubai")
    names, images, targets = [], [], []
    for tile in range(1, 7):
        for part in range(1, 10):
            stem = f"Tile {tile}/%s/image_part_{part:03d}"
            image = read_image(folder / f"{stem % 'images'}.jpg")
            mask_file = folder / f"{stem % 'masks'}.png"
            # Pillow reads a palette PNG as indices into its own colour table: convert to RGB first.
            with Image.open(mask_file) as opened:
                mask = np.asarray(opened.convert("RGB"))
            names.append(f"Tile {tile}/image_part_{part:03d}")
            images.append(np.moveaxis(image[..., :3], -1, 0).astype(np.float32) / 255)
            targets.append(decode_mask(mask, DUBAI_PALETTE, source=str(mask_file)))
    return names, images, targets
