"""Time to quality: Chapter 8's old and new training recipes side by side, in one run.

    .venv/bin/python benchmarks/bench_training.py              # Dice 0.90 and object F1 0.80
    .venv/bin/python benchmarks/bench_training.py --dice 0.95 --f1 0.85

Chapter 8's paper recipe: BBBC039 nuclei (13 training images, the last 5 held out), a 3-level
U-Net with 16 channels at the top, same padding, random 128x128 crops with augmentation,
targets with gaps between touching nuclei and the paper's border weight map, Adam, batches of
8, 64 crops per epoch. Two ways to train it:

- *old*: no batch norm, a constant learning rate of 1e-3, contiguous (NCHW) memory, 45 epochs
  (what the chapter trained before);
- *new*: batch norm, warm-up and cosine decay to a 3e-3 peak, channels-last memory, 12 epochs
  (what it trains now).

After every epoch the held-out images are segmented whole and scored: pixel Dice of the
foreground, and object F1 (IoU > 0.5) of its connected regions. Scoring time is not counted
as training time. Each recipe stops once both targets are reached (the new one keeps its
12-epoch schedule: it is not stretched or cut). The data come from the cache ($UNETLIB_DATA).
"""

from __future__ import annotations

import argparse
import os
import time

import torch
from skimage.measure import label

from unetlib.data import load_bbbc039, split_touching
from unetlib.experiments import score_on_images
from unetlib.losses import weight_map
from unetlib.model import UNet
from unetlib.config import choose_device
from unetlib.recipes import BBBC039_SUBSET_SPLIT, CHAPTER8_RECIPE
from unetlib.train import fit

from _results import OLD_RECIPE, machine, save_rows

# The new recipe is Chapter 8's (unetlib.recipes.CHAPTER8_RECIPE); the old one changes it back.
RECIPES = {
    "old": dict(OLD_RECIPE, channels_last=False, epochs=45),
    "new": {},
}


def time_to_quality(
    images, targets, weights, test_images, test_instances, device, recipe: dict, dice_target: float, f1_target: float
) -> dict:
    network = CHAPTER8_RECIPE.model | {k: v for k, v in recipe.items() if k == "batch_norm"}
    config = CHAPTER8_RECIPE.train.replace(
        **{k: v for k, v in recipe.items() if k != "batch_norm"}, device=device, seed=0, progress=False
    )
    torch.manual_seed(0)
    model = UNet(1, 2, **network)
    crops = CHAPTER8_RECIPE.crops(images, targets, weights, seed=0)
    reached: dict[str, tuple[float, int]] = {}
    clock = {"trained": 0.0, "since": time.perf_counter()}

    def score(epoch: int, history: dict) -> bool:
        clock["trained"] += time.perf_counter() - clock["since"]
        dice, f1 = score_on_images(model, test_images, test_instances, device=device)
        print(f"{epoch:>5}{clock['trained']:9.1f}{dice:8.3f}{f1:8.3f}", flush=True)
        for key, value, target in (("dice", dice, dice_target), ("f1", f1, f1_target)):
            if value >= target and key not in reached:
                reached[key] = (clock["trained"], epoch)
        clock["since"] = time.perf_counter()
        return len(reached) == 2

    print(f"\n{'epoch':>5}{'train s':>9}{'Dice':>8}{'F1':>8}")
    history = fit(model, crops, config=config, on_epoch_end=score)
    steps = 8 * len(history["epoch"])
    return {
        "reached": reached,
        "steps per second": steps / clock["trained"],
        "epochs run": len(history["epoch"]),
        "trained": clock["trained"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dice", type=float, default=0.90)
    parser.add_argument("--f1", type=float, default=0.80)
    parser.add_argument("--device", default=None)
    parser.add_argument("--json", help="also append the rows to this JSON file (for the book's appendix)")
    args = parser.parse_args()
    device = choose_device(args.device)
    where = machine(device)
    print(f"machine: {where} ({os.cpu_count()} cores)")

    _, images, instances = load_bbbc039()
    train_ids, test_ids = BBBC039_SUBSET_SPLIT.train, BBBC039_SUBSET_SPLIT.test
    separated = [split_touching(inst) for inst in instances]
    weights = [weight_map(label(s), balance=False) for s in separated]

    def pick(items, ids):
        return [items[i] for i in ids]

    rows = []
    for name, recipe in RECIPES.items():
        print(f"\n{name}: {recipe or 'unetlib.recipes.CHAPTER8_RECIPE'}")
        result = time_to_quality(
            pick(images, train_ids),
            pick(separated, train_ids),
            pick(weights, train_ids),
            pick(images, test_ids),
            pick(instances, test_ids),
            device,
            recipe,
            args.dice,
            args.f1,
        )
        row = {"recipe": name, "steps per second": f"{result['steps per second']:.2f}"}
        for key, label_, target in (("dice", "pixel Dice", args.dice), ("f1", "object F1", args.f1)):
            if key in result["reached"]:
                seconds, epoch = result["reached"][key]
                row[f"s to {label_} {target}"] = f"{seconds:.1f} ({8 * epoch} steps)"
            else:
                row[f"s to {label_} {target}"] = f"not in {8 * result['epochs run']} steps"
        row["machine"] = where
        rows.append(row)
    print()
    for row in rows:
        print({key: value for key, value in row.items() if key != "machine"})
    old, new = (float(row["steps per second"]) for row in rows)
    print(f"new / old steps per second: {new / old:.2f} ({os.cpu_count()} cores)")
    save_rows(args.json, "training", rows)


if __name__ == "__main__":
    main()
