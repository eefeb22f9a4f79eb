"""Every public function refuses bad input with a sentence that names the argument.

A table gives each function a call that works and, for each argument, the kind of value it takes.
Each argument is then replaced, one at a time, by values of the wrong kind or out of range. The
function must raise a TypeError (wrong kind) or ValueError (wrong value) whose message names the
argument: never return a result, never let an error from deep inside NumPy or PyTorch through.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch

from unetlib import conv, experiments, kernels, losses, metrics, model, prediction, tiling, train, transposed
from unetlib import data as datasets
from unetlib.learn import learn_kernels

IMAGE = np.arange(36.0).reshape(6, 6)
KERNEL = np.ones((3, 3))
LOGITS = torch.zeros(1, 2, 4, 4)
TARGET = torch.zeros(1, 4, 4, dtype=torch.long)
MASK = np.array([[0, 1], [1, 1]])
LABELS = np.array([[0, 1, 1, 2]])
RNG = np.random.default_rng(0)
TINY_UNET = model.UNet(1, 2, depth=1, base_channels=2, padding="same")
RGB = np.full((3, 8, 10), 0.5, np.float32)
RGB_TARGET = np.zeros((8, 10), np.int64)
RGB_UNET = model.UNet(3, 2, depth=1, base_channels=2, padding="same")

# Bad values by kind of argument; each must be refused.
BAD = {
    "int>=1": [None, "3", 2.5, True, 0, -1, float("nan")],
    "int>=0": [None, "3", 2.5, True, -1],
    "int": [None, "3", 2.5, True],
    "number>0": [None, "1", True, 0, -1.0, float("nan"), math.inf, 1j],
    "number>=0": [None, "1", True, -1.0, float("nan"), math.inf],
    "probability": [None, "0.5", True, -0.1, 1.5, float("nan")],
    "bool": [None, "False", 0, 1, 2.0],
    "choice": [None, 3, "no-such-choice", ""],
    "array": [None, "abc", np.array([["a"]]), np.array([[1 + 2j]]), object()],
    "labels": [None, "abc", np.zeros(3, int), np.zeros((2, 2, 2), int), np.array([[0.5, 1.0]])],
    "tensor": [None, "abc", np.zeros((1, 2, 4, 4)), torch.zeros(2, 4, 4)],
    "percentile": [None, "1", True, -1.0, 101.0, float("nan")],
    "pair>=1": [None, "3", 2.5, (1, 2, 3), (0, 1), True],
}

# (function, a call that works, {argument: kind}).
TABLE = [
    (
        conv.conv2d,
        dict(x=IMAGE, weight=KERNEL),
        {"x": "array", "weight": "array", "stride": "pair>=1", "dilation": "pair>=1", "padding_mode": "choice"},
    ),
    (conv.conv2d_naive, dict(x=IMAGE, weight=KERNEL), {"x": "array", "weight": "array", "stride": "pair>=1"}),
    (
        conv.conv_output_size,
        dict(input_size=5, kernel_size=3),
        {"input_size": "int>=1", "kernel_size": "int>=1", "stride": "int>=1", "dilation": "int>=1"},
    ),
    (conv.pad2d, dict(x=IMAGE, padding=1), {"x": "array", "mode": "choice"}),
    (conv.dilate_kernel, dict(weight=KERNEL, dilation=2), {"weight": "array", "dilation": "pair>=1"}),
    (
        transposed.conv_transpose2d,
        dict(x=IMAGE, weight=KERNEL),
        {"x": "array", "weight": "array", "stride": "pair>=1", "dilation": "pair>=1"},
    ),
    (
        transposed.conv_transpose_output_size,
        dict(input_size=4, kernel_size=3),
        {"input_size": "int>=1", "kernel_size": "int>=1", "stride": "int>=1", "padding": "int>=0"},
    ),
    (transposed.conv_matrix, dict(input_shape=(4, 4), weight=KERNEL), {"weight": "array", "stride": "pair>=1"}),
    (kernels.gaussian, dict(sigma=1.0), {"sigma": "number>0", "size": "int>=1"}),
    (kernels.box, dict(size=3), {"size": "int>=1"}),
    (kernels.image_gradients, dict(image=IMAGE), {"image": "array", "operator": "choice", "padding_mode": "choice"}),
    (kernels.gradient_magnitude, dict(gx=IMAGE, gy=IMAGE), {"gx": "array", "gy": "array"}),
    (
        model.UNet,
        dict(in_channels=1, num_classes=2, depth=1, base_channels=2),
        {
            "in_channels": "int>=1",
            "num_classes": "int>=1",
            "depth": "int>=0",
            "base_channels": "int>=1",
            "padding": "choice",
            "up_mode": "choice",
            "batch_norm": "bool",
            "dropout": "probability",
        },
    ),
    (
        model.DoubleConv,
        dict(in_channels=1, out_channels=2),
        {"in_channels": "int>=1", "out_channels": "int>=1", "padding": "choice"},
    ),
    (model.output_size, dict(input_size=572), {"input_size": "int>=1", "depth": "int>=0", "padding": "choice"}),
    (model.valid_input_sizes, dict(depth=2), {"depth": "int>=0", "minimum": "int", "maximum": "int"}),
    (
        tiling.predict_tiled,
        dict(model=TINY_UNET, image=np.zeros((8, 8)), tile_size=4, progress=False),
        {"image": "array", "tile_size": "int>=1", "batch_size": "int>=1", "margin": "int>=0"},
    ),
    (tiling.mirror_indices, dict(start=0, length=4, size=3), {"start": "int", "length": "int>=0", "size": "int>=1"}),
    (tiling.mirrored_crop, dict(image=IMAGE, top=0, left=0, size=3), {"top": "int", "left": "int", "size": "int>=1"}),
    (
        losses.weight_map,
        dict(instances=LABELS),
        {"instances": "labels", "w0": "number>=0", "sigma": "number>0", "balance": "bool"},
    ),
    (losses.weighted_cross_entropy, dict(logits=LOGITS, target=TARGET), {"logits": "tensor", "target": "tensor"}),
    (
        losses.dice_loss,
        dict(logits=LOGITS, target=TARGET),
        {"logits": "tensor", "target": "tensor", "smooth": "number>=0"},
    ),
    (
        losses.combined_loss,
        dict(logits=LOGITS, target=TARGET),
        {"logits": "tensor", "target": "tensor", "dice_weight": "number>=0"},
    ),
    (metrics.dice, dict(prediction=MASK, truth=MASK), {"prediction": "array", "truth": "array"}),
    (metrics.iou, dict(prediction=MASK, truth=MASK), {"prediction": "array", "truth": "array"}),
    (metrics.pixel_error, dict(prediction=MASK, truth=MASK), {"prediction": "array", "truth": "array"}),
    (metrics.rand_error, dict(prediction=LABELS, truth=LABELS), {"prediction": "labels", "truth": "labels"}),
    (metrics.warping_error, dict(prediction=MASK, truth=MASK), {"prediction": "array", "truth": "array"}),
    (
        metrics.object_f1,
        dict(prediction=LABELS, truth=LABELS),
        {"prediction": "labels", "truth": "labels", "threshold": "probability"},
    ),
    (
        metrics.confusion_matrix,
        dict(prediction=LABELS, truth=LABELS, num_classes=3),
        {"prediction": "array", "truth": "array", "num_classes": "int>=1", "ignore_index": "int"},
    ),
    (
        metrics.mean_iou,
        dict(prediction=LABELS, truth=LABELS, num_classes=3),
        {"prediction": "array", "truth": "array", "num_classes": "int>=1"},
    ),
    (
        train.learning_rate,
        dict(step=0, total_steps=10, lr=1.0),
        {"step": "int>=0", "total_steps": "int>=1", "lr": "number>0", "schedule": "choice", "warmup": "probability"},
    ),
    (train.choose_device, dict(device="cpu"), {"device": "choice"}),
    (datasets.synthetic_cells, dict(size=32, count=2), {"size": "int>=1", "count": "int>=0", "seed": "int>=0"}),
    (datasets.xo_glyph, dict(kind="X"), {"kind": "choice", "size": "int>=1"}),
    (datasets.xo_dataset, dict(count=2), {"count": "int>=1", "size": "int>=1"}),
    (datasets.logo, dict(), {"size": "int>=1"}),
    (
        datasets.Augment,
        dict(),
        {"crop": "int>=1", "elastic": "probability", "sigma": "number>=0", "intensity": "bool", "flips": "bool"},
    ),
    (datasets.normalise_percentile, dict(image=IMAGE), {"image": "array", "low": "percentile", "high": "percentile"}),
    (datasets.split_touching, dict(instances=LABELS), {"instances": "labels"}),
    (datasets.fill_gaps, dict(objects=LABELS), {"objects": "labels"}),
    (
        datasets.intensity_jitter,
        dict(image=IMAGE[None], rng=RNG),
        {"image": "array", "scale": "number>=0", "shift": "number>=0"},
    ),
    (
        losses.weighted_cross_entropy,
        dict(logits=LOGITS, target=TARGET, class_weights=[1.0, 2.0], ignore_index=255),
        {"class_weights": "array", "ignore_index": "int"},
    ),
    (
        losses.dice_loss,
        dict(logits=LOGITS, target=TARGET, background=None, ignore_index=255),
        {"background": "int>=0", "ignore_index": "int"},
    ),
    (metrics.iou_from_confusion, dict(matrix=np.eye(2)), {"matrix": "array"}),
    (metrics.mean_over_classes, dict(ious=[0.5, 1.0]), {"ious": "array"}),
    (experiments.median_frequency_weights, dict(counts=[3, 1]), {"counts": "array"}),
    (experiments.channel_statistics, dict(images=[RGB]), {"images": "array"}),
    (
        experiments.class_pixel_counts,
        dict(targets=[MASK], num_classes=2),
        {"targets": "array", "num_classes": "int>=1", "ignore_index": "int"},
    ),
    (
        prediction.Segmenter,
        dict(model=RGB_UNET, mean=[0.5] * 3, std=[0.2] * 3, tile_size=16, margin=2),
        {"mean": "array", "std": "array", "tile_size": "int>=1", "margin": "int>=0"},
    ),
    (
        experiments.train_multiclass,
        dict(images=[RGB], targets=[RGB_TARGET], num_classes=2, steps=1, depth=1, base_channels=2, crop=8),
        {
            "images": "array",
            "targets": "array",
            "num_classes": "int>=1",
            "seconds": "number>0",
            "steps": "int>=1",
            "seed": "int>=0",
            "augment": "bool",
            "loss": "choice",
            "depth": "int>=1",
            "crop": "int>=1",
            "batch_size": "int>=1",
            "lr": "number>0",
        },
    ),
    (
        learn_kernels,
        dict(inputs=np.zeros((1, 1, 6, 6)), targets=np.zeros((1, 1, 4, 4)), steps=2),
        {"inputs": "array", "kernel_size": "int>=1", "steps": "int>=1", "lr": "number>0", "momentum": "probability"},
    ),
]

# Values that are right for one argument although the generic table calls them bad.
ACCEPTED = {
    ("valid_input_sizes", "minimum", None),
    ("valid_input_sizes", "maximum", None),
    ("gaussian", "size", None),
    ("predict_tiled", "margin", None),
    ("Augment", "crop", None),
    ("choose_device", "device", None),
    ("learning_rate", "warmup", 0.0),
    ("dice_loss", "smooth", 0.0),
    ("combined_loss", "dice_weight", 0.0),
    ("confusion_matrix", "ignore_index", None),
    ("weighted_cross_entropy", "class_weights", None),
    ("weighted_cross_entropy", "ignore_index", None),
    ("dice_loss", "background", None),
    ("dice_loss", "ignore_index", None),
    ("class_pixel_counts", "ignore_index", None),
    ("train_multiclass", "seconds", None),
    ("train_multiclass", "steps", None),  # with seconds=None too: the recipe's own length
}


def cases():
    for function, works, kinds in TABLE:
        for argument, kind in kinds.items():
            for bad in BAD[kind]:
                name = getattr(function, "__name__", repr(function))
                if any((name, argument) == (n, a) and type(bad) is type(v) and bad == v for n, a, v in ACCEPTED):
                    continue
                yield pytest.param(function, works, argument, bad, id=f"{name}-{argument}-{bad!r:.20}")


def test_every_function_in_the_table_works_with_its_good_call():
    for function, works, _ in TABLE:
        function(**works)


@pytest.mark.parametrize("function, works, argument, bad", list(cases()))
def test_a_bad_argument_gets_a_sentence_that_names_it(function, works, argument, bad):
    with pytest.raises((TypeError, ValueError)) as error:
        function(**(works | {argument: bad}))
    assert argument in str(error.value), f"the message does not name {argument!r}: {error.value}"


# ---- Families of bad input that used to pass silently -------------------------------------------
# Each row: a call with a careless reader's input, the exception, and a telling part of its message
# (the argument's name and what to do). Before these checks each one returned a result, ran for
# minutes, or failed deep inside NumPy, Matplotlib or PyTorch without naming the argument.

from skimage.measure import label  # noqa: E402

from unetlib import diagram, viz  # noqa: E402
from unetlib import exercises  # noqa: E402
from unetlib._checks import integer_array, label_image  # noqa: E402

EMPTY = np.zeros((0, 0))
PROBABILITIES = np.random.default_rng(1).random((6, 6))
THREE_BLOBS = np.zeros((6, 6), int)  # a 0/1 mask of three separate objects: not instance labels
THREE_BLOBS[:2, :2] = THREE_BLOBS[4:, 4:] = THREE_BLOBS[:2, 4:] = 1
CROPS = dict(images=[np.zeros((1, 8, 8), np.float32)], targets=[np.zeros((8, 8), np.int64)], crop=4, samples=2)

SILENT_BEFORE = {
    # 1. Empty arrays scored as if they meant something.
    "dice of empty masks": (lambda: metrics.dice(EMPTY, EMPTY), ValueError, "prediction is empty"),
    "iou of empty masks": (lambda: metrics.iou(np.array([]), np.array([])), ValueError, "prediction is empty"),
    "pixel_error of empty masks": (lambda: metrics.pixel_error(EMPTY, EMPTY), ValueError, "prediction is empty"),
    "object_f1 of empty labels": (
        lambda: metrics.object_f1(EMPTY.astype(int), EMPTY.astype(int)),
        ValueError,
        "prediction is empty",
    ),
    "rand_error of empty labels": (
        lambda: metrics.rand_error(EMPTY.astype(int), EMPTY.astype(int)),
        ValueError,
        "prediction is empty",
    ),
    "confusion_matrix of empty maps": (
        lambda: metrics.confusion_matrix(EMPTY.astype(int), EMPTY.astype(int), 2),
        ValueError,
        "prediction is empty",
    ),
    "mean_iou of empty maps": (lambda: metrics.mean_iou(EMPTY, EMPTY, 2), ValueError, "prediction is empty"),
    "iou_from_confusion of a 0x0 matrix": (lambda: metrics.iou_from_confusion(EMPTY), ValueError, "matrix is empty"),
    "mean_over_classes of nothing": (lambda: metrics.mean_over_classes([]), ValueError, "ious is empty"),
    "mean_over_classes of a non-score": (
        lambda: metrics.mean_over_classes([0.5, 3.0]),
        ValueError,
        "ious must be scores from 0 to 1",
    ),
    "normalise_percentile of an empty image": (
        lambda: datasets.normalise_percentile(EMPTY),
        ValueError,
        "image is empty",
    ),
    # 2. Probabilities where labels belong.
    "pixel_error of probabilities": (
        lambda: metrics.pixel_error(PROBABILITIES, (PROBABILITIES > 0.5).astype(int)),
        ValueError,
        r"prediction must hold integer labels.*threshold them first",
    ),
    "pixel_error of a 0/255 truth": (
        lambda: metrics.pixel_error(MASK, MASK * 255),
        ValueError,
        r"truth holds 0 and 255.*decode it first",
    ),
    "RandomCrops of probability targets": (
        lambda: datasets.RandomCrops(**(CROPS | {"targets": [np.random.default_rng(0).random((8, 8))]})),
        ValueError,
        r"targets\[0\] must hold whole numbers.*threshold them first",
    ),
    "split_touching of probabilities": (
        lambda: datasets.split_touching(PROBABILITIES),
        ValueError,
        r"instances must be a 2-D integer label image.*look like probabilities",
    ),
    # 3. A binary mask where instance labels belong.
    "object_f1 of a binary truth": (
        lambda: metrics.object_f1(label(THREE_BLOBS), THREE_BLOBS),
        ValueError,
        r"truth holds only 0 and 1, in 3 separate regions.*skimage.measure.label\(truth\)",
    ),
    "object_f1 of a boolean prediction": (
        lambda: metrics.object_f1(THREE_BLOBS.astype(bool), label(THREE_BLOBS)),
        ValueError,
        "prediction holds only 0 and 1, in 3 separate regions",
    ),
    # 4. Negative or out-of-range labels and weights.
    "split_touching of negative labels": (
        lambda: datasets.split_touching(np.array([[-1, 0, 1]])),
        ValueError,
        r"instances holds negative labels \(such as -1\)",
    ),
    "fill_gaps of negative labels": (
        lambda: datasets.fill_gaps(np.array([[-1, 0, 1]])),
        ValueError,
        "objects holds negative labels",
    ),
    "fill_gaps of a label beyond int32": (
        lambda: datasets.fill_gaps(np.array([[0, 2**63 - 1]])),
        ValueError,
        "objects holds the label 9223372036854775807.*relabel_sequential",
    ),
    "split_touching of uint64 labels that wrap": (
        lambda: datasets.split_touching(np.array([[0, 2**64 - 1]], dtype=np.uint64)),
        ValueError,
        "instances holds the label 18446744073709551615",
    ),
    "weight_map of negative labels": (
        lambda: losses.weight_map(np.array([[-1, 0, 1]])),
        ValueError,
        "instances holds negative labels",
    ),
    "object_f1 of negative labels": (
        lambda: metrics.object_f1(-LABELS, LABELS),
        ValueError,
        "prediction holds negative labels",
    ),
    "RandomCrops of negative pixel weights": (
        lambda: datasets.RandomCrops(**CROPS, weights=[-np.ones((8, 8))]),
        ValueError,
        r"weights\[0\] holds negative weights",
    ),
    "RandomCrops of NaN images": (
        lambda: datasets.RandomCrops(**(CROPS | {"images": [np.full((1, 8, 8), np.nan)]})),
        ValueError,
        r"images\[0\] holds 64 NaN",
    ),
    "RandomCrops of a crop larger than the images": (
        lambda: datasets.RandomCrops(**(CROPS | {"crop": 16})),
        ValueError,
        r"crop 16 is larger than images\[0\].*use crop=8 or less",
    ),
    # 6. Zero, negative or oversized sizes.
    "TileGrid with a zero height": (
        lambda: tiling.TileGrid(0, 10, tile=8, margin=2, step=4),
        ValueError,
        "height must be at least 1",
    ),
    "TileGrid with a step the tiles cannot cover": (
        lambda: tiling.TileGrid(10, 10, tile=8, margin=2, step=5),
        ValueError,
        "step must be from 1 to 4.*leaves gaps",
    ),
    "TileGrid with a margin as large as the tile": (
        lambda: tiling.TileGrid(10, 10, tile=4, margin=2, step=1),
        ValueError,
        "margin must be from 0 to 1",
    ),
    "TileGrid with a float tile": (lambda: tiling.TileGrid(10, 10, 8.0, 2, 4), TypeError, "tile must be an int"),
    "valid_input_sizes with minimum > maximum": (
        lambda: model.valid_input_sizes(2, 100, 50),
        ValueError,
        "minimum must not exceed maximum.*swap them",
    ),
    "valid_input_sizes with maximum 0": (
        lambda: model.valid_input_sizes(2, -10, 0),
        ValueError,
        "maximum must be at least 1",
    ),
    "UNet.output_shape of height 0": (lambda: TINY_UNET.output_shape(0), ValueError, "height 0"),
    "a UNet a million levels deep": (lambda: model.UNet(1, 2, depth=10**6), ValueError, "depth must be at most 64"),
    "same_padded_size at depth a billion": (
        lambda: model.same_padded_size(3, 10**9),
        ValueError,
        "depth must be at most 64",
    ),
    "a UNet too large to allocate": (
        lambda: model.UNet(1, 2, depth=40),
        ValueError,
        "depth 40 and base_channels 64 would make a network of about",
    ),
    "show_images with ncols=0": (
        lambda: viz.show_images([IMAGE], ncols=0),
        ValueError,
        "ncols must be at least 1",
    ),
    "show_images with size=0": (lambda: viz.show_images([IMAGE], size=0), ValueError, "size must be greater than 0"),
    "show_images with one string of titles": (
        lambda: viz.show_images([IMAGE, IMAGE], titles="ab"),
        TypeError,
        "titles must be a list of strings",
    ),
    "show_images of an empty image": (
        lambda: viz.show_images([EMPTY]),
        ValueError,
        r"images\[0\] is empty",
    ),
    "show_number_grid of an empty array": (lambda: viz.show_number_grid(EMPTY), ValueError, "values is empty"),
    "show_number_grid with a mask of another shape": (
        lambda: viz.show_number_grid(KERNEL, shaded=np.ones((2, 2), bool)),
        ValueError,
        "shaded must be a mask of the values' shape",
    ),
    "sliding_window_animation with interval 0": (
        lambda: viz.sliding_window_animation(np.zeros((5, 5)), KERNEL, interval=0),
        ValueError,
        "interval must be at least 1",
    ),
    "conv_arithmetic_animation with cell 0": (
        lambda: viz.conv_arithmetic_animation(5, 3, cell=0),
        ValueError,
        "cell must be greater than 0",
    ),
    "conv_arithmetic_animation of a million pixels": (
        lambda: viz.conv_arithmetic_animation(10**6, 3),
        ValueError,
        "too many to draw",
    ),
    "conv_transpose_animation with a negative interval": (
        lambda: viz.conv_transpose_animation(2, 3, interval=-1),
        ValueError,
        "interval must be at least 1",
    ),
    "draw_conv_arithmetic at a fractional position": (
        lambda: viz.draw_conv_arithmetic(*_two_axes(), 5, 3, position=(0.5, 0)),
        TypeError,
        "position must be \\(row, col\\)",
    ),
    "show_weight_tensor with size 0": (
        lambda: viz.show_weight_tensor(np.ones((2, 1, 3, 3)), size=0),
        ValueError,
        "size must be greater than 0",
    ),
    "show_weight_tensor with one string of names": (
        lambda: viz.show_weight_tensor(np.ones((2, 1, 3, 3)), in_names="R"),
        TypeError,
        "in_names must be a list of strings",
    ),
    "predict_tiled with progress='no'": (
        lambda: tiling.predict_tiled(TINY_UNET, np.zeros((8, 8)), tile_size=4, progress="no"),
        TypeError,
        "progress must be True or False",
    ),
    "predict_tiled on an unknown device": (
        lambda: tiling.predict_tiled(TINY_UNET, np.zeros((8, 8)), tile_size=4, device="gpu0"),
        ValueError,
        "device must be 'cpu', 'cuda', 'cuda:N', 'mps' or a torch.device",
    ),
    "xo_dataset with none='False'": (
        lambda: datasets.xo_dataset(4, none="False"),
        TypeError,
        "none must be True or False",
    ),
    "xo_canvas with one string of rows": (
        lambda: datasets.xo_canvas("X.O"),
        TypeError,
        "rows must be a list of strings",
    ),
    "gaussian with a huge sigma": (lambda: kernels.gaussian(1e6), ValueError, "sigma 1e\\+06 needs a kernel"),
    "box of a million pixels": (lambda: kernels.box(10**6 + 1), ValueError, "size must be at most 1001"),
    "conv_transpose2d of an empty input": (
        lambda: transposed.conv_transpose2d(EMPTY, KERNEL),
        ValueError,
        "x is empty",
    ),
    "draw_unet with a zero figure size": (
        lambda: diagram.draw_unet(TINY_UNET, 8, figsize=(0, 5)),
        ValueError,
        "figsize must be greater than 0",
    ),
    "mystery_pairs of no images": (lambda: exercises.mystery_pairs(count=0), ValueError, "count must be from 1"),
    # 7. Work that would run for minutes: refused up front.
    "synthetic_cells of a million cells": (
        lambda: datasets.synthetic_cells(64, count=10**6),
        ValueError,
        "count must be at most 10000 for a 64x64 picture",
    ),
    "synthetic_cells of a 100 000-pixel picture": (
        lambda: datasets.synthetic_cells(10**5, count=2),
        ValueError,
        "size must be at most 4096",
    ),
    "xo_dataset of a billion glyphs": (lambda: datasets.xo_dataset(10**9), ValueError, "count must be at most 100000"),
    "xo_glyph of 100 000 pixels": (lambda: datasets.xo_glyph("X", size=10**5), ValueError, "size must be at most 512"),
    "logo of a million pixels": (lambda: datasets.logo(10**6), ValueError, "size must be at most 4096"),
}


def _two_axes():
    import matplotlib.pyplot as plt

    _, (ax_input, ax_output) = plt.subplots(1, 2)
    return ax_input, ax_output


@pytest.fixture(autouse=False)
def close_figures():
    import matplotlib.pyplot as plt

    yield
    plt.close("all")


@pytest.mark.parametrize("call, kind, message", list(SILENT_BEFORE.values()), ids=list(SILENT_BEFORE))
def test_input_that_used_to_pass_silently_is_refused_with_what_to_do(call, kind, message, close_figures):
    with pytest.raises(kind, match=message):
        call()


def test_the_label_checks_still_take_what_is_right():
    # One object labelled 1 is instance labels, not a binary mask.
    one = np.zeros((5, 5), int)
    one[1:3, 1:4] = 1
    assert metrics.object_f1(one, one)["f1"] == 1.0
    assert metrics.object_f1(one.astype(bool), one)["matched"] == 1
    # Boolean masks, whole-number floats and an ignore index still count as labels where they did.
    assert metrics.pixel_error(np.eye(3, dtype=bool), np.eye(3)) == 0.0
    assert metrics.confusion_matrix(np.array([0, 1]), np.array([0, -1]), 2, ignore_index=-1).sum() == 1
    assert integer_array(np.array([[0.0, 255.0]]), "target").dtype == np.int64
    assert label_image(np.array([[0, -1, 2]]), "instances", ignore=-1).tolist() == [[0, -1, 2]]
    # RandomCrops takes float targets of whole numbers and an "unlabelled" 255.
    targets = [np.where(np.eye(8) > 0, 255.0, 1.0)]
    x, y = datasets.RandomCrops(**(CROPS | {"targets": targets}), augment=False)[0]
    assert y.dtype == torch.int64 and set(y.unique().tolist()) <= {1, 255}


EXERCISE_NUMBER_ANSWERS = {
    "check_output_size": lambda n, k, s, p, d: conv.conv_output_size(n, k, s, p, d),
    "check_tiled_stitch": lambda run, image, tile, margin: run(np.pad(image, margin, mode="reflect"))[
        margin:-margin, margin:-margin
    ],
    "check_dice": lambda prediction, truth: metrics.dice(prediction, truth),
}


@pytest.mark.parametrize(
    "disguise, message",
    [
        (str, "text .*not an array of numbers"),
        (lambda value: value + 0j, "complex numbers"),
        (lambda value: value + 1j, "complex numbers"),
    ],
    ids=["as text", "plus 0j", "plus 1j"],
)
@pytest.mark.parametrize("name", list(EXERCISE_NUMBER_ANSWERS))
def test_a_right_answer_as_text_or_complex_number_does_not_pass(name, disguise, message):
    answer = EXERCISE_NUMBER_ANSWERS[name]
    assert getattr(exercises, name)(answer).passed
    result = getattr(exercises, name)(lambda *args: disguise(answer(*args)))
    assert not result.passed
    assert re.search(message, result.message) and result.message.startswith("your function returned")


@pytest.mark.parametrize(
    "disguise",
    [lambda k: k.astype(str), lambda k: k.astype(str).tolist(), lambda k: k + 1j, lambda k: torch.tensor(k) + 0j],
    ids=["text array", "list of text", "complex array", "complex tensor"],
)
def test_a_kernel_as_text_or_complex_numbers_does_not_pass(disguise):
    from unetlib.kernels import sobel_horizontal

    result = exercises.check_sobel_horizontal(disguise(sobel_horizontal()))
    assert not result.passed and "expected a 3x3 array of numbers" in result.message
    hidden = np.array([[-2.0, -1.0, 0.0], [-1.0, 1.0, 1.0], [0.0, 1.0, 2.0]])
    assert exercises.check_mystery_kernel(hidden).passed
    assert not exercises.check_mystery_kernel(disguise(hidden)).passed
    assert exercises.check_sobel_horizontal(torch.tensor(sobel_horizontal())).passed  # a real tensor is fine


def test_conv2d_says_which_argument_is_too_large():
    with pytest.raises(ValueError, match="smaller weight"):
        conv.conv2d(IMAGE, np.ones((9, 9)))
    with pytest.raises(ValueError, match="smaller kernel_size"):
        conv.conv_output_size(2, 5)
