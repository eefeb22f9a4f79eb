"""Two-dimensional convolution in NumPy, written to be read.

Every function here mirrors :func:`torch.nn.functional.conv2d`: the same argument names, the
same layout (NCHW images, ``(out_channels, in_channels, kH, kW)`` weights) and the same maths.
Like PyTorch, :func:`conv2d` computes a *cross-correlation*: the kernel is not flipped.
:func:`convolve2d` flips it, for the textbook convolution.

So that a reader can experiment with single pictures, three input layouts are accepted:

=============  ======================  ======================
input ``x``    ``weight``              output
=============  ======================  ======================
``(H, W)``     ``(kH, kW)``            ``(H_out, W_out)``
``(C, H, W)``  ``(O, C, kH, kW)``      ``(O, H_out, W_out)``
``(N,C,H,W)``  ``(O, C, kH, kW)``      ``(N, O, H_out, W_out)``
=============  ======================  ======================
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from unetlib._checks import choice, int_pair, integer, is_int, real_array

IntPair = Union[int, tuple[int, int]]
Padding = Union[int, tuple[int, int], str]

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")
# How each of PyTorch's padding modes is spelled in numpy.pad.
_NUMPY_PAD_MODE = {"zeros": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}

__all__ = [
    "PADDING_MODES",
    "conv2d",
    "conv2d_naive",
    "convolve2d",
    "conv_output_size",
    "dilate_kernel",
    "pad2d",
]


# --------------------------------------------------------------------------------------------
# Output size: the arithmetic the chapters keep coming back to.
# --------------------------------------------------------------------------------------------


def conv_output_size(
    input_size: int,
    kernel_size: int,
    stride: int = 1,
    padding: Union[int, str] = 0,
    dilation: int = 1,
) -> int:
    """Length of a convolution's output along one axis.

    The kernel covers ``dilation * (kernel_size - 1) + 1`` input pixels; it starts at the
    first pixel of the padded input and moves ``stride`` pixels at a time for as long as it
    fits, which gives ``floor((input_size + 2 * padding - dilation * (kernel_size - 1) - 1)
    / stride) + 1`` positions.

    Args:
        input_size: length of the input along this axis (before padding).
        kernel_size: length of the kernel along this axis.
        stride: step between two kernel positions, at least 1.
        padding: pixels added at *each* end, or ``"valid"`` (0) or ``"same"`` (output equals
            input; needs ``stride == 1``).
        dilation: spacing between kernel taps, 1 for a contiguous kernel (PyTorch's convention).

    Returns:
        The number of output pixels.

    Raises:
        ValueError: if the dilated kernel does not fit in the padded input, or for
            ``padding="same"`` with ``stride > 1``.

    Example:
        >>> conv_output_size(5, 3)  # a 3x3 kernel on a 5x5 image gives 3x3
        3
        >>> conv_output_size(5, 3, padding=1)  # pad to 7x7 and the output keeps 5x5
        5
    """
    for name, value, minimum in (
        ("input_size", input_size, 1),
        ("kernel_size", kernel_size, 1),
        ("stride", stride, 1),
        ("dilation", dilation, 1),
    ):
        integer(value, name, minimum=minimum)
    return _axis_geometry(input_size, kernel_size, stride, padding, dilation, axis="", kernel="kernel_size")[2]


def _axis_geometry(
    size: int, kernel_size: int, stride: int, padding: Union[int, str], dilation: int, axis: str, kernel: str = "kernel"
) -> tuple[int, int, int]:
    """Padding before, padding after and output length along one axis; raises if nothing fits."""
    before, after = _padding_amounts(padding, kernel_size, stride, dilation, axis)
    span = dilation * (kernel_size - 1) + 1
    padded = size + before + after
    if span > padded:
        raise ValueError(
            f"a kernel of size {kernel_size} with dilation {dilation} spans {span} pixels{axis}, more "
            f"than the padded input ({size} + {before + after} padding = {padded}); use padding of "
            f"at least {-(-(span - size) // 2)} on each side, or a smaller {kernel} or dilation"
        )
    return before, after, (padded - span) // stride + 1


def _padding_amounts(
    padding: Union[int, str], kernel_size: int, stride: int, dilation: int, axis: str
) -> tuple[int, int]:
    """Pixels added before and after the input along one axis."""
    if isinstance(padding, str):
        if padding == "valid":
            return 0, 0
        if padding == "same":
            if stride != 1:
                raise ValueError(
                    f"padding='same' needs stride=1 (as in PyTorch), got stride {stride}{axis}; "
                    "give the padding as a number instead"
                )
            # As in PyTorch: when the total is odd (an even kernel), the extra pixel goes after.
            total = dilation * (kernel_size - 1)
            return total // 2, total - total // 2
        raise ValueError(f"padding must be an int, a pair of ints, 'valid' or 'same', got {padding!r}")
    if not is_int(padding):
        raise TypeError(f"padding must be an int, a pair of ints, 'valid' or 'same', got {padding!r}")
    if padding < 0:
        raise ValueError(f"padding must be at least 0, got {padding}")
    return int(padding), int(padding)


# --------------------------------------------------------------------------------------------
# Padding: inventing pixels outside the image.
# --------------------------------------------------------------------------------------------


def pad2d(x: np.ndarray, padding: Union[int, tuple[int, ...]], mode: str = "zeros") -> np.ndarray:
    """Pad the last two axes of ``x``, the way a convolution with ``padding_mode=mode`` does.

    Args:
        x: array of shape ``(..., H, W)``.
        padding: ``p`` (every side), ``(p_h, p_w)`` (top and bottom, left and right), or
            ``(left, right, top, bottom)`` in the order of :func:`torch.nn.functional.pad`.
        mode: ``"zeros"`` (zeros outside), ``"reflect"`` (mirror, edge pixel not repeated),
            ``"replicate"`` (repeat the edge pixel) or ``"circular"`` (wrap around).

    Returns:
        Array of shape ``(..., H + top + bottom, W + left + right)``.

    Example:
        >>> pad2d(np.array([[1, 2, 3]]), (2, 2, 0, 0), mode="reflect")
        array([[3., 2., 1., 2., 3., 2., 1.]])
    """
    x = real_array(x, "x")
    if x.ndim < 2:
        raise ValueError(f"x must have at least 2 dimensions (..., H, W), got shape {x.shape}")
    choice(mode, "padding_mode", PADDING_MODES)
    if is_int(padding):
        left = right = top = bottom = padding
    elif isinstance(padding, (tuple, list)) and len(padding) == 2:
        (top, left), (bottom, right) = padding, padding
    elif isinstance(padding, (tuple, list)) and len(padding) == 4:
        left, right, top, bottom = padding
    else:
        raise TypeError(f"padding must be an int, (p_h, p_w) or (left, right, top, bottom), got {padding!r}")
    amounts = {"top": top, "bottom": bottom, "left": left, "right": right}
    for side, amount in amounts.items():
        if not is_int(amount) or amount < 0:
            raise ValueError(f"padding must be whole numbers >= 0, got {padding!r} ({side} = {amount!r})")
    height, width = x.shape[-2:]
    _check_padding_fits(mode, max(top, bottom), height, "height")
    _check_padding_fits(mode, max(left, right), width, "width")
    widths = [(0, 0)] * (x.ndim - 2) + [(top, bottom), (left, right)]
    return np.pad(x, widths, mode=_NUMPY_PAD_MODE[mode])


def _check_padding_fits(mode: str, amount: int, size: int, axis: str) -> None:
    """Reflect and circular padding can only borrow pixels the image has (as in PyTorch)."""
    if mode == "reflect" and amount >= size:
        raise ValueError(
            f"padding {amount} is too large for reflect padding of an input of {axis} {size}: "
            f"it must be less than {size} (or use padding_mode='replicate')"
        )
    if mode == "circular" and amount > size:
        raise ValueError(
            f"padding {amount} is too large for circular padding of an input of {axis} {size}: "
            f"it must be at most {size}"
        )


# --------------------------------------------------------------------------------------------
# Shared preparation: check the arguments once, pad once, for both implementations.
# --------------------------------------------------------------------------------------------


@dataclass
class _Prepared:
    """A convolution's arguments, checked and brought to NCHW form."""

    x: np.ndarray  # padded input, (N, C, H_pad, W_pad)
    weight: np.ndarray  # (O, C, kH, kW)
    bias: np.ndarray  # (O,)
    stride: tuple[int, int]
    dilation: tuple[int, int]
    out_shape: tuple[int, int]
    input_ndim: int  # 2, 3 or 4: the layout the caller used, restored on the way out

    def restore_layout(self, out: np.ndarray) -> np.ndarray:
        """(N, O, H_out, W_out) back to the caller's layout."""
        if self.input_ndim == 2:
            return out[0, 0]
        if self.input_ndim == 3:
            return out[0]
        return out


def _prepare(x, weight, bias, stride, padding, dilation, padding_mode) -> _Prepared:
    x = real_array(x, "x")
    weight = real_array(weight, "weight")
    input_ndim = x.ndim
    if input_ndim == 2:
        if weight.ndim != 2:
            raise ValueError(
                f"a 2-D image (H, W) needs a 2-D kernel (kH, kW), got weight of shape {weight.shape}; "
                "for channels, give x as (C, H, W) and weight as (out_channels, C, kH, kW)"
            )
        x, weight = x[None, None], weight[None, None]
    elif input_ndim in (3, 4):
        if weight.ndim != 4:
            raise ValueError(
                f"an input of shape {x.shape} needs a 4-D weight (out_channels, in_channels, kH, kW), "
                f"got weight of shape {weight.shape}"
            )
        if input_ndim == 3:
            x = x[None]
    else:
        raise ValueError(f"x must be (H, W), (C, H, W) or (N, C, H, W), got {x.ndim} dimensions with shape {x.shape}")
    if x.shape[1] != weight.shape[1]:
        raise ValueError(
            f"x has {x.shape[1]} channels but weight expects {weight.shape[1]} "
            f"(weight shape {weight.shape} is (out_channels, in_channels, kH, kW)); "
            f"make weight.shape[1] == {x.shape[1]}"
        )
    if min(weight.shape[2:]) < 1 or min(x.shape[2:]) < 1:
        raise ValueError(f"x and weight need at least one pixel, got {x.shape} and {weight.shape}")
    out_channels = weight.shape[0]
    bias = _check_bias(bias, out_channels)
    stride = int_pair(stride, "stride", minimum=1)
    dilation = int_pair(dilation, "dilation", minimum=1)
    choice(padding_mode, "padding_mode", PADDING_MODES)
    if isinstance(padding, str) or is_int(padding):
        padding = (padding, padding)
    if not (isinstance(padding, (tuple, list)) and len(padding) == 2):
        raise TypeError(f"padding must be an int, a pair of ints, 'valid' or 'same', got {padding!r}")

    # Work out the padding and output length of each axis (this raises if the kernel does not fit).
    (top, bottom, out_h), (left, right, out_w) = (
        _axis_geometry(x.shape[2 + axis], weight.shape[2 + axis], stride[axis], padding[axis],
                       dilation[axis], axis=f" along the {name}", kernel="weight (kernel)")
        for axis, name in ((0, "height"), (1, "width"))
    )  # fmt: skip
    x = pad2d(x, (left, right, top, bottom), mode=padding_mode)
    return _Prepared(x, weight, bias, stride, dilation, (out_h, out_w), input_ndim)


def _check_bias(bias, out_channels: int) -> np.ndarray:
    if bias is None:
        return np.zeros(out_channels)
    bias = real_array(bias, "bias")
    if bias.ndim == 0 and out_channels == 1:
        return bias.reshape(1)
    if bias.shape != (out_channels,):
        raise ValueError(
            f"bias must have shape ({out_channels},), one value per output channel, got shape {bias.shape}"
        )
    return bias


# --------------------------------------------------------------------------------------------
# The convolution itself, twice: as loops you can read, and vectorised.
# --------------------------------------------------------------------------------------------


def conv2d_naive(
    x: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | float | None = None,
    stride: IntPair = 1,
    padding: Padding = 0,
    dilation: IntPair = 1,
    padding_mode: str = "zeros",
) -> np.ndarray:
    """The convolution written as plain loops: slow, and exactly the definition.

    For every output pixel, lay the kernel on the (padded) input, multiply each kernel value
    with the input pixel under it, and add everything up. Same arguments and result as
    :func:`conv2d`; use it to read, use :func:`conv2d` to compute.

    Example:
        >>> image = np.arange(25.0).reshape(5, 5)
        >>> conv2d_naive(image, np.ones((3, 3))).shape  # 5x5 -> 3x3
        (3, 3)
    """
    p = _prepare(x, weight, bias, stride, padding, dilation, padding_mode)
    batch, in_channels = p.x.shape[:2]
    out_channels, _, kernel_h, kernel_w = p.weight.shape
    out_h, out_w = p.out_shape
    out = np.zeros((batch, out_channels, out_h, out_w), dtype=np.result_type(p.x, p.weight))
    for n in range(batch):
        for o in range(out_channels):
            for i in range(out_h):
                for j in range(out_w):
                    # The top-left corner of the window that produces output pixel (i, j).
                    top, left = i * p.stride[0], j * p.stride[1]
                    total = p.bias[o]
                    for c in range(in_channels):
                        for u in range(kernel_h):
                            for v in range(kernel_w):
                                row = top + u * p.dilation[0]
                                col = left + v * p.dilation[1]
                                total += p.weight[o, c, u, v] * p.x[n, c, row, col]
                    out[n, o, i, j] = total
    return p.restore_layout(out)


def conv2d(
    x: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | float | None = None,
    stride: IntPair = 1,
    padding: Padding = 0,
    dilation: IntPair = 1,
    padding_mode: str = "zeros",
) -> np.ndarray:
    """2-D cross-correlation, as :func:`torch.nn.functional.conv2d` computes it, in NumPy.

    ``out[n, o, i, j] = bias[o] + sum over c, u, v of
    weight[o, c, u, v] * x_padded[n, c, i * stride + u * dilation, j * stride + v * dilation]``.

    Args:
        x: image ``(H, W)``, ``(C, H, W)`` or batch ``(N, C, H, W)``; any real dtype.
        weight: ``(kH, kW)`` for a 2-D image, else ``(out_channels, C, kH, kW)``.
        bias: one value per output channel ``(out_channels,)`` (a number for a 2-D image), or None.
        stride: step of the kernel, an int or ``(s_h, s_w)``, at least 1.
        padding: pixels added on each side, an int or ``(p_h, p_w)``; ``"valid"`` for none;
            ``"same"`` for an output as large as the input (stride 1; an even kernel gets the
            extra pixel after, as in PyTorch).
        dilation: spacing between kernel taps, an int or pair; 1 is a contiguous kernel.
        padding_mode: what the padding holds: ``"zeros"``, ``"reflect"``, ``"replicate"`` or
            ``"circular"`` (as in :class:`torch.nn.Conv2d`).

    Returns:
        Array in the layout of ``x``: ``(H_out, W_out)``, ``(O, H_out, W_out)`` or
        ``(N, O, H_out, W_out)``, sizes given by :func:`conv_output_size`.

    Raises:
        TypeError: non-numeric arrays, or arguments of the wrong kind.
        ValueError: wrong ranks, a channel mismatch, a kernel larger than the padded input,
            stride or dilation below 1, or an unknown padding.

    Example:
        >>> from unetlib.kernels import sobel_vertical
        >>> image = np.zeros((5, 5)); image[:, 3:] = 1.0  # a vertical edge
        >>> conv2d(image, sobel_vertical())
        array([[0., 4., 4.],
               [0., 4., 4.],
               [0., 4., 4.]])
    """
    p = _prepare(x, weight, bias, stride, padding, dilation, padding_mode)
    out_channels, in_channels, kernel_h, kernel_w = p.weight.shape
    out_h, out_w = p.out_shape
    (stride_h, stride_w), (dilation_h, dilation_w) = p.stride, p.dilation
    # Every window the kernel visits, without copying: a view of shape (N, C, H_out, W_out, kH, kW).
    # The window spans the dilated kernel; stepping by the stride picks the positions, stepping
    # by the dilation picks the taps inside each window.
    span = (dilation_h * (kernel_h - 1) + 1, dilation_w * (kernel_w - 1) + 1)
    windows = sliding_window_view(p.x, span, axis=(2, 3))[:, :, ::stride_h, ::stride_w, ::dilation_h, ::dilation_w]
    # Unfold each window into a column ("im2col"): (C * kH * kW, H_out * W_out). Then one matrix
    # product multiplies every window by every kernel and sums, for all output pixels at once.
    flat_weight = p.weight.reshape(out_channels, in_channels * kernel_h * kernel_w)
    out = np.empty((p.x.shape[0], out_channels, out_h, out_w), dtype=np.result_type(p.x, p.weight))
    for n in range(p.x.shape[0]):  # one image at a time keeps the unfolded copy small
        columns = windows[n].transpose(0, 3, 4, 1, 2).reshape(-1, out_h * out_w)
        out[n] = (flat_weight @ columns).reshape(out_channels, out_h, out_w)
    out += p.bias[None, :, None, None]
    return p.restore_layout(out)


def convolve2d(
    x: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | float | None = None,
    stride: IntPair = 1,
    padding: Padding = 0,
    dilation: IntPair = 1,
    padding_mode: str = "zeros",
) -> np.ndarray:
    """True (textbook) convolution: :func:`conv2d` with the kernel flipped in both axes.

    Mathematics and signal processing define convolution with a flipped kernel,
    ``out[i, j] = sum x[i - u, j - v] * w[u, v]``; deep-learning libraries skip the flip and
    still call it convolution. For a symmetric kernel (box, Gaussian) the two agree; for a
    Sobel kernel they differ by a sign. Same arguments as :func:`conv2d`.

    Example:
        >>> from scipy.signal import convolve2d as scipy_convolve2d
        >>> image, kernel = np.random.rand(6, 7), np.random.rand(3, 2)
        >>> np.allclose(convolve2d(image, kernel), scipy_convolve2d(image, kernel, mode="valid"))
        True
    """
    weight = real_array(weight, "weight")
    return conv2d(x, weight[..., ::-1, ::-1], bias, stride, padding, dilation, padding_mode)


def dilate_kernel(weight: np.ndarray, dilation: IntPair) -> np.ndarray:
    """Spread a kernel's taps apart by inserting ``dilation - 1`` zeros between neighbours.

    A dilated convolution is an ordinary convolution with this larger, mostly-zero kernel:
    ``conv2d(x, w, dilation=d) == conv2d(x, dilate_kernel(w, d))``. It sees a window of
    ``d * (k - 1) + 1`` pixels but still has only ``k * k`` weights to learn.

    Args:
        weight: kernel of shape ``(..., kH, kW)``.
        dilation: spacing between taps, ``d`` or ``(d_h, d_w)``; 1 leaves the kernel as it is.

    Returns:
        Array of shape ``(..., d_h * (kH - 1) + 1, d_w * (kW - 1) + 1)``.

    Example:
        >>> dilate_kernel(np.array([[1, 2], [3, 4]]), 2)
        array([[1., 0., 2.],
               [0., 0., 0.],
               [3., 0., 4.]])
    """
    weight = real_array(weight, "weight", nonempty=True)
    if weight.ndim < 2:
        raise ValueError(f"weight must have at least 2 dimensions (..., kH, kW), got shape {weight.shape}")
    d_h, d_w = int_pair(dilation, "dilation", 1)
    k_h, k_w = weight.shape[-2:]
    dilated = np.zeros(weight.shape[:-2] + (d_h * (k_h - 1) + 1, d_w * (k_w - 1) + 1), dtype=weight.dtype)
    dilated[..., ::d_h, ::d_w] = weight
    return dilated
