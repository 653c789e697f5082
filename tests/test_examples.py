"""Every script in examples/ runs from start to finish, as a student would run it, cut short
(a few steps) and writing into a temporary folder; its pictures and files are there after.
The long runs and their figures are in each script's docstring; the GPU run of the DCGAN
example is bench/gpu_session.sh's `example` part."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# script, its arguments ({out}: a folder in tmp_path), the files it must leave in {out}
EXAMPLES = [
    ("autograd_graph.py", ["--out", "{out}"], ["tiny_graph.png", "wgan_gp_graph.png"]),
    ("bilinear_game.py", ["--steps", "20", "--out", "{out}"], ["bilinear_game.png"]),
    ("dirac_gan.py", ["--steps", "20", "--out", "{out}"], ["dirac_gan.png"]),
    ("gaussian_mixtures.py", ["--steps", "20", "--every", "10", "--out", "{out}"], []),
    ("pixel_gaussian_baseline.py", ["--offline", "--n", "2", "--out", "{out}"],
     ["pixel_gaussian_baseline.png"]),
    ("dcgan_mnist.py", ["--offline", "--max-steps", "3", "--out", "{out}"],
     ["checkpoint.npz", "losses.png", "samples.gif"]),
    ("vanilla_gan_mnist.py", ["--offline", "--max-steps", "3", "--out", "{out}"],
     ["losses.png", "samples.gif"]),
    ("wgan_gp_mnist.py", ["--offline", "--max-steps", "2", "--out", "{out}"],
     ["losses.png", "samples.gif"]),
    ("cgan_mnist.py", ["--offline", "--max-steps", "3", "--out", "{out}"],
     ["epoch001.png", "losses.png", "metrics.json"]),
    ("latent_space.py", ["--train-steps", "20", "--restarts", "1", "--invert-steps", "3",
                         "--out", "{out}"],
     ["interpolation.png", "arithmetic.png", "inversion.png"]),
    ("train_mnist_classifier.py", ["--epochs", "1", "--out", "{out}/classifier.npz"],
     ["classifier.npz"]),
    ("metrics_reference.py", [], []),
]


@pytest.mark.slow
@pytest.mark.parametrize("script, args, files", EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_example_runs(script, args, files, tmp_path):
    out = tmp_path / "out"
    env = dict(os.environ, PYTHONPATH=str(ROOT), MPLBACKEND="Agg")
    # Run from an empty folder, so that nothing found in the checkout (an earlier run's
    # runs/dcgan/checkpoint.npz) changes what the script does, and nothing is left there.
    done = subprocess.run([sys.executable, str(ROOT / "examples" / script),
                           *(a.format(out=out) for a in args)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    for name in files:
        assert (out / name).is_file(), f"{script} left no {name} in {out}: {done.stdout[-1500:]}"
    if not files:                        # these print their results
        assert done.stdout.strip(), done.stderr[-2000:]


def _run_example(script, args, cwd):
    env = dict(os.environ, PYTHONPATH=str(ROOT), MPLBACKEND="Agg")
    done = subprocess.run([sys.executable, str(ROOT / "examples" / script), *args],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return done.stdout


@pytest.mark.slow
@pytest.mark.parametrize("script, steps", [("wgan_gp_mnist.py", "1"),
                                           ("dcgan_mnist.py", "2")])
def test_resume_says_where_it_starts_and_a_finished_run_is_already_there(script, steps,
                                                                        tmp_path):
    args = ["--offline", "--device", "cpu", "--max-steps", steps, "--out", "run", "--resume"]
    first = _run_example(script, args, tmp_path)
    again = _run_example(script, args, tmp_path)       # nothing left to train: no KeyError
    assert "no checkpoint at run/checkpoint.npz; starting fresh" in first
    assert f"resumed at step {steps}" in again and f"already at step {steps}" in again
    assert "ms/step" not in again


@pytest.mark.slow
def test_the_classifier_script_leaves_the_shipped_weights_alone(tmp_path):
    from gans.metrics.classifier import WEIGHTS

    shipped = WEIGHTS.read_bytes()
    try:
        out = _run_example("train_mnist_classifier.py", ["--epochs", "1"], tmp_path)
    finally:
        changed = WEIGHTS.read_bytes() != shipped
        if changed:                      # put the package's file back before failing
            WEIGHTS.write_bytes(shipped)
    assert not changed, "the script overwrote gans/data_files/mnist_classifier.npz"
    assert (tmp_path / "runs" / "mnist_classifier.npz").is_file(), out
