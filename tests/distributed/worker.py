"""Run by tests/test_distributed.py under ``torchrun --standalone --nproc_per_node=N``.

    worker.py OUT_DIR BATCH_SIZE EPOCHS [STOP_AFTER]

Trains the tests' small U-Net on the tests' data with :func:`unetlib.train.fit`, unchanged, and
has every rank save its final weights, history and world size to ``OUT_DIR/rank<R>.pt``
(``WORKER_BATCH_NORM=1`` in the environment: a U-Net with batch norm; ``WORKER_LOSS=dice`` or
``WORKER_LOSS=weighted``: the Dice loss, or class-weighted cross-entropy with an ignore index).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import torch


#: Each loss the tests compare, as ``fit``'s settings: both are ratios of sums over the batch.
LOSSES = {
    "cross-entropy": {},
    "dice": {"loss": "dice", "dice_background": None},
    "weighted": {"loss": "cross-entropy", "class_weights": [1.0, 4.0], "ignore_index": 255},
}


def data(count: int = 7, loss: str = "cross-entropy") -> torch.utils.data.TensorDataset:
    """The same images on every rank and in the single-process reference.

    For the "weighted" loss, a different
    number of pixels is unlabelled (255) in every image, so each rank keeps a different share.
    """
    generator = torch.Generator().manual_seed(11)
    images = torch.rand(count, 1, 24, 24, generator=generator)
    target = (images[:, 0] > 0.5).long()
    if loss == "weighted":
        rows = torch.arange(24)[None, :, None].expand(count, 24, 24)
        target = torch.where(rows < 3 * torch.arange(count)[:, None, None], 255, target)
    return torch.utils.data.TensorDataset(images, target)


def model(batch_norm: bool = False):
    from unetlib.model import UNet

    torch.manual_seed(5)
    return UNet(1, 2, depth=2, base_channels=4, padding="same", batch_norm=batch_norm)


def main(out: str, batch_size: int, epochs: int, stop_after: int | None = None) -> None:
    from unetlib.train import fit

    net = model(batch_norm=os.environ.get("WORKER_BATCH_NORM") == "1")
    loss = os.environ.get("WORKER_LOSS", "cross-entropy")
    checkpoint = Path(out) / "checkpoint.pt"
    history = fit(
        net,
        data(loss=loss),
        val=data(3, loss),
        epochs=epochs,
        batch_size=batch_size,
        device="cpu",
        progress=False,
        lr=3e-3,
        checkpoint=checkpoint,
        schedule="warmup-cosine",
        on_epoch_end=None if stop_after is None else lambda epoch, _: epoch >= stop_after,
        **LOSSES[loss],
    )
    state = {
        "weights": net.state_dict(),
        "history": history,
        "world_size": int(os.environ.get("WORLD_SIZE", "1")),
        "group_left": not torch.distributed.is_initialized(),
    }
    torch.save(state, Path(out) / f"rank{os.environ.get('RANK', '0')}.pt")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]) if len(sys.argv) > 4 else None)
