"""Chapter 1's exercises: your own conv2d, keeping the size, the horizontal Sobel kernel.

Example:
    A wrong answer, and what the check says (the solution is in the chapter):

    >>> from unetlib.kernels import sobel_horizontal
    >>> check_sobel_horizontal(-sobel_horizontal())
    Not yet: your kernel finds horizontal edges with the wrong sign: brighter
        *below* should give a positive response; swap the top and bottom rows
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from unetlib.conv import conv2d, convolve2d
from unetlib.exercises._common import CheckResult, _as_numbers, _call, _first_difference, _size
from unetlib.kernels import sobel_horizontal, sobel_vertical

__all__ = ["check_conv2d", "check_conv2d_same", "check_sobel_horizontal"]


def _cases() -> list[tuple[np.ndarray, np.ndarray]]:
    """Small test images and kernels. Non-square, asymmetric shapes, so that a swapped axis,
    a transposed or flipped kernel each give a different, recognisable wrong answer."""
    rng = np.random.default_rng(2015)
    square = np.arange(25, dtype=np.float64).reshape(5, 5) % 7
    return [
        (square, np.array([[1.0, 0.0, -1.0], [2.0, 1.0, 0.0], [0.0, 0.0, 3.0]])),
        (rng.integers(0, 10, (6, 8)).astype(np.float64), rng.integers(-3, 4, (3, 2)).astype(np.float64)),
        (rng.integers(0, 10, (7, 4)).astype(np.float64), rng.integers(-3, 4, (2, 3)).astype(np.float64)),
    ]


def check_conv2d(function: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> CheckResult:
    """Check a reader's ``function(image, kernel)``: a 2-D cross-correlation, no padding.

    The expected output has size ``(H - kH + 1) x (W - kW + 1)`` and equals
    ``unetlib.conv.conv2d(image, kernel)``, i.e. PyTorch's ``conv2d`` (the kernel is not flipped).
    """
    for image, kernel in _cases():
        got, problem = _call(function, image, kernel)
        if problem:
            return CheckResult(False, problem)
        expected = conv2d(image, kernel)
        case = f"(image {_size(image.shape)}, kernel {_size(kernel.shape)})"
        if got.shape != expected.shape:
            if got.shape == image.shape:
                hint = "a convolution without padding shrinks the image: did you pad, or loop over every pixel?"
            elif got.shape == expected.shape[::-1]:
                hint = "rows and columns are swapped: is your output indexed [row, column]?"
            elif got.shape == tuple(np.add(image.shape, kernel.shape) - 1):
                hint = "that is the 'full' size: the kernel should stay inside the image"
            else:
                hint = "the kernel fits in (H - kH + 1) x (W - kW + 1) positions"
            return CheckResult(
                False, f"your output is {_size(got.shape)} but should be {_size(expected.shape)} {case}: {hint}"
            )
        if np.allclose(got, expected):
            continue
        if np.allclose(got, convolve2d(image, kernel)):
            return CheckResult(
                False,
                "you flipped the kernel: that is textbook convolution; "
                "conv2d in PyTorch (and here) multiplies by the kernel as it is printed",
            )
        if got.T.shape == expected.shape and np.allclose(got.T, expected):
            return CheckResult(False, "rows and columns are swapped: is your output indexed [row, column]?")
        return CheckResult(False, f"the values differ {case}: {_first_difference(got, expected)}")
    return CheckResult(True, "your conv2d agrees with unetlib.conv.conv2d (and PyTorch) on every test case.")


def check_conv2d_same(function: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> CheckResult:
    """Check a reader's ``function(image, kernel)`` that keeps the image's size with zero padding.

    Odd kernels only (so the padding is the same on both sides): pad by ``kH // 2`` rows and
    ``kW // 2`` columns of zeros, then convolve; expected equals
    ``conv2d(image, kernel, padding="same")``.
    """
    rng = np.random.default_rng(7)
    cases = [
        _cases()[0],
        (rng.integers(0, 10, (6, 9)).astype(np.float64), rng.integers(-3, 4, (3, 5)).astype(np.float64)),
    ]
    for image, kernel in cases:
        got, problem = _call(function, image, kernel)
        if problem:
            return CheckResult(False, problem)
        expected = conv2d(image, kernel, padding="same")
        case = f"(image {_size(image.shape)}, kernel {_size(kernel.shape)})"
        if got.shape != expected.shape:
            valid = conv2d(image, kernel).shape
            hint = (
                "did you pad? Add kH // 2 rows and kW // 2 columns of zeros on each side"
                if got.shape == valid
                else "pad by kH // 2 and kW // 2 on each side, then convolve"
            )
            return CheckResult(
                False, f"your output is {_size(got.shape)} but should be {_size(expected.shape)} {case}: {hint}"
            )
        if np.allclose(got, expected):
            continue
        for mode in ("replicate", "reflect", "circular"):
            if np.allclose(got, conv2d(image, kernel, padding="same", padding_mode=mode)):
                return CheckResult(False, f"you padded with '{mode}' values; this exercise asks for zeros")
        if np.allclose(got, convolve2d(image, kernel, padding="same")):
            return CheckResult(False, "you flipped the kernel: multiply by the kernel as it is printed")
        interior = (
            slice(kernel.shape[0] // 2, -(kernel.shape[0] // 2)),
            slice(kernel.shape[1] // 2, -(kernel.shape[1] // 2)),
        )
        if np.allclose(got[interior], expected[interior]):
            return CheckResult(
                False, f"the middle is right but the border is not {case}: {_first_difference(got, expected)}"
            )
        return CheckResult(False, f"the values differ {case}: {_first_difference(got, expected)}")
    return CheckResult(True, "your function keeps the size and agrees with conv2d(image, kernel, padding='same').")


def check_sobel_horizontal(kernel: np.ndarray) -> CheckResult:
    """Check a reader's 3x3 Sobel kernel for horizontal edges (brighter below gives > 0).

    Any positive multiple of :func:`unetlib.kernels.sobel_horizontal` is accepted, since
    scaling changes only the strength of the response, not where edges are found.
    """
    kernel, problem = _as_numbers(kernel, "your kernel is")
    if problem:
        return CheckResult(False, f"expected a 3x3 array of numbers: {problem}")
    if kernel.shape != (3, 3):
        return CheckResult(False, f"your kernel is {_size(kernel.shape)} but a Sobel kernel is 3x3")
    expected = sobel_horizontal()

    def scale_of(reference: np.ndarray) -> float | None:
        """c if kernel == c * reference for some c != 0, else None."""
        c = float(np.sum(kernel * reference) / np.sum(reference * reference))
        return c if c != 0 and np.allclose(kernel, c * reference) else None

    scale = scale_of(expected)
    if scale is not None and scale > 0:
        note = "" if np.isclose(scale, 1) else f" (scaled by {scale:g}, which only changes the strength)"
        return CheckResult(
            True, f"your kernel finds horizontal edges, brighter-below positive, like sobel_horizontal(){note}."
        )
    if scale is not None:
        return CheckResult(
            False,
            "your kernel finds horizontal edges with the wrong sign: brighter *below* "
            "should give a positive response; swap the top and bottom rows",
        )
    if scale_of(sobel_vertical()) is not None:
        return CheckResult(False, "your kernel finds vertical edges (left-right changes): transpose it")
    if not np.isclose(kernel.sum(), 0):
        return CheckResult(
            False,
            f"your kernel's weights sum to {kernel.sum():g}, so a flat region gives a "
            "non-zero response; an edge detector's weights sum to 0",
        )
    return CheckResult(
        False,
        "not a Sobel kernel: the top and bottom rows should be differences weighted 1, 2, 1, the middle row zeros",
    )
