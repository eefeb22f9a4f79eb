"""Transposed convolution and the convolution matrix against PyTorch and against each other."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from unetlib.conv import conv2d
from unetlib.transposed import conv_matrix, conv_transpose2d, conv_transpose_output_size


def random_config(rng: np.random.Generator) -> dict:
    """Any combination, valid or not: stride beyond the kernel, padding, output_padding, dilation,
    groups, odd and even sizes."""
    groups = int(rng.choice([1, 1, 1, 2, 3]))
    stride = (int(rng.integers(1, 5)), int(rng.integers(1, 5)))
    dilation = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
    return {
        "n": int(rng.integers(1, 3)),
        "c_in": groups * int(rng.integers(1, 3)),
        "c_out_per_group": int(rng.integers(1, 3)),
        "size": (int(rng.integers(1, 10)), int(rng.integers(1, 10))),
        "kernel": (int(rng.integers(1, 5)), int(rng.integers(1, 5))),
        "stride": stride,
        "padding": (int(rng.integers(0, 4)), int(rng.integers(0, 4))),
        # Up to max(stride, dilation) inclusive: mostly allowed, sometimes one too many.
        "output_padding": tuple(int(rng.integers(0, max(s, d) + 1)) for s, d in zip(stride, dilation)),
        "dilation": dilation,
        "groups": groups,
        "bias": bool(rng.integers(0, 2)),
    }


def tensors(config: dict, rng: np.random.Generator):
    x = rng.normal(size=(config["n"], config["c_in"], *config["size"]))
    weight = rng.normal(size=(config["c_in"], config["c_out_per_group"], *config["kernel"]))
    bias = rng.normal(size=(config["c_out_per_group"] * config["groups"],)) if config["bias"] else None
    return x, weight, bias


def settings(config: dict) -> dict:
    return {k: config[k] for k in ("stride", "padding", "output_padding", "groups", "dilation")}


@pytest.mark.parametrize("seed", range(20))
def test_conv_transpose2d_matches_pytorch_or_both_refuse(seed):
    rng = np.random.default_rng(seed)
    agreed = refused = 0
    for _ in range(120):  # 20 x 120 = 2,400 random cases
        config = random_config(rng)
        x, weight, bias = tensors(config, rng)
        try:
            expected = F.conv_transpose2d(
                torch.from_numpy(x),
                torch.from_numpy(weight),
                None if bias is None else torch.from_numpy(bias),
                **settings(config),
            ).numpy()
        except RuntimeError:
            with pytest.raises(ValueError):
                conv_transpose2d(x, weight, bias, **settings(config))
            refused += 1
            continue
        got = conv_transpose2d(x, weight, bias, **settings(config))
        assert got.shape == expected.shape, config
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-10, err_msg=str(config))
        for axis in (0, 1):
            assert (
                conv_transpose_output_size(
                    config["size"][axis],
                    config["kernel"][axis],
                    config["stride"][axis],
                    config["padding"][axis],
                    config["output_padding"][axis],
                    config["dilation"][axis],
                )
                == expected.shape[2 + axis]
            )
        agreed += 1
    assert agreed > 30 and refused > 5  # both kinds of case were exercised


def test_layouts_and_the_worked_example():
    # Two input pixels, 1 and 2, stamp a 2x2 kernel of ones, two pixels apart.
    np.testing.assert_array_equal(
        conv_transpose2d(np.array([[1.0, 2.0]]), np.ones((2, 2)), stride=2), [[1, 1, 2, 2], [1, 1, 2, 2]]
    )
    rng = np.random.default_rng(0)
    x, weight = rng.normal(size=(3, 4, 5)), rng.normal(size=(3, 2, 3, 3))
    np.testing.assert_allclose(conv_transpose2d(x, weight, stride=2), conv_transpose2d(x[None], weight, stride=2)[0])


@pytest.mark.parametrize(
    "size, kernel, stride, padding, dilation",
    [
        ((5, 5), (3, 3), 1, 0, 1),
        ((7, 6), (3, 2), 2, 1, 1),
        ((8, 8), (2, 2), 2, 0, 1),
        ((9, 7), (3, 3), 3, 2, 2),
        ((4, 6), (1, 3), 1, (0, 1), (1, 2)),
    ],
)
def test_conv_matrix_is_the_convolution_and_its_transpose_the_transposed_convolution(
    size, kernel, stride, padding, dilation
):
    rng = np.random.default_rng(1)
    x, weight = rng.normal(size=size), rng.normal(size=kernel)
    matrix = conv_matrix(size, weight, stride, padding, dilation)
    y = F.conv2d(
        torch.from_numpy(x)[None, None],
        torch.from_numpy(weight)[None, None],
        stride=stride,
        padding=padding,
        dilation=dilation,
    )[0, 0].numpy()
    np.testing.assert_allclose(matrix @ x.ravel(), y.ravel(), atol=1e-12)
    np.testing.assert_allclose(
        matrix @ x.ravel(), conv2d(x, weight, stride=stride, padding=padding, dilation=dilation).ravel(), atol=1e-12
    )
    # C^T: the transposed convolution of y, back at the input's size (output_padding picks it).
    upstream = rng.normal(size=y.shape)
    back = (matrix.T @ upstream.ravel()).reshape(size)
    (s_h, s_w), (p_h, p_w), (d_h, d_w) = ((v, v) if isinstance(v, int) else v for v in (stride, padding, dilation))
    extra = (size[0] + 2 * p_h - d_h * (kernel[0] - 1) - 1) % s_h, (size[1] + 2 * p_w - d_w * (kernel[1] - 1) - 1) % s_w
    np.testing.assert_allclose(
        conv_transpose2d(upstream, weight, stride=stride, padding=padding, output_padding=extra, dilation=dilation),
        back,
        atol=1e-12,
    )
    assert not np.allclose(matrix.T @ matrix, np.eye(matrix.shape[1]))  # not an inverse


@pytest.mark.parametrize(
    "call, error, words",
    [
        (
            lambda: conv_transpose_output_size(4, 3, stride=2, output_padding=2),
            ValueError,
            "smaller than stride or dilation",
        ),
        (lambda: conv_transpose_output_size(1, 1, padding=1), ValueError, "use less padding"),
        (lambda: conv_transpose_output_size(4, 3, stride=0), ValueError, "stride must be at least 1"),
        (lambda: conv_transpose_output_size(4.0, 3), TypeError, "input_size must be an int"),
        (
            lambda: conv_transpose2d(np.zeros((1, 2, 3, 3)), np.zeros((3, 1, 2, 2))),
            ValueError,
            "weight has 3 input channels",
        ),
        (
            lambda: conv_transpose2d(np.zeros((1, 3, 3, 3)), np.zeros((3, 1, 2, 2)), groups=2),
            ValueError,
            "groups=2 must divide",
        ),
        (lambda: conv_transpose2d(np.zeros((3, 3)), np.zeros((1, 1, 2, 2))), ValueError, "2-D x takes a 2-D"),
        (
            lambda: conv_transpose2d(np.zeros((1, 1, 3, 3)), np.zeros((1, 2, 2, 2)), bias=np.zeros(3)),
            ValueError,
            "bias must have shape",
        ),
        (lambda: conv_matrix((3, 3), np.zeros((1, 2, 2))), ValueError, "2-D"),
        (lambda: conv_matrix((0, 3), np.zeros((2, 2))), ValueError, "input_shape"),
    ],
)
def test_bad_arguments_are_named(call, error, words):
    with pytest.raises(error, match=words):
        call()
