"""Chapter 4's exercises: a backward pass by hand, one step of momentum, and a cross-entropy
from logits that does not overflow.

Example:
    A wrong answer, and what the check says:

    >>> def forgets_the_relu(x, t, w1, b1, w2, b2):
    ...     y = w2 * (w1 * x + b1) + b2  # no max(z, 0)
    ...     return (y - t) * w2 * x, (y - t) * w2, (y - t) * (w1 * x + b1), y - t
    >>> check_backward_by_hand(forgets_the_relu)
    Not yet: for x=1.5, t=1.0, w1=-0.8, b1=0.2, w2=0.5, b2=0.3 (where z < 0) you
        give dL/dw1, dL/db1, dL/dw2, dL/db2 = [-0.9, -0.6, 1.2, -1.2], autograd
        gives [0.0, 0.0, 0.0, -0.7]: where z <= 0 the ReLU outputs 0 and passes
        no gradient back: h = 0 and dL/dz = 0
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from unetlib.exercises._common import _RETURNED_NONE, CheckResult, _call, _show

__all__ = ["check_backward_by_hand", "check_cross_entropy", "check_momentum_step"]

#: (x, t, w1, b1, w2, b2): the ReLU passes in the first two cases and blocks in the third.
_GRAPHS = (
    (1.5, 1.0, 0.8, -0.2, -0.5, 0.3),
    (-2.0, 0.5, -1.1, 0.4, 1.7, -0.6),
    (1.5, 1.0, -0.8, 0.2, 0.5, 0.3),
)


def _autograd_gradients(x: float, t: float, *weights: float) -> np.ndarray:
    """dL/dw1, dL/db1, dL/dw2, dL/db2 of the chapter's graph, by autograd."""
    w = torch.tensor(weights, dtype=torch.float64, requires_grad=True)
    y = w[2] * torch.relu(w[0] * x + w[1]) + w[3]
    (0.5 * (y - t) ** 2).backward()
    return w.grad.numpy()


def _backward_hint(got: np.ndarray, expected: np.ndarray, x: float, t: float, weights: tuple) -> str:
    """The likely mistake behind a wrong set of gradients."""
    w1, b1, w2, b2 = weights
    z = w1 * x + b1
    if z <= 0 and not np.allclose(got[:3], 0):
        return "where z <= 0 the ReLU outputs 0 and passes no gradient back: h = 0 and dL/dz = 0"
    if np.allclose(got, -expected):
        return "every sign is flipped: dL/dy = y - t (from L = (y - t)^2 / 2), not t - y"
    if np.allclose(got[2:], expected[2:]) and np.isclose(got[0], expected[0] / w2):
        return "dL/dw1 misses the factor w2: the gradient reaches z through y = w2 h"
    if np.allclose(got[1:], expected[1:]) and np.isclose(got[0], expected[1]):
        return "dL/dw1 is dL/dz times x (z = w1 x + b1), dL/db1 is dL/dz alone"
    if np.allclose(got, 2 * expected):
        return "each gradient is twice autograd's: the loss is HALF the squared error, so dL/dy = y - t"
    return "walk backwards: dL/dy = y - t, dL/dh = dL/dy * w2, dL/dz = dL/dh if z > 0 else 0"


def check_backward_by_hand(function: Callable) -> CheckResult:
    """Check a reader's ``function(x, t, w1, b1, w2, b2)``: the gradients
    ``(dL/dw1, dL/db1, dL/dw2, dL/db2)`` of Chapter 4's graph ``z = w1 x + b1``,
    ``h = max(z, 0)``, ``y = w2 h + b2``, ``L = (y - t)^2 / 2``, against autograd, on graphs
    where the ReLU passes and where it blocks."""
    for graph in _GRAPHS:
        got, problem = _call(function, *graph)
        if problem:
            return CheckResult(False, problem)
        if got.shape != (4,):
            return CheckResult(
                False, f"return the four gradients (dL/dw1, dL/db1, dL/dw2, dL/db2), got shape {got.shape}"
            )
        expected = _autograd_gradients(*graph)
        if np.allclose(got, expected, rtol=1e-6, atol=1e-9):
            continue
        x, t, *weights = graph
        blocked = " (where z < 0)" if weights[0] * x + weights[1] < 0 else ""
        case = f"x={x}, t={t}, w1={weights[0]}, b1={weights[1]}, w2={weights[2]}, b2={weights[3]}"
        return CheckResult(
            False,
            f"for {case}{blocked} you give dL/dw1, dL/db1, dL/dw2, dL/db2 = {np.round(got, 4).tolist()}, "
            f"autograd gives {np.round(expected, 4).tolist()}: {_backward_hint(got, expected, x, t, tuple(weights))}",
        )
    return CheckResult(True, "your four gradients match autograd's, where the ReLU passes and where it blocks.")


def check_momentum_step(function: Callable) -> CheckResult:
    """Check a reader's ``function(weight, gradient, velocity, lr, momentum)`` returning
    ``(new_weight, new_velocity)``: six steps on the chapter's bowl, each fed the reader's own
    velocity, compared weight for weight with ``torch.optim.SGD(lr=lr, momentum=momentum)``
    (velocity ``v = momentum * v + g``, step ``-lr * v``)."""
    lr, mu = 0.005, 0.9
    scales = np.array([1.0, 100.0])
    weight, velocity = np.array([-4.0, 1.0]), np.zeros(2)
    reference = torch.tensor([-4.0, 1.0], dtype=torch.float64, requires_grad=True)
    sgd = torch.optim.SGD([reference], lr=lr, momentum=mu)
    for step in range(1, 7):
        gradient = scales * weight
        try:
            answer = function(weight.copy(), gradient.copy(), velocity.copy(), lr, mu)
        except Exception as error:  # the reader's code may raise anything; report it
            return CheckResult(False, f"your function raised {type(error).__name__}: {error}")
        if not isinstance(answer, tuple) or len(answer) != 2:
            if answer is None:
                return CheckResult(False, _RETURNED_NONE)
            return CheckResult(False, f"return two things, (new_weight, new_velocity), got {answer!r:.80}")
        new_weight, new_velocity = (np.asarray(part, dtype=float) for part in answer)
        if new_velocity.shape != (2,) or np.array_equal(new_velocity, velocity):
            return CheckResult(
                False,
                f"at step {step} the velocity you return is {_show(new_velocity)}, the one passed in: return "
                "the new one, momentum * velocity + gradient, so that the next step builds on it",
            )
        sgd.zero_grad()
        (0.5 * (torch.from_numpy(scales) * reference**2).sum()).backward()
        sgd.step()
        expected = reference.detach().numpy()
        if not np.allclose(new_weight, expected, rtol=1e-9):
            return CheckResult(
                False,
                f"after step {step} your weights are {_show(new_weight)}, "
                f"torch.optim.SGD's {_show(expected)}: {_momentum_hint(step, new_weight, weight, gradient, velocity, lr, mu)}",
            )
        weight, velocity = new_weight, new_velocity
    return CheckResult(True, "six steps, weight for weight the same as torch.optim.SGD(momentum=0.9).")


def _momentum_hint(step, got, weight, gradient, velocity, lr, mu) -> str:
    """The likely mistake behind a wrong momentum step."""
    if np.allclose(got, weight - lr * gradient):
        return "that is a plain gradient step: add the gradient to momentum * velocity and step by lr * velocity"
    if np.allclose(got, weight - lr * mu * velocity):
        return "step with the NEW velocity (momentum * velocity + gradient), not the old one"
    if np.allclose(got, weight + lr * (mu * velocity + gradient)):
        return "step against the velocity: weight - lr * velocity"
    if step > 1:
        return "the first step matched: return the new velocity too, and keep it as momentum * velocity + gradient"
    return "velocity = momentum * velocity + gradient; weight = weight - lr * velocity"


def check_cross_entropy(function: Callable[[np.ndarray, np.ndarray], float]) -> CheckResult:
    """Check a reader's ``function(logits, labels)``: the mean cross-entropy of ``(N, K)`` class
    scores against ``(N,)`` integer labels, as :func:`torch.nn.functional.cross_entropy`
    computes it (softmax, then minus the log of the right class's probability, averaged)."""
    rng = np.random.default_rng(4)
    for n, k, scale in ((5, 3, 1.0), (8, 2, 3.0), (4, 6, 0.1), (3, 4, 500.0)):
        logits = rng.normal(size=(n, k)) * scale
        labels = rng.integers(0, k, size=n)
        got, problem = _call(function, logits, labels, number=True)
        if problem and "not a finite number" in problem and scale > 100:
            return CheckResult(
                False,
                f"for scores about {scale:g} in size your function returns NaN or infinity: np.exp "
                "overflows above 709, and a probability that rounds to 0 has no logarithm. Work with "
                "log-probabilities: subtract each row's largest score m, then log p = s - m - "
                "log(sum(exp(s - m)))",
            )
        if problem:
            return CheckResult(False, problem)
        expected = F.cross_entropy(torch.from_numpy(logits), torch.from_numpy(labels)).item()
        if np.isclose(got, expected, rtol=1e-6):
            continue
        summed = expected * n
        if np.isclose(got, summed, rtol=1e-6):
            return CheckResult(False, "that is the sum over the pictures; take the mean")
        probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        if np.isclose(got, -probabilities[np.arange(n), labels].mean(), rtol=1e-6):
            return CheckResult(False, "take the logarithm of each right-class probability before averaging")
        return CheckResult(
            False,
            f"for {n} pictures of {k} classes (scores about {scale:g} in size) you return {_show(got)}, "
            f"expected {expected:.6g}",
        )
    return CheckResult(True, "your cross-entropy matches PyTorch's, also for scores large enough to overflow exp().")
