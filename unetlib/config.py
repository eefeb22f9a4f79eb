"""One training configuration, checked once: :class:`TrainConfig`.

Every setting of a training run lives in one frozen object, checked where it is made. The loop
(:func:`unetlib.train.fit`), the checkpoints (:mod:`unetlib.checkpoints`) and the command
(``python -m unetlib.train``, whose options are generated from the fields below) read it and
never check it again. A checkpoint stores it next to the network's :class:`~unetlib.model.UNetConfig`,
and resuming with other settings warns, naming each one that differs.

Example:
    >>> config = TrainConfig(epochs=20, loss="dice", ignore_index=255)
    >>> config.replace(lr=3e-3).lr, config.epochs
    (0.003, 20)
    >>> TrainConfig(lr=-1)
    Traceback (most recent call last):
    ...
    ValueError: lr must be greater than 0, got -1.0 (1e-3 is a common start)
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, fields
from typing import Callable, Union

import torch

from unetlib._checks import boolean, choice, describe, integer, number, real_array
from unetlib.losses import LOSSES, SegmentationLoss

__all__ = ["RESUMABLE", "SCHEDULES", "TrainConfig", "choose_device"]

#: The learning-rate schedules (:func:`unetlib.train.learning_rate`).
SCHEDULES = ("constant", "warmup-cosine")

#: Settings that may change when a run is resumed (how long, where, and what is shown).
RESUMABLE = ("epochs", "time_limit", "device", "progress", "compile")


def _setting(default, help: str, **options):
    """A field with the sentence ``--help`` shows for it (``metavar``/``choices`` for the command)."""
    return field(default=default, metadata={"help": help, **options})


@dataclass(frozen=True)
class TrainConfig:
    """Every setting of a training run, each checked once, here.

    Make one with the settings that differ from the defaults; derive others with
    :meth:`replace`. :func:`~unetlib.train.fit` takes one (``config=``) or the same names as
    keywords (``fit(model, data, epochs=5)``).
    """

    epochs: int = _setting(10, "passes over the training set (counting a resumed run's)", metavar="N")
    lr: float = _setting(1e-3, "Adam's (peak) learning rate", metavar="RATE")
    batch_size: int = _setting(
        4, "images per step on each process (the global batch is N x this under torchrun)", metavar="B"
    )
    schedule: str = _setting("constant", "learning-rate schedule", choices=SCHEDULES)
    seed: int = _setting(0, "seeds the shuffling, dropout and augmentation of every epoch", metavar="N")
    loss: Union[str, Callable] = _setting(
        "cross-entropy",
        "a loss of unetlib.losses by name, or a function loss(logits, target[, weights])",
        choices=LOSSES,
    )
    class_weights: Union[tuple, None] = _setting(
        None, "one weight per class for the cross-entropy (rare classes weighted up)", metavar="W"
    )
    ignore_index: Union[int, None] = _setting(
        None, "target value of unlabelled pixels: left out of loss and scores", metavar="VALUE"
    )
    dice_background: Union[int, None] = _setting(
        None, "the class the Dice loss leaves out of its mean (default: none, every class counts)", metavar="K"
    )
    time_limit: Union[float, None] = _setting(None, "stop after the step that reaches this many seconds", metavar="S")
    device: Union[str, None] = _setting(None, "cpu, cuda, cuda:N or mps (default: the best there is)", metavar="DEVICE")
    amp: Union[bool, None] = _setting(None, "mixed precision (default: on CUDA only)")
    channels_last: bool = _setting(True, "store weights and batches channels-last (faster kernels, same results)")
    sync_batch_norm: bool = _setting(False, "share batch-norm statistics across GPUs under torchrun (CUDA only)")
    compile: bool = _setting(False, "run the model through torch.compile (slow first step, faster after)")
    progress: Union[bool, None] = _setting(None, "show a progress bar (default: yes)")

    def __post_init__(self) -> None:
        checked = {
            "epochs": integer(self.epochs, "epochs", minimum=1),
            "lr": number(self.lr, "lr", above=0, hint=" (1e-3 is a common start)"),
            "batch_size": integer(self.batch_size, "batch_size", minimum=1),
            "schedule": choice(self.schedule, "schedule", SCHEDULES),
            "seed": integer(self.seed, "seed", minimum=0, maximum=2**31 - 1),
            "ignore_index": _optional(self.ignore_index, lambda v: integer(v, "ignore_index")),
            "dice_background": _optional(self.dice_background, lambda v: integer(v, "dice_background", minimum=0)),
            "time_limit": _optional(self.time_limit, lambda v: number(v, "time_limit", above=0, hint=" (seconds)")),
            "device": _optional(self.device, lambda v: str(choose_device(v))),
            "amp": _optional(self.amp, lambda v: boolean(v, "amp")),
            "progress": _optional(self.progress, lambda v: boolean(v, "progress")),
            "channels_last": boolean(self.channels_last, "channels_last"),
            "sync_batch_norm": boolean(self.sync_batch_norm, "sync_batch_norm"),
            "compile": boolean(self.compile, "compile"),
            "class_weights": _optional(self.class_weights, _class_weights),
        }
        for name, value in checked.items():
            object.__setattr__(self, name, value)
        self._check_loss()
        if self.sync_batch_norm and self.device is not None and not self.device.startswith("cuda"):
            raise ValueError(
                f"sync_batch_norm=True needs CUDA GPUs (PyTorch's SyncBatchNorm has no CPU version), and device is "
                f"{self.device!r}: leave it False, and each process normalises with its own batch's statistics"
            )

    def _check_loss(self) -> None:
        if callable(self.loss):
            if self.class_weights is not None or self.dice_background is not None:
                raise ValueError(
                    "class_weights and dice_background configure unetlib's named losses; with a loss function of "
                    f"your own ({describe(self.loss)}), apply them inside it, or use loss='cross-entropy' or 'dice'"
                )
            return
        choice(self.loss, "loss", LOSSES)
        if self.class_weights is not None and self.loss == "dice":
            raise ValueError(
                "class_weights weight the cross-entropy, and loss='dice' has none: use loss='cross-entropy' or "
                "'cross-entropy+dice' (the Dice loss already scores every class by its overlap, whatever its size)"
            )

    def replace(self, **changes) -> TrainConfig:
        """A copy with ``changes`` (checked like a new configuration); an unknown name is a TypeError."""
        names = [f.name for f in fields(self)]
        unknown = sorted(set(changes) - set(names))
        if unknown:
            raise TypeError(f"unknown training setting(s) {unknown}; the settings are {names}")
        return dataclasses.replace(self, **changes)

    def make_loss(self) -> Callable[..., torch.Tensor]:
        """The loss function these settings describe, called as ``loss(logits, target[, weights])``."""
        if callable(self.loss):
            return self.loss
        return SegmentationLoss(self.loss, self.class_weights, self.ignore_index, self.dice_background)

    def as_dict(self) -> dict:
        """Plain values (for a checkpoint): a loss function of your own is stored by its name."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        if callable(self.loss):
            values["loss"] = f"function {getattr(self.loss, '__qualname__', type(self.loss).__name__)}"
        values["class_weights"] = None if self.class_weights is None else list(self.class_weights)
        return values

    def differences(self, saved: dict) -> dict:
        """``{name: (saved, now)}`` for each setting, other than those a resumed run may change
        (:data:`RESUMABLE`), that differs from ``saved`` (an :meth:`as_dict` of a checkpoint)."""
        now = self.as_dict()
        return {
            name: (saved.get(name), now[name])
            for name in now
            if name not in RESUMABLE and name in saved and saved[name] != now[name]
        }


def _optional(value, check):
    return None if value is None else check(value)


def _class_weights(value) -> tuple:
    weights = real_array(value, "class_weights", ndim=1, finite=True, shape_hint=" (one number per class)")
    if len(weights) < 2 or (weights < 0).any() or not (weights > 0).any():
        raise ValueError(
            f"class_weights must be one number >= 0 per class (at least 2, not all 0), got {weights.tolist()} "
            "(e.g. unetlib.experiments.median_frequency_weights of the training pixels' class counts)"
        )
    return tuple(float(w) for w in weights)


def choose_device(device: str | torch.device | None = None) -> torch.device:
    """``device`` if given, else CUDA if available, else Apple's MPS, else the CPU.

    Example:
        >>> choose_device("cpu")
        device(type='cpu')
    """
    if device is None:
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps" if torch.backends.mps.is_available() else "cpu")
    try:
        chosen = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(
            f"device must be 'cpu', 'cuda', 'cuda:N', 'mps' or a torch.device, got {describe(device)}"
        ) from None
    if chosen.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device {device!r} was asked for, but PyTorch sees no CUDA GPU here "
            "(torch.cuda.is_available() is False): use 'cpu', or device=None to choose"
        )
    count = torch.cuda.device_count()
    if chosen.type == "cuda" and chosen.index is not None and chosen.index >= count:
        raise ValueError(
            f"device {device!r} was asked for, but PyTorch sees {count} CUDA GPU(s), cuda:0 to cuda:{count - 1}"
        )
    if chosen.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(
            f"device {device!r} was asked for, but Apple's MPS is not available here: use 'cpu', "
            "or device=None to choose"
        )
    return chosen
