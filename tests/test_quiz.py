"""The self-grading questions: one right option each, explanations for every option, numbers
computed elsewhere and graded within a tolerance; the HTML a browser grades (tests/test_browser.py
answers every question of the built book)."""

from __future__ import annotations

import ast
from html.parser import HTMLParser
from pathlib import Path

import jupytext
import numpy as np
import pytest

from unetlib.quiz import choice_question, number_question


class _Elements(HTMLParser):
    """Every start tag's name and attributes, in order."""

    def __init__(self, html: str):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


OPTIONS = [
    ("3x3", True, "Each side loses kernel - 1 = 2 pixels."),
    ("5x5", False, "Only with padding 1 on every side."),
    ("7x7", False, "A convolution without padding never grows the image."),
]


def test_a_choice_question_has_one_right_option_each_explained_and_labelled():
    question = choice_question("A 5x5 image, a 3x3 kernel: the output?", OPTIONS)
    assert question.kind == "choice" and question.answer == "3x3"
    tags = _Elements(question._repr_html_()).tags
    radios = [attrs for tag, attrs in tags if tag == "input" and attrs.get("type") == "radio"]
    assert [r["data-correct"] for r in radios] == ["true", "false", "false"]
    assert len({r["name"] for r in radios}) == 1  # one group: one answer at a time
    labels = {attrs["for"] for tag, attrs in tags if tag == "label"}
    whys = {attrs["id"] for tag, attrs in tags if attrs.get("class") == "quiz-why"}
    for radio in radios:
        assert radio["id"] in labels  # a screen reader names each option
        assert f"{radio['id']}-why" in whys
    assert all("hidden" in attrs for tag, attrs in tags if attrs.get("class") == "quiz-why")
    assert ("div", {"class": "quiz-question", "data-kind": "choice"}) in tags
    assert any(attrs.get("aria-live") == "polite" for _, attrs in tags)


def test_questions_on_one_page_do_not_share_ids():
    first, second = (choice_question("Q?", OPTIONS)._repr_html_() for _ in range(2))
    ids = lambda html: {a["id"] for _, a in _Elements(html).tags if "id" in a}  # noqa: E731
    assert ids(first).isdisjoint(ids(second))


def test_a_number_question_carries_the_computed_answer_and_its_tolerance():
    computed = float(np.sqrt(2 / 576))
    question = number_question("Std for 64 channels?", computed, 5e-4, "sqrt(2 / N), N = 576.")
    assert question.answer == computed and question.tolerance == 5e-4
    div = next(attrs for tag, attrs in _Elements(question._repr_html_()).tags if tag == "div")
    assert float(div["data-answer"]) == computed  # repr round-trips the float exactly
    assert float(div["data-tolerance"]) == 5e-4
    html = question._repr_html_()
    assert "<details" in html and "Show the answer" in html  # the answer waits to be asked for


def test_text_is_escaped_and_backticks_become_code():
    html = choice_question("Is `a < b` <b>bold</b>?", [("yes", True, "`x`"), ("no", False, "n")])._repr_html_()
    assert "<code>a &lt; b</code>" in html and "&lt;b&gt;bold&lt;/b&gt;" in html


@pytest.mark.parametrize(
    "options, error, words",
    [
        ([("a", True, "x"), ("b", True, "y")], ValueError, "exactly one right option, got 2"),
        ([("a", False, "x"), ("b", False, "y")], ValueError, "mark the right one True"),
        ([("a", True, "x")], ValueError, "at least two"),
        ("ab", ValueError, "at least two"),
        ([("a", "yes", "x"), ("b", False, "y")], TypeError, "is_right: bool"),
        ([("a", True, ""), ("b", False, "y")], TypeError, "options[0] why"),
        ([("a", True), ("b", False, "y")], TypeError, "options[0]"),
    ],
)
def test_choice_question_refuses_bad_options_saying_what_works(options, error, words):
    with pytest.raises(error, match=words.replace("[", r"\[").replace("]", r"\]")):
        choice_question("Q?", options)


@pytest.mark.parametrize(
    "answer, tolerance, error, words",
    [
        ("1", 0, TypeError, "answer must be a number"),
        (True, 0, TypeError, "answer must be a number"),
        (float("nan"), 0, ValueError, "finite"),
        (1.0, -0.1, ValueError, "tolerance must be a number >= 0"),
        (1.0, "0", ValueError, "tolerance"),
    ],
)
def test_number_question_refuses_bad_answers_saying_what_works(answer, tolerance, error, words):
    with pytest.raises(error, match=words):
        number_question("Q?", answer, tolerance, "why")


def test_a_question_needs_text():
    with pytest.raises(TypeError, match="question must be a non-empty string"):
        choice_question("  ", OPTIONS)
    with pytest.raises(TypeError, match="explanation"):
        number_question("Q?", 1.0, 0, None)


def _question_calls(source):
    """Every choice_question / number_question call in a chapter's code cells."""
    for cell in jupytext.read(source).cells:
        if cell.cell_type != "code" or "_question(" not in cell.source:
            continue
        for node in ast.walk(ast.parse(cell.source)):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") in ("choice_question", "number_question"):
                yield node, cell


CHAPTERS = sorted((Path(__file__).parents[1] / "notebooks").glob("[0-9][0-9]_*.md"))


@pytest.mark.parametrize("source", CHAPTERS, ids=lambda p: p.stem)
def test_every_chapter_asks_at_least_three_questions_with_computed_numbers(source):
    """At least three questions per chapter, each in a cell whose code is hidden, and every
    numeric answer an expression of the page's values, never a typed number (so it cannot
    drift from what the chapter computes)."""
    calls = list(_question_calls(source))
    assert len(calls) >= 3, f"{source.name}: {len(calls)} questions"
    for node, cell in calls:
        assert "remove-input" in cell.metadata.get("tags", []), f"{source.name}: a question's code shows"
        if node.func.id == "number_question":
            answer = next((k.value for k in node.keywords if k.arg == "answer"), None)
            answer = answer if answer is not None else node.args[1]
            typed = isinstance(answer, ast.Constant) or (
                isinstance(answer, ast.UnaryOp) and isinstance(answer.operand, ast.Constant)
            )
            assert not typed, f"{source.name}: a numeric answer typed by hand: {ast.unparse(answer)}"
