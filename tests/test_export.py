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


def test_the_browser_demos_files_are_what_the_page_reads(tmp_path):
    """write_browser_demo: the samples are the images as 8-bit PNGs (within half a grey level),
    the reference for each margin is the model's tiled output of the PNG as read back, the
    checkpoint holds the same weights, and demo.json holds the tile the file takes."""
    import json

    from PIL import Image

    from unetlib.checkpoints import load_checkpoint
    from unetlib.data import normalise_percentile
    from unetlib.notebook import write_browser_demo
    from unetlib.tiling import predict_tiled

    torch.manual_seed(0)
    model = UNet(1, 2, depth=2, base_channels=4, padding="same").eval()
    onnx_file = export_onnx(model, tmp_path / "model.onnx", tile_size=32)
    rng = np.random.default_rng(0)
    images = [rng.random((1, 40, 50)).astype(np.float32), rng.random((1, 30, 30)).astype(np.float32)]
    folder = write_browser_demo(
        model, onnx_file, images, ["a", "b"], margin=8, margins=[0, 8], threshold=0.7, folder=tmp_path
    )
    settings = json.loads((folder / "demo.json").read_text())
    assert settings["tile_size"] == 32 and settings["margin"] == 8 and settings["threshold"] == 0.7
    assert [s["file"] for s in settings["samples"]] == ["sample_0.png", "sample_1.png"]
    first = np.asarray(Image.open(folder / "sample_0.png")) / 255
    assert first.shape == (40, 50) and np.abs(first - images[0][0]).max() <= 0.5 / 255 + 1e-7
    # The reference is the model's tiled output for the PNG as read back, margin by margin.
    read_back = normalise_percentile(np.asarray(Image.open(folder / "sample_0.png")))
    for margin in (0, 8):
        reference = np.fromfile(folder / f"reference_{margin}.f32", dtype="<f4").reshape(2, 40, 50)
        expected = predict_tiled(model, read_back, tile_size=32, margin=margin, progress=False)
        np.testing.assert_array_equal(reference, expected.numpy())
    restored = load_checkpoint(folder / settings["checkpoint"])["model"]
    assert all(torch.equal(a, b) for a, b in zip(restored.state_dict().values(), model.state_dict().values()))
    with pytest.raises(ValueError, match="margin must be one of margins"):
        write_browser_demo(
            model, onnx_file, images, ["a", "b"], margin=4, margins=[0, 8], threshold=0.7, folder=tmp_path
        )


def test_the_browser_demo_writer_refuses_bad_arguments_saying_what_works(tmp_path):
    from unetlib.notebook import write_browser_demo

    model = UNet(1, 2, depth=2, base_channels=4, padding="same").eval()
    onnx_file = export_onnx(model, tmp_path / "model.onnx", tile_size=32)
    image = np.zeros((1, 20, 20), np.float32)
    good = dict(
        model=model,
        onnx_file=onnx_file,
        images=[image],
        names=["a"],
        margin=8,
        margins=[0, 8],
        threshold=0.5,
        folder=tmp_path,
    )
    cases = [
        (dict(model=UNet(3, 2, depth=2, base_channels=4, padding="same")), TypeError, "1 input channel"),
        (dict(model=UNet(1, 2, depth=2, base_channels=4)), TypeError, "same-padding"),
        (dict(onnx_file=tmp_path / "missing.onnx"), ValueError, "export_onnx first"),
        (dict(images=image), TypeError, "non-empty list"),
        (dict(images=[]), TypeError, "non-empty list"),
        (dict(images=[np.zeros((20, 20))]), ValueError, "images\\[0\\]"),
        (dict(images=[np.zeros((3, 20, 20))]), ValueError, "must be grey"),
        (dict(names=["a", "b"]), ValueError, "one name per image"),
        (dict(margins=[]), TypeError, "margins"),
        (dict(margins=[0, -8], margin=0), ValueError, "margins\\[1\\]"),
        (dict(margin=4), ValueError, "one of margins"),
        (dict(threshold=1.0), ValueError, "threshold"),
        (dict(folder=tmp_path / "nowhere"), ValueError, "existing one"),
    ]
    for change, error, words in cases:
        with pytest.raises(error, match=words):
            write_browser_demo(**(good | change))
    assert not (tmp_path / "demo").exists()  # nothing written before the arguments were checked
