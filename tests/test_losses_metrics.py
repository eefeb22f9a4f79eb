"""The paper's weight map on hand-made cells, the losses, and metric values worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy.ndimage import distance_transform_edt

from unetlib.data import synthetic_cells
from unetlib.losses import SegmentationLoss, combined_loss, dice_loss, weight_map, weighted_cross_entropy
from unetlib.metrics import confusion_matrix, dice, iou, mean_iou, object_f1, per_class_iou, pixel_error, rand_error
from unetlib.metrics import warping_error


def test_weight_map_two_touching_cells_by_hand():
    # Two 4x4 cells with a 2-pixel gap between them (columns 5 and 6).
    cells = np.zeros((8, 12), dtype=int)
    cells[2:6, 1:5], cells[2:6, 7:11] = 1, 2
    w = weight_map(cells, balance=False)
    # Gap pixel (3, 5): 1 pixel from cell 1, 2 pixels from cell 2.
    assert w[3, 5] == pytest.approx(1 + 10 * np.exp(-((1 + 2) ** 2) / (2 * 5**2)), rel=1e-6)
    assert w[3, 6] == pytest.approx(w[3, 5])  # symmetric
    assert w[3, 2] == 1  # inside a cell: no border term
    # A corner far from both: d1 = distance to cell 1 from (7, 0), d2 to cell 2 from (7, 0).
    d1, d2 = np.hypot(7 - 5, 1 - 0), np.hypot(7 - 5, 7 - 0)
    assert w[7, 0] == pytest.approx(1 + 10 * np.exp(-((d1 + d2) ** 2) / 50), rel=1e-6)


def test_weight_map_equals_brute_force_on_synthetic_cells():
    _, labels = synthetic_cells(96, 15, seed=4)
    ids = [i for i in np.unique(labels) if i]
    distances = np.sort(np.stack([distance_transform_edt(labels != i) for i in ids]), axis=0)
    expected_border = 10 * np.exp(-((distances[0] + distances[1]) ** 2) / 50)
    expected = np.where(labels > 0, 0, expected_border)
    foreground = labels > 0
    class_weight = np.where(foreground, 1 / (2 * foreground.mean()), 1 / (2 * (~foreground).mean()))
    np.testing.assert_allclose(weight_map(labels), class_weight + expected, rtol=1e-5, atol=1e-5)
    assert np.mean(class_weight) == pytest.approx(1.0)  # balancing keeps the mean at 1


def test_weight_map_rejects_bad_input():
    with pytest.raises(ValueError, match="integer label image"):
        weight_map(np.zeros((4, 4)))
    with pytest.raises(ValueError, match="sigma"):
        weight_map(np.zeros((4, 4), int), sigma=0)


def test_losses():
    torch.manual_seed(0)
    logits, target = torch.randn(2, 3, 5, 6), torch.randint(0, 3, (2, 5, 6))
    torch.testing.assert_close(weighted_cross_entropy(logits, target), F.cross_entropy(logits, target))
    torch.testing.assert_close(
        weighted_cross_entropy(logits, target, torch.full((2, 5, 6), 2.0)), 2 * F.cross_entropy(logits, target)
    )
    perfect = F.one_hot(target, 3).permute(0, 3, 1, 2).float() * 50
    assert dice_loss(perfect, target).item() < 1e-6
    confidently_wrong = F.one_hot((target + 1) % 3, 3).permute(0, 3, 1, 2).float() * 50
    assert dice_loss(confidently_wrong, target).item() > 0.9
    torch.testing.assert_close(combined_loss(logits, target, dice_weight=0), F.cross_entropy(logits, target))
    with pytest.raises(ValueError, match="weights must have shape"):
        weighted_cross_entropy(logits, target, torch.ones(2, 5))


def test_overlap_metrics_by_hand_and_the_empty_convention():
    p = np.array([[1, 1, 0], [0, 1, 0]])
    t = np.array([[1, 0, 0], [0, 1, 1]])
    assert dice(p, t) == pytest.approx(2 * 2 / (3 + 3))
    assert iou(p, t) == pytest.approx(2 / 4)
    empty = np.zeros((2, 3), int)
    assert dice(empty, empty) == iou(empty, empty) == 1.0  # nothing to find, nothing found
    assert dice(p, empty) == iou(empty, t) == 0.0
    assert pixel_error(p, t) == pytest.approx(2 / 6)
    with pytest.raises(ValueError, match="binary mask"):
        dice(np.array([0, 2]), np.array([0, 1]))


def test_rand_error_perfect_split_and_merge():
    truth = np.zeros((6, 6), int)
    truth[:, :3], truth[:, 3:] = 1, 2
    assert rand_error(truth, truth) == 0.0
    assert rand_error(truth * 5, truth) == 0.0  # label values do not matter, grouping does
    merged = np.ones((6, 6), int)
    # Pairs of distinct pixels grouped together: 36 * 35 in the merge, 2 * 18 * 17 in the truth,
    # all of which the merge also groups. Precision = 612 / 1260, recall = 1.
    precision, recall = 612 / 1260, 1.0
    assert rand_error(merged, truth) == pytest.approx(1 - 2 * precision * recall / (precision + recall))


def test_object_f1_by_hand():
    truth = np.zeros((10, 10), int)
    truth[0:4, 0:4], truth[6:10, 6:10] = 1, 2
    predicted = np.zeros((10, 10), int)
    predicted[0:4, 0:3] = 7  # IoU 12/16 with object 1: a match
    predicted[6:8, 0:2] = 8  # nothing there: a false positive
    result = object_f1(predicted, truth)
    assert (result["matched"], result["predicted"], result["true"]) == (1, 2, 2)
    assert result["f1"] == pytest.approx(0.5) and result["precision"] == 0.5 and result["recall"] == 0.5
    assert object_f1(np.zeros((3, 3), int), np.zeros((3, 3), int))["f1"] == 1.0
    with pytest.raises(ValueError, match="at least 0.5"):
        object_f1(predicted, truth, threshold=0.3)


def test_score_membranes_on_hand_made_cells():
    from unetlib.experiments import cells_from_membranes, score_membranes

    # Two cells separated by a vertical membrane one pixel wide, in a frame of membrane.
    membranes = np.ones((7, 9), bool)
    membranes[1:6, 1:4] = membranes[1:6, 5:8] = False
    cells = cells_from_membranes(membranes)
    assert cells.max() == 2 and set(np.unique(cells[1:6, 1:4])) == {1}
    assert score_membranes(membranes.astype(float), membranes) == (0.0, 0.0)
    # A gap of one pixel in the wall: 1 pixel of 63 wrong, and the two cells merge.
    broken = membranes.copy()
    broken[3, 4] = False
    pixel, rand = score_membranes(broken.astype(float), membranes)
    assert pixel == pytest.approx(1 / 63)
    # Foreground-restricted: only the 30 interior pixels count, 15 per cell. The merge groups
    # all 30 * 29 ordered pairs, the truth 2 * 15 * 14: precision 420 / 870, recall 1.
    precision = 420 / 870
    assert rand == pytest.approx(1 - 2 * precision / (precision + 1))
    # A thicker wall (one more column) changes 5 pixels but no grouping: Rand error 0.
    thick = membranes.copy()
    thick[1:6, 3] = True
    pixel, rand = score_membranes(thick.astype(float), membranes)
    assert pixel == pytest.approx(5 / 63) and rand == pytest.approx(0.0)
    # The threshold applies to probabilities: 0.4 is membrane at 0.3, not at 0.5.
    assert score_membranes(np.where(membranes, 0.4, 0.0), membranes, threshold=0.3) == (0.0, 0.0)
    assert score_membranes(np.where(membranes, 0.4, 0.0), membranes, threshold=0.5)[0] > 0.5


# ---- Losses refuse what PyTorch would broadcast, misread or ignore -----------------------------


@pytest.mark.parametrize("loss", [weighted_cross_entropy, dice_loss])
@pytest.mark.parametrize(
    "logits, target, error, message",
    [
        # a batch-1 target broadcast over a batch-2 prediction
        (
            torch.zeros(2, 2, 4, 4),
            torch.zeros(1, 4, 4, dtype=torch.long),
            ValueError,
            r"target must have shape \(2, 4, 4\)",
        ),
        # unbatched logits whose K happens to equal H
        (torch.zeros(4, 4, 4), torch.zeros(4, 4, dtype=torch.long), ValueError, r"logits must be \(N, K, H, W\)"),
        # PyTorch's ignore index: cross-entropy would be 0 and training would learn nothing
        (torch.zeros(1, 2, 4, 4), torch.full((1, 4, 4), -100), ValueError, r"values -100..-100.*0..1"),
        # a 0/255 mask
        (torch.zeros(1, 2, 4, 4), torch.tensor([0, 255]).repeat(8).reshape(1, 4, 4), ValueError, r"0/255 mask"),
        (torch.zeros(1, 2, 4, 4), torch.zeros(1, 4, 4), TypeError, "integer tensor of class indices"),
        (np.zeros((1, 2, 4, 4)), torch.zeros(1, 4, 4, dtype=torch.long), TypeError, "float tensor"),
    ],
)
def test_losses_refuse_mismatched_or_out_of_range_targets(loss, logits, target, error, message):
    with pytest.raises(error, match=message):
        loss(logits, target)


def test_losses_accept_any_integer_dtype_of_targets():
    logits, target = torch.zeros(1, 2, 3, 3), torch.ones(1, 3, 3, dtype=torch.uint8)
    assert weighted_cross_entropy(logits, target).item() == pytest.approx(np.log(2))


# ---- Metrics refuse what they cannot score correctly ------------------------------------------


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: object_f1(np.zeros((2, 6)), np.zeros((3, 4))), ValueError, "same shape"),  # 12 pixels each
        (
            lambda: object_f1(np.zeros((2, 2)), np.zeros((2, 2)), threshold=float("nan")),
            ValueError,
            "threshold must be a finite number",
        ),
        (lambda: object_f1(np.zeros((2, 2)), np.zeros((2, 2)), threshold=1.5), ValueError, r"\[0.5, 1\)"),
        (lambda: rand_error(np.array([[0.3, 0.7]]), np.array([[1, 2]])), ValueError, "integer labels"),
        (lambda: pixel_error(None, None), TypeError, "array of numbers"),
        (lambda: pixel_error("ab", "ab"), TypeError, "array of numbers"),
    ],
)
def test_metrics_refuse_inputs_they_cannot_score(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_rand_error_takes_float_arrays_of_whole_labels():
    truth = np.array([[1, 1, 2, 2]])
    assert rand_error(truth.astype(float), truth) == rand_error(truth, truth) == 0.0


# ---- More than two classes --------------------------------------------------------------------


def test_confusion_matrix_and_ious_on_a_hand_worked_example():
    # Truth: 4 background, 3 water, 2 building pixels. The prediction calls one water pixel
    # building and one building pixel background.
    truth = np.array([[0, 0, 0, 0, 1, 1, 1, 2, 2]])
    prediction = np.array([[0, 0, 0, 0, 1, 1, 2, 2, 0]])
    expected = np.array([[4, 0, 0], [0, 2, 1], [1, 0, 1]])
    np.testing.assert_array_equal(confusion_matrix(prediction, truth, 3), expected)
    # IoU: background 4 / (4 + 1) , water 2 / 3, building 1 / (1 + 1 + 1)
    np.testing.assert_allclose(per_class_iou(prediction, truth, 3), [4 / 5, 2 / 3, 1 / 3])
    assert mean_iou(prediction, truth, 3) == pytest.approx((4 / 5 + 2 / 3 + 1 / 3) / 3)


def test_confusion_matrix_against_counting_pixel_by_pixel():
    rng = np.random.default_rng(0)
    truth, prediction = rng.integers(0, 5, (2, 17, 23)), rng.integers(0, 4, (2, 17, 23))
    truth[0, :3] = 255  # unlabelled
    counted = np.zeros((4, 4), np.int64)
    for t, p in zip(truth.ravel(), prediction.ravel()):
        if t != 255 and t < 4:
            counted[t, p] += 1
    truth[truth == 4] = 255  # leave class 4 out of the truth, as ignored
    np.testing.assert_array_equal(confusion_matrix(prediction, truth, 4, ignore_index=255), counted)
    np.testing.assert_array_equal(
        confusion_matrix(torch.from_numpy(prediction), torch.from_numpy(truth), 4, ignore_index=255), counted
    )


def test_a_model_that_never_predicts_a_class_keeps_its_accuracy_but_loses_mean_iou():
    truth = np.zeros((10, 10), int)
    truth[:2, :2] = 1  # a rare class: 4 % of the pixels
    nothing_found = np.zeros_like(truth)
    accuracy = (nothing_found == truth).mean()
    assert accuracy == 0.96
    np.testing.assert_allclose(per_class_iou(nothing_found, truth, 2), [0.96, 0.0])
    assert mean_iou(nothing_found, truth, 2) == pytest.approx(0.48)


def test_a_class_absent_from_truth_and_prediction_is_left_out_of_the_mean():
    ious = per_class_iou(np.array([0, 1]), np.array([0, 1]), num_classes=3)
    assert np.isnan(ious[2]) and mean_iou(np.array([0, 1]), np.array([0, 1]), 3) == 1.0


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: confusion_matrix(np.array([0, 255]), np.array([0, 1]), 2), ValueError, r"prediction holds 255.*0/255"),
        (
            lambda: confusion_matrix(np.array([0, 1]), np.array([0, 2]), 2),
            ValueError,
            "truth holds 2, outside the classes 0..1",
        ),
        (lambda: confusion_matrix(np.zeros((2, 3)), np.zeros((3, 2)), 2), ValueError, "same shape"),
        (lambda: confusion_matrix(np.zeros(3), np.zeros(3), 0), ValueError, "num_classes must be at least 1"),
        (lambda: confusion_matrix(np.zeros(3), np.zeros(3), 2.0), TypeError, "num_classes must be an int"),
        (lambda: confusion_matrix(np.array([0.5]), np.array([0]), 2), ValueError, "integer labels"),
        (lambda: mean_iou(np.zeros(3), np.zeros(3), 2, ignore_index="x"), TypeError, "ignore_index must be an int"),
    ],
)
def test_multi_class_metrics_refuse_bad_input(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_membrane_scores_refuse_probabilities_where_a_mask_belongs():
    from unetlib.experiments import cells_from_membranes, score_membranes

    with pytest.raises(ValueError, match="threshold a probability map first"):
        cells_from_membranes(np.full((4, 4), 0.3))
    with pytest.raises(ValueError, match="membranes must not be empty|empty"):
        cells_from_membranes(np.zeros((0, 4)))
    with pytest.raises(ValueError, match="threshold must be"):
        score_membranes(np.zeros((4, 4)), np.zeros((4, 4), bool), threshold=2.0)
    with pytest.raises(TypeError, match="threshold must be a number"):
        score_membranes(np.zeros((4, 4)), np.zeros((4, 4), bool), threshold="a")


def test_class_counts_accept_a_negative_ignore_index_and_weight_maps_huge_labels():
    from unetlib.experiments import class_pixel_counts

    assert class_pixel_counts([np.array([[0, -100], [1, 1]])], 2, ignore_index=-100).tolist() == [1, 2]
    # A label of 10**8 is one object, as a label of 2 would be: the same weights, computed at once.
    cells = np.zeros((9, 9), np.int64)
    cells[:, :3], cells[:, 5:] = 1, 2
    huge = np.where(cells == 2, 10**8, cells)
    np.testing.assert_array_equal(weight_map(huge), weight_map(cells))


@pytest.mark.parametrize(
    "name, settings",
    [
        ("cross-entropy", {}),
        ("cross-entropy", {"class_weights": [1.0, 3.0, 0.5], "ignore_index": 255}),
        ("dice", {"ignore_index": 255}),
        ("dice", {"background": 0}),
        ("cross-entropy+dice", {"class_weights": [2.0, 1.0, 1.0], "ignore_index": 255}),
    ],
)
def test_the_sums_of_two_batches_give_the_loss_of_both_together(name, settings):
    # What fit relies on under torchrun: sums add up, then one division. The reference is the
    # loss functions themselves on the whole batch.
    generator = torch.Generator().manual_seed(3)
    logits = torch.randn(6, 3, 5, 5, generator=generator)
    target = torch.randint(0, 3, (6, 5, 5), generator=generator)
    # A different number of unlabelled pixels in each image.
    target[torch.arange(6)[:, None, None] > torch.arange(5)[None, :, None].expand(6, 5, 5)] = 255
    if "ignore_index" not in settings:
        target = target.clamp(max=2)
    loss = SegmentationLoss(name, **settings)
    halves = loss.sums(logits[:2], target[:2]) + loss.sums(logits[2:], target[2:])
    ignore = settings.get("ignore_index")
    expected = 0.0
    if name != "dice":
        expected = weighted_cross_entropy(
            logits, target, class_weights=settings.get("class_weights"), ignore_index=ignore
        )
    if name != "cross-entropy":
        expected = expected + dice_loss(logits, target, background=settings.get("background"), ignore_index=ignore)
    torch.testing.assert_close(loss.from_sums(halves), expected)
    # The halves' own losses, averaged by image: right for plain cross-entropy (a mean over equal
    # images), wrong for every ratio of sums (the reason for the sums).
    averaged = (loss(logits[:2], target[:2]) * 2 + loss(logits[2:], target[2:]) * 4) / 6
    assert (abs(averaged.item() - expected.item()) < 1e-6) == (not settings and name == "cross-entropy")


def _topology(membranes: np.ndarray) -> tuple[int, int]:
    """Membrane components (8-connected) and cell components (4-connected), with a cell frame around."""
    from scipy import ndimage

    framed = np.pad(membranes, 1)
    return ndimage.label(framed, structure=np.ones((3, 3)))[1], ndimage.label(~framed)[1]


def test_warping_keeps_topology_and_flips_only_what_keeps_it():
    # Reference: scipy's own component counts. Every warp of the truth must have its topology,
    # and at the end no single disagreeing pixel can be flipped without changing it.
    from unetlib import metrics

    rng = np.random.default_rng(0)
    for _ in range(40):
        truth, prediction = rng.random((2, 9, 9)) < 0.4
        error = warping_error(prediction, truth)
        warped = metrics._warp_towards(prediction, truth)
        assert _topology(warped) == _topology(truth)
        assert error == pytest.approx((warped != prediction).mean())
        for y, x in np.argwhere(warped != prediction):
            flipped = warped.copy()
            flipped[y, x] ^= True
            assert _topology(flipped) != _topology(warped), (y, x)


def test_simple_points_are_the_flips_that_keep_topology():
    # All 256 neighbourhoods, the centre flipped both ways, against scipy's component counts.
    from unetlib import metrics

    for code in range(256):
        window = np.zeros((3, 3), bool)
        for bit, (dy, dx) in enumerate(metrics._NEIGHBOURS):
            window[1 + dy, 1 + dx] = bool(code >> bit & 1)
        # Surrounded by a ring of cell pixels so that only the window's own topology counts.
        with_centre, without = np.pad(window, 1), np.pad(window, 1)
        with_centre[2, 2] = True
        keeps = _topology(with_centre) == _topology(without)
        assert metrics._SIMPLE[code] == keeps, code


def test_warping_error_ignores_shifted_and_thickened_walls_and_counts_gaps():
    truth = np.zeros((12, 12), bool)
    truth[:, 5] = True
    truth[6, :] = True  # a cross: four cells
    assert warping_error(truth, truth) == 0.0
    assert warping_error(np.roll(truth, 1, axis=1), truth) == 0.0
    from scipy.ndimage import binary_dilation

    assert warping_error(binary_dilation(truth), truth) == 0.0
    gap = truth.copy()
    # A 2-pixel gap merges two cells; the warped wall must still cross rows 2 and 3, where the
    # prediction has no membrane at all: one pixel each, wherever it crosses.
    gap[2:4, 5] = False
    assert warping_error(gap, truth) == pytest.approx(2 / 144)
    stray = np.zeros_like(truth)
    assert warping_error(stray, truth) > 0.0  # no walls at all: a cross cannot warp away
