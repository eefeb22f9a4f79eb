"""The U-Net in the page (book/demo.md): how long a 512 x 512 image takes in the browser.

    bash .ci/book                                              # the built book is what is timed
    python benchmarks/bench_browser.py --json results.json     # about a minute on 2 cores

Opens the built demo page in headless Chromium (Debian's, through Playwright), and for each margin
the page offers times its whole pipeline (percentile scaling, overlap-tile, ONNX Runtime Web in
WebAssembly, one thread, the softmax) on a 512 x 512 crop of the first held-out image; the median
of 5 runs after one warm-up. Beside it, in the same run, the same file, tiles and margin through
ONNX Runtime's native CPU build in Python, one thread and two: the ratio is what running in a
browser costs. Goal (issue 26): at most 1 s for a 512 x 512 image on 2 cores.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import json
import os
import statistics
import threading
import time
from pathlib import Path

import numpy as np
from _results import cpu_model, save_rows
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
DEMO = HTML / "_static" / "demo"
SIDE, RUNS = 512, 5


def tile_grids(settings: dict) -> dict:
    """unetlib's tile plan of a SIDE x SIDE image, for each margin the page offers."""
    from unetlib.model import UNet
    from unetlib.tiling import plan_tiles

    layout = UNet(1, 2, depth=settings["multiple"].bit_length() - 1, base_channels=2, padding="same")
    return {m: plan_tiles(layout, SIDE, SIDE, settings["tile_size"], m) for m in settings["margins"]}


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def browser_times(settings: dict) -> dict[int, float]:
    """Median milliseconds per 512 x 512 image in the page, for each margin."""
    from playwright.sync_api import sync_playwright

    handler = functools.partial(_QuietHandler, directory=str(HTML))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    times = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        page = browser.new_page()
        page.goto(f"http://127.0.0.1:{server.server_address[1]}/book/demo.html")
        page.wait_for_selector("#unet-demo[data-state=done]", timeout=120_000)
        for margin in settings["margins"]:
            runs = page.evaluate(
                """async ([side, margin, runs]) => {
                    const image = window.unetDemo.state.image;  // the first held-out image
                    const crop = new Float64Array(side * side);
                    for (let y = 0; y < side; y++)
                        crop.set(image.grey.subarray(y * image.width, y * image.width + side), y * side);
                    const times = [];
                    for (let k = 0; k <= runs; k++)
                        times.push((await window.unetDemo.segment(crop, side, side, margin)).milliseconds);
                    return times.slice(1);
                }""",
                [SIDE, margin, RUNS],
            )
            times[margin] = statistics.median(runs)
        browser.close()
    server.shutdown()
    return times


def native_times(settings: dict, threads: int) -> dict[int, float]:
    """The same tiles through ONNX Runtime in Python (the tiles cut by unetlib's own planner)."""
    import onnxruntime

    from unetlib.data import normalise_percentile
    from unetlib.tiling import mirrored_crop

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = threads
    session = onnxruntime.InferenceSession(str(DEMO / settings["model"]), options)
    grey = np.asarray(Image.open(DEMO / settings["samples"][0]["file"]))[:SIDE, :SIDE]
    tile = settings["tile_size"]
    times = {}
    for margin, grid in tile_grids(settings).items():
        runs = []
        for _ in range(RUNS + 1):
            start = time.perf_counter()
            pixels = normalise_percentile(grey)
            for top, left in grid.corners():
                crop = mirrored_crop(pixels, top - margin, left - margin, tile)[None, None]
                session.run(None, {"image": np.ascontiguousarray(crop)})
            runs.append(1000 * (time.perf_counter() - start))
        times[margin] = statistics.median(runs[1:])
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", help="append the rows to this results file")
    args = parser.parse_args()
    if not (DEMO / "demo.json").exists():
        raise SystemExit(f"{DEMO / 'demo.json'} is missing: build the book first (bash .ci/book)")
    settings = json.loads((DEMO / "demo.json").read_text())
    web = browser_times(settings)
    one, two = native_times(settings, 1), native_times(settings, 2)
    import onnxruntime

    rows = []
    for margin, grid in tile_grids(settings).items():
        rows.append(
            {
                "image": f"{SIDE}x{SIDE}",
                "tile": settings["tile_size"],
                "margin": margin,
                "tiles": len(grid),
                "browser ms": round(web[margin]),
                "native ms, 1 thread": round(one[margin]),
                "native ms, 2 threads": round(two[margin]),
                "browser / native 1 thread": f"{web[margin] / one[margin]:.1f}",
                "machine": f"{cpu_model()}, {os.cpu_count()} cores, Chromium, onnxruntime {onnxruntime.__version__} (native)",
            }
        )
        print(rows[-1])
    save_rows(args.json, "browser", rows)


if __name__ == "__main__":
    main()
