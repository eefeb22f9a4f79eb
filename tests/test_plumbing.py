"""The plumbing a mutation run found unpinned (benchmarks/mutation_score.py): each test here
fails for a one-line bug that the rest of the suite let through."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from unetlib.data import Augment, synthetic_cells
from unetlib.data.augment import random_crop
from unetlib.losses import SegmentationLoss, combined_loss, dice_loss, weighted_cross_entropy
from unetlib.metrics import object_f1
from unetlib.model import UNet
from unetlib.tiling import TileGrid, mirrored_crop, plan_tiles

SHARED = Path(__file__).resolve().parents[2] / "shared" / "datasets"


@pytest.mark.parametrize(
    "name, reference",
    [
        ("cross-entropy", lambda logits, target: weighted_cross_entropy(logits, target, ignore_index=255)),
        ("dice", lambda logits, target: dice_loss(logits, target, background=None, ignore_index=255)),
        (
            "cross-entropy+dice",
            lambda logits, target: combined_loss(logits, target, ignore_index=255, background=None),
        ),
    ],
)
def test_each_named_loss_is_the_function_of_that_name(name, reference):
    logits = torch.randn(2, 3, 5, 6, generator=torch.Generator().manual_seed(0))
    target = torch.randint(0, 3, (2, 5, 6), generator=torch.Generator().manual_seed(1))
    target[0, 0] = 255
    loss = SegmentationLoss(name, ignore_index=255)
    torch.testing.assert_close(loss(logits, target), reference(logits, target))


def test_the_dice_loss_takes_no_smoothing_at_all():
    logits, target = torch.zeros(1, 2, 2, 2), torch.tensor([[[0, 1], [1, 0]]])
    # Probabilities 1/2 everywhere: each class's soft Dice is 2 * (2 * 1/2) / (2 + 2) = 1/2.
    assert dice_loss(logits, target, smooth=0).item() == pytest.approx(0.5)


def test_object_f1_counts_every_match():
    truth = np.array([[1, 1, 0, 2, 2, 0, 3, 3]])
    found = np.array([[1, 1, 0, 2, 2, 0, 0, 0]])
    # 2 matches of 2 found and 3 true: F1 = 2 * 2 / (2 + 3).
    assert object_f1(found, truth)["f1"] == pytest.approx(0.8)


def test_tiles_at_their_limits_are_accepted():
    assert TileGrid(height=1, width=9, tile=5, margin=2, step=1).rows == [0]
    model = UNet(1, 2, depth=1, base_channels=2, padding="same")
    assert plan_tiles(model, 1, 9, tile_size=8).rows == [0]
    assert plan_tiles(model, 9, 1, tile_size=8).cols == [0]
    assert mirrored_crop(np.array([[7]]), -1, -1, 3).tolist() == [[7, 7, 7]] * 3
    with pytest.raises(ValueError, match="each of 1 pixel or more"):
        mirrored_crop(np.zeros((0, 3)), 0, 0, 2)


def test_random_crops_reach_every_position():
    image = np.arange(25.0).reshape(1, 5, 5)
    rng = np.random.default_rng(0)
    corners = {int(random_crop(image, crop=3, rng=rng)[0][0, 0, 0]) for _ in range(300)}
    assert corners == {row * 5 + col for row in range(3) for col in range(3)}


def test_the_augmenter_flips_and_jitters_by_default():
    image = np.arange(16.0).reshape(1, 4, 4) / 16
    outputs = [Augment(elastic=0.0, seed=seed)(image, image[0])[0] for seed in range(12)]
    assert any(not np.allclose(np.sort(o.ravel()), np.sort(image.ravel())) for o in outputs)  # intensities moved
    assert any(not np.allclose(o.argmax(), image.argmax()) for o in outputs)  # the brightest pixel moved
    assert np.array_equal(Augment(seed=0)(image, image[0])[0], Augment()(image, image[0])[0])  # seed 0 by default


def test_membrane_scores_refuse_nan_probabilities():
    from unetlib.experiments import score_membranes

    with pytest.raises(ValueError, match="NaN"):
        score_membranes(np.full((4, 4), np.nan), np.zeros((4, 4), bool))


def test_score_on_images_scores_the_foreground_class():
    from unetlib.experiments import score_on_images

    class Threshold(nn.Module):  # logits that say "class 1" wherever the image is bright
        def forward(self, x):
            return torch.cat([0.5 - x, x - 0.5], dim=1)

    image, instances = synthetic_cells(48, count=4, radius=(4.0, 6.0), seed=0)
    bright = (instances > 0).astype(np.float32)[None]
    dice, f1 = score_on_images(Threshold(), [bright], [instances])
    assert (dice, f1) == (1.0, 1.0)


def test_median_frequency_weights_of_two_classes():
    from unetlib.experiments import median_frequency_weights

    np.testing.assert_allclose(median_frequency_weights([30, 10]), [2 / 3, 2.0])


def test_fit_leaves_a_process_group_it_did_not_create(tmp_path):
    import torch.distributed as dist

    from unetlib.train import fit

    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'store'}", rank=0, world_size=1)
    try:
        data = torch.utils.data.TensorDataset(torch.rand(2, 1, 8, 8), torch.zeros(2, 8, 8, dtype=torch.long))
        fit(UNet(1, 2, depth=1, base_channels=2, padding="same"), data, epochs=1, device="cpu", progress=False)
        assert dist.is_initialized()
    finally:
        dist.destroy_process_group()


@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/datasets is not here")
def test_bbbc039_instances_are_the_red_channels_regions(monkeypatch):
    from skimage.measure import label

    from unetlib.data import load_bbbc039

    monkeypatch.setenv("UNETLIB_DATA", str(SHARED))
    names, _, instances = load_bbbc039()
    with Image.open(next(SHARED.glob(f"bbbc039*/masks/{names[0]}.png"))) as opened:
        red = np.asarray(opened.convert("RGB"))[..., 0]
    assert instances[0].max() > 10  # nuclei, not an empty channel
    np.testing.assert_array_equal(instances[0], label(red, background=0))


def test_the_command_says_what_it_trained_and_refuses_a_weight_map_for_many_classes(tmp_path, capsys):
    from skimage.io import imsave

    from unetlib.cli import main

    for kind in ("images", "masks"):
        (tmp_path / kind).mkdir()
    classes = np.arange(40)[None, :] // 14 * np.ones((40, 1), np.uint8)
    imsave(tmp_path / "images" / "a.png", (classes * 80).astype(np.uint8), check_contrast=False)
    imsave(tmp_path / "masks" / "a.png", classes.astype(np.uint8), check_contrast=False)
    common = ["--images", str(tmp_path / "images"), "--masks", str(tmp_path / "masks"), "--encoding", "indices"]
    common += ["--crop", "32", "--samples", "2", "--batch-size", "2", "--depth", "1", "--base-channels", "2"]
    common += ["--epochs", "1", "--device", "cpu", "--checkpoint", str(tmp_path / "unet.pt")]
    assert main(common) == 0
    assert "trained 1 epochs" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(common + ["--recipe", "chapter8"])
    assert "border weight map" in capsys.readouterr().err


def test_predict_drops_an_alpha_channel(tmp_path):
    from unetlib.cli import main
    from unetlib.predict import main as predict

    rng = np.random.default_rng(0)
    for kind in ("images", "masks"):
        (tmp_path / kind).mkdir()
    rgb = rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(tmp_path / "images" / "a.png")
    Image.fromarray((rgb[..., 0] > 127).astype(np.uint8)).save(tmp_path / "masks" / "a.png")
    Image.fromarray(np.dstack([rgb, np.full((32, 32), 255, np.uint8)])).save(tmp_path / "rgba.png")
    checkpoint = str(tmp_path / "unet.pt")
    tiny = ["--crop", "32", "--samples", "2", "--batch-size", "2", "--depth", "1", "--base-channels", "2"]
    main(
        ["--images", str(tmp_path / "images"), "--masks", str(tmp_path / "masks"), "--epochs", "1", "--no-progress"]
        + tiny
        + ["--checkpoint", checkpoint]
    )
    for name in ("images/a.png", "rgba.png"):
        predict(
            [
                "--checkpoint",
                checkpoint,
                "--input",
                str(tmp_path / name),
                "--output",
                str(tmp_path / f"{Path(name).stem}_mask.png"),
            ]
        )
    np.testing.assert_array_equal(
        np.asarray(Image.open(tmp_path / "a_mask.png")), np.asarray(Image.open(tmp_path / "rgba_mask.png"))
    )


def test_an_unreadable_checkpoint_says_why_without_pytorchs_advice_to_run_its_code(tmp_path):
    from unetlib.checkpoints import load_checkpoint

    path = tmp_path / "bad.pt"
    path.write_bytes(b"\x80\x02not a checkpoint")
    with pytest.raises(ValueError) as error:
        load_checkpoint(path)
    assert "Unsupported operand" in str(error.value) and "weights_only" not in str(error.value)


def test_tiling_at_its_edges():
    from unetlib.tiling import mirror_indices, predict_tiled

    assert mirror_indices(0, 0, 4).tolist() == []
    valid = UNet(1, 2, depth=1, base_channels=2)  # an 18-pixel tile gives a 2-pixel output: one pooling step
    assert plan_tiles(valid, 5, 5, tile_size=18).step == 2
    with pytest.raises(ValueError, match="image has 3 channels"):
        predict_tiled(valid, np.zeros((3, 8, 8)), tile_size=18)


def test_a_checksum_covers_each_tensors_type_not_only_its_bytes(tmp_path):
    from unetlib.checkpoints import load_checkpoint, save_checkpoint

    path = save_checkpoint(tmp_path / "a.pt", UNet(1, 2, depth=1, base_channels=2, padding="same"))
    state = torch.load(path, weights_only=True)
    state["model"]["head.bias"] = state["model"]["head.bias"].view(torch.int32)  # the same bytes, read as ints
    torch.save(state, path)
    with pytest.raises(ValueError, match="damaged"):
        load_checkpoint(path)


def test_label_objects_matches_scikit_image_step_by_step():
    # The reference: skimage's own labelling, small-object removal and growth, one call each.
    import inspect

    from skimage.measure import label
    from skimage.morphology import remove_small_objects
    from skimage.segmentation import expand_labels

    from unetlib.prediction import label_objects

    probability = np.random.default_rng(4).random((60, 70))
    regions = label(probability > 0.7)
    # Keep regions of at least 4 pixels (scikit-image >= 0.26 says it as max_size=3).
    if "max_size" in inspect.signature(remove_small_objects).parameters:
        kept = remove_small_objects(regions, max_size=3)
    else:
        kept = remove_small_objects(regions, min_size=4)
    objects = label_objects(probability, threshold=0.7, min_size=4, grow=1)
    # One label per kept region, and the same pixels once grown (labels may be numbered differently).
    assert objects.max() == len(np.unique(kept[kept > 0])) > 0
    np.testing.assert_array_equal(objects > 0, expand_labels(kept, 1) > 0)


@pytest.mark.parametrize(
    "arguments, error, match",
    [
        ({"threshold": 1.5}, ValueError, "threshold"),
        ({"threshold": 0}, ValueError, "threshold"),
        ({"min_size": -1}, ValueError, "min_size"),
        ({"grow": 1.5}, TypeError, "grow"),
        ({"probability": np.zeros((2, 3, 4))}, ValueError, "probability"),
        ({"probability": np.full((3, 3), np.nan)}, ValueError, "probability"),
    ],
)
def test_label_objects_refuses_bad_settings_by_name(arguments, error, match):
    from unetlib.prediction import label_objects

    arguments = {"probability": np.zeros((5, 5))} | arguments
    with pytest.raises(error, match=match):
        label_objects(**arguments)


def test_load_bbbc039_refuses_a_more_that_is_not_a_bool():
    from unetlib.data import load_bbbc039

    with pytest.raises(TypeError, match="more"):
        load_bbbc039(more="yes")
