"""Why four levels, why 64 channels? Chapter 7's recipe trained at depths 2-5 and widths 8/16/32.

    .venv/bin/python benchmarks/depth_width_sweep.py      # writes unetlib/results/chapter6_depth_width.json
    .venv/bin/python benchmarks/depth_width_sweep.py --seeds 0 --depths 2 --widths

Chapter 6 argues for the paper's depth and width with arithmetic (receptive field, compute per
level); this measures them on real data, with the training of Chapter 7: BBBC039 nuclei, the
recipe with gaps, augmentation and the weight map, 96 steps of batch norm and warm-up + cosine
(:func:`unetlib.experiments.train_on_crops`). Depth varies at 16 channels at the top; the
width varies at depth 3 (Chapter 7's network, the row the two sweeps share). Three seeds each,
scored on the five test images (15-19), whole. About 10 minutes on a 2-core CPU: too long for
the book build, so it writes a results file (machine, versions, seeds, date) that Chapter 6
plots; ``tests/test_depth_width.py`` re-runs one configuration and checks it against the file.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from learning_curves import recipe_data, run

from _results import provenance
from unetlib.data import load_bbbc039

HERE = Path(__file__).resolve().parent
RECIPE = "gaps + augmentation + weight map"
EPOCHS = 12  # 96 steps: Chapter 7's length


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--depths", type=int, nargs="*", default=[2, 3, 4, 5], help="at 16 channels")
    parser.add_argument("--widths", type=int, nargs="*", default=[8, 16, 32], help="at depth 3")
    parser.add_argument("--out", default=str(HERE.parent / "unetlib" / "results" / "chapter6_depth_width.json"))
    args = parser.parse_args()
    _, images, instances = load_bbbc039()
    data = recipe_data(images, instances)
    configurations = [(d, 16) for d in args.depths] + [
        (3, w) for w in args.widths if (3, w) not in [(d, 16) for d in args.depths]
    ]
    rows = []
    for depth, width in configurations:
        for seed in args.seeds:
            row = run(images, instances, data, RECIPE, EPOCHS, seed, depth=depth, base_channels=width)
            rows.append({"depth": depth, "width": width, **row})
            print(rows[-1], flush=True)
    results = {
        "what": "pixel Dice and object F1 on the test images (15-19) of Chapter 7's recipe, 96 steps, "
        "for U-Nets of several depths (16 channels at the top) and widths (depth 3)",
        "recipe": RECIPE,
        **provenance(args.seeds),
        "rows": rows,
    }
    Path(args.out).write_text(json.dumps(results, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
