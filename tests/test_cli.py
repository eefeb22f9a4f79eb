"""``python -m unetlib.train``: trains on folders of images and colour masks, alone and under
torchrun, writes a checkpoint that load_checkpoint reads, and answers bad arguments in a sentence."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from skimage.io import imsave

from unetlib.cli import main
from unetlib.train import load_checkpoint

COLOURS = [[0, 0, 0], [226, 169, 41], [60, 16, 152]]  # background, water, building (Dubai-like)
TINY = [
    "--depth",
    "2",
    "--width",
    "4",
    "--crop",
    "32",
    "--samples",
    "4",
    "--batch-size",
    "2",
    "--epochs",
    "1",
    "--quiet",
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
        (["--classes", "2"], "fewer than the masks hold"),
        (["--depth", "-1"], "--depth must be at least 0"),
        (["--lr", "0"], "--lr must be a positive number"),
        (["--resume", "no-such.pt"], "no such file"),
        (["--device", "cuda:7"], "device"),
        (["--val-images", "."], "give both --val-images and --val-masks"),
        (["--lr", "inf"], "--lr must be a positive number"),
        (["--seed", "-1"], "--seed must be at least 0"),
        (["--seed", "1000000000000000"], "--seed must be below 2**31"),
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
    from unetlib.model import UNet
    from unetlib.train import save_checkpoint

    save_checkpoint(checkpoint, UNet(1, 3, depth=2, base_channels=4, padding="same"), None, epoch=1, history={})
    with pytest.raises(SystemExit):
        main(own(folders) + TINY + ["--resume", str(checkpoint)])
    assert "1 input channels and 3 classes, but the data have 3 channels" in capsys.readouterr().err


def test_resuming_a_checkpoint_saved_without_history(folders, tmp_path):
    checkpoint = tmp_path / "rgb.pt"
    from unetlib.model import UNet
    from unetlib.train import save_checkpoint

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
