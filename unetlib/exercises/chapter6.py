"""Chapter 6's exercises: the transposed output size, scatter-add by hand, choosing output_padding.

Example:
    A wrong answer, and what the check says:

    >>> check_output_padding(lambda n, k, s, p: 0)
    Not yet: for n=3, k=1, s=3, p=0 output_padding=0 gives 1 pixel, not 3: it is
        what the strided convolution's floor threw away
"""

from __future__ import annotations

import itertools
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from unetlib.exercises._common import CheckResult, _call, _first_difference, _show, _size

__all__ = ["check_conv_transpose", "check_output_padding", "check_transpose_output_size"]


def _pytorch_transpose(
    x: np.ndarray, kernel: np.ndarray, stride: int, padding: int = 0, output_padding: int = 0
) -> np.ndarray:
    return F.conv_transpose2d(
        torch.from_numpy(x)[None, None],
        torch.from_numpy(kernel)[None, None],
        stride=stride,
        padding=padding,
        output_padding=output_padding,
    )[0, 0].numpy()


def check_transpose_output_size(function: Callable[[int, int, int, int], int]) -> CheckResult:
    """Check a reader's ``function(n, k, s, p)``: the output length of a transposed convolution
    (no output_padding, no dilation), against the shape PyTorch returns."""
    for n, k, s, p in itertools.product(range(1, 9), range(1, 6), range(1, 5), range(0, 3)):
        length = (n - 1) * s - 2 * p + k
        if length < 1:
            continue
        got, problem = _call(function, n, k, s, p, number=True)
        if problem:
            return CheckResult(False, problem)
        expected = _pytorch_transpose(np.zeros((n, n)), np.zeros((k, k)), s, p).shape[0]
        if got.shape != () or got != expected:
            if got == n * s - 2 * p + k:
                hint = "n pixels make n - 1 gaps of s between stamps, not n"
            elif got == (n - 1) * s + p + k or got == (n - 1) * s + 2 * p + k:
                hint = "padding is *removed* from both ends of a transposed convolution's output"
            elif got == (n - 1) * s - 2 * p + k - 1:
                hint = "the last stamp adds a whole kernel, k pixels"
            else:
                hint = "stamps start s apart and each covers k pixels; then cut p from both ends"
            return CheckResult(
                False, f"for n={n}, k={k}, s={s}, p={p} you give {_show(got)}, PyTorch gives {expected}: {hint}"
            )
    return CheckResult(True, "your formula gives PyTorch's size in every case.")


def check_conv_transpose(function: Callable[[np.ndarray, np.ndarray, int], np.ndarray]) -> CheckResult:
    """Check a reader's ``function(x, kernel, stride)`` for 2-D arrays, no padding: each input
    pixel adds ``x[i, j] * kernel`` at ``(i * stride, j * stride)``."""
    rng = np.random.default_rng(5)
    for shape, k_shape, stride in (((2, 3), (2, 2), 2), ((3, 3), (3, 3), 2), ((4, 2), (3, 2), 1), ((2, 2), (2, 3), 3)):
        x = rng.integers(-3, 4, shape).astype(np.float64)
        kernel = rng.integers(-3, 4, k_shape).astype(np.float64)
        got, problem = _call(function, x, kernel, stride)
        if problem:
            return CheckResult(False, problem)
        expected = _pytorch_transpose(x, kernel, stride)
        case = f"(x {_size(shape)}, kernel {_size(k_shape)}, stride {stride})"
        if got.shape != expected.shape:
            return CheckResult(
                False,
                f"your output is {_size(got.shape)} but should be {_size(expected.shape)} {case}: "
                "(n - 1) * stride + k along each axis",
            )
        if np.allclose(got, expected):
            continue
        if np.allclose(got, _pytorch_transpose(x, kernel[::-1, ::-1].copy(), stride)):
            return CheckResult(False, f"your stamps are the kernel flipped {case}: stamp it as it is")
        return CheckResult(
            False, f"the values differ {case}: {_first_difference(got, expected)}; overlapping stamps add up"
        )
    return CheckResult(True, "your scatter-add equals PyTorch's conv_transpose2d in every case.")


def check_output_padding(function: Callable[[int, int, int, int], int]) -> CheckResult:
    """Check a reader's ``function(n, k, s, p)``: the ``output_padding`` that makes the transposed
    convolution of a ``conv2d(n, k, s, p)`` output come back to exactly ``n`` pixels."""
    for n, k, s, p in itertools.product(range(3, 12), (1, 2, 3, 4), (1, 2, 3), (0, 1)):
        if n + 2 * p < k:
            continue
        got, problem = _call(function, n, k, s, p, number=True)
        if problem:
            return CheckResult(False, problem)
        out = F.conv2d(torch.zeros(1, 1, n, n), torch.zeros(1, 1, k, k), stride=s, padding=p).shape[-1]
        try:
            back = F.conv_transpose2d(
                torch.zeros(1, 1, out, out), torch.zeros(1, 1, k, k), stride=s, padding=p, output_padding=int(got)
            ).shape[-1]
        except (RuntimeError, TypeError, ValueError):
            return CheckResult(
                False,
                f"for n={n}, k={k}, s={s}, p={p} PyTorch refuses output_padding={_show(got)}: "
                "it must be smaller than the stride",
            )
        if got.shape != () or back != n:
            return CheckResult(
                False,
                f"for n={n}, k={k}, s={s}, p={p} output_padding={_show(got)} gives "
                f"{back} pixel{'s' * (back != 1)}, not {n}: it is what the strided convolution's floor threw away",
            )
    return CheckResult(True, "with your output_padding every size comes back exactly.")
