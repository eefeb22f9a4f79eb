"""Write the book's performance appendix (book/performance.md) from the benchmarks, in one command.

    .venv/bin/pip install -c .ci/constraints.txt monai     # once: bench_unet compares with MONAI
    .venv/bin/python benchmarks/performance_page.py          # runs them all, then writes the page
    .venv/bin/python benchmarks/performance_page.py --from results.json   # rewrite from saved rows

Each benchmark runs in its own process and appends its rows, each naming the machine it ran on,
to one JSON file (kept as benchmarks/results.json); the page is rendered from that file. Run it
on a quiet machine: the benchmarks time things, and other work distorts the numbers.
"""

from __future__ import annotations

import argparse
import datetime
import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
PAGE = HERE.parent / "book" / "performance.md"
RESULTS = HERE / "results.json"

SECTIONS = [
    (
        "conv",
        "Convolution: loops, vectorised NumPy, PyTorch",
        "bench_conv.py",
        "Chapter 1's three implementations of the same convolution, on one 512x512 image with a 3x3 "
        "kernel; each output is checked against PyTorch before it is timed, and each time is the best "
        "of several runs. *loops / NumPy* is how many times faster the vectorised `conv2d` is than the "
        "loops; *NumPy / PyTorch* is its time as a multiple of PyTorch's.",
    ),
    (
        "unet",
        "A U-Net training step and inference, against MONAI",
        "bench_unet.py",
        "`unetlib.UNet` against MONAI's `BasicUNet` built to the same architecture (same padding, ReLU, "
        "no normalisation, transposed-convolution upsampling, parameter counts within 1%), timed "
        "alternately run by run; medians. Below 1 means `unetlib` is faster.",
    ),
    (
        "tiled",
        "Overlap-tile inference: throughput and memory",
        "bench_unet.py",
        "`predict_tiled` on a large image, each row in a fresh process, with that process's peak "
        "resident memory: it is bounded by the tiles per batch, not by the image.",
    ),
    (
        "profile",
        "Where the training chapters' time goes",
        "profile_chapters.py",
        "The work of Chapter 8's and Chapter 10's expensive cells, run with the chapters' own functions, "
        "every second charged to one part (exclusively: a nested part's time is not counted twice). "
        "*before*: a longer, plainer training (Chapter 8: 360 steps per run, no "
        "batch norm, constant learning rate, 3 runs; Chapter 10: 480 steps); *after*: what the chapters train "
        "(Chapter 8: 96 steps per run with batch norm, warm-up + cosine and channels-last memory, 3 runs, "
        "the other seeds read from a results file; Chapter 10: 192 steps). Seconds are for one run.",
    ),
    (
        "step",
        "One training step, and what makes it cheaper",
        "bench_step.py",
        "Chapter 8's U-Net (3 levels, 16 channels, same padding), one step on a batch of 8 crops of 128x128: "
        "forward, backward, Adam. All variants timed round by round in one process; medians, and the ratio "
        "to the plain step. *first 2 steps* includes any warm-up (compilation).",
    ),
    (
        "threads",
        "Sharing two cores with another job",
        "bench_step.py",
        "The same step in two processes at once on the same machine, as when a book build shares it with "
        "another job, under each thread setting (each process new, since the setting must be made before "
        "PyTorch starts). On two cores a slowdown of 2x is each process's fair share. `.ci/book` and "
        "`.ci/test` set `OMP_WAIT_POLICY=PASSIVE`.",
    ),
    (
        "training",
        "Time to quality: Chapter 8's recipe, trained two ways",
        "bench_training.py",
        "Seconds of training (scoring not counted) until the paper's recipe of Chapter 8 reaches each target "
        "on the 5 held-out BBBC039 images, scored after every epoch; *old* trains without batch norm at a "
        "constant rate 1e-3 in NCHW memory, *new* with batch norm, warm-up + cosine to 3e-3 and "
        "channels-last, as Chapter 8 trains. Both in one run, one seed each: the *new* training's held-out "
        "scores swing from epoch to epoch before they settle (the script prints them), so where it crosses a "
        "target is one draw, not a ranking. Chapter 8 compares the recipes over three seeds.",
    ),
    (
        "geo_scene",
        "A whole satellite scene from disk to a class GeoTIFF",
        "bench_geo.py",
        "Chapter 13's network (depth 3, 16 channels, batch norm, 6 bands, channels-last memory) over an 8000 x "
        "8000 x 6 float32 GeoTIFF built from the real Landsat scene (deflate, 256 x 256 blocks, 242 MiB on "
        "disk, 1.5 GB of values), written as a class GeoTIFF, four ways, each in a fresh "
        "process with its own peak resident memory: `unetlib.geo.predict_scene` (tiles read from disk and "
        "written as they are done), the whole scene read into memory and tiled with `predict_tiled`, and "
        "MONAI's `sliding_window_inference` (Gaussian blending, windows overlapping by 0.25 or 0.5) on the "
        "scene in memory. Tiles of 512 with a 32-pixel margin (predict_scene, in memory; MONAI's windows are "
        "512 too). *error_vs_one_pass*: the share of valid "
        "pixels, in a central 1024 x 1024 window, whose class differs from one untiled pass of the network. "
        "Goals: at least 1.2 Mpx/s end to end, peak memory at most 1 GB.",
    ),
    (
        "browser",
        "The U-Net in the page: a 512 x 512 image in the browser",
        "bench_browser.py",
        "The in-page demo (Chapter 8's network, exported to ONNX, tiles of 256) in headless Chromium: "
        "ONNX Runtime Web 1.30 in WebAssembly with one thread (more need cross-origin isolation, which "
        "a static host does not give), the whole pipeline from grey values to probabilities, on a 512 x 512 "
        "crop of a held-out image; medians of 5 runs after a warm-up. Beside it, in the same run, the same "
        "file and tiles through ONNX Runtime's native CPU build in Python. Goal (issue 26): at most 1 s "
        "on 2 cores.",
    ),
]


def markdown_table(rows: list[dict]) -> str:
    columns = list(rows[0])
    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    lines += ["| " + " | ".join(str(row[c]) for c in columns) + " |" for row in rows]
    return "\n".join(lines)


def render(results: dict, date: str) -> str:
    # A machine's full description is long: the tables name it by a letter, defined once on top.
    machines: dict[str, str] = {}
    for rows in results.values():
        for row in rows:
            machines.setdefault(row["machine"], "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[len(machines)])
    parts = [
        "# Performance",
        "",
        "What `unetlib` costs in time and memory, measured by the scripts in `benchmarks/`. Every "
        "row names the machine it was measured on (the letters are defined below); ratios between "
        "implementations measured in the same run travel between machines better than seconds do. "
        "Regenerate this page with `python benchmarks/performance_page.py` (see its docstring); "
        f"these tables were written on {date}.",
        "",
        markdown_table([{"machine": letter, "description": description} for description, letter in machines.items()]),
    ]
    for key, title, script, text in SECTIONS:
        if results.get(key):
            rows = [{**row, "machine": machines[row["machine"]]} for row in results[key]]
            parts += ["", f"## {title}", "", text + f" (`benchmarks/{script}`)", "", markdown_table(rows)]
    parts += [
        "",
        "## Building this book",
        "",
        "Every chapter is executed each time the book is built. The times below were measured "
        "while building the page you are reading, on the machine that built it:",
        "",
        "```{nb-exec-table}",
        "```",
        "",
    ]
    return "\n".join(parts)


def run_benchmarks(results_path: Path) -> None:
    results_path.unlink(missing_ok=True)
    scripts = (
        "bench_conv.py",
        "bench_unet.py",
        "bench_step.py",
        "bench_training.py",
        "profile_chapters.py",
        "bench_geo.py",
        "bench_browser.py",  # needs the built book
    )
    for script in scripts:
        print(f"running {script} ...", flush=True)
        subprocess.run([sys.executable, str(HERE / script), "--json", str(results_path)], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--from", dest="source", help="render from this results file instead of running")
    args = parser.parse_args()
    source = Path(args.source) if args.source else RESULTS
    if not args.source:
        try:
            import monai  # noqa: F401
        except ImportError:
            raise SystemExit(
                "bench_unet.py compares with MONAI: first run `.venv/bin/pip install -c .ci/constraints.txt monai`"
            ) from None
        run_benchmarks(source)
    date = datetime.date.fromtimestamp(source.stat().st_mtime).isoformat()
    PAGE.write_text(render(json.loads(source.read_text()), date))
    print(f"wrote {PAGE}")


if __name__ == "__main__":
    main()
