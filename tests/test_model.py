"""unetlib.model: shapes against real forward passes and the paper's Fig. 1, clear errors, and
the PyTorch features a reader will try (channels_last, autocast, compile, export, GPUs)."""

from __future__ import annotations

import re

import pytest
import torch
from torch import nn

from unetlib.model import (
    CropAndConcat,
    DoubleConv,
    Down,
    UNet,
    Up,
    init_paper_weights,
    output_size,
    valid_input_sizes,
)

SMALL = {"base_channels": 4}  # the same architecture, narrow enough to run many sizes quickly


def small_unet(**overrides) -> UNet:
    torch.manual_seed(0)
    return UNet(**({"in_channels": 1, "num_classes": 2} | SMALL | overrides)).eval()


# ---- shapes ---------------------------------------------------------------------------------


@pytest.mark.parametrize("up_mode", ["transpose", "bilinear"])
@pytest.mark.parametrize(
    "depth, height, width",
    [(1, 18, 26), (1, 20, 32), (2, 44, 60), (2, 52, 44), (3, 92, 100), (3, 108, 92), (4, 188, 204)],
)
def test_valid_padding_output_shapes_match_the_arithmetic(up_mode, depth, height, width):
    model = small_unet(depth=depth, up_mode=up_mode)
    assert height in valid_input_sizes(depth, height, height) and width in valid_input_sizes(depth, width, width)
    with torch.no_grad():
        out = model(torch.randn(2, 1, height, width))
    assert out.shape == (2, 2, *model.output_shape(height, width))
    assert out.shape[-2:] == (output_size(height, depth), output_size(width, depth))


@pytest.mark.parametrize("up_mode", ["transpose", "bilinear"])
@pytest.mark.parametrize(
    "depth, height, width", [(1, 2, 3), (2, 7, 9), (3, 8, 8), (3, 17, 31), (4, 33, 50), (4, 100, 16)]
)
def test_same_padding_output_has_the_input_size_for_any_size(up_mode, depth, height, width):
    model = small_unet(depth=depth, up_mode=up_mode, padding="same", in_channels=3, num_classes=5)
    with torch.no_grad():
        out = model(torch.randn(1, 3, height, width))
    assert out.shape == (1, 5, height, width)


def test_the_paper_network_traces_fig_1_exactly():
    # Fig. 1 of Ronneberger et al. (2015), typed from the figure: the map size after each
    # pair of 3x3 convolutions, and the crops of the copied maps (e.g. 64 -> 56 at level 4).
    paper = [
        ("input", 1, 572),
        ("inc", 64, 568),
        ("down 1", 128, 280),
        ("down 2", 256, 136),
        ("down 3", 512, 64),
        ("down 4", 1024, 28),
        ("up 1", 512, 52),
        ("up 2", 256, 100),
        ("up 3", 128, 196),
        ("up 4", 64, 388),
        ("output", 2, 388),
    ]
    paper_crops = {"up 1": (64 - 56) // 2, "up 2": (136 - 104) // 2, "up 3": (280 - 200) // 2, "up 4": (568 - 392) // 2}
    trace = UNet(1, 2).shape_trace(572)
    assert [(s.name, s.channels, s.height) for s in trace] == paper
    assert all(s.height == s.width for s in trace)
    assert {s.name: s.crop for s in trace if s.crop} == paper_crops


def test_the_paper_network_has_the_hand_counted_parameters():
    # Convolution weights + biases, by hand: contracting path (DoubleConvs 1->64 ... 512->1024)
    # 18,842,048; expanding path (up-convolutions and DoubleConvs) 12,188,480; 1x1 head 130.
    model = UNet(1, 2)
    assert sum(p.numel() for p in model.parameters()) == 18_842_048 + 12_188_480 + 130
    assert model.widths == [64, 128, 256, 512, 1024]


@pytest.mark.parametrize("padding", ["valid", "same"])
def test_shape_trace_matches_a_real_forward_pass(padding):
    model = small_unet(depth=3, padding=padding)
    size = 92 if padding == "valid" else 64
    seen = []
    for name, module in [
        ("inc", model.inc),
        *((f"down {i + 1}", d) for i, d in enumerate(model.downs)),
        *((f"up {i + 1}", u) for i, u in enumerate(model.ups)),
    ]:
        module.register_forward_hook(lambda m, args, out, name=name: seen.append((name, *out.shape[1:])))
    crops = []
    for up in model.ups:
        up.concat.register_forward_hook(lambda m, args, out: crops.append((args[1].shape[-1] - args[0].shape[-1]) // 2))
    with torch.no_grad():
        model(torch.zeros(1, 1, size, size))
    trace = model.shape_trace(size)
    assert [(s.name, s.channels, s.height, s.width) for s in trace[1:-1]] == seen
    assert [s.crop for s in trace if s.name.startswith("up")] == crops


def test_valid_input_sizes_are_exactly_those_that_run():
    model = small_unet(depth=2)
    accepted = valid_input_sizes(depth=2, minimum=1, maximum=60)
    for size in range(1, 61):
        try:
            with torch.no_grad():
                _forward_without_check(model, torch.zeros(1, 1, size, size))
            runs = True
        except (RuntimeError, ValueError):
            runs = False
        assert (size in accepted) == runs, size


def _forward_without_check(model: UNet, x: torch.Tensor) -> torch.Tensor:
    """PyTorch's own verdict, without the model's arithmetic: the layers run, and at every skip
    connection the centre crop is exact (the size difference is even and not negative)."""
    skips, x = [], model.inc(x)
    for down in model.downs:
        skips.append(x)
        x = down(x)
    for up in model.ups:
        skip, x = skips.pop(), up.up(x)
        difference = skip.shape[-1] - x.shape[-1]
        if difference < 0 or difference % 2:
            raise ValueError(f"the skip ({skip.shape[-1]} px) and the upsampled map ({x.shape[-1]} px) do not line up")
        x = up.conv(up.concat(x, skip))
    return model.head(x)


# ---- the blocks -----------------------------------------------------------------------------


def test_blocks_one_box_of_fig_1_each():
    x = torch.zeros(1, 64, 136, 136)
    assert DoubleConv(64, 64)(x).shape == (1, 64, 132, 132)
    assert DoubleConv(64, 64, padding="same", batch_norm=True)(x).shape == (1, 64, 136, 136)
    assert Down(64, 128)(x).shape == (1, 128, 64, 64)
    assert Up(128, 64)(torch.zeros(1, 128, 30, 30), torch.zeros(1, 64, 64, 64)).shape == (1, 64, 56, 56)
    assert Up(128, 64, up_mode="bilinear")(torch.zeros(1, 128, 30, 30), torch.zeros(1, 64, 64, 64)).shape == (
        1,
        64,
        56,
        56,
    )


def test_crop_and_concat_takes_the_centre_skip_channels_first():
    skip = torch.arange(36.0).reshape(1, 1, 6, 6)
    x = torch.full((1, 2, 2, 2), -1.0)
    out = CropAndConcat()(x, skip)
    assert out.shape == (1, 3, 2, 2)
    assert torch.equal(out[0, 0], torch.tensor([[14.0, 15.0], [20.0, 21.0]]))  # rows 2-3, columns 2-3
    assert torch.equal(out[0, 1:], x[0])


def test_batch_norm_convolutions_have_no_bias():
    convs = [m for m in DoubleConv(3, 8, batch_norm=True).modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == 2 and all(c.bias is None for c in convs)


def test_paper_initialisation_std_is_sqrt_2_over_fan_in():
    model = init_paper_weights(UNet(1, 2))
    first, deep = model.inc[0], model.downs[3][1][2]  # 3x3 convs reading 1 and 1024 channels
    assert abs(first.weight.std().item() - (2 / 9) ** 0.5) < 0.05 * (2 / 9) ** 0.5
    assert abs(deep.weight.std().item() - (2 / (9 * 1024)) ** 0.5) < 0.01 * (2 / (9 * 1024)) ** 0.5
    up = model.ups[0].up  # 2x2 stride-2 up-convolution from 1024 channels: 1024 incoming connections
    assert abs(up.weight.std().item() - (2 / 1024) ** 0.5) < 0.01 * (2 / 1024) ** 0.5
    assert all(m.bias.abs().max() == 0 for m in model.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)))


def test_dropout_acts_in_training_only():
    model = small_unet(depth=2, dropout=0.5, padding="same")
    x = torch.randn(1, 1, 16, 16)
    model.train()
    assert not torch.equal(model(x), model(x))
    model.eval()
    assert torch.equal(model(x), model(x))


# ---- errors that say what to do --------------------------------------------------------------


def test_odd_size_names_the_nearest_sizes_that_work():
    model = small_unet()
    with pytest.raises(ValueError) as error:
        model(torch.zeros(1, 1, 570, 572))
    message = str(error.value)
    assert "input height 570" in message and "556 or 572" in message
    for size in map(int, re.search(r"(\d+) or (\d+)", message).groups()):
        assert size in valid_input_sizes(4, size, size)


@pytest.mark.parametrize(
    "make, x, error, words",
    [
        (
            lambda: small_unet(),
            torch.zeros(1, 3, 188, 188),
            ValueError,
            "3 channels but this UNet was built with in_channels=1",
        ),
        (lambda: small_unet(), torch.zeros(1, 188, 188), ValueError, r"add a batch axis with x\[None\]"),
        (lambda: small_unet(), torch.zeros(1, 1, 20, 20), ValueError, "nearest sizes that work are 188"),
        (lambda: small_unet(padding="same"), torch.zeros(1, 1, 12, 40), ValueError, "at least 16 pixels"),
        (lambda: small_unet(), [[0.0]], TypeError, "torch.Tensor"),
    ],
)
def test_bad_inputs_fail_before_any_computation(make, x, error, words):
    model = make()
    calls = []
    model.inc.register_forward_pre_hook(lambda *args: calls.append(1))
    with pytest.raises(error, match=words):
        model(x)
    assert calls == []


@pytest.mark.parametrize(
    "arguments, error, words",
    [
        ({"in_channels": 0}, ValueError, "in_channels must be at least 1"),
        ({"num_classes": 1.5}, TypeError, "num_classes must be an int, got float 1.5"),
        ({"depth": -1}, ValueError, "depth must be at least 0"),
        ({"depth": 2.0}, TypeError, "depth must be an int"),
        ({"padding": "full"}, ValueError, "padding must be one of"),
        ({"padding": 1}, TypeError, "padding must be one of"),
        ({"up_mode": "nearest"}, ValueError, "up_mode must be one of"),
        ({"dropout": 1.0}, ValueError, "dropout must be less than 1"),
        ({"dropout": "0.1"}, TypeError, "dropout must be a number"),
        ({"dropout": float("nan")}, ValueError, "dropout must be a finite number"),
        ({"base_channels": 0}, ValueError, "base_channels must be at least 1"),
        ({"batch_norm": "False"}, TypeError, "batch_norm must be True or False"),
    ],
)
def test_bad_constructor_arguments_are_named(arguments, error, words):
    with pytest.raises(error, match=words):
        UNet(**({"in_channels": 1, "num_classes": 2} | arguments))


def test_size_functions_validate_their_arguments():
    with pytest.raises(ValueError, match="nearest sizes that work are 556 or 572"):
        output_size(570)
    with pytest.raises(TypeError, match="input_size must be an int"):
        output_size(572.0)
    assert output_size(31, depth=4, padding="same") == 31
    assert valid_input_sizes(depth=0, maximum=5) == [5]


# ---- PyTorch features -------------------------------------------------------------------------


def test_channels_last_gives_the_same_numbers():
    model = small_unet(depth=2)
    x = torch.randn(2, 1, 44, 44)
    with torch.no_grad():
        expected = model(x)
        got = model.to(memory_format=torch.channels_last)(x.to(memory_format=torch.channels_last))
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)


def test_autocast_bfloat16_on_cpu_runs_and_stays_close():
    model = small_unet(depth=2)
    x = torch.randn(1, 1, 44, 44)
    with torch.no_grad():
        expected = model(x)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            got = model(x)
    assert got.dtype == torch.bfloat16
    torch.testing.assert_close(got.float(), expected, rtol=0.05, atol=0.05)


def test_torch_compile_captures_the_whole_graph():
    model = small_unet(depth=2)
    x = torch.randn(1, 1, 44, 44)
    compiled = torch.compile(model, backend="eager", fullgraph=True)  # graph capture, no code generation
    with torch.no_grad():
        torch.testing.assert_close(compiled(x), model(x))


def test_torch_export():
    # torch.export is PyTorch's way to save a model as a graph (TorchScript is deprecated).
    model = small_unet(depth=2)
    x = torch.randn(1, 1, 44, 44)
    with torch.no_grad():
        exported = torch.export.export(model, (x,))
        torch.testing.assert_close(exported.module()(x), model(x))


def test_gradients_reach_every_parameter():
    model = small_unet(depth=2, batch_norm=True).train()
    model(torch.randn(2, 1, 44, 44)).sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())


ACCELERATORS = [
    pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU")),
    pytest.param("mps", marks=pytest.mark.skipif(not torch.backends.mps.is_available(), reason="no Apple GPU")),
]


@pytest.mark.parametrize("device", ACCELERATORS)
def test_same_results_on_an_accelerator(device):
    model = small_unet(depth=3)
    x = torch.randn(2, 1, 92, 92)
    with torch.no_grad():
        expected = model(x)
        got = model.to(device)(x.to(device)).cpu()
    torch.testing.assert_close(got, expected, rtol=1e-3, atol=1e-3)
    model.train()
    loss = model(x.to(device)).square().mean()
    loss.backward()
    assert all(p.grad.device.type == device for p in model.parameters())


# ---- Valid sizes in closed form ---------------------------------------------------------------


def _fits_by_walking(size: int, depth: int) -> bool:
    """Independent reference: walk the map size down and up the network, level by level."""
    current = size - 4
    for _ in range(depth):
        if current < 1 or current % 2:
            return False
        current = current // 2 - 4
    if current < 1:
        return False
    for _ in range(depth):
        current = current * 2 - 4
        if current < 1:
            return False
    return True


@pytest.mark.parametrize("depth", range(0, 7))
def test_valid_sizes_in_closed_form_match_walking_the_network(depth):
    walked = [size for size in range(1, 1600) if _fits_by_walking(size, depth)]
    assert valid_input_sizes(depth, 1, 1599) == walked
    assert valid_input_sizes(depth, 300, 700) == [s for s in walked if 300 <= s <= 700]


@pytest.mark.parametrize(
    "call",
    [
        lambda: output_size(572, depth=60),  # searched for ever before
        lambda: output_size(1, depth=6),  # raised a bare StopIteration before
        lambda: UNet(1, 2, depth=7, base_channels=1)(torch.zeros(1, 1, 100, 100)),
    ],
)
def test_sizes_far_from_valid_get_the_nearest_valid_size_at_once(call):
    with pytest.raises(ValueError, match="nearest sizes that work are"):
        call()


def test_batch_norm_must_be_a_bool_not_a_string():
    with pytest.raises(TypeError, match="batch_norm must be True or False"):
        UNet(1, 2, batch_norm="False")


@pytest.mark.parametrize("x, skip", [((5, 5), (8, 8)), ((6, 6), (5, 8))])
def test_crop_and_concat_refuses_a_crop_without_a_centre(x, skip):
    with pytest.raises(ValueError, match="even number of pixels"):
        CropAndConcat()(torch.zeros(1, 2, *x), torch.zeros(1, 2, *skip))
