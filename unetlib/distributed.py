"""Data-parallel training: what :func:`unetlib.train.fit` does when it is started by ``torchrun``.

``torchrun --nproc_per_node=N script.py`` starts N copies of a script, each with ``RANK``,
``WORLD_SIZE`` and ``LOCAL_RANK`` in its environment. Every copy (a *rank*) holds the whole model.
At each step the ranks take different images of the same global batch, compute their gradients,
and average them (an *all-reduce*), so every rank applies the same update and the weights stay
equal. N ranks with ``batch_size=b`` each therefore compute what one process computes with
``batch_size=N*b``: the same steps, the same weights, up to floating-point rounding.

That needs care with the loss. A mean over the images (plain cross-entropy) is the average of
the ranks' means. The Dice loss (a ratio of sums over the whole batch) and class-weighted
cross-entropy with an ignore index (divided by the weight of the kept pixels, which differs from
rank to rank) are not: for them ``fit`` adds up the sums the ratio is made of across the ranks
(:func:`all_sum_with_gradient`), then divides, so every rank computes the global batch's loss.
Batch norm, dropout and augmentation are the exceptions: each rank normalises with its own
images' statistics and draws its own random numbers.

This module holds the pieces ``fit`` needs: joining the process group (:func:`join`), splitting
every epoch's global batches between the ranks (:class:`GlobalBatches`), adding numbers up across
the ranks (:func:`all_sum`, :func:`all_sum_with_gradient`), and leaving again (:meth:`Ranks.leave`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

__all__ = ["GlobalBatches", "Ranks", "all_sum", "all_sum_with_gradient", "join", "launched_by_torchrun"]


def launched_by_torchrun() -> bool:
    """True when this process is one of several started by ``torchrun`` (``WORLD_SIZE`` > 1)."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1 and "RANK" in os.environ


@dataclass
class Ranks:
    """Who this process is among the ranks, and whether :func:`join` started the process group.

    A single process is ``Ranks(rank=0, world_size=1, local_rank=0)``: every method then does
    nothing, so ``fit`` runs the same code with or without ``torchrun``.
    """

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    created_group: bool = False

    @property
    def distributed(self) -> bool:
        """More than one process takes part."""
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """True on rank 0, the process that shows progress and writes checkpoints."""
        return self.rank == 0

    def barrier(self) -> None:
        """Wait until every rank gets here (after rank 0 has written a checkpoint, say)."""
        if self.distributed:
            dist.barrier()

    def broadcast_buffers(self, model: torch.nn.Module) -> None:
        """Copy rank 0's buffers (batch norm's running statistics) to every rank."""
        if self.distributed:
            for buffer in model.buffers():
                dist.broadcast(buffer, src=0)

    def leave(self) -> None:
        """Destroy the process group if :func:`join` created it (a caller's own group is kept)."""
        if self.created_group and dist.is_initialized():
            dist.destroy_process_group()
            self.created_group = False


def join(device: torch.device) -> Ranks:
    """Join the ranks ``torchrun`` started (or the process group the caller already made).

    The backend is NCCL for CUDA devices and gloo for the CPU (NCCL needs GPUs; gloo runs
    anywhere, which is how the tests run two ranks on a laptop).

    Returns:
        :class:`Ranks`; for a process that was not started by ``torchrun`` and has no process
        group, a single rank.
    """
    if dist.is_available() and dist.is_initialized():
        return Ranks(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")))
    if not launched_by_torchrun():
        return Ranks()
    backend = "nccl" if device.type == "cuda" else "gloo"
    dist.init_process_group(backend)
    return Ranks(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")), created_group=True)


def all_sum(values: list[float], ranks: Ranks, device: torch.device) -> list[float]:
    """Each value added up over the ranks (the values themselves for a single process)."""
    if not ranks.distributed:
        return values
    # gloo adds up CPU tensors; NCCL, CUDA ones.
    where = device if dist.get_backend() == "nccl" else "cpu"
    tensor = torch.tensor(values, dtype=torch.float64, device=where)
    dist.all_reduce(tensor)
    return tensor.tolist()


def all_sum_with_gradient(tensor: torch.Tensor, ranks: Ranks) -> torch.Tensor:
    """``tensor`` added up over the ranks, differentiably (``tensor`` itself for a single process).

    Every rank then computes the same loss ``L`` from the same sums ``S``. Backward, the sum's
    gradient is summed too: each rank gets ``N * dL/dS`` times the derivative of its own share of
    ``S``, and DDP's average over the N ranks leaves exactly ``dL/dS * dS/dweights``, the gradient
    one process computes on the whole batch.
    """
    if not ranks.distributed:
        return tensor
    from torch.distributed.nn.functional import all_reduce

    return all_reduce(tensor)


class GlobalBatches(torch.utils.data.Sampler):
    """This rank's share of every global batch of one epoch, as a DataLoader's ``batch_sampler``.

    The epoch's order is one permutation, the same on every rank (drawn from ``generator``, as
    :class:`torch.utils.data.RandomSampler` draws it, so a single process sees exactly the batches
    it always did). It is cut into global batches of ``world_size * batch_size`` images; rank
    ``r`` takes the ``r``-th slice of each. The last global batch may be shorter: it is shared as
    evenly as possible, and :meth:`share` tells each rank what fraction of it it holds, so that
    the averaged gradient is still the gradient of the global batch's mean loss.

    Example:
        Six images, two ranks of two: global batches of four, then the last two, one each.

        >>> def batches(rank, world_size, batch_size):
        ...     order = torch.Generator().manual_seed(0)
        ...     return [list(b) for b in GlobalBatches(6, batch_size, rank, world_size, order)]
        >>> batches(rank=0, world_size=2, batch_size=2), batches(rank=1, world_size=2, batch_size=2)
        ([[5, 1], [2]], [[0, 3], [4]])
        >>> batches(rank=0, world_size=1, batch_size=4)  # one process, the global batch
        [[5, 1, 0, 3], [2, 4]]
    """

    def __init__(self, size: int, batch_size: int, rank: int, world_size: int, generator: torch.Generator):
        # A shuffling DataLoader first draws one number from the generator (its workers' base
        # seed), then the permutation: drawing the same two keeps every single-process run's
        # order what it was when fit shuffled with a DataLoader.
        torch.empty((), dtype=torch.int64).random_(generator=generator)
        self.permutation = torch.randperm(size, generator=generator).tolist()
        self.batch_size, self.rank, self.world_size = batch_size, rank, world_size
        global_size = batch_size * world_size
        self.global_batches = [self.permutation[i : i + global_size] for i in range(0, size, global_size)]

    def _slice(self, batch: list[int]) -> list[int]:
        # Even shares: the first len % world ranks take one image more.
        base, extra = divmod(len(batch), self.world_size)
        start = self.rank * base + min(self.rank, extra)
        return batch[start : start + base + (self.rank < extra)]

    def share(self, step: int) -> tuple[int, int]:
        """(images this rank holds, images in the global batch) at ``step``."""
        batch = self.global_batches[step]
        return len(self._slice(batch)), len(batch)

    def __iter__(self):
        return (self._slice(batch) for batch in self.global_batches)

    def __len__(self) -> int:
        return len(self.global_batches)
