"""A drawing of a U-Net in the style of Fig. 1 of Ronneberger et al. (2015), from the model itself.

Every feature map is a bar, its height the map's side in pixels (on a log scale, so that 572 and
28 both fit), its width the number of channels (also on a log scale); the numbers are printed
beside it. The arrows use the paper's colours: blue for a 3x3 convolution with ReLU, red for a
2x2 max-pool, green for a 2x2 up-convolution, grey for copy (and crop), teal for the final 1x1
convolution. The sizes come from the model's own arithmetic (:func:`unetlib.model.output_size`
and friends), so the drawing cannot disagree with the network.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from unetlib._checks import describe, integer, number
from unetlib.model import UNet, output_size, same_padded_size

__all__ = ["ARROW_COLOURS", "draw_unet", "unet_stages"]

# Text sizes in points: at the book's page width (a 10-inch figure shown about 7 inches wide)
# these read at about the size of the body text's small print, not below it.
_TEXT = 10
_SIDE_TEXT = 9

ARROW_COLOURS = {
    "conv 3x3, ReLU": "#1f4e9c",
    "copy and crop": "#8c8c8c",
    "max pool 2x2": "#c0392b",
    "up-conv 2x2": "#2e8b3a",
    "conv 1x1": "#17a2a2",
}


def unet_stages(model: UNet, input_size: int) -> list[list[tuple[int, int]]]:
    """The ``(channels, size)`` of every feature map, level by level, in drawing order.

    Returns:
        ``[contracting maps of level 0, ..., the bottom level's maps, expanding maps of level
        depth - 1, ..., of level 0]``: each a list of ``(channels, side)``. For same padding the
        sizes are those of the input mirror-padded to a multiple of ``2 ** depth``.

    Example:
        >>> stages = unet_stages(UNet(1, 2), 572)
        >>> stages[0], stages[4]  # the first level, and the bottom
        ([(1, 572), (64, 570), (64, 568)], [(512, 32), (1024, 30), (1024, 28)])
    """
    if not isinstance(model, UNet):
        raise TypeError(f"model must be a unetlib UNet, got {type(model).__name__}")
    size = integer(input_size, "input_size", minimum=1)
    output_size(size, model.depth, model.padding)  # a size the network cannot take: a clear error
    if model.padding == "same":
        size = same_padded_size(size, model.depth)  # what the network mirror-pads the input to
    shrink = 2 if model.padding == "valid" else 0
    widths = model.widths
    down: list[list[tuple[int, int]]] = []
    channels = model.in_channels
    for level, width in enumerate(widths):
        maps = [(channels, size)]  # the level's input: the image, or the pooled map
        size -= shrink
        maps.append((width, size))
        size -= shrink
        maps.append((width, size))
        down.append(maps)
        channels = width
        size //= 2
    size = down[-1][-1][1]
    up: list[list[tuple[int, int]]] = []
    for level in reversed(range(model.depth)):
        width = widths[level]
        size *= 2
        maps = [(width, size)]  # the up-convolution's output, next to the copied skip
        size -= shrink
        maps.append((width, size))
        size -= shrink
        maps.append((width, size))
        up.append(maps)
    return down + up


def draw_unet(model: UNet, input_size: int, figsize: tuple[float, float] = (10.0, 6.0)) -> Figure:
    """Draw ``model`` for an ``input_size`` x ``input_size`` input, as the paper's Fig. 1 does.

    Args:
        model: the U-Net to draw (its depth, widths and padding).
        input_size: the side of the input in pixels (for valid padding, one of
            :func:`unetlib.model.valid_input_sizes`).
        figsize: the figure's size in inches.

    Returns:
        The Matplotlib figure.

    Example:
        >>> figure = draw_unet(UNet(1, 2), 572)
        >>> len(figure.axes[0].patches) > 0
        True
    """
    stages = unet_stages(model, input_size)
    if not (isinstance(figsize, (tuple, list)) and len(figsize) == 2):
        raise TypeError(f"figsize must be (width, height) in inches, got {describe(figsize)}")
    figsize = tuple(number(v, "figsize", above=0, hint=" (inches)") for v in figsize)
    figure, ax = plt.subplots(figsize=figsize)
    drawing = _Drawing(ax, stages, model.depth)
    right_edges, bottom_x = _draw_contracting_path(drawing, stages, model.depth)
    last_end = _draw_expanding_path(drawing, stages, model.depth, right_edges, bottom_x)
    out_x = _draw_output(drawing, model.num_classes, stages[-1][-1][1], last_end)
    handles = [plt.Line2D([], [], color=colour, lw=2, label=name) for name, colour in ARROW_COLOURS.items()]
    ax.legend(handles=handles, loc="lower right", fontsize=_TEXT, frameon=False)
    ax.set_xlim(-0.3, out_x + 0.6)
    ax.set_ylim(drawing.top_of_level[-1] - 1.1, 0.3)
    ax.set_axis_off()
    figure.tight_layout()
    return figure


class _Drawing:
    """The axes of a :func:`draw_unet` figure and its scales: bars, labels and arrows.

    A bar's height is the map's side on a log scale (the largest map 1), its width the channels
    on a log scale; the levels' rows lie 1.25 apart, ``gap`` separates neighbouring bars.
    """

    gap = 0.34

    def __init__(self, ax, stages: list[list[tuple[int, int]]], depth: int):
        self.ax = ax
        self.largest = max(side for maps in stages for _, side in maps)
        self.top_of_level = [-1.25 * level for level in range(depth + 1)]

    def height(self, side: int) -> float:
        return 0.35 + 0.65 * math.log(side) / math.log(self.largest)

    def bar_width(self, channels: int) -> float:
        return 0.06 + 0.035 * math.log2(channels)

    def arrow(self, x0: float, y0: float, x1: float, y1: float, kind: str) -> None:
        self.ax.annotate(
            "", xy=(x1, y1), xytext=(x0, y0), arrowprops=dict(arrowstyle="->", color=ARROW_COLOURS[kind], lw=1.6)
        )

    def bar(
        self, x: float, top: float, channels: int, side: int, face: str = "#9ecae1", label: str | None = "top"
    ) -> tuple[float, float]:
        """One feature map's bar, its top at ``top``, with its channel count beside or above it."""
        w, h = self.bar_width(channels), self.height(side)
        self.ax.add_patch(plt.Rectangle((x, top - h), w, h, facecolor=face, edgecolor="black", lw=0.8))
        if label == "left":  # beside the bar, clear of the pooling arrow that arrives at its top
            self.ax.text(x - 0.03, top - 0.02, str(channels), ha="right", va="top", fontsize=_TEXT)
        elif label == "top":
            self.ax.text(x + w / 2, top + 0.04, str(channels), ha="center", va="bottom", fontsize=_TEXT)
        return w, h

    def level(self, maps, x: float, level: int, skip: tuple[int, int] | None = None) -> float:
        """Draw one row of bars starting at x (after a hollow skip bar, if given); return its end."""
        ax, top = self.ax, self.top_of_level[level]
        if skip is not None:  # the copied map, concatenated with the first map of the row
            w, _ = self.bar(x, top, skip[0], skip[1], face="white", label=None)
            pair = w + self.bar_width(maps[0][0])
            # Two lines, so that the sum stays clear of the next bar's label.
            ax.text(x + pair / 2, top + 0.04, f"{skip[0]}\n+{maps[0][0]}", ha="center", va="bottom", fontsize=_TEXT)
            x += w
        previous = None
        for index, (channels, side) in enumerate(maps):
            # A count is written where it changes: a second convolution keeps its first's channels.
            shown_before = maps[0][0] + skip[0] if skip is not None and index == 1 else maps[index - 1][0]
            repeated = index > 0 and channels == shown_before
            label = (
                None if (skip is not None and index == 0) or repeated else "left" if index == 0 and level > 0 else "top"
            )
            w, h = self.bar(x, top, channels, side, label=label)
            if index in (0, len(maps) - 1):
                ax.text(
                    x - 0.02 - (self.bar_width(skip[0]) if skip is not None and index == 0 else 0),
                    top - h,
                    f"{side}\u00b2",
                    ha="right",
                    va="bottom",
                    fontsize=_SIDE_TEXT,
                    rotation=90,
                )
            if previous is not None:
                self.arrow(previous, top - h / 2, x, top - h / 2, "conv 3x3, ReLU")
            previous = x + w
            x += w + self.gap
        return x - self.gap


def _draw_contracting_path(
    drawing: _Drawing, stages: list[list[tuple[int, int]]], depth: int
) -> tuple[dict[int, tuple[float, float]], float]:
    """The levels going down, each joined to the next by a pooling arrow.

    Returns:
        Each level's ``(start, end)`` along x, and where the bottom level ends.
    """
    top_of_level, right_edges = drawing.top_of_level, {}
    x = 0.0
    bottom_x = 0.0
    for level in range(depth + 1):
        end = drawing.level(stages[level], x, level)
        right_edges[level] = (x, end)
        if level < depth:
            last_h = drawing.height(stages[level][-1][1])
            next_h = drawing.height(stages[level + 1][0][1])
            drawing.arrow(
                end - 0.05,
                top_of_level[level] - last_h,
                end - 0.05,
                top_of_level[level + 1] + 0.02 - 0 * next_h,
                "max pool 2x2",
            )
            x = end - 0.05 - drawing.bar_width(stages[level + 1][0][0]) / 2
        bottom_x = end
    return right_edges, bottom_x


def _draw_expanding_path(
    drawing: _Drawing,
    stages: list[list[tuple[int, int]]],
    depth: int,
    right_edges: dict[int, tuple[float, float]],
    bottom_x: float,
) -> float:
    """The levels going up, mirroring the contracting path, each with its copied skip map and the
    arrows that bring it (copy and crop) and the map from below (up-conv); returns where the top
    level ends (the bottom's end for a network without levels to climb)."""
    top_of_level, gap = drawing.top_of_level, drawing.gap
    x = bottom_x + gap
    last_end = bottom_x
    for index, level in enumerate(reversed(range(depth))):
        maps = stages[depth + 1 + index]
        start_x = max(x, 2 * bottom_x - right_edges[level][0] - 0.8)
        skip_channels = stages[level][-1][0]
        below_top = top_of_level[level + 1]
        # The copied (and cropped) skip map, hollow, joined by the up-convolved map.
        end = drawing.level(maps, start_x, level, skip=(skip_channels, maps[0][1]))
        drawing.arrow(
            right_edges[level][1] + 0.05,
            top_of_level[level] - 0.2,
            start_x - 0.03,
            top_of_level[level] - 0.2,
            "copy and crop",
        )
        drawing.arrow(
            x - gap / 2,
            below_top + 0.02,
            start_x + drawing.bar_width(skip_channels) / 2,
            top_of_level[level] - drawing.height(maps[0][1]),
            "up-conv 2x2",
        )
        x = end + gap
        last_end = end
    return last_end


def _draw_output(drawing: _Drawing, num_classes: int, out_side: int, last_end: float) -> float:
    """The output map (one channel per class) after the 1x1 convolution; returns its x."""
    ax, top = drawing.ax, drawing.top_of_level[0]
    out_x = last_end + drawing.gap
    h = drawing.height(out_side)
    ax.add_patch(
        plt.Rectangle(
            (out_x, top - h),
            drawing.bar_width(num_classes),
            h,
            facecolor="#9ecae1",
            edgecolor="black",
            lw=0.8,
        )
    )
    ax.text(
        out_x + drawing.bar_width(num_classes) / 2,
        top + 0.04,
        str(num_classes),
        ha="center",
        va="bottom",
        fontsize=_TEXT,
    )
    drawing.arrow(last_end + 0.02, top - h / 2, out_x, top - h / 2, "conv 1x1")
    return out_x
