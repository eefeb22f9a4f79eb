"""fit, checkpoints and prediction: reproducible, resumable, safe, and loud about NaN."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
import torch
from torch import nn

from unetlib.data import Augment, synthetic_cells
from unetlib.model import UNet
from unetlib.checkpoints import load_checkpoint, save_checkpoint
from unetlib.config import TrainConfig
from unetlib.losses import SegmentationLoss, combined_loss, dice_loss, weighted_cross_entropy
from unetlib.prediction import predict_logits, predict_probabilities
from unetlib.train import evaluate, fit, learning_rate


class CellCrops(torch.utils.data.Dataset):
    """Synthetic cells (image, foreground mask), augmented by an Augment with an rng."""

    def __init__(self, count: int, size: int = 48, seed: int = 0, augment: bool = True):
        pairs = [synthetic_cells(size, count=6, radius=(4.0, 7.0), seed=seed + i) for i in range(count)]
        self.images = [image[None] for image, _ in pairs]
        self.masks = [(labels > 0).astype(np.int64) for _, labels in pairs]
        self.transform = Augment(elastic=0.5, seed=seed) if augment else None

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index):
        image, mask = self.images[index], self.masks[index]
        if self.transform is not None:
            image, mask = self.transform(image, mask)
        return torch.from_numpy(np.ascontiguousarray(image)), torch.from_numpy(np.ascontiguousarray(mask))


def small_unet(padding: str = "same") -> UNet:
    torch.manual_seed(0)
    return UNet(1, 2, depth=2, base_channels=4, padding=padding)


def test_fit_learns_and_reports_history():
    model = small_unet()
    history = fit(
        model,
        CellCrops(6),
        val=CellCrops(2, seed=50, augment=False),
        epochs=8,
        lr=0.02,
        batch_size=3,
        device="cpu",
        progress=False,
    )
    assert history["epoch"] == list(range(1, 9))
    assert history["train_loss"][-1] < 0.6 * history["train_loss"][0]
    assert history["val_dice"][-1] > 0.7  # the cells are found
    assert evaluate(model, CellCrops(2, seed=50, augment=False), device="cpu")["dice"] == pytest.approx(
        history["val_dice"][-1]
    )


def test_same_seed_same_weights_on_cpu():
    runs = []
    for _ in range(2):
        model = small_unet()
        fit(model, CellCrops(4), epochs=2, batch_size=2, device="cpu", progress=False, seed=3)
        runs.append(model.state_dict())
    for key in runs[0]:
        torch.testing.assert_close(runs[0][key], runs[1][key], rtol=0, atol=0)


def test_resume_continues_exactly_where_training_stopped(tmp_path):
    straight = small_unet()
    fit(straight, CellCrops(4), epochs=4, batch_size=2, device="cpu", progress=False, seed=1)

    interrupted = small_unet()
    fit(
        interrupted,
        CellCrops(4),
        epochs=2,
        batch_size=2,
        device="cpu",
        progress=False,
        seed=1,
        checkpoint=tmp_path / "run.pt",
    )
    resumed = small_unet()  # a fresh process would start from scratch too
    history = fit(
        resumed,
        CellCrops(4),
        epochs=4,
        batch_size=2,
        device="cpu",
        progress=False,
        seed=1,
        resume=tmp_path / "run.pt",
        checkpoint=tmp_path / "run.pt",
    )
    assert history["epoch"] == [1, 2, 3, 4]
    for key, value in straight.state_dict().items():
        torch.testing.assert_close(resumed.state_dict()[key], value, rtol=0, atol=0)


def test_valid_padding_targets_are_centre_cropped():
    # A 20-pixel input gives a 4-pixel output at depth 1 (20 -> 16 -> 8 -> 4 -> 8 -> 4): the
    # loss must see target rows and columns 8..11, the centre (hand-worked), not a corner.
    model = UNet(1, 2, depth=1, base_channels=2)
    coded = torch.arange(20 * 20).reshape(1, 20, 20)  # every pixel's target is its own index
    weights = coded.float()
    seen = {}

    def recording_loss(logits, target, weights):
        seen["target"], seen["weights"] = target.clone(), weights.clone()
        return logits.sum() * 0

    data = torch.utils.data.TensorDataset(torch.rand(1, 1, 20, 20), coded, weights)
    fit(model, data, epochs=1, loss=recording_loss, device="cpu", progress=False)
    torch.testing.assert_close(seen["target"], coded[:, 8:12, 8:12])
    torch.testing.assert_close(seen["weights"], weights[:, 8:12, 8:12])


def test_nan_loss_stops_with_advice():
    images = torch.rand(2, 1, 16, 16)
    images[0, 0, 3, 3] = float("nan")
    data = torch.utils.data.TensorDataset(images, torch.zeros(2, 16, 16, dtype=torch.long))
    with pytest.raises(FloatingPointError, match=r"epoch 1, step 1.*smaller lr.*NaN"):
        fit(small_unet(), data, epochs=1, batch_size=2, device="cpu", progress=False)


def test_checkpoint_round_trip_rebuilds_the_model(tmp_path):
    model = small_unet()
    optimiser = torch.optim.Adam(model.parameters())
    path = save_checkpoint(tmp_path / "a.pt", model, optimiser, epoch=3, history={"train_loss": [1.0, 0.5]})
    state = load_checkpoint(path)  # builds a UNet from the saved configuration
    assert state["epoch"] == 3 and state["history"] == {"train_loss": [1.0, 0.5]}
    for key, value in model.state_dict().items():
        torch.testing.assert_close(state["model"].state_dict()[key], value)
    with pytest.raises(ValueError, match="different configuration.*base_channels"):
        load_checkpoint(path, UNet(1, 2, depth=2, base_channels=8, padding="same"))
    with pytest.raises(ValueError, match="no checkpoint"):
        load_checkpoint(tmp_path / "missing.pt")


def test_an_interrupted_save_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    model = small_unet()
    path = save_checkpoint(tmp_path / "run.pt", model, None, epoch=1, history={})

    def crash(obj, file, *args, **kwargs):
        file.write(b"half a checkpoint")
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", crash)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(path, model, None, epoch=2, history={})
    monkeypatch.undo()
    assert load_checkpoint(path)["epoch"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["run.pt"]  # no partial file left behind


class Payload:
    def __reduce__(self):
        return (print, ("this ran while loading",))


def test_checkpoints_are_loaded_without_running_code(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"config": {}, "model": Payload()}, path)
    with pytest.raises(ValueError, match="could run code"):
        load_checkpoint(path, small_unet())


def test_predict_whole_image_or_tiled():
    model = small_unet()
    image = np.random.default_rng(0).random((37, 51)).astype(np.float32)
    assert predict_logits(model, image, device="cpu").shape == (2, 37, 51)
    valid = small_unet(padding="valid")
    assert predict_logits(valid, image, tile_size=44, device="cpu").shape == (2, 37, 51)
    with pytest.raises(ValueError, match="give tile_size"):
        predict_logits(valid, image, device="cpu")


def test_predict_tta_averages_the_eight_orientations():
    torch.manual_seed(0)
    model = small_unet()
    image = np.random.default_rng(1).random((1, 24, 24)).astype(np.float32)
    # Reference with NumPy's rot90/flip on whole NCHW batches, independent of predict_tta's loop.
    views = [np.rot90(image, k, axes=(1, 2)) for k in range(4)]
    views += [view[:, :, ::-1] for view in views]
    with torch.no_grad():
        out = model.eval()(torch.from_numpy(np.ascontiguousarray(np.stack(views)))).softmax(1).numpy()
    back = [np.rot90(out[k], -k, axes=(1, 2)) for k in range(4)]
    back += [np.rot90(out[4 + k][:, :, ::-1], -k, axes=(1, 2)) for k in range(4)]
    expected = np.mean(back, axis=0)
    got = predict_probabilities(model, image, device="cpu", tta=True)
    np.testing.assert_allclose(got.numpy(), expected, atol=1e-5)
    np.testing.assert_allclose(got.sum(0).numpy(), 1, atol=1e-5)
    assert not np.allclose(got.numpy(), predict_logits(model, image, device="cpu").softmax(0).numpy(), atol=1e-3)


def test_predict_tta_equals_one_pass_for_a_model_that_ignores_orientation():
    per_pixel = torch.nn.Conv2d(1, 3, kernel_size=1)  # a 1x1 conv sees no orientation
    image = np.random.default_rng(2).random((20, 28)).astype(np.float32)  # not square
    np.testing.assert_allclose(
        predict_probabilities(per_pixel, image, device="cpu", tta=True).numpy(),
        predict_logits(per_pixel, image, device="cpu").softmax(0).numpy(),
        atol=1e-6,
    )
    with pytest.raises(ValueError, match="image must be"):
        predict_probabilities(per_pixel, np.zeros((1, 1, 4, 4), np.float32), device="cpu", tta=True)


@pytest.mark.parametrize("arguments, words", [({"epochs": 0}, "epochs"), ({"lr": 0}, "lr")])
def test_bad_arguments(arguments, words):
    data = torch.utils.data.TensorDataset(torch.rand(1, 1, 16, 16), torch.zeros(1, 16, 16, dtype=torch.long))
    with pytest.raises(ValueError, match=words):
        fit(small_unet(), data, device="cpu", progress=False, **arguments)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU")
def test_a_training_step_on_cuda_with_mixed_precision():
    history = fit(small_unet(), CellCrops(4), epochs=2, batch_size=2, device="cuda", progress=False)
    assert all(np.isfinite(history["train_loss"]))


# ---- Learning-rate schedule, channels-last, the epoch hook -----------------------------------


@pytest.mark.parametrize("total, warmup", [(10, 0.2), (96, 0.1), (7, 0.3), (50, 0.0)])
def test_warmup_cosine_matches_pytorchs_own_schedulers(total, warmup):
    # Independent reference: LinearLR (0.1 -> 1) for the warm-up, then CosineAnnealingLR to 0.
    parameter = torch.nn.Parameter(torch.zeros(1))
    optimiser = torch.optim.SGD([parameter], lr=0.5)
    warmup_steps = round(warmup * total)
    cosine = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, T_max=total - warmup_steps)
    if warmup_steps:
        linear = torch.optim.lr_scheduler.LinearLR(optimiser, start_factor=0.1, total_iters=warmup_steps)
        scheduler = torch.optim.lr_scheduler.SequentialLR(optimiser, [linear, cosine], milestones=[warmup_steps])
    else:
        scheduler = cosine
    expected = []
    for _ in range(total):
        expected.append(optimiser.param_groups[0]["lr"])
        optimiser.step()
        scheduler.step()
    ours = [learning_rate(step, total, 0.5, "warmup-cosine", warmup=warmup) for step in range(total)]
    np.testing.assert_allclose(ours, expected, rtol=1e-9, atol=1e-12)
    assert learning_rate(3, total, 0.5) == 0.5  # "constant"


@pytest.mark.parametrize(
    "arguments, message",
    [
        (dict(schedule="cosine"), "schedule must be one of"),
        (dict(schedule="warmup-cosine", warmup=1.0), "warmup must be less than 1.*share of steps"),
    ],
)
def test_learning_rate_refuses_unknown_schedules(arguments, message):
    with pytest.raises(ValueError, match=message):
        learning_rate(0, 10, 1e-3, **arguments)


@contextlib.contextmanager
def recorded_learning_rates():
    """Record the learning rate of every Adam step that fit takes, in a list."""
    seen = []

    class Recording(torch.optim.Adam):
        def step(self, closure=None):
            seen.append(self.param_groups[0]["lr"])
            return super().step(closure)

    original, torch.optim.Adam = torch.optim.Adam, Recording
    try:
        yield seen
    finally:
        torch.optim.Adam = original


def test_fit_sets_the_scheduled_rate_at_every_step():
    model = small_unet()
    with recorded_learning_rates() as seen:
        fit(
            model, CellCrops(4), epochs=3, batch_size=2, lr=0.01, schedule="warmup-cosine", device="cpu", progress=False
        )
    assert seen == pytest.approx([learning_rate(s, 6, 0.01, "warmup-cosine") for s in range(6)])


def test_resume_follows_the_schedule_of_the_whole_run(tmp_path):
    straight = small_unet()
    fit(straight, CellCrops(4), epochs=4, batch_size=2, device="cpu", progress=False, seed=1, schedule="warmup-cosine")
    interrupted = small_unet()
    history = fit(
        interrupted,
        CellCrops(4),
        epochs=4,
        batch_size=2,
        device="cpu",
        progress=False,
        seed=1,
        schedule="warmup-cosine",
        checkpoint=tmp_path / "run.pt",
        on_epoch_end=lambda epoch, _: epoch == 2,
    )
    assert history["epoch"] == [1, 2]  # stopped by the hook
    resumed = small_unet()
    fit(
        resumed,
        CellCrops(4),
        epochs=4,
        batch_size=2,
        device="cpu",
        progress=False,
        seed=1,
        schedule="warmup-cosine",
        resume=tmp_path / "run.pt",
    )
    for key, value in straight.state_dict().items():
        torch.testing.assert_close(resumed.state_dict()[key], value, rtol=0, atol=0)


def test_channels_last_trains_the_same_up_to_rounding():
    models = []
    for channels_last in (False, True):
        model = small_unet()
        fit(model, CellCrops(4), epochs=1, batch_size=2, device="cpu", progress=False, channels_last=channels_last)
        models.append(model)
    assert models[1].inc[0].weight.is_contiguous(memory_format=torch.channels_last)
    for key, value in models[0].state_dict().items():
        torch.testing.assert_close(models[1].state_dict()[key], value, rtol=1e-4, atol=1e-5)


def test_an_update_that_blows_up_the_model_is_caught_before_it_is_saved(tmp_path):
    # One step at lr 1e20: the loss before it was finite, the model after it is not.
    data = torch.utils.data.TensorDataset(torch.rand(2, 1, 16, 16), torch.randint(0, 2, (2, 16, 16)))
    checkpoint = tmp_path / "model.pt"
    with pytest.raises(FloatingPointError, match="after epoch 1 the model's .* NaN or infinite"):
        fit(small_unet(), data, epochs=1, lr=1e20, batch_size=2, device="cpu", progress=False, checkpoint=checkpoint)
    assert not checkpoint.exists()


def test_resuming_with_a_new_learning_rate_uses_it(tmp_path):
    fit(
        small_unet(),
        CellCrops(4),
        epochs=1,
        batch_size=2,
        lr=1e-3,
        device="cpu",
        progress=False,
        checkpoint=tmp_path / "run.pt",
    )
    with recorded_learning_rates() as seen, pytest.warns(UserWarning, match=r"'lr': \(0.001, 0.5\)"):
        fit(
            small_unet(),
            CellCrops(4),
            epochs=2,
            batch_size=2,
            lr=0.5,
            device="cpu",
            progress=False,
            resume=tmp_path / "run.pt",
        )
    assert seen == [0.5, 0.5]  # not the 1e-3 the restored optimiser state carried


# ---- Bad arguments get a sentence, not a traceback from deep inside -----------------------------


@pytest.mark.parametrize(
    "arguments, error, message",
    [
        (dict(batch_size=0), ValueError, "batch_size must be at least 1"),
        (dict(batch_size=2.5), TypeError, "batch_size must be an int"),
        (dict(epochs=True), TypeError, "epochs must be an int"),
        (dict(lr="0.1"), TypeError, "lr must be a number"),
        (dict(lr=float("nan")), ValueError, "lr must be a finite number"),
        (dict(device="gpu"), ValueError, "device must be"),
        (dict(schedule="cosine"), ValueError, "schedule must be one of"),
        (dict(on_epoch_end="print"), TypeError, "on_epoch_end must be a function"),
    ],
)
def test_fit_names_the_bad_argument(arguments, error, message):
    data = torch.utils.data.TensorDataset(torch.rand(2, 1, 16, 16), torch.zeros(2, 16, 16, dtype=torch.long))
    with pytest.raises(error, match=message):
        fit(small_unet(), data, progress=False, **{"device": "cpu", **arguments})


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on a machine without CUDA")
def test_asking_for_cuda_without_a_gpu_says_so():
    from unetlib.config import choose_device

    with pytest.raises(ValueError, match="no CUDA GPU"):
        choose_device("cuda")


def test_predict_and_evaluate_restore_training_mode_after_an_error():
    model = small_unet().train()
    with pytest.raises(Exception):
        predict_logits(model, np.zeros((3, 16, 16), np.float32))  # 3 channels into a 1-channel net
    assert model.training
    bad = torch.utils.data.TensorDataset(torch.rand(2, 3, 16, 16), torch.zeros(2, 16, 16, dtype=torch.long))
    with pytest.raises(Exception):
        evaluate(model, bad, device="cpu")
    assert model.training


def test_predict_runs_the_model_where_its_weights_are():
    model = small_unet()
    predict_logits(model, np.zeros((16, 16), np.float32))
    assert next(model.parameters()).device.type == "cpu"


@pytest.mark.parametrize(
    "content, message",
    [
        (b"\x80\x02not a checkpoint", "not a readable checkpoint"),
        (None, "no 'model' entry"),
        ("truncated", "not a readable checkpoint"),
    ],
)
def test_broken_checkpoints_are_refused_clearly(tmp_path, content, message):
    path = tmp_path / "bad.pt"
    if content is None:
        torch.save({"weights": torch.zeros(2)}, path)
    elif content == "truncated":
        save_checkpoint(path, small_unet(), None, epoch=1, history={})
        path.write_bytes(path.read_bytes()[:200])
    else:
        path.write_bytes(content)
    with pytest.raises(ValueError, match=message):
        load_checkpoint(path)


def test_a_checkpoint_holding_code_is_refused_without_advice_to_run_it(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"model": {}, "payload": Augment()}, path)  # an arbitrary object: unpickling would run code
    with pytest.raises(ValueError, match="could run code") as caught:
        load_checkpoint(path)
    assert "weights_only=False" not in str(caught.value)


def test_fixed_validation_crops_score_the_same_pixels_every_time():
    from unetlib.data import RandomCrops

    images, masks = [np.random.default_rng(0).random((1, 64, 64)).astype(np.float32)], [np.zeros((64, 64), np.int64)]
    crops = RandomCrops(images, masks, crop=16, samples=6, augment=False, seed=5, fixed=True)
    first = [crops[i][0] for i in range(6)]
    again = [crops[i][0] for i in (5, 4, 3, 2, 1, 0)][::-1]
    assert all(torch.equal(a, b) for a, b in zip(first, again))
    assert not torch.equal(first[0], first[1])
    model = small_unet()
    scores = [evaluate(model, crops, device="cpu")["loss"] for _ in range(3)]
    assert scores[0] == scores[1] == scores[2]


def test_a_flipped_byte_in_a_checkpoints_weights_is_detected(tmp_path):
    path = tmp_path / "model.pt"
    model = small_unet()
    save_checkpoint(path, model, torch.optim.Adam(model.parameters()), epoch=1, history={})
    assert load_checkpoint(path)["epoch"] == 1
    # Find the bytes of one weight in the file and flip a bit there: torch.load still reads it.
    data = bytearray(path.read_bytes())
    weight = model.head.weight.detach().contiguous().numpy().tobytes()
    at = bytes(data).find(weight)
    assert at > 0
    data[at + 5] ^= 0x10
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="damaged"):
        load_checkpoint(path)


def test_more_than_two_classes_report_mean_and_per_class_iou():
    # Three classes in horizontal bands; the scores are checked against unetlib.metrics on the
    # model's own predictions, and the history carries them epoch by epoch.
    from unetlib.metrics import per_class_iou

    torch.manual_seed(0)
    images = torch.rand(4, 1, 16, 16)
    masks = (torch.arange(16) // 6).view(1, 16, 1).expand(4, 16, 16).contiguous()
    data = torch.utils.data.TensorDataset(images, masks)
    model = UNet(1, 3, depth=1, base_channels=4, padding="same")
    history = fit(model, data, val=data, epochs=2, device="cpu", progress=False)
    assert len(history["val_mean_iou"]) == 2 and all(len(history[f"val_iou_{k}"]) == 2 for k in range(3))
    scores = evaluate(model, data, device="cpu")
    with torch.no_grad():
        predicted = model.eval()(images).argmax(1)
    expected = per_class_iou(predicted, masks, 3)
    np.testing.assert_allclose([scores[f"iou_{k}"] for k in range(3)], expected)
    assert scores["mean_iou"] == pytest.approx(np.nanmean(expected))
    assert history["val_mean_iou"][-1] == pytest.approx(scores["mean_iou"])
    assert "dice" not in scores  # with three classes, no single class is "the" foreground
    two = evaluate(UNet(1, 2, depth=1, base_channels=2, padding="same"), data_two_classes())
    assert two["dice"] == two["dice_1"]


def data_two_classes():
    images = torch.rand(2, 1, 16, 16)
    return torch.utils.data.TensorDataset(images, (images[:, 0] > 0.5).long())


# ---- The plumbing: every loss, evaluation's mode, shuffling, settings kept with the checkpoint ----------------


@pytest.mark.parametrize(
    "loss",
    [
        dice_loss,
        weighted_cross_entropy,
        combined_loss,
        "dice",
        "cross-entropy",
        "cross-entropy+dice",
        SegmentationLoss("dice", background=0),
    ],
    ids=str,
)
def test_fit_trains_with_every_loss_of_unetlib(loss):
    torch.manual_seed(0)
    model = small_unet()
    history = fit(model, CellCrops(4), epochs=3, batch_size=2, lr=1e-2, loss=loss, device="cpu", progress=False)
    assert history["train_loss"][-1] < history["train_loss"][0]


def test_evaluate_runs_without_gradients_in_eval_mode_and_restores_the_mode():
    seen = []

    class Recording(nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = small_unet()

        def forward(self, x):
            seen.append((torch.is_grad_enabled(), self.training))
            return self.inner(x)

    model = Recording()
    for mode in (True, False):
        model.train(mode)
        evaluate(model, data_two_classes(), device="cpu")
        assert model.training is mode and model.inner.training is mode
    assert seen and all(state == (False, False) for state in seen)


def test_two_epochs_see_the_images_in_different_orders():
    order = []

    class Logged(torch.utils.data.Dataset):
        def __len__(self):
            return 8

        def __getitem__(self, index):
            order.append(index)
            return torch.zeros(1, 16, 16), torch.zeros(16, 16, dtype=torch.long)

    fit(small_unet(), Logged(), epochs=2, batch_size=2, device="cpu", progress=False)
    first, second = order[:8], order[8:]
    assert sorted(first) == sorted(second) == list(range(8))
    assert first != second


def test_settings_are_checked_once_and_kept_with_the_checkpoint(tmp_path):
    config = TrainConfig(epochs=1, batch_size=2, loss="dice", ignore_index=255, device="cpu", progress=False)
    fit(small_unet(), CellCrops(4), config=config, checkpoint=tmp_path / "run.pt")
    saved = load_checkpoint(tmp_path / "run.pt")["train_config"]
    assert TrainConfig(**saved) == config
    with pytest.raises(TypeError, match="unknown training setting.*'learning_rate'"):
        fit(small_unet(), CellCrops(4), config=config, learning_rate=0.1)
    with pytest.warns(UserWarning, match=r"'loss': \('dice', 'cross-entropy'\)"):
        fit(small_unet(), CellCrops(4), config=config, epochs=2, loss="cross-entropy", resume=tmp_path / "run.pt")


@pytest.mark.parametrize("epoch", [2.7, "3", -1, True])
def test_a_checkpoint_refuses_an_epoch_that_is_not_a_count(tmp_path, epoch):
    with pytest.raises(TypeError, match="epoch must be a whole number"):
        save_checkpoint(tmp_path / "a.pt", small_unet(), epoch=epoch)


@pytest.mark.parametrize(
    "settings, message",
    [
        (dict(loss="focal"), "loss must be one of"),
        (dict(loss="dice", class_weights=[1, 2]), "class_weights weight the cross-entropy"),
        (dict(class_weights=[1, -1]), "class_weights must be one number >= 0"),
        (dict(class_weights=[1, float("nan")]), "class_weights"),
        (dict(loss=dice_loss, class_weights=[1, 2]), "apply them inside it"),
        (dict(seed=2**31), "seed must be"),
        (dict(time_limit=0), "time_limit must be greater than 0"),
    ],
)
def test_train_config_names_the_bad_setting(settings, message):
    with pytest.raises((TypeError, ValueError), match=message):
        TrainConfig(**settings)


def test_a_time_limit_stops_training_after_the_step_that_reaches_it():
    history = fit(small_unet(), CellCrops(4), epochs=1000, batch_size=2, time_limit=1e-9, device="cpu", progress=False)
    assert history["epoch"] == [1] and history["steps"] == [1]


def test_evaluate_scores_the_same_in_batches_of_any_size():
    model, data = small_unet(), CellCrops(5, augment=False)
    one, four = evaluate(model, data, batch_size=1, device="cpu"), evaluate(model, data, batch_size=4, device="cpu")
    assert one.keys() == four.keys()
    for key in one:
        assert one[key] == pytest.approx(four[key], rel=1e-5), key


@pytest.mark.parametrize("loss", ["dice", "cross-entropy+dice"])
def test_evaluate_gives_a_ratio_loss_of_the_whole_set_not_a_mean_over_batches(loss):
    # The reference: the loss functions themselves, on every image as one batch.
    model, data = small_unet(), CellCrops(5, augment=False)
    images, masks = (torch.stack(items) for items in zip(*(data[i][:2] for i in range(len(data)))))
    with torch.no_grad():
        logits = model.eval()(images)
    whole = dice_loss(logits, masks, background=None)
    if loss == "cross-entropy+dice":
        whole = whole + weighted_cross_entropy(logits, masks)
    for batch_size in (1, 2, 5):
        scores = evaluate(model, data, loss=SegmentationLoss(loss), batch_size=batch_size, device="cpu")
        assert scores["loss"] == pytest.approx(whole.item(), rel=1e-5), batch_size


def test_the_default_settings_are_the_documented_ones():
    # fit's docstring, the README and Chapter 14 rely on these.
    config = TrainConfig()
    assert (config.epochs, config.lr, config.batch_size, config.schedule, config.seed) == (10, 1e-3, 4, "constant", 0)
    assert (config.loss, config.channels_last, config.amp, config.progress) == ("cross-entropy", True, None, None)
