"""`python -m gans train | evaluate` as a student types it: a mistake ends with one
`error: ...` line and exit status 2 (no traceback), a setting with no effect is warned
about, and the last lines say what was written."""
import json

import pytest

import minigrad as mg
from gans.__main__ import main

# a tiny, fast run: the MLP GAN, small batches, the shipped digits
TINY = ["--model", "mlp", "--batch-size", "16", "--z-dim", "8", "--offline",
        "--device", "cpu"]


def _error(argv, capsys) -> str:
    """The stderr of main(argv), which must exit with status 2 and one error line."""
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), err
    return err[0]


@pytest.mark.parametrize("argv, message", [
    (["evaluate", "--checkpoint", "nope.npz"], "no such file: 'nope.npz'"),
    (["evaluate", "--checkpoint", "."], "is a directory"),
    (["train", "--resume", "nope.npz", "--max-steps", "1"], "no such file: 'nope.npz'"),
    (["train", "--ema", "1.0"], "ema is the decay"),
    (["train", "--n-critic", "0"], "n_critic must be at least 1"),
    (["train", "--loss", "wgan", "--label-smoothing", "0.1"], "BCE losses"),
    (["train", "--label-smoothing", "1.5"], "label_smoothing is in [0, 1)"),
    (["train", "--z-dim", "0"], "z_dim must be at least 1"),
    (["train", "--epochs", "0"], "epochs must be at least 1"),
    (["train", "--max-steps", "-1"], "max_steps must be 0 (no limit) or more"),
    (["train", "--checkpoint-every", "-5"], "checkpoint_every must be 0 (off) or more"),
])
def test_a_mistake_is_one_error_line(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    extra = ["--offline", "--device", "cpu", "--out", "run"] if argv[0] == "train" else \
        ["--offline", "--device", "cpu"]
    assert message in _error(argv + extra, capsys)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("size", ["0", "-1", "two"])
def test_evaluate_refuses_a_batch_size_below_one(size, capsys):
    with pytest.raises(SystemExit) as info:
        main(["evaluate", "--checkpoint", "nope.npz", "--batch-size", size])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "argument --batch-size:" in err
    assert ("must be at least 1" if size != "two" else "expected a whole number") in err


def test_unknown_metrics_are_refused_before_the_checkpoint_is_read(capsys, tmp_path):
    line = _error(["evaluate", "--checkpoint", str(tmp_path / "nope.npz"),
                   "--metrics", "fid,fidd", "--device", "cpu"], capsys)
    assert "unknown metric(s) fidd" in line


def test_resuming_with_other_settings_is_one_error_line(capsys, tmp_path):
    out = str(tmp_path / "run")
    assert main(["train", *TINY, "--max-steps", "1", "--out", out]) == 0
    capsys.readouterr()                             # the progress bar, on stderr
    line = _error(["train", *TINY, "--max-steps", "2", "--out", out, "--optimizer", "rmsprop",
                   "--resume", f"{out}/checkpoint.npz"], capsys)
    assert "does not fit this trainer" in line and "optimizer 'adam' / 'rmsprop'" in line


def test_train_says_what_it_wrote_and_a_finished_run_is_already_there(capsys, tmp_path):
    out = tmp_path / "run"
    assert main(["train", *TINY, "--max-steps", "2", "--out", str(out),
                 "--checkpoint-every", "0"]) == 0
    text = capsys.readouterr().out
    assert "done: 2 steps, now at step 2" in text
    assert "1 sample grid (samples_step*.png)" in text and "checkpoint.npz" in text
    assert int(mg.load(out / "checkpoint.npz")["step"]) == 2
    assert main(["train", *TINY, "--max-steps", "2", "--out", str(out),
                 "--resume", str(out / "checkpoint.npz")]) == 0
    text = capsys.readouterr().out
    assert "already at step 2" in text
    assert "checkpoint.npz" not in text.split("written in")[-1]     # none written this time
    assert text.split("written in")[-1].strip().endswith(": nothing")     # nor anything


def test_settings_without_effect_and_an_empty_data_dir_are_said(capsys, tmp_path):
    assert main(["train", *TINY, "--max-steps", "1", "--out", str(tmp_path / "run"),
                 "--image-size", "64", "--data-dir", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    assert "warning: image_size 64 has no effect with model 'mlp'" in captured.err
    assert f"note: --data-dir {tmp_path} holds no MNIST files" in captured.out
    assert main(["train", *TINY, "--max-steps", "1", "--out", str(tmp_path / "run2")]) == 0
    captured = capsys.readouterr()
    assert "warning" not in captured.err and "note:" not in captured.out


def test_checkpoint_every_0_is_in_the_help(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    assert "0 = only at the end" in " ".join(capsys.readouterr().out.split())


def test_evaluate_describes_an_mlp_generator_without_a_width(tmp_path):
    from gans.metrics.cli import load_generator
    from gans.models import build

    G, _ = build("mlp", 28, 8)
    path = tmp_path / "mlp.npz"
    mg.save({"G": G.state_dict(), "config": json.dumps({"model": "mlp", "z_dim": 8,
                                                         "width": 64})}, path)
    _, z_dim, description = load_generator(path)
    assert z_dim == 8 and "width" not in description and "hidden 256-512-1024" in description


@pytest.mark.parametrize("flag, value, message", [
    ("--lr-g", "nan", "argument --lr-g: must be a finite number, got nan"),
    ("--lr-d", "-1", "argument --lr-d: must be 0 or more"),
    ("--penalty-weight", "inf", "argument --penalty-weight: must be a finite number"),
    ("--clip", "nan", "argument --clip: must be a finite number"),
    ("--seed", "-1", "argument --seed: must be at least 0, got -1"),
])
def test_a_non_finite_or_negative_setting_is_refused_before_any_work(flag, value, message,
                                                                    capsys, tmp_path):
    """nan passes every `< 0` check: it trained, and saved a checkpoint of nan weights."""
    with pytest.raises(SystemExit) as info:
        main(["train", *TINY, "--max-steps", "1", "--out", str(tmp_path / "run"),
              flag, value])
    assert info.value.code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_train_config_refuses_nan_settings():
    from gans.training import TrainConfig

    with pytest.raises(ValueError, match="lr_g must be a finite number, got nan"):
        TrainConfig(lr_g=float("nan")).validate()
    with pytest.raises(ValueError, match="betas must be finite"):
        TrainConfig(betas=(0.5, float("inf"))).validate()


def test_a_fresh_run_does_not_write_over_another_run_or_into_a_file(capsys, tmp_path):
    out = tmp_path / "run"
    assert main(["train", *TINY, "--max-steps", "1", "--out", str(out)]) == 0
    capsys.readouterr()
    before = (out / "checkpoint.npz").read_bytes()
    line = _error(["train", *TINY, "--max-steps", "1", "--out", str(out)], capsys)
    assert "already holds a run" in line and "--resume" in line
    assert (out / "checkpoint.npz").read_bytes() == before           # the old run is whole
    a_file = tmp_path / "afile"
    a_file.write_text("not a folder")
    assert "is a file, not a folder" in _error(
        ["train", *TINY, "--max-steps", "1", "--out", str(a_file)], capsys)
    assert "a part of that path is a file" in _error(
        ["train", *TINY, "--max-steps", "1", "--out", str(a_file / "sub")], capsys)


def test_evaluate_names_a_checkpoint_that_does_not_fit_and_checks_json_first(capsys,
                                                                             tmp_path):
    out = tmp_path / "run"
    assert main(["train", *TINY, "--max-steps", "1", "--out", str(out)]) == 0
    capsys.readouterr()
    state = mg.load(out / "checkpoint.npz")
    mg.save({"G": state["G"]}, tmp_path / "g_only.npz")      # no config: flags describe G
    line = _error(["evaluate", "--checkpoint", str(tmp_path / "g_only.npz"), "--model",
                   "dcgan", "--offline", "--device", "cpu"], capsys)
    assert "g_only.npz: its G does not fit a dcgan generator 28x28" in line
    line = _error(["evaluate", "--checkpoint", str(out / "checkpoint.npz"), "--json",
                   str(tmp_path), "--offline", "--device", "cpu"], capsys)
    assert "--json" in line and "needs a file name in an existing folder" in line


def test_resuming_with_other_settings_that_fit_is_said(capsys, tmp_path):
    out = tmp_path / "run"
    assert main(["train", *TINY, "--max-steps", "1", "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["train", *TINY, "--max-steps", "2", "--out", str(out), "--loss", "lsgan",
                 "--resume", str(out / "checkpoint.npz")]) == 0
    err = capsys.readouterr().err
    assert "resumed with settings other than the checkpoint's" in err
    assert "loss 'nonsaturating' / 'lsgan'" in err


def test_the_loss_is_spelled_as_gans_losses_takes_it(capsys, tmp_path):
    # 'non-saturating' (the papers' spelling) is the loss TrainConfig and losses.get take
    out = tmp_path / "run"
    assert main(["train", *TINY, "--max-steps", "1", "--out", str(out),
                 "--loss", "Non-Saturating"]) == 0
    state = mg.load(out / "checkpoint.npz")
    assert json.loads(state["config"])["loss"] == "nonsaturating"
    with pytest.raises(SystemExit) as info:
        main(["train", *TINY, "--out", str(out), "--loss", "saturating"])
    assert info.value.code == 2
    assert "invalid choice: 'saturating'" in capsys.readouterr().err
