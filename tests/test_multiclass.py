"""Many classes (Chapter 11): losses with class weights and an ignore index, the recipe's
helpers, train_multiclass, and the Dubai set decoded from the colours its PNGs really hold."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from unetlib.data import DUBAI_CLASSES, DUBAI_PALETTE, UNLABELLED, load_dubai
from unetlib.experiments import (
    channel_statistics,
    class_pixel_counts,
    median_frequency_weights,
    score_multiclass,
    train_multiclass,
)
from unetlib.losses import combined_loss, dice_loss, weighted_cross_entropy
from unetlib.metrics import iou_from_confusion, mean_iou, mean_over_classes, per_class_iou
from unetlib.model import UNet
from unetlib.prediction import Segmenter
from unetlib.train import evaluate, fit

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "datasets"
needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/datasets is not here")


def _logits_and_target(classes=5, seed=0):
    generator = torch.Generator().manual_seed(seed)
    logits = torch.randn(2, classes, 6, 7, generator=generator)
    target = torch.randint(0, classes, (2, 6, 7), generator=generator)
    target[0, :2, :3] = UNLABELLED
    return logits, target


# ---- losses -------------------------------------------------------------------------------------


def test_class_weights_and_ignore_index_match_pytorchs_cross_entropy():
    logits, target = _logits_and_target()
    weights = torch.tensor([1.0, 0.3, 1.7, 1.3, 0.4])
    expected = F.cross_entropy(logits, target, weight=weights, ignore_index=UNLABELLED)
    torch.testing.assert_close(
        weighted_cross_entropy(logits, target, class_weights=weights, ignore_index=UNLABELLED), expected
    )
    torch.testing.assert_close(
        weighted_cross_entropy(logits, target, ignore_index=UNLABELLED),
        F.cross_entropy(logits, target, ignore_index=UNLABELLED),
    )


def test_every_pixel_ignored_gives_zero_not_nan():
    logits = torch.randn(1, 3, 4, 4, requires_grad=True)
    target = torch.full((1, 4, 4), UNLABELLED)
    loss = weighted_cross_entropy(logits, target, ignore_index=UNLABELLED)
    loss.backward()
    assert loss.item() == 0 and torch.isfinite(logits.grad).all()


def test_dice_with_an_ignore_index_is_the_dice_of_the_kept_pixels():
    logits, target = _logits_and_target()
    kept = target != UNLABELLED
    # The kept pixels alone, as one row of an image: the ignored ones must not count at all.
    only_kept = logits.permute(1, 0, 2, 3)[:, kept][None, :, None, :]
    expected = dice_loss(only_kept, target[kept][None, None], background=None)
    torch.testing.assert_close(dice_loss(logits, target, background=None, ignore_index=UNLABELLED), expected)


def test_dice_over_every_class_by_hand():
    logits = torch.tensor([[[[2.0, 0.0]], [[0.0, 2.0]]]])  # (1, 2, 1, 2)
    target = torch.tensor([[[0, 0]]])
    p = torch.softmax(logits, 1)[0, :, 0]  # (2 classes, 2 pixels)
    dice_0 = (2 * p[0].sum() + 1) / (p[0].sum() + 2 + 1)
    dice_1 = (0 + 1) / (p[1].sum() + 0 + 1)
    torch.testing.assert_close(dice_loss(logits, target, background=None), 1 - (dice_0 + dice_1) / 2)
    torch.testing.assert_close(dice_loss(logits, target), 1 - dice_1)  # background 0 left out


def test_a_value_outside_the_classes_still_fails_and_names_ignore_index():
    logits, target = _logits_and_target()
    with pytest.raises(ValueError, match="ignore_index"):
        weighted_cross_entropy(logits, target)
    with pytest.raises(ValueError, match="class_weights must be 5"):
        weighted_cross_entropy(logits, target, class_weights=[1, 2], ignore_index=UNLABELLED)
    with pytest.raises(ValueError, match="not all 0"):
        combined_loss(logits, target, class_weights=[0] * 5, ignore_index=UNLABELLED)


# ---- the recipe's helpers ---------------------------------------------------------------------


def test_median_frequency_weights_by_hand():
    # frequencies 0.6, 0.3, 0.1: median 0.3
    np.testing.assert_allclose(median_frequency_weights([600, 300, 100]), [0.5, 1.0, 3.0], rtol=1e-6)
    # an absent class gets 0, and the median is over the classes present (0.25 of 0.2, 0.25, 0.55)
    np.testing.assert_allclose(median_frequency_weights([20, 0, 25, 55]), [1.25, 0, 1, 0.25 / 0.55], rtol=1e-6)
    with pytest.raises(ValueError, match="counts must be pixel counts"):
        median_frequency_weights([0, 0])


def test_channel_statistics_are_numpys_over_all_pixels():
    rng = np.random.default_rng(1)
    images = [rng.random((3, 5, 7)), rng.random((3, 9, 4)) * 0.5]
    pixels = np.concatenate([image.reshape(3, -1) for image in images], axis=1)
    mean, std = channel_statistics(images)
    np.testing.assert_allclose(mean, pixels.mean(1), rtol=1e-5)
    np.testing.assert_allclose(std, pixels.std(1), rtol=1e-5)


def test_class_pixel_counts_and_scores_agree_with_counting():
    rng = np.random.default_rng(2)
    truths = [rng.integers(0, 4, (5, 6)), rng.integers(0, 4, (3, 8))]
    truths[0][0, 0] = UNLABELLED
    predictions = [np.where(t == UNLABELLED, 0, (t + (rng.random(t.shape) < 0.3)) % 4) for t in truths]
    flat_truth = np.concatenate([t.ravel() for t in truths])
    flat_prediction = np.concatenate([p.ravel() for p in predictions])
    kept = flat_truth != UNLABELLED
    np.testing.assert_array_equal(class_pixel_counts(truths, 4, UNLABELLED), np.bincount(flat_truth[kept], minlength=4))
    lookup = dict(zip(map(id, truths), predictions))
    scores = score_multiclass(lambda image: lookup[id(image)], truths, truths, 4, UNLABELLED)
    np.testing.assert_allclose(scores["iou"], per_class_iou(flat_prediction, flat_truth, 4, UNLABELLED))
    assert scores["accuracy"] == pytest.approx(np.mean(flat_prediction[kept] == flat_truth[kept]))
    with pytest.raises(ValueError, match="ignore_index"):
        class_pixel_counts(truths, 4)


def test_the_mean_over_classes_leaves_out_absent_classes():
    assert mean_over_classes([1.0, 0.5, np.nan]) == pytest.approx(0.75)
    assert np.isnan(mean_over_classes([np.nan, np.nan]))
    # mean_iou is this mean of per_class_iou: class 3, absent and never predicted, left out.
    prediction, truth = np.array([0, 1, 1, 2]), np.array([0, 1, 2, 2])
    assert mean_iou(prediction, truth, 4) == pytest.approx(np.mean([1.0, 0.5, 0.5]))


def test_iou_from_a_confusion_matrix_by_hand():
    # class 0: 3 right, 1 missed, 0 false: 3/4; class 1: 2 right, 1 false (the missed 0): 2/3
    np.testing.assert_allclose(iou_from_confusion([[3, 1], [0, 2]]), [0.75, 2 / 3])
    with pytest.raises(ValueError, match="square"):
        iou_from_confusion([[1, 2, 3], [4, 5, 6]])


# ---- evaluate and fit leave the unlabelled pixels out -------------------------------------------


def test_evaluate_leaves_ignored_pixels_out_of_every_score():
    torch.manual_seed(0)
    model = UNet(3, 4, depth=1, base_channels=4, padding="same")
    images = torch.rand(2, 3, 8, 8)
    targets = torch.randint(0, 4, (2, 8, 8))
    targets[:, :4] = UNLABELLED
    scores = evaluate(model, torch.utils.data.TensorDataset(images, targets), ignore_index=UNLABELLED)
    with torch.no_grad():
        prediction = model.eval()(images).argmax(1)
    kept = targets != UNLABELLED
    assert scores["mean_iou"] == pytest.approx(np.nanmean(per_class_iou(prediction[kept], targets[kept], 4)))
    with pytest.raises(ValueError, match="ignore_index"):
        evaluate(model, torch.utils.data.TensorDataset(images, targets))


def test_fit_trains_with_an_ignore_index():
    data = torch.utils.data.TensorDataset(torch.rand(4, 3, 8, 8), torch.randint(0, 3, (4, 8, 8)))
    data.tensors[1][:, 0] = UNLABELLED
    model = UNet(3, 3, depth=1, base_channels=4, padding="same")
    history = fit(model, data, val=data, epochs=1, device="cpu", progress=False, ignore_index=UNLABELLED)
    assert np.isfinite(history["val_mean_iou"][0]) and "val_iou_2" in history


# ---- train_multiclass and Segmenter -----------------------------------------------------------------


def _scene(seed, height=40, width=52):
    rng = np.random.default_rng(seed)
    image = rng.random((3, height, width), dtype=np.float32) * 0.2
    target = np.zeros((height, width), np.int64)
    target[:, width // 2 :] = 1
    target[height // 2 :, : width // 3] = 2
    for k in range(3):
        image[k][target == k] += 0.7  # class k is bright in channel k
    target[:3, :3] = UNLABELLED
    return image, target


def test_train_multiclass_learns_a_colour_rule_and_is_seeded():
    images, targets = zip(*(_scene(seed) for seed in range(3)))
    kwargs = dict(ignore_index=UNLABELLED, steps=30, depth=2, base_channels=8, crop=32, batch_size=4, loss="weighted")
    segment = train_multiclass(images, targets, 3, **kwargs)
    odd = _scene(7, height=37, width=45)
    scores = score_multiclass(segment, [odd[0]], [odd[1]], 3, UNLABELLED)
    assert scores["mean_iou"] > 0.9, scores
    assert segment(odd[0]).shape == (37, 45) and segment.steps == 30
    np.testing.assert_array_equal(segment(odd[0]), segment.probabilities(odd[0]).argmax(0))
    again = train_multiclass(images, targets, 3, **kwargs)
    np.testing.assert_array_equal(again.probabilities(odd[0]), segment.probabilities(odd[0]))
    assert segment.class_weights.shape == (3,)


def test_train_multiclass_trains_the_recipes_length_and_reports_every_epoch():
    from dataclasses import replace

    from unetlib.recipes import AERIAL_RECIPE

    image, target = _scene(0)
    short = replace(AERIAL_RECIPE, train=AERIAL_RECIPE.train.replace(epochs=2, batch_size=4), samples=12)
    tiny = dict(ignore_index=UNLABELLED, depth=1, base_channels=4, crop=32, recipe=short)
    # Neither steps nor seconds: the recipe's own length, 2 epochs of ceil(12 / 4) steps.
    assert short.steps == 6 and train_multiclass([image], [target], 3, **tiny).steps == 6
    seen = []
    segment = train_multiclass(
        [image],
        [target],
        3,
        steps=6,
        epoch_steps=2,
        on_epoch_end=lambda s, h: seen.append((s, list(h["steps"]))),
        **tiny,
    )
    # Three epochs of 2 steps, each reported with the Segmenter being trained.
    assert [steps for _, steps in seen] == [[2], [2, 4], [2, 4, 6]]
    assert all(s is segment for s, _ in seen) and segment.steps == 6


def test_train_multiclass_stops_on_time():
    image, target = _scene(0)
    segment = train_multiclass(
        [image], [target], 3, seconds=0.2, ignore_index=UNLABELLED, depth=1, base_channels=4, crop=16
    )
    assert segment.steps >= 1 and segment.seconds < 30


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(images=[np.zeros((40, 52, 3), np.float32)]), r"\(3, H, W\), RGB channels first"),
        (dict(images=[np.full((3, 40, 52), 200.0)]), "divide 8-bit images by 255"),
        (dict(seconds=5), "not both"),
        (dict(epoch_steps=2, steps=3), "not a whole number of epochs"),
        (dict(epoch_steps=2, steps=None, seconds=1), "needs steps"),
        (dict(targets=[np.zeros((40, 50), np.int64)]), "must match"),
        (dict(crop=64), "smaller than the 64-pixel crops"),
        (dict(ignore_index=None), "ignore_index"),
        (dict(loss="focal"), "loss must be one of"),
    ],
)
def test_train_multiclass_says_what_is_wrong(change, message):
    image, target = _scene(0)
    arguments = dict(
        images=[image], targets=[target], num_classes=3, ignore_index=UNLABELLED, steps=1, depth=1, crop=32
    )
    with pytest.raises((ValueError, TypeError), match=message):
        train_multiclass(**(arguments | change))


def test_segmenter_refuses_a_model_it_cannot_tile():
    with pytest.raises(TypeError, match="same-padding"):
        Segmenter(UNet(3, 2, depth=1, base_channels=4), [0, 0, 0], [1, 1, 1])
    with pytest.raises(ValueError, match="std > 0"):
        Segmenter(UNet(3, 2, depth=1, base_channels=4, padding="same"), [0, 0, 0], [1, 0, 1])


# ---- the Dubai set: the palette is the colours the files hold -----------------------------------------


@needs_shared
def test_the_dubai_palette_is_every_colour_in_the_masks_and_nothing_else(monkeypatch):
    monkeypatch.setenv("UNETLIB_DATA", str(SHARED))
    folder = SHARED / "dubai_aerial_landcover_subset"
    found: dict[tuple, int] = {}
    for mask in sorted(folder.glob("Tile */masks/*.png")):
        with Image.open(mask) as opened:
            rgb = np.asarray(opened.convert("RGB")).astype(np.int64)
        codes, counts = np.unique(rgb[..., 0] * 65536 + rgb[..., 1] * 256 + rgb[..., 2], return_counts=True)
        for code, count in zip(codes.tolist(), counts.tolist()):
            colour = (code // 65536, code // 256 % 256, code % 256)
            found[colour] = found.get(colour, 0) + count
    assert set(found) == set(DUBAI_PALETTE)
    assert found[(0, 0, 0)] == 1675  # PROVENANCE.md: 306 + 506 + 863 black pixels
    names, images, targets = load_dubai()
    assert len(names) == 54 and len(DUBAI_CLASSES) == 5
    counts = class_pixel_counts(targets, 5, UNLABELLED)
    assert counts.sum() + found[(155, 155, 155)] + found[(0, 0, 0)] == 36_717_657
    # PROVENANCE.md's shares, in DUBAI_CLASSES order: building, land, road, vegetation, water.
    np.testing.assert_allclose(100 * counts / 36_717_657, [11.89, 39.09, 7.68, 9.58, 31.08], atol=0.006)
    assert all(image.shape[1:] == target.shape and image.dtype == np.float32 for image, target in zip(images, targets))


def test_the_segmenter_subtracts_the_mean_and_divides_by_the_deviation():
    model = UNet(3, 2, depth=1, base_channels=4, padding="same")
    segment = Segmenter(model, mean=[0.1, 0.2, 0.3], std=[0.5, 0.25, 2.0], tile_size=16, margin=4)
    image = np.random.default_rng(0).random((3, 5, 6)).astype(np.float32)
    expected = np.stack([(image[0] - 0.1) / 0.5, (image[1] - 0.2) / 0.25, (image[2] - 0.3) / 2.0])
    np.testing.assert_allclose(segment.normalise(image), expected, rtol=1e-6)


def test_filed_scores_reads_one_score_per_seed_from_the_results_file():
    from unetlib.experiments import filed_rows, filed_scores, load_results

    filed = load_results("chapter11_aerial")
    # Independent reading of the same JSON: every validation row of "dice", in order.
    expected = [row["validation_tile"]["mean_iou"] for row in filed["validation"] if row["configuration"] == "dice"]
    np.testing.assert_array_equal(filed_scores(filed, "dice"), expected)
    assert len(expected) == len(filed["seeds"])
    test_rows = [row for row in filed["test"]]
    final = test_rows[0]["configuration"]
    np.testing.assert_array_equal(
        filed_scores(filed, final, part="test"),
        [row["test_tile"]["mean_iou"] for row in test_rows if row["configuration"] == final],
    )
    assert filed_scores(filed, "dice", "iou").shape == (len(expected), 5)
    assert [row["seed"] for row in filed_rows(filed, "dice")] == [
        row["seed"] for row in filed["validation"] if row["configuration"] == "dice"
    ]
    with pytest.raises(ValueError, match="configurations: "):
        filed_scores(filed, "dicey")
    with pytest.raises(ValueError, match="sections: "):
        filed_rows(filed, "dice", part="training")
