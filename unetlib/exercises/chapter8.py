"""Chapter 8's exercises: mirror padding, a valid network's margin, counting tiles.

Example:
    A wrong answer, and what the check says:

    >>> check_tile_count(lambda length, step: length // step)
    Not yet: 1 pixel with step 64: you say 0, it takes 1: the last, partial tile
        is missing: round up
"""

from __future__ import annotations

import itertools
from typing import Callable

import numpy as np

from unetlib.exercises._common import CheckResult, _call, _show
from unetlib.model import output_size, valid_input_sizes

__all__ = ["check_mirror_pad", "check_tile_count", "check_valid_margin"]


def check_mirror_pad(function: Callable[[np.ndarray, int], np.ndarray]) -> CheckResult:
    """Check a reader's ``function(row, pad)``: a 1-D array mirrored ``pad`` pixels at both ends
    without repeating the edge pixel, compared with ``np.pad(row, pad, mode="reflect")``."""
    for length, pad in ((5, 2), (6, 5), (4, 1), (8, 7)):
        row = np.arange(10.0, 10.0 + length)
        got, problem = _call(function, row, pad)
        if problem:
            return CheckResult(False, problem)
        expected = np.pad(row, pad, mode="reflect")
        case = f"(a row of {length}, pad {pad})"
        if got.shape != expected.shape:
            return CheckResult(
                False, f"your result has {got.size} pixels but should have {expected.size} {case}: pad at both ends"
            )
        if np.array_equal(got, expected):
            continue
        if np.array_equal(got, np.pad(row, pad, mode="symmetric")):
            return CheckResult(
                False, f"you repeat the edge pixel {case}: mirror around it instead (reflect, not symmetric)"
            )
        if np.array_equal(got, np.pad(row, pad)):
            return CheckResult(False, f"you padded with zeros {case}: mirror the row instead")
        return CheckResult(False, f"got {got.tolist()}, expected {expected.tolist()} {case}")
    return CheckResult(True, "your mirror padding equals np.pad(..., mode='reflect').")


def check_valid_margin(function: Callable[[int, int], int]) -> CheckResult:
    """Check a reader's ``function(tile_size, depth)``: the context a valid-padding U-Net needs
    on each side of its output, ``(tile_size - output_size) / 2``, for valid tiles up to 700."""
    for depth in (1, 2, 3, 4):
        for tile in valid_input_sizes(depth, 1, 700)[:6]:
            got, problem = _call(function, tile, depth, number=True)
            if problem:
                return CheckResult(False, problem)
            expected = (tile - output_size(tile, depth)) // 2
            if got.shape != () or got != expected:
                hint = (
                    "that is both sides together: halve it"
                    if got == 2 * expected
                    else "the margin is (tile - output) / 2; the output size comes from Chapter 6"
                )
                return CheckResult(
                    False,
                    f"for a {tile}-pixel tile at depth {depth} you give {_show(got)}, the margin is {expected}: {hint}",
                )
    return CheckResult(True, "your margins match the network's for every depth and tile.")


def check_tile_count(function: Callable[[int, int], int]) -> CheckResult:
    """Check a reader's ``function(length, step)``: how many tiles, placed ``step`` pixels apart
    from 0, it takes to cover ``length`` pixels (the last tile may stick out)."""
    for length, step in itertools.product((1, 100, 383, 384, 385, 1000, 4096), (1, 64, 384)):
        got, problem = _call(function, length, step, number=True)
        if problem:
            return CheckResult(False, problem)
        expected = -(-length // step)
        if got.shape != () or got != expected:
            hint = (
                "the last, partial tile is missing: round up"
                if got == length // step
                else "one tile too many when the length is a multiple of the step"
                if got == length // step + 1
                else "tiles start at 0, step, 2 step, ... and must reach the last pixel"
            )
            return CheckResult(
                False,
                f"{length} pixel{'s' * (length != 1)} with step {step}: you say {_show(got)}, it takes {expected}: {hint}",
            )
    return CheckResult(True, "your count covers every image without a tile too many.")
