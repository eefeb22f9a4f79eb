"""Where the training chapters' seconds go: Chapter 8's and Chapter 10's heavy cells, by part.

    .venv/bin/python benchmarks/profile_chapters.py            # before and after, ~8 minutes
    .venv/bin/python benchmarks/profile_chapters.py --only new

Runs the work of each chapter's expensive cells with the chapter's own functions and charges
every second to one part: loading and normalising, weight maps, cropping and augmentation,
the forward pass and loss, the backward pass, the optimiser, validation during training,
whole-image prediction, test-time augmentation, scoring. Each part is timed exclusively (time
spent in a nested part is charged to that part only, except that validation, prediction and
test-time augmentation keep the forward passes they make); what no part claims (the data
loader's batching, Python) is "other".

*before* is what the chapters did until they were made fast: Chapter 8 trained each recipe
once for 360 steps without batch norm at a constant rate 1e-3; Chapter 10 trained 480 steps.
*after* is what they do now: Chapter 8 trains 96 steps per run (batch norm, warm-up + cosine,
channels-last, no validation crops during training) for each of its 3 recipes (seed 0; the
other seeds come from benchmarks/learning_curves.py's results file); Chapter 10 trains 192 steps. One run
of Chapter 8 is profiled; its chapter total multiplies the per-run parts by the number of runs.
"""

from __future__ import annotations

import argparse
import time
from contextlib import contextmanager

import numpy as np
import torch
from skimage.measure import label

import unetlib.data.augment as augment_module
import unetlib.experiments as experiments
import unetlib.prediction as prediction_module
import unetlib.train as train_module
from unetlib.data import load_bbbc039, load_isbi2012, split_touching
from unetlib.losses import weight_map
from unetlib.recipes import BBBC039_SUBSET_SPLIT

from _results import OLD_RECIPE, machine, save_rows


class PartTimer:
    """Exclusive seconds per part: a nested part's time is taken out of the part around it,
    except inside the parts in ``ABSORBING``, which keep all of their time (validation runs
    forward passes too, but they are validation's cost, not training's)."""

    def __init__(self):
        self.seconds: dict[str, float] = {}
        self.stack: list[list] = []

    def wrap(self, part: str, function):
        def timed(*args, **kwargs):
            if self.stack and self.stack[-1][0] in ABSORBING:
                return function(*args, **kwargs)
            self.stack.append([part, time.perf_counter(), 0.0])
            try:
                return function(*args, **kwargs)
            finally:
                name, start, nested = self.stack.pop()
                elapsed = time.perf_counter() - start
                self.seconds[name] = self.seconds.get(name, 0.0) + elapsed - nested
                if self.stack:
                    self.stack[-1][2] += elapsed

        return timed

    @contextmanager
    def patched(self, targets: list[tuple[object, str, str]]):
        originals = [(owner, attribute, getattr(owner, attribute)) for owner, attribute, _ in targets]
        for (owner, attribute, part), (_, _, original) in zip(targets, originals):
            setattr(owner, attribute, self.wrap(part, original))
        try:
            yield self
        finally:
            for owner, attribute, original in originals:
                setattr(owner, attribute, original)


TARGETS = [
    (train_module, "_batch_loss", "forward pass + loss"),
    (torch.Tensor, "backward", "backward pass"),
    (torch.optim.Adam, "step", "optimiser (Adam)"),
    (augment_module.RandomCrops, "__getitem__", "cropping + augmentation"),
    (train_module, "evaluate", "validation crops (every epoch)"),
    (prediction_module, "predict_logits", "whole-image prediction"),
    (experiments, "predict_probabilities", "whole-image prediction"),
    (experiments, "score_on_images", "scoring (Dice, object F1)"),
    (experiments, "score_membranes", "scoring (thresholds, Rand error)"),
]

ABSORBING = {"validation crops (every epoch)", "whole-image prediction", "test-time augmentation (8 views)"}


def chapter8(timer: PartTimer, when: str) -> tuple[float, int]:
    """One of Chapter 8's training runs (the paper's recipe), with its data preparation; returns
    (wall seconds, runs per chapter)."""
    start = time.perf_counter()
    _, images, instances = timer.wrap("loading + normalising", load_bbbc039)()
    separated = [timer.wrap("gaps between nuclei", split_touching)(inst) for inst in instances]
    weights = [timer.wrap("weight maps", weight_map)(label(s), balance=False) for s in separated]
    binary = [(inst > 0).astype(np.int64) for inst in instances]
    train_ids, val_ids, test_ids = BBBC039_SUBSET_SPLIT.train, BBBC039_SUBSET_SPLIT.val, BBBC039_SUBSET_SPLIT.test

    def pick(items, ids):
        return [items[i] for i in ids]

    settings = OLD_RECIPE if when == "before" else {}
    model, _, _ = experiments.train_on_crops(
        pick(images, train_ids),
        pick(separated, train_ids),
        pick(weights, train_ids),
        augment=True,
        epochs=45 if when == "before" else 12,
        device="cpu",
        val=(pick(images, val_ids), pick(binary, val_ids)) if when == "before" else None,
        **settings,
    )
    experiments.score_on_images(model, pick(images, test_ids), pick(instances, test_ids), device="cpu")
    return time.perf_counter() - start, 3


def chapter10(timer: PartTimer, when: str) -> tuple[float, int]:
    """Chapter 10's training, predictions (plain and 8-fold averaged) and threshold sweeps."""
    start = time.perf_counter()
    images, membranes = timer.wrap("loading + normalising", load_isbi2012)()
    train_ids, val_ids, test_ids = range(20), range(20, 25), range(25, 30)
    weights = [timer.wrap("weight maps", weight_map)(experiments.cells_from_membranes(membranes[i])) for i in train_ids]
    settings = OLD_RECIPE if when == "before" else {}
    model, _, _ = experiments.train_on_crops(
        [images[i] for i in train_ids],
        [membranes[i] for i in train_ids],
        weights,
        epochs=60 if when == "before" else 24,
        depth=4,
        batch_norm=True,
        device="cpu",
        val=([images[i] for i in val_ids], [membranes[i] for i in val_ids]),
        **{key: value for key, value in settings.items() if key != "batch_norm"},
    )
    thresholds = np.round(np.arange(0.1, 0.95, 0.1), 1)
    tta = timer.wrap("test-time augmentation (8 views)", prediction_module.predict_probabilities)
    for ids in (val_ids, test_ids):
        plain = [prediction_module.predict_probabilities(model, images[i], device="cpu")[1].numpy() for i in ids]
        averaged = [tta(model, images[i], device="cpu", tta=True)[1].numpy() for i in ids]
        for maps in (plain, averaged):
            for threshold in thresholds:
                for p, i in zip(maps, ids):
                    experiments.score_membranes(p, membranes[i], threshold)
    return time.perf_counter() - start, 1


def pivot(columns: dict[str, dict[str, float]], runs: dict[str, int], where: str) -> list[dict]:
    """One row per part, one column per chapter and version: seconds for one run, and its share."""
    parts = sorted(
        {part for seconds in columns.values() for part in seconds} - {"total (one run)", "other"},
        key=lambda part: -max(seconds.get(part, 0.0) for seconds in columns.values()),
    )
    rows = []
    for part in parts + ["other", "total (one run)"]:
        row = {"part": part}
        for name, seconds in columns.items():
            value, total = seconds.get(part), seconds["total (one run)"]
            if value is None:
                row[f"{name} (s)"] = "-"  # this chapter does no such work
            else:
                row[f"{name} (s)"] = (
                    f"{value:.1f}" if part == "total (one run)" else f"{value:.1f} ({100 * value / total:.0f}%)"
                )
        row["machine"] = where
        rows.append(row)
    rows.append(
        {"part": "runs in the chapter", **{f"{name} (s)": str(count) for name, count in runs.items()}, "machine": where}
    )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", choices=["before", "after"])
    parser.add_argument("--json", help="also append the rows to this JSON file (for the book's appendix)")
    args = parser.parse_args()
    where = machine("cpu")
    print(f"machine: {where}")
    columns: dict[str, dict[str, float]] = {}
    runs: dict[str, int] = {}
    for chapter, work in (("8", chapter8), ("10", chapter10)):
        for when in ("before", "after"):
            if args.only and when != args.only:
                continue
            timer = PartTimer()
            with timer.patched(TARGETS):
                wall, runs[f"Ch. {chapter} {when}"] = work(timer, when)
            timer.seconds["other"] = wall - sum(timer.seconds.values())
            columns[f"Ch. {chapter} {when}"] = {**timer.seconds, "total (one run)": wall}
            print(
                f"\nChapter {chapter}, {when}: {wall:.1f} s for one run ({runs[f'Ch. {chapter} {when}']} per chapter)"
            )
            for part, seconds in sorted(timer.seconds.items(), key=lambda item: -item[1]):
                print(f"  {part:38}{seconds:8.1f} s {100 * seconds / wall:5.0f}%")
    rows = pivot(columns, runs, where)
    save_rows(args.json, "profile", rows)


if __name__ == "__main__":
    main()
