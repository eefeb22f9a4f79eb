"""Chapter 12's exercises: class-weighted cross-entropy by hand, and an ablation of Chapter 11's
recipe to predict before reading its measurement.

Example:
    A wrong answer, and what the check says:

    >>> import torch.nn.functional as F
    >>> check_weighted_cross_entropy(lambda logits, target, w: F.cross_entropy(logits, target))
    Not yet: you give 2.92799, expected 3.1514: that is the unweighted cross-
        entropy: multiply each pixel's loss by its class's weight
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from unetlib.exercises._common import CheckResult, _call, _show

__all__ = ["check_ablation_guess", "check_weighted_cross_entropy"]


def check_weighted_cross_entropy(function: Callable) -> CheckResult:
    """Check a reader's ``function(logits, target, class_weights)``: class-weighted
    cross-entropy of ``(N, K, H, W)`` logits against ``(N, H, W)`` class indices, as
    ``torch.nn.functional.cross_entropy(logits, target, weight=class_weights)`` computes it:
    each pixel's ``-log softmax`` of its true class, times its class's weight, summed, over the
    sum of the weights of the pixels' classes."""
    import torch
    import torch.nn.functional as F

    generator = torch.Generator().manual_seed(10)
    cases = [
        (torch.randn(2, 4, 3, 5, generator=generator) * 3, torch.randint(0, 4, (2, 3, 5), generator=generator))
        for _ in range(2)
    ]
    weights = torch.tensor([1.0, 0.3, 1.7, 2.5])
    for logits, target in cases:
        got, problem = _call(function, logits.clone(), target.clone(), weights.clone(), number=True)
        if problem:
            return CheckResult(False, problem)
        expected = F.cross_entropy(logits, target, weight=weights).item()
        if np.isclose(got, expected, rtol=1e-4):
            continue
        per_pixel = F.cross_entropy(logits, target, reduction="none")
        pixel_weights = weights[target]
        probabilities = logits.softmax(1).gather(1, target[:, None])[:, 0]
        if np.isclose(got, (pixel_weights * per_pixel).mean().item(), rtol=1e-4):
            hint = (
                "you divide by the number of pixels: PyTorch divides by the sum of the pixels' "
                "class weights, so that the loss stays on the scale of an unweighted one"
            )
        elif np.isclose(got, per_pixel.mean().item(), rtol=1e-4):
            hint = "that is the unweighted cross-entropy: multiply each pixel's loss by its class's weight"
        elif np.isclose(got, -(pixel_weights * probabilities).sum().item() / pixel_weights.sum().item(), rtol=1e-4):
            hint = "use the log of the softmax probability (log_softmax), not the probability itself"
        elif np.isclose(
            got,
            (weights[logits.argmax(1)] * per_pixel).sum().item() / weights[logits.argmax(1)].sum().item(),
            rtol=1e-4,
        ):
            hint = "weight each pixel by its TRUE class (the target), not the predicted one"
        else:
            hint = "-log_softmax(logits)[true class] times class_weights[true class], summed, over the weights' sum"
        return CheckResult(False, f"you give {_show(got)}, expected {expected:.4f}: {hint}")
    return CheckResult(True, "your weighted cross-entropy matches F.cross_entropy(weight=...).")


def check_ablation_guess(guess: str) -> CheckResult:
    """Check a reader's prediction of Chapter 11's ablation against its measurement.

    The recipe has two parts, flips and the Dice loss. ``guess`` names the one whose removal
    costs more validation-tile mean IoU: ``"flips"`` (train without them) or ``"dice"`` (plain
    cross-entropy instead). The answer comes from the results file that
    ``benchmarks/aerial_recipes.py`` wrote (3 seeds each); a difference smaller than the seeds'
    spread (standard deviation, ``ddof=1``) is called a tie, and then either guess passes.
    """
    from unetlib.experiments import filed_scores, load_results

    if not isinstance(guess, str) or guess.strip().lower() not in ("flips", "dice"):
        return CheckResult(False, f'answer "flips" or "dice" (a string), not {guess!r}')
    filed = load_results("chapter11_aerial")
    recipe, no_flips, no_dice = (filed_scores(filed, name) for name in ("dice", "no-flips", "augment"))
    costs = {"flips": recipe.mean() - no_flips.mean(), "dice": recipe.mean() - no_dice.mean()}
    spread = max(recipe.std(ddof=1), no_flips.std(ddof=1), no_dice.std(ddof=1))
    measured = (
        f"without flips the mean IoU falls by {costs['flips']:.3f}, with cross-entropy instead of Dice "
        f"by {costs['dice']:.3f} (3 seeds each; the seeds' spread is up to {spread:.3f})"
    )
    larger = max(costs, key=costs.get)
    if abs(costs["flips"] - costs["dice"]) <= spread:
        return CheckResult(True, f"a tie within the seeds' spread, so either guess stands: {measured}.")
    if guess.strip().lower() == larger:
        return CheckResult(True, f"{measured}.")
    return CheckResult(False, f"the measurement says {larger!r}: {measured}.")
