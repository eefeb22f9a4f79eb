"""How long to train, and how to cut objects out: Chapter 8's recipes on 60 BBBC039 images, chosen on validation.

    .venv/bin/python benchmarks/learning_curves.py      # writes unetlib/results/chapter8_learning_curves.json
    .venv/bin/python benchmarks/learning_curves.py --seeds 0 --epochs 12 --out /tmp/quick.json

The protocol, with :data:`unetlib.recipes.BBBC039_SPLIT`: 20 images train, 10 validate, 30 test.

1. Every recipe, every length (epochs of 8 steps), every seed: trained from scratch with the
   chapter's code (:func:`unetlib.experiments.train_on_crops`; the learning-rate schedule spans
   the whole run, so a short run is not the beginning of a long one), scored on validation.
2. The length: the shortest whose mean validation object F1 (the paper's recipe) lies within one
   seed standard deviation of the best length's.
3. How objects are cut out of the probabilities (:func:`unetlib.prediction.label_objects`:
   threshold, smallest object, growth): every setting of a grid, scored on validation with the
   paper's recipe at the chosen length, mean over the seeds; the best is taken.
4. The test images, once per final configuration: each recipe at the chosen length, its objects
   cut out plainly (connected regions at 0.5) and with the chosen settings.

About 25 minutes on a 2-core CPU: too long for the book build, so it writes a results file
(machine, versions, seeds, date; validation and test rows apart) that unetlib ships and Chapter 8
reads; the chapter re-trains seed 0 of each recipe and checks it against the file.
"""

from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path

import numpy as np
from skimage.measure import label

from _results import provenance
from unetlib.data import load_bbbc039, split_touching
from unetlib.experiments import score_on_images, train_on_crops
from unetlib.losses import weight_map
from unetlib.metrics import object_f1
from unetlib.prediction import label_objects, predict_probabilities
from unetlib.recipes import BBBC039_SPLIT, Split

HERE = Path(__file__).resolve().parent
RECIPES = ("baseline", "gaps + augmentation", "gaps + augmentation + weight map")
PAPER = RECIPES[2]
#: The settings of label_objects tried on validation; the first is the plain connected regions.
OBJECT_GRID = {"threshold": (0.5, 0.6, 0.7, 0.8, 0.9), "min_size": (0, 15, 30, 60), "grow": (0, 1, 2)}
PLAIN = {"threshold": 0.5, "min_size": 0, "grow": 0}


def recipe_data(images, instances):
    """The targets, weight maps and augmentation of each of Chapter 8's recipes."""
    binary = [(inst > 0).astype(np.int64) for inst in instances]
    separated = [split_touching(inst) for inst in instances]
    weights = [weight_map(label(s), balance=False) for s in separated]
    return {
        "baseline": (binary, None, False),
        "gaps + augmentation": (separated, None, True),
        "gaps + augmentation + weight map": (separated, weights, True),
    }


def train(images, data, recipe: str, epochs: int, seed: int, split: Split = BBBC039_SPLIT, **settings):
    """One run of a recipe, trained on the split's training images; the model and its seconds."""
    targets, weights, augment = data[recipe]
    ids = list(split.train)

    def pick(items):
        return None if items is None else [items[i] for i in ids]

    model, _, seconds = train_on_crops(
        pick(images), pick(targets), pick(weights), augment=augment, epochs=epochs, seed=seed, device="cpu", **settings
    )
    return model, seconds


def score(model, images, instances, ids, objects=PLAIN) -> tuple[float, float]:
    """Pixel Dice and object F1 on the images ``ids``."""
    return score_on_images(model, [images[i] for i in ids], [instances[i] for i in ids], device="cpu", **objects)


def choose_length(rows: list[dict]) -> int:
    """Step 2: the shortest length within one seed standard deviation (ddof=1) of the best mean."""
    lengths = sorted({r["steps"] for r in rows})
    f1 = {n: [r["val_f1"] for r in rows if r["recipe"] == PAPER and r["steps"] == n] for n in lengths}
    best = max(lengths, key=lambda n: np.mean(f1[n]))
    return min(n for n in lengths if np.mean(f1[n]) >= np.mean(f1[best]) - np.std(f1[best], ddof=1))


def objects_on_validation(models: dict, images, instances) -> list[dict]:
    """Step 3: the validation object F1 of every setting of the grid, for every seed's model."""
    val = list(BBBC039_SPLIT.val)
    rows = []
    for seed, model in models.items():
        probabilities = [predict_probabilities(model, images[i], device="cpu")[1].numpy() for i in val]
        for values in itertools.product(*OBJECT_GRID.values()):
            setting = dict(zip(OBJECT_GRID, values))
            f1 = [object_f1(label_objects(p, **setting), instances[i])["f1"] for p, i in zip(probabilities, val)]
            rows.append({**setting, "seed": seed, "val_f1": float(np.mean(f1))})
    return rows


def choose_objects(rows: list[dict]) -> dict:
    """The grid's setting with the highest mean validation F1 over the seeds."""
    means = {}
    for row in rows:
        means.setdefault(tuple(row[k] for k in OBJECT_GRID), []).append(row["val_f1"])
    best = max(means, key=lambda key: np.mean(means[key]))
    return dict(zip(OBJECT_GRID, best))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, nargs="+", default=[6, 12, 24])
    parser.add_argument("--out", default=str(HERE.parent / "unetlib" / "results" / "chapter8_learning_curves.json"))
    args = parser.parse_args()
    _, images, instances = load_bbbc039(more=True)
    data = recipe_data(images, instances)
    validation, models = [], {}
    for seed, recipe, epochs in itertools.product(args.seeds, RECIPES, args.epochs):
        model, seconds = train(images, data, recipe, epochs, seed)
        dice, f1 = score(model, images, instances, BBBC039_SPLIT.val)
        validation.append({"recipe": recipe, "epochs": epochs, "steps": 8 * epochs, "seed": seed,
                           "val_dice": dice, "val_f1": f1, "seconds": seconds})  # fmt: skip
        models[recipe, 8 * epochs, seed] = model
        print(validation[-1], flush=True)
    steps = choose_length(validation) if len(args.seeds) > 1 else max(args.epochs) * 8
    grid = objects_on_validation({s: models[PAPER, steps, s] for s in args.seeds}, images, instances)
    chosen = choose_objects(grid)
    print("chosen:", steps, "steps,", chosen, flush=True)
    test = []
    for seed, recipe in itertools.product(args.seeds, RECIPES):
        for name, objects in (("plain", PLAIN), ("chosen", chosen)):
            dice, f1 = score(models[recipe, steps, seed], images, instances, BBBC039_SPLIT.test, objects)
            test.append({"recipe": recipe, "steps": steps, "seed": seed, "objects": name,
                         "test_dice": dice, "test_f1": f1})  # fmt: skip
            print(test[-1], flush=True)
    results = {
        "what": "Chapter 8's recipes on BBBC039 (load_bbbc039(more=True), BBBC039_SPLIT: 20 train, 10 validation, "
        "30 test): validation scores against training length, the object settings tried on validation, and the "
        "test scores of the final configurations, each scored once",
        **provenance(args.seeds),
        "split": {part: list(getattr(BBBC039_SPLIT, part)) for part in ("train", "val", "test")},
        "chosen": {"steps": steps, "objects": chosen, "plain_objects": PLAIN},
        "validation": validation,
        "objects": grid,
        "test": test,
    }
    Path(args.out).write_text(json.dumps(results, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
