"""Every check accepts a correct answer and names the typical mistakes."""

from __future__ import annotations

import re

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from unetlib.exercises import check_conv2d, check_conv2d_same, check_sobel_horizontal


def correct_conv2d(image, kernel):
    """Written independently of unetlib: windows times kernel, summed."""
    return np.einsum("ijkl,kl->ij", sliding_window_view(image, kernel.shape), kernel)


def correct_conv2d_same(image, kernel):
    ph, pw = kernel.shape[0] // 2, kernel.shape[1] // 2
    return correct_conv2d(np.pad(image, ((ph, ph), (pw, pw))), kernel)


def test_check_conv2d_accepts_a_correct_answer():
    result = check_conv2d(correct_conv2d)
    assert result.passed and bool(result)
    assert repr(result).startswith("Correct:")


@pytest.mark.parametrize(
    "answer, hint",
    [
        (lambda image, kernel: None, "returned None: did you forget the `return`"),
        (lambda image, kernel: 1 / 0, "raised ZeroDivisionError"),
        (lambda image, kernel: image.copy(), "your output is 5x5 but should be 3x3.*did you pad"),
        (lambda image, kernel: correct_conv2d(image, kernel[::-1, ::-1]), "you flipped the kernel"),
        (lambda image, kernel: correct_conv2d(image, kernel).T, "rows and columns are swapped"),
        (lambda image, kernel: correct_conv2d(np.pad(image, ((kernel.shape[0] - 1,) * 2, (kernel.shape[1] - 1,) * 2)), kernel),
         "the 'full' size"),
        (lambda image, kernel: correct_conv2d(image, kernel) + 1, r"at position \(0, 0\) you have"),
        (lambda image, kernel: "text", "not an array of numbers"),
    ],
)
def test_check_conv2d_names_the_mistake(answer, hint):
    result = check_conv2d(answer)
    assert not result.passed
    assert repr(result).startswith("Not yet:")
    assert re.search(hint, result.message), result.message


def test_check_conv2d_wants_a_function():
    result = check_conv2d(np.zeros((3, 3)))
    assert not result.passed and "pass your function itself" in result.message


def test_check_conv2d_same():
    assert check_conv2d_same(correct_conv2d_same).passed
    assert "did you pad?" in check_conv2d_same(correct_conv2d).message
    assert "your output is 3x3 but should be 5x5" in check_conv2d_same(correct_conv2d).message

    def edge_padded(image, kernel):
        ph, pw = kernel.shape[0] // 2, kernel.shape[1] // 2
        return correct_conv2d(np.pad(image, ((ph, ph), (pw, pw)), mode="edge"), kernel)

    assert "padded with 'replicate' values" in check_conv2d_same(edge_padded).message
    flipped = check_conv2d_same(lambda image, kernel: correct_conv2d_same(image, kernel[::-1, ::-1]))
    assert "flipped the kernel" in flipped.message

    def wrong_border(image, kernel):
        out = correct_conv2d_same(image, kernel)
        out[0, :] = 0
        return out

    assert "the middle is right but the border is not" in check_conv2d_same(wrong_border).message


def test_check_sobel_horizontal():
    by_hand = np.array([[-1, -2, -1], [0, 0, 0], [1, 2, 1]])
    assert check_sobel_horizontal(by_hand).passed
    scaled = check_sobel_horizontal(by_hand / 4)
    assert scaled.passed and "scaled by 0.25" in scaled.message
    assert "transpose it" in check_sobel_horizontal(by_hand.T).message
    assert "wrong sign" in check_sobel_horizontal(-by_hand).message
    assert "sum to 1" in check_sobel_horizontal(np.eye(3) / 3).message
    assert "is 2x2 but a Sobel kernel is 3x3" in check_sobel_horizontal(np.ones((2, 2))).message
    assert "not a Sobel kernel" in check_sobel_horizontal(np.zeros((3, 3))).message
    assert "3x3 array of numbers" in check_sobel_horizontal(object()).message
