"""Overlap-tile: segment an image of any size, a few tiles at a time (Ronneberger et al., Fig. 2).

A valid-padding U-Net predicts a small square from a larger one: the border it loses is the
*context* each output pixel needs. To segment a large image, cut it into output tiles, give
each one its context from the surrounding image, and where the context lies outside the image,
mirror the image. Only ``batch_size`` tiles are in memory on the device at a time, so the
image can be far larger than the network could take whole.

Tiles are placed on a grid whose step is a multiple of ``2 ** depth``: then every tile sees
the same pooling grid as the whole image would, and the stitched result *equals* the network
run on the whole mirror-padded image (up to floating-point rounding), with no seams at all.

A same-padding U-Net invents zeros at every tile's border, so its tiles overlap by a
``margin`` that is thrown away; the seams that remain are small and can be measured.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from unetlib._checks import boolean, integer, model_device, real_array
from unetlib.config import choose_device
from unetlib.model import UNet, output_size, same_padded_size

__all__ = ["TileGrid", "mirror_indices", "mirrored_crop", "plan_tiles", "predict_tiled"]


def mirror_indices(start: int, length: int, size: int) -> np.ndarray:
    """Indices ``start ... start + length - 1`` into an axis of ``size`` pixels, mirrored at both
    ends (the edge pixel is not repeated, as ``np.pad(mode="reflect")``), as often as needed.

    Example:
        >>> mirror_indices(-3, 10, 4)
        array([3, 2, 1, 0, 1, 2, 3, 2, 1, 0])
    """
    start, length = integer(start, "start"), integer(length, "length", minimum=0)
    size = integer(size, "size", minimum=1)
    index = np.arange(start, start + length)
    if size == 1:
        return np.zeros_like(index)
    period = 2 * (size - 1)
    index = np.abs(index) % period
    return np.where(index >= size, period - index, index)


class TileGrid:
    """Where the tiles go along one image of ``height x width`` pixels.

    Args:
        height, width: the image's size in pixels, at least 1.
        tile, margin, step: as the attributes; ``margin < tile / 2`` and ``1 <= step <= tile - 2 * margin``
            (the output squares must meet, or pixels would be left out).

    Attributes:
        tile: input tile side (pixels the network reads).
        margin: context on each side of a tile's output square (pixels not written).
        step: distance between neighbouring tiles' outputs (a multiple of ``2 ** depth``).
        rows: the output squares' top rows, in image coordinates.
        cols: the output squares' left columns, in image coordinates.

    Example:
        >>> grid = TileGrid(height=500, width=300, tile=572, margin=92, step=384)
        >>> grid.rows, grid.cols, len(grid.corners())
        ([0, 384], [0], 2)
    """

    def __init__(self, height: int, width: int, tile: int, margin: int, step: int):
        height, width = integer(height, "height", minimum=1), integer(width, "width", minimum=1)
        tile = integer(tile, "tile", minimum=1, hint=" (pixels a side)")
        margin = integer(margin, "margin", minimum=0, maximum=(tile - 1) // 2, hint=f" (for tile {tile})")
        kept = tile - 2 * margin  # the output square a tile writes
        step = integer(
            step,
            "step",
            minimum=1,
            maximum=kept,
            hint=f" (a tile of {tile} with margin {margin} writes {kept} pixels a side; a larger step leaves gaps)",
        )
        self.height, self.width, self.tile, self.margin, self.step = height, width, tile, margin, step
        self.rows = list(range(0, max(height - step, 0) + 1, step))
        self.cols = list(range(0, max(width - step, 0) + 1, step))
        # One more row / column of tiles when the grid stops short of the image's edge.
        if self.rows[-1] + step < height:
            self.rows.append(self.rows[-1] + step)
        if self.cols[-1] + step < width:
            self.cols.append(self.cols[-1] + step)

    def __len__(self) -> int:
        return len(self.rows) * len(self.cols)

    def corners(self) -> list[tuple[int, int]]:
        """Every output square's top-left corner ``(row, col)``, row by row."""
        return [(r, c) for r in self.rows for c in self.cols]


def plan_tiles(model: UNet, height: int, width: int, tile_size: int, margin: int | None = None) -> TileGrid:
    """Check ``tile_size`` (and ``margin``) for this model and lay out the tiles.

    For a valid-padding U-Net the margin is fixed by the network: ``(tile - output) / 2``.
    For a same-padding one it is the overlap thrown away on each side (default ``tile // 4``).

    Example:
        The paper's network reads 572-pixel tiles and writes their central 388; tiles are placed
        384 apart, a multiple of 2 ** 4, so that their poolings line up with the whole image's.

        >>> grid = plan_tiles(UNet(1, 2), height=1000, width=700, tile_size=572)
        >>> grid.margin, grid.step, grid.rows, grid.cols
        (92, 384, [0, 384, 768], [0, 384])
    """
    if not isinstance(model, UNet):
        raise TypeError(
            f"model must be a unetlib.model.UNet (its padding and depth set the tiling), got {type(model).__name__}"
        )
    integer(tile_size, "tile_size", minimum=1)
    height, width = integer(height, "height", minimum=1), integer(width, "width", minimum=1)
    multiple = 2**model.depth
    if model.padding == "valid":
        out = output_size(tile_size, model.depth, "valid")  # raises, naming valid sizes, if it does not fit
        needed = (tile_size - out) // 2
        if margin is not None and margin != needed:
            raise ValueError(
                f"margin is fixed by a valid-padding network: a {tile_size}-pixel tile gives a {out}-pixel "
                f"output, so the margin is {needed}; leave margin=None"
            )
        if out < multiple:
            # Tiles must sit 2**depth apart so that their poolings line up with the image's, and
            # their outputs must cover that step: each valid size 2**depth larger adds 2**depth.
            enough = tile_size + (multiple - out + multiple - 1) // multiple * multiple
            raise ValueError(
                f"tile_size {tile_size} gives a {out}-pixel output at depth {model.depth}, less than the "
                f"{multiple}-pixel step that keeps tiles on the pooling grid: use tile_size {enough} or larger"
            )
        margin, step = needed, out - out % multiple
    else:
        if same_padded_size(tile_size, model.depth) != tile_size:
            raise ValueError(
                f"tile_size must be a multiple of {multiple} for a same-padding U-Net of depth {model.depth}, "
                f"got {tile_size}; try {max(multiple, tile_size - tile_size % multiple)}"
            )
        margin = tile_size // 4 if margin is None else margin
        margin = integer(
            margin, "margin", minimum=0, maximum=(tile_size - 1) // 2, hint=f" (for tile_size {tile_size})"
        )
        step = tile_size - 2 * margin
        step -= step % multiple if step >= multiple else 0
    return TileGrid(height, width, tile_size, margin, step)


def predict_tiled(
    model: UNet,
    image: np.ndarray | torch.Tensor,
    tile_size: int,
    margin: int | None = None,
    batch_size: int = 4,
    device: torch.device | str | None = None,
    progress: bool | None = None,
) -> torch.Tensor:
    """Run ``model`` over ``image`` tile by tile and stitch the logits (overlap-tile).

    Args:
        model: a :class:`~unetlib.model.UNet`; it is run in eval mode (its mode is restored).
        image: ``(H, W)``, ``(C, H, W)`` or a batch ``(N, C, H, W)``, array or tensor, any size,
            ``C == model.in_channels``.
        tile_size: side of the square input tiles; for a valid-padding model one of
            :func:`~unetlib.model.valid_input_sizes`.
        margin: same-padding models only: pixels of overlap discarded on each side of a tile.
        batch_size: tiles per forward pass; with ``tile_size`` this bounds the memory used.
        device: where to run (the model is moved there); default where its weights are.
        progress: show a progress bar (default: when there are more than 8 batches).

    Returns:
        ``(num_classes, H, W)`` float32 logits on the CPU; ``(N, num_classes, H, W)`` for a batch.

    Example:
        >>> model = UNet(1, 2, depth=2, base_channels=4)
        >>> predict_tiled(model, np.zeros((100, 130)), tile_size=92).shape
        torch.Size([2, 100, 130])
    """
    if getattr(image, "ndim", None) == 4:
        # A batch (N, C, H, W), as PyTorch and MONAI's sliding-window inference take it.
        return torch.stack(
            [predict_tiled(model, one, tile_size, margin, batch_size, device, progress) for one in image]
        )
    pixels = _as_chw(image, model.in_channels)
    channels, height, width = pixels.shape
    grid = plan_tiles(model, height, width, tile_size, margin)
    batch_size = integer(batch_size, "batch_size", minimum=1)
    if progress is not None:
        progress = boolean(progress, "progress")
    if device is None:
        device = model_device(model)
    else:
        device = choose_device(device)
        model.to(device)  # as everywhere in unetlib: a device given is where the model runs

    out_tile = output_size(tile_size, model.depth, model.padding) if model.padding == "valid" else tile_size
    keep = out_tile if model.padding == "valid" else tile_size - 2 * grid.margin
    offset = 0 if model.padding == "valid" else grid.margin  # where the kept square starts in a tile's output
    result = torch.empty(model.num_classes, height, width, dtype=torch.float32)
    corners = grid.corners()
    batches = [corners[i : i + batch_size] for i in range(0, len(corners), batch_size)]
    bar = _progress(len(batches), progress)
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            for batch in batches:
                tiles = np.stack([mirrored_crop(pixels, r - grid.margin, c - grid.margin, tile_size) for r, c in batch])
                logits = model(torch.from_numpy(tiles).to(device=device, dtype=_dtype_of(model))).float().cpu()
                for (r, c), tile_logits in zip(batch, logits):
                    rows, cols = min(keep, height - r), min(keep, width - c)
                    result[:, r : r + rows, c : c + cols] = tile_logits[
                        :, offset : offset + rows, offset : offset + cols
                    ]
                bar.update(1)
    finally:
        model.train(was_training)
        bar.close()
    return result


def mirrored_crop(image: np.ndarray, top: int, left: int, size: int) -> np.ndarray:
    """The ``size x size`` square of ``image`` (``(..., H, W)``) starting at ``(top, left)``,
    which may reach outside the image: the outside is the image mirrored at its edges.

    Example:
        >>> mirrored_crop(np.arange(9).reshape(3, 3), top=-1, left=-1, size=3)
        array([[4, 3, 4],
               [1, 0, 1],
               [4, 3, 4]])
    """
    image = np.asarray(image)
    if image.ndim < 2 or min(image.shape[-2:]) < 1:
        raise ValueError(
            f"image must have at least 2 dimensions (..., H, W), each of 1 pixel or more, got shape {image.shape}"
        )
    top, left, size = integer(top, "top"), integer(left, "left"), integer(size, "size", minimum=1)
    rows = mirror_indices(top, size, image.shape[-2])
    cols = mirror_indices(left, size, image.shape[-1])
    return image[..., rows[:, None], cols[None, :]]


def _as_chw(image: np.ndarray | torch.Tensor, in_channels: int) -> np.ndarray:
    array = real_array(
        image, "image", ndim=(2, 3), shape_hint="(H, W), (C, H, W) or (N, C, H, W)", finite=True, nonempty=True
    )
    if array.ndim == 2:
        array = array[None]
    if array.shape[0] != in_channels:
        raise ValueError(
            f"image has {array.shape[0]} channels (shape {array.shape}) but the model expects "
            f"in_channels={in_channels}; give (C, H, W) with channels first"
        )
    return array.astype(np.float32, copy=False)


def _dtype_of(model: nn.Module) -> torch.dtype:
    return next(model.parameters()).dtype


def _progress(total: int, show: bool | None):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="tiles", unit="batch", disable=not (total > 8 if show is None else show))
