"""``python -m unetlib.train``: trains on folders of images and colour masks, alone and under
torchrun, writes a checkpoint that load_checkpoint reads, and answers bad arguments in a sentence."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch
import pytest
from skimage.io import imsave

from unetlib.checkpoints import load_checkpoint, save_checkpoint
from unetlib.cli import main
from unetlib.model import UNet

COLOURS = [[0, 0, 0], [226, 169, 41], [60, 16, 152]]  # background, water, building (Dubai-like)
TINY = [
    "--depth",
    "2",
    "--base-channels",
    "4",
    "--crop",
    "32",
    "--samples",
    "4",
    "--batch-size",
    "2",
    "--epochs",
    "1",
    "--no-progress",
    "--device",
    "cpu",
]


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """Three 40x48 RGB images with palette masks: stripes of the three classes."""
    root = tmp_path_factory.mktemp("own_data")
    (root / "images").mkdir()
    (root / "masks").mkdir()
    rng = np.random.default_rng(0)
    for index in range(3):
        classes = (np.arange(48)[None, :] // 16 + index) % 3 * np.ones((40, 1), int)
        mask = np.array(COLOURS, np.uint8)[classes]
        image = (mask * 0.6 + rng.uniform(0, 100, mask.shape)).astype(np.uint8)
        imsave(root / "images" / f"tile_{index}.png", image, check_contrast=False)
        imsave(root / "masks" / f"tile_{index}.png", mask, check_contrast=False)
    (root / "palette.json").write_text(json.dumps(COLOURS))
    return root


def own(folders: Path) -> list[str]:
    return [
        "--images",
        str(folders / "images"),
        "--masks",
        str(folders / "masks"),
        "--palette",
        str(folders / "palette.json"),
        "--normalise",
        "scale",
    ]


def test_trains_on_folders_of_images_and_palette_masks(folders, tmp_path):
    checkpoint = tmp_path / "unet.pt"
    assert main(own(folders) + TINY + ["--checkpoint", str(checkpoint)]) == 0
    state = load_checkpoint(checkpoint)
    assert state["epoch"] == 1
    assert state["config"] | {} == state["model"].config.as_dict()
    assert (state["model"].in_channels, state["model"].num_classes) == (3, 3)


def test_resume_continues_to_more_epochs(folders, tmp_path):
    checkpoint = tmp_path / "unet.pt"
    main(own(folders) + TINY + ["--checkpoint", str(checkpoint)])
    main(own(folders) + TINY + ["--epochs", "2", "--checkpoint", str(checkpoint), "--resume", str(checkpoint)])
    assert load_checkpoint(checkpoint)["history"]["epoch"] == [1, 2]


def test_the_same_command_under_torchrun_on_two_processes(folders, tmp_path):
    checkpoint = tmp_path / "unet.pt"
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node=2",
        "-m",
        "unetlib.train",
        *own(folders),
        *TINY,
        "--checkpoint",
        str(checkpoint),
    ]
    result = subprocess.run(
        command, env=os.environ | {"OMP_NUM_THREADS": "1"}, capture_output=True, text=True, timeout=240
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stderr.count("trained 1 epochs") == 1  # rank 0 reports, once
    assert load_checkpoint(checkpoint)["model"].num_classes == 3


def test_help_reads_like_a_good_command_line(capsys):
    with pytest.raises(SystemExit) as exit:
        main(["--help"])
    text = capsys.readouterr().out
    assert exit.value.code == 0
    for words in (
        "--images DIR",
        "--palette FILE",
        "torchrun --standalone --nproc_per_node=4 -m unetlib.train",
        "--rdzv-endpoint",
        "load_checkpoint",
    ):
        assert words in text


@pytest.mark.parametrize(
    "arguments, message",
    [
        ([], "give --images and --masks"),
        (["--crop", "500"], "larger than the smallest training image"),
        (["--crop", "30"], "must be a multiple of 4"),
        (["--padding", "valid", "--crop", "30"], "nearest sizes that work are"),
        (["--num-classes", "2"], "fewer than the masks hold"),
        (["--depth", "-1"], "depth must be"),
        (["--lr", "0"], "--lr 0.0: lr must be greater than 0"),
        (["--resume", "no-such.pt"], "no such file"),
        (["--device", "cuda:7"], "device"),
        (["--val-images", "."], "give both --val-images and --val-masks"),
        (["--lr", "inf"], "--lr inf: lr must be"),
        (["--seed", "-1"], "--seed -1: seed must be"),
        (["--seed", "1000000000000000"], "--seed 1000000000000000: seed must be"),
        (["--loss", "dice", "--class-weights", "1", "2", "3"], "class_weights weight the cross-entropy"),
        (["--class-weights", "1", "-2", "3"], "--class-weights 1.0 -2.0 3.0"),
        (["--ignore-index", "x"], "invalid int value"),
        (["--checkpoint", "."], "is a folder"),
        (["--samples", "5", "--batch-size", "2"], None),  # fine in one process: see the torchrun case
    ],
)
def test_bad_arguments_get_a_sentence_and_exit_status_2(folders, capsys, tmp_path, arguments, message):
    base = [] if arguments == [] else own(folders)
    if message is None:
        assert main(base + TINY + arguments + ["--checkpoint", str(tmp_path / "unet.pt")]) == 0
        return
    with pytest.raises(SystemExit) as exit:
        main(base + TINY + arguments)
    assert exit.value.code == 2
    assert message in capsys.readouterr().err


def test_samples_that_leave_a_process_without_an_image_are_refused(folders, capsys, monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")  # as torchrun sets it; checked before any process group
    with pytest.raises(SystemExit):
        main(own(folders) + TINY + ["--samples", "5", "--batch-size", "2"])
    assert "use --samples 4" in capsys.readouterr().err


def test_resuming_with_data_of_another_channel_count_is_refused(folders, tmp_path, capsys):
    checkpoint = tmp_path / "grey.pt"
    save_checkpoint(checkpoint, UNet(1, 3, depth=2, base_channels=4, padding="same"), None, epoch=1, history={})
    with pytest.raises(SystemExit):
        main(own(folders) + TINY + ["--resume", str(checkpoint)])
    assert "1 input channels and 3 classes, but the data have 3 channels" in capsys.readouterr().err


def test_resuming_a_checkpoint_saved_without_history(folders, tmp_path):
    checkpoint = tmp_path / "rgb.pt"
    save_checkpoint(checkpoint, UNet(3, 3, depth=2, base_channels=4, padding="same"), None, epoch=0, history={})
    assert main(own(folders) + TINY + ["--resume", str(checkpoint), "--checkpoint", str(checkpoint)]) == 0
    assert load_checkpoint(checkpoint)["history"]["epoch"] == [1]


def test_a_colour_outside_the_palette_names_the_file_and_colour(folders, tmp_path, capsys):
    (tmp_path / "palette.json").write_text(json.dumps(COLOURS[:2]))
    arguments = own(folders)
    arguments[arguments.index("--palette") + 1] = str(tmp_path / "palette.json")
    with pytest.raises(SystemExit):
        main(arguments + TINY)
    error = capsys.readouterr().err
    assert "colours not in the palette" in error and "(60, 16, 152)" in error and "tile_0.png" in error


def test_a_palette_file_that_is_not_a_list_of_colours_is_refused(folders, tmp_path, capsys):
    (tmp_path / "palette.json").write_text('{"water": "blue"}')
    arguments = own(folders)
    arguments[arguments.index("--palette") + 1] = str(tmp_path / "palette.json")
    with pytest.raises(SystemExit):
        main(arguments + TINY)
    assert "expected a list of [R, G, B]" in capsys.readouterr().err


def test_help_offers_every_training_setting_by_its_library_name(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    text = capsys.readouterr().out
    for option in ("--loss", "--ignore-index", "--class-weights", "--recipe", "--base-channels", "--num-classes"):
        assert option in text


def test_the_seed_reaches_the_weights_and_the_crops(folders, tmp_path):
    weights = {}
    for run, seed in (("a", "0"), ("b", "0"), ("c", "1")):
        main(own(folders) + TINY + ["--seed", seed, "--checkpoint", str(tmp_path / f"{run}.pt")])
        weights[run] = load_checkpoint(tmp_path / f"{run}.pt")["model"].head.weight
    assert torch.equal(weights["a"], weights["b"])
    assert not torch.equal(weights["a"], weights["c"])


def test_a_palette_with_unlabelled_colours_trains_them_as_the_ignore_index(folders, tmp_path):
    # The first colour (black) becomes "unlabelled": 2 classes remain, and black pixels count for nothing.
    (tmp_path / "palette.json").write_text(json.dumps({"classes": COLOURS[1:], "unlabelled": COLOURS[:1]}))
    arguments = own(folders)
    arguments[arguments.index("--palette") + 1] = str(tmp_path / "palette.json")
    main(arguments + TINY + ["--loss", "dice", "--checkpoint", str(tmp_path / "unet.pt")])
    state = load_checkpoint(tmp_path / "unet.pt")
    assert state["model"].num_classes == 2
    assert state["train_config"]["ignore_index"] == 255 and state["train_config"]["loss"] == "dice"
    assert state["data"]["palette"] == COLOURS[1:]


# ---- Chapter 11's setup, trained by the command and applied by python -m unetlib.predict ----------------------


@pytest.fixture(scope="module")
def dubai(tmp_path_factory):
    """Two Tile 1 scenes as folders (the command's input) and as load_dubai returns them."""
    shared = Path(__file__).resolve().parents[2] / "shared" / "datasets"
    if not shared.is_dir():
        pytest.skip("the Dubai files are not here (../shared/datasets)")
    os.environ.setdefault("UNETLIB_DATA", str(shared))
    from unetlib.data import load_dubai

    names, images, targets = load_dubai()
    root = tmp_path_factory.mktemp("dubai")
    picked = [names.index(f"Tile 1/image_part_00{k}") for k in (1, 2)]
    new = [names.index(f"Tile 3/image_part_00{k}") for k in (1, 2)]
    folder = shared / "dubai_aerial_landcover_subset"
    for kind, suffix in (("images", "jpg"), ("masks", "png")):
        (root / kind).mkdir()
        for k in (1, 2):
            (root / kind / f"part_{k}.{suffix}").symlink_to(folder / f"Tile 1/{kind}/image_part_00{k}.{suffix}")
    (root / "new").mkdir()
    for k in (1, 2):
        (root / "new" / f"scene_{k}.jpg").symlink_to(folder / f"Tile 3/images/image_part_00{k}.jpg")
    return root, [images[i] for i in picked], [targets[i] for i in picked], [images[i] for i in new]


DUBAI_TINY = ["--depth", "2", "--base-channels", "4", "--crop", "32", "--batch-size", "2", "--samples", "4"]


def test_the_command_trains_chapter_11s_recipe_exactly_as_the_library(dubai, tmp_path):
    from unetlib.data import UNLABELLED
    from unetlib.experiments import train_multiclass

    root, images, targets, _ = dubai
    checkpoint = tmp_path / "aerial.pt"
    arguments = ["--recipe", "aerial", "--palette", "dubai", "--images", str(root / "images"), "--masks"]
    arguments += [str(root / "masks"), "--num-classes", "5", "--epochs", "1", "--seed", "3", "--device", "cpu"]
    assert main(arguments + DUBAI_TINY + ["--no-progress", "--checkpoint", str(checkpoint)]) == 0
    library = train_multiclass(
        images,
        targets,
        5,
        ignore_index=UNLABELLED,
        seed=3,
        steps=2,
        device="cpu",
        depth=2,
        base_channels=4,
        crop=32,
        batch_size=2,
    )
    state = load_checkpoint(checkpoint)
    assert state["train_config"]["ignore_index"] == UNLABELLED and state["train_config"]["loss"] == "dice"
    np.testing.assert_array_equal(state["data"]["mean"], library.mean)
    for name, value in library.model.state_dict().items():
        assert torch.equal(state["model"].state_dict()[name], value), name
    assert library.steps == 2 and state["history"]["steps"] == [2]
    # Trained, not just built from the same seed: the weights left their initial values.
    torch.manual_seed(3)
    initial = UNet(3, 5, depth=2, base_channels=4, padding="same", batch_norm=True)
    assert not torch.equal(initial.head.weight, library.model.head.weight)


def test_predict_writes_the_colour_masks_of_new_scenes(dubai, tmp_path):
    from PIL import Image

    from unetlib.data import DUBAI_PALETTE
    from unetlib.predict import main as predict
    from unetlib.prediction import Segmenter

    root, *_, new_images = dubai
    checkpoint = tmp_path / "aerial.pt"
    arguments = ["--recipe", "aerial", "--palette", "dubai", "--images", str(root / "images"), "--masks"]
    main(
        arguments
        + [str(root / "masks"), "--num-classes", "5", "--epochs", "1", "--no-progress"]
        + DUBAI_TINY
        + ["--checkpoint", str(checkpoint)]
    )
    assert (
        predict(["--checkpoint", str(checkpoint), "--input", str(root / "new"), "--output", str(tmp_path / "out")]) == 0
    )
    state = load_checkpoint(checkpoint)
    # The same network, normalisation and tiling by hand: the masks must match pixel for pixel.
    segment = Segmenter(state["model"], state["data"]["mean"], state["data"]["std"], tile_size=256, margin=64)
    colours = {index: colour for colour, index in DUBAI_PALETTE.items() if index < 5}
    for k, image in enumerate(new_images, start=1):
        written = np.asarray(Image.open(tmp_path / "out" / f"scene_{k}.png"))
        assert written.shape == (*image.shape[1:], 3)
        expected = np.array([colours[c] for c in range(5)], np.uint8)[segment(image)]
        np.testing.assert_array_equal(written, expected)


def test_predict_refuses_what_it_cannot_use(folders, tmp_path, capsys):
    from unetlib.predict import main as predict

    checkpoint = tmp_path / "unet.pt"
    main(own(folders) + TINY + ["--checkpoint", str(checkpoint)])
    for arguments, message in (
        (["--input", str(tmp_path / "nothing")], "no such file or folder"),
        (["--input", str(folders / "images"), "--output", str(checkpoint)], "must be a folder"),
        (["--input", str(folders / "images" / "tile_0.png"), "--output", str(tmp_path / "x.jpg")], ".png"),
    ):
        with pytest.raises(SystemExit):
            predict(
                ["--checkpoint", str(checkpoint), *arguments]
                + ([] if "--output" in arguments else ["--output", str(tmp_path)])
            )
        assert message in capsys.readouterr().err


def test_the_command_trains_chapter_8s_recipe_exactly_as_the_library(tmp_path, monkeypatch):
    shared = Path(__file__).resolve().parents[2] / "shared" / "datasets"
    if not shared.is_dir():
        pytest.skip("the BBBC039 files are not here (../shared/datasets)")
    monkeypatch.setenv("UNETLIB_DATA", str(shared))
    from skimage.measure import label

    from unetlib.data import load_bbbc039, split_touching
    from unetlib.experiments import train_on_crops
    from unetlib.losses import weight_map
    from unetlib.recipes import BBBC039_SPLIT, CHAPTER8_RECIPE

    checkpoint = tmp_path / "nuclei.pt"
    # Two steps of the recipe (16 crops in batches of 8): enough to tell any difference.
    arguments = ["--recipe", "chapter8", "--dataset", "bbbc039", "--epochs", "1", "--samples", "16", "--seed", "2"]
    assert main(arguments + ["--device", "cpu", "--no-progress", "--checkpoint", str(checkpoint)]) == 0
    _, images, instances = load_bbbc039(more=True)
    separated = [split_touching(instances[i]) for i in BBBC039_SPLIT.train]
    weights = [weight_map(label(s), balance=False) for s in separated]
    recipe = dataclasses.replace(CHAPTER8_RECIPE, samples=16)
    model, history, _ = train_on_crops(
        BBBC039_SPLIT.pick(images, "train"), separated, weights, seed=2, device="cpu", epochs=1, recipe=recipe
    )
    assert history["steps"] == [2]
    saved = load_checkpoint(checkpoint)["model"].state_dict()
    for name, value in model.state_dict().items():
        assert torch.equal(saved[name], value), name
