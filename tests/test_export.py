"""A trained network leaves PyTorch: export_onnx writes a file that ONNX Runtime (the engine of a
browser demo) runs to the same logits, for same- and valid-padding U-Nets."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from unetlib.model import UNet
from unetlib.prediction import export_onnx

ort = pytest.importorskip("onnxruntime")


@pytest.mark.parametrize(
    "settings, tile",
    [
        (dict(depth=3, base_channels=8, padding="same", batch_norm=True), 96),
        (dict(depth=2, base_channels=8, padding="same"), 52),  # not a multiple of 2^depth: padded inside
        (dict(depth=2, base_channels=8, padding="valid"), 92),
    ],
)
def test_onnx_runtime_gives_pytorchs_logits(tmp_path, settings, tile):
    torch.manual_seed(0)
    model = UNet(3, 4, **settings)
    if settings.get("batch_norm"):  # running statistics that are not the defaults
        model.train()
        with torch.no_grad():
            model(torch.randn(2, 3, tile, tile) * 2 + 1)
    model.eval()
    path = export_onnx(model, tmp_path / "unet.onnx", tile_size=tile)
    assert path.exists() and [p.name for p in tmp_path.iterdir()] == ["unet.onnx"]  # no temporary left
    image = torch.randn(1, 3, tile, tile)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["image"]
    (logits,) = session.run(None, {"image": image.numpy()})
    with torch.no_grad():
        expected = model(image).numpy()
    assert logits.shape == expected.shape
    np.testing.assert_allclose(logits, expected, atol=1e-4)


def test_export_leaves_the_model_in_its_mode(tmp_path):
    model = UNet(1, 2, depth=2, base_channels=4, padding="same", dropout=0.5).train()
    export_onnx(model, tmp_path / "a.onnx", tile_size=32)
    assert model.training


@pytest.mark.parametrize(
    "kwargs, error, words",
    [
        (dict(tile_size=90), ValueError, "tile_size 90 does not fit.*88 or 92"),  # valid padding, odd at a pooling
        (dict(tile_size="96"), TypeError, "tile_size must be an int"),
        (dict(tile_size=92, opset=9), ValueError, "opset must be from 13 to 20, got 9"),
    ],
)
def test_export_refuses_bad_settings_saying_what_works(tmp_path, kwargs, error, words):
    model = UNet(3, 2, depth=2, base_channels=4, padding="valid")
    with pytest.raises(error, match=words):
        export_onnx(model, tmp_path / "a.onnx", **kwargs)
    assert list(tmp_path.iterdir()) == []


def test_export_refuses_what_is_not_a_unet_or_a_missing_folder(tmp_path):
    with pytest.raises(TypeError, match="model must be a unetlib UNet"):
        export_onnx(torch.nn.Conv2d(3, 2, 1), tmp_path / "a.onnx", tile_size=32)
    with pytest.raises(ValueError, match="does not exist"):
        export_onnx(UNet(3, 2, depth=2, base_channels=4, padding="same"), tmp_path / "no" / "a.onnx", 32)
