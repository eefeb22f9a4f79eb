"""learn_kernels finds the kernel that made the targets, the same way every time."""

from __future__ import annotations

import numpy as np
import pytest
import skimage.data
import torch
import torch.nn.functional as F

from unetlib.kernels import box, laplacian, sobel_horizontal, sobel_vertical
from unetlib.learn import learn_kernels


@pytest.fixture(scope="module")
def photo_patches() -> torch.Tensor:
    """Standardised 48x48 pieces of real photographs (as in Chapter 3)."""
    rng = np.random.default_rng(0)
    patches = []
    for name in ("camera", "coins", "brick", "grass"):
        image = getattr(skimage.data, name)().astype(float)
        image = (image - image.mean()) / image.std()
        for _ in range(3):
            r, c = rng.integers(0, image.shape[0] - 48), rng.integers(0, image.shape[1] - 48)
            patches.append(image[r : r + 48, c : c + 48])
    return torch.tensor(np.stack(patches)[:, None])


def test_recovers_sobel_from_photographs_within_1e_3(photo_patches):
    sobel = torch.tensor(sobel_vertical())[None, None]
    fit = learn_kernels(photo_patches, F.conv2d(photo_patches, sobel))
    assert np.abs(fit.weight - sobel.numpy()).max() < 1e-3
    assert fit.losses[-1] < 1e-6 * fit.losses[0]


def test_learns_several_kernels_at_once(photo_patches):
    truth = torch.tensor(np.stack([sobel_vertical(), sobel_horizontal(), box(3), laplacian()]))[:, None]
    fit = learn_kernels(photo_patches, F.conv2d(photo_patches, truth), seed=3)
    assert fit.weight.shape == (4, 1, 3, 3)
    assert np.abs(fit.weight - truth.numpy()).max() < 1e-3


def test_multi_channel_inputs_and_larger_kernels():
    inputs = torch.randn(4, 2, 24, 24, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    truth = torch.randn(1, 2, 5, 5, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    fit = learn_kernels(inputs, F.conv2d(inputs, truth), kernel_size=5, steps=300)
    assert np.abs(fit.weight - truth.numpy()).max() < 1e-6


def test_same_seed_same_kernels_bit_for_bit_and_snapshots_recorded(photo_patches):
    targets = F.conv2d(photo_patches, torch.tensor(sobel_horizontal())[None, None])
    first = learn_kernels(photo_patches, targets, steps=60, seed=5, snapshot_every=20)
    again = learn_kernels(photo_patches, targets, steps=60, seed=5, snapshot_every=20)
    other = learn_kernels(photo_patches, targets, steps=60, seed=6, snapshot_every=20)
    np.testing.assert_array_equal(first.weight, again.weight)
    np.testing.assert_array_equal(first.losses, again.losses)
    assert not np.array_equal(first.snapshots[0], other.snapshots[0])
    assert list(first.snapshot_steps) == [0, 20, 40, 60]
    np.testing.assert_array_equal(first.snapshots[-1], first.weight)
    assert first.losses.shape == (60,)


def test_too_large_a_learning_rate_stops_with_advice(photo_patches):
    targets = F.conv2d(photo_patches, torch.tensor(sobel_vertical())[None, None])
    with pytest.raises(FloatingPointError, match="too large"):
        learn_kernels(photo_patches, targets, lr=5.0)


@pytest.mark.parametrize(
    "arguments, error, words",
    [
        ({"targets": np.zeros((2, 1, 8, 8))}, ValueError, r"\(2, 1, 6, 6\)"),
        ({"inputs": np.zeros((8, 8))}, ValueError, r"inputs must be 4-D \(N, C, H, W\)"),
        ({"inputs": np.array([["a"]])}, TypeError, "real numbers"),
        ({"kernel_size": 0}, ValueError, "kernel_size"),
        ({"steps": 2.5}, TypeError, "steps must be an int"),
        ({"lr": 0}, ValueError, "lr"),
        ({"momentum": 1.0}, ValueError, "momentum"),
    ],
)
def test_bad_arguments_are_named(arguments, error, words):
    call = {"inputs": np.zeros((2, 1, 8, 8)), "targets": np.zeros((2, 1, 6, 6))} | arguments
    with pytest.raises(error, match=words):
        learn_kernels(**call)
