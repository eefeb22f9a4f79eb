"""How many steps does Chapter 7 need? Validation scores of its three recipes against training length.

    .venv/bin/python benchmarks/learning_curves.py      # writes unetlib/results/chapter7_learning_curves.json
    .venv/bin/python benchmarks/learning_curves.py --seeds 0 --epochs 4 12

Too long for the book build (about 20 minutes on a 2-core CPU), so it runs from here and writes
a results file, shipped with unetlib so that the chapter finds it in Colab too, with the
machine, the library versions, the seeds and the date. Chapter 7 plots the file and takes its
three-seed statistics from it, and trains seed 0 of each recipe at the length it chose again,
which must agree with the file within the spread measured here.

Every run trains from scratch with the chapter's code (:func:`unetlib.experiments.train_on_crops`)
for a given number of epochs of 8 steps: the learning-rate schedule spans the whole run, so a
short run is not the beginning of a long one. The *fast* recipe is the chapter's (batch norm,
warm-up and cosine decay to a 3e-3 peak); the *old* one is what the chapter trained before
(no batch norm, constant 1e-3, 45 epochs), for comparison. Each run is scored on the two
validation images (13 and 14), which choose the length, and on the five test images (15-19),
whose scores at the chosen length are the chapter's three-seed results.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from skimage.measure import label

from unetlib.data import load_bbbc039, split_touching
from unetlib.experiments import score_on_images, train_on_crops
from unetlib.losses import weight_map
from unetlib.recipes import BBBC039_SPLIT

from _results import OLD_RECIPE, provenance

HERE = Path(__file__).resolve().parent
TRAIN_IDS, VAL_IDS, TEST_IDS = BBBC039_SPLIT.train, BBBC039_SPLIT.val, BBBC039_SPLIT.test
RECIPES = ("baseline", "gaps + augmentation", "gaps + augmentation + weight map")


def recipe_data(images, instances):
    """The targets, weight maps and augmentation of each of Chapter 7's recipes."""
    binary = [(inst > 0).astype(np.int64) for inst in instances]
    separated = [split_touching(inst) for inst in instances]
    weights = [weight_map(label(s), balance=False) for s in separated]
    return {
        "baseline": (binary, None, False),
        "gaps + augmentation": (separated, None, True),
        "gaps + augmentation + weight map": (separated, weights, True),
    }


def run(images, instances, data, recipe: str, epochs: int, seed: int, **settings) -> dict:
    targets, weights, augment = data[recipe]

    def pick(items):
        return None if items is None else [items[i] for i in TRAIN_IDS]

    model, _, seconds = train_on_crops(
        pick(images), pick(targets), pick(weights), augment=augment, epochs=epochs, seed=seed, device="cpu", **settings
    )
    scores = {}
    for where, ids in (("val", VAL_IDS), ("test", TEST_IDS)):
        scores[f"{where}_dice"], scores[f"{where}_f1"] = score_on_images(
            model, [images[i] for i in ids], [instances[i] for i in ids], device="cpu"
        )
    return {"recipe": recipe, "epochs": epochs, "steps": 8 * epochs, "seed": seed, **scores, "seconds": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, nargs="+", default=[3, 6, 12, 24])
    parser.add_argument("--old-epochs", type=int, default=45, help="the old recipe's length (0: skip it)")
    parser.add_argument("--old-seeds", type=int, nargs="+", default=[0], help="seeds for the old recipe")
    parser.add_argument("--out", default=str(HERE.parent / "unetlib" / "results" / "chapter7_learning_curves.json"))
    args = parser.parse_args()
    _, images, instances = load_bbbc039()
    data = recipe_data(images, instances)
    rows = []
    for seed in args.seeds:
        for recipe in RECIPES:
            for epochs in args.epochs:
                rows.append({"schedule": "fast", **run(images, instances, data, recipe, epochs, seed)})
                print(rows[-1], flush=True)
            if args.old_epochs and seed in args.old_seeds:
                rows.append(
                    {"schedule": "old", **run(images, instances, data, recipe, args.old_epochs, seed, **OLD_RECIPE)}
                )
                print(rows[-1], flush=True)
    results = {
        "what": "pixel Dice and object F1 of Chapter 7's recipes against training length, on the validation "
        "images (13, 14) and the test images (15-19)",
        **provenance(args.seeds),
        "rows": rows,
    }
    Path(args.out).write_text(json.dumps(results, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
