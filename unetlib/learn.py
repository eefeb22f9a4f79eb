"""Kernels are learned: fit a convolution's weights to (input, filtered input) pairs.

Chapter 3 hands a randomly initialised ``nn.Conv2d`` some images and the same images filtered
by a known kernel (Sobel, say) and lets gradient descent find the kernel. Nothing here is
special to Sobel: the same loop learns any linear filter, and a U-Net's training is this loop
with more layers and a different loss.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from unetlib._checks import integer, number, real_array

__all__ = ["KernelFit", "learn_kernels"]


@dataclass(frozen=True)
class KernelFit:
    """What :func:`learn_kernels` found, and how it got there.

    Attributes:
        weight: the learned ``(out_channels, in_channels, k, k)`` kernels.
        losses: mean squared error before each step, shape ``(steps,)``.
        snapshot_steps: the steps at which ``snapshots`` were taken (0 is the random start).
        snapshots: the weights at those steps, shape ``(len(snapshot_steps), out, in, k, k)``.
    """

    weight: np.ndarray
    losses: np.ndarray
    snapshot_steps: np.ndarray
    snapshots: np.ndarray


def learn_kernels(
    inputs: np.ndarray | torch.Tensor,
    targets: np.ndarray | torch.Tensor,
    kernel_size: int = 3,
    steps: int = 400,
    lr: float = 0.05,
    momentum: float = 0.95,
    seed: int = 0,
    snapshot_every: int = 10,
) -> KernelFit:
    """Learn the kernels of ``nn.Conv2d(in, out, kernel_size, bias=False)`` that turn
    ``inputs`` into ``targets``, by full-batch gradient descent on the mean squared error.

    The convolution is linear in its weights, so this is least squares and has one answer;
    gradient descent (with Nesterov momentum) walks to it from random weights. It gets there in
    a few hundred steps when the inputs are standardised (zero mean, unit variance): otherwise
    the problem is ill-conditioned (Chapter 3 measures its condition number) and the directions
    of smallest curvature, the fine detail of the kernel, are learned very slowly.

    Runs in float64 on the CPU, seeded: the same call gives the same kernels bit for bit.

    Args:
        inputs: ``(N, C_in, H, W)`` images.
        targets: ``(N, C_out, H - k + 1, W - k + 1)``, the inputs filtered by the unknown
            kernels without padding.
        kernel_size: ``k``, the side of the square kernels to learn.
        steps: gradient-descent steps.
        lr: learning rate. Too large for the inputs and the loss grows instead of falling;
            this function then stops with an error that says so.
        momentum: Nesterov momentum, from 0 (plain gradient descent) to below 1.
        seed: seed of the random starting weights.
        snapshot_every: keep a copy of the weights every this many steps.

    Returns:
        A :class:`KernelFit`.

    Raises:
        FloatingPointError: if the loss becomes infinite or NaN (the learning rate is too large).

    Example:
        >>> from unetlib.kernels import sobel_vertical
        >>> images = torch.randn(4, 1, 32, 32, dtype=torch.float64)
        >>> sobel = torch.tensor(sobel_vertical())[None, None]
        >>> fit = learn_kernels(images, F.conv2d(images, sobel), steps=200)
        >>> bool(np.abs(fit.weight - sobel.numpy()).max() < 1e-6)
        True
    """
    inputs, targets = _as_tensor(inputs, "inputs"), _as_tensor(targets, "targets")
    for name, value, low in (
        ("kernel_size", kernel_size, 1),
        ("steps", steps, 1),
        ("snapshot_every", snapshot_every, 1),
    ):
        integer(value, name, minimum=low)
    lr, momentum = number(lr, "lr", above=0), number(momentum, "momentum", minimum=0, below=1)
    n, c_in, h, w = inputs.shape
    expected = (n, targets.shape[1], h - kernel_size + 1, w - kernel_size + 1)
    if targets.shape != expected:
        raise ValueError(
            f"targets must have shape (N, C_out, H - k + 1, W - k + 1) = {expected} for inputs of shape "
            f"{tuple(inputs.shape)} and kernel_size {kernel_size}, got {tuple(targets.shape)}; "
            "filter the inputs without padding"
        )

    # A plain nn.Conv2d, started from PyTorch's default random weights drawn from our own seed.
    generator = torch.Generator().manual_seed(seed)
    layer = nn.Conv2d(c_in, targets.shape[1], kernel_size, bias=False, dtype=torch.float64)
    bound = 1 / np.sqrt(c_in * kernel_size * kernel_size)
    with torch.no_grad():
        layer.weight.uniform_(-bound, bound, generator=generator)
    optimiser = torch.optim.SGD(layer.parameters(), lr=lr, momentum=momentum, nesterov=momentum > 0)

    losses, snapshot_steps, snapshots = [], [], []
    for step in range(steps):
        if step % snapshot_every == 0:
            snapshot_steps.append(step)
            snapshots.append(layer.weight.detach().clone())
        # The whole training loop of a neural network, in four lines.
        optimiser.zero_grad()
        loss = F.mse_loss(layer(inputs), targets)
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
        if not np.isfinite(losses[-1]):
            raise FloatingPointError(
                f"the loss became {losses[-1]} at step {step}: lr={lr} is too large for these inputs; "
                "try a smaller lr, or standardise the inputs (zero mean, unit variance)"
            )
    snapshot_steps.append(steps)
    snapshots.append(layer.weight.detach().clone())
    return KernelFit(
        weight=layer.weight.detach().numpy().copy(),
        losses=np.array(losses),
        snapshot_steps=np.array(snapshot_steps),
        snapshots=torch.stack(snapshots).numpy(),
    )


def _as_tensor(value: np.ndarray | torch.Tensor, name: str) -> torch.Tensor:
    array = real_array(value, name, ndim=4, shape_hint="(N, C, H, W)", finite=True)
    return torch.from_numpy(array).to(torch.float64)
