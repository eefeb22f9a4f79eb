"""What one training step of Chapter 8's U-Net costs on this CPU, and what makes it cheaper.

    .venv/bin/python benchmarks/bench_step.py             # steps, then sharing the cores
    .venv/bin/python benchmarks/bench_step.py --compile   # also torch.compile (slow to warm up)

Part 1, *the step*: a 3-level U-Net with 16 channels at the top, same padding, a batch of
8 crops of 128x128, cross-entropy, Adam: the forward pass, the backward pass and the update.
Each variant is timed in turn, round after round in the same process (so a change in the
machine's load hits all of them alike); the table gives medians and the ratio to the first row.

Part 2, *sharing the cores*: the same step in two processes at once, as when a book build
shares a 2-core machine with another job, under three thread settings: PyTorch's default
(OpenMP threads that spin while they wait for each other), ``OMP_WAIT_POLICY=PASSIVE``
(threads that sleep), and one thread per process. Each setting must be chosen before
PyTorch starts, so each process is new. Two processes on two cores get half the machine
each: a slowdown of 2x is the fair share, more is waste.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

import torch

from _results import machine, save_rows


def make_step(
    batch_norm: bool = False,
    channels_last: bool = False,
    bf16: bool = False,
    compile_: bool = False,
    batch: int = 8,
    crop: int = 128,
):
    from unetlib.losses import weighted_cross_entropy
    from unetlib.model import UNet

    torch.manual_seed(0)
    model = UNet(1, 2, depth=3, base_channels=16, padding="same", batch_norm=batch_norm)
    images, targets = torch.randn(batch, 1, crop, crop), torch.randint(0, 2, (batch, crop, crop))
    if channels_last:
        model, images = (
            model.to(memory_format=torch.channels_last),
            images.contiguous(memory_format=torch.channels_last),
        )
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)
    forward = torch.compile(model) if compile_ else model

    def step() -> None:
        optimiser.zero_grad()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            logits = forward(images)
        weighted_cross_entropy(logits.float(), targets, None).backward()
        optimiser.step()

    return step


def time_variants(variants: dict, rounds: int) -> dict[str, list[float]]:
    steps, warm_up = {}, {}
    for name, settings in variants.items():
        steps[name] = make_step(**settings)
        start = time.perf_counter()
        steps[name]()
        steps[name]()
        warm_up[name] = time.perf_counter() - start
    times = {name: [] for name in variants}
    for _ in range(rounds):
        for name, step in steps.items():
            start = time.perf_counter()
            step()
            times[name].append(time.perf_counter() - start)
    return times, warm_up


def worker(steps: int) -> None:
    """Run in a child process: time ``steps`` steps of the plain step, print seconds per step."""
    step = make_step()
    step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    print(f"{(time.perf_counter() - start) / steps:.4f}")


def shared(setting: dict[str, str], processes: int, steps: int) -> list[float]:
    # Nothing inherited (.ci/book exports OMP_WAIT_POLICY): each row is exactly its setting.
    env = {key: value for key, value in os.environ.items() if key not in ("OMP_WAIT_POLICY", "OMP_NUM_THREADS")}
    env.update(setting)
    command = [sys.executable, __file__, "--worker", str(steps)]
    children = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True) for _ in range(processes)]
    return [float(child.communicate()[0]) for child in children]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--compile", action="store_true", help="also time torch.compile")
    parser.add_argument("--shared-steps", type=int, default=20)
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--json", help="also append the rows to this JSON file (for the book's appendix)")
    args = parser.parse_args()
    if args.worker:
        worker(args.worker)
        return
    where = machine("cpu")
    print(f"machine: {where}")

    variants = {
        "plain (Chapter 8 before)": {},
        "channels-last": {"channels_last": True},
        "batch norm": {"batch_norm": True},
        "batch norm + channels-last (Chapter 8 now)": {"batch_norm": True, "channels_last": True},
        "bf16 autocast": {"bf16": True},
        "batch 16 of 64x64 (same pixels / 2)": {"batch": 16, "crop": 64},
    }
    if args.compile:
        variants["torch.compile"] = {"compile_": True}
    times, warm_up = time_variants(variants, args.rounds)
    first = statistics.median(next(iter(times.values())))
    rows = []
    print(f"\n{'variant':46}{'ms/step':>9}{'ratio':>8}{'first 2 steps s':>17}")
    for name, values in times.items():
        median = statistics.median(values)
        rows.append(
            {
                "variant": name,
                "ms per step": f"{1000 * median:.0f}",
                "ratio to plain": f"{median / first:.2f}",
                "first 2 steps (s)": f"{warm_up[name]:.1f}",
                "machine": where,
            }
        )
        print(f"{name:46}{1000 * median:9.0f}{median / first:8.2f}{warm_up[name]:17.1f}")
    save_rows(args.json, "step", rows)

    settings = {
        "default (threads spin)": {},
        "OMP_WAIT_POLICY=PASSIVE": {"OMP_WAIT_POLICY": "PASSIVE"},
        "1 thread per process": {"OMP_NUM_THREADS": "1"},
    }
    rows = []
    print(f"\n{'threads':28}{'alone ms':>10}{'2 at once ms':>14}{'slowdown':>10}")
    for name, setting in settings.items():
        alone = shared(setting, 1, args.shared_steps)[0]
        both = statistics.mean(shared(setting, 2, args.shared_steps))
        rows.append(
            {
                "thread setting": name,
                "alone (ms/step)": f"{1000 * alone:.0f}",
                "two processes at once (ms/step)": f"{1000 * both:.0f}",
                "slowdown": f"{both / alone:.1f}x",
                "machine": where,
            }
        )
        print(f"{name:28}{1000 * alone:10.0f}{1000 * both:14.0f}{both / alone:9.1f}x")
    save_rows(args.json, "threads", rows)


if __name__ == "__main__":
    main()
