"""Questions that grade themselves in the page: no kernel, no server, no network.

A chapter builds each question in a code cell (its input hidden in the book) from values it has
just computed, so that a numeric answer is never typed twice. The cell's output is a small HTML
form with the class ``quiz-question`` and a few lines of JavaScript, which grade the answer in
the browser: in the rendered book, in Jupyter and in Colab alike. Every option of a multiple
choice carries its explanation, shown when the reader picks it and asks; a numeric answer has
a tolerance and an explanation behind a "Show the answer" button.

Example:
    >>> question = choice_question(
    ...     "A 5x5 image, a 3x3 kernel, no padding: how large is the output?",
    ...     [("3x3", True, "Each side loses kernel - 1 = 2 pixels."),
    ...      ("5x5", False, "Only with padding 1 on every side.")])
    >>> question.answer
    '3x3'
    >>> "quiz-question" in question._repr_html_()
    True
"""

from __future__ import annotations

import itertools
import math
import re
from html import escape
from typing import Sequence

from unetlib._checks import describe

__all__ = ["Question", "choice_question", "number_question"]

# One page holds many questions: each gets its own id, from a counter (ids only need to differ
# within a page, and a page is one kernel).
_NUMBERS = itertools.count(1)

# Grading, styles and keyboard use, defined once per page however many questions it holds.
_SCRIPT = """<script>
(function () {
  if (window.unetlibQuiz) return;
  window.unetlibQuiz = true;
  function grade(q) {
    var feedback = q.querySelector(".quiz-feedback");
    q.querySelectorAll(".quiz-why").forEach(function (w) { w.hidden = true; });
    var right;
    if (q.dataset.kind === "choice") {
      var picked = q.querySelector("input[type=radio]:checked");
      if (!picked) { feedback.textContent = "Pick an answer first."; return; }
      right = picked.dataset.correct === "true";
      document.getElementById(picked.id + "-why").hidden = false;
      feedback.textContent = right ? "Right." : "Not yet: read why, then try another answer.";
    } else {
      var value = parseFloat(q.querySelector("input").value.replace(",", "."));
      if (isNaN(value)) { feedback.textContent = "Type a number first."; return; }
      right = Math.abs(value - parseFloat(q.dataset.answer)) <= parseFloat(q.dataset.tolerance);
      feedback.textContent = right ? "Right." : "Not yet: try again, or show the answer.";
      if (right) q.querySelector(".quiz-why").hidden = false;
    }
    q.dataset.state = right ? "right" : "wrong";
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest(".quiz-check");
    if (button) grade(button.closest(".quiz-question"));
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Enter" || !event.target.closest) return;
    var q = event.target.closest(".quiz-question");
    if (q && event.target.tagName === "INPUT") { event.preventDefault(); grade(q); }
  });
})();
</script>
<style>
.quiz-question { border: 1px solid #8888; border-left: 4px solid #0072B2; border-radius: 4px;
  padding: 0.6em 0.9em; margin: 1em 0; }
.quiz-question fieldset { border: 0; padding: 0; margin: 0; }
.quiz-question legend { font-size: 1em; font-weight: 600; line-height: 1.5; padding: 0;
  margin-bottom: 0.4em; }
.quiz-question label { display: block; margin: 0.25em 0; cursor: pointer; }
.quiz-question .quiz-why { margin: 0.2em 0 0.5em 1.6em; font-style: italic; }
.quiz-question[data-state=right] { border-left-color: #009E73; }
.quiz-question[data-state=wrong] { border-left-color: #D55E00; }
.quiz-question .quiz-feedback { font-weight: 600; margin: 0.4em 0 0; }
.quiz-question input[type=text] { max-width: 12em; }
</style>"""


def _inline(text: str) -> str:
    """Escaped text, with `backticks` as code."""
    parts = re.split(r"`([^`]*)`", text)
    return "".join(f"<code>{escape(p)}</code>" if i % 2 else escape(p) for i, p in enumerate(parts))


def _text(value, name: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise TypeError(f"{name} must be a non-empty string, got {describe(value)}")
    return value.strip()


class Question:
    """One self-grading question; Jupyter, Colab and the book show it as HTML.

    Attributes:
        text: the question.
        kind: ``"choice"`` or ``"number"``.
        answer: the right option's text, or the right number.
        tolerance: how far a numeric answer may be from ``answer`` (None for a choice).
    """

    def __init__(
        self, text: str, kind: str, answer, tolerance: float | None, body: str, attributes: str, after: str = ""
    ):
        self.text, self.kind, self.answer, self.tolerance = text, kind, answer, tolerance
        self._body, self._attributes, self._after = body, attributes, after

    def _repr_html_(self) -> str:
        return (
            f'<div class="quiz-question" data-kind="{self.kind}"{self._attributes}>'
            f"{self._body}"
            '<button type="button" class="quiz-check">Check</button>'
            '<p class="quiz-feedback" role="status" aria-live="polite"></p>'
            f"{self._after}</div>{_SCRIPT}"
        )

    def __repr__(self) -> str:
        return f"{self.kind} question: {self.text!r} (answer {self.answer!r})"


def choice_question(question: str, options: Sequence[tuple[str, bool, str]]) -> Question:
    """A multiple-choice question with exactly one right option, each option explained.

    Args:
        question: the question, plain text (`backticks` for code).
        options: ``(text, is_right, why)`` for each option, in the order shown; ``why`` says why
            the option is right or wrong and is shown when the reader picks it and checks.

    Returns:
        A :class:`Question`; the last expression of a cell, it shows as the form.

    Example:
        >>> choice_question("Two right?", [("a", True, "."), ("b", True, ".")])
        Traceback (most recent call last):
        ...
        ValueError: options must have exactly one right option, got 2 (a, b): a question with several right answers needs rewording
    """
    text = _text(question, "question")
    if isinstance(options, (str, bytes)) or not isinstance(options, Sequence) or len(options) < 2:
        raise ValueError(
            f"options must be a list of at least two (text, is_right, why) tuples, got {describe(options)}"
        )
    rows = []
    for index, option in enumerate(options):
        if not (isinstance(option, tuple) and len(option) == 3 and isinstance(option[1], bool)):
            raise TypeError(f"options[{index}] must be a tuple (text, is_right: bool, why), got {describe(option)}")
        rows.append((_text(option[0], f"options[{index}] text"), option[1], _text(option[2], f"options[{index}] why")))
    right = [row[0] for row in rows if row[1]]
    if len(right) != 1:
        raise ValueError(
            f"options must have exactly one right option, got {len(right)} ({', '.join(right) or 'none'}): "
            + ("a question with several right answers needs rewording" if right else "mark the right one True")
        )
    number = next(_NUMBERS)
    items = []
    for index, (option, correct, why) in enumerate(rows):
        ident = f"quiz-{number}-{index}"
        items.append(
            f'<label for="{ident}"><input type="radio" name="quiz-{number}" id="{ident}" '
            f'data-correct="{str(correct).lower()}"> {_inline(option)}</label>'
            f'<p class="quiz-why" id="{ident}-why" hidden>{_inline(why)}</p>'
        )
    body = f"<fieldset><legend>{_inline(text)}</legend>{''.join(items)}</fieldset>"
    return Question(text, "choice", right[0], None, body, "")


def number_question(question: str, answer: float, tolerance: float, explanation: str, unit: str = "") -> Question:
    """A question whose answer is a number, graded within ``tolerance``.

    Args:
        question: the question, plain text (`backticks` for code).
        answer: the right number, computed on the page (never typed).
        tolerance: the largest accepted distance from ``answer`` (0 for an exact count).
        explanation: how the answer comes about, shown once the reader answers right or asks.
        unit: shown after the input box (``"px"``, ``"%"``).

    Returns:
        A :class:`Question`.
    """
    text, why = _text(question, "question"), _text(explanation, "explanation")
    if isinstance(answer, bool) or not isinstance(answer, (int, float)) and not hasattr(answer, "__float__"):
        raise TypeError(f"answer must be a number, got {describe(answer)}")
    value = float(answer)
    if not math.isfinite(value):
        raise ValueError(f"answer must be a finite number, got {value}")
    if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float)) or not tolerance >= 0:
        raise ValueError(f"tolerance must be a number >= 0 (0 for an exact count), got {describe(tolerance)}")
    number = next(_NUMBERS)
    shown = f"{value:g} {unit}".strip()
    body = (
        f'<p><label for="quiz-{number}"><strong>{_inline(text)}</strong></label></p>'
        f'<p><input type="text" inputmode="decimal" id="quiz-{number}" autocomplete="off"> {escape(unit)}</p>'
        f'<p class="quiz-why" hidden>{_inline(why)}</p>'
    )
    after = f'<details class="quiz-answer"><summary>Show the answer</summary><p>{escape(shown)}: {_inline(why)}</p></details>'
    attributes = f' data-answer="{value!r}" data-tolerance="{float(tolerance)!r}"'
    return Question(text, "number", value, float(tolerance), body, attributes, after)
