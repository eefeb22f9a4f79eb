"""The depth/width sweep's results file is reproduced by a fresh run of one of its configurations.

``benchmarks/depth_width_sweep.py`` trains Chapter 8's recipe at several depths and widths, three
seeds each (about 10 minutes), and Chapter 7 plots its file. Here one configuration (depth 2,
the quickest) is trained again with seed 0 and scored on the validation images; it must agree
with the file's seed-0 run within three times the spread of its three seeds (and at least 0.01 Dice / 0.02 F1: on another
processor floating-point details move a run slightly).
"""

from __future__ import annotations

import statistics

import numpy as np


def test_one_configuration_of_the_sweep_agrees_with_the_results_file(chapter8_recipe):
    from unetlib.experiments import load_results

    rows = [r for r in load_results("chapter7_depth_width")["validation"] if (r["depth"], r["width"]) == (2, 16)]
    assert sorted(r["seed"] for r in rows) == [0, 1, 2]
    dice, f1 = chapter8_recipe(seed=0, part="val", depth=2, base_channels=16)
    seed0 = next(r for r in rows if r["seed"] == 0)
    for key, value, floor in (("val_dice", dice, 0.01), ("val_f1", f1, 0.02)):
        spread = statistics.stdev(r[key] for r in rows)
        assert np.isclose(value, seed0[key], atol=max(3 * spread, floor)), (key, value, seed0[key], spread)
