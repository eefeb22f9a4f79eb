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
        return None, "your function returned None: did you forget the `return` line?"
    if isinstance(result, torch.Tensor):
        result = result.detach().cpu()  # a tensor that requires grad cannot become an array directly
    try:
        array = np.asarray(result, dtype=np.float64)
    except (TypeError, ValueError, RuntimeError):
        return None, f"your function returned {type(result).__name__}, which is not an array of numbers"
    if number and array.shape != ():
        return None, (
            f"your function returned {type(result).__name__} of shape {array.shape}; it should return "
            "one number (sum or average the array?)"
        )
    if number and not np.isfinite(array):
        return None, f"your function returned {array.item()}, not a finite number: look for a division by zero"
    return array, None


def _size(shape: tuple[int, ...]) -> str:
    return "x".join(str(n) for n in shape)


def _first_difference(got: np.ndarray, expected: np.ndarray) -> str:
    index = tuple(int(i) for i in np.argwhere(~np.isclose(got, expected))[0])
    return f"at position {index} you have {got[index]:g}, expected {expected[index]:g}"


def _show(value: np.ndarray) -> str:
    """A reader's answer as they would write it: 3 rather than 3.0, lists as lists."""
    value = np.asarray(value)
    return f"{value.item():g}" if value.shape == () else repr(value.tolist())
