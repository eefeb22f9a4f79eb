"""Chapter 9's exercises: mirror padding, the step between tiles, counting tiles.

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

__all__ = ["check_mirror_pad", "check_tile_count", "check_tile_step"]


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


def check_tile_step(function: Callable[[int, int], int]) -> CheckResult:
    """Check a reader's ``function(output, depth)``: the largest step between tiles, at most the
    tiles' ``output`` size, that keeps every tile on the pooling grid of a network with ``depth``
    2x2 poolings (a multiple of ``2 ** depth``), for the outputs of valid tiles up to 700 pixels
    and a few sizes by hand."""
    cases = [(388, 4), (16, 4), (17, 4), (31, 4), (2, 1), (9, 3)]
    for depth in (1, 2, 3, 4, 5):
        cases += [(output_size(tile, depth), depth) for tile in valid_input_sizes(depth, 1, 700)[:6]]
    for out, depth in cases:
        multiple = 2**depth
        if out < multiple:
            continue
        got, problem = _call(function, out, depth, number=True)
        if problem:
            return CheckResult(False, problem)
        expected = out - out % multiple
        if got.shape == () and got == expected:
            continue
        if got > out:
            hint = "a step larger than the output leaves pixels that no tile predicts"
        elif got % multiple:
            hint = f"{_show(got)} is not a multiple of 2 ** {depth} = {multiple}: that tile would pool on another grid than the whole image"
        else:
            hint = f"a larger multiple of {multiple} still fits in {out}"
        return CheckResult(
            False, f"for {out}-pixel outputs at depth {depth} you give {_show(got)}, the step is {expected}: {hint}"
        )
    return CheckResult(True, "your steps keep every tile on the pooling grid, as far apart as the outputs allow.")


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
