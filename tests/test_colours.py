"""Figures stay readable in greyscale print and for colour-blind readers.

Colour maps must be perceptually uniform (viridis family, grey) or ColorBrewer maps whose
lightness runs one way (sequential) or out from the middle (diverging): never rainbow maps such
as jet, which invent edges and lose their order in grey. Two-colour overlays (found/missed) use
magenta and green, which differ in lightness as well as hue.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.md")) + sorted((ROOT / "unetlib").rglob("*.py"))
READABLE = {
    "gray",
    "Greys",
    "viridis",
    "cividis",
    "magma",
    "inferno",
    "plasma",
    "Oranges",
    "Greens",
    "Blues",
    "Purples",
    "RdBu",
    "RdBu_r",
    "PuOr",
    "PuOr_r",
}


def colour_map_uses() -> list[tuple[str, str]]:
    """(file, what follows ``cmap=`` or ``cmap: str =``) for every colour map the book chooses."""
    uses = []
    for path in SOURCES:
        for match in re.finditer(r"cmap\s*(?::\s*\w+\s*)?=\s*([^,)\n]+)", path.read_text()):
            uses.append((path.name, match.group(1).strip()))
    return uses


def test_every_colour_map_is_readable_in_grey_and_by_colour_blind_readers():
    uses = colour_map_uses()
    literal = [(name, value.strip("\"'")) for name, value in uses if re.fullmatch(r"[\"']\w+[\"']", value)]
    # A pattern that matched nothing would pass vacuously: the chapters choose colour maps in many figures.
    assert len(literal) >= 15, f"found only {len(literal)} colour maps: has the way they are written changed?"
    unreadable = [(name, value) for name, value in literal if value not in READABLE]
    assert unreadable == [], f"pick one of {sorted(READABLE)} instead of {unreadable}"
    # Any other use passes a variable on (a function's cmap argument, whose default is checked above).
    passed_on = [(name, value) for name, value in uses if (name, value.strip("\"'")) not in literal]
    assert all(value.startswith("cmap") for _, value in passed_on), passed_on


def test_the_colour_map_check_catches_a_rainbow_map():
    fake = 'show(image, cmap="jet")\nplot(cmap: str = "rainbow")'
    found = re.findall(r"cmap\s*(?::\s*\w+\s*)?=\s*[\"'](\w+)[\"']", fake)
    assert sorted(set(found) - READABLE) == ["jet", "rainbow"]


def luminance(rgb: tuple[float, float, float]) -> float:
    r, g, b = rgb
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def test_the_overlay_pair_differs_in_grey():
    pairs = []
    for path in SOURCES:
        colours = re.findall(r"= \((0\.\d+), (0\.\d+), (0\.\d+)\)\s+# \w[\w ]*: (magenta|green)", path.read_text())
        pairs += [(tuple(float(v) for v in c[:3]), c[3]) for c in colours]
    by_name = {name: rgb for rgb, name in pairs}
    assert set(by_name) == {"magenta", "green"}, "Chapter 8's error overlay: magenta and green"
    assert abs(luminance(by_name["magenta"]) - luminance(by_name["green"])) > 0.15
