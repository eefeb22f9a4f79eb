"""Convolution speed: loops vs vectorised NumPy vs PyTorch, side by side in one run.

    .venv/bin/python benchmarks/bench_conv.py            # 512x512 image, 3x3 kernel
    .venv/bin/python benchmarks/bench_conv.py --quick    # fewer repeats

Each configuration is timed as the best of several runs (the least disturbed by other work on
a shared machine) and reported as ratios, which travel between machines better than seconds.
Every implementation's output is checked against PyTorch before it is timed.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np
import torch
import torch.nn.functional as F

from unetlib.conv import conv2d, conv2d_naive

from _results import machine, save_rows


def best_time(function, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=512, help="image side in pixels")
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    parser.add_argument("--json", help="also append the rows to this JSON file (for the book's appendix)")
    args = parser.parse_args()
    rows = []
    repeats = 5 if args.quick else 20
    size = args.size
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"torch {torch.__version__} with {torch.get_num_threads()} threads, numpy {np.__version__}"
    )
    print(f"image {size}x{size}, kernel 3x3, no padding; times are the best of {repeats} runs (loops: 1 run)\n")
    header = (
        f"{'dtype':8} {'channels in->out':>16} {'loops ms':>10} {'numpy ms':>9} {'torch ms':>9} "
        f"{'loops/numpy':>12} {'numpy/torch':>12}"
    )
    print(header)
    print("-" * len(header))
    rng = np.random.default_rng(0)
    for dtype in (np.float64, np.float32):
        for in_channels, out_channels in ((1, 1), (3, 8), (16, 16)):
            x = rng.standard_normal((1, in_channels, size, size)).astype(dtype)
            weight = rng.standard_normal((out_channels, in_channels, 3, 3)).astype(dtype)
            x_t, weight_t = torch.from_numpy(x), torch.from_numpy(weight)
            expected = F.conv2d(x_t, weight_t).numpy()
            tolerance = 1e-10 if dtype == np.float64 else 1e-3
            np.testing.assert_allclose(conv2d(x, weight), expected, atol=tolerance)
            numpy_s = best_time(lambda: conv2d(x, weight), repeats)
            torch_s = best_time(lambda: F.conv2d(x_t, weight_t), repeats)
            loops = "-"
            loops_ratio = "-"
            if in_channels == 1 or not args.quick and in_channels * out_channels <= 24:
                np.testing.assert_allclose(conv2d_naive(x, weight), expected, atol=tolerance)
                loops_s = best_time(lambda: conv2d_naive(x, weight), 1)
                loops, loops_ratio = f"{loops_s * 1e3:,.0f}", f"{loops_s / numpy_s:,.0f}x"
            rows.append(
                {
                    "image": f"{size}x{size}",
                    "dtype": np.dtype(dtype).name,
                    "channels": f"{in_channels}->{out_channels}",
                    "loops ms": loops,
                    "NumPy ms": f"{numpy_s * 1e3:.2f}",
                    "PyTorch ms": f"{torch_s * 1e3:.2f}",
                    "loops / NumPy": loops_ratio,
                    "NumPy / PyTorch": f"{numpy_s / torch_s:.2f}x",
                    "machine": machine(),
                }
            )
            print(
                f"{np.dtype(dtype).name:8} {f'{in_channels}->{out_channels}':>16} {loops:>10} "
                f"{numpy_s * 1e3:9.2f} {torch_s * 1e3:9.2f} {loops_ratio:>12} {numpy_s / torch_s:11.2f}x"
            )
    print(
        "\nloops/numpy: how many times faster the vectorised conv2d is than the loops; "
        "numpy/torch: conv2d's time as a multiple of PyTorch's (below 1 is faster)."
    )
    save_rows(args.json, "conv", rows)


if __name__ == "__main__":
    main()
