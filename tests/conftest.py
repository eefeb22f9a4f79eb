"""Fixtures shared by the test files."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2] / "shared" / "datasets"


@pytest.fixture
def chapter8_recipe(monkeypatch):
    """``train(seed=0, part="test", **settings) -> (Dice, object F1)``: Chapter 8's recipe (gaps,
    augmentation, the weight map) trained and scored as the chapter and
    ``benchmarks/depth_width_sweep.py`` do: on the 20 training images of ``BBBC039_SPLIT``, for the
    length Chapter 8's results file chose, scored on the split's ``part`` ("val": 10 images,
    "test": 30), objects the plain connected regions."""
    if not SHARED.is_dir():
        pytest.skip("the BBBC039 files are not here (../shared/datasets)")
    monkeypatch.setenv("UNETLIB_DATA", str(SHARED))
    from skimage.measure import label

    from unetlib.data import load_bbbc039, split_touching
    from unetlib.experiments import load_results, score_on_images, train_on_crops
    from unetlib.losses import weight_map
    from unetlib.recipes import BBBC039_SPLIT as split

    steps = load_results("chapter8_learning_curves")["chosen"]["steps"]
    _, images, instances = load_bbbc039(more=True)
    separated = [split_touching(instances[i]) for i in split.train]
    weights = [weight_map(label(s), balance=False) for s in separated]

    def train(seed: int = 0, part: str = "test", **settings) -> tuple[float, float]:
        model, _, _ = train_on_crops(
            split.pick(images, "train"),
            separated,
            weights,
            augment=True,
            epochs=steps // 8,
            seed=seed,
            device="cpu",
            **settings,
        )
        return score_on_images(model, split.pick(images, part), split.pick(instances, part), device="cpu")

    return train
