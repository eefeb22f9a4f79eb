"""Chapter 11's experiments: which parts of the multi-class recipe help, how long to train it, and what a random split hides.

    .venv/bin/python benchmarks/aerial_recipes.py                       # all three stages, in order
    .venv/bin/python benchmarks/aerial_recipes.py --stage compare --configurations dice --seeds 0

The Dubai aerial set (Tiles 1-6) split by tile (:func:`unetlib.recipes.dubai_split`): Tiles 1,
4, 5 and 6 train, Tile 2 validates, Tile 3 tests. Every network is the same depth-4, 16-channel
same-padding U-Net with batch norm (:func:`unetlib.experiments.train_multiclass`), three seeds
each. Every choice is made on the validation tile; the test tile is scored once, for the chosen
configuration only. Three stages, each a list of rows in the results file:

1. ``compare`` (rows ``validation``): each configuration trained 200 steps on the training
   tiles and scored on the validation tile:

   - ``baseline``: cross-entropy, no augmentation (the plain loop);
   - ``augment``: + flips and rotations; then, all with augmentation, the losses:
     ``weighted`` (cross-entropy with median-frequency class weights), ``weighted+dice``
     (that plus the Dice loss), ``dice`` (the Dice loss alone); ``no-flips``: the Dice loss
     without flips (for the chapter's exercise that asks which of the two parts matters more);
   - ``per-image``: the Dice loss and flips on images each stretched by its own 1st and 99.8th
     percentiles per channel (:func:`unetlib.data.normalise_percentile`, Chapter 8's choice
     for fluorescence), instead of one normalisation from the training set's statistics;
   - ``random-split``: the Dice loss and flips trained on 80 % of the training tiles cut into
     256x256 patches, scored on the other 20 % of the patches *and* on the validation tile:
     the score a random patch split reports, against the score on a scene it has never seen.

   The chosen configuration is the one with the highest mean validation IoU (``per-image``
   and ``random-split`` are lessons, not candidates).
2. ``length`` (rows ``curve``): the chosen configuration trained up to 800 steps (about three
   minutes on a 2-core CPU), scored on the validation tile every 100 steps. Run alone
   (``--stage length --configurations ...``) it adds the curves of the candidates named:
   ``no-flips`` (whether flips pay in a longer training) and ``dice+cosine`` (the Dice loss
   and flips with the rate warmed up and decayed along a cosine, Chapter 8's schedule, scored
   at 800 steps only, the end of its schedule). The configuration and length chosen are those
   with the highest mean validation IoU along all the curves.
3. ``test`` (rows ``test``): the chosen configuration and length trained on the training and
   validation tiles together and scored once on the test tile.

About an hour on a 2-core CPU: too long for the book build, so this writes a results file
(machine, versions, seeds, date) that Chapters 11 and 12 read; Chapter 12 re-trains one configuration
with seed 0 and checks that it lands within the file's spread. Run for some configurations or
one stage only, it replaces those rows in an existing file and keeps the rest.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from _results import provenance
from unetlib.data import UNLABELLED, load_dubai, normalise_percentile
from unetlib.experiments import score_multiclass, train_multiclass
from unetlib.recipes import DUBAI_TEST_TILE, DUBAI_VALIDATION_TILE, dubai_split

HERE = Path(__file__).resolve().parent
STEPS = 200
LONGEST, EVERY = 800, 100
CANDIDATES = {
    "baseline": dict(augment=False, loss="cross-entropy"),
    "augment": dict(augment=True, loss="cross-entropy"),
    "weighted": dict(augment=True, loss="weighted"),
    "weighted+dice": dict(augment=True, loss="weighted+dice"),
    "dice": dict(augment=True, loss="dice"),
    "no-flips": dict(augment=False, loss="dice"),
    # Length-stage only: a rate warmed up and decayed along a cosine means something only at the
    # end of its schedule, so it is trained for the longest length alone.
    "dice+cosine": dict(augment=True, loss="dice", schedule="warmup-cosine"),
}
LESSONS = {
    "per-image": "dice, each image stretched by its own 1st-99.8th percentiles per channel",
    "random-split": "dice, trained on 80 % of the training tiles' 256x256 patches",
}
SETTINGS = {**CANDIDATES, "per-image": CANDIDATES["dice"], "random-split": CANDIDATES["dice"]}


def stretch(image: np.ndarray) -> np.ndarray:
    """Each channel scaled by its own 1st and 99.8th percentiles (Chapter 8's normalisation)."""
    return np.stack([normalise_percentile(channel) for channel in image])


def patches(images, targets, size: int = 256):
    """Non-overlapping ``size`` squares of every scene (the remainder at the edges dropped)."""
    cut_images, cut_targets = [], []
    for image, target in zip(images, targets):
        for top in range(0, target.shape[0] - size + 1, size):
            for left in range(0, target.shape[1] - size + 1, size):
                cut_images.append(image[:, top : top + size, left : left + size])
                cut_targets.append(target[top : top + size, left : left + size])
    return cut_images, cut_targets


def train(images, targets, name: str, seed: int, steps: int, **extra):
    return train_multiclass(
        images, targets, 5, ignore_index=UNLABELLED, seed=seed, steps=steps, **SETTINGS[name], **extra
    )


def score(segment, images, targets) -> dict:
    return score_multiclass(segment, images, targets, 5, UNLABELLED)


def compare(name: str, seed: int, data: dict) -> dict:
    """One configuration trained ``STEPS`` steps on the training tiles, scored on the validation tile."""
    fit_images, fit_targets = data["train"]
    val_images, val_targets = data["val"]
    extra = {}
    if name == "per-image":
        fit_images, val_images = [stretch(i) for i in fit_images], [stretch(i) for i in val_images]
    if name == "random-split":
        cut_images, cut_targets = patches(fit_images, fit_targets)
        order = np.random.default_rng(seed).permutation(len(cut_images))
        held = set(order[: len(order) // 5].tolist())
        fit_on = [k for k in range(len(cut_images)) if k not in held]
        fit_images, fit_targets = [cut_images[k] for k in fit_on], [cut_targets[k] for k in fit_on]
    segment = train(fit_images, fit_targets, name, seed, STEPS)
    if name == "random-split":
        held_images, held_targets = [cut_images[k] for k in held], [cut_targets[k] for k in held]
        extra = {"patches": len(cut_images), "random_patches": score(segment, held_images, held_targets)}
    row = {"configuration": name, "seed": seed, "steps": segment.steps, "seconds": round(segment.seconds, 1)}
    return row | {"validation_tile": score(segment, val_images, val_targets), **extra}


def curve(name: str, seed: int, data: dict) -> dict:
    """One configuration trained ``LONGEST`` steps, scored on the validation tile every ``EVERY``."""
    scores = []

    def validate(segment, history):
        scores.append({"steps": history["steps"][-1], **score(segment, *data["val"])})

    every = LONGEST if "schedule" in SETTINGS[name] else EVERY
    segment = train(*data["train"], name, seed, LONGEST, epoch_steps=every, on_epoch_end=validate)
    return {"configuration": name, "seed": seed, "seconds": round(segment.seconds, 1), "validation_tile": scores}


def test(name: str, seed: int, steps: int, data: dict) -> dict:
    """The chosen configuration trained on the training and validation tiles, scored once on the test tile."""
    images, targets = data["train"][0] + data["val"][0], data["train"][1] + data["val"][1]
    segment = train(images, targets, name, seed, steps)
    row = {"configuration": name, "seed": seed, "steps": segment.steps, "seconds": round(segment.seconds, 1)}
    return row | {"test_tile": score(segment, *data["test"])}


def choose_configuration(rows: list[dict]) -> str:
    """The candidate with the highest mean validation IoU."""
    means = {
        name: np.mean([r["validation_tile"]["mean_iou"] for r in rows if r["configuration"] == name])
        for name in CANDIDATES
        if any(r["configuration"] == name for r in rows)
    }
    return max(means, key=means.get)


def choose_length(rows: list[dict]) -> dict:
    """The configuration and number of steps with the highest mean validation IoU along the curves."""
    best = None
    for name in dict.fromkeys(row["configuration"] for row in rows):
        curves = [row["validation_tile"] for row in rows if row["configuration"] == name]
        means = np.mean([[point["mean_iou"] for point in points] for points in curves], axis=0)
        k = int(np.argmax(means))
        if best is None or means[k] > best[0]:
            best = (means[k], {"configuration": name, "steps": int(curves[0][k]["steps"])})
    return best[1]


def split_data() -> dict:
    names, images, targets = load_dubai()
    split = dubai_split(names)
    return {
        part: ([images[k] for k in getattr(split, part)], [targets[k] for k in getattr(split, part)])
        for part in ("train", "val", "test")
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stage", choices=["compare", "length", "test", "all"], default="all")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--configurations", nargs="+", default=[*CANDIDATES, *LESSONS])
    parser.add_argument("--out", default=str(HERE.parent / "unetlib" / "results" / "chapter11_aerial.json"))
    args = parser.parse_args()
    out = Path(args.out)
    results = json.loads(out.read_text()) if out.exists() else {}
    if "validation" not in results:
        results = {"validation": [], "curve": [], "test": [], "table_best": None, "chosen": {}}
    data = split_data()
    stages = ["compare", "length", "test"] if args.stage == "all" else [args.stage]
    for stage in stages:
        if stage == "compare":
            rows = [compare(name, seed, data) for name in args.configurations for seed in args.seeds]
            key, names = "validation", set(args.configurations)
            results["table_best"] = choose_configuration(_merge(results[key], rows, names))
            results["chosen"] = {"configuration": results["table_best"]}
        elif stage == "length":
            # The compare stage's best; alone, the candidates named (e.g. whether flips pay later).
            names = {results["table_best"]}
            if args.stage == "length":
                names = set(args.configurations) & set(CANDIDATES)
            rows, key = [curve(name, seed, data) for name in sorted(names) for seed in args.seeds], "curve"
            results["chosen"] = choose_length(_merge(results[key], rows, names))
        else:
            name, steps = results["chosen"]["configuration"], results["chosen"]["steps"]
            rows, key, names = [test(name, seed, steps, data) for seed in args.seeds], "test", {name}
        for row in rows:
            print(stage, json.dumps({k: v for k, v in row.items() if k != "validation_tile"})[:200], flush=True)
        results[key] = _merge(results[key], rows, names)
        results.update(_header(args.seeds))
        out.write_text(json.dumps(results, indent=1))
        print(f"wrote {out} ({stage}); chosen so far: {results['chosen']}", flush=True)


def _merge(kept: list[dict], rows: list[dict], names: set) -> list[dict]:
    """``kept`` without the rows of ``names`` (re-run), then the new rows."""
    return [row for row in kept if row["configuration"] not in names] + rows


def _header(seeds) -> dict:
    return {
        "what": f"Dubai aerial set split by tile: train Tiles 1, 4, 5, 6; validate Tile {DUBAI_VALIDATION_TILE}; "
        f"test Tile {DUBAI_TEST_TILE}. 'validation': {STEPS} steps (crops of 128, batches of 8) on the training "
        f"tiles, scored on the validation tile; 'curve': the chosen configuration to {LONGEST} steps, scored on "
        f"the validation tile every {EVERY}; 'test': the chosen configuration and length trained on the "
        "training and validation tiles, scored once on the test tile",
        "validation_tile": DUBAI_VALIDATION_TILE,
        "test_tile": DUBAI_TEST_TILE,
        "steps": STEPS,
        "configurations": {name: SETTINGS[name] if name in CANDIDATES else LESSONS[name] for name in SETTINGS},
        **provenance(seeds),
    }


if __name__ == "__main__":
    main()
