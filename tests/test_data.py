"""Generated pictures: the committed files equal what their generators draw; the X/O glyphs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from skimage.io import imread

from unetlib.data import XO_CLASSES, logo, xo_canvas, xo_dataset, xo_glyph

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


# ---- X and O glyphs ---------------------------------------------------------------------------


def test_glyphs_are_x_and_o_shaped():
    x, o = xo_glyph("X"), xo_glyph("O")
    assert x.shape == o.shape == (14, 14) and x.dtype == np.float32
    # An X has its strokes on the diagonals and crosses the centre; an O is a ring, empty inside.
    assert x[6:8, 6:8].mean() > 0.5 and np.diag(x)[2:-2].mean() > 0.5
    assert o[6:8, 6:8].max() < 0.1 and o[7, 1:4].max() > 0.5
    assert 0 <= x.min() and x.max() <= 1


def test_dataset_is_balanced_varied_and_seeded():
    images, labels = xo_dataset(90, seed=4, none=True)
    assert images.shape == (90, 1, 14, 14) and labels.dtype == np.int64
    assert np.bincount(labels).tolist() == [30, 30, 30]
    assert len({images[i].tobytes() for i in range(90)}) == 90  # no two alike
    again, _ = xo_dataset(90, seed=4, none=True)
    np.testing.assert_array_equal(images, again)
    # "none" pictures have no glyph centred: their middle is darker than an X's or an O's ring.
    centre_none = images[labels == 2][:, 0, 4:10, 4:10].mean()
    centre_glyph = images[labels != 2][:, 0, 4:10, 4:10].mean()
    assert centre_none < centre_glyph
    assert set(xo_dataset(10)[1].tolist()) == {0, 1}


def test_canvas_places_each_glyph_at_multiples_of_the_spacing():
    canvas, placed = xo_canvas(["X.O", ".OX"], spacing=16, seed=2)
    assert canvas.shape == (32, 48)
    assert [(top, left, kind) for top, left, kind in placed] == [
        (0, 0, "X"),
        (0, 32, "O"),
        (16, 16, "O"),
        (16, 32, "X"),
    ]
    for top, left, kind in placed:
        assert canvas[top : top + 14, left : left + 14].max() > 0.5
    assert canvas[0:14, 16:30].max() == 0  # an empty place stays empty
    assert XO_CLASSES[:2] == ("X", "O")


@pytest.mark.parametrize(
    "call, words",
    [
        (lambda: xo_glyph("Y"), r"kind must be one of \('X', 'O'\)"),
        (lambda: xo_glyph("X", size=5), "size must be at least 8"),
        (lambda: xo_dataset(1), "count must be"),
        (lambda: xo_canvas(["X.", "O"]), "equal length"),
        (lambda: xo_canvas(["XZ"]), "only 'X', 'O' and '.'"),
        (lambda: xo_canvas(["X"], spacing=10), "spacing"),
    ],
)
def test_bad_arguments_are_named(call, words):
    with pytest.raises(ValueError, match=words):
        call()
