"""Chapter 8's numbers are reproduced by a fresh run of the same code.

The chapter trains seed 0 of each recipe with fixed steps, so a rerun on the same machine gives
the numbers of the chapter's table of its own runs; on another machine floating-point details
may move them slightly, hence a tolerance. One run (about 25 s on a 2-core CPU) checks the code
behind the table; the chapter itself checks its runs against the three-seed results file.
Needs the book built (the numbers are read from its HTML) and the BBBC039 files in the cache.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "_build" / "html" / "notebooks" / "08_training.html"


def published(recipe: str) -> tuple[float, float]:
    """(pixel Dice, object F1) of the chapter's own seed-0 run of a recipe, from its table."""
    if not PAGE.exists():
        pytest.fail(f"{PAGE} is missing: build the book first (bash .ci/book)")
    text = re.sub(r"<[^>]+>", " ", PAGE.read_text())
    table = text[text.index("trained on this page") :]
    row = re.search(re.escape(recipe) + r"\s+(\d+)\s+([0-9.]+)\s+([0-9.]+)", table)
    assert row, f"no row for {recipe!r} in the chapter's table"
    return float(row.group(2)), float(row.group(3))


def test_the_recipe_reproduces_the_chapters_numbers(chapter8_recipe):
    dice, f1 = chapter8_recipe(seed=0)
    stated_dice, stated_f1 = published("gaps + augmentation + weight map")
    assert np.isclose(dice, stated_dice, atol=0.01), (dice, stated_dice)
    assert np.isclose(f1, stated_f1, atol=0.02), (f1, stated_f1)


def test_load_results_names_the_files_it_has():
    from unetlib.experiments import load_results

    assert load_results("chapter8_learning_curves")["seeds"] == [0, 1, 2]
    with pytest.raises(ValueError, match=r"no results file named 'chapter8'.*chapter8_learning_curves"):
        load_results("chapter8")
