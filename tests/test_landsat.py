"""Chapter 13's experiment functions: the block split, the spectral indices and the inputs."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("rasterio")

from unetlib.landsat import BAND_SETS, band_inputs, spatial_blocks, spectral_index  # noqa: E402


def test_spatial_blocks_deals_whole_blocks_in_the_fractions():
    valid = np.ones((100, 130), bool)
    valid[:, :20] = False  # a frame without data: its blocks are dealt to no part
    split = spatial_blocks(valid, block=10, fractions=(0.5, 0.2, 0.3), seed=3)
    blocks = split.reshape(10, 10, 13, 10).transpose(0, 2, 1, 3).reshape(10, 13, 100)
    # Every block is one part.
    assert (blocks == blocks[..., :1]).all()
    used = blocks[:, 2:, 0]  # the 110 blocks with data
    counts = np.bincount(used.ravel(), minlength=3)
    assert counts.tolist() == [55, 22, 33]
    # Another seed deals them differently; the same seed the same way.
    assert not np.array_equal(split, spatial_blocks(valid, block=10, seed=4))
    assert np.array_equal(split, spatial_blocks(valid, block=10, seed=3))


def test_spectral_index_is_the_normalised_difference_and_zero_over_zero():
    first = np.array([3.0, 0.0, 1.0, 5.0])
    second = np.array([1.0, 0.0, 3.0, 5.0])
    assert spectral_index(first, second).tolist() == [0.5, 0.0, -0.5, 0.0]


def test_band_inputs_pick_the_bands_and_add_ndvi_and_ndwi():
    rng = np.random.default_rng(0)
    pixels = rng.uniform(1, 255, (6, 8, 9)).astype(np.float32)
    assert band_inputs(pixels, "six bands").shape == (6, 8, 9)
    rgb = band_inputs(pixels, "RGB")
    assert np.array_equal(rgb, pixels[[2, 1, 0]])  # red, green, blue from bands 3, 2, 1
    indices = band_inputs(pixels, "RGB + indices")
    red, green, nir = pixels[2].astype(float), pixels[1].astype(float), pixels[3].astype(float)
    assert np.allclose(indices[3], (nir - red) / (nir + red), atol=1e-6)
    assert np.allclose(indices[4], (green - nir) / (green + nir), atol=1e-6)
    assert BAND_SETS == ("six bands", "RGB", "RGB + indices")
    with pytest.raises(ValueError, match="band_set"):
        band_inputs(pixels, "infrared")
