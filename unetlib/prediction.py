"""Applying a trained network to new images: logits, probabilities, class maps.

One convention for every function here: the name says what comes back (``predict_logits``:
raw scores; ``predict_probabilities``: the softmax; a :class:`Segmenter` call: class indices),
the image is ``(C, H, W)`` or ``(H, W)``, the result lies on the CPU, and ``device=None`` runs
the model where its weights are, while a device given moves the model there.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from unetlib._checks import boolean, describe, integer, model_device, number, real_array
from unetlib.config import choose_device
from unetlib.model import UNet, _check_size
from unetlib.tiling import predict_tiled

__all__ = ["Segmenter", "export_onnx", "label_objects", "predict_logits", "predict_probabilities"]


def _model_on(model: nn.Module, device) -> torch.device:
    """Where the model runs: its weights' device, or ``device`` (the model moved there)."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module (e.g. a unetlib UNet), got {describe(model)}")
    if device is None:
        return model_device(model)
    device = choose_device(device)
    model.to(device)
    return device


@torch.no_grad()
def predict_logits(
    model: nn.Module,
    image: np.ndarray | torch.Tensor,
    tile_size: int | None = None,
    margin: int | None = None,
    device: str | torch.device | None = None,
) -> torch.Tensor:
    """Logits ``(K, H, W)`` for one ``(C, H, W)`` or ``(H, W)`` image, tiled if ``tile_size`` is given.

    A valid-padding U-Net must be tiled (its output is smaller than its input):
    :func:`unetlib.tiling.predict_tiled` mirrors the borders so the output covers the image.
    The model runs in eval mode; its mode is restored.

    Args:
        model: a network producing logits.
        image: ``(C, H, W)`` or ``(H, W)``, array or tensor.
        tile_size, margin: overlap-tile settings (:func:`~unetlib.tiling.predict_tiled`).
        device: where to run (default: where the model's weights are).

    Example:
        >>> model = UNet(1, 2, depth=2, base_channels=4, padding="same")
        >>> predict_logits(model, np.zeros((20, 24), np.float32)).shape
        torch.Size([2, 20, 24])
    """
    device = _model_on(model, device)
    if tile_size is not None or (isinstance(model, UNet) and model.padding == "valid"):
        if tile_size is None:
            raise ValueError(
                "a valid-padding UNet's output is smaller than its input: give tile_size "
                "(one of unetlib.model.valid_input_sizes) to predict a whole image"
            )
        return predict_tiled(model, image, tile_size=tile_size, margin=margin, device=device, progress=False)
    pixels = real_array(image, "image", ndim=(2, 3), shape_hint="(C, H, W) or (H, W)", finite=True)
    pixels = torch.as_tensor(pixels, dtype=torch.float32)
    pixels = pixels[None] if pixels.ndim == 2 else pixels
    was_training = model.training
    model.eval()
    try:
        return model(pixels[None].to(device))[0].float().cpu()
    finally:
        model.train(was_training)


@torch.no_grad()
def predict_probabilities(
    model: nn.Module,
    image: np.ndarray | torch.Tensor,
    tile_size: int | None = None,
    margin: int | None = None,
    device: str | torch.device | None = None,
    tta: bool = False,
) -> torch.Tensor:
    """Class probabilities ``(K, H, W)``: the softmax of :func:`predict_logits`, each pixel's sum 1.

    With ``tta=True`` (test-time augmentation) the network sees the image turned by 0, 90, 180
    and 270 degrees, each also mirrored; every softmax is turned back to the original
    orientation and the 8 are averaged. A network trained with flips and rotations should give
    the same answer each time; where it does not, averaging cancels part of its
    orientation-dependent error. A non-square image is predicted on its rotated ``(W, H)``
    copies too, which a same-padding U-Net accepts.

    Args:
        model, image, tile_size, margin, device: as for :func:`predict_logits`.
        tta: average over the 8 rotations and flips.

    Example:
        >>> model = UNet(1, 2, depth=2, base_channels=4, padding="same")
        >>> probabilities = predict_probabilities(model, np.zeros((1, 16, 16), np.float32), tta=True)
        >>> probabilities.shape, bool(torch.allclose(probabilities.sum(0), torch.ones(16, 16)))
        (torch.Size([2, 16, 16]), True)
    """
    if not boolean(tta, "tta"):
        return predict_logits(model, image, tile_size, margin, device).softmax(0)
    pixels = torch.as_tensor(real_array(image, "image", ndim=(2, 3), shape_hint="(C, H, W) or (H, W)"))
    pixels = (pixels[None] if pixels.ndim == 2 else pixels).float()
    total = None
    for turns in range(4):
        for mirror in (False, True):
            # Turn (and mirror) the image, predict, then undo the same steps in reverse order.
            view = torch.rot90(pixels, turns, dims=(1, 2))
            view = view.flip(2) if mirror else view
            probabilities = predict_logits(model, view, tile_size, margin, device).softmax(0)
            probabilities = probabilities.flip(2) if mirror else probabilities
            probabilities = torch.rot90(probabilities, -turns, dims=(1, 2))
            total = probabilities if total is None else total + probabilities
    return total / 8


def label_objects(probability, threshold: float = 0.5, min_size: int = 0, grow: int = 0) -> np.ndarray:
    """Objects (one label each) from a foreground probability map.

    Three steps, each a setting to choose on validation images: keep the pixels above
    ``threshold`` and label their connected regions; drop regions of fewer than ``min_size``
    pixels (specks of noise count as objects otherwise); widen each region by ``grow`` pixels
    (a network trained with a gap cut between touching objects predicts each a little too small),
    never into another region (:func:`skimage.segmentation.expand_labels`).

    Args:
        probability: ``(H, W)`` foreground probabilities.
        threshold: the probability above which a pixel is foreground (0 < threshold < 1).
        min_size: the smallest region kept, in pixels.
        grow: pixels added around each region.

    Returns:
        ``(H, W)`` int labels: 0 background, 1..n the objects.

    Example:
        >>> p = np.zeros((1, 9)); p[0, 1:3] = 0.9; p[0, 5] = 0.9
        >>> label_objects(p, min_size=2, grow=1)
        array([[1, 1, 1, 1, 0, 0, 0, 0, 0]])
    """
    from skimage.measure import label
    from skimage.segmentation import expand_labels

    probability = real_array(probability, "probability", ndim=2, finite=True, shape_hint=" (H, W)")
    threshold = number(threshold, "threshold", above=0, below=1)
    min_size = integer(min_size, "min_size", minimum=0)
    grow = integer(grow, "grow", minimum=0)
    labels = label(probability > threshold)
    # Every region's size, then the small ones returned to the background and the rest renumbered.
    kept = np.bincount(labels.ravel()) >= min_size
    kept[0] = False
    labels = np.where(kept[labels], np.cumsum(kept)[labels], 0)
    return expand_labels(labels, grow) if grow else labels


class Segmenter:
    """A same-padding U-Net with the normalisation it was trained with: raw images in, class maps out.

    Args:
        model: a same-padding :class:`~unetlib.model.UNet`.
        mean, std: per-channel statistics of the training images (``C`` numbers each, std > 0),
            subtracted and divided before the network sees an image
            (:func:`~unetlib.experiments.channel_statistics`).
        tile_size: the side of the tiles :func:`~unetlib.tiling.predict_tiled` runs over an image
            (a multiple of ``2 ** depth``); the memory used does not grow with the image.
        margin: pixels of each tile's border that are discarded (the overlap of the tiles). The
            default, 96, is what Chapter 12 measured for its depth-4 network: from there on the
            tiled probabilities equal those of one pass over the whole scene to 1e-4.

    Calling it on a ``(C, H, W)`` float image of any size returns its ``(H, W)`` int64 class
    map; :meth:`probabilities` returns the ``(K, H, W)`` softmax.

    Example:
        >>> model = UNet(3, 4, depth=2, base_channels=4, padding="same")
        >>> segment = Segmenter(model, mean=[0.5, 0.5, 0.5], std=[0.2, 0.2, 0.2], tile_size=32, margin=8)
        >>> segment(np.zeros((3, 50, 70), np.float32)).shape
        (50, 70)
    """

    def __init__(self, model: UNet, mean, std, tile_size: int = 512, margin: int = 96):
        if not isinstance(model, UNet) or model.padding != "same":
            raise TypeError(f"model must be a same-padding unetlib UNet, got {describe(model)}")
        self.model = model
        channels = model.in_channels
        self.mean = real_array(mean, "mean", ndim=1, finite=True).astype(np.float32)
        self.std = real_array(std, "std", ndim=1, finite=True).astype(np.float32)
        if self.mean.shape != (channels,) or self.std.shape != (channels,) or (self.std <= 0).any():
            raise ValueError(
                f"mean and std must be {channels} numbers each (one per input channel of the model; std > 0), "
                f"got {self.mean.tolist()} and {self.std.tolist()}"
            )
        self.tile_size = integer(tile_size, "tile_size", minimum=2**model.depth)
        self.margin = integer(margin, "margin", minimum=0)
        self.history: dict = {}
        self.steps = 0
        self.seconds = 0.0
        self.class_weights: np.ndarray | None = None

    def normalise(self, image) -> np.ndarray:
        """``(image - mean) / std``, channel by channel, of a ``(C, H, W)`` image."""
        pixels = real_array(image, "image", ndim=3, finite=True, shape_hint="(C, H, W)").astype(np.float32)
        if pixels.shape[0] != len(self.mean):
            raise ValueError(
                f"image has {pixels.shape[0]} channels (shape {pixels.shape}), the model {len(self.mean)}: "
                "give (C, H, W) with channels first"
            )
        return (pixels - self.mean[:, None, None]) / self.std[:, None, None]

    def logits(self, image) -> torch.Tensor:
        """``(K, H, W)`` logits of a raw ``(C, H, W)`` image."""
        return predict_logits(self.model, self.normalise(image), tile_size=self.tile_size, margin=self.margin)

    def probabilities(self, image) -> np.ndarray:
        """``(K, H, W)`` class probabilities of a raw ``(C, H, W)`` image."""
        return self.logits(image).softmax(0).numpy()

    def __call__(self, image) -> np.ndarray:
        return self.logits(image).argmax(0).numpy().astype(np.int64)


def export_onnx(model: UNet, path, tile_size: int, opset: int = 17) -> Path:
    """Write ``model`` as an ONNX file for ONNX Runtime: in Python, or in a browser (ONNX Runtime
    Web), where PyTorch does not run.

    The file takes one ``(1, C, tile_size, tile_size)`` float32 image named ``image`` and returns
    its logits, named ``logits``: ``(1, K, tile_size, tile_size)`` for a same-padding network, the
    valid output size for a valid one. Its sizes are fixed, so images of other sizes go through it
    tile by tile, as :func:`~unetlib.tiling.predict_tiled` does. The network is exported in
    evaluation mode (batch norm's running statistics, no dropout) and written atomically: a file
    at ``path`` is either the old one or the whole new one.

    Args:
        model: a :class:`~unetlib.model.UNet`, on the CPU.
        path: where to write, conventionally ``something.onnx``.
        tile_size: the side of the square tiles the file will take (a size the network accepts).
        opset: the ONNX operator set (17 is read by ONNX Runtime 1.13 and later, Web included).

    Returns:
        The path written.
    """
    if not isinstance(model, UNet):
        raise TypeError(f"model must be a unetlib UNet, got {describe(model)}")
    try:
        import onnx  # noqa: F401  (torch.onnx writes the file with it)
    except ImportError:
        raise ImportError("export_onnx needs the onnx package: pip install onnx (or unetlib[onnx])") from None
    tile = integer(tile_size, "tile_size", minimum=1)
    opset = integer(opset, "opset", minimum=13, maximum=20)
    if model_device(model).type != "cpu":
        raise ValueError(f"model must be on the CPU to export, got {model_device(model)}: call model.cpu() first")
    _check_size(tile, model.depth, model.padding, "tile_size")  # says which sizes would work
    target = Path(path)
    if not target.parent.is_dir():
        raise ValueError(f"path's folder {target.parent} does not exist: create it first")
    was_training = model.training
    model.eval()
    example = torch.zeros(1, model.in_channels, tile, tile)
    handle, temporary = tempfile.mkstemp(dir=target.parent, suffix=".onnx.tmp")
    os.close(handle)
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the tracer's notes on fixed sizes: fixed on purpose
            torch.onnx.export(
                model,
                (example,),
                temporary,
                dynamo=False,
                opset_version=opset,
                input_names=["image"],
                output_names=["logits"],
            )
        os.replace(temporary, target)
    finally:
        model.train(was_training)
        if os.path.exists(temporary):
            os.remove(temporary)
    return target
