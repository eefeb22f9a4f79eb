"""The U-Net of Ronneberger, Fischer and Brox (2015), one small module per box of its Fig. 1.

Reading Fig. 1 left to right: a :class:`DoubleConv` (two blue arrows) at every level; going
down, a :class:`Down` (red arrow, 2x2 max-pool, then a DoubleConv); going up, an :class:`Up`
(green arrow, the 2x2 up-convolution; grey arrow, :class:`CropAndConcat`; then a DoubleConv);
at the end a 1x1 convolution (teal arrow) to one score per class. :class:`UNet` stacks them.

With ``padding="valid"`` (the paper's choice) every 3x3 convolution shrinks its map by 2
pixels, so the output is smaller than the input (572 -> 388 in the paper) and only some input
sizes work: each max-pool needs an even size. :func:`output_size` and
:func:`valid_input_sizes` do that arithmetic, and the model checks its input *before*
computing anything, naming the nearest sizes that work. With ``padding="same"`` the output
has the input's size; inputs whose size is not a multiple of ``2 ** depth`` are mirror-padded
and the output cropped back.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from unetlib._checks import boolean, choice, integer, number

__all__ = [
    "CropAndConcat",
    "DoubleConv",
    "Down",
    "Stage",
    "UNet",
    "UNetConfig",
    "Up",
    "init_paper_weights",
    "output_size",
    "same_padded_size",
    "valid_input_sizes",
]

PADDINGS = ("valid", "same")
UP_MODES = ("transpose", "bilinear")
#: The most weights a network of this module may have: 2**31 (8 GiB in float32), far beyond what
#: any chapter builds (the paper's U-Net has 31 million), and a wall before an allocation fails.
MAX_PARAMETERS = 2**31
#: The deepest U-Net the size arithmetic accepts (the paper's has depth 4; at depth 64 the smallest
#: valid input is 2**67 pixels): a bound that keeps its integers and loops small.
MAX_DEPTH = 64


# --------------------------------------------------------------------------------------------
# The boxes of Fig. 1
# --------------------------------------------------------------------------------------------


class DoubleConv(nn.Sequential):
    """Two 3x3 convolutions, each followed by ReLU (and batch norm before it, when asked).

    Args:
        in_channels: channels coming in.
        out_channels: channels of both convolutions' outputs.
        padding: ``"valid"`` (each convolution removes a 1-pixel border: -4 pixels in all) or
            ``"same"`` (zero padding keeps the size).
        batch_norm: add ``BatchNorm2d`` after each convolution (not in the paper; it makes
            training less sensitive to the learning rate). The convolutions then have no bias,
            which batch norm would cancel.

    Shapes:
        ``(N, in_channels, H, W) -> (N, out_channels, H - 4, W - 4)`` (valid) or ``(..., H, W)``.

    Example:
        >>> DoubleConv(1, 64)(torch.zeros(1, 1, 572, 572)).shape
        torch.Size([1, 64, 568, 568])
    """

    def __init__(self, in_channels: int, out_channels: int, padding: str = "valid", batch_norm: bool = False):
        _check_channels(in_channels=in_channels, out_channels=out_channels)
        choice(padding, "padding", PADDINGS)
        batch_norm = boolean(batch_norm, "batch_norm")
        _check_parameters(_double_conv_weights(in_channels, out_channels), "in_channels and out_channels")
        layers: list[nn.Module] = []
        for channels_in in (in_channels, out_channels):
            layers.append(
                nn.Conv2d(channels_in, out_channels, 3, padding=1 if padding == "same" else 0, bias=not batch_norm)
            )
            if batch_norm:
                layers.append(nn.BatchNorm2d(out_channels))
            layers.append(nn.ReLU(inplace=True))
        super().__init__(*layers)


class Down(nn.Sequential):
    """One step down the contracting path: 2x2 max-pool (halves the size), then a DoubleConv.

    Example:
        >>> Down(64, 128)(torch.zeros(1, 64, 568, 568)).shape
        torch.Size([1, 128, 280, 280])
    """

    def __init__(self, in_channels: int, out_channels: int, padding: str = "valid", batch_norm: bool = False):
        super().__init__(nn.MaxPool2d(2), DoubleConv(in_channels, out_channels, padding, batch_norm))


class CropAndConcat(nn.Module):
    """Crop the skip connection's map to the centre of the upsampled map's size, and stack them.

    The contracting path's maps are larger than the expanding path's (valid convolutions lost
    their borders on the way down and up), so only their centres line up.

    Shapes:
        ``x (N, C1, h, w)``, ``skip (N, C2, H, W)`` with ``H >= h``, ``W >= w`` and an even
        difference -> ``(N, C2 + C1, h, w)``, the skip's channels first as in the paper.

    Example:
        >>> CropAndConcat()(torch.zeros(1, 512, 56, 56), torch.zeros(1, 512, 64, 64)).shape
        torch.Size([1, 1024, 56, 56])
    """

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        # An odd difference has no centre: the crop would sit half a pixel off the map below.
        extra = (skip.shape[-2] - x.shape[-2], skip.shape[-1] - x.shape[-1])
        if min(extra) < 0 or extra[0] % 2 or extra[1] % 2:
            raise ValueError(
                f"the skip connection's map {tuple(skip.shape[-2:])} must be larger than the upsampled "
                f"{tuple(x.shape[-2:])} by an even number of pixels on each axis, to crop its centre"
            )
        top, left = extra[0] // 2, extra[1] // 2
        cropped = skip[..., top : top + x.shape[-2], left : left + x.shape[-1]]
        return torch.cat([cropped, x], dim=1)


class Up(nn.Module):
    """One step up the expanding path: double the size and halve the channels, crop-and-concat
    the skip connection, then a DoubleConv.

    Args:
        in_channels: channels coming up from below; the skip brings ``in_channels // 2``.
        out_channels: channels after the DoubleConv.
        padding: as in :class:`DoubleConv`.
        up_mode: ``"transpose"`` (the paper's learned 2x2 up-convolution, stride 2) or
            ``"bilinear"`` (fixed bilinear upsampling, then a 1x1 convolution to halve the
            channels; it cannot produce checkerboard artefacts).
        batch_norm: as in :class:`DoubleConv`.

    Example:
        >>> Up(1024, 512)(torch.zeros(1, 1024, 28, 28), torch.zeros(1, 512, 64, 64)).shape
        torch.Size([1, 512, 52, 52])
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        padding: str = "valid",
        up_mode: str = "transpose",
        batch_norm: bool = False,
    ):
        super().__init__()
        _check_channels(in_channels=in_channels, out_channels=out_channels)
        choice(up_mode, "up_mode", UP_MODES)
        if in_channels % 2:
            raise ValueError(f"in_channels must be even (the up step halves it), got {in_channels}")
        _check_parameters(_up_weights(in_channels, out_channels, up_mode), "in_channels and out_channels")
        if up_mode == "transpose":
            self.up = nn.ConvTranspose2d(in_channels, in_channels // 2, kernel_size=2, stride=2)
        else:
            self.up = nn.Sequential(
                nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
                nn.Conv2d(in_channels, in_channels // 2, kernel_size=1),
            )
        self.concat = CropAndConcat()
        self.conv = DoubleConv(in_channels, out_channels, padding, batch_norm)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return self.conv(self.concat(self.up(x), skip))


# --------------------------------------------------------------------------------------------
# Size arithmetic: which inputs work, what comes out, and every stage in between
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stage:
    """One row of a shape trace: the map after ``name`` and, for up steps, the skip's crop."""

    name: str
    channels: int
    height: int
    width: int
    crop: int = 0  # pixels cropped from each side of the skip connection's map

    def __str__(self) -> str:
        crop = f"  (skip cropped by {self.crop} px per side)" if self.crop else ""
        return f"{self.name:<12} {self.channels:>5} x {self.height:>4} x {self.width:<4}{crop}".rstrip()


def _axis_sizes(size: int, depth: int, padding: str) -> list[int]:
    """The map size along one axis after each DoubleConv, down then up; raises if it breaks."""
    shrink = 4 if padding == "valid" else 0
    sizes, current = [], size - shrink
    for level in range(depth + 1):
        if current < 1:
            raise _TooSmall(level)
        sizes.append(current)
        if level == depth:
            break
        if current % 2:
            raise _OddAtPool(level, current)
        current = current // 2 - shrink
    for level in reversed(range(depth)):
        current = current * 2 - shrink
        if current < 1:
            raise _TooSmall(level)
        sizes.append(current)
    return sizes


class _OddAtPool(Exception):
    def __init__(self, level: int, size: int):
        self.level, self.size = level, size


class _TooSmall(Exception):
    def __init__(self, level: int):
        self.level = level


def _check_depth_and_padding(depth: int, padding: str) -> None:
    integer(depth, "depth", minimum=0, hint=" (the number of pooling steps)")
    integer(depth, "depth", maximum=MAX_DEPTH, hint=" (the number of pooling steps; the paper's is 4)")
    choice(padding, "padding", PADDINGS)


def same_padded_size(size: int, depth: int) -> int:
    """The size a same-padding U-Net of ``depth`` pads ``size`` up to: the next multiple of
    ``2 ** depth``, so that every pooling step halves an even size (model, trace and tiling
    all use this one rule).

    Example:
        >>> same_padded_size(100, depth=4), same_padded_size(96, depth=4)
        (112, 96)
    """
    integer(size, "size", minimum=1)
    integer(depth, "depth", minimum=0)
    integer(depth, "depth", maximum=MAX_DEPTH)
    return size + (-size) % 2**depth


def output_size(input_size: int, depth: int = 4, padding: str = "valid") -> int:
    """Output size along one axis of a U-Net with ``depth`` pooling steps.

    Args:
        input_size: input height or width.
        depth: number of 2x2 max-pool steps (4 in the paper).
        padding: ``"valid"`` or ``"same"``.

    Returns:
        The output size; for ``"same"``, the input size.

    Raises:
        ValueError: for a valid-padding network, if a pooling step would meet an odd size or
            a map would vanish; the message names the nearest sizes that work.

    Example:
        >>> output_size(572)  # the paper's Fig. 1
        388
    """
    _check_depth_and_padding(depth, padding)
    _check_size(input_size, depth, padding, "input_size")
    return input_size if padding == "same" else _axis_sizes(input_size, depth, padding)[-1]


def valid_input_sizes(depth: int = 4, minimum: int = 1, maximum: int = 1024) -> list[int]:
    """Input sizes (along one axis) that a valid-padding U-Net accepts, from minimum to maximum.

    They are evenly spaced, ``2 ** depth`` apart: every pooling step must see an even size.

    Example:
        >>> valid_input_sizes(depth=4, minimum=560, maximum=600)
        [572, 588]
    """
    _check_depth_and_padding(depth, "valid")
    minimum, maximum = integer(minimum, "minimum"), integer(maximum, "maximum", minimum=1, hint=" (pixels)")
    if minimum > maximum:
        raise ValueError(
            f"minimum must not exceed maximum (the sizes lie from minimum to maximum), got minimum={minimum}, "
            f"maximum={maximum}; swap them?"
        )
    smallest, step = _smallest_valid(depth), 2**depth
    first = smallest if minimum <= smallest else smallest + math.ceil((minimum - smallest) / step) * step
    return list(range(first, maximum + 1, step))


def _smallest_valid(depth: int) -> int:
    """The smallest input a valid-padding U-Net of ``depth`` accepts, in closed form.

    Going down, each level's map is ``2 * (next + 4)`` (a DoubleConv loses 4 pixels, a pool
    halves), so a bottom map of ``b`` pixels needs an input of ``2**depth * b + 2**(depth+3) - 4``.
    Going up, each level doubles and loses 4: a bottom of 3 survives one step (3 -> 2) but not
    two (2 -> 0), so ``b >= 3`` for depth 1 and ``b >= 4`` for deeper nets. Every ``2**depth``
    pixels more adds one to ``b``: the valid sizes are ``smallest, smallest + 2**depth, ...``.
    """
    bottom = 1 if depth == 0 else 3 if depth == 1 else 4
    return 2**depth * bottom + 2 ** (depth + 3) - 4


def _fits(size: int, depth: int) -> bool:
    smallest = _smallest_valid(depth)
    return size >= smallest and (size - smallest) % 2**depth == 0


def _nearest_valid(size: int, depth: int) -> tuple[int | None, int]:
    """The valid sizes just below (None if there is none) and just above ``size``."""
    smallest, step = _smallest_valid(depth), 2**depth
    if size < smallest:
        return None, smallest
    below = smallest + (size - smallest) // step * step
    return below, below if below == size else below + step


def _check_size(size: int, depth: int, padding: str, what: str) -> None:
    """Raise a ValueError that says what to do, for a size this network cannot take."""
    integer(size, what)
    if padding == "same":
        if size < 2**depth:
            raise ValueError(
                f"{what} {size} is too small for a same-padding U-Net of depth {depth}: its {depth} "
                f"poolings need at least {2**depth} pixels; pad the image to {2**depth} or use depth "
                f"{max(0, int(math.log2(max(size, 1))))}"
            )
        return
    try:
        _axis_sizes(size, depth, padding)
    except (_OddAtPool, _TooSmall) as problem:
        below, above = _nearest_valid(size, depth)
        nearest = f"{below} or {above}" if below else f"{above}"
        reason = (
            f"the map would be {problem.size} pixels (odd) at pooling step {problem.level + 1}"
            if isinstance(problem, _OddAtPool)
            else "a map would shrink to nothing"
        )
        raise ValueError(
            f"{what} {size} does not fit a valid-padding U-Net of depth {depth}: {reason}. "
            f"The nearest sizes that work are {nearest} (see valid_input_sizes); pad or crop the "
            f"image to one of them, use predict_tiled, or build the UNet with padding='same'"
        ) from None


# --------------------------------------------------------------------------------------------
# The network
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UNetConfig:
    """Everything needed to build a :class:`UNet` again, held once (checkpoints store it as a dict).

    Example:
        >>> config = UNetConfig(in_channels=1, num_classes=2, depth=2, base_channels=8)
        >>> UNet(**config.as_dict()).config == config
        True
    """

    in_channels: int
    num_classes: int
    depth: int = 4
    base_channels: int = 64
    padding: str = "valid"
    up_mode: str = "transpose"
    batch_norm: bool = False
    dropout: float = 0.0

    def as_dict(self) -> dict:
        """The fields as a plain dict (what a ``weights_only`` checkpoint can hold)."""
        return asdict(self)


class UNet(nn.Module):
    """The U-Net: a contracting path, a bottleneck, and an expanding path with skip connections.

    Args:
        in_channels: channels of the input images (1 for grey, 3 for RGB).
        num_classes: output channels, one score (logit) per class; no activation is applied.
        depth: number of pooling steps (4 in the paper: 5 levels).
        base_channels: channels at the first level; they double per level (64 ... 1024 for
            the defaults).
        padding: ``"valid"`` (the paper's: output smaller than input) or ``"same"``.
        up_mode: ``"transpose"`` (the paper's up-convolution) or ``"bilinear"``.
        batch_norm: batch norm after every convolution (not in the paper).
        dropout: dropout probability at the end of the contracting path (the paper uses
            dropout there; 0 turns it off).

    Shapes:
        ``(N, in_channels, H, W) -> (N, num_classes, output_size(H), output_size(W))``.

    Example:
        >>> model = UNet(in_channels=1, num_classes=2)
        >>> model(torch.zeros(1, 1, 572, 572)).shape  # the paper's Fig. 1
        torch.Size([1, 2, 388, 388])
    """

    def __init__(
        self,
        in_channels: int,
        num_classes: int,
        depth: int = 4,
        base_channels: int = 64,
        padding: str = "valid",
        up_mode: str = "transpose",
        batch_norm: bool = False,
        dropout: float = 0.0,
    ):
        super().__init__()
        _check_channels(in_channels=in_channels, num_classes=num_classes, base_channels=base_channels)
        _check_depth_and_padding(depth, padding)
        choice(up_mode, "up_mode", UP_MODES)
        batch_norm = boolean(batch_norm, "batch_norm")
        dropout = number(dropout, "dropout", minimum=0, below=1, hint=" (a probability in [0, 1))")
        _check_parameters(
            _unet_weights(in_channels, num_classes, [base_channels * 2**level for level in range(depth + 1)], up_mode),
            f"depth {depth} and base_channels {base_channels}",
            " (the paper's depth 4 and base_channels 64 give 31 million)",
        )
        self.in_channels, self.num_classes, self.depth, self.padding = in_channels, num_classes, depth, padding
        # Everything needed to build this network again: checkpoints and tiling read it from here.
        self.config = UNetConfig(in_channels, num_classes, depth, base_channels, padding, up_mode, batch_norm, dropout)
        widths = [base_channels * 2**level for level in range(depth + 1)]
        self.widths = widths

        # Contracting path: a DoubleConv at the top, then one Down per level.
        self.inc = DoubleConv(in_channels, widths[0], padding, batch_norm)
        self.downs = nn.ModuleList(Down(widths[i], widths[i + 1], padding, batch_norm) for i in range(depth))
        self.dropout = nn.Dropout(dropout)
        # Expanding path: one Up per level, from the bottom back to the top.
        self.ups = nn.ModuleList(
            Up(widths[i + 1], widths[i], padding, up_mode, batch_norm) for i in reversed(range(depth))
        )
        # A 1x1 convolution: a linear classifier applied to every pixel's feature vector.
        self.head = nn.Conv2d(widths[0], num_classes, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.check_input(x)
        height, width = x.shape[-2:]
        x, crop = self._pad_to_multiple(x)

        # Down: remember each level's map for the skip connection before pooling.
        skips = []
        x = self.inc(x)
        for down in self.downs:
            skips.append(x)
            x = down(x)
        x = self.dropout(x)
        # Up: each step takes the map remembered at its level, the deepest first.
        for up in self.ups:
            x = up(x, skips.pop())
        logits = self.head(x)

        if crop:
            logits = logits[..., crop[0] : crop[0] + height, crop[1] : crop[1] + width]
        return logits

    def _pad_to_multiple(self, x: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int] | None]:
        """Same padding: mirror-pad H and W up to a multiple of 2 ** depth (undone at the end)."""
        if self.padding == "valid":
            return x, None
        height, width = (int(size) for size in x.shape[-2:])  # ints while tracing, too
        extra_h = same_padded_size(height, self.depth) - height
        extra_w = same_padded_size(width, self.depth) - width
        if not (extra_h or extra_w):
            return x, None
        top, left = extra_h // 2, extra_w // 2
        x = F.pad(x, (left, extra_w - left, top, extra_h - top), mode="reflect")
        return x, (top, left)

    def check_input(self, x: torch.Tensor) -> None:
        """Raise a clear error if ``x`` cannot go through this network (called by forward)."""
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"x must be a torch.Tensor of shape (N, C, H, W), got {type(x).__name__}")
        if x.ndim != 4:
            hint = "; add a batch axis with x[None]" if x.ndim == 3 else ""
            raise ValueError(f"x must have shape (N, C, H, W), got shape {tuple(x.shape)}{hint}")
        if x.shape[1] != self.in_channels:
            raise ValueError(
                f"x has {x.shape[1]} channels but this UNet was built with in_channels={self.in_channels}; "
                f"got shape {tuple(x.shape)}"
            )
        if torch.jit.is_tracing():  # exporting (ONNX): sizes are traced values, and the
            return  # example input was checked by an ordinary call first (export_onnx)
        for axis, size in (("height", x.shape[-2]), ("width", x.shape[-1])):
            _check_size(int(size), self.depth, self.padding, f"input {axis}")

    def output_shape(self, height: int, width: int | None = None) -> tuple[int, int]:
        """``(H_out, W_out)`` for an input of ``height x width`` (square if width is None)."""
        width = height if width is None else width
        for axis, size in (("height", height), ("width", width)):
            _check_size(size, self.depth, self.padding, axis)
        return (output_size(height, self.depth, self.padding), output_size(width, self.depth, self.padding))

    def shape_trace(self, height: int, width: int | None = None) -> list[Stage]:
        """Every stage's channels x height x width for an input of that size, and how many pixels
        each skip connection is cropped by; computed from the arithmetic, no forward pass.

        Example:
            >>> trace = UNet(1, 2).shape_trace(572)
            >>> print(trace[0], trace[-1], sep="\\n")
            input            1 x  572 x 572
            output           2 x  388 x 388
        """
        width = height if width is None else width
        for axis, size in (("height", height), ("width", width)):
            _check_size(size, self.depth, self.padding, f"input {axis}")
        padded = [same_padded_size(size, self.depth) if self.padding == "same" else size for size in (height, width)]
        sizes_h, sizes_w = (_axis_sizes(size, self.depth, self.padding) for size in padded)
        stages = [Stage("input", self.in_channels, height, width)]
        for level in range(self.depth + 1):
            stages.append(
                Stage("inc" if level == 0 else f"down {level}", self.widths[level], sizes_h[level], sizes_w[level])
            )
        for step, level in enumerate(reversed(range(self.depth))):
            index = self.depth + 1 + step  # sizes: the depth + 1 levels down, then the ups
            crop = (sizes_h[level] - 2 * sizes_h[index - 1]) // 2
            stages.append(Stage(f"up {step + 1}", self.widths[level], sizes_h[index], sizes_w[index], crop))
        stages.append(Stage("output", self.num_classes, *self.output_shape(height, width)))
        return stages


def init_paper_weights(model: nn.Module) -> nn.Module:
    """The paper's initialisation: every convolution's weights drawn from a Gaussian with
    standard deviation ``sqrt(2 / N)``, N the number of incoming connections of one output
    neuron (``9 * 64 = 576`` for a 3x3 convolution reading 64 channels); biases zero.

    For a 2x2, stride-2 up-convolution each output pixel is reached by one input pixel per
    input channel, so N is the number of input channels.

    Returns:
        The model, initialised in place.

    Example:
        >>> model = init_paper_weights(UNet(1, 2, base_channels=64))
        >>> weight = model.inc[2].weight   # the second 3x3 conv of level 1: N = 9 * 64
        >>> round(weight.std().item() / (2 / 576) ** 0.5, 1)
        1.0
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module (a UNet, say), got {type(model).__name__}")
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            fan_in = module.in_channels // module.groups * math.prod(module.kernel_size)
        elif isinstance(module, nn.ConvTranspose2d):
            fan_in = module.in_channels * math.prod(module.kernel_size) // math.prod(module.stride)
        else:
            continue
        with torch.no_grad():
            module.weight.normal_(0.0, math.sqrt(2.0 / fan_in))
            if module.bias is not None:
                module.bias.zero_()
    return model


# --------------------------------------------------------------------------------------------
# Argument checks
# --------------------------------------------------------------------------------------------


def _check_channels(**counts: int) -> None:
    for name, value in counts.items():
        integer(value, name, minimum=1)


def _double_conv_weights(in_channels: int, out_channels: int) -> int:
    """The weights of a :class:`DoubleConv`'s two 3x3 convolutions (biases and batch norm aside)."""
    return 9 * in_channels * out_channels + 9 * out_channels * out_channels


def _up_weights(in_channels: int, out_channels: int, up_mode: str) -> int:
    """The weights of an :class:`Up`: its 2x2 up-convolution (or 1x1 convolution) and DoubleConv."""
    kernel = 4 if up_mode == "transpose" else 1
    return kernel * in_channels * (in_channels // 2) + _double_conv_weights(in_channels, out_channels)


def _unet_weights(in_channels: int, num_classes: int, widths: list[int], up_mode: str) -> int:
    """The weights of a :class:`UNet` with these level widths, from the sizes alone (nothing built)."""
    total = _double_conv_weights(in_channels, widths[0]) + widths[0] * num_classes
    for narrow, wide in zip(widths, widths[1:]):
        total += _double_conv_weights(narrow, wide) + _up_weights(wide, narrow, up_mode)
    return total


def _check_parameters(count: int, what: str, hint: str = "") -> None:
    """Refuse a network too large to build, before PyTorch tries to allocate it."""
    if count > MAX_PARAMETERS:
        raise ValueError(
            f"{what} would make a network of about {count:.3g} weights ({4 * count / 2**30:.3g} GiB in float32), "
            f"more than the {MAX_PARAMETERS:,} this package builds; use fewer channels or levels{hint}"
        )
