"""Chapter 9's exercises: mirror padding, the step between tiles, overlap-tile by hand.

Example:
    A wrong answer, and what the check says:

    >>> check_tiled_stitch(lambda run, image, tile, margin: run(image))
    Not yet: for a 37x50 image, tiles of 16 with margin 4, 18% of the pixels
        differ from one pass: only the border is wrong: mirror the image by
        margin first (np.pad(image, margin, mode='reflect'))
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from unetlib.exercises._common import CheckResult, _call, _show
from unetlib.model import output_size, valid_input_sizes

__all__ = ["check_mirror_pad", "check_tile_step", "check_tiled_stitch"]


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


def _box(reach: int) -> Callable[[np.ndarray], np.ndarray]:
    """A stand-in network: the mean over a (2 reach + 1) square, zeros beyond the input's edge,
    so that its output, like a same-padding U-Net's, is wrong within ``reach`` of its border."""
    from scipy.ndimage import uniform_filter

    def run(tile: np.ndarray) -> np.ndarray:
        return uniform_filter(np.asarray(tile, dtype=float), size=2 * reach + 1, mode="constant")

    return run


def _whole(run: Callable, image: np.ndarray, margin: int) -> np.ndarray:
    """The whole image in one pass, mirrored by ``margin`` at its border: what tiles must give."""
    return run(np.pad(image, margin, mode="reflect"))[margin:-margin, margin:-margin]


def _butted(run: Callable, image: np.ndarray, step: int) -> np.ndarray:
    """Tiles of ``step`` pixels laid side by side, each run without context: the seams."""
    out = np.zeros_like(image, dtype=float)
    for top in range(0, image.shape[0], step):
        for left in range(0, image.shape[1], step):
            out[top : top + step, left : left + step] = run(image[top : top + step, left : left + step])
    return out


def check_tiled_stitch(function: Callable) -> CheckResult:
    """Check a reader's ``function(run, image, tile, margin)``: ``run`` applied to a 2-D ``image``
    in overlapping ``tile x tile`` tiles placed ``tile - 2 margin`` apart, each tile's central
    square kept and stitched, the image mirrored by ``margin`` at its border. For a ``run`` whose
    reach is at most ``margin`` the result must equal one pass over the mirrored image; the check
    uses a box filter of reach 2 and 4, on images whose sizes are not multiples of the step."""
    rng = np.random.default_rng(9)
    for (height, width), tile, margin, reach in (((37, 50), 16, 4, 2), ((64, 29), 24, 4, 4), ((20, 20), 20, 2, 2)):
        image, run = rng.random((height, width)), _box(reach)
        got, problem = _call(function, run, image, tile, margin)
        if problem:
            return CheckResult(False, problem)
        expected = _whole(run, image, margin)
        case = f"a {height}x{width} image, tiles of {tile} with margin {margin}"
        if got.shape != expected.shape:
            return CheckResult(
                False, f"for {case} your result is {got.shape}, the image {expected.shape}: crop the stitched result"
            )
        if np.allclose(got, expected, atol=1e-9):
            continue
        step = tile - 2 * margin
        wrong = ~np.isclose(got, expected, atol=1e-9)
        if np.allclose(got, _butted(run, image, step)) or np.allclose(got, _butted(run, image, tile)):
            hint = "your tiles have no context: cut tiles of tile pixels, step tile - 2 margin apart, and keep only their centres"
        elif not wrong[margin:-margin, margin:-margin].any():
            hint = "only the border is wrong: mirror the image by margin first (np.pad(image, margin, mode='reflect'))"
        else:
            hint = "keep rows and columns margin .. margin + step of each tile's output, at the tile's own position"
        return CheckResult(False, f"for {case}, {wrong.mean():.0%} of the pixels differ from one pass: {hint}")
    return CheckResult(True, "your stitched tiles equal one pass over the mirrored image, to the last bit.")
