"""Chapter 3's exercises: counting parameters, multi-channel convolution, a mystery kernel.

Example:
    A wrong answer, and what the check says:

    >>> check_parameter_count(lambda c_in, c_out, k, bias: c_out * c_in * k * k)
    Not yet: nn.Conv2d(1, 1, 1, bias=True) has 2 parameters, you count 1: add
        the bias, one number per output channel
"""

from __future__ import annotations

import itertools
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from unetlib._checks import integer, number
from unetlib.exercises._common import CheckResult, _as_numbers, _call, _first_difference, _show, _size

__all__ = ["check_multichannel_conv", "check_mystery_kernel", "check_parameter_count", "mystery_pairs"]


def check_parameter_count(function: Callable[[int, int, int, bool], int]) -> CheckResult:
    """Check a reader's ``function(in_channels, out_channels, kernel_size, bias)``: the number of
    learnable numbers in ``nn.Conv2d(in_channels, out_channels, kernel_size, bias=bias)``,
    compared with PyTorch's own count."""
    for c_in, c_out, k, bias in itertools.product((1, 3, 64), (1, 16, 128), (1, 3, 5), (True, False)):
        got, problem = _call(function, c_in, c_out, k, bias, number=True)
        if problem:
            return CheckResult(False, problem)
        layer = nn.Conv2d(c_in, c_out, k, bias=bias, device="meta")  # shapes only, no memory
        expected = sum(p.numel() for p in layer.parameters())
        if got.shape == () and got == expected:
            continue
        case = f"nn.Conv2d({c_in}, {c_out}, {k}, bias={bias}) has {expected:,} parameters, you count {_show(got)}"
        weights = c_out * c_in * k * k
        if got == weights and bias:
            return CheckResult(False, f"{case}: add the bias, one number per output channel")
        if got == weights + c_out and not bias:
            return CheckResult(False, f"{case}: with bias=False there is no bias to count")
        if got == c_out * k * k + (c_out if bias else 0):
            return CheckResult(False, f"{case}: each output channel has one k x k kernel *per input channel*")
        if got == weights + c_out * c_in:
            return CheckResult(False, f"{case}: the bias is one number per output channel, not per kernel")
        return CheckResult(False, f"{case}: the weight has shape (out_channels, in_channels, k, k), plus the bias")
    return CheckResult(True, "your count matches nn.Conv2d's parameters in every case.")


def check_multichannel_conv(function: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> CheckResult:
    """Check a reader's ``function(image, weight)``: ``image`` is ``(C, H, W)``, ``weight`` is
    ``(O, C, k, k)``, the answer ``(O, H - k + 1, W - k + 1)`` as ``torch.nn.functional.conv2d``
    computes it (no padding, no bias)."""
    rng = np.random.default_rng(11)
    for c_in, c_out, k in ((3, 1, 3), (3, 4, 3), (2, 3, 5)):
        image, weight = rng.normal(size=(c_in, 9, 11)), rng.normal(size=(c_out, c_in, k, k))
        got, problem = _call(function, image, weight)
        if problem:
            return CheckResult(False, problem)
        expected = F.conv2d(torch.from_numpy(image)[None], torch.from_numpy(weight))[0].numpy()
        case = f"(image {_size(image.shape)}, weight {_size(weight.shape)})"
        if got.shape != expected.shape:
            hint = (
                "sum the C per-channel results into one map per output channel"
                if got.shape == (c_out, c_in) + expected.shape[1:]
                else "one output map per output channel, each (H - k + 1) x (W - k + 1)"
            )
            return CheckResult(
                False, f"your output is {_size(got.shape)} but should be {_size(expected.shape)} {case}: {hint}"
            )
        if np.allclose(got, expected):
            continue
        if np.allclose(got * c_in, expected):
            return CheckResult(False, f"you averaged over the input channels {case}: add them instead")
        flipped = F.conv2d(torch.from_numpy(image)[None], torch.from_numpy(weight).flip(-1, -2))[0].numpy()
        if np.allclose(got, flipped):
            return CheckResult(False, "you flipped the kernels: conv2d multiplies by the kernel as it is stored")
        return CheckResult(False, f"the values differ {case}: {_first_difference(got, expected)}")
    return CheckResult(True, "your multi-channel convolution equals PyTorch's conv2d in every case.")


def _mystery_kernel() -> np.ndarray:
    # An "emboss" kernel: not one the chapter has shown, and not symmetric, so a flip shows.
    return np.array([[-2.0, -1.0, 0.0], [-1.0, 1.0, 1.0], [0.0, 1.0, 2.0]])


def mystery_pairs(count: int = 8, size: int = 48, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Images and the same images filtered by an unknown 3x3 kernel, for the reader to learn it.

    Args:
        count: number of image pairs, 1 to 10 000.
        size: side of each (square) input image, 3 to 1024.
        seed: which random images.

    Returns:
        ``inputs`` of shape ``(count, 1, size, size)`` (standardised noise smoothed a little, so it
        looks like texture) and ``targets`` of shape ``(count, 1, size - 2, size - 2)``.
    """
    count = integer(count, "count", minimum=1, maximum=10_000)
    size = integer(size, "size", minimum=3, maximum=1024, hint=" (pixels a side; the 3x3 kernel needs 3)")
    seed = integer(seed, "seed", minimum=0)
    if count * size * size > 2**26:
        raise ValueError(
            f"count {count} images of {size}x{size} pixels are more than {2**26:,} pixels (gigabytes in float64); "
            "a few images of about 48 pixels are enough to learn a 3x3 kernel"
        )
    rng = np.random.default_rng(seed)
    inputs = rng.normal(size=(count, 1, size + 2, size + 2))
    inputs = F.avg_pool2d(torch.from_numpy(inputs), 3, stride=1).numpy()
    inputs = (inputs - inputs.mean()) / inputs.std()
    targets = F.conv2d(torch.from_numpy(inputs), torch.from_numpy(_mystery_kernel())[None, None]).numpy()
    return inputs, targets


def check_mystery_kernel(kernel: np.ndarray, tolerance: float = 1e-3) -> CheckResult:
    """Check the kernel a reader learned from :func:`mystery_pairs`: within ``tolerance`` of the
    hidden kernel, value by value. A ``(1, 1, 3, 3)`` weight or a ``(3, 3)`` array both work."""
    tolerance = number(tolerance, "tolerance", above=0)
    kernel, problem = _as_numbers(kernel, "your kernel is")
    if problem:
        return CheckResult(False, f"expected a 3x3 array of numbers: {problem}")
    kernel = kernel.reshape(kernel.shape[-2:]) if kernel.ndim == 4 and kernel.shape[:2] == (1, 1) else kernel
    if kernel.shape != (3, 3):
        return CheckResult(False, f"your kernel is {_size(kernel.shape)}; the mystery kernel is 3x3")
    truth = _mystery_kernel()
    error = float(np.abs(kernel - truth).max())
    if error <= tolerance:
        return CheckResult(True, f"that is the hidden kernel (largest difference {error:.1e}).")
    if np.abs(kernel[::-1, ::-1] - truth).max() <= tolerance:
        return CheckResult(False, "your kernel is the hidden one flipped: did you compare with a convolve2d result?")
    if error < 0.1:
        return CheckResult(
            False, f"close (largest difference {error:.2g}) but not within {tolerance:g}: train for more steps"
        )
    return CheckResult(
        False,
        f"far from the hidden kernel (largest difference {error:.2g}): learn it from "
        "mystery_pairs() with learn_kernels and pass fit.weight here",
    )
