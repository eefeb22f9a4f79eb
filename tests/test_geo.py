"""GeoTIFF scenes (unetlib.geo) and the GeoTIFF path of python -m unetlib.train / unetlib.predict.

References are independent of the code under test: rasterio's own reads, numpy computed here,
unetlib.tiling.predict_tiled on the scene in memory, and hand-worked numbers.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

rasterio = pytest.importorskip("rasterio")

from rasterio.transform import from_origin  # noqa: E402
from rasterio.windows import Window  # noqa: E402

from unetlib import UNet, cli, geo  # noqa: E402
from unetlib import predict as predict_command  # noqa: E402
from unetlib._commands import _label_values, _prepare_scenes, _scene_pairs, geotiff_scenes  # noqa: E402
from unetlib.checkpoints import load_checkpoint  # noqa: E402
from unetlib.config import TrainConfig  # noqa: E402
from unetlib.losses import LOSSES  # noqa: E402
from unetlib.metrics import confusion_matrix  # noqa: E402
from unetlib.recipes import RECIPES  # noqa: E402
from unetlib.tiling import mirrored_crop, predict_tiled  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "datasets"
LANDSAT = SHARED / "nc_landsat7_landcover"
needs_landsat = pytest.mark.skipif(not LANDSAT.is_dir(), reason="../shared/datasets/nc_landsat7_landcover is not here")

BANDS = (1, 2, 3, 4, 5, 7)
CLASSES = list(range(1, 8))  # strata.tif's label codes
IGNORE = 255


# ---- helpers and fixtures -------------------------------------------------------------------------


def write_tif(path, array, crs="EPSG:32119", transform=None, nodata=None):
    """A small GeoTIFF written with rasterio directly (``(H, W)`` or ``(bands, H, W)``)."""
    array = np.asarray(array)
    array = array[None] if array.ndim == 2 else array
    transform = from_origin(1000.0, 2000.0, 10.0, 10.0) if transform is None else transform
    profile = dict(driver="GTiff", width=array.shape[2], height=array.shape[1], count=len(array))
    profile |= dict(dtype=array.dtype.name, crs=crs, transform=transform, nodata=nodata)
    with rasterio.open(path, "w", **profile) as out:
        out.write(array)
    return Path(path)


def read_raw(paths):
    """Each file's first band as rasterio reads it, and its nodata."""
    bands = []
    for path in paths:
        with rasterio.open(path) as raster:
            bands.append((raster.read(1), raster.nodata))
    return bands


def independent_valid(raw):
    """The AND over bands of (value != that band's own nodata), in each band's own type."""
    return np.logical_and.reduce([values != nodata for values, nodata in raw])


@pytest.fixture(scope="module")
def landsat():
    """The set's folder, from the shared cache only (``fetch`` downloads nothing when it is there)."""
    if not LANDSAT.is_dir():
        pytest.skip("../shared/datasets/nc_landsat7_landcover is not here")
    from unetlib.data import fetch

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("UNETLIB_DATA", str(SHARED))
        return fetch("landsat")


@pytest.fixture(scope="module")
def band_paths(landsat):
    return [landsat / f"lsat7_2000_{b}0.tif" for b in BANDS]


@pytest.fixture(scope="module")
def raw(band_paths):
    return read_raw(band_paths)


@pytest.fixture(scope="module")
def scene_tif(band_paths, tmp_path_factory):
    """The six bands stacked into one GeoTIFF (one nodata), as the chapter prepares them."""
    with geo.Scene(band_paths) as scene:
        return geo.write_stack(scene, tmp_path_factory.mktemp("stack") / "scene.tif")


@pytest.fixture(scope="module")
def small_band_paths(band_paths, tmp_path_factory):
    """A 160 x 170 window over the frame's corner, one file per band (own type and nodata kept)."""
    folder, window = tmp_path_factory.mktemp("small"), Window(10, 10, 170, 160)
    paths = []
    for path in band_paths:
        with rasterio.open(path) as src:
            values, nodata = src.read(1, window=window), src.nodata
            transform, crs = src.window_transform(window), src.crs
        paths.append(write_tif(folder / path.name, values, crs, transform, nodata))
    return paths


# ---- Scene ----------------------------------------------------------------------------------------


@needs_landsat
def test_scene_of_the_six_landsat_files(band_paths, raw):
    with geo.Scene(band_paths) as scene:
        assert scene.count == 6
        assert scene.crs.to_epsg() == 32119
        assert (scene.width, scene.height) == (489, 443)
        assert scene.res == (28.5, 28.5)
        assert scene.nodata == [-99999.0] * 5 + [-32768.0]
        pixels, valid = scene.read()
    assert pixels.dtype == np.float32 and pixels.shape == (6, 443, 489)
    np.testing.assert_array_equal(pixels, np.stack([values.astype(np.float32) for values, _ in raw]))
    np.testing.assert_array_equal(valid, independent_valid(raw))
    # PROVENANCE.md: about 62% valid in all six bands; band 7's frame is the larger one.
    assert valid.mean() == pytest.approx(0.62, abs=0.01)
    shares = [(values != nodata).mean() for values, nodata in raw]
    assert shares[:5] == pytest.approx([0.847] * 5, abs=0.001)
    assert shares[5] < min(shares[:5])
    assert raw[5][0].dtype == np.int16 and raw[0][0].dtype == np.float32


def test_scene_masks_each_band_with_its_own_nodata_and_type(tmp_path):
    # Band a: float32, nodata -99999 at (0, 0); band b: int16, nodata -32768 at (1, 2), and -99999 is not its nodata.
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    a[0, 0] = -99999
    b = np.full((3, 4), 7, np.int16)
    b[1, 2], b[2, 3] = -32768, 0
    paths = [write_tif(tmp_path / "a.tif", a, nodata=-99999), write_tif(tmp_path / "b.tif", b, nodata=-32768)]
    with geo.Scene(paths) as scene:
        pixels, valid = scene.read()
        assert scene.nodata == [-99999.0, -32768.0]
    expected = np.ones((3, 4), bool)
    expected[0, 0] = expected[1, 2] = False
    np.testing.assert_array_equal(valid, expected)
    np.testing.assert_array_equal(pixels, np.stack([a, b.astype(np.float32)]))


@needs_landsat
@pytest.mark.parametrize("top, left", [(-20, -30), (430, 470), (-5, 460), (100, 200), (-100, -100)])
def test_read_tile_mirrors_like_mirrored_crop(band_paths, top, left):
    with geo.Scene(band_paths) as scene:
        pixels, valid = scene.read()
        tile, tile_valid = scene.read_tile(top, left, 64)
    np.testing.assert_array_equal(tile, mirrored_crop(pixels, top, left, 64))
    np.testing.assert_array_equal(tile_valid, mirrored_crop(valid, top, left, 64))


@needs_landsat
def test_xy_is_rasterio_xy(band_paths):
    rows, cols = [0, 10, 442], [0, 300, 488]
    with geo.Scene(band_paths) as scene:
        x, y = scene.xy(rows, cols)
        expected = rasterio.transform.xy(scene.transform, rows, cols)
        a, _, c, _, e, f = tuple(scene.transform)[:6]
    np.testing.assert_allclose(x, expected[0])
    np.testing.assert_allclose(y, expected[1])
    # Pixel centres by hand: (0, 0) is half a pixel (28.5 m) in from the top-left corner.
    assert (x[0], y[0]) == pytest.approx((c + 14.25, f - 14.25))
    assert (x[2], y[2]) == pytest.approx((c + 488.5 * a, f + 442.5 * e))


# ---- check_same_grid ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "change, item",
    [
        ({"crs": "EPSG:32617"}, "CRS"),
        ({"transform": from_origin(1010.0, 2000.0, 10.0, 10.0)}, "transform"),
        ({"transform": from_origin(1000.0, 2000.0, 20.0, 20.0)}, "transform"),
        ({"shape": (3, 5)}, "size"),
    ],
)
def test_check_same_grid_names_both_rasters_and_the_difference(tmp_path, change, item):
    first = write_tif(tmp_path / "first.tif", np.zeros((3, 4), np.float32))
    shape = change.pop("shape", (3, 4))
    second = write_tif(tmp_path / "second.tif", np.zeros(shape, np.float32), **change)
    with rasterio.open(first) as a, rasterio.open(second) as b:
        geo.check_same_grid(a, a, "A", "A")  # the same grid passes
        with pytest.raises(ValueError, match=rf"imageA and labelsB are not on the same grid: {item}"):
            geo.check_same_grid(a, b, "imageA", "labelsB")
    with pytest.raises(ValueError, match="first.tif.*second.tif.*not on the same grid"):
        geo.Scene([first, second])


@needs_landsat
def test_labels_in_epsg_3358_are_on_the_bands_epsg_32119_grid(band_paths, landsat):
    # PROVENANCE.md: the label rasters say EPSG:3358, the bands EPSG:32119; rasterio finds them equal.
    with geo.Scene(band_paths) as scene, rasterio.open(landsat / "strata.tif") as labels:
        assert labels.crs.to_epsg() == 3358
        geo.check_same_grid(scene, labels)


# ---- read_labels ----------------------------------------------------------------------------------


@needs_landsat
def test_read_labels_of_the_strata_raster(band_paths, raw, landsat):
    with rasterio.open(landsat / "strata.tif") as src:
        strata, strata_nodata = src.read(1), src.nodata
    with geo.Scene(band_paths) as scene:
        labels = geo.read_labels(landsat / "strata.tif", scene, CLASSES, ignore_index=IGNORE)
    valid = independent_valid(raw)
    expected = np.full(strata.shape, IGNORE)
    for index, code in enumerate(CLASSES):
        expected[strata == code] = index
    expected[~valid] = IGNORE
    assert labels.dtype == np.int64
    np.testing.assert_array_equal(labels, expected)
    # strata.tif has labels under the image's nodata frame: many, and all of them ignored.
    under_frame = (strata != strata_nodata) & ~valid
    assert under_frame.sum() > 10_000
    assert (labels[under_frame] == IGNORE).all()
    assert (strata == strata_nodata).sum() == 1  # the stray label nodata pixel (PROVENANCE.md)
    assert set(np.unique(labels[valid & (strata != strata_nodata)])) == set(range(7))


def test_read_labels_codes_nodata_and_errors(tmp_path):
    image = np.ones((3, 4), np.float32)
    image[2, 3] = -1  # the image's nodata
    labels = np.array([[1, 2, 3, 0], [3, 3, 2, 1], [1, 1, 2, 3]], np.uint8)  # 0 is the labels' nodata
    scene_path = write_tif(tmp_path / "scene.tif", image, nodata=-1)
    label_path = write_tif(tmp_path / "labels.tif", labels, nodata=0)
    with geo.Scene(scene_path) as scene:
        result = geo.read_labels(label_path, scene, [1, 2, 3], ignore_index=-1)
        np.testing.assert_array_equal(result, [[0, 1, 2, -1], [2, 2, 1, 0], [0, 0, 1, -1]])
        unknown = labels.copy()
        unknown[1, 1] = 9
        with pytest.raises(ValueError, match=r"\b9\b"):
            geo.read_labels(write_tif(tmp_path / "unknown.tif", unknown, nodata=0), scene, [1, 2, 3])
        for inside in (0, 2):
            with pytest.raises(ValueError, match="ignore_index"):
                geo.read_labels(label_path, scene, [1, 2, 3], ignore_index=inside)
        moved = write_tif(tmp_path / "moved.tif", labels, transform=from_origin(0.0, 2000.0, 10.0, 10.0), nodata=0)
        with pytest.raises(ValueError, match="moved.tif.*transform"):
            geo.read_labels(moved, scene, [1, 2, 3])


def test_read_labels_with_a_nan_nodata(tmp_path):
    labels = np.array([[1, 2], [np.nan, 1]], np.float32)
    scene_path = write_tif(tmp_path / "scene.tif", np.ones((2, 2), np.float32))
    label_path = write_tif(tmp_path / "labels.tif", labels, nodata=float("nan"))
    with geo.Scene(scene_path) as scene:
        result = geo.read_labels(label_path, scene, [1, 2])
    np.testing.assert_array_equal(result, [[0, 1], [IGNORE, 0]])


def test_training_label_values_with_a_nan_nodata(tmp_path):
    label_path = write_tif(tmp_path / "labels.tif", np.array([[1, 2], [np.nan, 1]], np.float32), nodata=float("nan"))
    assert _label_values(label_path) == {1, 2}


# ---- band statistics and normalisation ------------------------------------------------------------


@needs_landsat
def test_band_statistics_of_the_valid_pixels(band_paths, raw):
    with geo.Scene(band_paths) as scene:
        pixels, valid = scene.read()
    mean, std = geo.band_statistics(pixels, valid)
    mask = independent_valid(raw)
    expected_mean = [values[mask].astype(np.float64).mean() for values, _ in raw]
    expected_std = [values[mask].astype(np.float64).std() for values, _ in raw]
    np.testing.assert_allclose(mean, expected_mean, rtol=1e-12)
    np.testing.assert_allclose(std, expected_std, rtol=1e-12)
    assert (np.asarray(mean) > 0).all()  # nodata (-99999, -32768) left out, or the means would be negative


def test_band_statistics_by_hand_and_errors():
    pixels = np.array([[[1.0, 3.0], [-99.0, 5.0]], [[2.0, 2.0], [7.0, 2.0]]])
    mean, std = geo.band_statistics(pixels, [[True, True], [False, True]])
    np.testing.assert_allclose(mean, [3.0, 2.0])
    np.testing.assert_allclose(std, [np.sqrt(8 / 3), 0.0])
    with pytest.raises(ValueError, match="no pixel"):
        geo.band_statistics(pixels, np.zeros((2, 2), bool))
    with pytest.raises(ValueError, match="mask"):
        geo.band_statistics(pixels, np.ones((2, 3), bool))


def test_normalise_bands_by_hand():
    pixels = np.array([[[1.0, 3.0], [-99999.0, 5.0]], [[10.0, 20.0], [-32768.0, 40.0]]], np.float32)
    valid = np.array([[True, True], [False, True]])
    result = geo.normalise_bands(pixels, valid, mean=[3.0, 20.0], std=[2.0, 10.0])
    assert result.dtype == np.float32
    np.testing.assert_allclose(result, [[[-1.0, 0.0], [0.0, 1.0]], [[-1.0, 0.0], [0.0, 2.0]]])
    with pytest.raises(ValueError, match="one number per band"):
        geo.normalise_bands(pixels, valid, mean=[3.0], std=[2.0])
    with pytest.raises(ValueError, match="std > 0"):
        geo.normalise_bands(pixels, valid, mean=[3.0, 20.0], std=[2.0, 0.0])


# ---- write_stack ----------------------------------------------------------------------------------


@needs_landsat
def test_write_stack_keeps_the_valid_pixels_and_one_nodata(scene_tif, raw, band_paths):
    valid = independent_valid(raw)
    with rasterio.open(scene_tif) as stack, rasterio.open(band_paths[0]) as first:
        assert stack.count == 6 and stack.dtypes == ("float32",) * 6
        assert stack.nodatavals == (-99999.0,) * 6
        assert (stack.crs, stack.transform, stack.width, stack.height) == (
            first.crs,
            first.transform,
            first.width,
            first.height,
        )
        pixels = stack.read()
    for band, (values, _) in zip(pixels, raw):
        np.testing.assert_array_equal(band[valid], values[valid].astype(np.float32))
        assert (band[~valid] == -99999.0).all()  # band 7's -32768 too, and bands 1-5 under band 7's frame


# ---- predict_scene --------------------------------------------------------------------------------


def seeded_model(padding: str) -> UNet:
    """A small seeded U-Net with large random weights (a fresh one predicts one class everywhere)."""
    torch.manual_seed(0)
    model = UNet(6, 7, depth=2, base_channels=4, padding=padding)
    with torch.no_grad():
        for weight in model.parameters():
            weight.normal_(0.0, 0.5)
    return model


@needs_landsat
@pytest.mark.parametrize("channels_last", [False, True], ids=["contiguous", "channels-last"])
@pytest.mark.parametrize("padding, tile_size, margin", [("same", 64, 12), ("valid", 92, None)])
def test_predict_scene_equals_predict_tiled_in_memory(
    small_band_paths, tmp_path, padding, tile_size, margin, channels_last
):
    model, codes = seeded_model(padding), np.array([3, 1, 4, 15, 9, 2, 6])
    with geo.Scene(small_band_paths) as scene:
        pixels, valid = scene.read()
        mean, std = geo.band_statistics(pixels, valid)
        # The reference first, with the model as built (channels-last would convert it).
        inputs = geo.normalise_bands(pixels, valid, mean, std)
        logits = predict_tiled(model, inputs, tile_size=tile_size, margin=margin, batch_size=3, progress=False)
        written = geo.predict_scene(
            model,
            scene,
            tmp_path / "classes.tif",
            mean,
            std,
            tile_size=tile_size,
            margin=margin,
            batch_size=3,
            class_values=codes,
            probabilities=tmp_path / "probabilities.tif",
            progress=False,
            channels_last=channels_last,
        )
        grid = (scene.crs, scene.transform, scene.width, scene.height)
    assert 0.2 < valid.mean() < 0.8  # the window holds both data and the nodata frame
    with rasterio.open(written) as out:
        assert (out.crs, out.transform, out.width, out.height) == grid
        assert out.count == 1 and out.dtypes == ("uint8",) and out.nodata == 255
        classes = out.read(1)
    expected = np.where(valid, codes[logits.argmax(0).numpy()], 255)
    assert len(np.unique(expected[valid])) >= 3  # the test model predicts several classes
    if channels_last:  # another summation order: equal to rounding, a near-tie may flip
        assert (classes == 255).sum() == (~valid).sum() and (classes[valid] == expected[valid]).mean() > 0.999
    else:
        np.testing.assert_array_equal(classes, expected)
    with rasterio.open(tmp_path / "probabilities.tif") as out:
        assert out.count == 7 and out.dtypes == ("float32",) * 7 and np.isnan(out.nodata)
        probabilities = out.read()
    np.testing.assert_allclose(probabilities[:, valid].sum(axis=0), 1.0, atol=1e-5)
    assert np.isnan(probabilities[:, ~valid]).all()
    np.testing.assert_allclose(probabilities[:, valid], logits.softmax(0).numpy()[:, valid], atol=1e-4)


@needs_landsat
@pytest.mark.parametrize(
    "class_values", [[1, 2, 3], [0, 1, 2, 3, 4, 5, 255], [0, 1, 2, 3, 4, 5, -1], [0.5, 1, 2, 3, 4, 5, 6]]
)
def test_predict_scene_refuses_bad_class_values(small_band_paths, tmp_path, class_values):
    with geo.Scene(small_band_paths) as scene:
        with pytest.raises(ValueError, match="class_values"):
            geo.predict_scene(
                seeded_model("same"), scene, tmp_path / "c.tif", [0] * 6, [1] * 6, 64, class_values=class_values
            )


@needs_landsat
def test_predict_scene_refuses_a_wrong_band_count(small_band_paths, tmp_path):
    with geo.Scene(small_band_paths[:5]) as scene:
        with pytest.raises(ValueError, match="5 bands.*trained on 6"):
            geo.predict_scene(seeded_model("same"), scene, tmp_path / "c.tif", [0] * 5, [1] * 5, 64)
    assert not (tmp_path / "c.tif").exists()


# ---- scene_chips ----------------------------------------------------------------------------------


def test_scene_chips_by_hand():
    # Columns 0-3 labelled: 4-pixel chips every 2 pixels are 100% (left 0), 50% (left 2) or 0% (left 4) labelled.
    labels = np.full((8, 8), IGNORE)
    labels[:, :4] = 1
    image = np.arange(2 * 8 * 8, dtype=float).reshape(2, 8, 8)
    chips, chip_labels = geo.scene_chips(image, labels, size=4, min_labelled=0.5)
    corners = [(top, left) for top in (0, 2, 4) for left in (0, 2)]
    assert len(chips) == len(chip_labels) == 6
    for (top, left), chip, chip_label in zip(corners, chips, chip_labels):
        np.testing.assert_array_equal(chip, image[:, top : top + 4, left : left + 4])
        np.testing.assert_array_equal(chip_label, labels[top : top + 4, left : left + 4])
    assert len(geo.scene_chips(image, labels, size=4, min_labelled=0.51)[0]) == 3


def test_scene_chips_keeps_exactly_the_labelled_enough_squares():
    rng = np.random.default_rng(0)
    labels = np.where(rng.random((40, 36)) < 0.6, rng.integers(0, 3, (40, 36)), IGNORE)
    labels[:12] = IGNORE  # a nodata band at the top: chips there are dropped
    image = rng.normal(size=(3, 40, 36))
    # An independent count: every 8 x 8 window's labelled share, taken every 4 pixels.
    windows = np.lib.stride_tricks.sliding_window_view(labels != IGNORE, (8, 8))[::4, ::4]
    share = windows.mean(axis=(2, 3))
    tops, lefts = np.nonzero(share >= 0.5)
    chips, chip_labels = geo.scene_chips(image, labels, size=8, min_labelled=0.5)
    assert 0 < len(chips) < share.size
    assert len(chips) == len(tops)
    for top, left, chip, chip_label in zip(tops * 4, lefts * 4, chips, chip_labels):
        np.testing.assert_array_equal(chip, image[:, top : top + 8, left : left + 8])
        np.testing.assert_array_equal(chip_label, labels[top : top + 8, left : left + 8])


def test_scene_chips_errors():
    labels, image = np.zeros((10, 12), int), np.zeros((2, 10, 12))
    with pytest.raises(ValueError, match="size"):
        geo.scene_chips(image, labels, size=11)
    with pytest.raises(ValueError, match="labels must be"):
        geo.scene_chips(image, labels[:5], size=4)
    with pytest.raises(ValueError, match="no 4-pixel square"):
        geo.scene_chips(image, np.full((10, 12), IGNORE), size=4)


# ---- the commands: which paths are scenes ---------------------------------------------------------


def test_geotiff_scenes_tells_scenes_from_ordinary_images(tmp_path):
    import warnings

    scenes, plain = tmp_path / "scenes", tmp_path / "plain"
    scenes.mkdir(), plain.mkdir()
    b = write_tif(scenes / "b.tif", np.zeros((4, 4), np.uint8))
    a = write_tif(scenes / "a.tif", np.zeros((4, 4), np.uint8))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
        microscopy = write_tif(
            plain / "cells.tif", np.zeros((4, 4), np.uint8), crs=None, transform=rasterio.Affine.identity()
        )
    assert geotiff_scenes(None) is None
    assert geotiff_scenes([a]) == [a]
    assert geotiff_scenes([scenes]) == [a, b]  # a folder: its scenes in sorted order
    assert geotiff_scenes([plain]) is None  # TIFFs without a CRS in a folder: ordinary images
    with pytest.raises(ValueError, match="--images .*cells.tif.*coordinate reference system"):
        geotiff_scenes([microscopy])
    (plain / "photo.png").write_bytes(b"")
    with pytest.raises(ValueError, match="--masks: files must be GeoTIFF"):
        geotiff_scenes([plain / "photo.png"], "--masks")


# ---- nodata counts 0% in the loss and the metrics -------------------------------------------------


@needs_landsat
def test_scene_pairs_ignore_every_nodata_pixel(scene_tif, raw, landsat):
    pairs, class_values = _scene_pairs([scene_tif], [landsat / "strata.tif"], IGNORE)
    assert class_values == CLASSES
    ((pixels, valid, labels),) = pairs
    invalid = ~independent_valid(raw)
    np.testing.assert_array_equal(valid, ~invalid)
    assert (labels[invalid] == IGNORE).all()
    assert set(np.unique(labels)) == set(range(7)) | {IGNORE}


@needs_landsat
def test_prepare_scenes_statistics_and_crops(scene_tif, raw, landsat):
    args = argparse.Namespace(masks=[landsat / "strata.tif"], val_images=None, val_masks=None)
    recipe = dataclasses.replace(RECIPES["default"], crop=32, samples=8)
    data = _prepare_scenes(args, recipe, TrainConfig(), [scene_tif])
    mask = independent_valid(raw)
    expected_mean = [values[mask].astype(np.float64).mean() for values, _ in raw]
    np.testing.assert_allclose(data.settings["mean"], expected_mean, rtol=1e-9)
    assert data.settings["class_values"] == CLASSES and data.settings["geo"] is True
    assert (data.in_channels, data.num_classes, data.ignore_index) == (6, 7, IGNORE)
    for _, target in (data.train[i] for i in range(len(data.train))):
        assert set(np.unique(target.numpy())) <= set(range(7)) | {IGNORE}


@needs_landsat
@pytest.mark.parametrize("loss_name", LOSSES)
def test_ignored_pixels_do_not_change_the_loss(scene_tif, landsat, loss_name):
    pairs, _ = _scene_pairs([scene_tif], [landsat / "strata.tif"], IGNORE)
    ((pixels, valid, labels),) = pairs
    target = torch.from_numpy(labels[40:104, 40:104].copy())[None]  # a square over the frame's corner
    ignored = target == IGNORE
    assert 0.2 < ignored.float().mean() < 0.8
    loss = TrainConfig(ignore_index=IGNORE, loss=loss_name).make_loss()
    logits = torch.randn(1, 7, 64, 64, generator=torch.Generator().manual_seed(0))
    before = loss(logits, target)
    if loss_name == "cross-entropy":
        torch.testing.assert_close(before, F.cross_entropy(logits, target, ignore_index=IGNORE))
    # Anything at all predicted at the ignored pixels: the loss stays the same.
    changed = torch.where(ignored[:, None], 100 * torch.randn_like(logits), logits)
    torch.testing.assert_close(loss(changed, target), before, rtol=0, atol=1e-6)
    # ... while favouring the true class at the labelled pixels lowers it (the check can fail).
    truth = F.one_hot(torch.where(ignored, 0, target), 7).permute(0, 3, 1, 2)
    assert loss(logits + 10 * truth * ~ignored[:, None], target) < before - 0.05
    # The raw values under nodata do not reach the network: they normalise to 0 whatever they are.
    noisy = np.where(valid, pixels, np.random.default_rng(0).normal(0, 1e4, pixels.shape)).astype(np.float32)
    np.testing.assert_array_equal(
        geo.normalise_bands(noisy, valid, [50.0] * 6, [10.0] * 6),
        geo.normalise_bands(pixels, valid, [50.0] * 6, [10.0] * 6),
    )


@needs_landsat
def test_confusion_matrix_counts_no_nodata_pixel(scene_tif, landsat):
    pairs, _ = _scene_pairs([scene_tif], [landsat / "strata.tif"], IGNORE)
    ((_, valid, labels),) = pairs
    prediction = np.random.default_rng(0).integers(0, 7, labels.shape)
    matrix = confusion_matrix(prediction, labels, 7, ignore_index=IGNORE)
    kept = labels != IGNORE
    assert matrix.sum() == kept.sum() <= valid.sum()
    np.testing.assert_array_equal(matrix, np.bincount(labels[kept] * 7 + prediction[kept], minlength=49).reshape(7, 7))
    other = np.where(~valid, 6 - prediction, prediction)  # other predictions at the nodata pixels only
    np.testing.assert_array_equal(confusion_matrix(other, labels, 7, ignore_index=IGNORE), matrix)


# ---- the commands end to end ----------------------------------------------------------------------

TRAIN = ["--crop", "64", "--samples", "16", "--epochs", "1", "--depth", "2", "--base-channels", "4"]
TRAIN += ["--padding", "same", "--no-progress"]


@pytest.fixture(scope="module")
def checkpoint(scene_tif, landsat, tmp_path_factory):
    path = tmp_path_factory.mktemp("train") / "landcover.pt"
    argv = ["--images", str(scene_tif), "--masks", str(landsat / "strata.tif"), *TRAIN, "--checkpoint", str(path)]
    assert cli.main(argv) == 0
    return path


@pytest.fixture(scope="module")
def reprojected(scene_tif, tmp_path_factory):
    """The stacked scene warped to UTM 17N (nearest neighbour, nodata kept): another grid, same bands."""
    from rasterio.warp import Resampling, calculate_default_transform, reproject

    path = tmp_path_factory.mktemp("utm") / "scene_utm.tif"
    with rasterio.open(scene_tif) as src:
        transform, width, height = calculate_default_transform(
            src.crs, "EPSG:32617", src.width, src.height, *src.bounds
        )
        profile = src.profile | {"crs": "EPSG:32617", "transform": transform, "width": width, "height": height}
        with rasterio.open(path, "w", **profile) as out:
            for band in range(1, src.count + 1):
                destination = np.full((height, width), src.nodata, np.float32)
                reproject(
                    rasterio.band(src, band),
                    destination,
                    src_nodata=src.nodata,
                    dst_transform=transform,
                    dst_crs="EPSG:32617",
                    dst_nodata=src.nodata,
                    resampling=Resampling.nearest,
                )
                out.write(destination, band)
    return path


@needs_landsat
def test_train_then_predict_a_scene_on_another_grid(checkpoint, reprojected, tmp_path, raw):
    state = load_checkpoint(checkpoint)
    assert state["train_config"]["ignore_index"] == IGNORE  # the command's loss ignores nodata
    assert state["data"]["class_values"] == CLASSES
    mask = independent_valid(raw)
    np.testing.assert_allclose(state["data"]["mean"], [v[mask].astype(np.float64).mean() for v, _ in raw], rtol=1e-9)
    output = tmp_path / "classes.tif"
    argv = ["--checkpoint", str(checkpoint), "--input", str(reprojected), "--output", str(output)]
    assert predict_command.main([*argv, "--tile-size", "256", "--margin", "16"]) == 0
    with rasterio.open(reprojected) as src, rasterio.open(output) as out:
        assert out.crs == src.crs and out.crs.to_epsg() == 32617
        assert (out.transform, out.width, out.height) == (src.transform, src.width, src.height)
        assert out.dtypes == ("uint8",) and out.nodata == 255
        nodata = (src.read() == src.nodata).any(axis=0)
        classes = out.read(1)
    assert 0.2 < nodata.mean() < 0.6  # the frame, and the warp's empty corners
    assert (classes[nodata] == 255).all()
    assert set(np.unique(classes[~nodata])) <= set(CLASSES)


@needs_landsat
def test_predict_refuses_a_scene_with_other_bands(checkpoint, scene_tif, tmp_path, capsys):
    with rasterio.open(scene_tif) as src:
        five = write_tif(tmp_path / "five.tif", src.read([1, 2, 3, 4, 5]), src.crs, src.transform, src.nodata)
    with pytest.raises(SystemExit) as exit:
        predict_command.main(
            ["--checkpoint", str(checkpoint), "--input", str(five), "--output", str(tmp_path / "c.tif")]
        )
    assert exit.value.code == 2
    assert "5 bands" in capsys.readouterr().err
    assert not (tmp_path / "c.tif").exists()


@needs_landsat
def test_train_refuses_a_scene_without_masks(scene_tif, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit:
        cli.main(["--images", str(scene_tif), *TRAIN, "--checkpoint", str(tmp_path / "x.pt")])
    assert exit.value.code == 2
    assert "--masks" in capsys.readouterr().err
    assert not (tmp_path / "x.pt").exists()


@pytest.mark.parametrize(
    "codes, extra", [([1, 2], ["--num-classes", "3"]), ([1], [])], ids=["num-classes", "one-class"]
)
def test_a_trained_scene_checkpoint_can_predict(tmp_path, codes, extra):
    rng = np.random.default_rng(0)
    image = write_tif(tmp_path / "scene.tif", rng.normal(100, 10, (2, 48, 48)).astype(np.float32), nodata=-99999)
    labels = write_tif(tmp_path / "labels.tif", rng.choice(codes, (48, 48)).astype(np.uint8), nodata=0)
    small = [
        "--crop",
        "32",
        "--samples",
        "4",
        "--epochs",
        "1",
        "--depth",
        "2",
        "--base-channels",
        "4",
        "--padding",
        "same",
    ]
    small += ["--no-progress"]
    argv = ["--images", str(image), "--masks", str(labels), *small, *extra, "--checkpoint", str(tmp_path / "c.pt")]
    try:
        cli.main(argv)
    except SystemExit:
        return  # refusing the run up front is a fix too
    predict_command.main(
        ["--checkpoint", str(tmp_path / "c.pt"), "--input", str(image), "--output", str(tmp_path / "o.tif")]
    )
