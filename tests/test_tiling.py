"""predict_tiled: exactly the whole-image result for valid padding, small seams for same padding."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from unetlib.model import UNet, output_size, valid_input_sizes
from unetlib.tiling import mirror_indices, plan_tiles, predict_tiled


def small_unet(**overrides) -> UNet:
    torch.manual_seed(0)
    return UNet(**({"in_channels": 1, "num_classes": 2, "depth": 2, "base_channels": 4} | overrides)).eval()


@pytest.mark.parametrize("start, length, size", [(-3, 10, 4), (-40, 100, 7), (5, 30, 6), (0, 5, 1), (-9, 30, 2)])
def test_mirror_indices_match_numpy_reflect_padding(start, length, size):
    axis = np.arange(size)
    before = max(0, -start)
    padded = np.pad(axis, (before, max(0, start + length - size)), mode="reflect")
    np.testing.assert_array_equal(mirror_indices(start, length, size), padded[start + before : start + before + length])


@pytest.mark.parametrize("channels, height, width, tile", [(1, 150, 203, 92), (3, 61, 47, 60), (1, 300, 40, 108)])
def test_valid_padding_tiles_equal_the_whole_mirrored_image(channels, height, width, tile):
    model = small_unet(in_channels=channels)
    image = np.random.default_rng(1).normal(size=(channels, height, width)).astype(np.float32)
    tiled = predict_tiled(model, image, tile_size=tile, batch_size=3)

    # Independently: mirror-pad the whole image by the network's margin (np.pad), up to a size
    # the network accepts, run it once, and crop.
    margin = (tile - output_size(tile, depth=2)) // 2
    whole_h = valid_input_sizes(2, height + 2 * margin, height + 2 * margin + 64)[0]
    whole_w = valid_input_sizes(2, width + 2 * margin, width + 2 * margin + 64)[0]
    padded = np.pad(
        image, ((0, 0), (margin, whole_h - height - margin), (margin, whole_w - width - margin)), mode="reflect"
    )
    with torch.no_grad():
        whole = model(torch.from_numpy(padded)[None])[0, :, :height, :width]
    assert tiled.shape == (2, height, width)
    torch.testing.assert_close(tiled, whole, rtol=1e-5, atol=1e-5)


def test_same_padding_seams_shrink_with_the_margin():
    model = small_unet(padding="same")
    image = np.random.default_rng(2).normal(size=(160, 208)).astype(np.float32)  # not multiples of the tile
    with torch.no_grad():
        whole = model(torch.from_numpy(image)[None, None])[0]
    scale = whole.abs().max().item()

    def seam_error(margin: int) -> float:
        # Away from the image's own border (where tiles see mirrored pixels and the whole-image
        # network sees zeros), any difference is a seam between tiles.
        tiled = predict_tiled(model, image, tile_size=64, margin=margin)
        band = max(margin, 1)
        return (tiled - whole)[:, band:-band, band:-band].abs().max().item() / scale

    no_margin, default_margin = seam_error(0), seam_error(16)
    assert no_margin > 0.02  # butting tiles together leaves visible seams
    assert default_margin < 1e-4  # the default margin (tile // 4) removes them
    assert plan_tiles(model, 160, 208, 64).margin == 16


def test_only_batch_size_tiles_reach_the_model_at_a_time():
    model = small_unet()
    shapes = []
    model.register_forward_pre_hook(lambda module, args: shapes.append(tuple(args[0].shape)))
    grid = plan_tiles(model, 400, 333, 92)
    predict_tiled(model, np.zeros((400, 333)), tile_size=92, batch_size=5)
    assert sum(s[0] for s in shapes) == len(grid)
    assert all(s[0] <= 5 and s[2:] == (92, 92) for s in shapes)


def test_model_mode_is_restored_and_tensors_are_accepted():
    model = small_unet(dropout=0.5).train()
    image = torch.randn(1, 100, 100)
    first = predict_tiled(model, image, tile_size=92, progress=True)
    assert model.training
    torch.testing.assert_close(predict_tiled(model, image, tile_size=92), first)  # eval: no dropout


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda m: predict_tiled(m, np.zeros((3, 50, 50)), 92), ValueError, "in_channels=1"),
        (lambda m: predict_tiled(m, np.zeros((50,)), 92), ValueError, r"\(H, W\), \(C, H, W\) or \(N, C, H, W\)"),
        (lambda m: predict_tiled(m, np.zeros((50, 50)), 90), ValueError, "nearest sizes that work are 88 or 92"),
        (lambda m: predict_tiled(m, np.zeros((50, 50)), 92, margin=4), ValueError, "margin is fixed"),
        (lambda m: predict_tiled(m, np.zeros((50, 50)), 92, batch_size=0), ValueError, "batch_size"),
        (lambda m: predict_tiled(torch.nn.Conv2d(1, 1, 3), np.zeros((50, 50)), 92), TypeError, "unetlib.model.UNet"),
        (lambda m: predict_tiled(small_unet(padding="same"), np.zeros((50, 50)), 30), ValueError, "multiple of 4"),
        (lambda m: predict_tiled(small_unet(padding="same"), np.zeros((50, 50)), 32, margin=16), ValueError, "margin"),
    ],
)
def test_bad_arguments_say_what_would_work(call, error, words):
    with pytest.raises(error, match=words):
        call(small_unet())


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU")
def test_tiles_on_cuda_equal_tiles_on_cpu():
    model = small_unet()
    image = np.random.default_rng(3).normal(size=(200, 150)).astype(np.float32)
    on_cpu = predict_tiled(model, image, tile_size=92)
    on_gpu = predict_tiled(model.cuda(), image, tile_size=92)
    torch.testing.assert_close(on_gpu, on_cpu, rtol=1e-3, atol=1e-3)


def test_a_tile_too_small_for_the_pooling_grid_names_one_that_works():
    model = UNet(1, 2, depth=3, base_channels=2)
    with pytest.raises(ValueError, match="use tile_size 100 or larger"):
        predict_tiled(model, np.zeros((20, 20)), tile_size=92)  # output 4 < step 8
    assert predict_tiled(model, np.zeros((20, 20)), tile_size=100).shape == (2, 20, 20)


def test_a_batch_is_tiled_image_by_image():
    torch.manual_seed(0)
    model = UNet(1, 2, depth=2, base_channels=4)
    batch = torch.rand(3, 1, 50, 61)
    together = predict_tiled(model, batch, tile_size=92)
    assert together.shape == (3, 2, 50, 61)
    torch.testing.assert_close(together[1], predict_tiled(model, batch[1], tile_size=92))
