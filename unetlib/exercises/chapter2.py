"""Chapter 2's exercises: the output-size formula, "same" padding, dilating a kernel.

Example:
    A wrong answer, and what the check says:

    >>> check_same_padding(lambda kernel_size, dilation: kernel_size // 2)
    Not yet: for kernel 3, dilation 2 your padding 1 turns 16 pixels into 14: a
        dilated kernel spans d * (k - 1) + 1 pixels: pad half of what it
        overhangs
"""

from __future__ import annotations

import itertools
from typing import Callable

import numpy as np

from unetlib.conv import conv2d, conv_output_size
from unetlib.exercises._common import CheckResult, _call, _first_difference, _show, _size

__all__ = ["check_dilate_kernel", "check_output_size", "check_same_padding", "output_size_cases"]


def output_size_cases() -> list[tuple[int, int, int, int, int]]:
    """Every ``(input_size, kernel_size, stride, padding, dilation)`` with input 1-12, kernel
    1-5, stride 1-3, padding 0-2 and dilation 1-3 for which the kernel fits.

    Example:
        >>> len(output_size_cases())
        1266
    """
    cases = []
    for case in itertools.product(range(1, 13), range(1, 6), range(1, 4), range(0, 3), range(1, 4)):
        size, kernel, _, padding, dilation = case
        if dilation * (kernel - 1) + 1 <= size + 2 * padding:
            cases.append(case)
    return cases


# Formulas readers often write, and what each one forgets.
_WRONG_OUTPUT_SIZES: list[tuple[Callable[[int, int, int, int, int], float], str]] = [
    (
        lambda n, k, s, p, d: (n + 2 * p - d * (k - 1) - 1) / s + 1,
        "your answer is not always a whole number: round down with // (the window must fit entirely)",
    ),
    (
        lambda n, k, s, p, d: (n + 2 * p - k) // s + 1,
        "the dilation is missing: a dilated kernel spans d * (k - 1) + 1 pixels, not k",
    ),
    (
        lambda n, k, s, p, d: (n + p - d * (k - 1) - 1) // s + 1,
        "padding is added on both sides: the padded input has n + 2p pixels",
    ),
    (
        lambda n, k, s, p, d: (n + 2 * p - d * (k - 1) - 1) // s,
        "one short: count the first position too (+ 1 at the end)",
    ),
    (
        lambda n, k, s, p, d: -(-(n + 2 * p - d * (k - 1) - 1) // s) + 1,
        "you rounded up: a window that does not fit entirely is not computed, so round down",
    ),
]


def check_output_size(function: Callable[[int, int, int, int, int], int]) -> CheckResult:
    """Check a reader's ``function(input_size, kernel_size, stride, padding, dilation)``
    against PyTorch's rule on every case of :func:`output_size_cases`, naming the first miss."""
    cases = output_size_cases()
    answers = []
    for case in cases:
        got, problem = _call(function, *case, number=True)
        if problem:
            return CheckResult(False, problem)
        if got.shape != ():
            return CheckResult(False, f"return one number (the output length along one axis), got {_show(got)}")
        answers.append(float(got))
    expected = [conv_output_size(n, k, stride=s, padding=p, dilation=d) for n, k, s, p, d in cases]
    misses = [i for i, (a, e) in enumerate(zip(answers, expected)) if a != e]
    if not misses:
        return CheckResult(True, f"your formula agrees with PyTorch on all {len(cases)} cases.")
    size, kernel, stride, padding, dilation = cases[misses[0]]
    where = (
        f"{len(misses)} of {len(cases)} cases differ; the first: input {size}, kernel {kernel}, stride "
        f"{stride}, padding {padding}, dilation {dilation} gives {answers[misses[0]]:g}, PyTorch "
        f"gives {expected[misses[0]]}"
    )
    for wrong, hint in _WRONG_OUTPUT_SIZES:
        if np.allclose([wrong(*case) for case in cases], answers):
            return CheckResult(False, f"{where}: {hint}")
    return CheckResult(False, where)


def check_same_padding(function: Callable[[int, int], int]) -> CheckResult:
    """Check a reader's ``function(kernel_size, dilation)``: the padding on each side that keeps
    the size of the input with stride 1, for odd kernels (1 to 9) and dilations 1 to 4."""
    for kernel, dilation in itertools.product((1, 3, 5, 7, 9), (1, 2, 3, 4)):
        got, problem = _call(function, kernel, dilation, number=True)
        if problem:
            return CheckResult(False, problem)
        size = 16
        if got.shape != () or got != int(got) or got < 0:
            return CheckResult(
                False,
                f"for kernel {kernel}, dilation {dilation} you return {_show(got)}: "
                "the padding is a whole number of pixels, 0 or more",
            )
        out = size + 2 * int(got) - dilation * (kernel - 1)
        if out != size:
            hint = (
                "a dilated kernel spans d * (k - 1) + 1 pixels: pad half of what it overhangs"
                if int(got) == kernel // 2
                else "the output must have as many pixels as the input"
            )
            return CheckResult(
                False,
                f"for kernel {kernel}, dilation {dilation} your padding {int(got)} turns "
                f"{size} pixels into {out}: {hint}",
            )
    return CheckResult(True, "with that padding every odd kernel and dilation keeps the size.")


def check_dilate_kernel(function: Callable[[np.ndarray, int], np.ndarray]) -> CheckResult:
    """Check a reader's ``function(kernel, dilation)`` that spreads a 2-D kernel's taps apart,
    by the property that matters: ``conv2d(x, function(w, d)) == conv2d(x, w, dilation=d)``."""
    rng = np.random.default_rng(3)
    image = rng.normal(size=(13, 15))
    for shape, dilation in (((3, 3), 2), ((2, 3), 3), ((3, 2), 1), ((1, 4), 2)):
        kernel = rng.integers(1, 9, shape).astype(np.float64)
        got, problem = _call(function, kernel, dilation)
        if problem:
            return CheckResult(False, problem)
        span = tuple(dilation * (k - 1) + 1 for k in shape)
        case = f"(kernel {_size(shape)}, dilation {dilation})"
        if got.shape != span:
            hint = (
                "insert d - 1 zeros between neighbouring taps, not d"
                if got.shape == tuple(k + (k - 1) * dilation for k in shape)
                else "no zeros after the last tap: the span is d * (k - 1) + 1"
            )
            return CheckResult(False, f"your kernel is {_size(got.shape)} but should be {_size(span)} {case}: {hint}")
        expected = conv2d(image, kernel, dilation=dilation)
        result = conv2d(image, got)
        if not np.allclose(result, expected):
            return CheckResult(
                False,
                f"convolving with your kernel differs from dilation={dilation} {case}: "
                f"{_first_difference(result, expected)}; the taps go at every d-th row and column",
            )
    return CheckResult(True, "convolving with your dilated kernel equals conv2d(..., dilation=d) in every case.")
