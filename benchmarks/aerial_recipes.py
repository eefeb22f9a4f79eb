"""Chapter 10's experiments: which parts of the multi-class recipe help, and what a random split hides.

    .venv/bin/python benchmarks/aerial_recipes.py          # writes unetlib/results/chapter10_aerial.json
    .venv/bin/python benchmarks/aerial_recipes.py --seeds 0 --configurations recipe

The Dubai aerial set (Tiles 1-6): Tile 3 is the test tile, never trained on; the other five
tiles are the training scenes. Every configuration trains the same depth-4, 16-channel
same-padding U-Net with batch norm for the same number of steps
(:func:`unetlib.experiments.train_multiclass`), three seeds each, and is scored on the whole
test tile: its confusion matrix, every class's IoU, mean IoU and pixel accuracy.

- ``baseline``: cross-entropy, no augmentation (the plain loop);
- ``augment``: + flips and rotations; then, all with augmentation, the losses:
  ``weighted`` (cross-entropy with median-frequency class weights), ``weighted+dice``
  (that plus the Dice loss), ``recipe`` (the Dice loss alone, the chapter's recipe and
  ``train_multiclass``'s default); ``no-flips``: the recipe without flips (for the chapter's
  exercise that asks which of its two parts matters more);
- ``per-image``: the recipe on images each stretched by its own 1st and 99.8th percentiles
  per channel (:func:`unetlib.data.normalise_percentile`, Chapter 7's choice for fluorescence),
  training and test alike, instead of one normalisation from the training set's statistics;
- ``random-split``: the recipe trained on 80 % of the training scenes cut into 256x256
  patches, scored on the other 20 % of the patches *and* on the test tile: the validation
  score a random patch split reports, against the score on a scene it has never seen.

Run for some configurations only, it replaces their rows in an existing file and keeps the rest.

About 25 minutes on a 2-core CPU: too long for the book build, so this writes a results file
(machine, versions, seeds, date) that Chapter 10 reads. The chapter itself re-trains the recipe
with seed 0 and checks that it lands within the file's spread.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from _results import provenance
from unetlib.data import UNLABELLED, load_dubai, normalise_percentile
from unetlib.experiments import score_multiclass, train_multiclass
from unetlib.recipes import DUBAI_TEST_TILE, dubai_split

HERE = Path(__file__).resolve().parent
TEST_TILE = DUBAI_TEST_TILE
STEPS = 200
CONFIGURATIONS = {
    "baseline": dict(augment=False, loss="cross-entropy"),
    "augment": dict(augment=True, loss="cross-entropy"),
    "weighted": dict(augment=True, loss="weighted"),
    "weighted+dice": dict(augment=True, loss="weighted+dice"),
    "recipe": dict(augment=True, loss="dice"),
    "no-flips": dict(augment=False, loss="dice"),
}

DESCRIPTIONS = {
    **CONFIGURATIONS,
    "per-image": "recipe, each image stretched by its own 1st-99.8th percentiles per channel",
    "random-split": "recipe, trained on 80 % of the training scenes' 256x256 patches",
}


def stretch(image: np.ndarray) -> np.ndarray:
    """Each channel scaled by its own 1st and 99.8th percentiles (Chapter 7's normalisation)."""
    return np.stack([normalise_percentile(channel) for channel in image])


def split_by_tile(names: list[str]) -> tuple[list[int], list[int]]:
    """Indices of the training scenes and of the test tile's."""
    split = dubai_split(names)
    return list(split.train), list(split.test)


def patches(images, targets, size: int = 256):
    """Non-overlapping ``size`` squares of every scene (the remainder at the edges dropped)."""
    cut_images, cut_targets = [], []
    for image, target in zip(images, targets):
        for top in range(0, target.shape[0] - size + 1, size):
            for left in range(0, target.shape[1] - size + 1, size):
                cut_images.append(image[:, top : top + size, left : left + size])
                cut_targets.append(target[top : top + size, left : left + size])
    return cut_images, cut_targets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--configurations", nargs="+", default=[*CONFIGURATIONS, "per-image", "random-split"])
    parser.add_argument("--out", default=str(HERE.parent / "unetlib" / "results" / "chapter10_aerial.json"))
    args = parser.parse_args()
    names, images, targets = load_dubai()
    train, test = split_by_tile(names)
    train_images, train_targets = [images[k] for k in train], [targets[k] for k in train]
    test_images, test_targets = [images[k] for k in test], [targets[k] for k in test]
    rows = []
    for name in args.configurations:
        # What this configuration trains on and is tested on, prepared once for all its seeds.
        fit_images, fit_targets, test_inputs = train_images, train_targets, test_images
        if name == "per-image":
            fit_images = [stretch(image) for image in train_images]
            test_inputs = [stretch(image) for image in test_images]
        if name == "random-split":
            cut_images, cut_targets = patches(train_images, train_targets)
        for seed in args.seeds:
            extra = {}
            if name == "random-split":
                order = np.random.default_rng(seed).permutation(len(cut_images))
                held = set(order[: len(order) // 5].tolist())
                fit_on = [k for k in range(len(cut_images)) if k not in held]
                fit_images, fit_targets = [cut_images[k] for k in fit_on], [cut_targets[k] for k in fit_on]
            segment = train_multiclass(
                fit_images,
                fit_targets,
                5,
                ignore_index=UNLABELLED,
                seed=seed,
                steps=STEPS,
                **CONFIGURATIONS.get(name, {}),
            )
            if name == "random-split":
                held_out = score_multiclass(
                    segment, [cut_images[k] for k in held], [cut_targets[k] for k in held], 5, UNLABELLED
                )
                extra = {"patches": len(cut_images), "random_patches": held_out}
            scores = score_multiclass(segment, test_inputs, test_targets, 5, UNLABELLED)
            rows.append(
                {
                    "configuration": name,
                    "seed": seed,
                    "steps": segment.steps,
                    "seconds": round(segment.seconds, 1),
                    "test_tile": scores,
                    **extra,
                }
            )
            print(
                name,
                seed,
                round(scores["mean_iou"], 3),
                np.round(scores["iou"], 3).tolist(),
                round(segment.seconds, 1),
                "s",
                flush=True,
            )
    out = Path(args.out)
    if out.exists() and set(args.configurations) != set(DESCRIPTIONS):
        kept = [row for row in json.loads(out.read_text())["rows"] if row["configuration"] not in args.configurations]
        rows = kept + rows
    results = {
        "what": f"Dubai aerial set: U-Nets trained {STEPS} steps on Tiles 1, 2, 4, 5, 6 (crops of 128, batches "
        f"of 8) and scored on the whole of Tile {TEST_TILE}; 'random-split' also on held-out random patches",
        "test_tile": TEST_TILE,
        "steps": STEPS,
        # Every configuration the file holds rows of, described.
        "configurations": {name: DESCRIPTIONS[name] for name in dict.fromkeys(row["configuration"] for row in rows)},
        **provenance(args.seeds),
        "rows": rows,
    }
    out.write_text(json.dumps(results, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
