"""The explorer widget: moving a slider redraws the figure and the formula, with PyTorch's size."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from unetlib.widgets import ConvArithmeticExplorer  # noqa: E402


def pytorch_size(size, kernel_size, padding, stride, dilation) -> int:
    x, w = torch.zeros(1, 1, size, size), torch.zeros(1, 1, kernel_size, kernel_size)
    return F.conv2d(x, w, stride=stride, padding=padding, dilation=dilation).shape[-1]


@pytest.mark.parametrize(
    "changes",
    [{"stride": 2}, {"padding": 2, "dilation": 2}, {"size": 11, "kernel_size": 5, "stride": 3}, {"kernel_size": 1}],
)
def test_moving_sliders_updates_size_formula_and_figure(changes):
    explorer = ConvArithmeticExplorer(size=7, kernel_size=3, padding=1)
    before = explorer.figure.value
    for name, value in changes.items():
        explorer.sliders[name].value = value
    settings = {name: slider.value for name, slider in explorer.sliders.items()}
    expected = pytorch_size(**settings)
    assert explorer.output_size == expected
    assert explorer.formula.value.endswith(f"<b>{expected}</b>")
    assert explorer.position.max == expected**2 - 1
    assert explorer.figure.value != before and 'alt="A ' in explorer.figure.value


def test_position_slider_moves_the_window_and_says_so_in_the_alt_text():
    explorer = ConvArithmeticExplorer(size=5, kernel_size=3)
    first = explorer.figure.value
    explorer.position.value = 4  # the middle of the 3x3 output
    assert explorer.figure.value != first
    assert "output pixel (1, 1)" in explorer.figure.value


def test_settings_without_output_explain_why_and_recover():
    explorer = ConvArithmeticExplorer(size=3, kernel_size=3)
    explorer.sliders["dilation"].value = 2  # spans 5 pixels on a 3-pixel input
    assert explorer.output_size is None
    assert "No output" in explorer.formula.value and "padding of at least 1" in explorer.formula.value
    assert explorer.figure.value == ""
    explorer.sliders["padding"].value = 1
    assert explorer.output_size == 1 and "<img" in explorer.figure.value


def test_shrinking_the_output_keeps_the_position_in_range():
    explorer = ConvArithmeticExplorer(size=9, kernel_size=3)
    explorer.position.value = explorer.position.max
    explorer.sliders["stride"].value = 3
    assert explorer.position.value == explorer.position.max == explorer.output_size**2 - 1


@pytest.mark.parametrize(
    "arguments, error",
    [
        ({"size": 0}, ValueError),
        ({"kernel_size": 8}, ValueError),
        ({"stride": 2.0}, TypeError),
        ({"padding": True}, TypeError),
    ],
)
def test_start_values_outside_the_sliders_are_rejected(arguments, error):
    name = next(iter(arguments))
    with pytest.raises(error, match=name):
        ConvArithmeticExplorer(**arguments)
