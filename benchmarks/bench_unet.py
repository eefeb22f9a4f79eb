"""U-Net speed: unetlib.UNet against MONAI's BasicUNet, and overlap-tile throughput and memory.

    pip install -c .ci/constraints.txt monai        # once; not needed by the book or the tests
    .venv/bin/python benchmarks/bench_unet.py          # paper widths, 256x256, batch 2
    .venv/bin/python benchmarks/bench_unet.py --quick  # narrower networks, fewer repeats

Part 1 builds both networks to the same architecture: 64, 128, 256, 512, 1024 channels, same
padding (MONAI's BasicUNet only pads), ReLU, no normalisation, 2x2 transposed-convolution
upsampling. It checks that their parameter counts agree to 1% (MONAI's last up step keeps its channels,
the only difference), then times a training step
(forward, cross-entropy, backward, SGD step) and inference, alternating the two networks run by
run so that both see the same machine load, and prints the median of each and their ratio.

Part 2 runs predict_tiled on a 4096x4096 image in a fresh process per setting and reports
pixels per second and the process's peak resident memory, for two tile batch sizes and, for
comparison, a 2048x2048 image: the memory the network needs is bounded by the tile batch.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

import torch
import torch.nn.functional as F

from unetlib.model import UNet

from _results import machine, save_rows


def timed(function) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def compare_with_monai(size: int, batch: int, base: int, repeats: int, device: str) -> list[dict]:
    from monai.networks.nets import BasicUNet

    torch.manual_seed(0)
    widths = [base * 2**level for level in range(5)]
    ours = UNet(1, 2, base_channels=base, padding="same").to(device)
    theirs = BasicUNet(
        spatial_dims=2,
        in_channels=1,
        out_channels=2,
        features=(*widths, widths[0]),
        act=("relu", {"inplace": True}),
        norm=None,
        upsample="deconv",
    ).to(device)
    counts = [sum(p.numel() for p in net.parameters()) for net in (ours, theirs)]
    # BasicUNet's last up step keeps its channels (halves=False) before the concatenation, the
    # only difference from the paper's layout: a few thousand more parameters and multiply-adds.
    print(
        f"parameters: unetlib {counts[0]:,}, MONAI BasicUNet {counts[1]:,} "
        f"({(counts[1] - counts[0]) / counts[0]:+.2%}: MONAI's last up step does not halve channels)"
    )
    if abs(counts[1] - counts[0]) > 0.01 * counts[0]:
        raise SystemExit("the two networks differ by more than 1%: compare like with like")
    x = torch.randn(batch, 1, size, size, device=device)
    target = torch.randint(0, 2, (batch, size, size), device=device)
    optimisers = [torch.optim.SGD(net.parameters(), lr=1e-3) for net in (ours, theirs)]

    def step(net, optimiser):
        optimiser.zero_grad()
        F.cross_entropy(net(x), target).backward()
        optimiser.step()
        if device == "cuda":
            torch.cuda.synchronize()

    def infer(net):
        with torch.inference_mode():
            net(x)
        if device == "cuda":
            torch.cuda.synchronize()

    for net, optimiser in zip((ours, theirs), optimisers):  # warm-up (allocator, kernels)
        step(net, optimiser)
        infer(net.eval())
        net.train()
    results = {}
    for task in ("training step", "inference"):
        times = {"unetlib": [], "MONAI": []}
        for _ in range(repeats):
            for name, net, optimiser in (("unetlib", ours, optimisers[0]), ("MONAI", theirs, optimisers[1])):
                if task == "training step":
                    net.train()
                    times[name].append(timed(lambda: step(net, optimiser)))
                else:
                    net.eval()
                    times[name].append(timed(lambda: infer(net)))
        results[task] = {name: statistics.median(t) for name, t in times.items()}
    print(f"\n{'':16}{'unetlib ms':>12}{'MONAI ms':>12}{'unetlib/MONAI':>15}")
    rows = []
    for task, medians in results.items():
        print(
            f"{task:16}{medians['unetlib'] * 1e3:12.0f}{medians['MONAI'] * 1e3:12.0f}"
            f"{medians['unetlib'] / medians['MONAI']:15.2f}"
        )
        rows.append(
            {
                "task": task,
                "input": f"{batch} x {size}x{size}",
                "widths": f"{base}..{base * 16}",
                "unetlib ms": f"{medians['unetlib'] * 1e3:.0f}",
                "MONAI ms": f"{medians['MONAI'] * 1e3:.0f}",
                "unetlib / MONAI": f"{medians['unetlib'] / medians['MONAI']:.2f}",
                "machine": machine(device),
            }
        )
    return rows


TILED_CHILD = """
import json, resource, sys, time
import numpy as np, torch
from unetlib.model import UNet
from unetlib.tiling import predict_tiled
side, base, batch, tile, device = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
torch.manual_seed(0)
model = UNet(1, 2, base_channels=base).to(device)
image = np.random.default_rng(0).random((side, side), dtype=np.float32)
start = time.perf_counter()
out = predict_tiled(model, image, tile_size=tile, batch_size=batch, device=device, progress=False)
seconds = time.perf_counter() - start
peak_gpu = torch.cuda.max_memory_allocated() if device == "cuda" else 0
# VmHWM is this process's own peak; ru_maxrss would carry over the parent's peak across exec on Linux.
status = open("/proc/self/status").read() if sys.platform == "linux" else ""
peak_kb = int(status.split("VmHWM:")[1].split()[0]) if "VmHWM:" in status else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"seconds": seconds, "peak_rss_kb": peak_kb,
                  "peak_gpu_bytes": peak_gpu, "shape": list(out.shape)}))
"""


def tiled_throughput(base: int, tile: int, device: str, sides: list[int], batches: list[int]) -> list[dict]:
    print(
        f"\npredict_tiled, UNet(base_channels={base}), valid padding, {tile}x{tile} tiles, on {device};"
        " each row a fresh process"
    )
    print(f"{'image':>11}{'batch':>7}{'seconds':>9}{'Mpixel/s':>10}{'peak RSS MB':>13}{'peak GPU MB':>13}")
    rows = []
    for side in sides:
        for batch in batches:
            run = subprocess.run(
                [sys.executable, "-c", TILED_CHILD, str(side), str(base), str(batch), str(tile), device],
                capture_output=True,
                text=True,
                check=True,
            )
            result = json.loads(run.stdout.strip().splitlines()[-1])
            print(
                f"{side:>5}x{side:<5}{batch:>7}{result['seconds']:9.1f}{side * side / result['seconds'] / 1e6:10.2f}"
                f"{result['peak_rss_kb'] / 1024:13.0f}{result['peak_gpu_bytes'] / 2**20:13.0f}"
            )
            rows.append(
                {
                    "image": f"{side}x{side}",
                    "network": f"UNet(base_channels={base}), {tile}x{tile} tiles",
                    "tiles per batch": batch,
                    "seconds": f"{result['seconds']:.1f}",
                    "Mpixel/s": f"{side * side / result['seconds'] / 1e6:.2f}",
                    "peak RSS MB": f"{result['peak_rss_kb'] / 1024:.0f}",
                    "machine": machine(device),
                }
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="narrower networks, fewer repeats")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--json", help="also append the rows to this JSON file (for the book's appendix)")
    args = parser.parse_args()
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch "
        f"{torch.__version__} ({torch.get_num_threads()} threads), device {args.device}"
    )
    if args.quick:
        print("\n-- unetlib.UNet vs MONAI BasicUNet: widths 16..256, 128x128, batch 2, median of 5 --")
        save_rows(args.json, "unet", compare_with_monai(size=128, batch=2, base=16, repeats=5, device=args.device))
        save_rows(
            args.json,
            "tiled",
            tiled_throughput(base=8, tile=572, device=args.device, sides=[1024, 2048], batches=[1, 4]),
        )
    else:
        print("\n-- unetlib.UNet vs MONAI BasicUNet: widths 64..1024, 256x256, batch 2, median of 7 --")
        save_rows(args.json, "unet", compare_with_monai(size=256, batch=2, base=64, repeats=7, device=args.device))
        base = 64 if args.device == "cuda" else 16  # the paper's width takes minutes per image on a CPU
        save_rows(
            args.json,
            "tiled",
            tiled_throughput(base=base, tile=572, device=args.device, sides=[2048, 4096], batches=[1, 4]),
        )


if __name__ == "__main__":
    main()
