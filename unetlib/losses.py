"""Losses for segmentation: the paper's border weight map, weighted cross-entropy, Dice.

The paper's weight map makes the network pay most for the thin background gaps between
touching cells, which are few pixels and easy to miss:

    w(x) = w_c(x) + w0 * exp(-(d1(x) + d2(x))^2 / (2 sigma^2))

where ``w_c`` balances the class frequencies and ``d1``, ``d2`` are the distances to the border
of the nearest and the second-nearest cell (w0 = 10, sigma = 5 pixels in the paper). The border
term applies to background pixels, the gaps the weight map is for.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from scipy.ndimage import distance_transform_edt, find_objects
from skimage.segmentation import relabel_sequential

from unetlib._checks import boolean, integer, label_image, number, real_array

__all__ = ["LOSSES", "SegmentationLoss", "combined_loss", "dice_loss", "weight_map", "weighted_cross_entropy"]

#: The losses :class:`SegmentationLoss` (and so ``fit`` and the command) know by name.
LOSSES = ("cross-entropy", "dice", "cross-entropy+dice")


def weight_map(instances: np.ndarray, w0: float = 10.0, sigma: float = 5.0, balance: bool = True) -> np.ndarray:
    """The paper's weight map from an instance label image (0 = background, 1.. = cells).

    Args:
        instances: ``(H, W)`` integer labels, one per cell.
        w0: weight of the border term (10 in the paper).
        sigma: its width in pixels (5 in the paper).
        balance: add ``w_c``, inverse class frequency normalised to a mean of 1 over the image;
            if False, ``w_c = 1`` everywhere.

    Returns:
        ``(H, W)`` float32 weights.

    Example:
        A 2-pixel gap between two cells: each gap pixel is 1 pixel from one cell and 2 from
        the other, so its weight is 1 + 10 exp(-(1 + 2)^2 / 50) = 9.35.

        >>> cells = np.zeros((1, 9), int); cells[0, :3], cells[0, 5:] = 1, 2
        >>> [round(float(w), 2) for w in weight_map(cells, balance=False)[0]]
        [1.0, 1.0, 1.0, 9.35, 9.35, 1.0, 1.0, 1.0, 1.0]
    """
    instances = label_image(instances, "instances")
    sigma, w0 = number(sigma, "sigma", above=0), number(w0, "w0", minimum=0)
    balance = boolean(balance, "balance")
    if int(instances.max()) > instances.size:
        # Labels such as 10**8: find_objects would list every number below the largest.
        instances = relabel_sequential(instances)[0]
    foreground = instances > 0
    if balance:
        weights = np.empty(instances.shape, dtype=np.float64)
        for value in (False, True):
            share = (foreground == value).mean()
            weights[foreground == value] = 1 / (2 * share) if share else 0
    else:
        weights = np.ones(instances.shape, dtype=np.float64)

    # d1, d2: the two smallest distances to any cell. Beyond `reach` the border term is
    # below 1e-6 of w0, so each cell's distances are computed only in a box around it.
    reach = int(np.ceil(sigma * np.sqrt(2 * np.log(1e6)))) + 1
    d1 = np.full(instances.shape, np.inf)
    d2 = np.full(instances.shape, np.inf)
    for label, box in enumerate(find_objects(instances), start=1):
        if box is None:
            continue
        rows = slice(max(box[0].start - reach, 0), box[0].stop + reach)
        cols = slice(max(box[1].start - reach, 0), box[1].stop + reach)
        distance = distance_transform_edt(instances[rows, cols] != label)
        near, second = d1[rows, cols], d2[rows, cols]
        closer = distance < near
        second[:] = np.where(closer, near, np.minimum(second, distance))
        near[:] = np.where(closer, distance, near)
    border = w0 * np.exp(-((d1 + d2) ** 2) / (2 * sigma**2))
    weights += np.where(foreground, 0.0, border)
    return weights.astype(np.float32)


def _check_logits_and_target(
    logits: torch.Tensor, target: torch.Tensor, ignore_index: int | None = None
) -> torch.Tensor:
    """Refuse what PyTorch would broadcast, misread or silently ignore; return the target as int64.

    Pixels whose target is ``ignore_index`` may hold that value, outside ``0..K-1``.
    """
    if not isinstance(logits, torch.Tensor) or not logits.is_floating_point():
        raise TypeError(
            f"logits must be a float tensor (N, K, H, W), got {type(logits).__name__}"
            f"{'' if not isinstance(logits, torch.Tensor) else ' of dtype ' + str(logits.dtype)}"
        )
    if logits.ndim != 4:
        raise ValueError(
            f"logits must be (N, K, H, W), got shape {tuple(logits.shape)}; add the batch axis "
            "with logits[None] for one image"
        )
    if (
        not isinstance(target, torch.Tensor)
        or target.is_floating_point()
        or target.is_complex()
        or target.dtype == torch.bool
    ):
        raise TypeError(
            f"target must be an integer tensor of class indices (N, H, W), got "
            f"{type(target).__name__}{' of dtype ' + str(target.dtype) if isinstance(target, torch.Tensor) else ''}"
        )
    expected = (logits.shape[0], *logits.shape[2:])
    if tuple(target.shape) != expected:
        raise ValueError(f"target must have shape {expected} (N, H, W of the logits), got {tuple(target.shape)}")
    classes = logits.shape[1]
    counted = target if ignore_index is None else target[target != ignore_index]
    if counted.numel() and (int(counted.min()) < 0 or int(counted.max()) >= classes):
        ignored = "" if ignore_index is None else f" (ignore_index={ignore_index} aside)"
        raise ValueError(
            f"target holds values {int(counted.min())}..{int(counted.max())}{ignored}, but the logits have "
            f"{classes} classes: class indices must be in 0..{classes - 1} (a 0/255 mask? decode it "
            "with encoding='binary'; an 'unlabelled' value? pass it as ignore_index)"
        )
    return target.long()


def _kept_pixels(logits: torch.Tensor, target, ignore_index) -> tuple[torch.Tensor, torch.Tensor]:
    """The checked target with ignored pixels given class 0, and a 0/1 mask of the pixels kept.

    Every loss multiplies by the mask, so the stand-in class 0 of an ignored pixel never counts.
    """
    if ignore_index is not None:
        ignore_index = integer(ignore_index, "ignore_index")
    target = _check_logits_and_target(logits, target, ignore_index)
    if ignore_index is None:
        return target, torch.ones_like(target, dtype=logits.dtype)
    ignored = target == ignore_index
    return torch.where(ignored, 0, target), (~ignored).to(logits.dtype)


def _check_class_weights(class_weights, classes: int, logits: torch.Tensor) -> torch.Tensor:
    weights = real_array(class_weights, "class_weights", ndim=1, finite=True, shape_hint=f" ({classes} numbers)")
    if len(weights) != classes or (weights < 0).any() or not (weights > 0).any():
        raise ValueError(
            f"class_weights must be {classes} numbers >= 0, one per class of the logits, not all 0; got "
            f"{weights.tolist()} (e.g. unetlib.experiments.median_frequency_weights of the pixel counts)"
        )
    return torch.as_tensor(weights, device=logits.device, dtype=logits.dtype)


def weighted_cross_entropy(
    logits: torch.Tensor,
    target: torch.Tensor,
    weights: torch.Tensor | None = None,
    class_weights=None,
    ignore_index: int | None = None,
) -> torch.Tensor:
    """Cross-entropy per pixel, times ``weights`` (e.g. :func:`weight_map`), averaged.

    Shapes: logits ``(N, K, H, W)``, target ``(N, H, W)`` class indices, weights ``(N, H, W)``.

    Args:
        logits, target, weights: as above; ``weights`` is a weight per pixel.
        class_weights: optional ``K`` weights, one per class (rare classes weighted up). The
            mean is then weighted too, as in ``F.cross_entropy(weight=...)``: the sum of
            ``class_weights[target] * loss`` over the sum of ``class_weights[target]``.
        ignore_index: a target value whose pixels count for nothing (an "unlabelled" class),
            as in ``F.cross_entropy(ignore_index=...)``; it may lie outside ``0..K-1``.

    Example:
        With equal logits for 2 classes every pixel's cross-entropy is ln 2; weights of 2 double it.

        >>> import math
        >>> logits, target = torch.zeros(1, 2, 3, 3), torch.zeros(1, 3, 3, dtype=torch.long)
        >>> round(weighted_cross_entropy(logits, target).item(), 4), round(math.log(2), 4)
        (0.6931, 0.6931)
        >>> round(weighted_cross_entropy(logits, target, torch.full((1, 3, 3), 2.0)).item(), 4)
        1.3863
    """
    return _cross_entropy_from_sums(_cross_entropy_sums(logits, target, weights, class_weights, ignore_index))


def _cross_entropy_sums(logits, target, weights, class_weights, ignore_index) -> torch.Tensor:
    """``[sum of share * weight * loss, sum of share]`` over the batch's pixels.

    The weighted mean is their ratio. Kept apart, sums from several batches (or from every rank
    of a data-parallel run) add up to the sums of the batch they make together.
    """
    safe_target, kept = _kept_pixels(logits, target, ignore_index)
    per_pixel = F.cross_entropy(logits, safe_target, reduction="none")
    if weights is not None and weights.shape != per_pixel.shape:
        raise ValueError(
            f"weights must have shape {tuple(per_pixel.shape)} like the target, got {tuple(weights.shape)}"
        )
    # Each pixel's share of the mean: 1, or its class's weight; 0 where ignored.
    share = kept
    if class_weights is not None:
        share = share * _check_class_weights(class_weights, logits.shape[1], logits)[safe_target]
    loss = per_pixel * share if weights is None else per_pixel * share * weights
    return torch.stack([loss.sum(), share.sum()])


def _cross_entropy_from_sums(sums: torch.Tensor) -> torch.Tensor:
    loss, total = sums[0], sums[1]
    # Every pixel ignored: no loss, rather than 0 / 0.
    return loss / total if total > 0 else loss


def dice_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    smooth: float = 1.0,
    background: int | None = 0,
    ignore_index: int | None = None,
) -> torch.Tensor:
    """1 - soft Dice of the softmax probabilities, averaged over the classes except ``background``.

    Soft: the probabilities themselves are used, so the loss has a gradient everywhere. ``smooth``
    keeps it defined (and 0) when a class is absent from both prediction and target.

    Shapes: logits ``(N, K, H, W)``, target ``(N, H, W)`` class indices; returns a scalar.

    Args:
        logits, target: as above.
        smooth: added to the Dice's numerator and denominator.
        background: the class left out of the mean (0: the binary chapters' background), or
            None to average over every class (land-cover classes are all of interest).
        ignore_index: a target value whose pixels count for nothing, in prediction and target.

    Example:
        Confident and right gives almost 0; confident and wrong almost 1.

        >>> target = torch.tensor([[[0, 1], [1, 0]]])
        >>> right = 20.0 * F.one_hot(target, 2).permute(0, 3, 1, 2).float()
        >>> round(dice_loss(right, target).item(), 3), round(dice_loss(right, 1 - target).item(), 3)
        (0.0, 0.8)

        (Wrong: class 1's soft Dice is (2 * 0 + 1) / (4 + 1) = 0.2, with ``smooth`` = 1.)
    """
    sums = _dice_sums(logits, target, ignore_index)
    smooth = number(smooth, "smooth", minimum=0, hint=" (added to the Dice's numerator and denominator)")
    return _dice_from_sums(sums, smooth, _check_background(background, logits))


def _check_background(background, logits: torch.Tensor) -> int | None:
    """``background`` checked against the (already checked) logits' class count."""
    if background is None:
        return None
    classes = logits.shape[1]
    background = integer(background, "background", minimum=0, maximum=classes - 1, hint=" (or None)")
    if classes < 2:
        raise ValueError(f"logits need at least 2 classes (background and one more), got shape {tuple(logits.shape)}")
    return background


def _dice_sums(logits, target, ignore_index) -> torch.Tensor:
    """``(2, K)``: each class's intersection, and its probabilities plus its target pixels,
    summed over the batch (the sums that add up across batches and ranks)."""
    target, kept = _kept_pixels(logits, target, ignore_index)
    probabilities = logits.softmax(dim=1)
    # Ignored pixels vanish from both sides: their probabilities and their one-hot targets.
    probabilities = probabilities * kept[:, None]
    one_hot = F.one_hot(target, logits.shape[1]).permute(0, 3, 1, 2).to(probabilities.dtype) * kept[:, None]
    dims = (0, 2, 3)
    intersection = (probabilities * one_hot).sum(dims)
    total = probabilities.sum(dims) + one_hot.sum(dims)
    return torch.stack([intersection, total])


def _dice_from_sums(sums: torch.Tensor, smooth: float, background: int | None) -> torch.Tensor:
    intersection, total = sums[0], sums[1]
    per_class = (2 * intersection + smooth) / (total + smooth)
    scored = [k for k in range(len(per_class)) if k != background]
    return 1 - per_class[scored].mean()


def combined_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    weights: torch.Tensor | None = None,
    dice_weight: float = 1.0,
    class_weights=None,
    ignore_index: int | None = None,
    background: int | None = 0,
) -> torch.Tensor:
    """Weighted cross-entropy plus ``dice_weight`` times the Dice loss (arguments as for both).

    Example:
        >>> logits, target = torch.zeros(1, 2, 2, 2), torch.tensor([[[0, 1], [1, 0]]])
        >>> combined_loss(logits, target).item() == (weighted_cross_entropy(logits, target)
        ...                                           + dice_loss(logits, target)).item()
        True
    """
    dice_weight = number(dice_weight, "dice_weight", minimum=0)
    cross_entropy = weighted_cross_entropy(logits, target, weights, class_weights, ignore_index)
    return cross_entropy + dice_weight * dice_loss(logits, target, background=background, ignore_index=ignore_index)


class SegmentationLoss:
    """A loss of this module configured once, then called as ``loss(logits, target, weights=None)``.

    As in MONAI and segmentation_models_pytorch, the settings (class weights, ignore index, the
    Dice's background) are given when the loss is made; every call passes only the data, so
    :func:`~unetlib.train.fit` calls every loss the same way.

    Args:
        name: ``"cross-entropy"`` (:func:`weighted_cross_entropy`), ``"dice"`` (:func:`dice_loss`)
            or ``"cross-entropy+dice"`` (:func:`combined_loss`, their sum).
        class_weights: ``K`` weights for the cross-entropy (not with ``"dice"``).
        ignore_index: a target value whose pixels count for nothing.
        background: the class the Dice loss leaves out of its mean (None: every class).
        smooth: the Dice's smoothing term.

    Example:
        >>> loss = SegmentationLoss("dice", ignore_index=255)
        >>> logits, target = torch.zeros(1, 2, 2, 2), torch.tensor([[[0, 1], [255, 0]]])
        >>> loss(logits, target).item() == dice_loss(logits, target, background=None, ignore_index=255).item()
        True
    """

    def __init__(
        self,
        name: str = "cross-entropy",
        class_weights=None,
        ignore_index: int | None = None,
        background: int | None = None,
        smooth: float = 1.0,
    ):
        if name not in LOSSES:
            raise ValueError(f"name must be one of {list(LOSSES)}, got {name!r}")
        if class_weights is not None and name == "dice":
            raise ValueError("class_weights weight the cross-entropy: the 'dice' loss has none")
        self.name, self.class_weights = name, class_weights
        self.ignore_index = None if ignore_index is None else integer(ignore_index, "ignore_index")
        self.background = None if background is None else integer(background, "background", minimum=0)
        self.smooth = number(smooth, "smooth", minimum=0)

    def __call__(self, logits: torch.Tensor, target: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
        return self.from_sums(self.sums(logits, target, weights))

    def sums(self, logits: torch.Tensor, target: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
        """The sums over the batch's pixels that the loss is a function of (a 1-D tensor).

        Every loss here is a ratio of sums (a weighted mean; a Dice score per class), so the loss
        of two batches together is :meth:`from_sums` of their sums added up. That is how ``fit``
        makes N processes with ``b`` images each compute the loss of all ``N * b``: it adds the
        ranks' sums (an all-reduce that carries gradients), then divides.

        Example:
            >>> loss = SegmentationLoss("dice")
            >>> logits, target = torch.randn(4, 2, 3, 3), torch.randint(0, 2, (4, 3, 3))
            >>> halves = loss.sums(logits[:2], target[:2]) + loss.sums(logits[2:], target[2:])
            >>> torch.allclose(loss.from_sums(halves), loss(logits, target))
            True
        """
        parts = []
        if self.name != "dice":
            parts.append(_cross_entropy_sums(logits, target, weights, self.class_weights, self.ignore_index))
        elif weights is not None:
            raise ValueError(
                "the Dice loss takes no per-pixel weights, and this batch has them (a weight map): "
                "use 'cross-entropy' or 'cross-entropy+dice', or a dataset without weight maps"
            )
        if self.name != "cross-entropy":
            parts.append(_dice_sums(logits, target, self.ignore_index).flatten())
            _check_background(self.background, logits)
        return torch.cat(parts)

    def from_sums(self, sums: torch.Tensor) -> torch.Tensor:
        """The loss from :meth:`sums` (of one batch, or added up over several)."""
        cross_entropy = 0.0
        if self.name != "dice":
            cross_entropy, sums = _cross_entropy_from_sums(sums[:2]), sums[2:]
        if self.name == "cross-entropy":
            return cross_entropy
        return cross_entropy + _dice_from_sums(sums.reshape(2, -1), self.smooth, self.background)

    def __repr__(self) -> str:
        settings = {
            "class_weights": self.class_weights,
            "ignore_index": self.ignore_index,
            "background": self.background,
        }
        shown = "".join(f", {k}={v!r}" for k, v in settings.items() if v is not None)
        return f"SegmentationLoss({self.name!r}{shown})"
