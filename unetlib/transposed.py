"""Transposed convolution in NumPy, and the matrix of a convolution.

A convolution maps an input to a smaller (or strided) output; a *transposed* convolution runs
the same arithmetic the other way: every input pixel stamps a copy of the kernel, scaled by its
value, onto the output, ``stride`` pixels apart, and overlapping stamps add up. It is called
transposed because, written as a matrix ``C`` acting on the flattened input, a convolution is
``y = C x`` and the transposed convolution is ``C^T y`` (:func:`conv_matrix` builds ``C``). It
is *not* the inverse of the convolution: ``C^T C`` is not the identity.

The arguments and layout are PyTorch's (:func:`torch.nn.functional.conv_transpose2d`): input
``(N, C_in, H, W)``, weight ``(C_in, C_out / groups, kH, kW)`` (note: in-channels first),
``stride``, ``padding`` (removed from the output's borders), ``output_padding`` (extra rows and
columns at the end, to pick one of the several output sizes a strided convolution maps to the
same input size), ``groups`` and ``dilation``. This module builds on :mod:`unetlib.conv`
(it runs that module's arithmetic backwards); :mod:`unetlib.conv` does not import it back.
"""

from __future__ import annotations

import numpy as np

from unetlib._checks import int_pair, integer, is_int, real_array
from unetlib.conv import IntPair, conv_output_size

__all__ = ["conv_matrix", "conv_transpose2d", "conv_transpose_output_size"]


def conv_transpose_output_size(
    input_size: int,
    kernel_size: int,
    stride: int = 1,
    padding: int = 0,
    output_padding: int = 0,
    dilation: int = 1,
) -> int:
    """Length of a transposed convolution's output along one axis.

    The stamps of ``input_size`` pixels, ``stride`` apart, each ``dilation * (kernel_size - 1)
    + 1`` long, cover ``(input_size - 1) * stride + dilation * (kernel_size - 1) + 1`` pixels;
    ``padding`` is then cut from both ends and ``output_padding`` added at the end.

    Raises:
        ValueError: if ``output_padding`` is not smaller than ``stride`` or ``dilation`` (as in
            PyTorch), or the output would be empty.

    Example:
        >>> conv_transpose_output_size(28, 2, stride=2)  # the U-Net's up-convolution
        56
        >>> [conv_output_size(n, 3, stride=2, padding=1) for n in (7, 8)]  # two sizes -> 4
        [4, 4]
        >>> conv_transpose_output_size(4, 3, stride=2, padding=1, output_padding=1)  # back to 8
        8
    """
    for name, value, minimum in (
        ("input_size", input_size, 1),
        ("kernel_size", kernel_size, 1),
        ("stride", stride, 1),
        ("padding", padding, 0),
        ("output_padding", output_padding, 0),
        ("dilation", dilation, 1),
    ):
        integer(value, name, minimum=minimum)
    return _axis_length(input_size, kernel_size, stride, padding, output_padding, dilation, axis="")


def _axis_length(
    size: int, kernel: int, stride: int, padding: int, output_padding: int, dilation: int, axis: str
) -> int:
    if output_padding >= max(stride, dilation):
        raise ValueError(
            f"output_padding{axis} must be smaller than stride or dilation (as in PyTorch), got "
            f"output_padding {output_padding} with stride {stride} and dilation {dilation}"
        )
    length = (size - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1
    if length < 1:
        raise ValueError(
            f"the output{axis} would have {length} pixels: padding {padding} removes more than the "
            f"{length + 2 * padding - output_padding} pixels the stamps cover; use less padding"
        )
    return length


def conv_transpose2d(
    x: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None = None,
    stride: IntPair = 1,
    padding: IntPair = 0,
    output_padding: IntPair = 0,
    groups: int = 1,
    dilation: IntPair = 1,
) -> np.ndarray:
    """Transposed convolution: every input pixel adds ``value * kernel`` to the output.

    Args:
        x: ``(N, C_in, H, W)``, ``(C_in, H, W)`` or ``(H, W)`` (with a ``(kH, kW)`` weight).
        weight: ``(C_in, C_out / groups, kH, kW)`` (PyTorch's layout for transposed weights).
        bias: ``(C_out,)`` or None.
        stride, padding, output_padding, dilation: ints or ``(h, w)`` pairs, as in PyTorch.
        groups: split the channels into this many independent groups.

    Returns:
        ``(N, C_out, H_out, W_out)`` (or the matching 3-D / 2-D shape), with the sizes of
        :func:`conv_transpose_output_size`.

    Example:
        >>> conv_transpose2d(np.array([[1.0, 2.0]]), np.ones((2, 2)), stride=2)
        array([[1., 1., 2., 2.],
               [1., 1., 2., 2.]])
    """
    x, weight = real_array(x, "x", nonempty=True), real_array(weight, "weight", nonempty=True)
    layout = x.ndim
    if layout == 2:
        if weight.ndim != 2:
            raise ValueError(f"a 2-D x takes a 2-D (kH, kW) weight, got weight shape {weight.shape}")
        x, weight = x[None, None], weight[None, None]
    elif layout == 3:
        x = x[None]
    elif layout != 4:
        raise ValueError(f"x must have shape (H, W), (C, H, W) or (N, C, H, W), got shape {x.shape}")
    if weight.ndim != 4:
        raise ValueError(f"weight must have shape (C_in, C_out / groups, kH, kW), got shape {weight.shape}")
    groups = integer(groups, "groups", minimum=1)
    n, c_in, height, width = x.shape
    if weight.shape[0] != c_in:
        raise ValueError(
            f"weight has {weight.shape[0]} input channels (its first axis) but x has {c_in}; a transposed "
            f"convolution's weight is (C_in, C_out / groups, kH, kW)"
        )
    if c_in % groups:
        raise ValueError(f"groups={groups} must divide the {c_in} input channels")
    (s_h, s_w), (d_h, d_w) = int_pair(stride, "stride", 1), int_pair(dilation, "dilation", 1)
    (p_h, p_w), (o_h, o_w) = int_pair(padding, "padding", 0), int_pair(output_padding, "output_padding", 0)
    k_h, k_w = weight.shape[-2:]
    out_h = _axis_length(height, k_h, s_h, p_h, o_h, d_h, " along the height")
    out_w = _axis_length(width, k_w, s_w, p_w, o_w, d_w, " along the width")
    per_group_out = weight.shape[1]
    c_out = per_group_out * groups
    if bias is not None:
        bias = real_array(bias, "bias")
        if bias.shape != (c_out,):
            raise ValueError(f"bias must have shape ({c_out},), one value per output channel, got {bias.shape}")

    # Stamp the kernel tap by tap: tap (u, v) of every input pixel lands d*(u, v) away from where
    # that pixel's stamp starts, and the stamps start stride pixels apart.
    full_h = (height - 1) * s_h + d_h * (k_h - 1) + 1 + o_h
    full_w = (width - 1) * s_w + d_w * (k_w - 1) + 1 + o_w
    full = np.zeros((n, c_out, full_h, full_w), dtype=np.result_type(x, weight))
    per_group_in = c_in // groups
    for g in range(groups):
        x_g = x[:, g * per_group_in : (g + 1) * per_group_in]
        w_g = weight[g * per_group_in : (g + 1) * per_group_in]
        out_channels = slice(g * per_group_out, (g + 1) * per_group_out)
        for u in range(k_h):
            for v in range(k_w):
                rows = slice(u * d_h, u * d_h + (height - 1) * s_h + 1, s_h)
                cols = slice(v * d_w, v * d_w + (width - 1) * s_w + 1, s_w)
                full[:, out_channels, rows, cols] += np.einsum("nchw,co->nohw", x_g, w_g[:, :, u, v])
    out = full[:, :, p_h : p_h + out_h, p_w : p_w + out_w]
    if bias is not None:
        out = out + bias[None, :, None, None]
    if layout == 2:
        return out[0, 0]
    return out[0] if layout == 3 else out


def conv_matrix(
    input_shape: tuple[int, int],
    weight: np.ndarray,
    stride: IntPair = 1,
    padding: IntPair = 0,
    dilation: IntPair = 1,
) -> np.ndarray:
    """The dense matrix ``C`` of a convolution: ``conv2d(x, w).ravel() == C @ x.ravel()``.

    Row ``i`` of ``C`` holds the kernel's weights at the input pixels that output pixel ``i``
    reads (zeros elsewhere); zero padding simply drops the taps that fall outside the input.

    Args:
        input_shape: ``(H, W)`` of the input image (one channel).
        weight: the ``(kH, kW)`` kernel.
        stride, padding, dilation: as in :func:`unetlib.conv.conv2d` (ints or pairs; zero padding).

    Returns:
        Array of shape ``(H_out * W_out, H * W)``.

    Example:
        >>> conv_matrix((1, 3), np.array([[1.0, 2.0]]))
        array([[1., 2., 0.],
               [0., 1., 2.]])
    """
    weight = real_array(weight, "weight", nonempty=True)
    if weight.ndim != 2:
        raise ValueError(f"weight must be a 2-D (kH, kW) kernel, got shape {weight.shape}")
    if not (
        isinstance(input_shape, (tuple, list))
        and len(input_shape) == 2
        and all(is_int(v) and v > 0 for v in input_shape)
    ):
        raise ValueError(f"input_shape must be (H, W) with positive ints, got {input_shape!r}")
    height, width = input_shape
    (s_h, s_w), (p_h, p_w), (d_h, d_w) = (
        int_pair(stride, "stride", 1),
        int_pair(padding, "padding", 0),
        int_pair(dilation, "dilation", 1),
    )
    k_h, k_w = weight.shape
    out_h = conv_output_size(height, k_h, s_h, p_h, d_h)
    out_w = conv_output_size(width, k_w, s_w, p_w, d_w)
    matrix = np.zeros((out_h * out_w, height * width))
    for i in range(out_h):
        for j in range(out_w):
            for u in range(k_h):
                for v in range(k_w):
                    r, c = i * s_h - p_h + u * d_h, j * s_w - p_w + v * d_w
                    if 0 <= r < height and 0 <= c < width:
                        matrix[i * out_w + j, r * width + c] += weight[u, v]
    return matrix
