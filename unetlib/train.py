"""Training a segmentation network: the loop, its history, checkpoints, prediction.

:func:`fit` is the loop every chapter would otherwise write by hand (zero_grad, loss, backward,
step), with what makes runs trustworthy: a progress bar, a history of losses and validation
Dice, the device chosen for you, mixed precision on CUDA, seeds so that a CPU run is
reproducible bit for bit, and a clear stop (not a NaN model) when the loss blows up.

Checkpoints hold the model's configuration, its weights, the optimiser, the epoch and the
history. They are written to a temporary file and renamed, so an interrupted save never
destroys the previous one, and read with ``torch.load(weights_only=True)``, which cannot run
code hidden in a file. Resuming from a checkpoint continues exactly where training stopped.
"""

from __future__ import annotations

import functools
import hashlib
import math
import os
import pickle
import tempfile
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from unetlib._checks import boolean, choice, integer, model_device, number
from unetlib.distributed import GlobalBatches, Ranks, all_sum, join
from unetlib.losses import weighted_cross_entropy
from unetlib.metrics import dice, mean_over_classes, per_class_iou
from unetlib.model import UNet, UNetConfig

__all__ = [
    "choose_device",
    "evaluate",
    "fit",
    "learning_rate",
    "load_checkpoint",
    "predict",
    "predict_tta",
    "save_checkpoint",
]

SCHEDULES = ("constant", "warmup-cosine")

LossFunction = Callable[[torch.Tensor, torch.Tensor, "torch.Tensor | None"], torch.Tensor]


def choose_device(device: str | torch.device | None = None) -> torch.device:
    """``device`` if given, else CUDA if available, else Apple's MPS, else the CPU.

    Example:
        >>> choose_device("cpu")
        device(type='cpu')
    """
    if device is not None:
        try:
            chosen = torch.device(device)
        except (RuntimeError, TypeError):
            raise ValueError(
                f"device must be 'cpu', 'cuda', 'cuda:N', 'mps' or a torch.device, got {device!r}"
            ) from None
        if chosen.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(
                f"device {device!r} was asked for, but PyTorch sees no CUDA GPU here "
                "(torch.cuda.is_available() is False): use 'cpu', or device=None to choose"
            )
        if chosen.type == "cuda" and chosen.index is not None and chosen.index >= torch.cuda.device_count():
            raise ValueError(
                f"device {device!r} was asked for, but PyTorch sees {torch.cuda.device_count()} CUDA GPU(s), "
                f"cuda:0 to cuda:{torch.cuda.device_count() - 1}"
            )
        if chosen.type == "mps" and not torch.backends.mps.is_available():
            raise ValueError(
                f"device {device!r} was asked for, but Apple's MPS is not available here: use 'cpu', "
                "or device=None to choose"
            )
        return chosen
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


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


def _centre_crop(array: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Crop the last two axes to the centre ``height x width`` (targets of a valid-padding net)."""
    top, left = (array.shape[-2] - height) // 2, (array.shape[-1] - width) // 2
    return array[..., top : top + height, left : left + width]


def _batch_loss(
    model: nn.Module,
    batch,
    device: torch.device,
    loss_function: LossFunction,
    autocast: bool,
    channels_last: bool = False,
    amp_dtype: torch.dtype | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    image, target, *rest = (item.to(device) for item in batch)
    if channels_last:
        image = image.contiguous(memory_format=torch.channels_last)
    weights = rest[0] if rest else None
    with torch.autocast(device.type, dtype=amp_dtype, enabled=autocast):
        logits = model(image)
    # A valid-padding U-Net predicts the centre of its input: compare with the centre of the target.
    height, width = logits.shape[-2:]
    target = _centre_crop(target, height, width)
    weights = None if weights is None else _centre_crop(weights, height, width)
    return loss_function(logits.float(), target, weights), logits, target


def fit(
    model: nn.Module,
    train: torch.utils.data.Dataset,
    val: torch.utils.data.Dataset | None = None,
    epochs: int = 10,
    lr: float = 1e-3,
    batch_size: int = 4,
    loss: LossFunction | None = None,
    device: str | torch.device | None = None,
    seed: int = 0,
    amp: bool | None = None,
    progress: bool | None = None,
    checkpoint: str | Path | None = None,
    resume: str | Path | None = None,
    time_limit: float | None = None,
    schedule: str = "constant",
    channels_last: bool = True,
    on_epoch_end: Callable[[int, dict[str, list[float]]], bool | None] | None = None,
    sync_batch_norm: bool = False,
    compile: bool = False,
    ignore_index: int | None = None,
) -> dict[str, list[float]]:
    """Train ``model`` with Adam and return the history of each epoch.

    Started by ``torchrun --nproc_per_node=N``, the same call trains on N processes (one per GPU,
    or N CPU processes): ``fit`` joins the process group (NCCL on CUDA, gloo on the CPU), wraps
    the model in :class:`~torch.nn.parallel.DistributedDataParallel`, and gives each process its
    slice of every global batch of ``N * batch_size`` images, so that N processes take the same
    steps as one process with ``batch_size=N * batch_size`` (see :mod:`unetlib.distributed`).
    Losses are added up across the processes; only rank 0 shows progress, writes checkpoints and
    calls ``on_epoch_end``; every rank returns the same history. A group ``fit`` created is
    destroyed when it returns.

    Args:
        model: a network producing logits ``(N, K, h, w)``; with valid padding (``h, w`` smaller
            than the input) the targets are centre-cropped to match.
        train: a dataset of ``(image, mask)`` or ``(image, mask, weights)`` tensors.
        val: an optional dataset of the same kind, evaluated after every epoch (foreground Dice).
        epochs: the number of passes over ``train`` (in total, counting a resumed run's).
        lr: Adam's learning rate (the peak of the schedule).
        batch_size: images per step *on each process* (the global batch is ``N * batch_size``
            under torchrun with N processes).
        loss: ``loss(logits, target, weights_or_None)``; default :func:`~unetlib.losses.weighted_cross_entropy`.
        device: where to train; default :func:`choose_device`.
        seed: seeds the weights' shuffling, dropout and (if the training set's ``transform`` has
            an ``rng``) the augmentation, per epoch: a CPU run is reproducible, and resumable.
        amp: mixed precision; default on for CUDA only: bfloat16 where the GPU supports it,
            else float16 with a gradient scaler.
        progress: show a progress bar (default: yes, in the terminal or notebook).
        checkpoint: save a checkpoint here after every epoch.
        resume: continue from this checkpoint (model, optimiser, epoch, history).
        time_limit: stop after the step that reaches this many seconds of training (the epoch
            is then recorded as it stands); for comparing recipes at equal time.
        schedule: ``"constant"`` or ``"warmup-cosine"`` (see :func:`learning_rate`), over all
            ``epochs``.
        channels_last: store the model's weights and each batch channels-last (NHWC), which
            the CPU's and GPU's convolution kernels run faster (``benchmarks/bench_step.py``);
            the results are the same up to rounding.
        on_epoch_end: called as ``on_epoch_end(epoch, history)`` after every epoch (and its
            checkpoint); returning True stops training there. Its time does not count towards
            ``time_limit``.
        sync_batch_norm: under torchrun on CUDA, share batch-norm statistics across the
            processes (the model's batch-norm layers are replaced, in place, by
            :class:`~torch.nn.SyncBatchNorm` ones). Off by default: each process then
            normalises with its own images' statistics. PyTorch has no CPU version; asking for it
            on the CPU is an error.
        compile: run the model through :func:`torch.compile` (a first step that takes minutes,
            faster steps after it; worth it for long GPU runs).
        ignore_index: a target value that marks unlabelled pixels (it may lie outside
            ``0..K-1``): the default loss and the validation scores leave them out. A ``loss``
            of your own must leave them out itself (e.g. ``weighted_cross_entropy(...,
            ignore_index=...)``).

    Returns:
        ``{"epoch": [...], "train_loss": [...], "val_loss": [...], "val_dice": [...]}``; with
        more than two classes also ``"val_mean_iou"`` and ``"val_iou_<k>"`` per class
        (:func:`evaluate`), since the Dice of class 1 alone says little about six classes.

    Raises:
        FloatingPointError: if a loss is NaN or infinite, naming the epoch and the step.

    Example:
        Two epochs on one constant image; the history has one entry per epoch.

        >>> data = torch.utils.data.TensorDataset(torch.rand(2, 1, 16, 16), torch.zeros(2, 16, 16, dtype=torch.long))
        >>> model = UNet(1, 2, depth=2, base_channels=4, padding="same")
        >>> history = fit(model, data, epochs=2, device="cpu", progress=False)
        >>> history["epoch"], history["train_loss"][1] < history["train_loss"][0]
        ([1, 2], True)
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module (e.g. a unetlib UNet), got {type(model).__name__}")
    epochs, batch_size = integer(epochs, "epochs", minimum=1), integer(batch_size, "batch_size", minimum=1)
    seed = integer(seed, "seed", minimum=0)
    lr = number(lr, "lr", above=0, hint=" (1e-3 is a common start)")
    choice(schedule, "schedule", SCHEDULES)
    channels_last = boolean(channels_last, "channels_last")
    if time_limit is not None:
        time_limit = number(time_limit, "time_limit", above=0, hint=" (seconds)")
    for name, value in (("amp", amp), ("progress", progress)):
        if value is not None:
            boolean(value, name)
    if on_epoch_end is not None and not callable(on_epoch_end):
        raise TypeError(f"on_epoch_end must be a function on_epoch_end(epoch, history), got {on_epoch_end!r}")
    sync_batch_norm, compile = boolean(sync_batch_norm, "sync_batch_norm"), boolean(compile, "compile")
    if ignore_index is not None:
        ignore_index = integer(ignore_index, "ignore_index")
    device = choose_device(device)
    if sync_batch_norm and device.type != "cuda":
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
        return _fit(
            model,
            train,
            val,
            epochs,
            lr,
            batch_size,
            loss,
            device,
            seed,
            amp,
            progress,
            checkpoint,
            resume,
            time_limit,
            schedule,
            channels_last,
            on_epoch_end,
            sync_batch_norm,
            compile,
            ignore_index,
            ranks,
        )
    finally:
        ranks.leave()


def _fit(
    model,
    train,
    val,
    epochs,
    lr,
    batch_size,
    loss,
    device,
    seed,
    amp,
    progress,
    checkpoint,
    resume,
    time_limit,
    schedule,
    channels_last,
    on_epoch_end,
    sync_batch_norm,
    compile,
    ignore_index,
    ranks: Ranks,
):
    """The training loop of :func:`fit`, its arguments checked and its process group joined."""
    _check_shares(len(train), batch_size, ranks)
    model.to(device)
    if channels_last:
        model.to(memory_format=torch.channels_last)
    loss_function = loss or _default_loss(ignore_index)
    autocast = (device.type == "cuda") if amp is None else bool(amp)
    amp_dtype = _amp_dtype(device) if autocast else None
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    scaler = torch.amp.GradScaler(device.type, enabled=autocast and amp_dtype == torch.float16)
    history: dict[str, list[float]] = {"epoch": [], "train_loss": [], "val_loss": [], "val_dice": []}
    start = 0
    if resume is not None:
        state = load_checkpoint(resume, model, optimiser)
        history, start = history | state["history"], state["epoch"]
    # The module that takes the steps: the model itself, or a wrapper that averages gradients.
    trained = model
    if ranks.distributed:
        if sync_batch_norm:
            trained = nn.SyncBatchNorm.convert_sync_batchnorm(trained)
        trained = DistributedDataParallel(trained, device_ids=[device.index] if device.type == "cuda" else None)
    if compile:
        trained = torch.compile(trained)

    from tqdm.auto import tqdm

    started = time.perf_counter()
    steps_per_epoch = math.ceil(len(train) / (batch_size * ranks.world_size))
    bar = tqdm(
        total=epochs * steps_per_epoch,
        initial=start * steps_per_epoch,
        disable=progress is False or not ranks.is_main,
        desc="training",
        unit="step",
    )

    def out_of_time() -> bool:
        # Every rank must stop at the same step: rank 0's clock decides.
        late = time_limit is not None and ranks.is_main and time.perf_counter() - started >= time_limit
        return time_limit is not None and all_sum([float(late)], ranks, device)[0] > 0

    try:
        for epoch in range(start, epochs):
            _seed_epoch(train, seed, epoch, ranks.rank)
            order = torch.Generator().manual_seed(seed * 100_003 + epoch)
            batches = GlobalBatches(len(train), batch_size, ranks.rank, ranks.world_size, order)
            # The loader draws its workers' seed from ``order`` too, not from the global generator
            # that dropout uses.
            loader = torch.utils.data.DataLoader(train, batch_sampler=batches, generator=order)
            trained.train()
            losses = []
            for step, batch in enumerate(loader):
                # The rate is set from the arguments at every step: a resumed run follows them.
                for group in optimiser.param_groups:
                    group["lr"] = learning_rate(epoch * steps_per_epoch + step, epochs * steps_per_epoch, lr, schedule)
                optimiser.zero_grad()
                value, _, _ = _batch_loss(trained, batch, device, loss_function, autocast, channels_last, amp_dtype)
                # The global batch's loss: each rank's mean, weighted by its share of the images.
                held, total = batches.share(step)
                global_loss = all_sum([value.item() * (held / total)], ranks, device)[0]
                if not math.isfinite(global_loss):
                    raise FloatingPointError(
                        f"the loss became {global_loss} at epoch {epoch + 1}, step {step + 1}; the model was not "
                        f"updated. Try a smaller lr (now {lr}), check the inputs for NaN/inf and their scale "
                        "(normalise them), and the targets for values outside 0..num_classes-1"
                    )
                # DDP averages the ranks' gradients; scaled by N * share, that average is the
                # gradient of the global batch's mean loss (a single process: scaled by 1).
                if held != total:
                    value = value * (ranks.world_size * held / total)
                scaler.scale(value).backward()
                scaler.step(optimiser)
                scaler.update()
                losses.append(global_loss)
                bar.update(1)
                bar.set_postfix(loss=f"{global_loss:.4f}")
                if out_of_time():
                    break
            # The loss check above sees each update's effect one step late, and never the last
            # one's: check the updated model itself before it is scored or saved.
            # Without SyncBatchNorm each rank updated its batch-norm statistics on its own images:
            # take rank 0's everywhere, so that every rank scores and saves the same model.
            ranks.broadcast_buffers(model)
            _check_finite_model(model, batch, device, channels_last, epoch, ranks)
            history["epoch"].append(epoch + 1)
            history["train_loss"].append(float(np.mean(losses)))
            if val is not None:
                # Every rank scores the whole validation set: the same weights give the same numbers.
                scores = evaluate(
                    model,
                    val,
                    device=device,
                    loss=loss_function,
                    batch_size=batch_size,
                    channels_last=channels_last,
                    ignore_index=ignore_index,
                )
                history["val_loss"].append(scores["loss"])
                history["val_dice"].append(scores["dice"])
                # More than two classes: mean IoU and every class's IoU, epoch by epoch.
                for key in (k for k in scores if k == "mean_iou" or k.startswith("iou_")):
                    history.setdefault(f"val_{key}", []).append(scores[key])
            # Rank 0 alone saves and calls the hook; if either fails, every rank stops with it
            # (instead of waiting for rank 0 at the next exchange).
            stop, failure = False, None
            if ranks.is_main:
                paused = time.perf_counter()
                try:
                    if checkpoint is not None:
                        save_checkpoint(checkpoint, model, optimiser, epoch + 1, history)
                    if on_epoch_end is not None:
                        stop = bool(on_epoch_end(epoch + 1, history))
                except Exception as error:
                    failure = error
                started += time.perf_counter() - paused
            stop_now, failed = all_sum([float(stop), float(failure is not None)], ranks, device)
            if failure is not None:
                raise failure
            if failed:
                raise RuntimeError(
                    f"rank 0 failed after epoch {epoch + 1} (saving the checkpoint or in "
                    "on_epoch_end): its error message says why"
                )
            if stop_now > 0 or out_of_time():
                break
    finally:
        bar.close()
    return history


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


@torch.no_grad()
def _default_loss(ignore_index: int | None) -> LossFunction:
    if ignore_index is None:
        return weighted_cross_entropy
    return functools.partial(weighted_cross_entropy, ignore_index=ignore_index)


def evaluate(
    model: nn.Module,
    dataset: torch.utils.data.Dataset,
    device: str | torch.device | None = None,
    loss: LossFunction | None = None,
    batch_size: int = 4,
    channels_last: bool = False,
    ignore_index: int | None = None,
) -> dict[str, float]:
    """Mean loss and foreground Dice (class 1 vs rest, over all pixels) of ``model`` on ``dataset``
    (``channels_last``: pass the batches channels-last, as :func:`fit` trains).

    With more than two classes, also ``"mean_iou"`` and ``"iou_<k>"`` for every class ``k``
    (:func:`~unetlib.metrics.per_class_iou` over all the pixels; NaN for a class that is
    neither in the targets nor predicted). Pixels whose target is ``ignore_index`` are left
    out of every score (and of the default loss)."""
    device = model_device(model) if device is None else choose_device(device)
    if ignore_index is not None:
        ignore_index = integer(ignore_index, "ignore_index")
    loss_function = loss or _default_loss(ignore_index)
    was_training = model.training
    model.eval()
    losses, predictions, targets, classes = [], [], [], 2
    try:
        for batch in torch.utils.data.DataLoader(dataset, batch_size=batch_size):
            value, logits, target = _batch_loss(
                model, batch, device, loss_function, autocast=False, channels_last=channels_last
            )
            losses.append(value.item() * len(target))
            predictions.append(logits.argmax(1).cpu())
            targets.append(target.cpu())
            classes = logits.shape[1]
    finally:
        model.train(was_training)
    prediction = torch.cat([p.flatten() for p in predictions])
    truth = torch.cat([t.flatten() for t in targets])
    if ignore_index is not None:
        prediction, truth = prediction[truth != ignore_index], truth[truth != ignore_index]
    scores = {"loss": float(sum(losses) / len(dataset)), "dice": dice(prediction == 1, truth == 1)}
    if classes > 2:
        ious = per_class_iou(prediction, truth, classes)
        scores["mean_iou"] = mean_over_classes(ious)
        scores |= {f"iou_{k}": float(value) for k, value in enumerate(ious)}
    return scores


@torch.no_grad()
def predict(
    model: nn.Module,
    image: np.ndarray | torch.Tensor,
    tile_size: int | None = None,
    device: str | torch.device | None = None,
) -> torch.Tensor:
    """Logits ``(K, H, W)`` for one ``(C, H, W)`` or ``(H, W)`` image, tiled if ``tile_size`` is given.

    A valid-padding U-Net must be tiled (its output is smaller than its input):
    :func:`unetlib.tiling.predict_tiled` mirrors the borders so the output covers the image.
    With ``device=None`` the model runs where its weights are; it is never moved silently.
    """
    from unetlib.tiling import predict_tiled

    device = model_device(model) if device is None else choose_device(device)
    if tile_size is not None or (isinstance(model, UNet) and model.padding == "valid"):
        if tile_size is None:
            raise ValueError(
                "a valid-padding UNet's output is smaller than its input: give tile_size "
                "(one of unetlib.model.valid_input_sizes) to predict a whole image"
            )
        return predict_tiled(model.to(device), image, tile_size=tile_size, device=device, progress=False)
    pixels = torch.as_tensor(np.asarray(image), dtype=torch.float32)
    pixels = pixels[None] if pixels.ndim == 2 else pixels
    was_training = model.training
    model.eval().to(device)
    try:
        return model(pixels[None].to(device))[0].float().cpu()
    finally:
        model.train(was_training)


@torch.no_grad()
def predict_tta(
    model: nn.Module,
    image: np.ndarray | torch.Tensor,
    tile_size: int | None = None,
    device: str | torch.device | None = None,
) -> torch.Tensor:
    """Class probabilities ``(K, H, W)`` averaged over the 8 rotations and flips of the image.

    Test-time augmentation: the network sees the image turned by 0, 90, 180 and 270 degrees,
    each also mirrored; every softmax is turned back to the original orientation and the 8 are
    averaged. A network trained with flips and rotations should give the same answer each time;
    where it does not, averaging cancels part of its orientation-dependent error.

    Args:
        model: a segmentation network producing logits.
        image: ``(C, H, W)`` or ``(H, W)``; a square image keeps its shape under rotation, a
            non-square one is predicted on its rotated (W, H) copies, which a same-padding U-Net
            accepts.
        tile_size, device: as for :func:`predict`.

    Returns:
        Probabilities ``(K, H, W)`` (each pixel's sum over K is 1).

    Example:
        >>> model = UNet(1, 2, depth=2, base_channels=4, padding="same")
        >>> predict_tta(model, np.zeros((1, 16, 16), np.float32)).shape
        torch.Size([2, 16, 16])
    """
    pixels = torch.as_tensor(np.asarray(image), dtype=torch.float32)
    pixels = pixels[None] if pixels.ndim == 2 else pixels
    if pixels.ndim != 3:
        raise ValueError(f"image must be (C, H, W) or (H, W), got shape {tuple(np.shape(image))}")
    total = None
    for turns in range(4):
        for mirror in (False, True):
            # Turn (and mirror) the image, predict, then undo the same steps in reverse order.
            view = torch.rot90(pixels, turns, dims=(1, 2))
            view = view.flip(2) if mirror else view
            probabilities = predict(model, view, tile_size=tile_size, device=device).softmax(0)
            probabilities = probabilities.flip(2) if mirror else probabilities
            probabilities = torch.rot90(probabilities, -turns, dims=(1, 2))
            total = probabilities if total is None else total + probabilities
    return total / 8


def save_checkpoint(
    path: str | Path,
    model: nn.Module,
    optimiser: torch.optim.Optimizer | None,
    epoch: int,
    history: dict[str, list[float]],
) -> Path:
    """Write model config, weights, optimiser, epoch and history to ``path``, atomically.

    The data go to a temporary file in the same folder, which is then renamed over ``path``:
    a crash during the save leaves the previous checkpoint intact. A SHA-256 of every tensor is
    saved with them; :func:`load_checkpoint` refuses a file whose tensors no longer match it.

    Example:
        >>> import tempfile
        >>> model = UNet(1, 2, depth=2, base_channels=4, padding="same")
        >>> path = Path(tempfile.mkdtemp()) / "model.pt"
        >>> _ = save_checkpoint(path, model, None, epoch=3, history={})
        >>> state = load_checkpoint(path)   # rebuilds the UNet from its saved configuration
        >>> state["epoch"], torch.equal(state["model"].head.weight, model.head.weight)
        (3, True)
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {
        "config": _config_dict(model),
        "model": model.state_dict(),
        "optimiser": optimiser.state_dict() if optimiser is not None else None,
        "epoch": int(epoch),
        "history": {key: [int(v) if key == "epoch" else float(v) for v in values] for key, values in history.items()},
    }
    state["checksum"] = _checksum(state)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".partial")
    try:
        with os.fdopen(handle, "wb") as file:
            torch.save(state, file)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def _config_dict(model: nn.Module) -> dict:
    """The model's configuration as a plain dict; empty for a model that is not a UNet."""
    config = getattr(model, "config", None)
    return config.as_dict() if isinstance(config, UNetConfig) else {}


def _checksum(state: dict) -> str:
    """SHA-256 of every tensor in a checkpoint (names, dtypes, shapes and bytes), in a fixed order."""
    digest = hashlib.sha256()

    def visit(value, name: str) -> None:
        if isinstance(value, torch.Tensor):
            tensor = value.detach().cpu().contiguous()
            digest.update(f"{name}:{tensor.dtype}:{tuple(tensor.shape)}".encode())
            digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes() if tensor.numel() else b"")
        elif isinstance(value, dict):
            for key in sorted(value, key=str):
                visit(value[key], f"{name}/{key}")
        elif isinstance(value, (list, tuple)):
            for index, item in enumerate(value):
                visit(item, f"{name}/{index}")

    visit({key: value for key, value in state.items() if key != "checksum"}, "")
    return digest.hexdigest()


def load_checkpoint(
    path: str | Path, model: nn.Module | None = None, optimiser: torch.optim.Optimizer | None = None
) -> dict:
    """Read a checkpoint with ``weights_only=True``; restore it into ``model`` (and ``optimiser``).

    With ``model=None`` a :class:`~unetlib.model.UNet` is built from the saved configuration.
    A model whose configuration differs from the saved one raises a ValueError naming the
    differences, before any weight is copied.

    Returns:
        The checkpoint's contents, with ``"model"`` the restored model.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"no checkpoint at {path}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        if "Unsupported global" in str(error):
            # Never pass on PyTorch's advice to retry with weights_only=False: that runs the file's code.
            raise ValueError(
                f"{path} holds objects other than tensors and plain data, which could run code "
                "when loaded; it was refused. Load only checkpoints from save_checkpoint, or from "
                "someone you trust"
            ) from None
        detail = str(error).split("WeightsUnpickler error:")[-1].split("Check the documentation")[0].strip()
        raise ValueError(
            f"{path} is not a readable checkpoint (truncated, or not a file from torch.save): {detail}"
        ) from None
    except (RuntimeError, EOFError, OSError) as error:
        raise ValueError(
            f"{path} is not a readable checkpoint (truncated, or not a file from torch.save): "
            f"{type(error).__name__}: {error}"
        ) from None
    if isinstance(state, dict) and "checksum" in state and state["checksum"] != _checksum(state):
        raise ValueError(
            f"{path} is damaged: its tensors no longer match the checksum saved with them (a "
            "flipped byte, a bad copy); use another copy or an earlier checkpoint"
        )
    if not isinstance(state, dict) or "model" not in state:
        keys = sorted(state) if isinstance(state, dict) else type(state).__name__
        raise ValueError(
            f"{path} is not a unetlib checkpoint: it has no 'model' entry (found {keys}); "
            "save_checkpoint writes config, model, optimiser, epoch and history"
        )
    config = state.get("config") or {}
    if model is None:
        if not config:
            raise ValueError(f"{path} has no model configuration: pass the model to load it into")
        model = UNet(**config)
    own = _config_dict(model)
    if config and own and own != config:
        different = {
            k: (config.get(k), own.get(k)) for k in sorted(set(config) | set(own)) if config.get(k) != own.get(k)
        }
        raise ValueError(
            f"{path} was saved from a model with a different configuration "
            f"(saved, yours): {different}; build the model with the saved configuration"
        )
    model.load_state_dict(state["model"])
    if optimiser is not None and state.get("optimiser") is not None:
        optimiser.load_state_dict(state["optimiser"])
    state["model"] = model
    return state


if __name__ == "__main__":
    # python -m unetlib.train runs the command line, which lives in unetlib/cli.py (and imports
    # this module: run it, rather than import it back).
    import runpy

    runpy.run_module("unetlib.cli", run_name="__main__", alter_sys=True)
