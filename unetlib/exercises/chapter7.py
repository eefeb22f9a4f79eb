"""Chapter 7's exercises: the up step's forward pass, valid input sizes, the output size, and
the input tile a wanted output needs.

Example:
    A wrong answer, and what the check says:

    >>> check_up_forward(lambda up, x, skip: torch.cat([skip, up.up(x)], dim=1))
    Not yet: your function raised RuntimeError: Sizes of tensors must match
        except in dimension 1. Expected size 16 but got size 12 for tensor
        number 1 in the list.: crop the skip to the upsampled map's size before
        torch.cat
"""

from __future__ import annotations

from typing import Callable

import torch

from unetlib.exercises._common import _RETURNED_NONE, CheckResult, _call, _show, _size
from unetlib.model import Up, output_size, valid_input_sizes

__all__ = ["check_is_valid_size", "check_tile_for_output", "check_unet_output_size", "check_up_forward"]


def check_up_forward(function: Callable[[Up, torch.Tensor, torch.Tensor], torch.Tensor]) -> CheckResult:
    """Check a reader's ``function(up, x, skip)``: upsample ``x`` with ``up.up``, crop ``skip`` to
    its centre, concatenate (skip first) and apply ``up.conv``, as :class:`unetlib.model.Up` does in its forward pass."""
    if not callable(function):
        return CheckResult(False, f"pass your function itself, not {type(function).__name__}")
    torch.manual_seed(0)
    for c_in, below, skip_size in ((8, 6, 16), (16, 5, 14), (4, 9, 18)):
        up = Up(c_in, c_in // 2).eval()
        x, skip = torch.randn(1, c_in, below, below), torch.randn(1, c_in // 2, skip_size, skip_size)
        with torch.no_grad():
            expected = up(x, skip)
            try:
                got = function(up, x, skip)
            except Exception as error:  # the reader's code may raise anything; report it
                hint = (
                    ": crop the skip to the upsampled map's size before torch.cat"
                    if "Sizes of tensors must match" in str(error)
                    else ""
                )
                return CheckResult(False, f"your function raised {type(error).__name__}: {error}{hint}")
        if got is None:
            return CheckResult(False, _RETURNED_NONE)
        if not isinstance(got, torch.Tensor):
            return CheckResult(False, f"return a tensor, got {type(got).__name__}")
        case = f"(x {_size(tuple(x.shape))}, skip {_size(tuple(skip.shape))})"
        if got.shape != expected.shape:
            return CheckResult(
                False,
                f"your output is {_size(tuple(got.shape))} but should be "
                f"{_size(tuple(expected.shape))} {case}: upsample, crop, concatenate, then up.conv",
            )
        if torch.allclose(got, expected, atol=1e-5):
            continue
        offset = (skip_size - 2 * below) // 2
        with torch.no_grad():
            upsampled = up.up(x)
            corner = skip[..., : 2 * below, : 2 * below]
            swapped = up.conv(
                torch.cat([upsampled, skip[..., offset : offset + 2 * below, offset : offset + 2 * below]], 1)
            )
            from_corner = up.conv(torch.cat([corner, upsampled], 1))
        if torch.allclose(got, swapped, atol=1e-5):
            return CheckResult(False, "the channels are in the wrong order: the paper (and Up) put the skip's first")
        if offset and torch.allclose(got, from_corner, atol=1e-5):
            return CheckResult(
                False,
                f"you cropped the top-left corner of the skip: crop its centre, {offset} pixels from each side {case}",
            )
        return CheckResult(False, f"the values differ from Up.forward {case}")
    return CheckResult(True, "your forward pass equals Up.forward for every pair of maps.")


def check_is_valid_size(function: Callable[[int, int], bool]) -> CheckResult:
    """Check a reader's ``function(size, depth)``: True when a valid-padding U-Net of that depth
    accepts inputs of that size, for sizes 1 to 400 and depths 1 to 4."""
    for depth in (1, 2, 3, 4):
        accepted = set(valid_input_sizes(depth, 1, 400))
        for size in range(1, 401):
            got, problem = _call(function, size, depth, number=True)
            if problem:
                return CheckResult(False, f"{problem} (size {size}, depth {depth})")
            if bool(got) != (size in accepted):
                smallest = min(accepted)
                if size in accepted:
                    hint = "subtract 4 (two valid 3x3 convolutions) before each halving, then check for an even size"
                elif size < smallest:
                    hint = f"too small: the smallest size that works at depth {depth} is {smallest}"
                else:
                    hint = "after subtracting 4, some pooling step would meet an odd size"
                return CheckResult(
                    False,
                    f"for size {size} at depth {depth} you say {bool(got)}, but it "
                    f"{'works' if size in accepted else 'does not'}: {hint}",
                )
    return CheckResult(True, "your rule picks exactly the sizes that work, for depths 1 to 4.")


def check_unet_output_size(function: Callable[[int, int], int]) -> CheckResult:
    """Check a reader's ``function(size, depth)``: the output size of a valid-padding U-Net for
    every valid input size up to 600 and depths 1 to 4."""
    for depth in (1, 2, 3, 4):
        for size in valid_input_sizes(depth, 1, 600):
            got, problem = _call(function, size, depth, number=True)
            if problem:
                return CheckResult(False, f"{problem} (size {size}, depth {depth})")
            expected = output_size(size, depth)
            if got.shape != () or got != expected:
                hint = (
                    "the expanding path loses 4 pixels per level too (after each up-convolution)"
                    if got == expected + 4 * depth
                    else "go down (-4, then halve) depth times, then -4 at the bottom, then up (double, -4) depth times"
                )
                return CheckResult(
                    False,
                    f"for input {size} at depth {depth} you give {_show(got)}, the network gives {expected}: {hint}",
                )
    return CheckResult(True, "your arithmetic gives the network's output size for every valid input.")


def check_tile_for_output(function: Callable[[int, int], int]) -> CheckResult:
    """Check a reader's ``function(output, depth)``: the smallest input a valid-padding U-Net of
    ``depth`` accepts whose output is at least ``output`` pixels (how overlap-tile picks its
    tile), for outputs 1 to 400 and depths 1 to 4."""
    for depth in (1, 2, 3, 4):
        sizes = valid_input_sizes(depth, 1, 2000)
        for wanted in range(1, 401):
            got, problem = _call(function, wanted, depth, number=True)
            if problem:
                return CheckResult(False, f"{problem} (output {wanted}, depth {depth})")
            expected = next(s for s in sizes if output_size(s, depth) >= wanted)
            if got.shape == () and got == expected:
                continue
            where = f"for an output of {wanted} at depth {depth} you give {_show(got)}"
            if got.shape != () or int(got) not in sizes:
                hint = "which the network does not accept: try only sizes your my_is_valid accepts"
            elif output_size(int(got), depth) < wanted:
                hint = f"whose output is only {output_size(int(got), depth)} pixels: too small"
            else:
                hint = f"but {expected} also gives at least {wanted} pixels, and it is smaller"
            return CheckResult(False, f"{where}, {hint}")
    return CheckResult(True, "you find the smallest tile for every output: the paper's 572 for its 388.")
