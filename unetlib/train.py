"""Training a segmentation network: the loop and its history, under one process or many.

:func:`fit` is the loop every chapter would otherwise write by hand (zero_grad, loss, backward,
step), with what makes runs trustworthy: a progress bar, a history of losses and validation
scores, the device chosen for you, mixed precision on CUDA, seeds so that a CPU run is
reproducible bit for bit, and a clear stop (not a NaN model) when the loss blows up. Its
settings are one :class:`~unetlib.config.TrainConfig`, checked once; checkpoints are
:mod:`unetlib.checkpoints`' and prediction :mod:`unetlib.prediction`'s.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from unetlib._checks import choice, describe, integer, model_device, number
from unetlib.checkpoints import load_checkpoint, save_checkpoint
from unetlib.config import SCHEDULES, TrainConfig, choose_device
from unetlib.distributed import GlobalBatches, Ranks, all_sum, all_sum_with_gradient, join
from unetlib.losses import SegmentationLoss
from unetlib.metrics import confusion_matrix, iou_from_confusion, mean_over_classes

__all__ = ["evaluate", "fit", "learning_rate"]


def learning_rate(step: int, total_steps: int, lr: float, schedule: str = "constant", warmup: float = 0.1) -> float:
    """The learning rate of optimiser step ``step`` (0-based) out of ``total_steps``.

    ``"constant"`` is ``lr`` throughout. ``"warmup-cosine"`` rises linearly from ``lr / 10`` to
    ``lr`` over the first ``warmup`` share of the steps (large early steps on random weights
    are what makes Adam unstable), then falls along half a cosine to almost 0 at the end, so the
    last steps refine instead of jumping around a minimum. Short runs reach in a few hundred
    steps what a constant rate needs many more for. The rate is a function of the step alone,
    so a resumed run continues the same curve.

    Example:
        >>> [round(learning_rate(s, 10, 1.0, "warmup-cosine", warmup=0.2), 3) for s in range(10)]
        [0.1, 0.55, 1.0, 0.962, 0.854, 0.691, 0.5, 0.309, 0.146, 0.038]
    """
    step, total_steps = integer(step, "step", minimum=0), integer(total_steps, "total_steps", minimum=1)
    lr = number(lr, "lr", above=0)
    choice(schedule, "schedule", SCHEDULES)
    warmup = number(warmup, "warmup", minimum=0, below=1, hint=" (the share of steps spent warming up)")
    if schedule == "constant":
        return lr
    warmup_steps = round(warmup * total_steps)
    if step < warmup_steps:
        return lr * (0.1 + 0.9 * step / warmup_steps)
    progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
    return lr * 0.5 * (1 + math.cos(math.pi * progress))


def fit(
    model: nn.Module,
    train: torch.utils.data.Dataset,
    val: torch.utils.data.Dataset | None = None,
    config: TrainConfig | None = None,
    checkpoint: str | Path | None = None,
    resume: str | Path | None = None,
    on_epoch_end: Callable[[int, dict], bool | None] | None = None,
    **settings,
) -> dict[str, list[float]]:
    """Train ``model`` with Adam and return the history of each epoch.

    The settings are a :class:`~unetlib.config.TrainConfig` (``config=``), or its field names
    as keywords, which change ``config`` (or the defaults): ``fit(model, data, epochs=5,
    loss="dice")``. Every setting is checked once, when the configuration is made.

    Started by ``torchrun --nproc_per_node=N``, the same call trains on N processes (one per GPU,
    or N CPU processes): ``fit`` joins the process group (NCCL on CUDA, gloo on the CPU), wraps
    the model in :class:`~torch.nn.parallel.DistributedDataParallel`, and gives each process its
    slice of every global batch of ``N * batch_size`` images (see :mod:`unetlib.distributed`).
    Only rank 0 shows progress, writes checkpoints and calls ``on_epoch_end``; every rank
    returns the same history. A group ``fit`` created is destroyed when it returns.

    Args:
        model: a network producing logits ``(N, K, h, w)``; with valid padding (``h, w`` smaller
            than the input) the targets are centre-cropped to match.
        train: a dataset of ``(image, mask)`` or ``(image, mask, weights)`` tensors.
        val: an optional dataset of the same kind, scored after every epoch (:func:`evaluate`).
        config: the training settings (default: ``TrainConfig()``).
        checkpoint: save a checkpoint here after every epoch (with the settings).
        resume: continue from this checkpoint (model, optimiser, epoch, history); a warning
            names every setting that differs from the saved ones (other than ``epochs``,
            ``time_limit``, ``device``, ``progress`` and ``compile``), e.g. a new ``lr``.
        on_epoch_end: called as ``on_epoch_end(epoch, history)`` after every epoch (and its
            checkpoint); returning True stops training there. Its time does not count towards
            ``time_limit``.
        **settings: fields of :class:`~unetlib.config.TrainConfig` that replace ``config``'s.

    The loss is ``config.loss``: a name (``"cross-entropy"``, ``"dice"``,
    ``"cross-entropy+dice"``, configured with ``class_weights``, ``ignore_index`` and
    ``dice_background``) or any function called as ``loss(logits, target)``, or
    ``loss(logits, target, weights)`` for a dataset that yields weight maps, such as every loss
    of :mod:`unetlib.losses`.

    Returns:
        ``{"epoch": [...], "steps": [...], "train_loss": [...], "val_loss": [...], ...}``: one entry
        per epoch (``steps``: the optimiser steps taken by its end);
        with ``val``, also every score of :func:`evaluate` prefixed ``val_`` (``val_dice`` for two
        classes, ``val_mean_iou`` and ``val_iou_<k>`` for every class, ...).

    Raises:
        FloatingPointError: if a loss is NaN or infinite, naming the epoch and the step.

    Example:
        Two epochs on one constant image; the history has one entry per epoch.

        >>> from unetlib.model import UNet
        >>> data = torch.utils.data.TensorDataset(torch.rand(2, 1, 16, 16), torch.zeros(2, 16, 16, dtype=torch.long))
        >>> model = UNet(1, 2, depth=2, base_channels=4, padding="same")
        >>> history = fit(model, data, epochs=2, device="cpu", progress=False)
        >>> history["epoch"], history["train_loss"][1] < history["train_loss"][0]
        ([1, 2], True)
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module (e.g. a unetlib UNet), got {describe(model)}")
    if config is not None and not isinstance(config, TrainConfig):
        raise TypeError(f"config must be a unetlib.config.TrainConfig, got {describe(config)}")
    config = (config or TrainConfig()).replace(**settings)
    if on_epoch_end is not None and not callable(on_epoch_end):
        raise TypeError(f"on_epoch_end must be a function on_epoch_end(epoch, history), got {describe(on_epoch_end)}")
    device = choose_device(config.device)
    if config.sync_batch_norm and device.type != "cuda":
        raise ValueError(
            f"sync_batch_norm=True needs CUDA GPUs (PyTorch's SyncBatchNorm has no CPU version), and this run "
            f"is on {device.type}: leave it False, and each process normalises with its own batch's statistics"
        )
    ranks = join(device)
    try:
        if ranks.distributed and device.type == "cuda":
            # One GPU per process; modulo the count for schedulers that show each process one GPU.
            device = torch.device("cuda", ranks.local_rank % torch.cuda.device_count())
            torch.cuda.set_device(device)
        _check_shares(len(train), config.batch_size, ranks)
        run = _Run.start(model, config, device, ranks, len(train))
        history = run.restore(resume)
        return run.train(train, val, history, checkpoint, on_epoch_end)
    finally:
        ranks.leave()


@dataclass
class _Run:
    """One training run's moving parts, made once by :meth:`start`: what :func:`fit` hands around."""

    model: nn.Module
    trained: nn.Module  # the module that takes the steps: the model, or DDP/compile around it
    config: TrainConfig
    device: torch.device
    ranks: Ranks
    loss: Callable
    optimiser: torch.optim.Optimizer
    scaler: torch.amp.GradScaler
    amp_dtype: torch.dtype | None
    steps_per_epoch: int
    start_epoch: int = 0
    clock: dict = field(default_factory=dict)

    @classmethod
    def start(cls, model: nn.Module, config: TrainConfig, device: torch.device, ranks: Ranks, size: int) -> _Run:
        model.to(device)
        if config.channels_last:
            model.to(memory_format=torch.channels_last)
        autocast = (device.type == "cuda") if config.amp is None else config.amp
        amp_dtype = _amp_dtype(device) if autocast else None
        trained = model
        if ranks.distributed:
            if config.sync_batch_norm:
                trained = nn.SyncBatchNorm.convert_sync_batchnorm(trained)
            trained = DistributedDataParallel(trained, device_ids=[device.index] if device.type == "cuda" else None)
        if config.compile:
            trained = torch.compile(trained)
        return cls(
            model=model,
            trained=trained,
            config=config,
            device=device,
            ranks=ranks,
            loss=config.make_loss(),
            optimiser=torch.optim.Adam(model.parameters(), lr=config.lr),
            scaler=torch.amp.GradScaler(device.type, enabled=amp_dtype == torch.float16),
            amp_dtype=amp_dtype,
            steps_per_epoch=math.ceil(size / (config.batch_size * ranks.world_size)),
        )

    def restore(self, resume: str | Path | None) -> dict[str, list[float]]:
        """The history so far: empty, or a checkpoint's (whose settings must match this run's)."""
        history: dict[str, list[float]] = {"epoch": [], "steps": [], "train_loss": [], "val_loss": []}
        if resume is None:
            return history
        state = load_checkpoint(resume, self.model, self.optimiser)
        differ = self.config.differences(state.get("train_config") or {})
        if differ:
            warnings.warn(
                f"resume: {resume} was trained with other settings, and training goes on with the new ones "
                f"(saved, now): {differ}",
                stacklevel=4,
            )
        self.start_epoch = int(state["epoch"])
        return history | state["history"]

    def train(self, train, val, history, checkpoint, on_epoch_end) -> dict[str, list[float]]:
        """Every epoch: train, check, score, save, and stop when told or out of time."""
        from tqdm.auto import tqdm

        config = self.config
        self.clock["started"] = time.perf_counter()
        bar = tqdm(
            total=config.epochs * self.steps_per_epoch,
            initial=self.start_epoch * self.steps_per_epoch,
            disable=config.progress is False or not self.ranks.is_main,
            desc="training",
            unit="step",
        )
        try:
            for epoch in range(self.start_epoch, config.epochs):
                losses, last_batch = self.train_epoch(train, epoch, bar)
                # The loss check sees each update's effect one step late, and never the last
                # one's: check the updated model itself before it is scored or saved. Without
                # SyncBatchNorm each rank updated its batch-norm statistics on its own images:
                # take rank 0's everywhere, so that every rank scores and saves the same model.
                self.ranks.broadcast_buffers(self.model)
                _check_finite_model(self.model, last_batch, self.device, config.channels_last, epoch, self.ranks)
                self.record(history, epoch, losses, val)
                if self.end_epoch(epoch, history, checkpoint, on_epoch_end) or self.out_of_time():
                    break
        finally:
            bar.close()
        return history

    def train_epoch(self, train, epoch: int, bar) -> tuple[list[float], tuple]:
        """One pass over ``train``, in an order and with augmentation drawn from (seed, epoch)."""
        config, ranks = self.config, self.ranks
        _seed_epoch(train, config.seed, epoch, ranks.rank)
        order = torch.Generator().manual_seed(config.seed * 100_003 + epoch)
        batches = GlobalBatches(len(train), config.batch_size, ranks.rank, ranks.world_size, order)
        # The loader draws its workers' seed from ``order`` too, not from the global generator that dropout uses.
        loader = torch.utils.data.DataLoader(train, batch_sampler=batches, generator=order)
        self.trained.train()
        losses = []
        for step, batch in enumerate(loader):
            losses.append(self.step(batch, batches, epoch, step))
            bar.update(1)
            bar.set_postfix(loss=f"{losses[-1]:.4f}")
            if self.out_of_time():
                break
        return losses, batch

    def step(self, batch, batches: GlobalBatches, epoch: int, step: int) -> float:
        """One optimiser step on one global batch; returns the global batch's loss."""
        config, ranks = self.config, self.ranks
        # The rate is set from the settings at every step: a resumed run follows them.
        rate = learning_rate(
            epoch * self.steps_per_epoch + step, config.epochs * self.steps_per_epoch, config.lr, config.schedule
        )
        for group in self.optimiser.param_groups:
            group["lr"] = rate
        self.optimiser.zero_grad()
        forward = (self.trained, batch, self.device, self.loss, self.amp_dtype is not None, config.channels_last)
        if ranks.distributed and _adds_up(self.loss):
            # unetlib's losses add their sums up across the ranks: every rank gets the global batch's loss.
            value = _batch_loss(*forward, self.amp_dtype, partial(all_sum_with_gradient, ranks=ranks))
            global_loss, scale = value.item(), 1.0
        else:
            value = _batch_loss(*forward, self.amp_dtype)
            # Another loss's global value: each rank's mean, weighted by its share of the images.
            held, total = batches.share(step)
            global_loss = all_sum([value.item() * (held / total)], ranks, self.device)[0]
            scale = ranks.world_size * held / total
        if not math.isfinite(global_loss):
            raise FloatingPointError(
                f"the loss became {global_loss} at epoch {epoch + 1}, step {step + 1}; the model was not "
                f"updated. Try a smaller lr (now {config.lr}), check the inputs for NaN/inf and their scale "
                "(normalise them), and the targets for values outside 0..num_classes-1"
            )
        # DDP averages the ranks' gradients; scaled by N * share, that average is the gradient of
        # the global batch's mean loss (a single process, or a loss added up across ranks: by 1).
        if scale != 1.0:
            value = value * scale
        self.scaler.scale(value).backward()
        self.scaler.step(self.optimiser)
        self.scaler.update()
        return global_loss

    def record(self, history: dict, epoch: int, losses: list[float], val) -> None:
        """Append the epoch, its mean training loss and (with ``val``) every validation score."""
        history["epoch"].append(epoch + 1)
        history["steps"].append((history["steps"][-1] if history["steps"] else 0) + len(losses))
        history["train_loss"].append(float(np.mean(losses)))
        if val is None:
            return
        # Every rank scores the whole validation set: the same weights give the same numbers.
        scores = evaluate(
            self.model,
            val,
            loss=self.loss,
            ignore_index=self.config.ignore_index,
            batch_size=self.config.batch_size,
            device=self.device,
            channels_last=self.config.channels_last,
        )
        for key, value in scores.items():
            history.setdefault(f"val_{key}", []).append(value)

    def end_epoch(self, epoch: int, history: dict, checkpoint, on_epoch_end) -> bool:
        """Rank 0 saves and calls the hook; if either fails, every rank stops with it (instead of
        waiting for rank 0 at the next exchange). Returns whether to stop."""
        stop, failure = False, None
        if self.ranks.is_main:
            paused = time.perf_counter()
            try:
                if checkpoint is not None:
                    save_checkpoint(checkpoint, self.model, self.optimiser, epoch + 1, history, self.config)
                if on_epoch_end is not None:
                    stop = bool(on_epoch_end(epoch + 1, history))
            except Exception as error:
                failure = error
            self.clock["started"] += time.perf_counter() - paused
        stop_now, failed = all_sum([float(stop), float(failure is not None)], self.ranks, self.device)
        if failure is not None:
            raise failure
        if failed:
            raise RuntimeError(
                f"rank 0 failed after epoch {epoch + 1} (saving the checkpoint or in on_epoch_end): its error "
                "message says why"
            )
        return stop_now > 0

    def out_of_time(self) -> bool:
        """Every rank must stop at the same step: rank 0's clock decides."""
        limit = self.config.time_limit
        if limit is None:
            return False
        late = self.ranks.is_main and time.perf_counter() - self.clock["started"] >= limit
        return all_sum([float(late)], self.ranks, self.device)[0] > 0


@torch.no_grad()
def evaluate(
    model: nn.Module,
    dataset: torch.utils.data.Dataset,
    loss: Callable | str | None = None,
    ignore_index: int | None = None,
    batch_size: int = 4,
    device: str | torch.device | None = None,
    channels_last: bool = False,
) -> dict[str, float]:
    """The loss of ``model`` on ``dataset`` and every class's Dice and IoU, over all its pixels.

    A loss of :mod:`unetlib.losses` is the loss of the whole set as one batch (its sums added
    up over the batches, so the batch size changes nothing); a function of your own is averaged
    over the images.

    Runs with gradients off and the model in eval mode (its mode is restored afterwards).

    Args:
        model: a network producing logits ``(N, K, h, w)``.
        dataset: ``(image, mask)`` or ``(image, mask, weights)`` tensors.
        loss: a loss name of :data:`unetlib.losses.LOSSES` or a function, as in :func:`fit`
            (default: cross-entropy).
        ignore_index: a target value whose pixels are left out of every score and of a named loss.
        batch_size: images per forward pass.
        device: where to run; default where the model's weights are (a device given moves the model).
        channels_last: pass the batches channels-last, as :func:`fit` trains.

    Returns:
        ``"loss"``; ``"dice_<k>"`` and ``"iou_<k>"`` for every class ``k`` (NaN for a class that
        is neither in the targets nor predicted); ``"mean_dice"`` and ``"mean_iou"`` over the
        classes that are not NaN; and, for two classes, ``"dice"``: the foreground's (class 1's).

    Example:
        >>> from unetlib.model import UNet
        >>> data = torch.utils.data.TensorDataset(torch.rand(2, 1, 16, 16), torch.zeros(2, 16, 16, dtype=torch.long))
        >>> sorted(evaluate(UNet(1, 2, depth=2, base_channels=4, padding="same"), data))
        ['dice', 'dice_0', 'dice_1', 'iou_0', 'iou_1', 'loss', 'mean_dice', 'mean_iou']
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {describe(model)}")
    if ignore_index is not None:
        ignore_index = integer(ignore_index, "ignore_index")
    batch_size = integer(batch_size, "batch_size", minimum=1)
    if loss is None or isinstance(loss, str):
        loss = SegmentationLoss(loss or "cross-entropy", ignore_index=ignore_index)
    device = model_device(model) if device is None else choose_device(device)
    model.to(device)
    was_training = model.training
    model.eval()
    total, matrix = 0.0, None
    try:
        for batch in torch.utils.data.DataLoader(dataset, batch_size=batch_size):
            logits, arguments = _forward(model, batch, device, channels_last=channels_last)
            # unetlib's losses add up their sums over the whole set (a Dice over every pixel, not a
            # mean of the batches' Dice): the same for any batch size, on any number of ranks.
            total = total + (loss.sums(*arguments) if _adds_up(loss) else loss(*arguments).item() * len(logits))
            counts = confusion_matrix(logits.argmax(1).cpu(), arguments[1].cpu(), logits.shape[1], ignore_index)
            matrix = counts if matrix is None else matrix + counts
    finally:
        model.train(was_training)
    if matrix is None:
        raise ValueError("dataset is empty: evaluate needs at least one (image, mask) pair")
    mean_loss = loss.from_sums(total).item() if _adds_up(loss) else total / len(dataset)
    return {"loss": mean_loss} | _class_scores(matrix)


def _class_scores(matrix: np.ndarray) -> dict[str, float]:
    """Every class's Dice and IoU from a confusion matrix, their means, and the foreground's Dice for two classes."""
    iou = iou_from_confusion(matrix)
    dice = 2 * iou / (1 + iou)  # Dice = 2 |A n B| / (|A| + |B|) = 2 IoU / (1 + IoU)
    scores = {f"dice_{k}": float(v) for k, v in enumerate(dice)} | {f"iou_{k}": float(v) for k, v in enumerate(iou)}
    scores |= {"mean_dice": mean_over_classes(dice), "mean_iou": mean_over_classes(iou)}
    if len(iou) == 2:
        scores["dice"] = scores["dice_1"]
    return scores


def _check_shares(size: int, batch_size: int, ranks: Ranks) -> None:
    """Under torchrun every process needs at least one image of every global batch."""
    if size < 1:
        raise ValueError("train is empty: fit needs at least one (image, mask) pair")
    left = size % (batch_size * ranks.world_size)
    if ranks.distributed and 0 < left < ranks.world_size:
        raise ValueError(
            f"{size} training images in global batches of {ranks.world_size} x {batch_size} leave {left} for the "
            f"last step, fewer than the {ranks.world_size} processes: each needs at least one. Use a training set "
            f"of a size that leaves 0 or at least {ranks.world_size} over, or another batch_size"
        )


def _amp_dtype(device: torch.device) -> torch.dtype:
    """On CUDA, bfloat16 where the GPU runs it natively (Ampere and later: no gradient scaler
    needed), else float16 (T4, V100); elsewhere (mixed precision asked for on the CPU) bfloat16,
    the only low precision CPU autocast supports."""
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported(including_emulation=False) else torch.float16
    return torch.bfloat16


@torch.no_grad()
def _check_finite_model(
    model: nn.Module, batch, device: torch.device, channels_last: bool, epoch: int, ranks: Ranks | None = None
) -> None:
    """Raise FloatingPointError if the weights, or the outputs on ``batch``, are NaN or infinite
    (on every rank together, if any rank finds it)."""
    broken = [name for name, parameter in model.named_parameters() if not torch.isfinite(parameter).all()]
    finite = not broken
    if finite:
        was_training = model.training
        model.eval()
        image = batch[0].to(device)
        try:
            logits = model(image.contiguous(memory_format=torch.channels_last) if channels_last else image)
        finally:
            model.train(was_training)
        finite = bool(torch.isfinite(logits).all())
    if ranks is not None and all_sum([float(not finite)], ranks, device)[0] > 0:
        finite = False
    if finite:
        return
    where = f"weights ({', '.join(broken[:3])}{', ...' if len(broken) > 3 else ''})" if broken else "outputs"
    raise FloatingPointError(
        f"after epoch {epoch + 1} the model's {where} are NaN or infinite: the updates blew up. Nothing was "
        "scored or saved. Try a smaller lr, and check the inputs' scale (normalise them)"
    )


def _seed_epoch(dataset, seed: int, epoch: int, rank: int = 0) -> None:
    """Seed everything random that one epoch uses, from (seed, epoch) alone; under torchrun each
    rank draws its own crops, augmentation and dropout (rank 0 as a single process does)."""
    torch.manual_seed(
        seed * 100_003 + epoch if rank == 0 else int(np.random.SeedSequence([seed, epoch, rank]).generate_state(1)[0])
    )
    transform = getattr(dataset, "transform", None)
    if transform is not None and hasattr(transform, "rng"):
        transform.rng = np.random.default_rng([seed, epoch] if rank == 0 else [seed, epoch, rank])


def _centre_crop(array: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Crop the last two axes to the centre ``height x width`` (targets of a valid-padding net)."""
    top, left = (array.shape[-2] - height) // 2, (array.shape[-1] - width) // 2
    return array[..., top : top + height, left : left + width]


def _forward(
    model: nn.Module,
    batch,
    device: torch.device,
    autocast: bool = False,
    channels_last: bool = False,
    amp_dtype: torch.dtype | None = None,
) -> tuple[torch.Tensor, tuple]:
    """The logits of one batch, and the loss's arguments ``(logits, target[, weights])``."""
    image, target, *rest = (item.to(device) for item in batch)
    if channels_last:
        image = image.contiguous(memory_format=torch.channels_last)
    with torch.autocast(device.type, dtype=amp_dtype, enabled=autocast):
        logits = model(image)
    # A valid-padding U-Net predicts the centre of its input: compare with the centre of the target.
    height, width = logits.shape[-2:]
    # Every loss takes (logits, target); only a dataset with weight maps passes a third argument.
    arguments = (logits.float(), _centre_crop(target, height, width))
    if rest:
        arguments += (_centre_crop(rest[0], height, width),)
    return logits, arguments


def _batch_loss(
    model: nn.Module,
    batch,
    device: torch.device,
    loss: Callable,
    autocast: bool,
    channels_last: bool = False,
    amp_dtype: torch.dtype | None = None,
    across_ranks: Callable | None = None,
) -> torch.Tensor:
    """The loss of one batch.

    With ``across_ranks`` (an all-reduce), a :class:`~unetlib.losses.SegmentationLoss` is the loss
    of every rank's batch together: its sums are added up across the ranks before it divides.
    """
    _, arguments = _forward(model, batch, device, autocast, channels_last, amp_dtype)
    if across_ranks is not None:
        return loss.from_sums(across_ranks(loss.sums(*arguments)))
    return loss(*arguments)


def _adds_up(loss: Callable) -> bool:
    """True for a loss whose sums can be added up across ranks (every loss of :mod:`unetlib.losses`)."""
    return isinstance(loss, SegmentationLoss)


if __name__ == "__main__":
    # python -m unetlib.train runs the command line, which lives in unetlib/cli.py (and imports
    # this module: run it, rather than import it back).
    import runpy

    runpy.run_module("unetlib.cli", run_name="__main__", alter_sys=True)
