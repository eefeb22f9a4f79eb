"""Run by tests/test_distributed.py under ``torchrun --standalone --nproc_per_node=N``.

    worker.py OUT_DIR BATCH_SIZE EPOCHS [STOP_AFTER]

Trains the tests' small U-Net on the tests' data with :func:`unetlib.train.fit`, unchanged, and
has every rank save its final weights, history and world size to ``OUT_DIR/rank<R>.pt``
(``WORKER_BATCH_NORM=1`` in the environment: a U-Net with batch norm).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import torch


def data(count: int = 7) -> torch.utils.data.TensorDataset:
    """The same images on every rank and in the single-process reference."""
    generator = torch.Generator().manual_seed(11)
    images = torch.rand(count, 1, 24, 24, generator=generator)
    return torch.utils.data.TensorDataset(images, (images[:, 0] > 0.5).long())


def model(batch_norm: bool = False):
    from unetlib.model import UNet

    torch.manual_seed(5)
    return UNet(1, 2, depth=2, base_channels=4, padding="same", batch_norm=batch_norm)


def main(out: str, batch_size: int, epochs: int, stop_after: int | None = None) -> None:
    from unetlib.train import fit

    net = model(batch_norm=os.environ.get("WORKER_BATCH_NORM") == "1")
    checkpoint = Path(out) / "checkpoint.pt"
    history = fit(
        net,
        data(),
        val=data(3),
        epochs=epochs,
        batch_size=batch_size,
        device="cpu",
        progress=False,
        lr=3e-3,
        checkpoint=checkpoint,
        schedule="warmup-cosine",
        on_epoch_end=None if stop_after is None else lambda epoch, _: epoch >= stop_after,
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
