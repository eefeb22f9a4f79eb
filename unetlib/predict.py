"""``python -m unetlib.predict``: segment new images with a checkpoint of ``python -m unetlib.train``.

Each image, of any size, is normalised as the training images were (the checkpoint records
how), run through the network tile by tile with overlap (Chapter 9: seamless, memory bounded by
the tile) and written as a PNG mask: the palette's colours when the model was trained with one,
else class indices. A network trained on GeoTIFF scenes segments GeoTIFF scenes, read from disk a
tile at a time, into a class GeoTIFF on the scene's grid (:func:`unetlib.geo.predict_scene`).

Example:
    ``python -m unetlib.predict --checkpoint unet.pt --input scenes/ --output masks/``

    ``python -m unetlib.predict --checkpoint landcover.pt --input scene.tif --output classes.tif``
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["main", "parser"]


def parser() -> argparse.ArgumentParser:
    """The command's arguments."""
    p = argparse.ArgumentParser(
        prog="python -m unetlib.predict",
        description="Segment images with a checkpoint written by python -m unetlib.train; write PNG masks "
        "(the palette's colours if it was trained with one, else class indices).",
    )
    p.add_argument(
        "--checkpoint", metavar="FILE", type=Path, required=True, help="a checkpoint of python -m unetlib.train"
    )
    p.add_argument("--input", metavar="PATH", type=Path, required=True, help="an image, or a folder of images")
    p.add_argument(
        "--output",
        metavar="PATH",
        type=Path,
        required=True,
        help="a PNG file (one image), or a folder (one PNG per image); for GeoTIFF scenes a .tif file or a folder",
    )
    p.add_argument("--tile-size", metavar="PIXELS", type=int, default=256, help="side of the tiles (default: 256)")
    p.add_argument(
        "--margin",
        metavar="PIXELS",
        type=int,
        help="overlap discarded on each side of a tile (default: a quarter tile)",
    )
    p.add_argument("--device", metavar="DEVICE", help="cpu, cuda, cuda:N or mps (default: the best there is)")
    return p


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv``, segment every input image, write the masks; return the exit status."""
    p = parser()
    args = p.parse_args(argv)
    try:
        model, settings = _trained_model(args.checkpoint)
        suffix = ".tif" if settings.get("geo") else ".png"
        pairs = _inputs_and_outputs(args.input, args.output, suffix)
        segment = _segment_scene if settings.get("geo") else _segment_file
        for source, target in pairs:
            segment(model, settings, source, target, args)
    except (ValueError, TypeError) as error:
        p.error(str(error))
    print(f"wrote {len(pairs)} mask(s) to {args.output}")
    return 0


def _trained_model(path: Path):
    """The checkpoint's network and the data settings it was trained with."""
    from unetlib.checkpoints import load_checkpoint
    from unetlib.model import UNet

    state = load_checkpoint(path)
    if not isinstance(state["model"], UNet):
        raise ValueError(f"--checkpoint {path} holds no U-Net configuration")
    settings = state.get("data") or {}
    return state["model"], settings | {"in_channels": state["model"].in_channels}


def _inputs_and_outputs(source: Path, target: Path, suffix: str = ".png") -> list[tuple[Path, Path]]:
    """``(image, mask file)`` pairs: one file to one file, or a folder's images into a folder."""
    if source.is_file():
        output = target / f"{source.stem}{suffix}" if target.is_dir() else target
        if output.suffix.lower() != suffix:
            raise ValueError(f"--output {target}: give a {suffix} file or a folder")
        return [(source, output)]
    if not source.is_dir():
        raise ValueError(f"--input {source}: no such file or folder")
    if target.exists() and not target.is_dir():
        raise ValueError(f"--output {target}: --input is a folder, so --output must be a folder")
    images = sorted(p for p in source.iterdir() if p.is_file() and not p.name.startswith("."))
    if not images:
        raise ValueError(f"--input {source}: the folder holds no files")
    return [(image, target / f"{image.stem}{suffix}") for image in images]


def _segment_file(model, settings: dict, source: Path, target: Path, args) -> None:
    """Read one image, segment it tile by tile, write its mask."""
    import numpy as np
    from PIL import Image

    from unetlib._commands import colourise, normalise_image
    from unetlib.data import read_image
    from unetlib.prediction import predict_logits

    pixels = normalise_image(read_image(source), settings)
    if pixels.shape[0] != model.in_channels:
        raise ValueError(
            f"{source} has {pixels.shape[0]} channels, but the network was trained on {model.in_channels}: "
            "give images like the training images"
        )
    logits = predict_logits(model, pixels, tile_size=args.tile_size, margin=args.margin, device=args.device)
    classes = logits.argmax(0).numpy()
    target.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.ascontiguousarray(colourise(classes, settings.get("palette")))).save(target)


def _segment_scene(model, settings: dict, source: Path, target: Path, args) -> None:
    """Segment one GeoTIFF scene from disk into a class GeoTIFF on its grid (the label codes kept)."""
    from unetlib.geo import Scene, predict_scene

    # predict_scene refuses a scene whose band count is not the network's, naming both.
    with Scene(source) as scene:
        predict_scene(
            model,
            scene,
            target,
            settings["mean"],
            settings["std"],
            tile_size=args.tile_size,
            margin=args.margin,
            class_values=settings["class_values"],
            device=args.device,
            progress=False,
        )


if __name__ == "__main__":
    sys.exit(main())
