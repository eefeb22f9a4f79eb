"""Every check accepts a correct answer and names the typical mistakes."""

from __future__ import annotations

import functools

import re

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

import torch
import torch.nn.functional as F

from unetlib.exercises import (
    check_ablation_guess,
    check_backward_by_hand,
    check_momentum_step,
    check_class_weights,
    check_decode_palette,
    check_iou_from_confusion,
    check_object_matching,
    check_weighted_cross_entropy,
    check_border_weight,
    check_cells_from_membranes,
    check_dice,
    check_dihedral_average,
    check_train_step,
    check_conv2d,
    check_conv2d_same,
    check_conv_transpose,
    check_cross_entropy,
    check_dataset,
    check_dense_output_size,
    check_dilate_kernel,
    check_fc_to_conv,
    check_is_valid_size,
    check_linear_to_conv1x1,
    check_mirror_pad,
    check_multichannel_conv,
    check_mystery_kernel,
    check_output_padding,
    check_output_size,
    check_parameter_count,
    check_rand_error,
    check_same_padding,
    check_sobel_horizontal,
    check_tiled_stitch,
    check_transpose_output_size,
    check_tile_for_output,
    check_unet_output_size,
    check_up_forward,
    check_tile_step,
    mystery_pairs,
    output_size_cases,
)
from unetlib.learn import learn_kernels


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
        (lambda image, kernel: None, "returned None: does it end with a return line"),
        (lambda image, kernel: 1 / 0, "raised ZeroDivisionError"),
        (lambda image, kernel: image.copy(), "your output is 5x5 but should be 3x3.*did you pad"),
        (lambda image, kernel: correct_conv2d(image, kernel[::-1, ::-1]), "you flipped the kernel"),
        (lambda image, kernel: correct_conv2d(image, kernel).T, "rows and columns are swapped"),
        (
            lambda image, kernel: correct_conv2d(
                np.pad(image, ((kernel.shape[0] - 1,) * 2, (kernel.shape[1] - 1,) * 2)), kernel
            ),
            "the 'full' size",
        ),
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


# ---- Chapter 2 -------------------------------------------------------------------------------


def pytorch_output_size(n, k, s, p, d):
    """Independent reference: the width of the tensor PyTorch returns."""
    return F.conv2d(torch.zeros(1, 1, n, n), torch.zeros(1, 1, k, k), stride=s, padding=p, dilation=d).shape[-1]


def test_output_size_cases_are_exactly_those_pytorch_runs():
    cases = output_size_cases()
    assert len(cases) == len(set(cases)) > 1000
    for case in cases[::7]:
        pytorch_output_size(*case)  # raises if PyTorch refuses


def test_check_output_size():
    assert check_output_size(pytorch_output_size).passed
    hints = {
        lambda n, k, s, p, d: (n + 2 * p - k) // s + 1: "dilation is missing",
        lambda n, k, s, p, d: (n + 2 * p - d * (k - 1) - 1) / s + 1: "round down with //",
        lambda n, k, s, p, d: (n + p - d * (k - 1) - 1) // s + 1: "both sides",
        lambda n, k, s, p, d: (n + 2 * p - d * (k - 1) - 1) // s: r"\+ 1 at the end",
        lambda n, k, s, p, d: 3: r"cases differ; the first: input 1, kernel 1",
        lambda n, k, s, p, d: [1, 2]: "return one number",
    }
    for answer, hint in hints.items():
        result = check_output_size(answer)
        assert not result.passed and re.search(hint, result.message), result.message


def test_check_same_padding():
    def by_trial(k, d):  # independent: the padding that keeps 16 pixels 16 in PyTorch
        for p in range(40):
            try:
                if pytorch_output_size(16, k, 1, p, d) == 16:
                    return p
            except RuntimeError:  # the kernel does not fit yet
                continue

    assert check_same_padding(by_trial).passed
    assert "pad half of what it overhangs" in check_same_padding(lambda k, d: k // 2).message
    assert "whole number" in check_same_padding(lambda k, d: (k - 1) / 2 * d + 0.5).message
    assert "as many pixels as the input" in check_same_padding(lambda k, d: d * (k - 1)).message


def test_check_dilate_kernel():
    def with_kron(kernel, d):  # independent: Kronecker product with a one-hot block, trimmed
        block = np.zeros((d, d))
        block[0, 0] = 1
        return np.kron(kernel, block)[: d * (kernel.shape[0] - 1) + 1, : d * (kernel.shape[1] - 1) + 1]

    assert check_dilate_kernel(with_kron).passed

    def d_zeros_between(kernel, d):
        out = np.zeros(((d + 1) * (kernel.shape[0] - 1) + 1, (d + 1) * (kernel.shape[1] - 1) + 1))
        out[:: d + 1, :: d + 1] = kernel
        return out

    def untrimmed(kernel, d):
        block = np.zeros((d, d))
        block[0, 0] = 1
        return np.kron(kernel, block)

    assert "d - 1 zeros" in check_dilate_kernel(d_zeros_between).message
    assert "no zeros after the last tap" in check_dilate_kernel(untrimmed).message
    misplaced = check_dilate_kernel(lambda kernel, d: np.rot90(with_kron(kernel, d), 2))
    assert "every d-th row and column" in misplaced.message


# ---- Chapter 3 -------------------------------------------------------------------------------


def test_check_parameter_count():
    def by_pytorch(c_in, c_out, k, bias):
        return sum(p.numel() for p in torch.nn.Conv2d(c_in, c_out, k, bias=bias).parameters())

    assert check_parameter_count(by_pytorch).passed
    cases = {
        lambda c_in, c_out, k, bias: c_out * c_in * k * k: "add the bias",
        lambda c_in, c_out, k, bias: c_out * c_in * k * k + c_out: "no bias to count",
        lambda c_in, c_out, k, bias: c_out * k * k + c_out * bias: "per input channel",
        lambda c_in, c_out, k, bias: c_out * c_in * (k * k + bias): "not per kernel",
        lambda c_in, c_out, k, bias: 7: "weight has shape",
    }
    for answer, hint in cases.items():
        result = check_parameter_count(answer)
        assert not result.passed and hint in result.message, result.message


def test_check_multichannel_conv():
    def by_einsum(image, weight):  # independent of unetlib and PyTorch
        k = weight.shape[-1]
        windows = sliding_window_view(image, (k, k), axis=(1, 2))  # (C, H', W', k, k)
        return np.einsum("chwuv,ocuv->ohw", windows, weight)

    assert check_multichannel_conv(by_einsum).passed
    assert (
        "sum the C per-channel results"
        in check_multichannel_conv(
            lambda image, weight: np.stack(
                [
                    [correct_conv2d(image[c], weight[o, c]) for c in range(image.shape[0])]
                    for o in range(weight.shape[0])
                ]
            )
        ).message
    )
    assert (
        "averaged" in check_multichannel_conv(lambda image, weight: by_einsum(image, weight) / image.shape[0]).message
    )
    assert (
        "flipped the kernels"
        in check_multichannel_conv(lambda image, weight: by_einsum(image, weight[..., ::-1, ::-1])).message
    )
    assert "values differ" in check_multichannel_conv(lambda image, weight: by_einsum(image, weight) + 1).message


def test_check_mystery_kernel_accepts_what_learn_kernels_finds():
    inputs, targets = mystery_pairs()
    assert inputs.shape == (8, 1, 48, 48) and targets.shape == (8, 1, 46, 46)
    fit = learn_kernels(inputs, targets)
    assert check_mystery_kernel(fit.weight).passed
    assert check_mystery_kernel(fit.weight[0, 0]).passed
    assert "flipped" in check_mystery_kernel(fit.weight[0, 0, ::-1, ::-1]).message
    assert "train for more steps" in check_mystery_kernel(fit.weight[0, 0] + 0.01).message
    assert "far from the hidden kernel" in check_mystery_kernel(np.zeros((3, 3))).message
    assert "is 2x2" in check_mystery_kernel(np.zeros((2, 2))).message
    # The targets really are a 3x3 filter of the inputs: a least-squares solve finds one exactly.
    columns = sliding_window_view(inputs[:, 0], (3, 3), axis=(1, 2)).reshape(-1, 9)
    solution, residual, *_ = np.linalg.lstsq(columns, targets.reshape(-1), rcond=None)
    assert check_mystery_kernel(solution.reshape(3, 3)).passed


# ---- Chapter 7 -------------------------------------------------------------------------------


def test_check_up_forward():
    def by_hand(up, x, skip):  # crop with F.pad's negative padding: independent of CropAndConcat
        x = up.up(x)
        trim = (skip.shape[-1] - x.shape[-1]) // 2
        return up.conv(torch.cat([F.pad(skip, (-trim,) * 4), x], dim=1))

    assert check_up_forward(by_hand).passed
    assert "does it end with a return line" in check_up_forward(lambda up, x, skip: None).message
    assert "crop the skip" in check_up_forward(lambda up, x, skip: up.conv(torch.cat([skip, up.up(x)], 1))).message

    def corner(up, x, skip):
        x = up.up(x)
        return up.conv(torch.cat([skip[..., : x.shape[-2], : x.shape[-1]], x], 1))

    def upsampled_first(up, x, skip):
        x = up.up(x)
        trim = (skip.shape[-1] - x.shape[-1]) // 2
        return up.conv(torch.cat([x, F.pad(skip, (-trim,) * 4)], dim=1))

    assert "top-left corner" in check_up_forward(corner).message
    assert "wrong order" in check_up_forward(upsampled_first).message
    assert "should be" in check_up_forward(lambda up, x, skip: up.up(x)).message


def _sizes_by_running(depth: int, maximum: int, device: str = "meta") -> set[int]:
    """Independent reference: the sizes for which a tiny U-Net's layers run with exact crops.

    On the ``meta`` device PyTorch computes only the shapes (and raises the same errors), so
    1,600 "forward passes" take a second.
    """
    from unetlib.model import UNet

    model = UNet(1, 1, depth=depth, base_channels=1).eval().to(device)
    works = set()
    with torch.no_grad():
        for size in range(1, maximum + 1):
            try:
                skips, x = [], model.inc(torch.zeros(1, 1, size, size, device=device))
                for down in model.downs:
                    skips.append(x)
                    x = down(x)
                for up in model.ups:
                    skip, x = skips.pop(), up.up(x)
                    if (skip.shape[-1] - x.shape[-1]) % 2 or skip.shape[-1] < x.shape[-1]:
                        raise ValueError("misaligned")
                    x = up.conv(up.concat(x, skip))
                works.add(size)
            except (RuntimeError, ValueError):
                pass
    return works


def test_the_meta_device_finds_the_sizes_real_tensors_find():
    assert _sizes_by_running(2, 120, device="meta") == _sizes_by_running(2, 120, device="cpu")


def test_check_is_valid_size():
    reference = {depth: _sizes_by_running(depth, 400) for depth in (1, 2, 3, 4)}
    assert check_is_valid_size(lambda size, depth: size in reference[depth]).passed
    assert "does it end with a return line" in check_is_valid_size(lambda size, depth: None).message
    assert "too small" in check_is_valid_size(lambda size, depth: size % 2**depth == 0).message
    assert "it works" in check_is_valid_size(lambda size, depth: size in reference[depth] and size > 200).message


def test_check_unet_output_size():
    from unetlib.model import UNet

    models = {depth: UNet(1, 1, depth=depth, base_channels=1) for depth in (1, 2, 3, 4)}
    narrow = {1: 18, 2: 44, 3: 92, 4: 188}  # the smallest width each depth takes (Chapter 7's table)

    def by_running(size, depth):  # run a tiny U-Net and read the output's height
        with torch.no_grad():
            return models[depth](torch.zeros(1, 1, size, narrow[depth])).shape[-2]

    cache = {}
    assert check_unet_output_size(lambda s, d: cache.setdefault((s, d), by_running(s, d))).passed
    assert (
        "loses 4 pixels per level too"
        in check_unet_output_size(lambda s, d: cache.setdefault((s, d), by_running(s, d)) + 4 * d).message
    )
    assert "does it end with a return line" in check_unet_output_size(lambda s, d: None).message


def test_check_tile_for_output():
    """The reference runs tiny U-Nets: the smallest input, among those they accept, whose output
    is at least the size wanted. The paper's own pair: 572 in, 388 out."""
    from unetlib.model import UNet

    models = {depth: UNet(1, 1, depth=depth, base_channels=1) for depth in (1, 2, 3, 4)}
    first = {1: 18, 2: 44, 3: 92, 4: 188}  # the smallest input each depth takes (Chapter 7's table)

    @functools.cache
    def output_by_running(size, depth):
        with torch.no_grad():
            return models[depth](torch.zeros(1, 1, size, first[depth])).shape[-2]

    def tile_for(output, depth):  # valid sizes are first[depth] + k * 2**depth
        size = first[depth]
        while output_by_running(size, depth) < output:
            size += 2**depth
        return size

    cache = {}
    answer = lambda o, d: cache.setdefault((o, d), tile_for(o, d))  # noqa: E731
    assert answer(388, 4) == 572
    assert check_tile_for_output(answer).passed
    assert "not accept" in check_tile_for_output(lambda o, d: answer(o, d) + 1).message
    assert (
        "too small"
        in check_tile_for_output(lambda o, d: answer(o, d) - 2**d if answer(o, d) > first[d] else answer(o, d)).message
    )
    assert "it is smaller" in check_tile_for_output(lambda o, d: answer(o, d) + 2**d).message
    assert "does it end with a return line" in check_tile_for_output(lambda o, d: None).message


# ---- Chapter 9 -------------------------------------------------------------------------------


def test_check_mirror_pad():
    def by_indexing(row, pad):  # independent of np.pad: index arithmetic
        index = np.abs(np.arange(-pad, len(row) + pad))
        index = np.where(index > len(row) - 1, 2 * (len(row) - 1) - index, index)
        return row[index]

    assert check_mirror_pad(by_indexing).passed
    assert "repeat the edge pixel" in check_mirror_pad(lambda row, pad: np.pad(row, pad, mode="symmetric")).message
    assert "zeros" in check_mirror_pad(lambda row, pad: np.pad(row, pad)).message
    assert "should have" in check_mirror_pad(lambda row, pad: row).message
    assert "does it end with a return line" in check_mirror_pad(lambda row, pad: None).message


def test_check_tile_step():
    def by_search(out, depth):  # the largest multiple of 2**depth not above out, by search
        return max(step for step in range(1, out + 1) if step % 2**depth == 0)

    assert check_tile_step(by_search).passed
    assert check_tile_step(lambda out, depth: by_search(out, depth) // 2**depth * 2**depth).passed
    wrong_grid = check_tile_step(lambda out, depth: out)
    assert not wrong_grid.passed and "not a multiple of 2 ** 4 = 16" in wrong_grid.message
    too_far = check_tile_step(lambda out, depth: out + 2**depth)
    assert not too_far.passed and "no tile predicts" in too_far.message
    too_close = check_tile_step(lambda out, depth: 2**depth)
    assert not too_close.passed and "a larger multiple" in too_close.message
    assert "does it end with a return line" in check_tile_step(lambda out, depth: None).message


def _stitched(run, image, tile, margin, mode="reflect", keep_centre=True):
    """Overlap-tile written out, with one mistake switched on at a time."""
    step = tile - 2 * margin
    height, width = image.shape
    rows, cols = -(-height // step), -(-width // step)
    padded = np.pad(image, ((margin, margin + rows * step - height), (margin, margin + cols * step - width)), mode=mode)
    out = np.zeros((rows * step, cols * step))
    for i in range(rows):
        for j in range(cols):
            top, left = i * step, j * step
            piece = run(padded[top : top + tile, left : left + tile])
            kept = piece[margin : margin + step, margin : margin + step] if keep_centre else piece[:step, :step]
            out[top : top + step, left : left + step] = kept
    return out[:height, :width]


def test_check_tiled_stitch_and_each_mistake():
    assert check_tiled_stitch(_stitched).passed
    border = check_tiled_stitch(lambda *a: _stitched(*a, mode="constant"))
    assert not border.passed and "mirror the image" in border.message
    corner = check_tiled_stitch(lambda *a: _stitched(*a, keep_centre=False))
    assert not corner.passed and "keep rows and columns margin" in corner.message
    assert "crop the stitched result" in check_tiled_stitch(lambda *a: _stitched(*a)[:, :-1]).message
    # Independent of the check's own reference: a box filter with reach 2 on a constant image is
    # the constant wherever it sees only the image, so a good stitch returns the constant there.
    image = np.full((30, 41), 3.0)
    from scipy.ndimage import uniform_filter

    def box(x):
        return uniform_filter(x, 5, mode="constant")

    np.testing.assert_allclose(_stitched(box, image, 16, 4), 3.0)


def test_check_transpose_output_size():
    def by_pytorch(n, k, s, p):
        return F.conv_transpose2d(torch.zeros(1, 1, n, n), torch.zeros(1, 1, k, k), stride=s, padding=p).shape[-1]

    assert check_transpose_output_size(by_pytorch).passed
    assert "n - 1 gaps" in check_transpose_output_size(lambda n, k, s, p: n * s - 2 * p + k).message
    assert "removed" in check_transpose_output_size(lambda n, k, s, p: (n - 1) * s + 2 * p + k).message
    assert "whole kernel" in check_transpose_output_size(lambda n, k, s, p: (n - 1) * s - 2 * p + k - 1).message


def test_check_conv_transpose():
    def by_matrix(x, kernel, stride):  # independent: the transpose of the convolution's matrix, by hand
        out_shape = ((x.shape[0] - 1) * stride + kernel.shape[0], (x.shape[1] - 1) * stride + kernel.shape[1])
        out = np.zeros(out_shape)
        for (i, j), value in np.ndenumerate(x):
            for (u, v), weight in np.ndenumerate(kernel):
                out[i * stride + u, j * stride + v] += value * weight
        return out

    assert check_conv_transpose(by_matrix).passed
    assert "flipped" in check_conv_transpose(lambda x, k, s: by_matrix(x, k[::-1, ::-1], s)).message
    assert "should be" in check_conv_transpose(lambda x, k, s: x).message
    assert "overlapping stamps add up" in check_conv_transpose(lambda x, k, s: by_matrix(x, k, s) + 1).message


def test_check_output_padding():
    def by_search(n, k, s, p):  # independent: try each allowed output_padding in PyTorch
        out = F.conv2d(torch.zeros(1, 1, n, n), torch.zeros(1, 1, k, k), stride=s, padding=p).shape[-1]
        for extra in range(s):
            if (
                F.conv_transpose2d(
                    torch.zeros(1, 1, out, out), torch.zeros(1, 1, k, k), stride=s, padding=p, output_padding=extra
                ).shape[-1]
                == n
            ):
                return extra

    assert check_output_padding(by_search).passed
    assert "floor threw away" in check_output_padding(lambda n, k, s, p: 0).message
    assert "smaller than the stride" in check_output_padding(lambda n, k, s, p: s).message


# ---- Chapter 5 -------------------------------------------------------------------------------


def test_check_linear_to_conv1x1():
    def by_hand(linear):
        conv = torch.nn.Conv2d(linear.in_features, linear.out_features, 1)
        with torch.no_grad():
            conv.weight.copy_(linear.weight[:, :, None, None])
            conv.bias.copy_(linear.bias)
        return conv

    def no_bias(linear):
        conv = by_hand(linear)
        with torch.no_grad():
            conv.bias.zero_()
        return conv

    assert check_linear_to_conv1x1(by_hand).passed
    assert "copy the bias" in check_linear_to_conv1x1(no_bias).message
    assert (
        "kernel"
        in check_linear_to_conv1x1(lambda linear: torch.nn.Conv2d(linear.in_features, linear.out_features, 3)).message
    )
    assert "return an nn.Conv2d" in check_linear_to_conv1x1(lambda linear: linear).message
    assert "does it end with a return line" in check_linear_to_conv1x1(lambda linear: None).message


def test_check_fc_to_conv():
    def by_hand(linear, c, h, w):
        conv = torch.nn.Conv2d(c, linear.out_features, (h, w))
        with torch.no_grad():
            conv.weight.copy_(linear.weight.reshape(-1, c, h, w))
            conv.bias.copy_(linear.bias)
        return conv

    def swapped(linear, c, h, w):
        conv = torch.nn.Conv2d(c, linear.out_features, (h, w))
        with torch.no_grad():
            conv.weight.copy_(linear.weight.reshape(-1, c, w, h).transpose(2, 3))
            conv.bias.copy_(linear.bias)
        return conv

    assert check_fc_to_conv(by_hand).passed
    assert "swapped" in check_fc_to_conv(swapped).message
    assert (
        "must cover it" in check_fc_to_conv(lambda linear, c, h, w: torch.nn.Conv2d(c, linear.out_features, 1)).message
    )


def test_check_dense_output_size():
    def by_running(n):
        net = torch.nn.Sequential(
            torch.nn.Conv2d(1, 1, 3),
            torch.nn.MaxPool2d(2),
            torch.nn.Conv2d(1, 1, 3),
            torch.nn.MaxPool2d(2),
            torch.nn.Conv2d(1, 1, 2),
        )
        return net(torch.zeros(1, 1, n, n)).shape[-1]

    assert check_dense_output_size(by_running).passed
    assert "one more pixel" in check_dense_output_size(lambda n: ((n - 2) // 2 - 2) // 2).message


def test_check_cross_entropy_against_pytorch_and_its_hints():
    def by_torch(logits, labels):  # the reference itself: must pass
        return torch.nn.functional.cross_entropy(torch.from_numpy(logits), torch.from_numpy(labels)).item()

    def naive(logits, labels):  # exact on small scores, overflows on large ones
        p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        return -np.log(p[np.arange(len(labels)), labels]).mean()

    assert check_cross_entropy(by_torch).passed
    with np.errstate(all="ignore"):
        assert "overflows" in check_cross_entropy(naive).message
    assert "sum over the pictures" in check_cross_entropy(lambda s, y: by_torch(s, y) * len(y)).message
    assert (
        "logarithm"
        in check_cross_entropy(
            lambda s, y: -(np.exp(s) / np.exp(s).sum(1, keepdims=True))[np.arange(len(y)), y].mean()
        ).message
    )


# ---- Chapter 8 -------------------------------------------------------------------------------


def test_check_dice():
    from unetlib.metrics import dice

    assert check_dice(lambda p, t: dice(p, t)).passed
    assert "IoU" in check_dice(lambda p, t: (p & t).sum() / max((p | t).sum(), 1)).message
    assert "two empty masks" in check_dice(lambda p, t: 2 * (p & t).sum() / max(p.sum() + t.sum(), 1)).message


def test_check_border_weight():
    assert check_border_weight(lambda d1, d2, w0, s: w0 * np.exp(-((d1 + d2) ** 2) / (2 * s * s))).passed
    assert (
        "square the sum"
        in check_border_weight(lambda d1, d2, w0, s: w0 * np.exp(-(d1**2 + d2**2) / (2 * s * s))).message
    )
    assert "2 sigma^2" in check_border_weight(lambda d1, d2, w0, s: w0 * np.exp(-((d1 + d2) ** 2) / (s * s))).message


def test_check_dataset_takes_a_good_dataset_and_names_what_is_wrong():
    class Pairs(torch.utils.data.Dataset):
        def __init__(self, images, masks):
            self.images, self.masks = images, masks

        def __len__(self):
            return len(self.images)

        def __getitem__(self, i):
            image = torch.from_numpy(self.images[i]).float()
            return image[None] if image.ndim == 2 else image, torch.from_numpy(self.masks[i]).long()

    class GreyOnly(Pairs):  # a channel axis added to every image, colour too
        def __getitem__(self, i):
            return torch.from_numpy(self.images[i][None]).float(), torch.from_numpy(self.masks[i]).long()

    class OneSize(Pairs):  # every image reshaped to the first size it was written for
        def __getitem__(self, i):
            image, mask = super().__getitem__(i)
            return image.reshape(1, 12, 10), mask.reshape(12, 10)

    class NoChannelAxis(Pairs):
        def __getitem__(self, i):
            return torch.from_numpy(self.images[i]).float(), torch.from_numpy(self.masks[i]).long()

    class FloatMask(Pairs):
        def __getitem__(self, i):
            return torch.from_numpy(self.images[i][None]).float(), torch.from_numpy(self.masks[i]).float()

    class Shuffled(Pairs):
        def __getitem__(self, i):
            return super().__getitem__((i + 1) % len(self))

    assert check_dataset(Pairs).passed
    colour = check_dataset(GreyOnly)
    assert not colour.passed and "colour" in colour.message and "ndim == 2" in colour.message
    assert "raised RuntimeError" in check_dataset(OneSize).message
    assert "channel axis" in check_dataset(NoChannelAxis).message
    assert "int64 class indices" in check_dataset(FloatMask).message
    assert "keep them paired" in check_dataset(Shuffled).message
    assert "pass your class itself" in check_dataset(Pairs([], [])).message


def test_check_train_step():
    def written_out(model, optimiser, loss_function, images, targets):
        optimiser.zero_grad()
        loss = loss_function(model(images), targets)
        loss.backward()
        optimiser.step()
        return loss.item()

    def without_zero_grad(model, optimiser, loss_function, images, targets):
        loss = loss_function(model(images), targets)
        loss.backward()
        optimiser.step()
        return loss.item()

    def without_step(model, optimiser, loss_function, images, targets):
        optimiser.zero_grad()
        loss = loss_function(model(images), targets)
        loss.backward()
        return loss.item()

    def returns_nothing_useful(model, optimiser, loss_function, images, targets):
        written_out(model, optimiser, loss_function, images, targets)
        return 0.0

    assert check_train_step(written_out).passed
    added_up = check_train_step(without_zero_grad)
    assert not added_up.passed and "after step 2" in added_up.message and "zero_grad" in added_up.message
    still = check_train_step(without_step)
    assert not still.passed and "did not move" in still.message
    assert "return the loss" in check_train_step(returns_nothing_useful).message
    assert "does it end with a return line" in check_train_step(lambda *args: None).message


def _matches_with_skimage(predicted, truth):
    """Matches found independently: scikit-image's contingency table of the two labellings."""
    from skimage.metrics import contingency_table

    table = contingency_table(truth, predicted).toarray()[1:, 1:]  # objects only
    sizes_true = np.bincount(truth.ravel())[1:][:, None]
    sizes_predicted = np.bincount(predicted.ravel())[1:][None, :]
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = table / (sizes_true + sizes_predicted - table)
    return int((np.nan_to_num(iou) > 0.5).sum())


def test_check_object_matching_names_each_mistake():
    from unetlib.metrics import object_f1

    assert check_object_matching(lambda p, t: object_f1(p, t)["matched"]).passed
    assert check_object_matching(_matches_with_skimage).passed
    assert "background" in check_object_matching(lambda p, t: object_f1(p + 1, t + 1)["matched"]).message

    def at_least_half(p, t):
        return sum(
            ((p == a) & (t == b)).sum() / ((p == a) | (t == b)).sum() >= 0.5
            for a in np.unique(p[p > 0])
            for b in np.unique(t[t > 0])
        )

    assert "exactly 0.5" in check_object_matching(at_least_half).message
    assert (
        "overlapping is not enough"
        in check_object_matching(lambda p, t: sum(((p == a) & (t > 0)).any() for a in np.unique(p[p > 0]))).message
    )


# ---- Chapter 10 -------------------------------------------------------------------------------


def _rand_error_by_pairs(prediction, truth, scored_only=True):
    """The ISBI Rand error written out from pair counts (independent of scikit-image)."""
    keep = truth > 0 if scored_only else np.ones(truth.shape, bool)
    a, b = truth[keep], prediction[keep]
    same_a, same_b = a[:, None] == a[None, :], b[:, None] == b[None, :]
    off = ~np.eye(a.size, dtype=bool)
    together = (same_a & same_b & off).sum()
    precision, recall = together / (same_b & off).sum(), together / (same_a & off).sum()
    return 1 - 2 * precision * recall / (precision + recall)


def test_check_rand_error_and_its_hints():
    assert check_rand_error(_rand_error_by_pairs).passed
    score = check_rand_error(lambda p, t: 1 - _rand_error_by_pairs(p, t))
    assert not score.passed and "F-score" in score.message

    def plain_rand(p, t):
        a, b = t.ravel(), p.ravel()
        agree = (a[:, None] == a[None, :]) == (b[:, None] == b[None, :])
        return 1 - agree[~np.eye(a.size, dtype=bool)].mean()

    assert "plain Rand index" in check_rand_error(plain_rand).message
    everything = check_rand_error(lambda p, t: _rand_error_by_pairs(p, t + 1, scored_only=False))
    assert not everything.passed and "truth is 0" in everything.message
    assert "contingency table" in check_rand_error(lambda p, t: 0.0).message
    assert "returned None" in check_rand_error(lambda p, t: None).message


def test_check_cells_from_membranes():
    from scipy import ndimage

    four_neighbours = ndimage.generate_binary_structure(2, 1)

    def by_scipy(membranes):
        return ndimage.label(~membranes, structure=four_neighbours)[0]

    def shuffled(membranes):  # label numbers may differ: still the same cells
        cells = by_scipy(membranes)
        return np.where(cells > 0, cells.max() + 1 - cells, 0)

    assert check_cells_from_membranes(by_scipy).passed
    assert check_cells_from_membranes(shuffled).passed
    eight = ndimage.generate_binary_structure(2, 2)
    assert "connectivity=1" in check_cells_from_membranes(lambda m: ndimage.label(~m, structure=eight)[0]).message
    assert (
        "labelled the membranes"
        in check_cells_from_membranes(lambda m: ndimage.label(m, structure=four_neighbours)[0]).message
    )
    one_cell_per_pixel = lambda m: np.where(m, 0, np.arange(1, m.size + 1).reshape(m.shape))  # noqa: E731
    assert "cells where there are" in check_cells_from_membranes(one_cell_per_pixel).message


def _dihedral(predict, image, mirrors=True, turn_back=True):
    results = []
    for k in range(4):
        for mirror in (False, True) if mirrors else (False,):
            view = np.flip(np.rot90(image, k), 1) if mirror else np.rot90(image, k)
            answer = predict(view.copy())
            if turn_back:
                answer = np.rot90(np.flip(answer, 1) if mirror else answer, -k)
            results.append(answer)
    return np.mean(results, axis=0)


def test_check_dihedral_average():
    assert check_dihedral_average(_dihedral).passed
    assert "4 rotations only" in check_dihedral_average(lambda f, x: _dihedral(f, x, mirrors=False)).message
    assert "turn each prediction back" in check_dihedral_average(lambda f, x: _dihedral(f, x, turn_back=False)).message
    assert "the average differs" in check_dihedral_average(lambda f, x: f(x)).message


# ---- Every wrong kind of answer gets a sentence, never a traceback ------------------------------

import unetlib.exercises as exercises  # noqa: E402

NUMBER_CHECKS = [
    "check_output_size",
    "check_same_padding",
    "check_parameter_count",
    "check_dense_output_size",
    "check_transpose_output_size",
    "check_output_padding",
    "check_is_valid_size",
    "check_unet_output_size",
    "check_tile_for_output",
    "check_dice",
    "check_border_weight",
    "check_train_step",
    "check_tile_step",
    "check_rand_error",
]
WRONG_KINDS = {
    "an array": lambda *args: np.zeros((2, 3)),
    "a tuple": lambda *args: (1, 2),
    "a string": lambda *args: "three",
    "a complex number": lambda *args: 1 + 2j,
    "a function that raises": lambda *args: 1 / 0,
}


@pytest.mark.parametrize("kind", WRONG_KINDS)
@pytest.mark.parametrize("name", NUMBER_CHECKS)
def test_a_check_wanting_a_number_explains_any_other_answer(name, kind):
    result = getattr(exercises, name)(WRONG_KINDS[kind])
    assert not result.passed and result.message.startswith("your function")


@pytest.mark.parametrize("name", ["check_conv2d", "check_multichannel_conv", "check_mirror_pad", "check_dice"])
def test_a_tensor_that_requires_grad_is_read_not_crashed_on(name):
    answer = lambda *args: torch.zeros(3, 3, requires_grad=True)  # noqa: E731
    result = getattr(exercises, name)(answer)
    assert not result.passed and isinstance(result.message, str)


def test_check_conv2d_explains_a_right_shaped_answer_from_transposed_loops():
    from unetlib.conv import conv2d

    # Right on square images; right shape but wrong values on the first non-square one, where
    # comparing got.T with the answer used to crash.
    def right_on_squares(image, kernel):
        out = conv2d(image, kernel)
        return out if image.shape[0] == image.shape[1] else out[::-1]

    result = check_conv2d(right_on_squares)
    assert not result.passed and "values differ" in result.message


# ---- Chapter 11 ------------------------------------------------------------------------------


def test_check_iou_from_confusion_against_the_library_and_its_hints():
    from unetlib.metrics import iou_from_confusion

    assert check_iou_from_confusion(iou_from_confusion).passed
    assert "recall" in check_iou_from_confusion(lambda m: np.diag(m) / m.sum(1)).message
    assert "precision" in check_iou_from_confusion(lambda m: np.diag(m) / m.sum(0)).message
    assert "Dice" in check_iou_from_confusion(lambda m: 2 * np.diag(m) / (m.sum(0) + m.sum(1))).message
    assert "NaN" in check_iou_from_confusion(lambda m: np.nan_to_num(iou_from_confusion(m))).message
    assert "one IoU per class" in check_iou_from_confusion(lambda m: np.trace(m) / m.sum()).message


def test_check_class_weights_against_the_library_and_its_hints():
    from unetlib.experiments import median_frequency_weights

    assert check_class_weights(median_frequency_weights).passed
    assert "1 / f" in check_class_weights(lambda c: c.sum() / c).message
    assert "upside down" in check_class_weights(lambda c: 1 / median_frequency_weights(c)).message
    assert "mean frequency" in check_class_weights(lambda c: np.mean(c / c.sum()) / (c / c.sum())).message


def test_check_decode_palette_against_decode_mask_and_its_hints():
    from unetlib.data import decode_mask

    assert check_decode_palette(lambda mask, palette: decode_mask(mask, palette)).passed

    def by_sum(mask, palette):
        total, out = mask.astype(int).sum(-1), np.zeros(mask.shape[:2], int)
        for colour, index in palette.items():
            out[total == sum(colour)] = index
        return out

    def silent(mask, palette):
        out = np.zeros(mask.shape[:2], int)
        for colour, index in palette.items():
            out[(mask == colour).all(-1)] = index
        return out

    assert "channel by channel" in check_decode_palette(by_sum).message
    assert "without an error" in check_decode_palette(silent).message
    assert "one class index per pixel" in check_decode_palette(lambda mask, palette: mask).message


def test_check_weighted_cross_entropy_against_pytorch_and_its_hints():
    def by_hand(logits, target, weights):
        log_p = logits.log_softmax(1).gather(1, target[:, None])[:, 0]
        return -(weights[target] * log_p).sum() / weights[target].sum()

    assert check_weighted_cross_entropy(lambda z, t, w: F.cross_entropy(z, t, weight=w)).passed
    assert check_weighted_cross_entropy(by_hand).passed
    per_pixel_mean = check_weighted_cross_entropy(
        lambda z, t, w: (w[t] * F.cross_entropy(z, t, reduction="none")).mean()
    )
    assert "sum of the pixels' class weights" in per_pixel_mean.message
    assert "unweighted" in check_weighted_cross_entropy(lambda z, t, w: F.cross_entropy(z, t)).message


def test_check_ablation_guess_reads_the_measurement():
    from unetlib.experiments import load_results

    rows = load_results("chapter11_aerial")["validation"]

    def mean(configuration):
        return np.mean([r["validation_tile"]["mean_iou"] for r in rows if r["configuration"] == configuration])

    # Worked out here from the file, independently of the check.
    right = "flips" if mean("dice") - mean("no-flips") > mean("dice") - mean("augment") else "dice"
    assert check_ablation_guess(right).passed
    assert check_ablation_guess(right.upper()).passed
    assert "answer" in check_ablation_guess("both").message
    assert "without flips the mean IoU falls by" in check_ablation_guess(right).message


def test_check_ndvi_and_its_hints():
    from unetlib.exercises import check_ndvi

    def right(nir, red):
        total = nir + red
        return np.divide(nir - red, total, out=np.zeros_like(total), where=total != 0)

    assert check_ndvi(right).passed
    assert "opposite sign" in check_ndvi(lambda n, r: -right(n, r)).message
    assert "NaN" in check_ndvi(lambda n, r: (n - r) / (n + r)).message
    assert not check_ndvi(lambda n, r: right(n, r) + 0.01).passed


def test_check_valid_footprint_and_its_hints():
    from unetlib.exercises import check_valid_footprint

    def right(bands, nodata):
        valid = np.ones(bands[0].shape, bool)
        for band, value in zip(bands, nodata):
            valid &= np.isfinite(band.astype(float)) & (True if value is None else band != value)
        return valid

    assert check_valid_footprint(right).passed
    first_band_only = check_valid_footprint(lambda b, n: b[0] != n[0])
    assert "all bands" in first_band_only.message
    # NaN forgotten: the float band's NaN pixel counted as data.
    assert not check_valid_footprint(lambda b, n: np.logical_and.reduce([x != v for x, v in zip(b, n)])).passed


def test_check_class_areas_and_its_hints():
    from unetlib.exercises import check_class_areas

    def right(classes, size, count):
        return np.bincount(classes[classes != 255], minlength=count) * size**2 / 10_000

    assert check_class_areas(right).passed
    assert "square metres" in check_class_areas(lambda c, s, k: right(c, s, k) * 10_000).message
    assert "squared" in check_class_areas(lambda c, s, k: right(c, s, k) / s).message
    counted_nodata = check_class_areas(
        lambda c, s, k: np.bincount(np.minimum(c, k - 1).ravel(), minlength=k) * s * s / 1e4
    )
    assert not counted_nodata.passed


def test_check_pixel_to_map_against_rasterio_and_its_hints():
    from unetlib.exercises import check_pixel_to_map

    rasterio = pytest.importorskip("rasterio")
    from affine import Affine

    # rasterio's own answer is a right one.
    assert check_pixel_to_map(lambda t, r, c: rasterio.transform.xy(Affine(*t), r, c)).passed
    corner = check_pixel_to_map(lambda t, r, c: rasterio.transform.xy(Affine(*t), r, c, offset="ul"))
    assert "corner" in corner.message
    swapped = check_pixel_to_map(lambda t, r, c: rasterio.transform.xy(Affine(*t), c, r))
    assert "swapped" in swapped.message


def _gradients_written_out(x, t, w1, b1, w2, b2, relu_gate=True, sign=1.0, with_w2=True):
    """The chapter's backward pass, with one mistake switched on at a time."""
    z = w1 * x + b1
    h = max(z, 0.0) if relu_gate else z
    y = w2 * h + b2
    dL_dy = sign * (y - t)
    dL_dz = dL_dy * (w2 if with_w2 else 1.0) * ((1.0 if z > 0 else 0.0) if relu_gate else 1.0)
    return dL_dz * x, dL_dz, dL_dy * h, dL_dy


def test_check_backward_by_hand_and_each_mistake():
    # Right: the chain rule by hand, for graphs where the ReLU passes and where it blocks.
    assert check_backward_by_hand(_gradients_written_out).passed
    # The answer, typed in for the chapter's graph only, fails on the other graphs.
    assert not check_backward_by_hand(lambda *graph: (0.9, 0.6, -1.2, -1.2)).passed
    no_gate = check_backward_by_hand(lambda *g: _gradients_written_out(*g, relu_gate=False))
    assert not no_gate.passed and "z < 0" in no_gate.message and "passes no gradient" in no_gate.message
    flipped = check_backward_by_hand(lambda *g: _gradients_written_out(*g, sign=-1.0))
    assert not flipped.passed and "y - t" in flipped.message
    no_w2 = check_backward_by_hand(lambda *g: _gradients_written_out(*g, with_w2=False))
    assert not no_w2.passed and "factor w2" in no_w2.message
    doubled = check_backward_by_hand(lambda *g: tuple(2 * v for v in _gradients_written_out(*g)))
    assert not doubled.passed and "HALF" in doubled.message
    assert "four gradients" in check_backward_by_hand(lambda *g: (1.0, 2.0)).message


def test_check_momentum_step_against_sgd_and_each_mistake():
    def written_out(weight, gradient, velocity, lr, momentum):
        velocity = momentum * velocity + gradient
        return weight - lr * velocity, velocity

    def lr_inside(weight, gradient, velocity, lr, momentum):  # another form, equal while lr is fixed
        velocity = momentum * velocity + lr * gradient
        return weight - velocity, velocity

    assert check_momentum_step(written_out).passed
    assert check_momentum_step(lr_inside).passed
    plain = check_momentum_step(lambda w, g, v, lr, mu: (w - lr * g, mu * v + g))
    assert not plain.passed and "plain gradient step" in plain.message
    old = check_momentum_step(lambda w, g, v, lr, mu: (w - lr * mu * v, mu * v + g))
    assert not old.passed and "NEW velocity" in old.message
    uphill = check_momentum_step(lambda w, g, v, lr, mu: (w + lr * (mu * v + g), mu * v + g))
    assert not uphill.passed and "against the velocity" in uphill.message
    kept = check_momentum_step(lambda w, g, v, lr, mu: (w - lr * (mu * v + g), v))
    assert not kept.passed and "the one passed in" in kept.message
    assert "two things" in check_momentum_step(lambda w, g, v, lr, mu: w).message
