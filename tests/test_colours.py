"""Figures stay readable in greyscale print and for colour-blind readers.

Colour maps must be perceptually uniform (viridis family, grey) or ColorBrewer maps whose
lightness runs one way (sequential) or out from the middle (diverging): never rainbow maps such
as jet, which invent edges and lose their order in grey. Two-colour overlays (found/missed) use
magenta and green, which differ in lightness as well as hue.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.md")) + sorted((ROOT / "unetlib").rglob("*.py"))
READABLE = {"gray", "Greys", "viridis", "cividis", "magma", "inferno", "plasma",
            "Oranges", "Greens", "Blues", "Purples", "RdBu", "RdBu_r", "PuOr", "PuOr_r"}


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_colour_maps_are_readable_in_grey_and_by_colour_blind_readers(path):
    names = set(re.findall(r"""cmap\s*=\s*["']([\w]+)["']""", path.read_text()))
    assert names <= READABLE, f"{path.name} uses {sorted(names - READABLE)}: pick one of {sorted(READABLE)}"


def luminance(rgb: tuple[float, float, float]) -> float:
    r, g, b = rgb
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def test_the_overlay_pair_differs_in_grey():
    pairs = []
    for path in SOURCES:
        colours = re.findall(r"= \((0\.\d+), (0\.\d+), (0\.\d+)\)\s+# \w[\w ]*: (magenta|green)", path.read_text())
        pairs += [(tuple(float(v) for v in c[:3]), c[3]) for c in colours]
    by_name = {name: rgb for rgb, name in pairs}
    assert set(by_name) == {"magenta", "green"}, "Chapter 7's error overlay: magenta and green"
    assert abs(luminance(by_name["magenta"]) - luminance(by_name["green"])) > 0.15
