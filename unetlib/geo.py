"""Remote-sensing scenes: multi-band GeoTIFFs with nodata and coordinates, in and out (Chapter 13).

A scene from a satellite is not a photograph. It has more bands than three (Landsat 7: blue,
green, red, near infrared and two short-wave infrared), values that are not 8-bit colours,
a *nodata* value per band marking pixels the sensor never saw (each band may use its own, of
its own type), and a coordinate reference system (CRS) with a geotransform that places every
pixel on the Earth. A segmentation of such a scene is only useful back in a GIS: written as a
raster on the same grid, nodata kept.

This module reads and writes with rasterio (``pip install "unetlib[geo]"``):

- :class:`Scene`: the bands of one or more rasters on one grid, read a window at a time
- :func:`check_same_grid`: two rasters on the same grid (CRS, transform, size), or a clear error
- :func:`read_labels`: a label raster as class indices, its nodata and the image's nodata ignored
- :func:`band_statistics`, :func:`normalise_bands`: per-band statistics of the training area
- :func:`write_raster`, :func:`write_stack`: GeoTIFFs on a scene's grid (tiled, compressed)
- :func:`scene_chips`: training squares where the scene is mostly labelled
- :func:`predict_scene`: a whole scene from disk to a georeferenced class GeoTIFF, tile by tile
  (Chapter 9's overlap-tile), memory bounded by the tile, not the scene

Example:
    >>> scene = Scene([landsat / f"lsat7_2000_{b}0.tif" for b in (1, 2, 3, 4, 5, 7)])  # doctest: +SKIP
    >>> scene.count, scene.crs.to_epsg(), scene.res  # doctest: +SKIP
    (6, 32119, (28.5, 28.5))
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from unetlib._checks import boolean, describe, integer, model_device, real_array
from unetlib.model import UNet, output_size
from unetlib.tiling import mirror_indices, plan_tiles

__all__ = [
    "INSTALL_HINT",
    "NODATA_CLASS",
    "Scene",
    "band_statistics",
    "check_same_grid",
    "normalise_bands",
    "predict_scene",
    "read_labels",
    "scene_chips",
    "write_raster",
    "write_stack",
]

INSTALL_HINT = 'pip install "unetlib[geo]" (which installs rasterio)'

#: The value a class raster holds where the scene has no data (declared as its nodata).
NODATA_CLASS = 255

#: How written rasters are laid out: square tiles (fast windows), lossless compression.
_LAYOUT = {"driver": "GTiff", "tiled": True, "blockxsize": 256, "blockysize": 256, "compress": "deflate"}


def _rasterio():
    """The rasterio module, or an error that says how to install it."""
    try:
        import rasterio
    except ImportError:
        raise ImportError(
            f"unetlib.geo reads and writes GeoTIFFs with rasterio, which is not installed: {INSTALL_HINT}"
        ) from None
    return rasterio


def check_same_grid(first, second, first_name: str = "first", second_name: str = "second") -> None:
    """Raise ``ValueError`` unless two rasters share CRS, transform and size (pixel for pixel).

    ``first`` and ``second`` are open rasterio datasets or :class:`Scene` objects. A label raster
    on another grid would pair each label with the wrong pixel: silently, if nothing checked.
    """
    checks = (
        ("CRS", lambda r: r.crs),
        ("transform", lambda r: tuple(r.transform)[:6]),
        ("size (width, height)", lambda r: (r.width, r.height)),
    )
    for what, get in checks:
        a, b = get(first), get(second)
        if a != b:
            raise ValueError(
                f"{first_name} and {second_name} are not on the same grid: {what} {a} against {b}. "
                "Resample one onto the other's grid first (rasterio.warp.reproject, or gdalwarp)"
            )


class Scene:
    """The bands of one or more rasters on one grid, read a window at a time.

    Each band keeps its file's nodata value and type; :meth:`read` returns float32 values and
    the *valid* mask, the pixels that hold data in every band (a pixel one band never saw
    cannot be classified from all of them).

    Args:
        paths: a GeoTIFF (any number of bands), or a list of them stacked in order (e.g. one
            file per Landsat band), all on the same grid.

    Attributes:
        paths: the files, in band order.
        crs: the coordinate reference system (a ``rasterio.crs.CRS``).
        transform: the geotransform (an ``affine.Affine``): pixel corner (col, row) to map (x, y).
        width: columns of the grid.
        height: rows of the grid.
        res: pixel size ``(x, y)`` in the CRS's units.
        bounds: ``(left, bottom, right, top)`` in map coordinates.
        count: number of bands.
        nodata: one value per band (``None`` where a file declares none).
        dtypes: each band's type as stored (``"float32"``, ``"int16"``, ...).

    Use it in a ``with`` block, or call :meth:`close`, to release the files.
    """

    def __init__(self, paths):
        rasterio = _rasterio()
        if isinstance(paths, (str, Path)):
            paths = [paths]
        if not isinstance(paths, (list, tuple)) or not paths or not all(isinstance(p, (str, Path)) for p in paths):
            raise TypeError(f"paths must be a raster path or a non-empty list of them, got {describe(paths)}")
        self.paths = [Path(p) for p in paths]
        for path in self.paths:
            if not path.is_file():
                raise ValueError(f"paths: {path} is not a file (give GeoTIFF files, e.g. scene.tif)")
        self._files = [rasterio.open(path) for path in self.paths]
        first = self._files[0]
        try:
            for path, file in zip(self.paths[1:], self._files[1:]):
                check_same_grid(first, file, str(self.paths[0]), str(path))
        except ValueError:
            self.close()
            raise
        self.crs, self.transform, self.res, self.bounds = first.crs, first.transform, first.res, first.bounds
        self.width, self.height = first.width, first.height
        self._bands = [(file, band) for file in self._files for band in range(1, file.count + 1)]
        self.nodata = [file.nodata for file, _ in self._bands]
        self.dtypes = [file.dtypes[band - 1] for file, band in self._bands]

    @property
    def count(self) -> int:
        """The number of bands, over all the files."""
        return len(self._bands)

    def read(self, window=None) -> tuple[np.ndarray, np.ndarray]:
        """``(pixels, valid)``: ``(count, h, w)`` float32 values and the ``(h, w)`` valid mask.

        ``window`` is a ``rasterio.windows.Window`` (default: the whole scene). Pixels
        outside ``valid`` keep their raw values (the nodata numbers): mask them before use.
        """
        # All bands of a file in one read: a block is decompressed once, not once per band.
        pixels = np.concatenate([file.read(window=window).astype(np.float32) for file in self._files])
        valid = np.isfinite(pixels).all(axis=0)
        for k, nodata in enumerate(self.nodata):
            if nodata is not None:
                valid &= pixels[k] != np.float32(nodata)
        return pixels, valid

    def read_tile(self, top: int, left: int, size: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``size x size`` square at ``(top, left)``, mirrored where it leaves the scene
        (as :func:`unetlib.tiling.mirrored_crop`); only the window it needs is read."""
        from rasterio.windows import Window

        rows = mirror_indices(top, size, self.height)
        cols = mirror_indices(left, size, self.width)
        r0, c0 = int(rows.min()), int(cols.min())
        window = Window(c0, r0, int(cols.max()) - c0 + 1, int(rows.max()) - r0 + 1)
        pixels, valid = self.read(window)
        index = np.ix_(rows - r0, cols - c0)
        return pixels[(slice(None), *index)], valid[index]

    def xy(self, row, col) -> tuple:
        """Map coordinates ``(x, y)`` of pixel centres (in the scene's CRS)."""
        from rasterio.transform import xy

        return xy(self.transform, row, col)

    def close(self) -> None:
        """Close the files (a ``with`` block does it on leaving)."""
        for file in self._files:
            file.close()

    def __enter__(self) -> Scene:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Scene({self.count} bands, {self.width} x {self.height} pixels, {self.crs}, {len(self.paths)} file(s))"


def read_labels(path, scene: Scene, classes, ignore_index: int = NODATA_CLASS, valid=None) -> np.ndarray:
    """A label raster as ``(H, W)`` int64 class indices on ``scene``'s grid.

    Class ``k`` is the pixels whose value is ``classes[k]``. Pixels that are the label raster's
    nodata, and pixels where ``scene`` has no data (labels can exist under the imagery's nodata
    frame, and a loader that kept them would train on nodata) become ``ignore_index``.

    Args:
        path: a one-band label GeoTIFF on the scene's grid.
        scene: the :class:`Scene` the labels belong to.
        classes: the label values, in class order (e.g. ``[1, 2, ..., 7]``).
        ignore_index: the value of ignored pixels (not one of the class indices).
        valid: the scene's ``(H, W)`` valid mask when it has been read already
            (:meth:`Scene.read`); by default the scene is read for it.

    Raises:
        ValueError: another grid (named), or label values that are neither classes nor nodata.
    """
    rasterio = _rasterio()
    classes = real_array(classes, "classes", ndim=1, finite=True, nonempty=True)
    ignore_index = integer(ignore_index, "ignore_index")
    if 0 <= ignore_index < len(classes):
        raise ValueError(f"ignore_index {ignore_index} is a class index (0..{len(classes) - 1}): use e.g. 255")
    shown = [int(c) if c == round(c) else float(c) for c in classes]
    with rasterio.open(path) as labels:
        check_same_grid(scene, labels, "scene", f"labels {path}")
        values, nodata = labels.read(1), labels.nodata
    if valid is None:
        _, valid = scene.read()
    known = _is_nodata(values, nodata)
    result = np.full(values.shape, ignore_index, np.int64)
    for index, value in enumerate(classes):
        result[values == value] = index
        known |= values == value
    if not known.all():
        strange = np.unique(values[~known])[:5].tolist()
        raise ValueError(
            f"labels {path} hold values {strange} that are neither in classes {shown} nor its nodata "
            f"({nodata}): list every class value in classes"
        )
    result[~valid] = ignore_index
    return result


def _is_nodata(values: np.ndarray, nodata) -> np.ndarray:
    """Where ``values`` equal a raster's declared nodata (NaN included, which equals nothing)."""
    if nodata is None:
        return np.zeros(values.shape, bool)
    return np.isnan(values) if np.isnan(nodata) else values == nodata


def band_statistics(pixels, mask) -> tuple[np.ndarray, np.ndarray]:
    """Per-band mean and standard deviation (``ddof=0``) of ``pixels`` over the pixels in ``mask``.

    Compute them on the training area's valid pixels only: statistics that include nodata
    values (-99999) or the test area would be wrong, or would leak.

    Example:
        >>> pixels = np.array([[[1.0, 3.0], [-99.0, 5.0]]])
        >>> band_statistics(pixels, np.array([[True, True], [False, True]]))
        (array([3.]), array([1.63299316]))
    """
    pixels = real_array(pixels, "pixels", ndim=3, shape_hint="(bands, H, W)")
    mask = np.asarray(mask, bool)
    if mask.shape != pixels.shape[1:]:
        raise ValueError(f"mask must be (H, W) = {pixels.shape[1:]}, like pixels, got {mask.shape}")
    if not mask.any():
        raise ValueError("mask selects no pixel: statistics need at least one valid training pixel")
    chosen = pixels[:, mask].astype(np.float64)
    return chosen.mean(axis=1), chosen.std(axis=1)


def normalise_bands(pixels, valid, mean, std) -> np.ndarray:
    """``(pixels - mean) / std`` band by band, float32, with nodata pixels set to 0 (the mean).

    A nodata pixel then looks like an average pixel to the network instead of an extreme one;
    its label is ignored anyway (:func:`read_labels`) and its prediction written as nodata.
    """
    mean = np.asarray(mean, np.float32)[:, None, None]
    std = np.asarray(std, np.float32)[:, None, None]
    if mean.shape[0] != len(pixels) or std.shape[0] != len(pixels) or (std <= 0).any():
        raise ValueError(
            f"mean and std must hold one number per band ({len(pixels)}; std > 0), got {mean.ravel()} and {std.ravel()}"
        )
    return np.where(valid, (pixels - mean) / std, np.float32(0)).astype(np.float32)


def _profile(scene, dtype: str, count: int, nodata) -> dict:
    return _LAYOUT | {
        "dtype": dtype,
        "count": count,
        "nodata": nodata,
        "crs": scene.crs,
        "transform": scene.transform,
        "width": scene.width,
        "height": scene.height,
    }


def write_raster(path, array, like, nodata=None) -> Path:
    """Write a ``(H, W)`` or ``(bands, H, W)`` array as a GeoTIFF on ``like``'s grid.

    ``like`` is a :class:`Scene` or an open rasterio dataset (its CRS, transform and size are
    used); the file is tiled 256 x 256 and deflate-compressed; ``nodata`` is declared.
    """
    rasterio = _rasterio()
    array = np.asarray(array)
    array = array[None] if array.ndim == 2 else array
    if array.ndim != 3 or array.shape[1:] != (like.height, like.width):
        raise ValueError(
            f"array must be (H, W) or (bands, H, W) with H, W = {like.height}, {like.width}, got {array.shape}"
        )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with rasterio.open(path, "w", **_profile(like, array.dtype.name, len(array), nodata)) as out:
        out.write(array)
    return path


def write_stack(scene: Scene, path, nodata: float = -99999.0) -> Path:
    """Write all of ``scene``'s bands into one float32 GeoTIFF, nodata wherever any band has none.

    A GeoTIFF declares one nodata value for all its bands: the bands' own values (-99999 in
    float32, -32768 in int16, ...) become ``nodata`` where a pixel is not valid in every band.
    Written strip by strip, so the scene never has to fit in memory.
    """
    rasterio = _rasterio()
    from rasterio.windows import Window

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with rasterio.open(path, "w", **_profile(scene, "float32", scene.count, nodata)) as out:
        for top in range(0, scene.height, 256):
            window = Window(0, top, scene.width, min(256, scene.height - top))
            pixels, valid = scene.read(window)
            out.write(np.where(valid, pixels, np.float32(nodata)), window=window)
    return path


@torch.no_grad()
def predict_scene(
    model: UNet,
    scene: Scene,
    output,
    mean,
    std,
    tile_size: int = 512,
    margin: int | None = None,
    batch_size: int = 1,
    class_values=None,
    probabilities=None,
    device=None,
    progress: bool | None = None,
    cache_mb: int = 256,
    channels_last: bool = True,
) -> Path:
    """Segment a whole scene from disk into a class GeoTIFF on its grid, a few tiles at a time.

    Tiles are laid out as :func:`unetlib.tiling.predict_tiled` lays them out (Chapter 9), so the
    result equals that of the whole scene in memory; each tile's window is read from disk when it
    is needed and its output written at once, so memory is bounded by ``batch_size`` tiles, not
    by the scene. Nodata pixels (in any band) are written as :data:`NODATA_CLASS`.

    Args:
        model: a :class:`~unetlib.model.UNet` with ``scene.count`` input channels.
        scene: the :class:`Scene` to segment.
        output: the class GeoTIFF to write (uint8, nodata 255, the scene's CRS, transform and size).
        mean, std: per-band statistics the network was trained with (:func:`band_statistics`).
        tile_size, margin, batch_size: overlap-tile settings (:func:`~unetlib.tiling.predict_tiled`).
        class_values: the value written for each class (default ``0..K-1``), e.g. the label
            raster's own codes, integers in 0..254.
        probabilities: optionally, a second GeoTIFF for the ``K`` class probabilities (float32,
            nodata NaN).
        device: where to run (the model is moved there); default where its weights are.
        progress: show a progress bar (default: more than 8 batches).
        channels_last: run the network in channels-last memory (the model is converted): on
            CPUs about twice as fast (``benchmarks/bench_geo.py``), equal to rounding.
        cache_mb: GDAL's block cache while predicting, in MB. Its default (5% of the machine's
            memory) would keep decompressed blocks of the whole scene; a few rows of blocks are
            all the tiles need.

    Returns:
        The path of the class raster.
    """
    rasterio = _rasterio()
    from rasterio.windows import Window

    from unetlib.tiling import _progress

    if not isinstance(model, UNet):
        raise TypeError(f"model must be a unetlib UNet, got {describe(model)}")
    if not isinstance(scene, Scene):
        raise TypeError(f"scene must be a unetlib.geo.Scene (Scene('scene.tif')), got {describe(scene)}")
    if scene.count != model.in_channels:
        raise ValueError(
            f"the scene has {scene.count} bands ({[p.name for p in scene.paths]}) but the network was trained on "
            f"{model.in_channels}: give a scene with the training scenes' bands, in the same order"
        )
    values = _class_values(class_values, model.num_classes)
    grid = plan_tiles(model, scene.height, scene.width, tile_size, margin)
    batch_size = integer(batch_size, "batch_size", minimum=1)
    progress = None if progress is None else boolean(progress, "progress")
    device = model_device(model) if device is None else torch.device(device)
    model.to(device)
    memory_format = torch.channels_last if boolean(channels_last, "channels_last") else torch.contiguous_format
    model.to(memory_format=memory_format)
    # Where each tile's output square lies in its logits, as predict_tiled takes it.
    keep = tile_size - 2 * grid.margin if model.padding == "same" else output_size(tile_size, model.depth, "valid")
    offset = grid.margin if model.padding == "same" else 0
    corners = grid.corners()
    batches = [corners[i : i + batch_size] for i in range(0, len(corners), batch_size)]
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    was_training = model.training
    model.eval()
    bar = _progress(len(batches), progress)
    cache_mb = integer(cache_mb, "cache_mb", minimum=16)
    profile = _profile(scene, "uint8", 1, NODATA_CLASS)
    with rasterio.Env(GDAL_CACHEMAX=cache_mb), rasterio.open(output, "w", **profile) as classes_out:
        probabilities_out = (
            None
            if probabilities is None
            else rasterio.open(probabilities, "w", **_profile(scene, "float32", model.num_classes, float("nan")))
        )
        try:
            for batch in batches:
                tiles, valids = zip(*(scene.read_tile(r - grid.margin, c - grid.margin, tile_size) for r, c in batch))
                inputs = np.stack([normalise_bands(t, v, mean, std) for t, v in zip(tiles, valids)])
                batch_input = torch.from_numpy(inputs).to(device).contiguous(memory_format=memory_format)
                logits = model(batch_input).float().cpu()
                for (r, c), tile_logits, valid in zip(batch, logits, valids):
                    rows, cols = min(keep, scene.height - r), min(keep, scene.width - c)
                    kept = tile_logits[:, offset : offset + rows, offset : offset + cols]
                    inside = valid[grid.margin : grid.margin + rows, grid.margin : grid.margin + cols]
                    window = Window(c, r, cols, rows)
                    classes = np.where(inside, values[kept.argmax(0).numpy()], NODATA_CLASS).astype(np.uint8)
                    classes_out.write(classes, 1, window=window)
                    if probabilities_out is not None:
                        probability = np.where(inside, kept.softmax(0).numpy(), np.float32("nan"))
                        probabilities_out.write(probability.astype(np.float32), window=window)
                bar.update(1)
        finally:
            model.train(was_training)
            bar.close()
            if probabilities_out is not None:
                probabilities_out.close()
    return output


def _class_values(class_values, num_classes: int) -> np.ndarray:
    """The value written for each class: ``0..K-1`` by default, else integers 0..254, one per class."""
    if class_values is None:
        class_values = list(range(num_classes))
    values = np.asarray(class_values)
    if (
        values.shape != (num_classes,)
        or values.dtype.kind not in "iuf"
        or not np.all(values == np.round(values))
        or not ((values >= 0) & (values < NODATA_CLASS)).all()
    ):
        raise ValueError(
            f"class_values must be {num_classes} whole numbers in 0..254 (one per class; 255 is nodata), "
            f"got {class_values!r}"
        )
    return values.astype(np.uint8)


def scene_chips(image, labels, size: int, ignore_index: int = NODATA_CLASS, min_labelled: float = 0.5):
    """Squares of ``size`` pixels cut from a scene every ``size // 2`` pixels, keeping those with
    at least ``min_labelled`` of their pixels labelled (not ``ignore_index``).

    The last square of each row and column is flush with the scene's edge, so no edge is left
    out. A scene's edges are often mostly nodata: a crop there teaches nothing and, if every pixel of
    a batch were ignored, leaves the loss without a pixel to average over.

    Args:
        image: ``(bands, H, W)`` normalised pixels.
        labels: ``(H, W)`` class indices, ``ignore_index`` where unknown.
        size: side of the chips (the training crop).
        ignore_index: the value of unlabelled pixels.
        min_labelled: the smallest labelled share of a chip that is kept (0..1).

    Returns:
        ``(chips, chip_labels)``: two lists, ``(bands, size, size)`` and ``(size, size)`` arrays.

    Example:
        >>> labels = np.full((8, 8), 255); labels[:4, :4] = 1
        >>> chips, chip_labels = scene_chips(np.zeros((2, 8, 8)), labels, size=4, min_labelled=0.75)
        >>> len(chips), chip_labels[0].tolist() == np.ones((4, 4)).tolist()
        (1, True)
    """
    image = real_array(image, "image", ndim=3, shape_hint="(bands, H, W)")
    labels = np.asarray(labels)
    if labels.shape != image.shape[1:]:
        raise ValueError(f"labels must be (H, W) = {image.shape[1:]}, like image, got {labels.shape}")
    size = integer(size, "size", minimum=2, maximum=min(labels.shape), hint=f" (the scene is {labels.shape})")
    step = size // 2
    chips, chip_labels = [], []
    for top in _starts(labels.shape[0], size, step):
        for left in _starts(labels.shape[1], size, step):
            square = labels[top : top + size, left : left + size]
            if (square != ignore_index).mean() >= min_labelled:
                chips.append(image[:, top : top + size, left : left + size])
                chip_labels.append(square)
    if not chips:
        raise ValueError(
            f"no {size}-pixel square of the scene is {min_labelled:.0%} labelled: use a smaller crop, or check the labels"
        )
    return chips, chip_labels


def _starts(length: int, size: int, step: int) -> list[int]:
    """Every ``step`` pixels from 0, and the last square flush with the end."""
    starts = list(range(0, length - size + 1, step))
    return starts if starts[-1] == length - size else starts + [length - size]
