"""Data for the chapters: generated pictures, real image sets, and augmentation.

- :mod:`unetlib.data.pictures`: a logo and X/O glyphs, drawn by code
- :mod:`unetlib.data.synthetic`: synthetic touching cells with exact instance labels
- :mod:`unetlib.data.download`: the real sets (BBBC039 nuclei, ISBI 2012 EM, Dubai aerial),
  fetched from pinned sources and checked against their sha256 (:mod:`unetlib.data.registry`)
- :mod:`unetlib.data.segmentation`: image/mask pairs with validated mask encodings
- :mod:`unetlib.data.augment`: joint flips, rotations, elastic deformation, intensity jitter

Nothing here reads a path relative to a notebook, and nothing downloads at import time.
"""

from unetlib.data.augment import Augment, RandomCrops, elastic_deform, flip_rotate, intensity_jitter, random_crop
from unetlib.data.download import DATA_ENV, data_home, fetch
from unetlib.data.pictures import XO_CLASSES, logo, xo_canvas, xo_dataset, xo_glyph
from unetlib.data.segmentation import (
    DUBAI_CLASSES,
    DUBAI_DISPLAY_COLOURS,
    DUBAI_PALETTE,
    UNLABELLED,
    SegmentationDataset,
    decode_mask,
    fill_gaps,
    load_bbbc039,
    load_dubai,
    load_isbi2012,
    normalise_percentile,
    read_image,
    split_touching,
)
from unetlib.data.synthetic import synthetic_cells

__all__ = [
    "Augment",
    "DUBAI_CLASSES",
    "DUBAI_DISPLAY_COLOURS",
    "DUBAI_PALETTE",
    "DATA_ENV",
    "RandomCrops",
    "SegmentationDataset",
    "UNLABELLED",
    "XO_CLASSES",
    "data_home",
    "decode_mask",
    "elastic_deform",
    "fetch",
    "fill_gaps",
    "flip_rotate",
    "intensity_jitter",
    "load_bbbc039",
    "load_dubai",
    "load_isbi2012",
    "logo",
    "normalise_percentile",
    "random_crop",
    "read_image",
    "split_touching",
    "synthetic_cells",
    "xo_canvas",
    "xo_dataset",
    "xo_glyph",
]
