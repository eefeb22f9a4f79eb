"""unetlib.kernels against scikit-image and SciPy, which implement the same operators independently."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.ndimage as ndi
import skimage.filters

from unetlib import kernels
from unetlib.conv import conv2d

RNG = np.random.default_rng(0)
IMAGE = RNG.random((24, 31))
INTERIOR = (slice(1, -1), slice(1, -1))  # libraries pad the border differently


@pytest.mark.parametrize(
    "ours, theirs, scale",
    [
        (kernels.sobel_vertical, skimage.filters.sobel_v, 4),
        (kernels.sobel_horizontal, skimage.filters.sobel_h, 4),
        (kernels.prewitt_vertical, skimage.filters.prewitt_v, 3),
        (kernels.prewitt_horizontal, skimage.filters.prewitt_h, 3),
        (kernels.scharr_vertical, skimage.filters.scharr_v, 16),
        (kernels.scharr_horizontal, skimage.filters.scharr_h, 16),
    ],
)
def test_edge_kernels_agree_with_skimage_up_to_the_documented_scale(ours, theirs, scale):
    np.testing.assert_allclose(conv2d(IMAGE, ours()) / scale, theirs(IMAGE)[INTERIOR], atol=1e-12)


def test_sobel_kernels_by_hand():
    np.testing.assert_array_equal(kernels.sobel_vertical(), [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]])
    np.testing.assert_array_equal(kernels.sobel_horizontal(), [[-1, -2, -1], [0, 0, 0], [1, 2, 1]])


def test_edge_kernels_respond_to_the_edges_they_are_named_after():
    brighter_right = np.tile(np.arange(6.0), (6, 1))
    assert np.all(conv2d(brighter_right, kernels.sobel_vertical()) > 0)
    assert np.all(conv2d(brighter_right, kernels.sobel_horizontal()) == 0)
    brighter_below = brighter_right.T
    assert np.all(conv2d(brighter_below, kernels.sobel_horizontal()) > 0)


def test_laplacian_matches_scipy():
    np.testing.assert_allclose(conv2d(IMAGE, kernels.laplacian()), ndi.laplace(IMAGE)[INTERIOR], atol=1e-12)


@pytest.mark.parametrize("sigma", [0.5, 1.0, 2.3])
def test_gaussian_matches_scipy_gaussian_filter_of_an_impulse(sigma):
    kernel = kernels.gaussian(sigma)
    radius = kernel.shape[0] // 2
    assert kernel.shape[0] == 2 * int(np.ceil(3 * sigma)) + 1
    impulse = np.zeros((2 * radius + 1,) * 2)
    impulse[radius, radius] = 1.0
    # scipy truncates at int(truncate * sigma + 0.5): choose truncate to give the same radius.
    expected = ndi.gaussian_filter(impulse, sigma, mode="constant", truncate=(radius - 0.4) / sigma)
    np.testing.assert_allclose(kernel, expected / expected.sum(), atol=1e-12)
    assert np.isclose(kernel.sum(), 1.0)


def test_box_identity_and_sharpen():
    np.testing.assert_allclose(conv2d(IMAGE, kernels.box(5)), ndi.uniform_filter(IMAGE, 5)[2:-2, 2:-2], atol=1e-12)
    np.testing.assert_array_equal(conv2d(IMAGE, kernels.identity(3), padding=1), IMAGE)
    np.testing.assert_array_equal(kernels.sharpen(), [[0, -1, 0], [-1, 5, -1], [0, -1, 0]])
    assert kernels.identity(1).tolist() == [[1.0]]


def test_image_gradients_magnitude_and_direction():
    gx, gy = kernels.image_gradients(IMAGE)
    assert gx.shape == gy.shape == IMAGE.shape
    magnitude = kernels.gradient_magnitude(gx, gy)
    # skimage.filters.sobel = sqrt((sobel_h**2 + sobel_v**2) / 2) with the 1/4 scale.
    np.testing.assert_allclose(magnitude[INTERIOR] / 4 / np.sqrt(2), skimage.filters.sobel(IMAGE)[INTERIOR], atol=1e-12)
    ramp = np.tile(np.arange(8.0), (8, 1))
    assert np.allclose(kernels.gradient_direction(*kernels.image_gradients(ramp))[INTERIOR], 0.0)
    assert np.allclose(kernels.gradient_direction(*kernels.image_gradients(ramp.T))[INTERIOR], np.pi / 2)
    flat_gx, flat_gy = kernels.image_gradients(np.full((5, 5), 3.0))
    assert np.all(flat_gx == 0) and np.all(flat_gy == 0)  # replicate padding: no edge at the border


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: kernels.gaussian(0), ValueError, "sigma must be greater than 0"),
        (lambda: kernels.gaussian("1"), TypeError, "sigma must be a number"),
        (lambda: kernels.gaussian(1.0, size=4), ValueError, "size must be odd.*try 5"),
        (lambda: kernels.box(2.0), TypeError, "size must be an int"),
        (lambda: kernels.identity(0), ValueError, "size must be odd and positive"),
        (lambda: kernels.image_gradients(IMAGE, operator="canny"), ValueError, "operator must be one of"),
        (lambda: kernels.image_gradients(np.zeros((4, 4, 3))), ValueError, "rgb2gray"),
        (lambda: kernels.image_gradients(IMAGE, padding_mode="edge"), ValueError, "padding_mode must be one of"),
        (lambda: kernels.gradient_magnitude(np.zeros(3), np.zeros(4)), ValueError, "same shape"),
    ],
)
def test_bad_arguments(call, error, message):
    with pytest.raises(error, match=message):
        call()
