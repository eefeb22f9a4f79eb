"""Data-parallel training under torchrun: 2 processes x batch b compute what 1 process x 2b does.

The two processes run on the CPU with the gloo backend, as PyTorch's own DDP tests do, so this
runs on any machine. Without batch norm, dropout or augmentation the equality is exact up to
floating-point rounding: the tolerance is 1e-5.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from unetlib.distributed import GlobalBatches
from unetlib.train import fit

sys.path.insert(0, str(Path(__file__).parent / "distributed"))
import worker  # noqa: E402

WORKER = Path(worker.__file__)


def torchrun(
    processes: int,
    out: Path,
    batch_size: int,
    epochs: int,
    stop_after: int | None = None,
    batch_norm: bool = False,
    loss: str = "cross-entropy",
) -> dict:
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc_per_node={processes}",
        str(WORKER),
        str(out),
        str(batch_size),
        str(epochs),
    ] + ([str(stop_after)] if stop_after else [])
    env = os.environ | {
        "OMP_NUM_THREADS": "1",  # 2 cores
        "WORKER_BATCH_NORM": "1" if batch_norm else "0",
        "WORKER_LOSS": loss,
    }
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr[-3000:]
    ranks = [torch.load(out / f"rank{r}.pt", weights_only=True) for r in range(processes)]
    return ranks[0] | {"ranks": ranks}


def one_process(
    batch_size: int, epochs: int, out: Path | None = None, resume: Path | None = None, loss: str = "cross-entropy"
):
    net = worker.model()
    history = fit(
        net,
        worker.data(loss=loss),
        val=worker.data(3, loss),
        epochs=epochs,
        batch_size=batch_size,
        device="cpu",
        progress=False,
        lr=3e-3,
        schedule="warmup-cosine",
        resume=resume,
        checkpoint=None if out is None else out / "checkpoint.pt",
        **worker.LOSSES[loss],
    )
    return net.state_dict(), history


@pytest.fixture(scope="module")
def two_processes(tmp_path_factory):
    out = tmp_path_factory.mktemp("ddp")
    return out, torchrun(2, out, batch_size=2, epochs=2)


def test_two_processes_of_batch_2_train_what_one_process_of_batch_4_does(two_processes):
    _, run = two_processes
    weights, history = one_process(batch_size=4, epochs=2)
    assert run["world_size"] == 2
    for name, tensor in weights.items():
        torch.testing.assert_close(run["weights"][name], tensor, rtol=1e-5, atol=1e-5, msg=name)
    # 7 images: the global batches hold 4 and 3, the last shared 2 + 1 and weighted by share.
    for key in ("train_loss", "val_loss", "val_dice"):
        torch.testing.assert_close(torch.tensor(run["history"][key]), torch.tensor(history[key]), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("loss", ["dice", "weighted"])
def test_every_loss_trains_on_two_processes_what_it_trains_on_one(loss, tmp_path):
    # The Dice loss is a ratio of sums over the whole batch, and class-weighted cross-entropy
    # with an ignore index divides by the weight of the kept pixels: neither is a mean of the
    # ranks' own losses. fit adds the sums up across the ranks before it divides.
    run = torchrun(2, tmp_path, batch_size=2, epochs=2, loss=loss)
    weights, history = one_process(batch_size=4, epochs=2, loss=loss)
    for name, tensor in weights.items():
        torch.testing.assert_close(run["weights"][name], tensor, rtol=1e-5, atol=1e-5, msg=name)
    for key in ("train_loss", "val_loss"):
        torch.testing.assert_close(torch.tensor(run["history"][key]), torch.tensor(history[key]), rtol=1e-5, atol=1e-5)


def test_rank_0_writes_one_checkpoint_and_the_group_is_left(two_processes):
    out, run = two_processes
    # One checkpoint (rank 0's), beside the worker's own per-rank result files.
    assert sorted(p.name for p in out.iterdir()) == ["checkpoint.pt", "rank0.pt", "rank1.pt"]
    assert all(rank["group_left"] for rank in run["ranks"])
    state = torch.load(out / "checkpoint.pt", weights_only=True)
    assert state["epoch"] == 2 and state["history"]["epoch"] == [1, 2]


def test_adams_moments_match_one_process(two_processes, tmp_path):
    # Adam hides a gradient scaled by a constant (its steps divide by the gradient's size); its
    # first moment does not: a wrong factor of 2 in the all-reduce would show here.
    out, _ = two_processes
    one_process(batch_size=4, epochs=2, out=tmp_path)
    ddp = torch.load(out / "checkpoint.pt", weights_only=True)["optimiser"]["state"]
    single = torch.load(tmp_path / "checkpoint.pt", weights_only=True)["optimiser"]["state"]
    for index, moments in single.items():
        for key in ("exp_avg", "exp_avg_sq"):
            torch.testing.assert_close(ddp[index][key], moments[key], rtol=1e-4, atol=1e-9)


def test_with_batch_norm_every_rank_scores_and_returns_the_same(tmp_path):
    run = torchrun(2, tmp_path, batch_size=2, epochs=1, batch_norm=True)
    first, second = run["ranks"]
    assert first["history"] == second["history"]
    for name, tensor in first["weights"].items():
        torch.testing.assert_close(second["weights"][name], tensor, rtol=0, atol=0, msg=name)


def test_each_rank_draws_its_own_crops():
    from unetlib.data import RandomCrops
    from unetlib.train import _seed_epoch

    images, masks = [torch.rand(1, 40, 40).numpy()], [torch.zeros(40, 40, dtype=torch.long).numpy()]
    crops = {}
    for rank in (0, 1):
        data = RandomCrops(images, masks, crop=16, samples=2, augment=True, seed=0)
        _seed_epoch(data, seed=0, epoch=0, rank=rank)
        crops[rank] = data[0][0]
    assert not torch.equal(crops[0], crops[1])


def test_resume_with_another_number_of_processes(tmp_path):
    # A 2-epoch run on 2 processes, stopped after one by rank 0's on_epoch_end, resumed for the
    # second epoch on 1 process: the same as 2 epochs on 1.
    first = tmp_path / "first"
    first.mkdir()
    stopped = torchrun(2, first, batch_size=2, epochs=2, stop_after=1)
    assert stopped["history"]["epoch"] == [1]
    # The same global batch, 2 x 2 then 1 x 4: the warning names the per-process batch size.
    with pytest.warns(UserWarning, match=r"'batch_size': \(2, 4\)"):
        resumed, _ = one_process(batch_size=4, epochs=2, resume=first / "checkpoint.pt")
    straight, _ = one_process(batch_size=4, epochs=2)
    for name, tensor in straight.items():
        torch.testing.assert_close(resumed[name], tensor, rtol=1e-5, atol=1e-5, msg=name)


def test_global_batches_split_each_batch_between_the_ranks():
    def shares(rank):
        return [
            list(b)
            for b in GlobalBatches(7, batch_size=2, rank=rank, world_size=2, generator=torch.Generator().manual_seed(0))
        ]

    whole = [
        list(b)
        for b in GlobalBatches(7, batch_size=4, rank=0, world_size=1, generator=torch.Generator().manual_seed(0))
    ]
    rank0, rank1 = shares(0), shares(1)
    assert [len(b) for b in rank0] == [2, 2] and [len(b) for b in rank1] == [2, 1]
    assert [a + b for a, b in zip(rank0, rank1)] == whole
    # One process: the same order a shuffling DataLoader with the same generator gives.
    loader = torch.utils.data.DataLoader(
        range(7), batch_size=4, shuffle=True, generator=torch.Generator().manual_seed(0)
    )
    assert whole == [batch.tolist() for batch in loader]


def test_sync_batch_norm_on_the_cpu_is_refused_with_the_alternative():
    net = worker.model()
    with pytest.raises(ValueError, match="SyncBatchNorm has no CPU version.*own batch"):
        fit(net, worker.data(), epochs=1, device="cpu", progress=False, sync_batch_norm=True)
