"""The training loop: every loss x penalty trains, checkpoints resume bit-identically, a
damaged checkpoint is refused and the previous one kept."""
import json
import re
import warnings

import numpy as np
import pytest

import minigrad as mg
from gans import losses
from gans.data import load_mnist
from gans.training import TrainConfig, Trainer, _config_differences


@pytest.fixture(scope="module")
def digits():
    images, _ = load_mnist(split="train", download=False, verbose=False)
    return images[:256]


def tiny(tmp_path, device="cpu", **overrides):
    settings = dict(model="dcgan", width=8, z_dim=16, batch_size=32, epochs=10, max_steps=5,
                    progress=False, out=str(tmp_path / "run"), device=device,
                    checkpoint_every=1000, log_every=1, num_samples=16)
    settings.update(overrides)
    return TrainConfig(**settings)


def _params(module):
    return [p.numpy().copy() for p in module.parameters()]


COMBOS = [(loss, penalty) for loss in ("minimax", "nonsaturating", "lsgan", "wgan", "hinge")
          for penalty in ("none", "wgan-gp", "r1", "r2")]


@pytest.mark.parametrize("loss,penalty", COMBOS)
def test_every_loss_and_penalty_trains(loss, penalty, digits, tmp_path, device):
    d_norm = "none" if penalty == "wgan-gp" else "batch"
    config = tiny(tmp_path, device, loss=loss, penalty=penalty, d_norm=d_norm)
    if (loss, penalty) == ("wgan", "none"):            # trains, with a warning: unbounded
        with pytest.warns(UserWarning, match="nothing keeps the critic Lipschitz"):
            trainer = Trainer(config, digits)
    else:
        trainer = Trainer(config, digits)
    g0, d0 = _params(trainer.G), _params(trainer.D)
    last = trainer.train()
    assert trainer.step == 5
    assert np.isfinite(last["loss_d"]) and np.isfinite(last["loss_g"])
    if penalty != "none":
        assert np.isfinite(last["penalty"]) and last["penalty"] >= 0
    for before, after in ((g0, _params(trainer.G)), (d0, _params(trainer.D))):
        assert any(not np.array_equal(a, b) for a, b in zip(before, after))


@pytest.mark.parametrize("options", [
    dict(spectral_norm=True, d_norm="none"),
    dict(loss="wgan", clip=0.01, optimizer="rmsprop", n_critic=2, lr_d=5e-5, lr_g=5e-5),
    dict(label_smoothing=0.1, label_flip=0.5, history=8, ema=0.9),
    dict(d_norm="instance"), dict(d_norm="layer"),
    dict(model="mlp", width=64),        # the MLPs have no width: 64 is the default
    dict(image_size=64, max_steps=2),   # the paper's 64x64 nets on bilinearly resized digits
])
def test_options_train(options, digits, tmp_path):
    trainer = Trainer(tiny(tmp_path, **options), digits)
    last = trainer.train()
    assert np.isfinite(last["loss_d"]) and np.isfinite(last["loss_g"])
    if options.get("clip"):
        assert max(np.abs(p).max() for p in _params(trainer.D)) <= 0.01 + 1e-7


def test_outputs_written(digits, tmp_path):
    trainer = Trainer(tiny(tmp_path, max_steps=4, sample_every=2), digits)
    trainer.train()
    out = tmp_path / "run"
    lines = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [line["step"] for line in lines] == [1, 2, 3, 4]
    assert {"loss_d", "loss_g", "d_real", "d_fake", "steps_per_s"} <= set(lines[0])
    for name in ("samples_step000002.png", "samples_step000004.png", "losses.png",
                 "samples.gif", "checkpoint.npz"):
        assert (out / name).stat().st_size > 0


def _run(tmp_path, name, digits, steps, resume_from=None, **options):
    config = tiny(tmp_path / name, max_steps=steps, **options)
    trainer = Trainer(config, digits)
    if resume_from is not None:
        trainer.load_checkpoint(resume_from)
    trainer.train()
    return trainer


@pytest.mark.parametrize("options", [
    dict(),
    dict(loss="wgan", penalty="wgan-gp", d_norm="none", n_critic=2, history=4, ema=0.9,
         label_smoothing=0.0),
    dict(loss="nonsaturating", label_flip=0.3, label_smoothing=0.1, spectral_norm=True),
])
def test_resume_is_bit_identical(options, digits, tmp_path):
    """k steps + checkpoint + resume + k steps == 2k uninterrupted steps, exactly (CPU)."""
    straight = _run(tmp_path, "straight", digits, 6, **options)
    first = _run(tmp_path, "first", digits, 3, **options)
    resumed = _run(tmp_path, "second", digits, 6, resume_from=first.out / "checkpoint.npz",
                   **options)
    assert resumed.step == 6
    for a, b in zip(_params(straight.G) + _params(straight.D),
                    _params(resumed.G) + _params(resumed.D)):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(straight.G.buffers(), resumed.G.buffers()):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert straight.history["loss_d"] == resumed.history["loss_d"]


def test_damaged_checkpoint_is_refused_and_previous_kept(digits, tmp_path):
    trainer = Trainer(tiny(tmp_path, max_steps=2), digits)
    trainer.train()
    path = trainer.out / "checkpoint.npz"
    good = path.read_bytes()
    before = _params(trainer.G)

    # a crash while writing the next checkpoint leaves the previous file untouched
    def exploding_state_dict():
        raise KeyboardInterrupt("simulated crash during save")
    trainer.state_dict = exploding_state_dict
    with pytest.raises(KeyboardInterrupt):
        trainer.save_checkpoint()
    assert path.read_bytes() == good

    for damaged in (good[: len(good) // 2], good[:100] + bytes(50) + good[150:]):
        path.write_bytes(damaged)
        fresh = Trainer(tiny(tmp_path, max_steps=2), digits)
        untouched = _params(fresh.G)
        with pytest.raises((ValueError, OSError)) as info:
            fresh.load_checkpoint(path)
        assert "checkpoint.npz" in str(info.value)
        for a, b in zip(untouched, _params(fresh.G)):
            np.testing.assert_array_equal(a, b)
    assert before  # the trained generator was never touched by the failed loads


def test_a_checkpoint_of_another_configuration_is_refused_whole(digits, tmp_path):
    """G fits (same width), D does not (no batch norm): G must not stay loaded."""
    other = Trainer(tiny(tmp_path / "other", max_steps=2, d_norm="none"), digits)
    other.train()
    path = other.out / "checkpoint.npz"
    trainer = Trainer(tiny(tmp_path / "this", max_steps=2), digits)
    g_before, d_before = _params(trainer.G), _params(trainer.D)
    opt_before = trainer.opt_g.state_dict()
    with pytest.raises(ValueError, match=r"checkpoint\.npz does not fit this trainer") as info:
        trainer.load_checkpoint(path)
    assert "d_norm 'none' / 'batch'" in str(info.value)
    for before, after in ((g_before, _params(trainer.G)), (d_before, _params(trainer.D))):
        for a, b in zip(before, after):
            np.testing.assert_array_equal(a, b)
    assert trainer.step == 0 and trainer.opt_g.state_dict().keys() == opt_before.keys()
    trainer.train()                                   # and it still trains from scratch
    assert trainer.step == 2

    not_a_checkpoint = tmp_path / "weights.npz"
    mg.save({"G": trainer.G.state_dict()}, not_a_checkpoint)
    with pytest.raises(ValueError, match="weights.npz: not a Trainer checkpoint"):
        trainer.load_checkpoint(not_a_checkpoint)


def test_label_tricks_need_a_bce_loss(digits, tmp_path):
    with pytest.raises(ValueError, match="label smoothing"):
        Trainer(tiny(tmp_path, loss="wgan", label_smoothing=0.1), digits)


@pytest.mark.parametrize("alias, name", [("non-saturating", "nonsaturating"),
                                         ("Non_Saturating", "nonsaturating"),
                                         ("Minimax", "minimax"), ("WGAN", "wgan")])
def test_validate_spells_the_loss_as_gans_losses_names_it(alias, name):
    config = TrainConfig(loss=alias, clip=0.01)
    config.validate()
    assert config.loss == name


def test_a_loss_alias_takes_label_tricks_and_saves_the_canonical_name(digits, tmp_path):
    """'non-saturating' is a BCE loss like 'nonsaturating': label smoothing applies (it was
    refused), D's loss uses the smoothed label, and the checkpoint stores 'nonsaturating',
    so a trainer configured with the canonical name resumes it without a difference."""
    TrainConfig(loss="non-saturating", label_smoothing=0.1).validate()
    trainer = Trainer(tiny(tmp_path / "a", loss="non-saturating", label_smoothing=0.3),
                      digits)
    real = trainer._real_batch()
    fake = trainer.G(trainer._sample_z(real.shape[0])).detach()
    with mg.no_grad():
        loss, real_logits, fake_logits, _ = trainer._d_loss(real, fake)
        expected = losses.minimax_d_loss(real_logits, fake_logits, 0.7, 0.0)
    assert loss.item() == pytest.approx(expected.item(), rel=1e-6)
    trainer.train_step()
    path = trainer.save_checkpoint(tmp_path / "alias.npz")
    assert json.loads(mg.load(path)["config"])["loss"] == "nonsaturating"
    other = Trainer(tiny(tmp_path / "a", loss="nonsaturating", label_smoothing=0.3), digits)
    other.load_checkpoint(path)
    assert other.step == 1
    assert _config_differences(mg.load(path), other.config) == ""


@pytest.mark.parametrize("setting, message", [
    (dict(history=-1), "history"), (dict(ema=1.0), "ema"), (dict(ema=-0.1), "ema"),
    (dict(label_flip=1.5), "label_flip"), (dict(label_flip=-0.2), "label_flip"),
    (dict(label_smoothing=1.0), "label_smoothing"),
    (dict(label_smoothing=-0.1), "label_smoothing"),
    (dict(epochs=0), "epochs"), (dict(max_steps=-1), "max_steps"),
    (dict(z_dim=0), "z_dim"), (dict(width=0), "width"), (dict(n_critic=0), "n_critic"),
    (dict(log_every=0), "log_every"), (dict(num_samples=0), "num_samples"),
    (dict(checkpoint_every=-1), "checkpoint_every"), (dict(sample_every=-1), "sample_every"),
    (dict(lr_d=-1e-4), "learning rates")])
def test_validate_refuses_settings_out_of_range(setting, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(**setting).validate()


@pytest.mark.parametrize("setting, message", [
    (dict(optimizer="sgd"), "unknown optimizer 'sgd': adam or rmsprop"),
    (dict(model="mlp", d_norm="foo"), "unknown d_norm 'foo': batch, instance, layer or none"),
    (dict(d_norm="Batch"), "unknown d_norm 'Batch'"),
    (dict(model="vae"), "unknown model 'vae': mlp or dcgan")])
def test_validate_refuses_an_unknown_choice_and_names_the_choices(setting, message):
    """optimizer 'sgd' used to train with Adam; d_norm 'foo' was accepted for the MLP."""
    with pytest.raises(ValueError, match=re.escape(message)):
        TrainConfig(**setting).validate()


@pytest.mark.parametrize("shape, size, expected", [
    ((64, 32, 32), 28, "(N, 1, 28, 28)"), ((64, 3, 28, 28), 28, "(N, 1, 28, 28)"),
    ((64, 1, 32, 32), 64, "(N, 1, 28, 28) or (N, 1, 64, 64)")])
def test_images_that_do_not_fit_the_model_are_refused_at_once(shape, size, expected,
                                                                tmp_path):
    """Caught at the first train_step as a 'linear:' error before."""
    with pytest.raises(ValueError, match=re.escape(
            f"Trainer: images of shape {shape} do not fit model 'dcgan' with image_size "
            f"{size}: expected {expected}")):
        Trainer(tiny(tmp_path, image_size=size), np.zeros(shape, np.uint8))
    trainer = Trainer(tiny(tmp_path, image_size=64, max_steps=1),      # 64 x 64 data for a
                      np.zeros((64, 64, 64), np.uint8))                  # 64 x 64 model fits
    assert np.isfinite(trainer.train_step()["loss_d"])


def _warnings_of(**settings) -> list[str]:
    """The messages of the warnings TrainConfig(**settings).validate() gives."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        TrainConfig(**settings).validate()
    return [str(w.message) for w in caught]


def test_validate_accepts_the_ends_of_the_ranges():
    assert _warnings_of(history=0, ema=0.0, label_flip=0.0) == []
    assert _warnings_of(history=50, ema=0.999, label_flip=1.0, label_smoothing=0.99) == []
    assert _warnings_of(epochs=1, max_steps=0, checkpoint_every=0) == []
    assert _warnings_of(max_steps=None) == []             # None, like 0: no limit


@pytest.mark.parametrize("setting, message", [
    (dict(model="mlp", image_size=64), "image_size 64 has no effect with model 'mlp'"),
    (dict(model="mlp", d_norm="none"), "d_norm 'none' has no effect with model 'mlp'"),
    (dict(model="mlp", width=32), "width 32 has no effect with model 'mlp'"),
    (dict(optimizer="rmsprop", betas=(0.0, 0.9)), "betas .* optimizer 'rmsprop'"),
    (dict(penalty_weight=1.0), "penalty_weight 1.0 has no effect with penalty 'none'")])
def test_a_setting_that_has_no_effect_is_warned_about(setting, message):
    (warned,) = _warnings_of(**setting)                   # exactly one warning
    assert re.search(message, warned), warned


def test_defaults_that_have_no_effect_are_not_warned_about():
    assert _warnings_of(model="mlp") == []                # image_size 28, d_norm batch
    assert _warnings_of(optimizer="rmsprop") == []        # betas (0.5, 0.999)
    assert _warnings_of(optimizer="rmsprop", betas=[0.5, 0.999]) == []


def test_an_unconstrained_wgan_critic_is_warned_about():
    """Nothing keeps the critic Lipschitz: E f(x) - E f(G(z)) can grow without bound.
    A warning, not an error (the course shows what happens)."""
    (warned,) = _warnings_of(loss="wgan")
    assert "nothing keeps the critic Lipschitz" in warned
    for fix in (dict(clip=0.01), dict(penalty="wgan-gp", d_norm="none"),
                dict(spectral_norm=True)):
        assert _warnings_of(loss="wgan", **fix) == [], fix
    (warned,) = _warnings_of(loss="wgan", penalty="wgan-gp", d_norm="batch")
    assert "batch-normalised" in warned                   # the WGAN-GP note


def _snapshot(trainer):
    """Every number a checkpoint of `trainer` would hold, as (path, value) pairs."""
    flat = []

    def walk(value, path):
        if isinstance(value, dict):
            for key, item in value.items():
                walk(item, f"{path}.{key}")
        elif isinstance(value, (list, tuple)):
            for number, item in enumerate(value):
                walk(item, f"{path}.{number}")
        elif isinstance(value, mg.Tensor):
            flat.append((path, value.numpy().copy()))
        elif isinstance(value, np.ndarray):
            flat.append((path, value.copy()))
        else:
            flat.append((path, value))
    walk(trainer.state_dict(), "")
    return flat


def _assert_same_snapshot(before, after):
    assert [path for path, _ in before] == [path for path, _ in after]
    for (path, a), (_, b) in zip(before, after):
        if isinstance(a, np.ndarray):
            assert a.dtype == b.dtype and a.shape == b.shape, path
            np.testing.assert_array_equal(a, b, err_msg=path)
        else:
            assert a == b, path


def _checkpoint(tmp_path, name, digits, steps=2, **options):
    trainer = Trainer(tiny(tmp_path / name, **options), digits)
    for _ in range(steps):
        trainer.train_step()
    return trainer.save_checkpoint(tmp_path / f"{name}.npz")


def _refused_whole(tmp_path, digits, path, match, **options):
    """Loading `path` into a trainer with `options` raises and changes nothing at all."""
    trainer = Trainer(tiny(tmp_path / "target", **options), digits)
    trainer.train_step()                          # optimizer state, a filled pool, ...
    before = _snapshot(trainer)
    with pytest.raises(ValueError, match=r"does not fit this trainer; nothing was loaded"
                       ) as info:
        trainer.load_checkpoint(path)
    assert match in str(info.value)
    _assert_same_snapshot(before, _snapshot(trainer))
    trainer.train_step()                          # and it still trains
    return str(info.value)


@pytest.mark.parametrize("key, value, match", [
    ("fixed_z", np.zeros((16, 7), np.float32), "fixed_z of shape (16, 7) is not a batch of "
                                               "latents (n, z_dim=16)"),
    ("fixed_z", np.zeros(16, np.float32), "fixed_z of shape (16,) is not a batch"),
    ("step", -3, "the step -3 is negative")])
def test_a_checkpoint_with_a_bad_fixed_z_or_step_is_refused_whole(key, value, match, digits,
                                                                  tmp_path):
    state = mg.load(_checkpoint(tmp_path, "good", digits))
    state[key] = value
    path = tmp_path / "bad.npz"
    mg.save(state, path)
    _refused_whole(tmp_path, digits, path, match)


@pytest.mark.parametrize("saved,target", [("adam", "rmsprop"), ("rmsprop", "adam")])
def test_a_checkpoint_of_another_optimizer_is_refused_whole(saved, target, digits,
                                                             tmp_path):
    path = _checkpoint(tmp_path, saved, digits, optimizer=saved)
    message = _refused_whole(tmp_path, digits, path, "another optimizer's state dict",
                             optimizer=target)
    assert f"optimizer {saved!r} / {target!r}" in message


def test_ema_resumed_from_a_checkpoint_without_one_starts_from_the_loaded_G(digits,
                                                                           tmp_path):
    path = _checkpoint(tmp_path, "plain", digits)
    trainer = Trainer(tiny(tmp_path / "ema", ema=0.9), digits)
    with pytest.warns(UserWarning, match="ema 0.0 / 0.9"):
        trainer.load_checkpoint(path)
    loaded_g = trainer.G.state_dict()
    ema = trainer.G_ema.state_dict()
    assert list(ema) == list(loaded_g)
    for key in loaded_g:
        np.testing.assert_array_equal(ema[key].numpy(), loaded_g[key].numpy(), err_msg=key)
    trainer.train_step()


def test_a_checkpoint_with_an_ema_is_refused_by_a_trainer_without_one(digits, tmp_path):
    path = _checkpoint(tmp_path, "ema", digits, ema=0.9)
    message = _refused_whole(tmp_path, digits, path, "holds an EMA of G")
    assert "--ema" in message


@pytest.mark.parametrize("target_history", [4, 0])
def test_a_history_pool_of_another_size_is_refused(target_history, digits, tmp_path):
    path = _checkpoint(tmp_path, "pool8", digits, history=8)
    message = _refused_whole(tmp_path, digits, path, "pool of size 8",
                             history=target_history)
    assert f"pool has size {target_history}" in message


def test_an_empty_history_pool_fits_any_size(digits, tmp_path):
    path = _checkpoint(tmp_path, "nopool", digits)          # history=0: nothing pooled
    trainer = Trainer(tiny(tmp_path / "pool", history=4), digits)
    with pytest.warns(UserWarning, match="history 0 / 4"):
        trainer.load_checkpoint(path)
    assert trainer.pool.size == 4 and trainer.pool.count == 0
    trainer.train_step()
    assert trainer.pool.count == 4


# ---------------------------------------------------------------- the run's folder
def _gif_frames(path):
    from PIL import Image

    with Image.open(path) as gif:
        return gif.n_frames


def test_a_run_resumes_after_its_folder_moved(digits, tmp_path):
    """The checkpoint names its sample grids relative to the run's folder; a checkpoint
    that stored whole paths (older ones) is read by the file names."""
    first = Trainer(tiny(tmp_path / "old", max_steps=2, sample_every=1), digits)
    first.train()
    old_out = first.out
    moved = tmp_path / "moved"
    old_out.rename(moved)
    state = mg.load(moved / "checkpoint.npz")
    assert json.loads(state["grids"]) == ["samples_step000001.png", "samples_step000002.png"]
    state["grids"] = json.dumps([str(old_out / "samples_step000001.png"),
                                 str(old_out / "samples_step000002.png")])   # as before
    mg.save(state, moved / "checkpoint.npz")
    resumed = Trainer(tiny(tmp_path / "old", max_steps=3, sample_every=1, out=str(moved)),
                      digits)
    resumed.load_checkpoint(moved / "checkpoint.npz")
    resumed.train()
    assert resumed.grid_paths == [moved / f"samples_step00000{i}.png" for i in (1, 2, 3)]
    assert _gif_frames(moved / "samples.gif") == 3


def test_a_run_resumed_into_another_folder_makes_a_gif_of_its_own_grids(digits, tmp_path,
                                                                        capsys):
    first = Trainer(tiny(tmp_path / "a", max_steps=2, sample_every=1), digits)
    first.train()
    second = Trainer(tiny(tmp_path / "b", max_steps=4, sample_every=1), digits)
    second.load_checkpoint(first.out / "checkpoint.npz")
    capsys.readouterr()
    second.train()
    assert "samples.gif: 2 of 4 frame(s) not found and skipped" in capsys.readouterr().out
    assert _gif_frames(second.out / "samples.gif") == 2       # steps 3 and 4, none of a's


def test_checkpoint_every_0_writes_one_only_at_the_end(digits, tmp_path):
    trainer = Trainer(tiny(tmp_path, max_steps=3, checkpoint_every=0), digits)
    trainer.train()
    assert int(mg.load(trainer.out / "checkpoint.npz")["step"]) == 3


def test_written_lists_what_train_wrote(digits, tmp_path):
    trainer = Trainer(tiny(tmp_path, max_steps=2, sample_every=1), digits)
    assert trainer.train()
    names = {path.name for path in trainer.written}
    assert names == {"samples_step000001.png", "samples_step000002.png", "metrics.jsonl",
                     "checkpoint.npz", "losses.png", "samples.gif"}
    before = {path.name: path.stat().st_mtime_ns for path in tmp_path.iterdir()}
    assert trainer.train() == {}                              # no step left:
    assert trainer.written == []                              # nothing written again
    assert {path.name: path.stat().st_mtime_ns for path in tmp_path.iterdir()} == before
