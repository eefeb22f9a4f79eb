"""Chapter 8's exercises: Dice, the paper's border weight, a broken training step to mend, a
Dataset, and matching predicted objects to true ones by IoU.

Example:
    A wrong answer (the gradients are never zeroed), and what the check says:

    >>> def step(model, optimiser, loss_function, images, targets):
    ...     loss = loss_function(model(images), targets)
    ...     loss.backward()
    ...     optimiser.step()
    ...     return loss.item()
    >>> check_train_step(step)
    Not yet: after step 2 your weights differ from the written-out step's: the
        gradients add up from step to step: zero them (optimiser.zero_grad())
        before backward
"""

from __future__ import annotations

import itertools
from typing import Callable

import numpy as np

from unetlib.exercises._common import CheckResult, _call, _show

__all__ = ["check_border_weight", "check_dataset", "check_dice", "check_object_matching", "check_train_step"]


def check_dice(function: Callable[[np.ndarray, np.ndarray], float]) -> CheckResult:
    """Check a reader's ``function(prediction, truth)`` on boolean masks: ``2|P∩T| / (|P|+|T|)``,
    and 1 when both masks are empty (the convention of :func:`unetlib.metrics.dice`)."""
    rng = np.random.default_rng(9)
    cases = [(rng.random((8, 9)) < 0.3, rng.random((8, 9)) < 0.4) for _ in range(3)]
    cases += [(np.zeros((4, 4), bool), np.zeros((4, 4), bool)), (np.ones((3, 3), bool), np.zeros((3, 3), bool))]
    for prediction, truth in cases:
        got, problem = _call(function, prediction.copy(), truth.copy(), number=True)
        if problem:
            return CheckResult(False, problem)
        total = prediction.sum() + truth.sum()
        expected = 1.0 if total == 0 else 2 * (prediction & truth).sum() / total
        if got.shape == () and np.isclose(got, expected):
            continue
        if total == 0:
            return CheckResult(
                False,
                f"for two empty masks you give {_show(got)}: by convention it is 1 "
                "(nothing to find, nothing found); guard the division",
            )
        union = (prediction | truth).sum()
        if union and np.isclose(got, (prediction & truth).sum() / union):
            return CheckResult(False, "that is IoU (intersection over union); Dice is 2|P∩T| / (|P| + |T|)")
        return CheckResult(False, f"you give {_show(got)}, Dice is {expected:.4f}")
    return CheckResult(True, "your Dice agrees in every case, empty masks included.")


def check_border_weight(function: Callable[[float, float, float, float], float]) -> CheckResult:
    """Check a reader's ``function(d1, d2, w0, sigma)``: the paper's border term
    ``w0 * exp(-(d1 + d2)^2 / (2 sigma^2))``."""
    for d1, d2, w0, sigma in itertools.product((0.0, 1.0, 2.5), (1.0, 4.0), (10.0, 5.0), (5.0, 3.0)):
        got, problem = _call(function, d1, d2, w0, sigma, number=True)
        if problem:
            return CheckResult(False, problem)
        expected = w0 * np.exp(-((d1 + d2) ** 2) / (2 * sigma**2))
        if got.shape == () and np.isclose(got, expected):
            continue
        if np.isclose(got, w0 * np.exp(-(d1**2 + d2**2) / (2 * sigma**2))):
            hint = "square the sum (d1 + d2)^2, not each distance"
        elif np.isclose(got, w0 * np.exp(-((d1 + d2) ** 2) / sigma**2)):
            hint = "the denominator is 2 sigma^2"
        else:
            hint = "w0 * exp(-(d1 + d2)^2 / (2 sigma^2))"
        return CheckResult(
            False,
            f"for d1={d1}, d2={d2}, w0={w0}, sigma={sigma} you give {_show(got)}, expected {expected:.4f}: {hint}",
        )
    return CheckResult(True, "your border term matches the paper's formula.")


def check_train_step(function: Callable) -> CheckResult:
    """Check a reader's ``function(model, optimiser, loss_function, images, targets)``: one training
    step that returns the batch's loss. Three steps on a small network are compared, weight for
    weight, with three steps written out here: zero the gradients, forward, loss, backward, step.

    A step that forgets to zero the gradients matches the first step and not the second (they add
    up); one that never calls ``optimiser.step()`` leaves the weights where they were."""
    import copy

    import torch
    import torch.nn.functional as F

    generator = torch.Generator().manual_seed(7)
    images = torch.rand(4, 1, 8, 8, generator=generator)
    targets = (torch.rand(4, 8, 8, generator=generator) > 0.5).long()
    torch.manual_seed(7)
    theirs = torch.nn.Conv2d(1, 2, 3, padding=1)
    ours, start = copy.deepcopy(theirs), copy.deepcopy(theirs)
    their_optimiser = torch.optim.SGD(theirs.parameters(), lr=0.5)
    our_optimiser = torch.optim.SGD(ours.parameters(), lr=0.5)
    for step in (1, 2, 3):
        got, problem = _call(function, theirs, their_optimiser, F.cross_entropy, images, targets, number=True)
        if problem:
            return CheckResult(False, problem)
        our_optimiser.zero_grad()
        loss = F.cross_entropy(ours(images), targets)
        loss.backward()
        our_optimiser.step()
        if all(torch.equal(a, b) for a, b in zip(theirs.parameters(), start.parameters())):
            return CheckResult(False, "the weights did not move: call optimiser.step() after loss.backward()")
        if not all(torch.allclose(a, b, atol=1e-6) for a, b in zip(theirs.parameters(), ours.parameters())):
            hint = (
                "the gradients add up from step to step: zero them (optimiser.zero_grad()) before backward"
                if step > 1
                else "the weights moved differently from zero_grad, forward, loss, backward, step"
            )
            return CheckResult(False, f"after step {step} your weights differ from the written-out step's: {hint}")
        if not np.isclose(got, loss.item(), atol=1e-6):
            return CheckResult(
                False, f"step {step} returned {_show(got)}, the loss was {loss.item():.4f}: return the loss"
            )
    return CheckResult(True, "three steps, weight for weight as written out, and the losses returned.")


def _dataset_item_problem(index: int, item, image: np.ndarray, mask: np.ndarray) -> str | None:
    """What is wrong with a dataset's item ``index`` (pair of ``image`` and ``mask``), or None."""
    import torch

    if not (isinstance(item, tuple) and len(item) == 2):
        return f"item {index} is {type(item).__name__}: return a pair (image, mask)"
    got_image, got_mask = item
    if not (isinstance(got_image, torch.Tensor) and isinstance(got_mask, torch.Tensor)):
        return (
            f"item {index} holds {type(got_image).__name__} and {type(got_mask).__name__}: return tensors "
            "(torch.from_numpy), which a DataLoader stacks into batches"
        )
    channels_first = image[None] if image.ndim == 2 else image
    if got_image.dtype != torch.float32 or tuple(got_image.shape) != channels_first.shape:
        kind = (
            "a grey (H, W) image needs a channel axis, (1, H, W)" if image.ndim == 2 else "a colour image is (C, H, W)"
        )
        return (
            f"the image of item {index} ({'grey' if image.ndim == 2 else 'colour'}, given as {image.shape}) is "
            f"{got_image.dtype} of shape {tuple(got_image.shape)}: a network takes float32 with a channel axis; {kind}, "
            f"here {channels_first.shape}: add the axis only where it is missing (image.ndim == 2)"
        )
    if got_mask.dtype != torch.int64 or tuple(got_mask.shape) != mask.shape:
        return (
            f"the mask of item {index} is {got_mask.dtype} of shape {tuple(got_mask.shape)}: cross-entropy takes "
            f"int64 class indices without a channel axis, (H, W) = {mask.shape}"
        )
    if not (np.allclose(got_image.numpy(), channels_first, atol=1e-6) and np.array_equal(got_mask.numpy(), mask)):
        return f"item {index} is not image {index} and mask {index}: keep them paired, in order"
    return None


def check_dataset(dataset_class: type) -> CheckResult:
    """Check a reader's ``dataset_class(images, masks)``: a :class:`torch.utils.data.Dataset` over
    lists of float images, grey ``(H, W)`` or colour ``(C, H, W)``, and ``(H, W)`` integer masks,
    whose items are a float32 ``(C, H, W)`` image tensor (``C = 1`` for grey) and an int64
    ``(H, W)`` mask tensor, ready for a DataLoader. Tried on grey images of two sizes, then on
    colour ones."""
    import torch

    if not isinstance(dataset_class, type):
        return CheckResult(
            False, f"pass your class itself (check_dataset(MyPairs)), not {type(dataset_class).__name__}"
        )
    rng = np.random.default_rng(3)
    grey = [rng.random((12, 10)) for _ in range(3)] + [rng.random((9, 14)) for _ in range(2)]
    colour = [rng.random((3, 8, 11)) for _ in range(4)]
    for images in (grey, colour):
        masks = [(image.mean(0) if image.ndim == 3 else image) > 0.5 for image in images]
        masks = [mask.astype(np.int64) for mask in masks]
        try:
            dataset = dataset_class(images, masks)
            length = len(dataset)
            items = [dataset[i] for i in range(min(length, len(images)))]
        except Exception as error:  # the reader's code may raise anything; report it
            return CheckResult(False, f"your class raised {type(error).__name__}: {error}")
        if length != len(images):
            return CheckResult(
                False, f"len() of a dataset of {len(images)} pairs gives {length}: return the number of images"
            )
        for index, item in enumerate(items):
            problem = _dataset_item_problem(index, item, images[index], masks[index])
            if problem:
                return CheckResult(False, problem)
        batch = next(iter(torch.utils.data.DataLoader(dataset, batch_size=2)))
        expected = (2, *(images[0][None] if images[0].ndim == 2 else images[0]).shape)
        if tuple(batch[0].shape) != expected:
            return CheckResult(False, f"a DataLoader batch of 2 has images of shape {tuple(batch[0].shape)}")
    return CheckResult(
        True,
        "your dataset serves paired tensors, grey and colour, that a DataLoader batches as (N, C, H, W) and (N, H, W).",
    )


def _matching_cases() -> list[tuple[np.ndarray, np.ndarray]]:
    """Instance label pairs (predicted, true), each with one of the traps of matching in it."""
    truth = np.zeros((10, 12), np.int64)
    truth[1:4, 1:4] = 1  # 9 px
    truth[1:4, 6:10] = 2  # 12 px
    truth[6:9, 1:5] = 3  # 12 px
    truth[6:9, 8:12] = 4  # 12 px
    predicted = np.zeros_like(truth)
    predicted[1:4, 1:4] = 5  # exactly object 1: IoU 1 (labels need not agree)
    predicted[1:4, 6:9] = 7  # most of object 2: IoU 9/12
    predicted[6:9, 2:6] = 2  # overlaps object 3: IoU 9/15
    predicted[8:10, 10:12] = 8  # grazes object 4: IoU 2/14, no match
    # Two predicted halves of one true object: each has an IoU of exactly 0.5; neither matches.
    halves_truth = np.ones((4, 8), np.int64)
    halves = np.ones_like(halves_truth)
    halves[:, 4:] = 2
    # Nothing predicted: no match, though the two backgrounds overlap by more than half.
    small_truth = np.zeros((3, 3), np.int64)
    small_truth[1:, 1:] = 1
    return [(predicted, truth), (halves, halves_truth), (np.zeros_like(small_truth), small_truth)]


def _matches(predicted: np.ndarray, truth: np.ndarray, background: bool = False, rule=lambda iou: iou > 0.5) -> int:
    """Pairs of objects whose IoU passes ``rule``, counted pair by pair over pixel sets."""
    count = 0
    for p in np.unique(predicted if background else predicted[predicted > 0]):
        for t in np.unique(truth if background else truth[truth > 0]):
            a, b = predicted == p, truth == t
            count += bool(rule((a & b).sum() / (a | b).sum()))
    return count


# Typical wrong answers, each as the count it would give, with what to say.
_MATCHING_MISTAKES = [
    (lambda p, t: _matches(p, t, background=True), "label 0 is the background, not an object: leave it out"),
    (
        lambda p, t: _matches(p, t, rule=lambda iou: iou >= 0.5),
        "an IoU of exactly 0.5 is not a match: the rule is IoU above 0.5 (> 0.5)",
    ),
    (
        lambda p, t: _matches(p, t, rule=lambda iou: iou > 0),
        "overlapping is not enough: the IoU of the two objects' pixels must exceed 0.5",
    ),
]


def check_object_matching(function: Callable[[np.ndarray, np.ndarray], int]) -> CheckResult:
    """Check a reader's ``function(predicted, truth)`` on instance label images (0 background):
    the number of predicted objects that match a true object with IoU above 0.5 (each object
    in at most one match), as :func:`unetlib.metrics.object_f1` counts them. The reference
    counts pixel sets pair by pair."""
    cases = _matching_cases()
    answers = []
    for predicted, truth in cases:
        got, problem = _call(function, predicted.copy(), truth.copy(), number=True)
        if problem:
            return CheckResult(False, problem)
        answers.append(float(got))
    expected = [_matches(p, t) for p, t in cases]
    if answers == expected:
        return CheckResult(True, "your matching counts every case right, the IoU of exactly 0.5 included.")
    wrong = next(k for k in range(len(cases)) if answers[k] != expected[k])
    message = f"in case {wrong + 1} you count {answers[wrong]:g} matches, there are {expected[wrong]}"
    for mistake, hint in _MATCHING_MISTAKES:
        if answers == [mistake(p, t) for p, t in cases]:
            return CheckResult(False, f"{message}: {hint}")
    return CheckResult(False, f"{message}: compare objects by their pixel sets, whatever their label numbers")
