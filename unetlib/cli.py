"""``python -m unetlib.train``: train a U-Net on a folder of images and a folder of masks.

The same command runs in one process or, under ``torchrun``, in many (one per GPU, on one machine
or several); :func:`unetlib.train.fit` does the distributing. Run it with ``--help`` for the
options; the examples there are the README's.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path

import numpy as np

from unetlib._checks import is_int

__all__ = ["main", "parser"]

EXAMPLES = """\
examples:
  # one machine, one process (a GPU if there is one)
  python -m unetlib.train --images data/images --masks data/masks --epochs 20 --checkpoint unet.pt

  # colour masks: a palette file lists one [R, G, B] per class, in class order
  python -m unetlib.train --images tiles/images --masks tiles/masks --palette palette.json --crop 256

  # 4 GPUs on this machine: the global batch is 4 x --batch-size
  torchrun --standalone --nproc_per_node=4 -m unetlib.train --images data/images --masks data/masks

  # 2 machines of 8 GPUs: run this on both, with the first machine's address
  torchrun --nnodes=2 --nproc_per_node=8 --rdzv-backend=c10d --rdzv-endpoint=HOST:29500 \\
      -m unetlib.train --images data/images --masks data/masks

The checkpoint loads with unetlib.train.load_checkpoint(path), which rebuilds the network.
"""


def parser() -> argparse.ArgumentParser:
    """The command's arguments, grouped as ``--help`` shows them."""
    p = argparse.ArgumentParser(
        prog="python -m unetlib.train",
        description="Train a U-Net on image/mask pairs; write a checkpoint that load_checkpoint reads.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    data = p.add_argument_group("data")
    data.add_argument(
        "--images", metavar="DIR", type=Path, help="folder of training images (paired with masks by sorted name)"
    )
    data.add_argument("--masks", metavar="DIR", type=Path, help="folder of training masks, one per image")
    data.add_argument("--val-images", metavar="DIR", type=Path, help="folder of validation images (optional)")
    data.add_argument("--val-masks", metavar="DIR", type=Path, help="folder of validation masks")
    data.add_argument("--dataset", choices=("bbbc039",), help="a registered set instead of folders (downloaded once)")
    masks = data.add_mutually_exclusive_group()
    masks.add_argument(
        "--encoding",
        choices=("binary", "indices"),
        default="binary",
        help="binary: 0 = background, anything else = 1; indices: each pixel holds its class (default: binary)",
    )
    masks.add_argument(
        "--palette", metavar="FILE", type=Path, help="JSON file: a list of [R, G, B], one per class, for colour masks"
    )
    data.add_argument(
        "--normalise",
        choices=("percentile", "scale"),
        default="percentile",
        help="percentile: stretch each image's 1st-99.8th percentile to 0..1 (microscopy); "
        "scale: divide by the type's maximum (photographs, aerial images) (default: percentile)",
    )
    model = p.add_argument_group("network (with --resume, the checkpoint's network is used)")
    model.add_argument("--classes", metavar="K", type=int, help="number of classes (default: from the masks)")
    model.add_argument("--depth", metavar="D", type=int, default=4, help="pooling steps (default: 4, as in the paper)")
    model.add_argument("--width", metavar="C", type=int, default=64, help="channels of the first level (default: 64)")
    model.add_argument(
        "--padding", choices=("valid", "same"), default="same", help="convolution padding (default: same)"
    )
    model.add_argument("--batch-norm", action="store_true", help="batch norm after every convolution")
    training = p.add_argument_group("training")
    training.add_argument(
        "--epochs", metavar="N", type=int, default=10, help="passes over --samples crops (default: 10)"
    )
    training.add_argument(
        "--batch-size", metavar="B", type=int, default=4, help="crops per step on each process (default: 4)"
    )
    training.add_argument(
        "--lr", metavar="RATE", type=float, default=1e-3, help="Adam's (peak) learning rate (default: 1e-3)"
    )
    training.add_argument(
        "--schedule",
        choices=("constant", "warmup-cosine"),
        default="warmup-cosine",
        help="learning-rate schedule (default: warmup-cosine)",
    )
    training.add_argument(
        "--crop", metavar="PIXELS", type=int, default=128, help="side of the random training crops (default: 128)"
    )
    training.add_argument("--samples", metavar="N", type=int, default=64, help="crops per epoch (default: 64)")
    training.add_argument("--no-augment", action="store_true", help="no flips, rotations or elastic deformation")
    training.add_argument(
        "--seed", metavar="N", type=int, default=0, help="seed of the weights, crops and order (default: 0)"
    )
    training.add_argument("--device", metavar="DEVICE", help="cpu, cuda, cuda:N or mps (default: the best there is)")
    training.add_argument(
        "--checkpoint", metavar="FILE", type=Path, default=Path("unet.pt"), help="where to save (default: unet.pt)"
    )
    training.add_argument(
        "--resume",
        metavar="FILE",
        type=Path,
        help="continue from this checkpoint (on several machines: a path every machine can read)",
    )
    training.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def _palette(path: Path) -> dict:
    """``{(R, G, B): class}`` from a JSON list of colours (or a ``{name: colour}`` dict, in order)."""
    try:
        colours = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise ValueError(f"--palette {path}: not a readable JSON file ({error})") from None
    if isinstance(colours, dict):
        colours = list(colours.values())
    if not (
        isinstance(colours, list)
        and colours
        and all(isinstance(c, list) and len(c) == 3 and all(is_int(v) and 0 <= v <= 255 for v in c) for c in colours)
    ):
        raise ValueError(f"--palette {path}: expected a list of [R, G, B] (0-255), one per class, got {colours!r:.80}")
    return {tuple(colour): index for index, colour in enumerate(colours)}


def _scale(image: np.ndarray) -> np.ndarray:
    top = np.iinfo(image.dtype).max if image.dtype.kind in "iu" else 1.0
    return (image / top).astype(np.float32)


def _datasets(args):
    from unetlib.data import RandomCrops, SegmentationDataset, load_bbbc039, normalise_percentile, split_touching

    if args.dataset == "bbbc039":
        _, images, instances = load_bbbc039()
        train_images, train_masks = images[:13], [split_touching(i) for i in instances[:13]]
        val_images, val_masks = images[13:15], [split_touching(i) for i in instances[13:15]]
    else:
        if args.images is None or args.masks is None:
            raise ValueError("give --images and --masks (folders), or --dataset")
        encoding = _palette(args.palette) if args.palette else args.encoding
        normalise = normalise_percentile if args.normalise == "percentile" else _scale
        train = SegmentationDataset(args.images, args.masks, encoding, normalise)
        train_images, train_masks = train.images, train.masks
        val_images = val_masks = None
        if (args.val_images is None) != (args.val_masks is None):
            raise ValueError("give both --val-images and --val-masks, or neither")
        if args.val_images is not None:
            val = SegmentationDataset(args.val_images, args.val_masks, encoding, normalise)
            val_images, val_masks = val.images, val.masks
    smallest = min(min(image.shape[1:]) for image in train_images)
    if args.crop > smallest:
        raise ValueError(f"--crop {args.crop} is larger than the smallest training image ({smallest} pixels)")
    train_set = RandomCrops(
        train_images, train_masks, crop=args.crop, samples=args.samples, augment=not args.no_augment, seed=args.seed
    )
    val_set = None
    if val_images is not None:
        val_set = RandomCrops(
            val_images,
            val_masks,
            crop=args.crop,
            samples=max(8, args.batch_size),
            augment=False,
            seed=args.seed + 1,
            fixed=True,
        )
    classes = int(max(int(mask.max()) for mask in train_masks)) + 1
    return train_set, val_set, train_images[0].shape[0], max(classes, 2)


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv``, train, save; return the exit status (argument errors exit with 2)."""
    import torch

    from unetlib.model import UNet, output_size
    from unetlib.train import choose_device, fit, load_checkpoint

    p = parser()
    args = p.parse_args(argv)
    for name in ("depth", "width", "epochs", "batch_size", "crop", "samples", "seed"):
        low = 0 if name in ("depth", "seed") else 1
        if getattr(args, name) < low:
            p.error(f"--{name.replace('_', '-')} must be at least {low}, got {getattr(args, name)}")
    if args.seed >= 2**31:
        p.error(f"--seed must be below 2**31, got {args.seed}")
    if not (math.isfinite(args.lr) and args.lr > 0):
        p.error(f"--lr must be a positive number, got {args.lr}")
    if args.resume is not None and not args.resume.is_file():
        p.error(f"--resume {args.resume}: no such file")
    if args.checkpoint.is_dir():
        p.error(f"--checkpoint {args.checkpoint} is a folder: give a file name, e.g. {args.checkpoint / 'unet.pt'}")
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    left = args.samples % (world_size * args.batch_size)
    if 0 < left < world_size:
        p.error(
            f"--samples {args.samples} in global batches of {world_size} x {args.batch_size} leaves {left} for the "
            f"last step, fewer than the {world_size} processes: use --samples {args.samples - left}"
        )
    try:
        choose_device(args.device)
        train_set, val_set, in_channels, classes = _datasets(args)
        if args.resume is not None:
            model = load_checkpoint(args.resume)["model"]
            if not isinstance(model, UNet):
                raise ValueError(f"--resume {args.resume} holds no U-Net configuration")
            if model.in_channels != in_channels or model.num_classes < classes:
                raise ValueError(
                    f"--resume {args.resume} holds a network for {model.in_channels} input channels and "
                    f"{model.num_classes} classes, but the data have {in_channels} channels and {classes} classes"
                )
        else:
            if args.classes is not None:
                if args.classes < classes:
                    raise ValueError(
                        f"--classes {args.classes} is fewer than the masks hold ({classes}: 0..{classes - 1})"
                    )
                classes = args.classes
            torch.manual_seed(args.seed)
            model = UNet(
                in_channels,
                classes,
                depth=args.depth,
                base_channels=args.width,
                padding=args.padding,
                batch_norm=args.batch_norm,
            )
        if model.padding == "valid":
            output_size(args.crop, model.depth, "valid")  # names the nearest crops that fit
        elif args.crop % 2**model.depth:
            raise ValueError(f"--crop {args.crop} must be a multiple of {2**model.depth} for depth {model.depth}")
    except (ValueError, TypeError, RuntimeError) as error:  # RuntimeError: a set that cannot be downloaded
        p.error(str(error))
    main_rank = int(os.environ.get("RANK", "0")) == 0
    history = fit(
        model,
        train_set,
        val=val_set,
        epochs=args.epochs,
        lr=args.lr,
        batch_size=args.batch_size,
        device=args.device,
        seed=args.seed,
        progress=not args.quiet,
        checkpoint=args.checkpoint,
        resume=args.resume,
        schedule=args.schedule,
    )
    if main_rank:
        scores = f", validation Dice {history['val_dice'][-1]:.3f}" if history["val_dice"] else ""
        print(
            f"trained {history['epoch'][-1]} epochs: loss {history['train_loss'][-1]:.4f}{scores}; "
            f"saved {args.checkpoint}",
            file=sys.stderr if args.quiet else sys.stdout,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
