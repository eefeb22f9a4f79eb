"""Why four levels, why 64 channels? Chapter 8's recipe trained at depths 2-5 and widths 8/16/32.

    .venv/bin/python benchmarks/depth_width_sweep.py      # writes unetlib/results/chapter7_depth_width.json
    .venv/bin/python benchmarks/depth_width_sweep.py --seeds 0 --depths 2 --widths --out /tmp/quick.json

Chapter 7 argues for the paper's depth and width with arithmetic (receptive field, compute per
level); this measures them on real data, with the training of Chapter 8: BBBC039 nuclei
(:data:`unetlib.recipes.BBBC039_SPLIT`: 20 images train, 10 validate, 30 test), the recipe with
gaps, augmentation and the weight map, batch norm and warm-up + cosine, for the length Chapter 8
chose on validation (:func:`unetlib.experiments.train_on_crops`). Depth varies at 16 channels at
the top; the width varies at depth 3 (Chapter 8's network, the row the two sweeps share). Three
seeds each, scored on the validation images, whole: they rank the configurations. The test
images are scored once, for the configuration the validation images rank first.

About 15 minutes on a 2-core CPU: too long for the book build, so it writes a results file
(machine, versions, seeds, date; validation and test rows apart) that Chapter 7 plots;
``tests/test_depth_width.py`` re-runs one configuration and checks it against the file.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from learning_curves import PAPER, recipe_data, score, train

from _results import provenance
from unetlib.data import load_bbbc039
from unetlib.experiments import load_results
from unetlib.recipes import BBBC039_SPLIT

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--depths", type=int, nargs="*", default=[2, 3, 4, 5], help="at 16 channels")
    parser.add_argument("--widths", type=int, nargs="*", default=[8, 16, 32], help="at depth 3")
    parser.add_argument("--out", default=str(HERE.parent / "unetlib" / "results" / "chapter7_depth_width.json"))
    args = parser.parse_args()
    steps = load_results("chapter8_learning_curves")["chosen"]["steps"]
    _, images, instances = load_bbbc039(more=True)
    data = recipe_data(images, instances)
    configurations = [(d, 16) for d in args.depths] + [
        (3, w) for w in args.widths if (3, w) not in [(d, 16) for d in args.depths]
    ]
    validation, models = [], {}
    for depth, width in configurations:
        for seed in args.seeds:
            model, seconds = train(images, data, PAPER, steps // 8, seed, depth=depth, base_channels=width)
            dice, f1 = score(model, images, instances, BBBC039_SPLIT.val)
            validation.append({"depth": depth, "width": width, "steps": steps, "seed": seed,
                               "val_dice": dice, "val_f1": f1, "seconds": seconds})  # fmt: skip
            models[depth, width, seed] = model
            print(validation[-1], flush=True)

    def mean_val_f1(configuration):
        return np.mean([r["val_f1"] for r in validation if (r["depth"], r["width"]) == configuration])

    best = max(configurations, key=mean_val_f1)
    test = []
    for seed in args.seeds:
        dice, f1 = score(models[(*best, seed)], images, instances, BBBC039_SPLIT.test)
        test.append(
            {"depth": best[0], "width": best[1], "steps": steps, "seed": seed, "test_dice": dice, "test_f1": f1}
        )
        print(test[-1], flush=True)
    results = {
        "what": "pixel Dice and object F1 of Chapter 8's recipe for U-Nets of several depths (16 channels at the "
        "top) and widths (depth 3): every configuration on the 10 validation images of BBBC039_SPLIT, the one "
        "they rank first on its 30 test images",
        "recipe": PAPER,
        **provenance(args.seeds),
        "chosen": {"depth": best[0], "width": best[1]},
        "validation": validation,
        "test": test,
    }
    Path(args.out).write_text(json.dumps(results, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
