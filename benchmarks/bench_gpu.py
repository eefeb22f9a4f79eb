"""One training step of the paper's U-Net on a GPU: what mixed precision, channels-last and
torch.compile each buy.

    python benchmarks/bench_gpu.py                       # on a machine with a CUDA GPU
    python benchmarks/bench_gpu.py --json results.json   # also save the rows
    python benchmarks/bench_gpu.py --smoke               # a tiny network on the CPU: checks the script runs

The network is the paper's: ``UNet(1, 2)`` (depth 4, 64 channels, valid padding) on 572x572
tiles, batch 4, cross-entropy, Adam, as :func:`unetlib.train.fit` trains it. The variants run
round after round in one process, each step timed with CUDA events after warm-up steps (and,
for ``torch.compile``, after its compilation), so the ratios come from one run on one GPU.
Mixed precision is bfloat16 where the GPU supports it, else float16 with a gradient scaler:
what ``fit`` chooses. Without a GPU (and without ``--smoke``) it says so and measures nothing.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import torch
import torch.nn.functional as F

from _results import machine, save_rows
from unetlib.model import UNet

VARIANTS = {
    "float32": dict(amp=False, channels_last=False, compile=False),
    "channels-last": dict(amp=False, channels_last=True, compile=False),
    "mixed precision": dict(amp=True, channels_last=False, compile=False),
    "mixed precision + channels-last": dict(amp=True, channels_last=True, compile=False),
    "mixed precision + channels-last + compile": dict(amp=True, channels_last=True, compile=True),
}


def make_step(
    device: torch.device, amp: bool, channels_last: bool, compile: bool, size: int, batch: int, width: int, depth: int
):
    """A function that runs one training step and returns its loss."""
    torch.manual_seed(0)
    model = UNet(1, 2, depth=depth, base_channels=width).to(device)
    images = torch.randn(batch, 1, size, size, device=device)
    with torch.no_grad():
        out = model(images[:1]).shape[-1]
    targets = torch.randint(0, 2, (batch, out, out), device=device)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        images = images.contiguous(memory_format=torch.channels_last)
    dtype = torch.bfloat16 if device.type == "cpu" or torch.cuda.is_bf16_supported() else torch.float16
    scaler = torch.amp.GradScaler(device.type, enabled=amp and dtype == torch.float16)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-4)
    forward = torch.compile(model) if compile else model

    def step() -> float:
        optimiser.zero_grad(set_to_none=True)
        with torch.autocast(device.type, dtype=dtype, enabled=amp):
            loss = F.cross_entropy(forward(images).float(), targets)
        scaler.scale(loss).backward()
        scaler.step(optimiser)
        scaler.update()
        return loss

    return step


def time_step(step, device: torch.device) -> float:
    """Seconds for one call of ``step``, measured on the device's own clock."""
    if device.type == "cuda":
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        step()
        end.record()
        torch.cuda.synchronize()
        return start.elapsed_time(end) / 1000
    begin = time.perf_counter()
    step()
    return time.perf_counter() - begin


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds of every variant (default: 5)")
    parser.add_argument("--steps", type=int, default=5, help="timed steps per variant and round (default: 5)")
    parser.add_argument("--smoke", action="store_true", help="a tiny network on the CPU, to check the script")
    parser.add_argument("--no-compile", action="store_true", help="leave out the torch.compile variant")
    parser.add_argument("--json", help="append the rows to this results file")
    args = parser.parse_args()
    if args.smoke:
        device, size, batch, width, depth = torch.device("cpu"), 44, 1, 2, 1
        args.rounds, args.steps, args.no_compile = 1, 1, True
    elif torch.cuda.is_available():
        device, size, batch, width, depth = torch.device("cuda"), 572, 4, 64, 4
    else:
        print("no CUDA GPU here: nothing measured (run with --smoke to check the script on the CPU)")
        return 0
    variants = {k: v for k, v in VARIANTS.items() if not (args.no_compile and v["compile"])}
    steps = {
        name: make_step(device, size=size, batch=batch, width=width, depth=depth, **options)
        for name, options in variants.items()
    }
    for step in steps.values():  # warm-up: cuDNN's algorithm search, torch.compile's compilation
        for _ in range(3):
            step()
    times: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(args.rounds):
        for name, step in steps.items():
            times[name] += [time_step(step, device) for _ in range(args.steps)]
    memory = torch.cuda.max_memory_allocated() / 2**30 if device.type == "cuda" else float("nan")
    first = statistics.median(times["float32"])
    rows = []
    print(f"{machine(device)}; UNet(1, 2, depth={depth}, base_channels={width}) on {batch} x {size}x{size}")
    print(f"{'variant':45s} {'median s/step':>14s} {'ratio':>6s}")
    for name, values in times.items():
        median = statistics.median(values)
        rows.append(
            {
                "variant": name,
                "seconds": median,
                "ratio": median / first,
                "machine": machine(device),
                "batch": batch,
                "size": size,
                "peak_memory_gib": memory,
            }
        )
        print(f"{name:45s} {median:14.4f} {median / first:6.2f}")
    save_rows(args.json, "gpu_step" if not args.smoke else "gpu_step_smoke", rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
