"""unetlib.conv against independent references: torch.nn.functional / nn.Conv2d, SciPy, hand sums."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.signal
import torch
import torch.nn.functional as F

from unetlib.conv import PADDING_MODES, conv2d, conv2d_naive, conv_output_size, convolve2d, dilate_kernel, pad2d

TORCH_PAD_MODE = {"zeros": "constant", "reflect": "reflect", "replicate": "replicate", "circular": "circular"}


def torch_reference(x, weight, bias, stride, padding, dilation, padding_mode):
    """nn.Conv2d's computation, in float64: pad with F.pad for non-zero modes, then F.conv2d."""
    x_t, w_t = torch.from_numpy(x), torch.from_numpy(weight)
    b_t = None if bias is None else torch.from_numpy(bias)
    if padding_mode != "zeros" and not isinstance(padding, str):
        ph, pw = padding
        x_t = F.pad(x_t, (pw, pw, ph, ph), mode=TORCH_PAD_MODE[padding_mode])
        padding = 0
    return F.conv2d(x_t, w_t, b_t, stride=stride, padding=padding, dilation=dilation).numpy()


def random_case(rng: np.random.Generator, max_size: int):
    """A random valid configuration: batch, channels, odd/even sizes, every padding mode."""
    while True:
        n, c, o = rng.integers(1, 4), rng.integers(1, 4), rng.integers(1, 4)
        h, w = rng.integers(1, max_size + 1, size=2)
        kh, kw = rng.integers(1, 6, size=2)
        stride = tuple(int(s) for s in rng.integers(1, 4, size=2))
        dilation = tuple(int(d) for d in rng.integers(1, 4, size=2))
        mode = PADDING_MODES[rng.integers(len(PADDING_MODES))]
        if rng.random() < 0.15 and stride == (1, 1) and mode == "zeros":
            padding = "same"
        else:
            padding = tuple(int(p) for p in rng.integers(0, 4, size=2))
            if mode == "reflect" and (padding[0] >= h or padding[1] >= w):
                continue
            if mode == "circular" and (padding[0] > h or padding[1] > w):
                continue
            if any(dilation[i] * ((kh, kw)[i] - 1) + 1 > (h, w)[i] + 2 * padding[i] for i in range(2)):
                continue
        x = rng.standard_normal((n, c, h, w))
        weight = rng.standard_normal((o, c, kh, kw))
        bias = rng.standard_normal(o) if rng.random() < 0.7 else None
        return x, weight, bias, stride, padding, dilation, mode


@pytest.mark.parametrize("seed", range(6))
def test_conv2d_matches_pytorch_on_random_cases(seed):
    rng = np.random.default_rng(seed)
    for _ in range(100):
        case = random_case(rng, max_size=12)
        x, weight, bias, stride, padding, dilation, mode = case
        expected = torch_reference(*case)
        got = conv2d(x, weight, bias, stride=stride, padding=padding, dilation=dilation, padding_mode=mode)
        assert got.shape == expected.shape, case[3:]
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-10, err_msg=str(case[3:]))


@pytest.mark.parametrize("seed", range(3))
def test_conv2d_naive_matches_pytorch_on_random_cases(seed):
    rng = np.random.default_rng(100 + seed)
    for _ in range(40):
        case = random_case(rng, max_size=7)
        x, weight, bias, stride, padding, dilation, mode = case
        got = conv2d_naive(x, weight, bias, stride=stride, padding=padding, dilation=dilation, padding_mode=mode)
        np.testing.assert_allclose(got, torch_reference(*case), rtol=0, atol=1e-10, err_msg=str(case[3:]))


@pytest.mark.parametrize("mode", PADDING_MODES)
def test_padding_modes_match_nn_conv2d_module(mode):
    """nn.Conv2d(padding_mode=...) itself, not our reading of it."""
    rng = np.random.default_rng(1)
    x, weight, bias = rng.standard_normal((2, 3, 9, 8)), rng.standard_normal((4, 3, 3, 2)), rng.standard_normal(4)
    module = torch.nn.Conv2d(3, 4, (3, 2), stride=(2, 1), padding=(2, 1), dilation=(1, 2), padding_mode=mode).double()
    with torch.no_grad():
        module.weight.copy_(torch.from_numpy(weight))
        module.bias.copy_(torch.from_numpy(bias))
        expected = module(torch.from_numpy(x)).numpy()
    got = conv2d(x, weight, bias, stride=(2, 1), padding=(2, 1), dilation=(1, 2), padding_mode=mode)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-10)


def test_layouts_2d_3d_4d_give_the_same_numbers():
    rng = np.random.default_rng(2)
    image, kernel = rng.standard_normal((6, 7)), rng.standard_normal((3, 2))
    out_2d = conv2d(image, kernel, bias=0.5)
    assert out_2d.shape == (4, 6)
    np.testing.assert_allclose(conv2d(image[None], kernel[None, None], bias=[0.5]), out_2d[None])
    np.testing.assert_allclose(conv2d(image[None, None], kernel[None, None], bias=np.array([0.5])), out_2d[None, None])


def test_worked_example_by_hand():
    """The 5x5 -> 3x3 example of Chapter 1, first value summed by hand."""
    image = np.arange(25.0).reshape(5, 5)
    kernel = np.array([[1.0, 0.0, -1.0]] * 3)
    out = conv2d(image, kernel)
    assert out.shape == (3, 3)
    # Each row of a window is (a, a+1, a+2): a - (a + 2) = -2, over three rows: -6 everywhere.
    np.testing.assert_array_equal(out, np.full((3, 3), -6.0))
    assert conv2d(image, kernel, padding=1).shape == (5, 5)


def test_integer_and_bool_inputs_are_computed_in_float64():
    out = conv2d(np.ones((4, 4), dtype=np.int32), np.ones((2, 2), dtype=bool))
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, np.full((3, 3), 4.0))


def test_float32_stays_float32():
    out = conv2d(np.ones((4, 4), dtype=np.float32), np.ones((2, 2), dtype=np.float32))
    assert out.dtype == np.float32


def test_same_padding_with_even_kernel_matches_pytorch():
    """PyTorch allows 'same' with an even kernel (extra padding after); so do we."""
    rng = np.random.default_rng(3)
    x, weight = rng.standard_normal((1, 2, 7, 6)), rng.standard_normal((3, 2, 4, 2))
    with warnings.catch_warnings():  # PyTorch warns (once per process) that it makes a padded copy
        warnings.simplefilter("ignore", UserWarning)
        expected = F.conv2d(torch.from_numpy(x), torch.from_numpy(weight), padding="same", dilation=(1, 3)).numpy()
    got = conv2d(x, weight, padding="same", dilation=(1, 3))
    assert got.shape == (1, 3, 7, 6)
    np.testing.assert_allclose(got, expected, atol=1e-10)


def test_conv_output_size_matches_pytorch_on_a_grid():
    checked = 0
    for size in range(1, 13):
        for kernel in range(1, 6):
            for padding in range(0, 4):
                for stride in range(1, 4):
                    for dilation in range(1, 4):
                        if dilation * (kernel - 1) + 1 > size + 2 * padding:
                            with pytest.raises(ValueError, match="spans"):
                                conv_output_size(size, kernel, stride, padding, dilation)
                            continue
                        x = torch.zeros(1, 1, size, 1)
                        w = torch.zeros(1, 1, kernel, 1)
                        expected = F.conv2d(
                            x, w, stride=(stride, 1), padding=(padding, 0), dilation=(dilation, 1)
                        ).shape[2]
                        assert conv_output_size(size, kernel, stride, padding, dilation) == expected
                        checked += 1
    assert checked > 1500
    assert conv_output_size(5, 3, padding="same") == 5
    assert conv_output_size(5, 3, padding="valid") == 3


@pytest.mark.parametrize("mode", PADDING_MODES)
@pytest.mark.parametrize("padding", [1, (2, 0), (0, 1, 2, 3)])
def test_pad2d_matches_torch_pad(mode, padding):
    x = np.random.default_rng(4).standard_normal((2, 3, 5, 6))
    if isinstance(padding, int):
        torch_pad = (padding,) * 4
    elif len(padding) == 2:
        torch_pad = (padding[1], padding[1], padding[0], padding[0])
    else:
        torch_pad = padding
    expected = F.pad(torch.from_numpy(x), torch_pad, mode=TORCH_PAD_MODE[mode]).numpy()
    np.testing.assert_array_equal(pad2d(x, padding, mode), expected)


@pytest.mark.parametrize("mode", ["valid", "same", "full"])
def test_convolve2d_matches_scipy(mode):
    rng = np.random.default_rng(5)
    image, kernel = rng.standard_normal((9, 8)), rng.standard_normal((3, 5))
    padding = {"valid": 0, "same": "same", "full": (2, 4)}[mode]
    np.testing.assert_allclose(
        convolve2d(image, kernel, padding=padding), scipy.signal.convolve2d(image, kernel, mode=mode), atol=1e-12
    )
    np.testing.assert_allclose(
        conv2d(image, kernel, padding=padding), scipy.signal.correlate2d(image, kernel, mode=mode), atol=1e-12
    )


# ---------------------------------------------------------------------------------------------
# Bad arguments: the right exception, and a message naming the argument and what would work.
# ---------------------------------------------------------------------------------------------

IMAGE = np.zeros((5, 5))
BATCH = np.zeros((1, 3, 5, 5))


@pytest.mark.parametrize(
    "call, error, message",
    [
        (
            lambda: conv2d(np.zeros(5), np.ones((3, 3))),
            ValueError,
            r"x must be \(H, W\), \(C, H, W\) or \(N, C, H, W\)",
        ),
        (lambda: conv2d(IMAGE, np.ones((1, 1, 3, 3))), ValueError, "needs a 2-D kernel"),
        (lambda: conv2d(BATCH, np.ones((3, 3))), ValueError, "needs a 4-D weight"),
        (
            lambda: conv2d(BATCH, np.ones((2, 4, 3, 3))),
            ValueError,
            r"x has 3 channels but weight expects 4.*weight.shape\[1\] == 3",
        ),
        (lambda: conv2d(IMAGE, np.ones((7, 7))), ValueError, "spans 7 pixels along the height.*padding of at least 1"),
        (lambda: conv2d(IMAGE, np.ones((3, 3)), dilation=3), ValueError, "dilation.*spans 7 pixels"),
        (lambda: conv2d(IMAGE, np.ones((3, 3)), stride=0), ValueError, "stride must be at least 1, got 0"),
        (
            lambda: conv2d(IMAGE, np.ones((3, 3)), stride=1.5),
            TypeError,
            "stride must be an int or a pair of ints, got float 1.5",
        ),
        (
            lambda: conv2d(IMAGE, np.ones((3, 3)), dilation=(1, 0)),
            ValueError,
            r"dilation must be at least 1, got \(1, 0\)",
        ),
        (lambda: conv2d(IMAGE, np.ones((3, 3)), padding=-1), ValueError, "padding must be at least 0, got -1"),
        (lambda: conv2d(IMAGE, np.ones((3, 3)), padding="full"), ValueError, "'valid' or 'same', got 'full'"),
        (lambda: conv2d(IMAGE, np.ones((3, 3)), padding=(1, 2, 3)), TypeError, "padding must be an int, a pair"),
        (lambda: conv2d(IMAGE, np.ones((3, 3)), padding="same", stride=2), ValueError, "padding='same' needs stride=1"),
        (lambda: conv2d(IMAGE, np.ones((3, 3)), padding_mode="mirror"), ValueError, "padding_mode must be one of"),
        (
            lambda: conv2d(IMAGE, np.ones((3, 3)), padding=5, padding_mode="reflect"),
            ValueError,
            "too large for reflect padding.*less than 5",
        ),
        (
            lambda: conv2d(IMAGE, np.ones((3, 3)), padding=6, padding_mode="circular"),
            ValueError,
            "too large for circular padding",
        ),
        (lambda: conv2d(np.array([["a"]]), np.ones((1, 1))), TypeError, "x must hold real numbers.*got dtype <U1"),
        (lambda: conv2d(IMAGE, np.ones((3, 3), dtype=complex)), TypeError, "weight must hold real numbers"),
        (lambda: conv2d(IMAGE, np.ones((3, 3)), bias=[1.0, 2.0]), ValueError, r"bias must have shape \(1,\)"),
        (lambda: conv2d_naive(BATCH, np.ones((2, 4, 3, 3))), ValueError, "x has 3 channels"),
        (lambda: conv_output_size(5, 3, stride=0), ValueError, "stride must be at least 1, got 0"),
        (lambda: conv_output_size(5.0, 3), TypeError, "input_size must be an int, got float 5.0"),
        (lambda: conv_output_size(2, 5), ValueError, "kernel of size 5 with dilation 1 spans 5 pixels"),
        (lambda: pad2d(np.zeros(3), 1), ValueError, "at least 2 dimensions"),
        (lambda: pad2d(IMAGE, (1, -1)), ValueError, "padding must be whole numbers >= 0"),
        (lambda: pad2d(IMAGE, "same"), TypeError, "padding must be an int, \\(p_h, p_w\\) or"),
    ],
)
def test_bad_arguments_are_named_in_the_error(call, error, message):
    with pytest.raises(error, match=message):
        call()


@pytest.mark.parametrize("seed", range(20))
def test_dilated_kernel_convolves_like_pytorch_dilation(seed):
    rng = np.random.default_rng(seed)
    k_h, k_w, d_h, d_w = (int(v) for v in rng.integers(1, 5, size=4))
    weight = rng.normal(size=(2, 3, k_h, k_w))
    x = rng.normal(
        size=(1, 3, d_h * (k_h - 1) + 1 + int(rng.integers(0, 6)), d_w * (k_w - 1) + 1 + int(rng.integers(0, 6)))
    )
    dilated = dilate_kernel(weight, (d_h, d_w))
    assert dilated.shape == (2, 3, d_h * (k_h - 1) + 1, d_w * (k_w - 1) + 1)
    expected = F.conv2d(torch.from_numpy(x), torch.from_numpy(weight), dilation=(d_h, d_w)).numpy()
    np.testing.assert_allclose(F.conv2d(torch.from_numpy(x), torch.from_numpy(dilated)).numpy(), expected, atol=1e-12)
    assert np.count_nonzero(dilated == 0) >= dilated.size - weight.size  # only zeros were added


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: dilate_kernel(np.ones(3), 2), ValueError, "at least 2 dimensions"),
        (lambda: dilate_kernel(np.ones((3, 3)), 0), ValueError, "dilation must be at least 1"),
        (lambda: dilate_kernel(np.ones((3, 3)), 1.5), TypeError, "dilation must be an int"),
        (lambda: dilate_kernel(np.array([["a"]]), 2), TypeError, "weight must hold real numbers"),
    ],
)
def test_dilate_kernel_bad_arguments(call, error, message):
    with pytest.raises(error, match=message):
        call()
