"""Figures the chapters share: image grids, number grids, and the sliding-window animation.

Every function draws with Matplotlib and returns the figure (or animation) so a chapter can
show it, save it, or test it. Animations become self-contained HTML with
:func:`animation_html`, which plays in the static book without a running kernel.
"""

from __future__ import annotations

import re
from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.animation import FuncAnimation
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from unetlib.conv import conv2d, pad2d

__all__ = ["animation_html", "show_images", "show_number_grid", "sliding_window_animation"]

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
) -> Figure:
    """Show images side by side, each with its own colour scale and no axes ticks.

    Args:
        images: 2-D (grey) or ``(H, W, 3)`` (RGB) arrays.
        titles: one title per image, or None.
        ncols: images per row; default all in one row (at most 4).
        size: width of each panel in inches.
        cmap: colour map for grey images.
        symmetric: for signed images (edge responses), centre the colour scale on zero with a
            diverging map, so that positive and negative responses look opposite and zero
            looks neutral. One flag for all images, or one per image.

    Returns:
        The Matplotlib figure.
    """
    images = list(images)
    if not images:
        raise ValueError("images must hold at least one image, got an empty sequence")
    if titles is not None and len(titles) != len(images):
        raise ValueError(f"titles must have one entry per image ({len(images)}), got {len(titles)}")
    flags = [symmetric] * len(images) if isinstance(symmetric, bool) else list(symmetric)
    if len(flags) != len(images):
        raise ValueError(f"symmetric must be a bool or one bool per image ({len(images)}), got {len(flags)}")
    ncols = ncols or min(len(images), 4)
    nrows = -(-len(images) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows), squeeze=False)
    for index, ax in enumerate(axes.flat):
        ax.axis("off")
        if index >= len(images):
            continue
        image = np.asarray(images[index])
        if image.ndim not in (2, 3):
            raise ValueError(f"images[{index}] must be (H, W) or (H, W, 3), got shape {image.shape}")
        if flags[index]:
            limit = float(np.abs(image).max()) or 1.0
            ax.imshow(image, cmap="RdBu_r", vmin=-limit, vmax=limit)
        else:
            ax.imshow(image, cmap=cmap if image.ndim == 2 else None)
        if titles is not None:
            ax.set_title(titles[index])
    fig.tight_layout()
    return fig


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
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 2:
        raise ValueError(f"values must be a 2-D array, got shape {values.shape}")
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
    image, kernel = np.asarray(image, dtype=np.float64), np.asarray(kernel, dtype=np.float64)
    output = conv2d(image, kernel, stride=stride, padding=padding)  # also validates the arguments
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
        show_number_grid(padded, ax=ax_in, title="input" + (" (zero-padded)" if padding else ""),
                         highlight=(top, left, kernel_h, kernel_w), shaded=is_padding if padding else None)
        show_number_grid(kernel, ax=ax_kernel, title="kernel", cmap="Oranges")
        show_number_grid(shown, ax=ax_out, title=f"output[{row}, {col}] = {output[row, col]:g}",
                         highlight=(row, col, 1, 1), cmap="Greens")

    draw(0)
    fig.tight_layout()
    animation = FuncAnimation(fig, draw, frames=len(positions), interval=interval)
    plt.close(fig)  # the animation is shown as HTML; do not also show its first frame as a still
    return animation


def animation_html(animation: FuncAnimation, alt: str) -> str:
    """Self-contained HTML (JavaScript player, frames embedded) with alt text on the frames.

    Args:
        animation: a Matplotlib animation.
        alt: a description of the animation for screen readers and for when images fail.

    Returns:
        HTML for ``IPython.display.HTML``; it plays in the static book, no kernel needed.
    """
    if not isinstance(alt, str) or not alt.strip():
        raise ValueError(f"alt must be a non-empty description of the animation, got {alt!r}")
    html = animation.to_jshtml(default_mode="once")
    html = re.sub(r'<link rel="stylesheet"\s+href="[^"]*font-awesome[^"]*">', "", html)
    html = re.sub(r'<i class="fa ([\w -]+)"></i>', lambda m: _BUTTON_SYMBOLS.get(m.group(1), m.group(0)), html)
    if "font-awesome" in html or '<i class="fa ' in html:
        raise RuntimeError("Matplotlib's animation HTML changed: a Font Awesome icon or link is left")
    escaped = alt.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
    html, count = re.subn(r'<img id="(_anim_img\w+)"', rf'<img id="\1" alt="{escaped}"', html)
    if count != 1:
        raise RuntimeError("Matplotlib's animation HTML changed: could not find the frame image to label")
    return html
