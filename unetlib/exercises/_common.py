"""What every check shares: the verdict type and careful calling of the reader's code."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch


@dataclass(frozen=True)
class CheckResult:
    """The verdict on an answer: ``passed`` and a message saying why (and what to try)."""

    passed: bool
    message: str

    def __bool__(self) -> bool:
        return self.passed

    def __repr__(self) -> str:
        verdict = ("Correct: " if self.passed else "Not yet: ") + self.message
        return textwrap.fill(verdict, width=76, subsequent_indent="    ")


# What every check says to a function that returns nothing (a stub whose body is still ``...``).
_RETURNED_NONE = "your function returned None: does it end with a return line?"


def _call(function: Callable, *args, number: bool = False) -> tuple[np.ndarray | None, str | None]:
    """Run the reader's function; return (output, None) or (None, what went wrong).

    With ``number=True`` the answer must be one number: an array, a tuple or a string gets a
    sentence instead of reaching the check's comparisons (where NumPy would raise).
    """
    if not callable(function):
        return None, f"pass your function itself (e.g. check(my_conv2d)), not {type(function).__name__}"
    try:
        result = function(*(arg.copy() if isinstance(arg, np.ndarray) else arg for arg in args))
    except Exception as error:  # the reader's code may raise anything; report it, do not crash
        return None, f"your function raised {type(error).__name__}: {error}"
    if result is None:
        return None, _RETURNED_NONE
    array, problem = _as_numbers(result, "your function returned")
    if problem:
        return None, problem
    if number and array.shape != ():
        return None, (
            f"your function returned {type(result).__name__} of shape {array.shape}; it should return "
            "one number (sum or average the array?)"
        )
    if number and not np.isfinite(array):
        return None, f"your function returned {array.item()}, not a finite number: look for a division by zero"
    return array, None


def _as_numbers(value, said: str) -> tuple[np.ndarray | None, str | None]:
    """``value`` (a number, a list, an array or a tensor) as float64, or None and a sentence.

    Text and complex numbers are refused rather than converted: NumPy would read ``"3"`` as 3
    and drop the imaginary part of ``3 + 1j``, so that a wrong kind of answer could pass.
    ``said`` begins the sentence: ``"your function returned"`` or ``"your answer is"``.
    """
    if isinstance(value, torch.Tensor):
        if value.is_complex():
            return None, f"{said} a complex tensor: {_NOT_COMPLEX}"
        value = value.detach().cpu()  # a tensor that requires grad cannot become an array directly
    if isinstance(value, (str, bytes)):
        return None, f"{said} text ({value!r:.30}), which is not an array of numbers: {_NOT_TEXT}"
    try:
        raw = np.asarray(value)
    except (TypeError, ValueError, RuntimeError):
        return None, f"{said} {type(value).__name__}, which is not an array of numbers"
    items = raw.ravel().tolist() if raw.dtype.kind == "O" else []
    if raw.dtype.kind in "US" or any(isinstance(item, (str, bytes)) for item in items):
        return None, f"{said} text in a {type(value).__name__}, which is not an array of numbers: {_NOT_TEXT}"
    if raw.dtype.kind == "c" or any(isinstance(item, complex) for item in items):
        return None, f"{said} complex numbers (in a {type(value).__name__}): {_NOT_COMPLEX}"
    try:
        return np.asarray(value, dtype=np.float64), None
    except (TypeError, ValueError, RuntimeError):
        return None, f"{said} {type(value).__name__}, which is not an array of numbers"


_NOT_TEXT = "return the numbers themselves (int(...), float(...) or an array), not their printed form"
_NOT_COMPLEX = "the answer is real; drop the imaginary part (look for a 1j or np.sqrt of a negative number)"


def _size(shape: tuple[int, ...]) -> str:
    return "x".join(str(n) for n in shape)


def _first_difference(got: np.ndarray, expected: np.ndarray) -> str:
    index = tuple(int(i) for i in np.argwhere(~np.isclose(got, expected))[0])
    return f"at position {index} you have {got[index]:g}, expected {expected[index]:g}"


def _show(value: np.ndarray) -> str:
    """A reader's answer as they would write it: 3 rather than 3.0, lists as lists."""
    value = np.asarray(value)
    return f"{value.item():g}" if value.shape == () else repr(value.tolist())
