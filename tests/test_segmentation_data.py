"""Real data: verified downloads (from a local server), validated masks, aligned augmentation."""

from __future__ import annotations

import hashlib
import http.server
import shutil
import threading
from pathlib import Path
from urllib.parse import unquote

import numpy as np
import pytest
from skimage.io import imread, imsave

from unetlib.data import (
    load_bbbc039,
    load_isbi2012,
    Augment,
    SegmentationDataset,
    decode_mask,
    elastic_deform,
    fetch,
    flip_rotate,
    normalise_percentile,
    random_crop,
    synthetic_cells,
)
from unetlib.data.registry import SOURCES

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "datasets"
needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/datasets is not here")


# ---- the registry and the downloader ------------------------------------------------------------


@needs_shared
def test_registry_says_what_the_provenance_files_say():
    for source in SOURCES.values():
        text = (SHARED / source["folder"] / "PROVENANCE.md").read_text()
        listed = dict(
            line.split(maxsplit=1)[::-1]
            for line in text.split("## Files (sha256)")[1].split("```")[1].strip().splitlines()
        )
        assert {path.strip(): digest for path, digest in listed.items()} == source["files"]
        assert source["commit"] in text


class _Mirror(http.server.SimpleHTTPRequestHandler):
    """Serves <root>/<repository>/<commit>/<prefix><path> from the shared copies."""

    def translate_path(self, path):
        parts = unquote(path).lstrip("/").split("/", 3)
        for source in SOURCES.values():
            # Two sets may share a repository and commit (the BBBC039 subset and its 40 more).
            if "/".join(parts[:3]) == f"{source['repository']}/{source['commit']}":
                inside = self.server.root / source["folder"] / parts[3][len(source["prefix"]) :]
                if inside.is_file():
                    return str(inside)
        return "/nonexistent"

    def log_message(self, *args):
        pass


@pytest.fixture
def mirror(tmp_path):
    root = tmp_path / "served"
    for name in ("isbi2012", "dubai", "bbbc039_more", "landsat"):
        folder = SOURCES[name]["folder"]
        shutil.copytree(SHARED / folder, root / folder)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Mirror)
    server.root = root
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", root
    server.shutdown()


@needs_shared
@pytest.mark.parametrize("name", ["isbi2012", "dubai", "bbbc039_more", "landsat"])
def test_fetch_downloads_verifies_and_then_works_offline(mirror, tmp_path, monkeypatch, name):
    url, _ = mirror
    monkeypatch.setenv("UNETLIB_DATA", str(tmp_path / "cache"))
    folder = fetch(name, base_url=url)
    files = SOURCES[name]["files"]
    for path, digest in files.items():
        assert hashlib.sha256((folder / path).read_bytes()).hexdigest() == digest
    # A second call needs no network at all: point it at a dead address.
    assert fetch(name, base_url="http://127.0.0.1:9") == folder


@needs_shared
def test_a_corrupted_download_is_rejected(mirror, tmp_path, monkeypatch):
    url, root = mirror
    monkeypatch.setenv("UNETLIB_DATA", str(tmp_path / "cache"))
    (root / "isbi2012_em_membranes" / "train" / "label" / "7.png").write_bytes(b"not the real file")
    with pytest.raises(RuntimeError, match=r"7\.png .* does not match its sha256"):
        fetch("isbi2012", base_url=url)
    assert not (tmp_path / "cache" / "isbi2012_em_membranes" / "train" / "label" / "7.png").exists()


def test_offline_without_the_files_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("UNETLIB_DATA", str(tmp_path / "empty"))
    with pytest.raises(RuntimeError, match="could not be downloaded.*set UNETLIB_DATA"):
        fetch("bbbc039", base_url="http://127.0.0.1:9")
    with pytest.raises(ValueError, match="name must be one of"):
        fetch("mnist")


@needs_shared
def test_the_shared_folder_is_a_complete_cache(monkeypatch):
    monkeypatch.setenv("UNETLIB_DATA", str(SHARED))
    for name in SOURCES:
        assert fetch(name, base_url="http://127.0.0.1:9").is_dir()  # nothing to download


# ---- masks and pairs -------------------------------------------------------------------------------


def test_decode_mask_encodings():
    np.testing.assert_array_equal(decode_mask(np.array([[0, 255]], np.uint8), "binary"), [[0, 1]])
    np.testing.assert_array_equal(decode_mask(np.array([[0, 1]], np.uint8), "binary"), [[0, 1]])
    rgb = np.zeros((1, 2, 3), np.uint8)
    rgb[0, 1] = (60, 16, 152)
    np.testing.assert_array_equal(decode_mask(rgb, {(0, 0, 0): 0, (60, 16, 152): 3}), [[0, 3]])
    np.testing.assert_array_equal(decode_mask(np.array([[0, 2]]), "indices"), [[0, 2]])
    with pytest.raises(ValueError, match="0 and 1, or 0 and 255; found values \\[0, 128\\]"):
        decode_mask(np.array([[0, 128]], np.uint8), "binary", "mask.png")
    with pytest.raises(ValueError, match="colour mask"):
        decode_mask(rgb, "binary")
    with pytest.raises(ValueError, match=r"colours not in the palette: \[\(60, 16, 152\)\]"):
        decode_mask(rgb, {(0, 0, 0): 0})


def test_dataset_errors_name_the_file(tmp_path):
    image, labels = synthetic_cells(32, 3)
    imsave(tmp_path / "a.png", (image * 255).astype(np.uint8), check_contrast=False)
    imsave(tmp_path / "a_mask.png", ((labels > 0) * 255).astype(np.uint8), check_contrast=False)
    imsave(tmp_path / "small_mask.png", np.zeros((16, 16), np.uint8), check_contrast=False)
    imsave(tmp_path / "grey_mask.png", np.full((32, 32), 128, np.uint8), check_contrast=False)
    (tmp_path / "broken.png").write_bytes(b"no picture here")
    data = SegmentationDataset([tmp_path / "a.png"], [tmp_path / "a_mask.png"])
    image_t, mask_t = data[0]
    assert image_t.shape == (1, 32, 32) and mask_t.dtype.is_floating_point is False and data.num_classes == 2
    with pytest.raises(ValueError, match=r"a\.png is 32x32 but its mask .*small_mask\.png is 16x16"):
        SegmentationDataset([tmp_path / "a.png"], [tmp_path / "small_mask.png"])
    with pytest.raises(ValueError, match=r"grey_mask\.png: a binary mask"):
        SegmentationDataset([tmp_path / "a.png"], [tmp_path / "grey_mask.png"])
    with pytest.raises(ValueError, match=r"broken\.png could not be read"):
        SegmentationDataset([tmp_path / "broken.png"], [tmp_path / "a_mask.png"])
    with pytest.raises(ValueError, match="1 images but 2 masks"):
        SegmentationDataset([tmp_path / "a.png"], [tmp_path / "a_mask.png"] * 2)


@needs_shared
def test_bbbc039_pairs_load_with_their_encoding():
    folder = SHARED / "bbbc039_nuclei_subset"
    data = SegmentationDataset(folder / "images", folder / "masks", encoding=lambda m: m[..., 0] > 0)
    assert len(data) == 20
    image, mask = data[0]
    assert image.shape == (1, 520, 696) and 0 <= image.min() and image.max() <= 1
    share = np.mean([m.mean() for m in data.masks])
    assert 0.15 < share < 0.26  # PROVENANCE.md: nuclei are 20.8 % of the pixels on average


@needs_shared
def test_load_bbbc039_with_more_gives_60_distinct_fields_the_subset_first(monkeypatch):
    monkeypatch.setenv("UNETLIB_DATA", str(SHARED))
    names, images, instances = load_bbbc039(more=True)
    assert len(names) == len(set(names)) == len(images) == len(instances) == 60
    assert names[:20] == load_bbbc039()[0]
    # PROVENANCE.md: 520x696 fields of view, and none of the 40 is one of the 20.
    assert all(image.shape == (1, 520, 696) for image in images)
    assert not set(names[:20]) & set(names[20:])
    assert all(inst.max() > 10 for inst in instances)  # every field holds nuclei


def test_percentile_normalisation_of_12_bit_values():
    values = np.array([114, 500, 1000, 4095], dtype=np.uint16)
    np.testing.assert_allclose(normalise_percentile(values, 0, 100), (values - 114) / (4095 - 114), rtol=1e-6)


# ---- augmentation keeps image and targets aligned --------------------------------------------------


def test_augmentations_move_image_and_labels_together():
    image, labels = synthetic_cells(64, 10, seed=2)
    stack = np.stack([image, image * 2])  # two channels
    rng = np.random.default_rng(0)
    for _ in range(8):
        out, out_labels = flip_rotate(stack, labels, rng=rng)
        # The image was drawn from the labels: cells stay bright where the labels say cells are.
        assert out[0][out_labels > 0].mean() > 3 * out[0][out_labels == 0].mean()
        np.testing.assert_array_equal(out[1], 2 * out[0])
    warped, warped_labels, warped_weights = elastic_deform(stack, labels, labels.astype(np.float32), rng=rng)
    assert set(np.unique(warped_labels)) <= set(np.unique(labels))  # no invented label values
    assert warped[0][warped_labels > 0].mean() > 3 * warped[0][warped_labels == 0].mean()
    # The float target (linear) and the labels (nearest) agree up to the blended border pixels.
    assert (warped_weights[warped_labels > 0] > 0).all() and (warped_labels[warped_weights == 0] == 0).all()
    assert not np.array_equal(warped_labels, labels)
    crop, crop_labels = random_crop(stack, labels, crop=20, rng=rng)
    assert crop.shape == (2, 20, 20) and crop_labels.shape == (20, 20)


def test_elastic_displacements_have_the_papers_scale():
    # Identity image of coordinates: the warp's displacement at each pixel is readable directly.
    rows = np.repeat(np.arange(200.0)[:, None], 200, axis=1)[None]
    (warped,) = elastic_deform(rows, rng=np.random.default_rng(1), sigma=10.0)
    shift = warped[0, 20:-20, 20:-20] - rows[0, 20:-20, 20:-20]
    assert 3 < shift.std() < 20  # bicubic interpolation of N(0, 10) displacements
    assert np.abs(np.diff(shift, axis=0)).max() < 1  # smooth: neighbours move together


def test_augment_is_seeded_and_checks_shapes():
    image, labels = synthetic_cells(40, 4)
    first = Augment(crop=24, seed=5)(image[None], labels)
    again = Augment(crop=24, seed=5)(image[None], labels)
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="image must be \\(C, H, W\\)"):
        flip_rotate(image, labels, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="target 0 has shape"):
        flip_rotate(image[None], labels[:5], rng=np.random.default_rng(0))


def test_split_touching_removes_only_pixels_that_touch_another_object():
    from skimage.measure import label

    from unetlib.data import fill_gaps, split_touching

    # Two 3x3 squares side by side (hand-worked): columns 3 and 4 touch the other square.
    squares = np.zeros((5, 8), int)
    squares[1:4, 1:4], squares[1:4, 4:7] = 1, 2
    expected = np.zeros((5, 8), int)
    expected[1:4, [1, 2, 5, 6]] = 1
    np.testing.assert_array_equal(split_touching(squares), expected)
    # A lone object touches only the background and keeps every pixel (large labels included).
    lone = np.zeros((6, 6), int)
    lone[1:5, 1:5] = 7
    np.testing.assert_array_equal(split_touching(lone), lone > 0)
    # fill_gaps gives the removed columns back, each to its own square.
    filled = fill_gaps(label(split_touching(squares)))
    np.testing.assert_array_equal(filled[1:4], squares[1:4])


def test_split_touching_and_fill_gaps():
    from skimage.measure import label

    from unetlib.data import fill_gaps, split_touching

    _, instances = synthetic_cells(96, 15, seed=4)
    separated = split_touching(instances)
    assert set(np.unique(separated)) <= {0, 1}
    assert (separated <= (instances > 0)).all()  # only nucleus pixels are removed
    # Every connected region of the result lies inside a single object.
    regions = label(separated)
    for region in range(1, regions.max() + 1):
        assert len(np.unique(instances[regions == region])) == 1
    filled = fill_gaps(regions)
    assert ((filled > 0) >= (separated > 0)).all()
    for bad in (np.zeros((3, 3)), np.zeros((2, 2, 2), int)):
        with pytest.raises(ValueError, match="2-D integer label image"):
            split_touching(bad)
        with pytest.raises(ValueError, match="2-D integer label image"):
            fill_gaps(bad)


def test_random_crops_serve_aligned_crops_and_check_lengths():
    from unetlib.data import RandomCrops

    image, labels = synthetic_cells(64, 8, seed=1)
    crops = RandomCrops(
        [image[None]], [(labels > 0).astype(np.int64)], [labels.astype(np.float32)], crop=32, samples=5, augment=True
    )
    assert len(crops) == 5
    x, y, w = crops[0]
    assert x.shape == (1, 32, 32) and y.shape == w.shape == (32, 32)
    assert ((w > 0) >= (y > 0)).all()  # weights (the labels here) follow the mask
    with pytest.raises(ValueError, match="one target"):
        RandomCrops([image[None]], [], crop=32)


@needs_shared
def test_isbi2012_loads_membranes_as_class_one(monkeypatch):
    monkeypatch.setenv("UNETLIB_DATA", str(SHARED))
    images, membranes = load_isbi2012()
    assert len(images) == len(membranes) == 30
    assert images[0].shape == (1, 512, 512) and images[0].dtype == np.float32
    assert set(np.unique(membranes[7]).tolist()) == {0, 1}
    # PROVENANCE.md: the label files' value 0 (membrane) is 21.96 % of all pixels.
    assert np.mean([m.mean() for m in membranes]) == pytest.approx(0.2196, abs=5e-5)
    label_file = SHARED / "isbi2012_em_membranes" / "train" / "label" / "3.png"
    np.testing.assert_array_equal(membranes[3], imread(label_file) == 0)


def test_a_0_255_mask_is_not_taken_for_256_classes():
    mask = np.array([[0, 255], [255, 0]], dtype=np.uint8)
    with pytest.raises(ValueError, match="encoding='binary'"):
        decode_mask(mask, "indices")
    assert decode_mask(np.array([[0, 2], [5, 0]], dtype=np.uint8), "indices").max() == 5  # sparse indices are fine


def test_one_nan_pixel_is_refused_not_spread_over_the_image():
    image = np.arange(16.0).reshape(4, 4)
    image[1, 2] = np.nan
    with pytest.raises(ValueError, match="1 NaN or infinite pixel"):
        normalise_percentile(image)
    image[1, 2] = np.inf
    with pytest.raises(ValueError, match="NaN or infinite"):
        normalise_percentile(image)


def test_an_unlabelled_colour_is_not_counted_as_a_class(tmp_path):
    from unetlib.data import DUBAI_PALETTE, UNLABELLED

    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    colours = np.array([[60, 16, 152], [155, 155, 155]], np.uint8)  # building, "unlabeled"
    imsave(tmp_path / "images" / "a.png", np.zeros((4, 4, 3), np.uint8), check_contrast=False)
    imsave(tmp_path / "masks" / "a.png", colours[np.eye(4, dtype=int)], check_contrast=False)
    pairs = SegmentationDataset(tmp_path / "images", tmp_path / "masks", DUBAI_PALETTE, ignore_index=UNLABELLED)
    assert pairs.num_classes == 1 and set(np.unique(pairs.masks[0])) == {0, UNLABELLED}
    assert SegmentationDataset(tmp_path / "images", tmp_path / "masks", DUBAI_PALETTE).num_classes == 256
