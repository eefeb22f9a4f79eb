"""Seconds per training step of ``fit``: this checkout against an earlier commit, side by side.

    .venv/bin/python benchmarks/bench_fit.py --against HEAD~1 --rounds 5

Both versions of ``unetlib`` train the same network (Chapter 8's: depth 3, 16 channels, batch
norm, same padding) on the same 8 random 128x128 crops per step, for ``--steps`` steps, on the
CPU. Each round runs the two versions one after the other, each in a fresh process (the
earlier one from ``git archive``), which goes first alternating, so a change in the machine's
load hits both alike; the table
gives each version's median seconds per step and their ratio. The loop's bookkeeping (the
configuration, the loss object, the history) should cost nothing next to the forward and
backward passes: a ratio near 1.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path

from _results import machine

ROOT = Path(__file__).resolve().parents[1]

# Run in a fresh process with the chosen unetlib first on sys.path; prints seconds per step.
WORKER = """
import sys, time, torch
torch.set_num_threads(int(sys.argv[3]))
sys.path.insert(0, sys.argv[1])
import unetlib
assert unetlib.__file__.startswith(sys.argv[1]), unetlib.__file__
from unetlib.model import UNet
from unetlib.train import fit
torch.manual_seed(0)
steps = int(sys.argv[2])
data = torch.utils.data.TensorDataset(torch.randn(8 * steps, 1, 128, 128), torch.randint(0, 2, (8 * steps, 128, 128)))
model = UNet(1, 2, depth=3, base_channels=16, padding="same", batch_norm=True)
fit(model, torch.utils.data.Subset(data, range(8)), epochs=1, batch_size=8, device="cpu", progress=False)  # warm-up
start = time.perf_counter()
fit(model, data, epochs=1, batch_size=8, device="cpu", progress=False)
print((time.perf_counter() - start) / steps)
"""


def earlier_package(commit: str, folder: Path) -> Path:
    """``unetlib`` as it was at ``commit``, unpacked into ``folder``."""
    archive = subprocess.run(["git", "archive", commit, "unetlib"], cwd=ROOT, capture_output=True, check=True).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    return folder


def seconds_per_step(package_root: Path, steps: int, threads: int) -> float:
    result = subprocess.run(
        [sys.executable, "-c", WORKER, str(package_root), str(steps), str(threads)],
        capture_output=True,
        text=True,
        check=True,
    )
    return float(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--against", default="HEAD~1", help="the commit to compare with")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--threads", type=int, default=1, help="PyTorch threads (1: the steadiest timings)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        old_root = earlier_package(args.against, Path(scratch))
        times = {"this checkout": [], args.against: []}
        versions = [("this checkout", ROOT), (args.against, old_root)]
        for round_ in range(args.rounds):
            # Alternate which goes first, so that neither always meets a cold or a warm machine.
            for name, root in versions if round_ % 2 == 0 else versions[::-1]:
                times[name].append(seconds_per_step(root, args.steps, args.threads))
    medians = {name: statistics.median(values) for name, values in times.items()}
    ratio = medians["this checkout"] / medians[args.against]
    print(f"machine: {machine()}; each worker with {args.threads} thread(s)")
    for name, value in medians.items():
        print(f"{name:>16}: {value * 1000:7.1f} ms per step (median of {args.rounds})")
    spread = {name: (min(values), max(values)) for name, values in times.items()}
    print(f"ratio this checkout / {args.against}: {ratio:.3f} (ranges: {spread})")
    if args.json:
        args.json.write_text(json.dumps({"machine": machine(), "times": times, "ratio": ratio}, indent=1) + "\n")


if __name__ == "__main__":
    main()
