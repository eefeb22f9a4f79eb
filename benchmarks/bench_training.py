"""Time to quality: seconds of training until Chapter 7's recipe reaches a target on held-out images.

    .venv/bin/python benchmarks/bench_training.py              # Dice 0.90 and object F1 0.80
    .venv/bin/python benchmarks/bench_training.py --max-epochs 30

Chapter 7's recipe: BBBC039 nuclei (13 training images, the last 5 held out), a 3-level U-Net
with 16 channels at the top, same padding, random 128x128 crops with augmentation, targets
with gaps between touching nuclei and the paper's border weight map, Adam 1e-3, batches of 8,
64 crops per epoch. After every epoch the held-out images are segmented whole and scored:
pixel Dice of the foreground, and object F1 (IoU > 0.5) of its connected regions. Evaluation
time is not counted as training time. The data come from the cache ($UNETLIB_DATA).
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np
import torch
from skimage.measure import label

from unetlib.data import RandomCrops, load_bbbc039, split_touching
from unetlib.losses import weight_map
from unetlib.metrics import dice, object_f1
from unetlib.model import UNet
from unetlib.train import choose_device, fit, predict

from _results import machine, save_rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dice", type=float, default=0.90)
    parser.add_argument("--f1", type=float, default=0.80)
    parser.add_argument("--max-epochs", type=int, default=60)
    parser.add_argument("--device", default=None)
    parser.add_argument("--json", help="also append the rows to this JSON file (for the book's appendix)")
    args = parser.parse_args()
    device = choose_device(args.device)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch "
          f"{torch.__version__} ({torch.get_num_threads()} threads), device {device}")

    names, images, instances = load_bbbc039()
    train_ids, test_ids = range(0, 13), range(15, 20)
    separated = [split_touching(inst) for inst in instances]
    weights = [weight_map(label(s), balance=False) for s in separated]
    crops = RandomCrops([images[i] for i in train_ids], [separated[i] for i in train_ids],
                        [weights[i] for i in train_ids], crop=128, samples=64, augment=True, seed=0)
    torch.manual_seed(0)
    model = UNet(1, 2, depth=3, base_channels=16, padding="same")

    trained, reached, reached_epoch = 0.0, {}, {}
    print(f"\n{'epoch':>5}{'train s':>9}{'Dice':>8}{'F1':>8}")
    for epoch in range(1, args.max_epochs + 1):
        start = time.perf_counter()
        fit(model, crops, epochs=epoch, device=device, progress=False, seed=0,
            resume=None if epoch == 1 else "/tmp/unetlib_bench_training.pt", checkpoint="/tmp/unetlib_bench_training.pt")
        trained += time.perf_counter() - start
        dices, f1s = [], []
        for i in test_ids:
            foreground = (predict(model, images[i], device=device).argmax(0) == 1).numpy()
            dices.append(dice(foreground, instances[i] > 0))
            f1s.append(object_f1(label(foreground), instances[i])["f1"])
        d, f = float(np.mean(dices)), float(np.mean(f1s))
        print(f"{epoch:>5}{trained:9.1f}{d:8.3f}{f:8.3f}", flush=True)
        if d >= args.dice and "dice" not in reached:
            reached["dice"], reached_epoch["dice"] = trained, epoch
        if f >= args.f1 and "f1" not in reached:
            reached["f1"], reached_epoch["f1"] = trained, epoch
        if len(reached) == 2:
            break
    rows = []
    for key, target in (("dice", args.dice), ("f1", args.f1)):
        when = f"{reached[key]:.1f} s of training" if key in reached else f"not within {args.max_epochs} epochs"
        print(f"{'pixel Dice' if key == 'dice' else 'object F1'} >= {target}: {when} "
              f"({os.cpu_count()} cores, {device})")
        rows.append({"target (held-out BBBC039 images)": f"{'pixel Dice' if key == 'dice' else 'object F1'} >= {target}",
                     "seconds of training": f"{reached[key]:.1f}" if key in reached else f"> {trained:.0f}",
                     "epochs (8 steps)": reached_epoch.get(key, "-"), "machine": machine(device)})
    save_rows(args.json, "training", rows)


if __name__ == "__main__":
    main()
