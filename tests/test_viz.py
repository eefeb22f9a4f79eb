"""Figure helpers: they draw what they are given, validate it, and animations play offline."""

from __future__ import annotations

import re

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
import pytest  # noqa: E402

from unetlib.conv import conv2d  # noqa: E402
from unetlib.viz import (  # noqa: E402
    animation_html,
    conv_arithmetic_animation,
    draw_conv_arithmetic,
    show_images,
    show_number_grid,
    show_weight_tensor,
    sliding_window_animation,
)


def teardown_function():
    plt.close("all")


def test_show_images_one_panel_per_image_with_titles():
    images = [np.zeros((4, 4)), np.ones((4, 4, 3)), np.arange(16.0).reshape(4, 4) - 8]
    fig = show_images(images, ["a", "b", "c"], symmetric=[False, False, True])
    drawn = [ax for ax in fig.axes if ax.images]
    assert [ax.get_title() for ax in drawn] == ["a", "b", "c"]
    low, high = drawn[2].images[0].get_clim()
    # Signed images are centred on zero; the scale ends at the 99.5th percentile of |values|.
    assert low == -high and high == pytest.approx(np.percentile(np.abs(images[2]), 99.5))


def test_show_number_grid_prints_every_value():
    values = np.array([[1.0, -2.0], [3.5, np.nan]])
    ax = show_number_grid(values, title="t", highlight=(0, 0, 1, 2))
    assert sorted(t.get_text() for t in ax.texts) == ["-2", "1", "3.5"]
    assert ax.get_title() == "t"


def test_sliding_window_animation_shows_conv2d_values():
    image, kernel = np.arange(25.0).reshape(5, 5), np.array([[1.0, 0.0], [0.0, -1.0]])
    animation = sliding_window_animation(image, kernel, padding=1, stride=2)
    expected = conv2d(image, kernel, padding=1, stride=2)
    frames = list(animation.new_frame_seq())
    assert len(frames) == expected.size
    output_ax = animation._fig.axes[2]
    for frame in (0, len(frames) - 1):
        animation._func(frame)
        row, col = np.unravel_index(frame, expected.shape)
        assert output_ax.get_title() == f"output[{row}, {col}] = {expected[row, col]:g}"
    html = animation_html(animation, alt="frames")
    assert html.count("data:image/png;base64") == expected.size  # one embedded frame per output pixel


def test_animation_html_is_offline_and_labelled():
    animation = sliding_window_animation(np.eye(4), np.ones((3, 3)))
    html = animation_html(animation, alt='a "quoted" description')
    assert 'alt="a &quot;quoted&quot; description"' in html
    assert "font-awesome" not in html and "https://" not in html
    assert html.count("<button") == 9 and "\u25b6" in html


def test_animation_html_requires_alt_text():
    animation = sliding_window_animation(np.eye(3), np.ones((2, 2)))
    with pytest.raises(ValueError, match="alt must be a non-empty description"):
        animation_html(animation, alt=" ")
    assert 'alt="four frames"' in animation_html(animation, alt="four frames")


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: show_images([]), ValueError, "at least one image"),
        (lambda: show_images([np.zeros((2, 2))], ["a", "b"]), ValueError, "one entry per image"),
        (lambda: show_images([np.zeros(3)]), ValueError, r"images\[0\] must be"),
        (lambda: show_images([np.zeros((2, 2))], symmetric=[True, False]), ValueError, "symmetric"),
        (lambda: show_number_grid(np.zeros(3)), ValueError, "values must be 2-D"),
        (lambda: sliding_window_animation(np.zeros((2, 2)), np.ones((3, 3))), ValueError, "spans 3 pixels"),
    ],
)
def test_bad_arguments(call, error, message):
    with pytest.raises(error, match=message):
        call()


@pytest.mark.parametrize(
    "size, kernel_size, padding, stride, dilation",
    [(5, 3, 0, 1, 1), (5, 3, 1, 2, 1), (7, 3, 0, 1, 2), (6, (3, 2), (1, 0), (2, 1), 1), (4, 1, 2, 3, 1)],
)
def test_conv_arithmetic_draws_each_tap_and_every_output_pixel(size, kernel_size, padding, stride, dilation):
    import torch
    import torch.nn.functional as F

    fig, (ax_input, ax_output) = plt.subplots(1, 2)
    out = draw_conv_arithmetic(ax_input, ax_output, size, kernel_size, padding, stride, dilation)
    k_h, k_w = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    p_h, p_w = (padding, padding) if isinstance(padding, int) else padding
    expected = F.conv2d(
        torch.zeros(1, 1, size, size), torch.zeros(1, 1, k_h, k_w), stride=stride, padding=padding, dilation=dilation
    ).shape[-2:]
    assert out == tuple(expected)
    # One dot per kernel tap; one cell per padded-input pixel (+ the window outline); one per output pixel.
    assert len(ax_input.lines) == k_h * k_w
    assert len(ax_input.patches) == (size + 2 * p_h) * (size + 2 * p_w) + 1
    assert len(ax_output.patches) == out[0] * out[1]


def test_conv_arithmetic_animation_has_one_frame_per_output_pixel():
    html = animation_html(conv_arithmetic_animation(6, 3, padding=1, stride=2), alt="six by six")
    assert html.count("data:image/png;base64") == 9


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda ax: draw_conv_arithmetic(*ax, size=3, kernel_size=5), ValueError, "padding of at least 1"),
        (lambda ax: draw_conv_arithmetic(*ax, size=5, kernel_size=3, stride=0), ValueError, "stride"),
        (lambda ax: draw_conv_arithmetic(*ax, size=5, kernel_size=3, position=(3, 0)), ValueError, "position"),
        (lambda ax: draw_conv_arithmetic(*ax, size=5.0, kernel_size=3), TypeError, "size"),
    ],
)
def test_conv_arithmetic_rejects_bad_settings(call, error, words):
    _, axes = plt.subplots(1, 2)
    with pytest.raises(error, match=words):
        call(axes)


def test_show_weight_tensor_one_panel_per_kernel_with_names():
    weight = np.arange(2 * 3 * 3 * 3, dtype=float).reshape(2, 3, 3, 3) - 20
    fig = show_weight_tensor(weight, in_names=["R", "G", "B"], out_names=["a", "b"])
    assert len(fig.axes) == 6
    assert [ax.get_title() for ax in fig.axes[:3]] == ["R", "G", "B"]
    assert [fig.axes[0].get_ylabel(), fig.axes[3].get_ylabel()] == ["a", "b"]
    printed = [float(t.get_text()) for t in fig.axes[5].texts]
    np.testing.assert_allclose(printed, weight[1, 2].ravel(), rtol=0.05)
    with pytest.raises(ValueError, match="out_channels, in_channels"):
        show_weight_tensor(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="in_names"):
        show_weight_tensor(weight, in_names=["R"])


def test_conv_transpose_animation_frames_and_bad_arguments():
    from unetlib.viz import conv_transpose_animation

    assert animation_html(conv_transpose_animation(2, 2, stride=2), alt="stamps").count("data:image/png;base64") == 4
    with pytest.raises(ValueError, match="stride"):
        conv_transpose_animation(3, 3, stride=0)
    with pytest.raises(ValueError, match="cuts away the whole"):
        conv_transpose_animation(1, 1, padding=1)


@pytest.mark.parametrize(
    "depth, width, padding, size", [(1, 2, "valid", 44), (2, 3, "valid", 92), (3, 2, "same", 40), (4, 64, "valid", 572)]
)
def test_the_unet_drawing_has_the_shapes_the_network_computes(depth, width, padding, size):
    # Record every convolution's output in a real forward pass (meta tensors: no arithmetic is
    # done, only shapes), and compare with the maps the drawing shows.
    from unetlib.diagram import unet_stages
    from unetlib.model import UNet

    model = UNet(1, 2, depth=depth, base_channels=width, padding=padding).to("meta")
    seen = []
    for module in model.modules():
        if isinstance(module, (torch.nn.Conv2d, torch.nn.ConvTranspose2d)):
            module.register_forward_hook(lambda m, i, out: seen.append((out.shape[1], out.shape[-1])))
    model(torch.empty(1, 1, size, size, device="meta"))
    stages = unet_stages(model, size)
    drawn = [m for maps in stages[: depth + 1] for m in maps[1:]] + [m for maps in stages[depth + 1 :] for m in maps]
    assert seen[:-1] == drawn  # every map but the 1x1 head's
    assert stages[0][0] == (1, size)


def test_draw_unet_names_a_size_the_network_cannot_take():
    from unetlib.diagram import draw_unet
    from unetlib.model import UNet

    with pytest.raises(ValueError, match="nearest sizes that work are"):
        draw_unet(UNet(1, 2), 570)


def test_draw_unet_draws_every_box_and_arrow_of_the_network():
    import matplotlib.pyplot as plt

    from unetlib.diagram import draw_unet
    from unetlib.model import UNet, valid_input_sizes

    for depth in (0, 1, 3):  # depth 0 (no levels to climb) used to fail on a name never set
        figure = draw_unet(UNet(1, 2, depth=depth, base_channels=4), valid_input_sizes(depth)[0])
        ax = figure.axes[0]
        # A bar per map (3 per level going down, 3 plus a hollow skip per level going up), the output.
        assert len(ax.patches) == 3 * (depth + 1) + 4 * depth + 1
        arrows = [c for c in ax.get_children() if type(c).__name__ == "Annotation"]
        # 2 convolutions per level, a pool per step down, copy and up-conv per step up, the 1x1.
        assert len(arrows) == 2 * (2 * depth + 1) + depth + 2 * depth + 1
        plt.close(figure)


def test_no_function_of_the_figures_is_longer_than_a_screen():
    import ast
    from pathlib import Path

    import unetlib

    for module in ("diagram.py", "viz.py"):
        tree = ast.parse((Path(unetlib.__file__).parent / module).read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef):
                assert node.end_lineno - node.lineno + 1 <= 80, f"{module}: {node.name} is longer than 80 lines"


def test_show_images_shared_scale_gives_one_colour_scale_for_compared_panels():
    bright, dim = np.linspace(0, 1, 16).reshape(4, 4), np.linspace(0, 0.1, 16).reshape(4, 4)
    own = show_images([bright, dim])
    assert own.axes[1].images[0].get_clim() == pytest.approx((0, 0.1))
    shared = show_images([bright, dim], shared_scale=True)
    assert [ax.images[0].get_clim() for ax in shared.axes] == [pytest.approx((0, 1))] * 2
    signed = show_images([bright - 0.5, (dim - 0.05)], symmetric=True, shared_scale=True)
    limits = [ax.images[0].get_clim() for ax in signed.axes]
    assert limits[0] == limits[1] and limits[0][1] == pytest.approx(-limits[0][0]) and limits[0][1] > 0.4
    with pytest.raises(TypeError, match="shared_scale"):
        show_images([bright], shared_scale="yes")
    plt.close("all")


def test_paint_classes_paints_each_class_its_colour_and_unlabelled_grey():
    from unetlib.viz import paint_classes

    classes = np.array([[0, 1, 2], [2, 255, 0]])
    colours = [(255, 0, 0), (0, 255, 0), (0, 0, 255)]
    picture = paint_classes(classes, colours, ignore_index=255)
    assert picture.shape == (2, 3, 3) and picture.dtype == np.uint8
    expected = np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255]], [[0, 0, 255], [155, 155, 155], [255, 0, 0]]])
    np.testing.assert_array_equal(picture, expected)


@pytest.mark.parametrize(
    "classes, colours, kwargs, error, words",
    [
        ([[0, 3]], [(0, 0, 0)] * 3, {}, ValueError, "classes holds 3"),
        ([[0, 255]], [(0, 0, 0)] * 3, {}, ValueError, "ignore_index="),
        ([[0.5]], [(0, 0, 0)], {}, ValueError, "whole numbers"),
        ([0, 1], [(0, 0, 0)] * 2, {}, ValueError, "2-D"),
        ([[0]], [(0, 0)], {}, ValueError, "(r, g, b) triples"),
        ([[0]], [(0, 0, 300)], {}, ValueError, "0-255"),
        ("mask", [(0, 0, 0)], {}, TypeError, "classes"),
    ],
)
def test_paint_classes_refuses_bad_input_saying_what_works(classes, colours, kwargs, error, words):
    from unetlib.viz import paint_classes

    with pytest.raises(error, match=re.escape(words)):
        paint_classes(classes, colours, **kwargs)


def test_class_legend_adds_one_entry_per_class_and_unlabelled():
    from unetlib.viz import class_legend

    fig = plt.figure()
    class_legend(fig, ["a", "b"], [(255, 0, 0), (0, 0, 255)])
    assert [text.get_text() for text in fig.legends[0].get_texts()] == ["a", "b", "unlabelled"]
    with pytest.raises(ValueError, match="one name per colour"):
        class_legend(fig, ["a"], [(255, 0, 0), (0, 0, 255)])
    with pytest.raises(TypeError, match="Figure"):
        class_legend("fig", ["a"], [(255, 0, 0)])
    plt.close(fig)
