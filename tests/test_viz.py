"""Figure helpers: they draw what they are given, validate it, and animations play offline."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from unetlib.conv import conv2d  # noqa: E402
from unetlib.viz import animation_html, show_images, show_number_grid, sliding_window_animation  # noqa: E402


def teardown_function():
    plt.close("all")


def test_show_images_one_panel_per_image_with_titles():
    images = [np.zeros((4, 4)), np.ones((4, 4, 3)), np.arange(16.0).reshape(4, 4) - 8]
    fig = show_images(images, ["a", "b", "c"], symmetric=[False, False, True])
    drawn = [ax for ax in fig.axes if ax.images]
    assert [ax.get_title() for ax in drawn] == ["a", "b", "c"]
    low, high = drawn[2].images[0].get_clim()
    assert low == -high == -8  # signed images centred on zero


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
        (lambda: show_number_grid(np.zeros(3)), ValueError, "2-D array"),
        (lambda: sliding_window_animation(np.zeros((2, 2)), np.ones((3, 3))), ValueError, "spans 3 pixels"),
    ],
)
def test_bad_arguments(call, error, message):
    with pytest.raises(error, match=message):
        call()
