"""Whole-scene prediction of a large multi-band GeoTIFF: from disk, in memory, and with MONAI.

Builds a 8000 x 8000 x 6 float32 GeoTIFF from the real Landsat scene (Chapter 13's, mirrored
over and over, its nodata frame included, tiled 256 x 256 and deflate-compressed), then runs
three ways of writing its class GeoTIFF with Chapter 13's network (depth 3, 16 base channels,
batch norm; weights from a short seeded training, so that errors mean something):

- ``unetlib.geo.predict_scene``: tiles read from disk as they are needed, written at once;
- whole scene in memory: read every band, ``unetlib.tiling.predict_tiled``, write;
- MONAI's ``sliding_window_inference`` on the scene in memory (Gaussian blending, windows
  overlapping by 0.25 and by 0.5), write.

Each runs in its own process so that its peak resident memory (``ru_maxrss``) is its own. The
error of each is the share of valid pixels whose class differs from one pass of the network
over a 1024 x 1024 window of the scene (no tiling at all), measured first, in this process.
Needs ``pip install monai`` (as bench_unet.py does) for the third row.

    python benchmarks/bench_geo.py --json results.json     # about 6 min on 2 cores
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from _results import machine, save_rows

SIZE = 8000
# MONAI's windows overlap by a share of the window; its error falls as the overlap grows.
OVERLAP = {"monai sliding window, overlap 0.25": 0.25, "monai sliding window, overlap 0.5": 0.5}
TILE, MARGIN = 512, 32


def build_scene(path: Path, size: int = SIZE) -> None:
    """A ``size`` x ``size`` six-band scene from the real one, mirrored, written strip by strip."""
    import rasterio
    from rasterio.transform import from_origin

    from unetlib.landsat import load_landsat
    from unetlib.tiling import mirror_indices

    scene, pixels, valid, _ = load_landsat()
    stacked = np.where(valid, pixels, np.float32(-99999))
    cols = mirror_indices(0, size, scene.width)
    profile = {
        "driver": "GTiff",
        "dtype": "float32",
        "count": 6,
        "width": size,
        "height": size,
        "crs": scene.crs,
        "transform": from_origin(scene.bounds.left, scene.bounds.top, 28.5, 28.5),
        "nodata": -99999.0,
        "tiled": True,
        "blockxsize": 256,
        "blockysize": 256,
        "compress": "deflate",
    }
    with rasterio.open(path, "w", **profile) as out:
        for top in range(0, size, 256):
            rows = mirror_indices(top, min(256, size - top), scene.height)
            out.write(stacked[:, rows[:, None], cols[None, :]], window=((top, top + len(rows)), (0, size)))


def network(path: Path) -> None:
    """Chapter 13's network after 40 seeded steps on the real scene, saved as a checkpoint."""
    from unetlib.checkpoints import save_checkpoint
    from unetlib.landsat import band_inputs, load_landsat, spatial_blocks, train_on_scene

    _, pixels, valid, labels = load_landsat()
    split = spatial_blocks(valid)
    result = train_on_scene(band_inputs(pixels, "six bands"), valid, labels, split, seed=0, epochs=5)
    save_checkpoint(path, result["model"], data={"mean": result["mean"].tolist(), "std": result["std"].tolist()})


def run(method: str, scene_path: str, checkpoint: str, output: str) -> dict:
    """One method, in this process: seconds and the classes' path."""
    import rasterio

    from unetlib.checkpoints import load_checkpoint
    from unetlib.geo import NODATA_CLASS, Scene, normalise_bands, predict_scene, write_raster

    state = load_checkpoint(checkpoint)
    model, mean, std = state["model"].eval(), state["data"]["mean"], state["data"]["std"]
    # Channels-last memory for every method (about twice as fast on CPUs): predict_scene's default.
    model.to(memory_format=torch.channels_last)
    start = time.perf_counter()
    with Scene(scene_path) as scene:
        if method == "predict_scene":
            predict_scene(model, scene, output, mean, std, tile_size=TILE, margin=MARGIN, batch_size=1, progress=False)
        else:
            pixels, valid = scene.read()
            inputs = normalise_bands(pixels, valid, mean, std)
            del pixels
            if method == "in memory":
                from unetlib.tiling import predict_tiled

                logits = predict_tiled(model, inputs, tile_size=TILE, margin=MARGIN, batch_size=1, progress=False)
            else:
                from monai.inferers import sliding_window_inference

                with torch.inference_mode():
                    logits = sliding_window_inference(
                        torch.from_numpy(inputs)[None], (TILE, TILE), 1, model, overlap=OVERLAP[method], mode="gaussian"
                    )[0]
            classes = np.where(valid, logits.argmax(0).numpy(), NODATA_CLASS).astype(np.uint8)
            write_raster(output, classes, scene, nodata=NODATA_CLASS)
    seconds = time.perf_counter() - start
    with rasterio.open(output):
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # MiB (Linux reports KiB)
    return {"seconds": seconds, "peak_rss_mib": peak}


def error_against_one_pass(classes_path: str, scene_path: str, checkpoint: str, window: int = 1024) -> float:
    """Share of valid pixels in the central ``window`` square whose class differs from one untiled pass."""
    import rasterio
    from rasterio.windows import Window

    from unetlib.checkpoints import load_checkpoint
    from unetlib.geo import Scene, normalise_bands

    state = load_checkpoint(checkpoint)
    model, mean, std = state["model"].eval(), state["data"]["mean"], state["data"]["std"]
    top = (SIZE - window) // 2 // 16 * 16
    with Scene(scene_path) as scene:
        # One pass over the window with a wide border of real context, then the window kept.
        border = 128
        pixels, valid = scene.read(Window(top - border, top - border, window + 2 * border, window + 2 * border))
        with torch.inference_mode():
            logits = model(torch.from_numpy(normalise_bands(pixels, valid, mean, std))[None])[0]
        truth = logits.argmax(0).numpy()[border:-border, border:-border]
        inside = valid[border:-border, border:-border]
    with rasterio.open(classes_path) as classes:
        got = classes.read(1, window=Window(top, top, window, window))
    return float((got[inside] != truth[inside]).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", help="append the rows to this results file")
    parser.add_argument("--size", type=int, default=SIZE)
    parser.add_argument("--child", nargs=4, metavar=("METHOD", "SCENE", "CHECKPOINT", "OUTPUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(torch.get_num_threads())
    if args.child:
        print(json.dumps(run(*args.child)))
        return
    work = Path(tempfile.mkdtemp())
    scene_path, checkpoint = work / "scene.tif", work / "network.pt"
    start = time.perf_counter()
    build_scene(scene_path, args.size)
    print(f"built {scene_path} ({scene_path.stat().st_size / 2**20:.0f} MiB) in {time.perf_counter() - start:.0f} s")
    network(checkpoint)
    rows = []
    print(f"scene: {args.size} x {args.size} x 6 float32 GeoTIFF, deflate, 256 x 256 blocks")
    for method in ("predict_scene", "in memory", *OVERLAP):
        output = work / f"{method.replace(' ', '_')}.tif"
        child = [sys.executable, __file__, "--child", method, str(scene_path), str(checkpoint), str(output)]
        result = json.loads(
            subprocess.run(child, capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
        )
        megapixels = args.size**2 / 1e6
        row = {
            "benchmark": "geo_scene",
            "method": method,
            "tile": TILE,
            "margin": "-" if method in OVERLAP else MARGIN,  # MONAI blends overlapping windows instead
            "seconds": round(result["seconds"], 1),
            "megapixels_per_second": round(megapixels / result["seconds"], 3),
            "peak_rss_mib": round(result["peak_rss_mib"]),
            "error_vs_one_pass": f"{error_against_one_pass(str(output), str(scene_path), str(checkpoint)):.1e}",
            "machine": machine("cpu"),
        }
        rows.append(row)
        print(json.dumps(row), flush=True)
    save_rows(args.json, "geo_scene", rows)


if __name__ == "__main__":
    main()
