"""Every public function refuses bad input with a sentence that names the argument.

A table gives each function a call that works and, for each argument, the kind of value it takes.
Each argument is then replaced, one at a time, by values of the wrong kind or out of range. The
function must raise a TypeError (wrong kind) or ValueError (wrong value) whose message names the
argument: never return a result, never let an error from deep inside NumPy or PyTorch through.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from unetlib import conv, experiments, kernels, losses, metrics, model, tiling, train, transposed
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
    (metrics.rand_error, dict(segmentation=LABELS, truth=LABELS), {"segmentation": "labels", "truth": "labels"}),
    (
        metrics.object_f1,
        dict(predicted=LABELS, truth=LABELS),
        {"predicted": "labels", "truth": "labels", "threshold": "probability"},
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
        experiments.Segmenter,
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
