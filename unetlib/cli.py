"""``python -m unetlib.train``: train a U-Net on folders of images and masks.

The command is built from the library's own settings: one option per field of
:class:`~unetlib.model.UNetConfig` (the network) and of :class:`~unetlib.config.TrainConfig`
(the training), with the same names, and ``--recipe`` starts from one of the book's named
recipes (:mod:`unetlib.recipes`). The library checks every value; the command only turns its
errors into a sentence and exit status 2. The same command runs in one process or, under
``torchrun``, in many (one per GPU, on one machine or several). ``python -m unetlib.predict``
applies the checkpoint it writes to new images.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
import sys
from pathlib import Path

from unetlib.config import TrainConfig
from unetlib.model import UNetConfig
from unetlib.recipes import AUGMENTATIONS, DEFAULT_RECIPE, NORMALISATIONS, RECIPES

__all__ = ["main", "parser"]

EXAMPLES = """\
examples:
  # one machine, one process (a GPU if there is one)
  python -m unetlib.train --images data/images --masks data/masks --epochs 20 --checkpoint unet.pt

  # colour masks: a palette file lists one [R, G, B] per class, in class order
  python -m unetlib.train --images tiles/images --masks tiles/masks --palette palette.json --crop 256

  # Chapter 11's recipe on the Dubai tiles: the unlabelled colour is ignored, not a class
  python -m unetlib.train --recipe aerial --palette dubai --images "Tile 1/images" "Tile 2/images" \\
      --masks "Tile 1/masks" "Tile 2/masks" --epochs 25

  # then segment new scenes (any size, tiled) into colour masks
  python -m unetlib.predict --checkpoint unet.pt --input new_scenes/ --output masks/

  # a multi-band GeoTIFF scene and its label raster (same grid; nodata ignored; needs unetlib[geo])
  python -m unetlib.train --images scene.tif --masks labels.tif --crop 64 --checkpoint landcover.pt
  python -m unetlib.predict --checkpoint landcover.pt --input other_scene.tif --output classes.tif

  # 4 GPUs on this machine: the global batch is 4 x --batch-size
  torchrun --standalone --nproc_per_node=4 -m unetlib.train --images data/images --masks data/masks

  # 2 machines of 8 GPUs: run this on both, with the first machine's address
  torchrun --nnodes=2 --nproc_per_node=8 --rdzv-backend=c10d --rdzv-endpoint=HOST:29500 \\
      -m unetlib.train --images data/images --masks data/masks

The checkpoint loads with unetlib.checkpoints.load_checkpoint(path), which rebuilds the network.
"""

#: The network's settings the data decide (``--num-classes`` may raise the count).
FROM_DATA = ("in_channels",)


def parser() -> argparse.ArgumentParser:
    """The command's arguments, grouped as ``--help`` shows them."""
    p = argparse.ArgumentParser(
        prog="python -m unetlib.train",
        description="Train a U-Net on image/mask pairs; write a checkpoint that load_checkpoint and "
        "python -m unetlib.predict read. Options not given take the --recipe's values.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        argument_default=None,
    )
    _data_options(p.add_argument_group("data"))
    # Defaults shown are the default recipe's; --recipe NAME starts from another.
    network = p.add_argument_group("network (UNetConfig; with --resume, the checkpoint's network is used)")
    for option in dataclasses.fields(UNetConfig):
        if option.name not in FROM_DATA:
            default = DEFAULT_RECIPE.model.get(option.name, option.default)
            _add_setting(network, option, default, _NETWORK_OPTIONS[option.name])
    training = p.add_argument_group("training (TrainConfig)")
    for option in dataclasses.fields(TrainConfig):
        _add_setting(training, option, getattr(DEFAULT_RECIPE.train, option.name), option.metadata)
    run = p.add_argument_group("run")
    run.add_argument(
        "--checkpoint", metavar="FILE", type=Path, default=Path("unet.pt"), help="where to save (default: unet.pt)"
    )
    run.add_argument(
        "--resume",
        metavar="FILE",
        type=Path,
        help="continue from this checkpoint (on several machines: a path all can read)",
    )
    return p


_NETWORK_OPTIONS = {
    "num_classes": {"help": "number of classes (default: from the masks)", "metavar": "K"},
    "depth": {"help": "pooling steps (4 in the paper)", "metavar": "D"},
    "base_channels": {"help": "channels of the first level (64 in the paper)", "metavar": "C"},
    "padding": {"help": "convolution padding", "choices": ("valid", "same")},
    "up_mode": {"help": "transpose (the paper's up-convolution) or bilinear", "choices": ("transpose", "bilinear")},
    "batch_norm": {"help": "batch norm after every convolution"},
    "dropout": {"help": "dropout probability at the end of the contracting path", "metavar": "P"},
}


def _data_options(data) -> None:
    data.add_argument(
        "--recipe", choices=sorted(RECIPES), default="default", help="the settings to start from (default: default)"
    )
    data.add_argument(
        "--images",
        metavar="DIR",
        type=Path,
        nargs="+",
        help="folder(s) of training images (paired with masks by sorted name), or GeoTIFF scene(s)",
    )
    data.add_argument(
        "--masks",
        metavar="DIR",
        type=Path,
        nargs="+",
        help="folder(s) of training masks, one per image (label GeoTIFFs for scenes)",
    )
    data.add_argument(
        "--val-images", metavar="DIR", type=Path, nargs="+", help="folder(s) of validation images (optional)"
    )
    data.add_argument("--val-masks", metavar="DIR", type=Path, nargs="+", help="folder(s) of validation masks")
    data.add_argument(
        "--dataset",
        choices=("bbbc039",),
        help="a registered set instead of folders (downloaded once): bbbc039, Chapter 8's 60 nuclei fields and split",
    )
    masks = data.add_mutually_exclusive_group()
    masks.add_argument(
        "--encoding",
        choices=("binary", "indices"),
        default="binary",
        help="binary: 0 = background, anything else = 1; indices: each pixel holds its class (default: binary)",
    )
    masks.add_argument(
        "--palette",
        metavar="FILE",
        help="colour masks: a JSON list of [R, G, B], one per class, or {'classes': {name: colour}, "
        "'unlabelled': [colours]}; 'dubai' for the Dubai set's colours",
    )
    data.add_argument("--normalise", choices=NORMALISATIONS, help="how raw images become inputs (recipe default)")
    data.add_argument("--crop", metavar="PIXELS", type=int, help="side of the random training crops")
    data.add_argument("--samples", metavar="N", type=int, help="crops per epoch")
    data.add_argument("--augment", choices=AUGMENTATIONS, help="full, flips (and rotations) or none")


def _add_setting(group, option: dataclasses.Field, default, settings) -> None:
    """One option per setting, named as the library names it, typed from the field."""
    flag = "--" + option.name.replace("_", "-")
    kind = _field_type(option.type)
    shown = "" if default is None or isinstance(default, type(dataclasses.MISSING)) else f" (default: {default})"
    help = settings["help"] + shown
    if kind is bool:
        group.add_argument(flag, action=argparse.BooleanOptionalAction, help=help)
    elif option.name == "class_weights":
        group.add_argument(flag, type=float, nargs="+", metavar="W", help=help)
    elif "choices" in settings:
        group.add_argument(flag, type=kind, choices=settings["choices"], help=help)
    else:
        group.add_argument(flag, type=kind, metavar=settings.get("metavar", option.name.upper()), help=help)


def _field_type(annotation):
    """bool, float, int or str, from a dataclass field's annotation (a string under postponed annotations)."""
    for kind in (bool, float, int):
        if re.search(rf"\b{kind.__name__}\b", str(annotation)):
            return kind
    return str


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv``, train, save; return the exit status (argument errors exit with 2)."""
    from unetlib.checkpoints import add_checkpoint_data
    from unetlib.train import fit

    p = parser()
    args = p.parse_args(argv)
    try:
        recipe = _recipe(args)
        config = _train_config(args, recipe)
        _check_run(args, recipe, config)
        data = _prepared_data(args, recipe, config)
        if data.ignore_index is not None and config.ignore_index is None:
            config = config.replace(ignore_index=data.ignore_index)  # the palette's unlabelled colours
        model = _network(args, recipe, data, config.seed)
    except (ValueError, TypeError, RuntimeError) as error:  # RuntimeError: a set that cannot be downloaded
        p.error(str(error))
    main_rank = int(os.environ.get("RANK", "0")) == 0

    def keep_data(epoch: int, history: dict) -> None:
        # Prediction needs the normalisation and the palette: every checkpoint carries them.
        add_checkpoint_data(args.checkpoint, data.settings)

    history = fit(
        model, data.train, data.val, config, checkpoint=args.checkpoint, resume=args.resume, on_epoch_end=keep_data
    )
    if main_rank:
        scores = "".join(
            f", validation {key[4:]} {history[key][-1]:.3f}" for key in ("val_dice", "val_mean_iou") if key in history
        )
        print(
            f"trained {history['epoch'][-1]} epochs: loss {history['train_loss'][-1]:.4f}{scores}; saved {args.checkpoint}",
            file=sys.stderr if config.progress is False else sys.stdout,
        )
    return 0


def _recipe(args):
    """The recipe with the data options given on the command line."""
    recipe = RECIPES[args.recipe]
    changes = {
        name: getattr(args, name)
        for name in ("crop", "samples", "augment", "normalise")
        if getattr(args, name) is not None
    }
    return dataclasses.replace(recipe, **changes)


def _check_run(args, recipe, config: TrainConfig) -> None:
    """What only the command can check before reading any data: files, folders, and torchrun's share."""
    if args.resume is not None and not args.resume.is_file():
        raise ValueError(f"--resume {args.resume}: no such file")
    if args.checkpoint.is_dir():
        raise ValueError(
            f"--checkpoint {args.checkpoint} is a folder: give a file name, e.g. {args.checkpoint / 'unet.pt'}"
        )
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    batch_size = config.batch_size
    left = recipe.samples % (world_size * batch_size)
    if 0 < left < world_size:
        raise ValueError(
            f"--samples {recipe.samples} in global batches of {world_size} x {batch_size} leaves {left} for the "
            f"last step, fewer than the {world_size} processes: use --samples {recipe.samples - left}"
        )


def _train_config(args, recipe) -> TrainConfig:
    """The recipe's TrainConfig with every training option given."""
    changes = _given(args, TrainConfig)
    config = recipe.train
    # One setting at a time, so that an error names its option.
    for name, value in changes.items():
        try:
            config = config.replace(**{name: value})
        except (TypeError, ValueError) as error:
            raise ValueError(f"--{name.replace('_', '-')} {_shown(value)}: {error}") from None
    return config


def _shown(value) -> str:
    return " ".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)


def _network(args, recipe, data, seed: int):
    """A new U-Net from the recipe and the options (seeded), or the one in ``--resume``."""
    import torch

    from unetlib.checkpoints import load_checkpoint
    from unetlib.model import UNet, output_size

    if args.resume is not None:
        model = load_checkpoint(args.resume)["model"]
        if not isinstance(model, UNet):
            raise ValueError(f"--resume {args.resume} holds no U-Net configuration")
        too_few = model.num_classes < data.num_classes
        if data.settings.get("geo"):  # every class of a scene network has a label code to write
            too_few = model.num_classes != data.num_classes
        if model.in_channels != data.in_channels or too_few:
            raise ValueError(
                f"--resume {args.resume} holds a network for {model.in_channels} input channels and "
                f"{model.num_classes} classes, but the data have {data.in_channels} channels and {data.num_classes} classes"
            )
    else:
        settings = recipe.model | _given(args, UNetConfig, skip=FROM_DATA + ("num_classes",))
        classes = data.num_classes if args.num_classes is None else args.num_classes
        if data.settings.get("geo") and classes != data.num_classes:
            raise ValueError(
                f"--num-classes {classes}: the label rasters hold {data.num_classes} codes "
                f"{data.settings['class_values']}, one class each; leave --num-classes out"
            )
        if classes < data.num_classes:
            raise ValueError(
                f"--num-classes {classes} is fewer than the masks hold ({data.num_classes}: 0..{data.num_classes - 1})"
            )
        torch.manual_seed(seed)
        model = UNet(data.in_channels, classes, **settings)
    if model.padding == "valid":
        output_size(recipe.crop, model.depth, "valid")  # names the nearest crops that fit
    elif recipe.crop % 2**model.depth:
        raise ValueError(f"--crop {recipe.crop} must be a multiple of {2**model.depth} for depth {model.depth}")
    return model


def _given(args, settings_class, skip=()) -> dict:
    """The options of ``settings_class``'s fields that were given on the command line."""
    return {
        f.name: getattr(args, f.name)
        for f in dataclasses.fields(settings_class)
        if f.name not in skip and getattr(args, f.name) is not None
    }


def _prepared_data(args, recipe, config: TrainConfig):
    from unetlib._commands import prepare_training_data

    return prepare_training_data(args, recipe, config)


if __name__ == "__main__":
    sys.exit(main())
