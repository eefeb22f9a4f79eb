"""Numbers in the chapters' prose come from code (myst-nb glue), never typed by hand.

The prose of every chapter (Markdown outside code cells, with inline code, math, roles such as
{glue:text}`name`, link targets and headings removed) is searched for literal results: decimals,
percentages, durations and "N times". Each one that remains must be a setting or a definition,
or a figure quoted from a cited paper, listed below with its reason. A measured number typed
into the prose fails this test: glue it instead.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"

ALLOWED = {
    ("04_trained_network.md", "0.5"): "the dropout probability, a setting",
    ("04_trained_network.md", "0.05"): "a starting standard deviation tried, a setting",
    ("04_trained_network.md", "0.2"): "a starting standard deviation tried, a setting",
    ("08_training.md", "0.5"): "IoU above 0.5 is the definition of a match",
    ("08_training.md", "99.8"): "the percentile the normalisation uses, a setting",
    ("10_em_membranes.md", "99.8"): "the percentile the normalisation uses, a setting",
    ("10_em_membranes.md", "0.5"): "the default threshold, named as one choice among many",
    ("10_em_membranes.md", "10 hours"): "quoted from the U-Net paper, which is cited",
    ("11_aerial.md", "99.8"): "the percentile the normalisation uses, a setting",
    ("11_aerial.md", "0.55"): "the goal stated before anything was measured, a target, not a result",
    ("13_remote_sensing.md", "3.0"): "the data's licence, CC BY-SA 3.0, a name",
}

CODE_CELL = re.compile(r"^```\{code-cell\}.*?^```\s*$", re.S | re.M)
FRONT_MATTER = re.compile(r"\A---.*?^---", re.S | re.M)
NOT_PROSE = [
    re.compile(r"\$\$.*?\$\$", re.S),  # display math
    re.compile(r"\$[^$\n]+\$"),  # inline math
    re.compile(r"\{[a-z:-]+\}`[^`]*`"),  # roles: {glue:text}`x:.3f`, {cite}`key`, {doc}`page`
    re.compile(r"``[^`]*``"),
    re.compile(r"`[^`\n]*`"),  # inline code
    re.compile(r"\]\([^)]*\)"),  # link targets
    re.compile(r"^#+ .*$", re.M),  # headings ("Exercise 2: ...")
]
LITERAL_RESULT = re.compile(
    r"(?<![\w.])(\d+\.\d+|\d+(?:\.\d+)?\s?%|\d+(?:\.\d+)?\s?(?:s|ms|seconds|minutes|hours|times)\b|\d+(?:\.\d+)?×)"
)


def prose(path: Path) -> str:
    text = FRONT_MATTER.sub("", CODE_CELL.sub("", path.read_text()))
    for pattern in NOT_PROSE:
        text = pattern.sub(" ", text)
    return text


def literal_results(path: Path) -> list[str]:
    return [match.group(0) for match in LITERAL_RESULT.finditer(prose(path))]


CHAPTERS = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.md"))


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_no_measured_number_is_typed_into_the_prose(path):
    typed = [n for n in literal_results(path) if (path.name, n) not in ALLOWED]
    assert typed == [], f"{path.name}: numbers in the prose that should be glued from code: {typed}"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_the_chapters_results_are_glued(path):
    glued = re.findall(r"\{glue(?::text|:md)?\}`", path.read_text())
    assert len(glued) >= 3, f"{path.name} quotes fewer than 3 computed numbers in its prose"


def test_every_allowance_is_still_needed():
    found = {(p.name, n) for p in CHAPTERS for n in literal_results(p)}
    assert set(ALLOWED) <= found, f"remove stale entries: {set(ALLOWED) - found}"


def test_the_search_catches_a_typed_number(tmp_path):
    chapter = tmp_path / "99_example.md"
    chapter.write_text(
        "The model reaches Dice 0.93 in 45 s, {glue:text}`dice:.3f` glued, 3x faster"
        " and 12% better; $0.5$ in math and `0.25` in code are fine.\n"
    )
    assert literal_results(chapter) == ["0.93", "45 s", "12%"]
