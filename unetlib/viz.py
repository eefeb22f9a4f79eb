"""Figures the chapters share: image grids, number grids, and the sliding-window animation.

Every function draws with Matplotlib and returns the figure (or animation) so a chapter can
show it, save it, or test it. Animations become self-contained HTML with
:func:`animation_html`, which plays in the static book without a running kernel.
"""

from __future__ import annotations

import re
from html import escape as html_escape
from typing import Sequence, Union

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.animation import Animation, FuncAnimation
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from unetlib._checks import boolean, describe, int_pair, integer, integer_array, is_int, number, real_array, to_numpy
from unetlib.conv import conv2d, conv_output_size, pad2d

IntPair = Union[int, tuple[int, int]]

__all__ = [
    "animation_html",
    "class_legend",
    "conv_arithmetic_animation",
    "conv_transpose_animation",
    "draw_conv_arithmetic",
    "paint_classes",
    "show_images",
    "show_number_grid",
    "show_weight_tensor",
    "sliding_window_animation",
]

#: The largest side of a grid of printed numbers or of drawn cells: beyond it a figure takes long to
#: draw and cannot be read.
MAX_GRID = 100
#: The most frames an animation may have (each is a PNG embedded in the page).
MAX_FRAMES = 1000

# Matplotlib's animation player draws its buttons with Font Awesome 4, loaded from a CDN. The
# book must work offline, so the buttons get Unicode symbols instead (every font has them).
_BUTTON_SYMBOLS = {
    "fa-minus": "\u2212",
    "fa-fast-backward": "|\u25c0\u25c0",
    "fa-step-backward": "|\u25c0",
    "fa-play fa-flip-horizontal": "\u25c0",
    "fa-pause": "\u275a\u275a",
    "fa-play": "\u25b6",
    "fa-step-forward": "\u25b6|",
    "fa-fast-forward": "\u25b6\u25b6|",
    "fa-plus": "+",
}


def show_images(
    images: Sequence[np.ndarray],
    titles: Sequence[str] | None = None,
    ncols: int | None = None,
    size: float = 3.0,
    cmap: str = "gray",
    symmetric: Sequence[bool] | bool = False,
    shared_scale: bool = False,
) -> Figure:
    """Show images side by side, each with its own colour scale (or one for all) and no ticks.

    Args:
        images: 2-D (grey) or ``(H, W, 3)`` (RGB) arrays.
        titles: one title per image, or None.
        ncols: images per row, at least 1; default all in one row (at most 4).
        size: width of each panel in inches, > 0.
        cmap: colour map for grey images.
        symmetric: for signed images (edge responses), centre the colour scale on zero with a
            diverging map, so that positive and negative responses look opposite and zero
            looks neutral. The scale ends at the 99.5th percentile of the absolute values, so
            that a few extreme pixels do not wash out the rest. One flag for all images, or
            one per image.
        shared_scale: one colour scale for every grey image, so that panels meant to be compared
            are: the same colour means the same value in each (the symmetric scale's end is
            then taken over all the symmetric images together).

    Returns:
        The Matplotlib figure.
    """
    images = _image_list(images)
    shared_scale = boolean(shared_scale, "shared_scale")
    titles = _names(titles, "titles", len(images), "image")
    flags = _flags(symmetric, len(images))
    ncols = min(len(images), 4) if ncols is None else integer(ncols, "ncols", minimum=1, hint=" (images per row)")
    size = number(size, "size", above=0, hint=" (inches)")
    nrows = -(-len(images) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows), squeeze=False)
    # One scale for the compared panels, worked out once: signed images share a symmetric end,
    # grey ones a range.
    signed = [image.ravel() for image, flag in zip(images, flags) if flag]
    grey = [image for image, flag in zip(images, flags) if not flag and image.ndim == 2]
    shared_limit = _symmetric_limit(np.concatenate(signed)) if shared_scale and signed else None
    shared_range = (min(i.min() for i in grey), max(i.max() for i in grey)) if shared_scale and grey else None
    for index, ax in enumerate(axes.flat):
        ax.axis("off")
        if index >= len(images):
            continue
        image = images[index]
        if flags[index]:
            limit = shared_limit if shared_limit is not None else _symmetric_limit(image)
            ax.imshow(image, cmap="RdBu_r", vmin=-limit, vmax=limit)
        elif shared_range is not None and image.ndim == 2:
            ax.imshow(image, cmap=cmap, vmin=shared_range[0], vmax=shared_range[1])
        else:
            ax.imshow(image, cmap=cmap if image.ndim == 2 else None)
        if titles is not None:
            ax.set_title(titles[index])
    fig.tight_layout()
    return fig


def _symmetric_limit(values: np.ndarray) -> float:
    """The end of a colour scale centred on zero: the 99.5th percentile of the absolute values."""
    return float(np.percentile(np.abs(values), 99.5)) or float(np.abs(values).max()) or 1.0


def _image_list(images) -> list[np.ndarray]:
    """The images of :func:`show_images`, each checked: real numbers, (H, W) or (H, W, 3|4), not empty."""
    images = _as_list(images, "images", "a list of arrays, one per panel")
    if not images:
        raise ValueError("images must hold at least one image, got an empty sequence")
    checked = []
    for index, image in enumerate(images):
        array = real_array(image, f"images[{index}]", ndim=(2, 3), shape_hint="(H, W) or (H, W, 3)", nonempty=True)
        if array.ndim == 3 and array.shape[-1] not in (3, 4):
            raise ValueError(
                f"images[{index}] must be (H, W) or (H, W, 3), got shape {array.shape}; "
                "for channels first (3, H, W), pass np.moveaxis(image, 0, -1)"
            )
        checked.append(to_numpy(image))  # as given: Matplotlib scales each dtype its own way
    return checked


def _as_list(value, argument: str, expected: str) -> list:
    """The items of a list, tuple, array or other iterable; None, a string or a number is refused."""
    if value is None or isinstance(value, (str, bytes)):
        raise TypeError(f"{argument} must be {expected}, got {describe(value)}")
    try:
        return list(value)
    except TypeError:
        raise TypeError(f"{argument} must be {expected}, got {describe(value)}") from None


def _names(names, argument: str, count: int, what: str) -> list[str] | None:
    """``count`` labels (one per ``what``) as a list, or None; a bare string is refused."""
    if names is None:
        return None
    names = _as_list(names, argument, f"a list of strings, one per {what} ({count})")
    if len(names) != count:
        raise ValueError(f"{argument} must have one entry per {what} ({count}), got {len(names)}")
    return names


def _flags(symmetric, count: int) -> list[bool]:
    """:func:`show_images`' ``symmetric``: one bool for all images, or one per image."""
    if isinstance(symmetric, (bool, np.bool_)):
        return [bool(symmetric)] * count
    flags = [
        boolean(flag, "symmetric")
        for flag in _as_list(symmetric, "symmetric", f"True, False or one bool per image ({count})")
    ]
    if len(flags) != count:
        raise ValueError(f"symmetric must be a bool or one bool per image ({count}), got {len(flags)}")
    return flags


def show_number_grid(
    values: np.ndarray,
    ax: Axes | None = None,
    title: str | None = None,
    highlight: tuple[int, int, int, int] | None = None,
    fmt: str = "{:g}",
    cmap: str = "Blues",
    shaded: np.ndarray | None = None,
) -> Axes:
    """Draw a small 2-D array as a grid of cells with each value printed inside.

    Args:
        values: ``(H, W)`` array (an image patch, a kernel, an output). NaN cells are left blank.
        ax: axes to draw into; a new figure if None.
        title: text above the grid.
        highlight: ``(row, col, height, width)`` of a rectangle to outline (the kernel's window).
        fmt: format of each printed value.
        cmap: colour map of the cell backgrounds.
        shaded: optional boolean ``(H, W)`` mask of cells drawn hatched (e.g. padding).

    Returns:
        The axes drawn into.
    """
    values = real_array(values, "values", ndim=2, nonempty=True).astype(np.float64)
    if max(values.shape) > MAX_GRID:
        raise ValueError(
            f"values is {values.shape[0]}x{values.shape[1]}: a grid of printed numbers is readable up to about "
            f"20x20 and drawn up to {MAX_GRID}x{MAX_GRID}; show a crop, or use show_images for a whole image"
        )
    _check_axes(ax, "ax", optional=True)
    if not isinstance(fmt, str):
        raise TypeError(f"fmt must be a format string such as '{{:g}}' or '{{:.2f}}', got {describe(fmt)}")
    try:
        fmt.format(0.0)
    except (IndexError, KeyError, ValueError) as error:
        raise ValueError(f"fmt must format one number, such as '{{:g}}' or '{{:.2f}}', got {fmt!r} ({error})") from None
    if shaded is not None:
        shaded = real_array(shaded, "shaded")
        if shaded.shape != values.shape:
            raise ValueError(f"shaded must be a mask of the values' shape {values.shape}, got shape {shaded.shape}")
    if highlight is not None:
        if not (isinstance(highlight, (tuple, list)) and len(highlight) == 4 and all(is_int(v) for v in highlight)):
            raise TypeError(f"highlight must be (row, col, height, width), four ints, got {describe(highlight)}")
        if min(highlight[2:]) < 1:
            raise ValueError(f"highlight's height and width must be at least 1, got {tuple(highlight)}")
    if ax is None:
        _, ax = plt.subplots(figsize=(0.5 * values.shape[1] + 0.5, 0.5 * values.shape[0] + 0.5))
    finite = values[np.isfinite(values)]
    limit = float(np.abs(finite).max()) if finite.size else 1.0
    ax.imshow(np.abs(values), cmap=cmap, vmin=0, vmax=(limit or 1.0) * 1.6)
    for (row, col), value in np.ndenumerate(values):
        if np.isfinite(value):
            ax.text(col, row, fmt.format(value), ha="center", va="center", fontsize=9)
    if shaded is not None:
        for row, col in zip(*np.nonzero(shaded)):
            ax.add_patch(Rectangle((col - 0.5, row - 0.5), 1, 1, fill=False, hatch="///", color="0.6", lw=0))
    # Thin lines between cells make the grid readable as a grid.
    ax.set_xticks(np.arange(-0.5, values.shape[1]), minor=True)
    ax.set_yticks(np.arange(-0.5, values.shape[0]), minor=True)
    ax.grid(which="minor", color="0.7", linewidth=0.8)
    ax.tick_params(which="both", length=0, labelbottom=False, labelleft=False)
    if highlight is not None:
        row, col, height, width = highlight
        ax.add_patch(Rectangle((col - 0.5, row - 0.5), width, height, fill=False, edgecolor="crimson", lw=3))
    if title:
        ax.set_title(title)
    return ax


def _check_axes(ax, name: str, optional: bool = False) -> None:
    """Refuse anything but Matplotlib axes (None too, where ``optional``)."""
    if ax is None and optional:
        return
    if not isinstance(ax, Axes):
        made = " or None for a new figure" if optional else " (e.g. from plt.subplots)"
        raise TypeError(f"{name} must be Matplotlib axes{made}, got {describe(ax)}")


def _interval(interval) -> int:
    return integer(interval, "interval", minimum=1, hint=" (milliseconds between frames)")


def _cell(cell) -> float:
    return number(cell, "cell", above=0, maximum=5, hint=" (inches per pixel)")


def _check_frames(frames: int, what: str) -> None:
    if frames > MAX_FRAMES:
        raise ValueError(
            f"{what} would make an animation of {frames} frames, one image each; at most {MAX_FRAMES}: "
            "animate a smaller example (about 5 to 10 pixels a side reads best)"
        )


def _animate(fig: Figure, draw, frames: int, interval: int) -> FuncAnimation:
    """Lay the figure out on its first frame and animate ``draw(frame)`` over ``frames`` frames."""
    draw(0)
    fig.tight_layout()
    animation = FuncAnimation(fig, draw, frames=frames, interval=interval)
    plt.close(fig)  # the animation is shown as HTML; do not also show its first frame as a still
    return animation


def sliding_window_animation(
    image: np.ndarray, kernel: np.ndarray, padding: int = 0, stride: int = 1, interval: int = 700
) -> FuncAnimation:
    """Animate a kernel sliding over a small image, one output value per frame.

    Three panels: the (padded) input with the kernel's window outlined, the kernel, and the
    output filling in. Every number shown is computed by :func:`unetlib.conv.conv2d`.

    Args:
        image: small ``(H, W)`` array (about 5x5 to 8x8 reads well).
        kernel: ``(kH, kW)`` array.
        padding: zero padding on each side; padded cells are hatched.
        stride: step of the window.
        interval: milliseconds between frames.

    Returns:
        A Matplotlib animation; turn it into HTML with :func:`animation_html`.
    """
    image = real_array(image, "image", ndim=2, shape_hint="(H, W)", nonempty=True).astype(np.float64)
    kernel = real_array(kernel, "kernel", ndim=2, shape_hint="(kH, kW)", nonempty=True).astype(np.float64)
    padding = integer(padding, "padding", minimum=0, hint=" (pixels on each side)")
    stride, interval = integer(stride, "stride", minimum=1), _interval(interval)
    if max(image.shape) + 2 * padding > MAX_GRID:
        raise ValueError(
            f"image is {image.shape[0]}x{image.shape[1]}: too large to print as numbers; use a crop of about 5x5 to 8x8"
        )
    output = conv2d(image, kernel, stride=stride, padding=padding)  # also validates the arguments
    _check_frames(output.size, f"a {output.shape[0]}x{output.shape[1]} output")
    padded = pad2d(image, padding)
    is_padding = np.ones(padded.shape, dtype=bool)
    is_padding[padding : padding + image.shape[0], padding : padding + image.shape[1]] = False
    kernel_h, kernel_w = kernel.shape
    positions = list(np.ndindex(*output.shape))

    fig, (ax_in, ax_kernel, ax_out) = plt.subplots(
        1, 3, figsize=(9, 3.2), gridspec_kw={"width_ratios": [padded.shape[1], kernel_w + 2, output.shape[1] + 1]}
    )

    def draw(frame: int) -> None:
        row, col = positions[frame]
        shown = np.full(output.shape, np.nan)
        shown.flat[: frame + 1] = output.flat[: frame + 1]
        for ax in (ax_in, ax_kernel, ax_out):
            ax.clear()
        top, left = row * stride, col * stride
        show_number_grid(
            padded,
            ax=ax_in,
            title="input" + (" (zero-padded)" if padding else ""),
            highlight=(top, left, kernel_h, kernel_w),
            shaded=is_padding if padding else None,
        )
        show_number_grid(kernel, ax=ax_kernel, title="kernel", cmap="Oranges")
        show_number_grid(
            shown,
            ax=ax_out,
            title=f"output[{row}, {col}] = {output[row, col]:g}",
            highlight=(row, col, 1, 1),
            cmap="Greens",
        )

    return _animate(fig, draw, len(positions), interval)


# --------------------------------------------------------------------------------------------
# Convolution arithmetic: where the kernel's taps land on the padded input, for any size,
# kernel, padding, stride and dilation (in the style of Dumoulin and Visin's figures).
# --------------------------------------------------------------------------------------------

_INPUT_COLOUR, _PADDING_COLOUR, _TAP_COLOUR = "#c6dbef", "white", "#2171b5"
_OUTPUT_COLOUR, _DONE_COLOUR, _CURRENT_COLOUR = "#e5f5e0", "#a1d99b", "#238b45"


def _arithmetic_geometry(size, kernel_size, padding, stride, dilation) -> dict:
    """Every length the figure needs, per axis, checked by :func:`conv_output_size`."""
    pairs = {
        name: int_pair(value, name, minimum)
        for name, value, minimum in (
            ("size", size, 1),
            ("kernel_size", kernel_size, 1),
            ("padding", padding, 0),
            ("stride", stride, 1),
            ("dilation", dilation, 1),
        )
    }
    padded = [pairs["size"][a] + 2 * pairs["padding"][a] for a in (0, 1)]
    if max(padded) > MAX_GRID:
        raise ValueError(
            f"size and padding make a padded input of {padded[0]}x{padded[1]} cells, too many to draw (at most "
            f"{MAX_GRID} a side); a figure reads best at about 5 to 10 pixels a side"
        )
    try:
        pairs["output"] = tuple(
            conv_output_size(
                pairs["size"][a], pairs["kernel_size"][a], pairs["stride"][a], pairs["padding"][a], pairs["dilation"][a]
            )
            for a in (0, 1)
        )
    except ValueError as error:
        raise ValueError(f"kernel_size and dilation do not fit the padded input: {error}") from None
    return pairs


def _draw_cells(ax: Axes, rows: int, cols: int, colour_of, dashed_of=lambda r, c: False) -> None:
    for row in range(rows):
        for col in range(cols):
            ax.add_patch(
                Rectangle(
                    (col, row),
                    1,
                    1,
                    facecolor=colour_of(row, col),
                    edgecolor="0.35",
                    linewidth=0.8,
                    linestyle="--" if dashed_of(row, col) else "-",
                )
            )
    ax.set_xlim(-0.1, cols + 0.1)
    ax.set_ylim(rows + 0.1, -0.1)  # row 0 at the top, like an image
    ax.set_aspect("equal")
    ax.axis("off")


def draw_conv_arithmetic(
    ax_input: Axes,
    ax_output: Axes,
    size: IntPair,
    kernel_size: IntPair,
    padding: IntPair = 0,
    stride: IntPair = 1,
    dilation: IntPair = 1,
    position: tuple[int, int] = (0, 0),
) -> tuple[int, int]:
    """Draw one step of a convolution: the padded input with the kernel's taps, and the output.

    Input pixels are light blue, padding is white with dashed edges, the kernel's taps are dark
    blue with a dot (so they read in grey too) inside an outline of the window they span. In
    the output, the pixel being computed is dark green and those already computed light green.

    Args:
        ax_input, ax_output: axes to draw the input and the output into.
        size: input height and width (``n`` or ``(h, w)``).
        kernel_size, padding, stride, dilation: as in :func:`unetlib.conv.conv2d` (ints or pairs).
        position: ``(row, col)`` of the output pixel being computed.

    Returns:
        The output's ``(height, width)``, from :func:`unetlib.conv.conv_output_size`.

    Example:
        >>> fig, (ax_input, ax_output) = plt.subplots(1, 2)
        >>> draw_conv_arithmetic(ax_input, ax_output, size=7, kernel_size=3, dilation=2)
        (3, 3)
    """
    _check_axes(ax_input, "ax_input")
    _check_axes(ax_output, "ax_output")
    g = _arithmetic_geometry(size, kernel_size, padding, stride, dilation)
    out_h, out_w = g["output"]
    if not (isinstance(position, (tuple, list)) and len(position) == 2 and all(is_int(v) for v in position)):
        raise TypeError(f"position must be (row, col) of an output pixel, two ints, got {describe(position)}")
    row, col = position
    if not (0 <= row < out_h and 0 <= col < out_w):
        raise ValueError(f"position must lie in the {out_h}x{out_w} output, got {position!r}")
    _draw_taps(ax_input, g, row, col)
    index = row * out_w + col

    def output_colour(r: int, c: int) -> str:
        i = r * out_w + c
        return _CURRENT_COLOUR if i == index else _DONE_COLOUR if i < index else _OUTPUT_COLOUR

    _draw_cells(ax_output, out_h, out_w, output_colour)
    ax_output.set_title(f"output {out_h}x{out_w}", fontsize=10)
    return out_h, out_w


def _draw_taps(ax: Axes, g: dict, row: int, col: int) -> None:
    """The padded input of :func:`draw_conv_arithmetic`, with the taps of output pixel ``(row, col)``."""
    (h, w), (k_h, k_w), (p_h, p_w), (s_h, s_w), (d_h, d_w) = (
        g["size"],
        g["kernel_size"],
        g["padding"],
        g["stride"],
        g["dilation"],
    )
    top, left = row * s_h, col * s_w
    taps = {(top + u * d_h, left + v * d_w) for u in range(k_h) for v in range(k_w)}

    def is_padding(r: int, c: int) -> bool:
        return not (p_h <= r < p_h + h and p_w <= c < p_w + w)

    def input_colour(r: int, c: int) -> str:
        if (r, c) in taps:
            return _TAP_COLOUR
        return _PADDING_COLOUR if is_padding(r, c) else _INPUT_COLOUR

    _draw_cells(ax, h + 2 * p_h, w + 2 * p_w, input_colour, is_padding)
    for r, c in taps:
        ax.plot(c + 0.5, r + 0.5, "o", color="white", markersize=3)
    span_h, span_w = d_h * (k_h - 1) + 1, d_w * (k_w - 1) + 1
    ax.add_patch(Rectangle((left, top), span_w, span_h, fill=False, edgecolor="crimson", lw=2.5))
    ax.set_title(
        f"input {h}x{w}, padding {g['padding'][0]}" if p_h == p_w else f"input {h}x{w}, padding {p_h},{p_w}",
        fontsize=10,
    )


def conv_arithmetic_animation(
    size: IntPair,
    kernel_size: IntPair,
    padding: IntPair = 0,
    stride: IntPair = 1,
    dilation: IntPair = 1,
    interval: int = 600,
    cell: float = 0.32,
) -> FuncAnimation:
    """Animate a convolution's window over the padded input, one output pixel per frame.

    Args:
        size, kernel_size, padding, stride, dilation: as in :func:`draw_conv_arithmetic`.
        interval: milliseconds between frames.
        cell: size of one pixel in inches.

    Returns:
        A Matplotlib animation; turn it into HTML with :func:`animation_html`.

    Example:
        >>> html = animation_html(conv_arithmetic_animation(5, 3, padding=1, stride=2),
        ...                       alt="a 3x3 window on a zero-padded 5x5 input, stride 2")
        >>> html.count("data:image/png;base64")  # one frame per output pixel: 3x3
        9
    """
    g = _arithmetic_geometry(size, kernel_size, padding, stride, dilation)
    interval, cell = _interval(interval), _cell(cell)
    (h, w), (p_h, p_w), (out_h, out_w) = g["size"], g["padding"], g["output"]
    _check_frames(out_h * out_w, f"a {out_h}x{out_w} output")
    in_cols, in_rows = w + 2 * p_w, h + 2 * p_h
    fig, (ax_input, ax_output) = plt.subplots(
        1,
        2,
        figsize=(cell * (in_cols + out_w) + 1.2, cell * max(in_rows, out_h) + 0.7),
        gridspec_kw={"width_ratios": [in_cols, max(out_w, 3)]},
    )
    positions = list(np.ndindex(out_h, out_w))

    def draw(frame: int) -> None:
        ax_input.clear()
        ax_output.clear()
        draw_conv_arithmetic(ax_input, ax_output, size, kernel_size, padding, stride, dilation, positions[frame])

    return _animate(fig, draw, len(positions), interval)


def conv_transpose_animation(
    size: int,
    kernel_size: int,
    stride: int = 1,
    padding: int = 0,
    interval: int = 700,
    cell: float = 0.32,
) -> FuncAnimation:
    """Animate a transposed convolution: each input pixel stamps the kernel onto the output.

    Left, the input with the current pixel dark. Right, the output before ``padding`` is cut
    from its borders (those rows and columns dashed): the current stamp is outlined, and every
    cell is shaded by how many stamps have covered it so far, with the count printed. Uneven
    counts at the end are the "checkerboard" of a kernel whose size the stride does not divide.

    Args:
        size: input side (square).
        kernel_size: kernel side (square).
        stride: distance between neighbouring stamps.
        padding: pixels cut from each border of the output.
        interval: milliseconds between frames.
        cell: size of one pixel in inches.

    Returns:
        A Matplotlib animation with one frame per input pixel.

    Example:
        >>> html = animation_html(conv_transpose_animation(2, 3, stride=2), alt="stamps")
        >>> html.count("data:image/png;base64")  # one frame per input pixel
        4
    """
    for name, value, low in (
        ("size", size, 1),
        ("kernel_size", kernel_size, 1),
        ("stride", stride, 1),
        ("padding", padding, 0),
    ):
        integer(value, name, minimum=low)
    interval, cell = _interval(interval), _cell(cell)
    full = (size - 1) * stride + kernel_size
    if full - 2 * padding < 1:
        raise ValueError(f"padding {padding} cuts away the whole {full}-pixel output; use less padding")
    if full > MAX_GRID:
        raise ValueError(
            f"size, kernel_size and stride make an output of {full}x{full} cells, too many to draw (at most "
            f"{MAX_GRID} a side); a few pixels a side show the stamps best"
        )
    _check_frames(size * size, f"a {size}x{size} input")
    positions = list(np.ndindex(size, size))
    fig, (ax_input, ax_output) = plt.subplots(
        1,
        2,
        figsize=(cell * (size + full) + 1.2, cell * max(size, full) + 0.7),
        gridspec_kw={"width_ratios": [max(size, 2), full]},
    )

    def draw(frame: int) -> None:
        ax_input.clear()
        ax_output.clear()
        row, col = positions[frame]
        _draw_cells(ax_input, size, size, lambda r, c: _TAP_COLOUR if (r, c) == (row, col) else _INPUT_COLOUR)
        ax_input.set_title(f"input {size}x{size}", fontsize=10)
        counts = np.zeros((full, full), dtype=int)
        for r, c in positions[: frame + 1]:
            counts[r * stride : r * stride + kernel_size, c * stride : c * stride + kernel_size] += 1
        _draw_stamps(ax_output, counts, padding, (row * stride, col * stride, kernel_size))

    return _animate(fig, draw, len(positions), interval)


def _draw_stamps(ax: Axes, counts: np.ndarray, padding: int, stamp: tuple[int, int, int]) -> None:
    """The output of :func:`conv_transpose_animation`: each cell shaded by how many stamps cover it
    (the count printed), the ``padding`` rows and columns to be cut dashed, and the current stamp
    ``(top, left, side)`` outlined."""
    full = counts.shape[0]
    shades = ["white", "#e5f5e0", "#a1d99b", "#41ab5d", "#006d2c"]

    def is_cut(r: int, c: int) -> bool:
        return min(r, c) < padding or max(r, c) >= full - padding

    _draw_cells(ax, full, full, lambda r, c: shades[min(counts[r, c], len(shades) - 1)], is_cut)
    for (r, c), count in np.ndenumerate(counts):
        if count:
            ax.text(
                c + 0.5,
                r + 0.5,
                str(count),
                ha="center",
                va="center",
                fontsize=9,
                color="white" if count >= 3 else "black",
            )
    top, left, side = stamp
    ax.add_patch(Rectangle((left, top), side, side, fill=False, edgecolor="crimson", lw=2.5))
    kept = full - 2 * padding
    ax.set_title(f"output {kept}x{kept}" + (f" (+{padding} cut per side)" if padding else ""), fontsize=10)


def show_weight_tensor(
    weight: np.ndarray,
    in_names: Sequence[str] | None = None,
    out_names: Sequence[str] | None = None,
    numbers: bool = True,
    size: float = 1.3,
) -> Figure:
    """Draw a convolution's ``(out_channels, in_channels, kH, kW)`` weight as a grid of kernels.

    Row ``o`` holds the kernels of output channel ``o``, one per input channel: output channel
    ``o`` is the *sum* of the input channels each convolved with the kernel in its column.

    Args:
        weight: array or tensor of shape ``(out_channels, in_channels, kH, kW)``.
        in_names: a name per input channel (column titles), e.g. ``["R", "G", "B"]``.
        out_names: a name per output channel (row labels).
        numbers: print each value in its cell (readable up to about 5x5 kernels).
        size: size of one kernel panel in inches.

    Returns:
        The Matplotlib figure. Colours are centred on zero (red positive, blue negative), with
        one scale for the whole tensor so kernels can be compared.
    """
    weight = real_array(weight, "weight", ndim=4, shape_hint="(out_channels, in_channels, kH, kW)", nonempty=True)
    n_out, n_in = weight.shape[:2]
    if max(n_out, n_in) > MAX_GRID:
        raise ValueError(
            f"weight has {n_out} x {n_in} kernels, too many panels to draw (at most {MAX_GRID} a side); "
            "show a slice, e.g. weight[:8, :8]"
        )
    in_names = (
        [f"in {i}" for i in range(n_in)] if in_names is None else _names(in_names, "in_names", n_in, "input channel")
    )
    out_names = (
        [f"out {o}" for o in range(n_out)]
        if out_names is None
        else _names(out_names, "out_names", n_out, "output channel")
    )
    numbers, size = boolean(numbers, "numbers"), number(size, "size", above=0, hint=" (inches per kernel)")
    limit = float(np.abs(weight).max()) or 1.0
    fig, axes = plt.subplots(n_out, n_in, figsize=(size * n_in + 0.8, size * n_out + 0.4), squeeze=False)
    for (o, i), ax in np.ndenumerate(axes):
        kernel = weight[o, i]
        ax.imshow(kernel, cmap="RdBu_r", vmin=-limit, vmax=limit)
        if numbers:
            for (r, c), value in np.ndenumerate(kernel):
                # + 0.0 prints -0.0 as 0; white text on the darkest cells stays readable.
                colour = "white" if abs(value) > 0.6 * limit else "black"
                ax.text(c, r, f"{value + 0.0:.2g}", ha="center", va="center", fontsize=9, color=colour)
        ax.set_xticks([])
        ax.set_yticks([])
        if o == 0:
            ax.set_title(in_names[i], fontsize=10)
        if i == 0:
            ax.set_ylabel(out_names[o], fontsize=10)
    fig.tight_layout()
    return fig


def animation_html(animation: FuncAnimation, alt: str) -> str:
    """Self-contained HTML (JavaScript player, frames embedded) with alt text on the frames.

    Args:
        animation: a Matplotlib animation.
        alt: a description of the animation for screen readers and for when images fail.

    Returns:
        HTML for ``IPython.display.HTML``; it plays in the static book, no kernel needed.
    """
    if not isinstance(animation, Animation):
        raise TypeError(
            f"animation must be a Matplotlib animation (from one of this module's *_animation functions), "
            f"got {describe(animation)}"
        )
    if not isinstance(alt, str) or not alt.strip():
        raise ValueError(f"alt must be a non-empty description of the animation, got {alt!r}")
    html = animation.to_jshtml(default_mode="once")
    html = re.sub(r'<link rel="stylesheet"\s+href="[^"]*font-awesome[^"]*">', "", html)
    html = re.sub(r'<i class="fa ([\w -]+)"></i>', lambda m: _BUTTON_SYMBOLS.get(m.group(1), m.group(0)), html)
    if "font-awesome" in html or '<i class="fa ' in html:
        raise RuntimeError("Matplotlib's animation HTML changed: a Font Awesome icon or link is left")
    escaped = html_escape(alt, quote=True)
    html, count = re.subn(r'<img id="(_anim_img\w+)"', rf'<img id="\1" alt="{escaped}"', html)
    if count != 1:
        raise RuntimeError("Matplotlib's animation HTML changed: could not find the frame image to label")
    return html


def _colour_table(colours, name: str = "colours") -> np.ndarray:
    """``colours`` as an (n, 3) uint8 table of RGB triples in 0-255."""
    table = real_array(colours, name, ndim=2, shape_hint="(one (r, g, b) triple per class)")
    if table.shape[1] != 3 or len(table) == 0:
        raise ValueError(f"{name} must hold (r, g, b) triples, one per class, got shape {table.shape}")
    if table.min() < 0 or table.max() > 255:
        raise ValueError(f"{name} must hold values in 0-255 (8-bit RGB), got {table.min():g} to {table.max():g}")
    return table.astype(np.uint8)


def paint_classes(
    classes, colours, ignore_index: int | None = None, ignore_colour: tuple[int, int, int] = (155, 155, 155)
) -> np.ndarray:
    """A class map as an RGB picture: class ``k`` painted ``colours[k]``.

    Args:
        classes: (H, W) class indices 0 .. ``len(colours) - 1``, and ``ignore_index`` where unlabelled.
        colours: one (r, g, b) triple in 0-255 per class.
        ignore_index: the value of unlabelled pixels (255 in Chapter 11), or None if there are none.
        ignore_colour: the colour of unlabelled pixels.

    Returns:
        (H, W, 3) uint8 picture, for ``plt.imshow`` or to save as a PNG.

    Example:
        >>> paint_classes([[0, 1], [1, 255]], [(255, 0, 0), (0, 0, 255)], ignore_index=255)[1].tolist()
        [[0, 0, 255], [155, 155, 155]]
    """
    class_map = integer_array(classes, "classes", ndim=2, shape_hint="(H, W)")
    table = _colour_table(colours)
    grey = _colour_table([ignore_colour], "ignore_colour")[0]
    unlabelled = np.zeros(class_map.shape, bool) if ignore_index is None else class_map == ignore_index
    outside = ~unlabelled & ((class_map < 0) | (class_map >= len(table)))
    if outside.any():
        raise ValueError(
            f"classes holds {int(class_map[outside][0])}, but colours has {len(table)} entries "
            f"(classes 0-{len(table) - 1}); pass one colour per class, or ignore_index= for unlabelled pixels"
        )
    picture = table[np.where(unlabelled, 0, class_map)]
    picture[unlabelled] = grey
    return picture


def class_legend(
    fig: Figure, names: Sequence[str], colours, ignore_colour: tuple[int, int, int] | None = (155, 155, 155)
) -> None:
    """A legend of class colours below a figure's panels (and "unlabelled", unless ``ignore_colour`` is None).

    Args:
        fig: the figure to add the legend to.
        names: one name per class.
        colours: one (r, g, b) triple in 0-255 per class, as given to :func:`paint_classes`.
        ignore_colour: the unlabelled pixels' colour, or None to leave it out of the legend.
    """
    if not isinstance(fig, Figure):
        raise TypeError(f"fig must be a matplotlib Figure, got {describe(fig)}")
    table = _colour_table(colours)
    labels = [str(name) for name in _as_list(names, "names", "one name per class")]
    if len(labels) != len(table):
        raise ValueError(f"names has {len(labels)} entries but colours {len(table)}: give one name per colour")
    if ignore_colour is not None:
        table = np.concatenate([table, _colour_table([ignore_colour], "ignore_colour")])
        labels.append("unlabelled")
    handles = [Rectangle((0, 0), 1, 1, color=colour / 255) for colour in table]
    fig.legend(handles, labels, loc="lower center", ncol=len(labels))
