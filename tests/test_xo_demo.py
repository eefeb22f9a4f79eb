"""Chapter 5's demonstration, as a test: a small X/O/none classifier, trained on a CPU in
seconds, becomes a sliding detector that names every glyph on a canvas once its head is a
convolution."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from unetlib.data import XO_CLASSES, xo_canvas, xo_dataset


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_converted_classifier_names_every_glyph_on_the_canvas(seed):
    torch.manual_seed(seed)
    images, labels = xo_dataset(900, seed=0, none=True)
    features = nn.Sequential(
        nn.Conv2d(1, 4, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(4, 3, 3), nn.ReLU(), nn.MaxPool2d(2)
    )
    head = nn.Linear(12, 3)
    classifier = nn.Sequential(features, nn.Flatten(), head)
    optimiser = torch.optim.Adam(classifier.parameters(), lr=0.02)
    x, y = torch.from_numpy(images), torch.from_numpy(labels)
    for _ in range(400):
        optimiser.zero_grad()
        F.cross_entropy(classifier(x), y).backward()
        optimiser.step()

    conv_head = nn.Conv2d(3, 3, 2)
    with torch.no_grad():
        conv_head.weight.copy_(head.weight.reshape(3, 3, 2, 2))
        conv_head.bias.copy_(head.bias)
        canvas, placed = xo_canvas(["X.O.X.", ".OX..O", "X..OX.", ".O..XO"], seed=3)
        scores = nn.Sequential(features, conv_head)(torch.from_numpy(canvas)[None, None])[0]
        # Each position is the classifier on the window under it.
        window = torch.from_numpy(canvas[8:22, 20:34])[None, None]
        torch.testing.assert_close(scores[:, 2, 5], classifier(window)[0])
    predicted = scores.argmax(0)
    assert [XO_CLASSES[predicted[top // 4, left // 4]] for top, left, _ in placed] == [k for _, _, k in placed]
