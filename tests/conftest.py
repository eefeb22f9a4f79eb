"""Fixtures shared by the test files."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2] / "shared" / "datasets"


@pytest.fixture
def chapter7_recipe(monkeypatch):
    """``train(seed=0, **settings) -> (test Dice, test object F1)``: Chapter 7's recipe (gaps,
    augmentation, the weight map, 96 steps) trained on BBBC039 images 0-12 and scored on 15-19,
    as ``benchmarks/learning_curves.py`` and ``benchmarks/depth_width_sweep.py`` run it."""
    if not SHARED.is_dir():
        pytest.skip("the BBBC039 files are not here (../shared/datasets)")
    monkeypatch.setenv("UNETLIB_DATA", str(SHARED))
    from skimage.measure import label

    from unetlib.data import load_bbbc039, split_touching
    from unetlib.experiments import score_on_images, train_on_crops
    from unetlib.losses import weight_map
    from unetlib.recipes import BBBC039_SPLIT

    _, images, instances = load_bbbc039()
    train_ids, test_ids = BBBC039_SPLIT.train, BBBC039_SPLIT.test
    separated = [split_touching(instances[i]) for i in train_ids]
    weights = [weight_map(label(s), balance=False) for s in separated]

    def train(seed: int = 0, **settings) -> tuple[float, float]:
        model, _, _ = train_on_crops(
            [images[i] for i in train_ids],
            separated,
            weights,
            augment=True,
            epochs=12,
            seed=seed,
            device="cpu",
            **settings,
        )
        return score_on_images(model, [images[i] for i in test_ids], [instances[i] for i in test_ids], device="cpu")

    return train
