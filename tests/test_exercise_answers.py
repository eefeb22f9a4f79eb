"""No traceback reaches a reader from an exercise checker: every wrong kind of answer gets a
sentence (a failed CheckResult), for every check_* function."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import torch

import unetlib.exercises as exercises

CHECKS = [getattr(exercises, name) for name in exercises.__all__ if name.startswith("check_")]

# What a reader might hand in instead of the right function or value.
FUNCTIONS = {
    "returns None": lambda *a, **k: None,
    "returns a string": lambda *a, **k: "abc",
    "returns a complex number": lambda *a, **k: 1 + 2j,
    "returns an array": lambda *a, **k: np.zeros((3, 3)),
    "returns a tensor that requires grad": lambda *a, **k: torch.zeros(3, requires_grad=True) * 2,
    "raises": lambda *a, **k: 1 / 0,
    "returns a tuple": lambda *a, **k: (1, 2),
    "returns NaN": lambda *a, **k: float("nan"),
    "returns a ragged list": lambda *a, **k: [[1, 2], [3]],
    "returns an object": lambda *a, **k: object(),
}
VALUES = {
    "None": None,
    "a string": "abc",
    "a complex number": 1 + 2j,
    "an array": np.zeros((2, 2)),
    "a tuple": (1, 2),
    "NaN": float("nan"),
    "a negative number": -1,
    "True": True,
    "a huge number": 10**30,
    "a ragged list": [[1, 2], [3]],
    "a tensor that requires grad": torch.zeros(2, requires_grad=True),
}


def test_there_are_checks():
    assert len(CHECKS) >= 20


@pytest.mark.parametrize("answer", list(FUNCTIONS.values()) + list(VALUES.values()), ids=list(FUNCTIONS) + list(VALUES))
@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
def test_a_wrong_answer_gets_a_sentence_not_a_traceback(check, answer):
    required = [p for p in inspect.signature(check).parameters.values() if p.default is inspect.Parameter.empty]
    result = check(*[answer] * max(len(required), 1))
    assert result.passed is False
    assert isinstance(result.message, str) and len(result.message) > 10
