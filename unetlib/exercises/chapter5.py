"""Chapter 5's exercises: a Linear as a 1x1 convolution, a whole-map Linear as a convolution,
and the size of a dense prediction map.

Example:
    A wrong answer, and what the check says:

    >>> check_dense_output_size(lambda n: n // 4)
    Not yet: for a 14-pixel canvas you give 3, the network gives 1: each 3x3
        conv removes 2 pixels, each pool halves (rounding down)
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from unetlib.exercises._common import _RETURNED_NONE, CheckResult, _call, _show

__all__ = ["check_dense_output_size", "check_fc_to_conv", "check_linear_to_conv1x1"]


def _run(function: Callable, *args) -> tuple[object, str | None]:
    try:
        result = function(*args)
    except Exception as error:  # the reader's code may raise anything; report it
        return None, f"your function raised {type(error).__name__}: {error}"
    if result is None:
        return None, _RETURNED_NONE
    if not isinstance(result, nn.Conv2d):
        return None, f"return an nn.Conv2d, got {type(result).__name__}"
    return result, None


def check_linear_to_conv1x1(function: Callable[[nn.Linear], nn.Conv2d]) -> CheckResult:
    """Check a reader's ``function(linear)``: an ``nn.Conv2d`` with a 1x1 kernel that applies
    ``linear`` to the feature vector of every pixel of a ``(N, in_features, H, W)`` map."""
    torch.manual_seed(0)
    for c_in, c_out in ((3, 2), (5, 4), (1, 3)):
        linear = nn.Linear(c_in, c_out).double()
        conv, problem = _run(function, linear)
        if problem:
            return CheckResult(False, problem)
        if conv.kernel_size != (1, 1):
            return CheckResult(False, f"your convolution's kernel is {conv.kernel_size}; a per-pixel layer is 1x1")
        if (conv.in_channels, conv.out_channels) != (c_in, c_out):
            return CheckResult(
                False,
                f"nn.Linear({c_in}, {c_out}) needs nn.Conv2d({c_in}, {c_out}, 1), "
                f"got in {conv.in_channels}, out {conv.out_channels}",
            )
        x = torch.randn(2, c_in, 4, 5, dtype=torch.float64)
        with torch.no_grad():
            expected = linear(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
            got = conv.double()(x)
        if torch.allclose(got, expected):
            continue
        if conv.bias is None or not torch.allclose(conv.bias.double(), linear.bias):
            return CheckResult(False, "copy the bias too: one value per output channel")
        return CheckResult(False, "the weights differ: reshape linear.weight (out, in) to (out, in, 1, 1)")
    return CheckResult(True, "your 1x1 convolution equals the Linear layer applied to every pixel.")


def check_fc_to_conv(function: Callable[[nn.Linear, int, int, int], nn.Conv2d]) -> CheckResult:
    """Check a reader's ``function(linear, channels, height, width)``: the ``nn.Conv2d`` whose
    kernel covers a whole ``channels x height x width`` map and computes ``linear`` on the
    flattened map (``linear.in_features == channels * height * width``)."""
    torch.manual_seed(1)
    for c, h, w, out in ((3, 2, 2, 2), (2, 3, 4, 5)):
        linear = nn.Linear(c * h * w, out).double()
        conv, problem = _run(function, linear, c, h, w)
        if problem:
            return CheckResult(False, problem)
        if conv.kernel_size != (h, w):
            return CheckResult(
                False, f"for a {c}x{h}x{w} map the kernel must cover it: {h}x{w}, got {conv.kernel_size}"
            )
        x = torch.randn(3, c, h, w, dtype=torch.float64)
        with torch.no_grad():
            expected = linear(x.flatten(1))
            got = conv.double()(x).flatten(1)
        if torch.allclose(got, expected):
            continue
        with torch.no_grad():
            swapped = linear(x.permute(0, 1, 3, 2).flatten(1))
        if torch.allclose(got, swapped):
            return CheckResult(
                False, "height and width are swapped: flatten() orders (C, H, W), reshape to (out, C, H, W)"
            )
        return CheckResult(False, "the outputs differ: reshape linear.weight to (out, C, H, W) and copy the bias")
    return CheckResult(True, "your convolution equals the fully connected layer on every map.")


def check_dense_output_size(function: Callable[[int], int]) -> CheckResult:
    """Check a reader's ``function(n)``: the side of the dense map the chapter's X/O network
    (3x3 conv, 2x2 pool, 3x3 conv, 2x2 pool, 2x2 conv head) produces on an ``n x n`` canvas."""
    network = nn.Sequential(
        nn.Conv2d(1, 1, 3), nn.MaxPool2d(2), nn.Conv2d(1, 1, 3), nn.MaxPool2d(2), nn.Conv2d(1, 1, 2)
    )
    for n in range(14, 120):
        got, problem = _call(function, n, number=True)
        if problem:
            return CheckResult(False, problem)
        with torch.no_grad():
            expected = network(torch.zeros(1, 1, n, n)).shape[-1]
        if got.shape != () or got != expected:
            hint = (
                "the 2x2 head removes one more pixel"
                if got == expected + 1
                else "each 3x3 conv removes 2 pixels, each pool halves (rounding down)"
            )
            return CheckResult(
                False, f"for a {n}-pixel canvas you give {_show(got)}, the network gives {expected}: {hint}"
            )
    return CheckResult(True, "your formula gives the dense map's size for every canvas.")
