"""Checkpoints: a trained network, its settings and its history, saved so that nothing is lost.

A checkpoint holds the network's :class:`~unetlib.model.UNetConfig`, its weights, the optimiser,
the epoch, the history, the :class:`~unetlib.config.TrainConfig` it was trained with and what
prediction needs to treat new images the same way (``data``: e.g. the normalisation and the
palette). It is written to a temporary file and renamed, so an interrupted save never destroys the
previous one; a SHA-256 of every tensor is saved with it; and it is read with
``torch.load(weights_only=True)``, which cannot run code hidden in a file.
"""

from __future__ import annotations

import hashlib
import math
import os
import pickle
import tempfile
from pathlib import Path

import torch
from torch import nn

from unetlib._checks import describe, is_int
from unetlib.config import TrainConfig
from unetlib.model import UNet, UNetConfig

__all__ = ["add_checkpoint_data", "load_checkpoint", "save_checkpoint"]


def save_checkpoint(
    path: str | Path,
    model: nn.Module,
    optimiser: torch.optim.Optimizer | None = None,
    epoch: int = 0,
    history: dict[str, list[float]] | None = None,
    config: TrainConfig | None = None,
    data: dict | None = None,
) -> Path:
    """Write the model's configuration and weights, the optimiser, epoch, history, training
    settings and ``data`` to ``path``, atomically.

    The data go to a temporary file in the same folder, which is then renamed over ``path``:
    a crash during the save leaves the previous checkpoint intact. A SHA-256 of every tensor is
    saved with them; :func:`load_checkpoint` refuses a file whose tensors no longer match it.

    Args:
        path: the file to write (its folder is created).
        model: the network (a :class:`~unetlib.model.UNet` is rebuilt from its saved configuration).
        optimiser: its optimiser, to resume training exactly (or None).
        epoch: the number of epochs trained, a whole number >= 0.
        history: ``{name: [value per epoch]}``, as :func:`~unetlib.train.fit` returns it.
        config: the :class:`~unetlib.config.TrainConfig` the model was trained with.
        data: plain values prediction needs (``python -m unetlib.train`` stores the
            normalisation, the palette and the class names here).

    Example:
        >>> import tempfile
        >>> model = UNet(1, 2, depth=2, base_channels=4, padding="same")
        >>> path = Path(tempfile.mkdtemp()) / "model.pt"
        >>> _ = save_checkpoint(path, model, epoch=3)
        >>> state = load_checkpoint(path)   # rebuilds the UNet from its saved configuration
        >>> state["epoch"], torch.equal(state["model"].head.weight, model.head.weight)
        (3, True)
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {describe(model)}")
    if not is_int(epoch) or epoch < 0:
        raise TypeError(f"epoch must be a whole number >= 0 (the epochs trained), got {describe(epoch)}")
    if config is not None and not isinstance(config, TrainConfig):
        raise TypeError(f"config must be a unetlib.config.TrainConfig or None, got {describe(config)}")
    if data is not None and not isinstance(data, dict):
        raise TypeError(f"data must be a dict of plain values or None, got {describe(data)}")
    history = _plain_history(history or {})
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {
        "config": _config_dict(model),
        "model": model.state_dict(),
        "optimiser": optimiser.state_dict() if optimiser is not None else None,
        "epoch": int(epoch),
        "history": history,
        "train_config": None if config is None else config.as_dict(),
        "data": data,
    }
    _write(path, state)
    return path


def add_checkpoint_data(path: str | Path, data: dict) -> Path:
    """Add (or replace) the ``data`` entry of the checkpoint at ``path``, atomically and checksummed.

    ``python -m unetlib.train`` records the normalisation and the palette this way after every
    epoch's save, so that ``python -m unetlib.predict`` treats new images as training did.
    """
    if not isinstance(data, dict):
        raise TypeError(f"data must be a dict of plain values, got {describe(data)}")
    path = Path(path)
    state = _read(path)
    state["data"] = data
    _write(path, state)
    return path


def _write(path: Path, state: dict) -> None:
    """Save ``state`` with its checksum to a temporary file beside ``path``, then rename it over ``path``."""
    state["checksum"] = _checksum(state)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".partial")
    try:
        with os.fdopen(handle, "wb") as file:
            torch.save(state, file)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _plain_history(history) -> dict:
    """The history as plain lists (ints for epochs, floats for scores), checked."""
    if not isinstance(history, dict):
        raise TypeError(f"history must be a dict of lists, as fit returns it, got {describe(history)}")
    plain = {}
    for key, values in history.items():
        try:
            plain[str(key)] = [int(v) if key in ("epoch", "steps") else float(v) for v in values]
        except (TypeError, ValueError):
            raise TypeError(f"history[{key!r}] must be a list of numbers, got {describe(values)}") from None
        if key == "epoch" and any(not math.isfinite(v) or v < 0 for v in plain[key]):
            raise ValueError(f"history['epoch'] must hold whole numbers >= 0, got {values!r}")
    return plain


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
        The checkpoint's contents, a dict with ``"model"`` (the restored model), ``"epoch"``, ``"history"``,
        ``"train_config"`` (the :meth:`~unetlib.config.TrainConfig.as_dict` it was trained with,
        or None) and ``"data"`` (or None).
    """
    state = _read(Path(path))
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


def _read(path: Path) -> dict:
    """The checkpoint at ``path``, read safely and checked (checksum, a model entry)."""
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
    return state
