"""Generated assets: the committed files equal what their generators draw."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from skimage.io import imread

from unetlib.data import logo

ROOT = Path(__file__).resolve().parents[1]


def test_logo_is_a_flat_picture_in_unit_range():
    picture = logo()
    assert picture.shape == (96, 96) and picture.dtype == np.float64
    assert set(np.unique(picture)) == {0.1, 0.6, 0.75, 0.9}  # background and three flat shapes
    assert logo(200).shape == (200, 200)


def test_committed_png_equals_the_generator():
    committed = imread(ROOT / "data" / "logo.png")
    np.testing.assert_array_equal(committed, np.round(logo() * 255).astype(np.uint8))


@pytest.mark.parametrize("size, error", [(16, ValueError), (64.0, TypeError), (True, TypeError)])
def test_logo_rejects_bad_sizes(size, error):
    with pytest.raises(error, match="size"):
        logo(size)
