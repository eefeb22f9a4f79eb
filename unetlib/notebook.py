"""Small helpers for running the chapters both in the book build and in Colab / Jupyter."""

from __future__ import annotations

import hashlib
import inspect
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["glue", "in_colab", "write_browser_demo"]


def in_colab() -> bool:
    """True when running inside Google Colab."""
    try:
        import google.colab  # noqa: F401
    except ImportError:
        return False
    return True


def glue(name: str, value: Any, display: bool = False) -> None:
    """Make ``value`` available to the page's prose, by name (myst-nb's glue).

    In the book build this is ``myst_nb.glue``. NumPy scalars become Python numbers first, so
    that the prose can format them (their repr is ``np.float64(...)``). Where myst-nb is not
    installed (Colab, a plain Jupyter), nothing is stored, and the value is printed when
    ``display`` is true.

    Args:
        name: the name the prose uses, a Python identifier.
        value: a number, string, or anything IPython can display.
        display: also show the value where the cell runs.

    Example:
        In a code cell, then in the prose after it (MyST markdown)::

            glue("n_images", 20)

            The set has {glue:}`n_images` images, {glue:text}`share:.1%` of them ...
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"name must be a Python-identifier-like string, got {name!r}")
    if isinstance(value, np.generic):
        value = value.item()
    try:
        from myst_nb import glue as myst_glue
    except ImportError:
        if display:
            print(f"{name} = {value}")
        return
    myst_glue(name, value, display=display)


def write_browser_demo(
    model,
    onnx_file,
    images: list,
    names: list[str],
    margin: int,
    margins: list[int],
    threshold: float,
    folder,
) -> Path:
    """Write what the book's in-page U-Net (``book/demo.md``) serves, into ``folder/demo``.

    ``folder`` is the book's ``_static``; the build copies it into the site. Written: the ONNX
    file (``unet.onnx``) and the same weights as a checkpoint (``unet.pt``,
    :func:`~unetlib.checkpoints.load_checkpoint` reads it); each image as an 8-bit grey PNG
    (``sample_K.png``, the reader's choices); for the first sample and each margin, PyTorch's
    tiled logits of that PNG as the page reads it (decoded, scaled by its percentiles as
    :func:`~unetlib.data.segmentation.load_bbbc039` does), float32 ``(2, H, W)`` in
    ``reference_M.f32``, which the browser test compares the page's output with; and
    ``demo.json``, the settings the page uses.

    Args:
        model: the exported :class:`~unetlib.model.UNet` (same padding, one input channel).
        onnx_file: its :func:`~unetlib.prediction.export_onnx` file.
        images: a non-empty list of ``(1, H, W)`` float images scaled to ``[0, 1]``.
        names: a name for each image.
        margin: the page's default overlap-tile margin (pixels); one of ``margins``.
        margins: the margins the reader may pick.
        threshold: the default nucleus probability above which a pixel is shown as nucleus.
        folder: an existing folder.

    Returns:
        The folder written, ``folder/demo``.

    Raises:
        TypeError, ValueError: a model that is not a same-padding one-channel two-class UNet, a
            missing file or folder, images that are not ``(1, H, W)``, a name missing, a margin
            not among ``margins``, a threshold outside (0, 1).
    """
    from PIL import Image

    from unetlib.checkpoints import save_checkpoint
    from unetlib.data import normalise_percentile
    from unetlib.tiling import predict_tiled

    images, margin, margins, threshold = _check_demo_arguments(
        model, onnx_file, images, names, margin, margins, threshold
    )
    if not Path(folder).is_dir():
        raise ValueError(f"folder {str(folder)!r} is not a folder: give an existing one (the book's _static)")
    target = Path(folder) / "demo"
    target.mkdir(exist_ok=True)
    tile_size = _onnx_tile_size(onnx_file)
    shutil.copyfile(onnx_file, target / "unet.onnx")
    # The same weights for PyTorch: readers can load them, and the browser test computes its
    # own references from them.
    save_checkpoint(target / "unet.pt", model)
    samples = []
    for k, (image, name) in enumerate(zip(images, names)):
        grey = np.round(np.clip(image[0], 0, 1) * 255).astype(np.uint8)
        Image.fromarray(grey).save(target / f"sample_{k}.png")
        samples.append({"file": f"sample_{k}.png", "name": str(name), "height": grey.shape[0], "width": grey.shape[1]})
    scale = inspect.signature(normalise_percentile).parameters
    low, high = scale["low"].default, scale["high"].default
    # The reference reads the PNG back, as the page does, so both start from the same pixels.
    pixels = normalise_percentile(np.asarray(Image.open(target / "sample_0.png")), low, high)
    for each in margins:
        logits = predict_tiled(model, pixels, tile_size=tile_size, margin=each, progress=False)
        logits.numpy().astype("<f4").tofile(target / f"reference_{each}.f32")
    settings = {
        "model": "unet.onnx",
        "checkpoint": "unet.pt",
        "model_sha256": hashlib.sha256((target / "unet.onnx").read_bytes()).hexdigest(),
        "tile_size": tile_size,
        "margin": margin,
        "margins": margins,
        "multiple": 2**model.depth,
        "threshold": threshold,
        "percentiles": [low, high],
        "classes": ["background", "nucleus"],
        "samples": samples,
        "reference": {"sample": 0, "files": {str(m): f"reference_{m}.f32" for m in margins}},
    }
    (target / "demo.json").write_text(json.dumps(settings, indent=1))
    return target


def _check_demo_arguments(model, onnx_file, images, names, margin, margins, threshold):
    """:func:`write_browser_demo`'s arguments checked: its images as arrays, its margin and
    margins as ints and its threshold as a float, or an error that says what would work."""
    from unetlib._checks import describe, integer, number, real_array
    from unetlib.model import UNet

    if not isinstance(model, UNet) or model.padding != "same" or (model.in_channels, model.num_classes) != (1, 2):
        raise TypeError(
            "model must be a same-padding unetlib UNet with 1 input channel and 2 classes (the demo is "
            f"grey images, nucleus or not), got {describe(model)}"
        )
    if not Path(onnx_file).is_file():
        raise ValueError(f"onnx_file {str(onnx_file)!r} does not exist: write it with export_onnx first")
    if isinstance(images, np.ndarray) or not isinstance(images, (list, tuple)) or not images:
        raise TypeError(f"images must be a non-empty list of (1, H, W) arrays, got {describe(images)}")
    arrays = [
        real_array(image, f"images[{k}]", ndim=3, finite=True, shape_hint="(1, H, W)") for k, image in enumerate(images)
    ]
    if any(array.shape[0] != 1 for array in arrays):
        raise ValueError(f"images must be grey, (1, H, W), got shapes {[a.shape for a in arrays]}")
    if not isinstance(names, (list, tuple)) or len(names) != len(arrays):
        raise ValueError(f"names must be a list of one name per image ({len(arrays)}), got {describe(names)}")
    if not isinstance(margins, (list, tuple)) or not margins:
        raise TypeError(f"margins must be a non-empty list of whole numbers of pixels, got {describe(margins)}")
    margins = [integer(m, f"margins[{k}]", minimum=0) for k, m in enumerate(margins)]
    if integer(margin, "margin", minimum=0) not in margins:
        raise ValueError(f"margin must be one of margins {margins}, got {margin!r}")
    return arrays, int(margin), margins, number(threshold, "threshold", above=0, below=1)


def _onnx_tile_size(onnx_file) -> int:
    """The square tile side an :func:`~unetlib.prediction.export_onnx` file takes."""
    import onnx

    dims = onnx.load(str(onnx_file)).graph.input[0].type.tensor_type.shape.dim
    return int(dims[-1].dim_value)
