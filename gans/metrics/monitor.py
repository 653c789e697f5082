"""MNIST-FID and mode coverage during training: the hook behind TrainConfig.eval_every
(`python -m gans train --eval-every 1` evaluates once per epoch).

Each evaluation generates `num_samples` digits from fixed latents (numpy's generator,
seeded: minigrad's random stream, and so the training run, is not disturbed), measures
them with the shipped MNIST classifier against as many real training digits, appends one
line {"step", "epoch", "mnist_fid", "mnist_is", "modes_covered", "mode_kl"} to
metrics.jsonl and redraws eval_metrics.png from every such line in that file (so the
curve survives a resume).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .evaluate import feature_net, generate
from .frechet import frechet_distance, gaussian_stats
from .scores import inception_score, mode_coverage

EVAL_KEYS = ("mnist_fid", "mnist_is", "modes_covered", "mode_kl")


def evaluate_generator(trainer, num_samples: int = 2000) -> dict:
    """The metrics of the trainer's current generator (the EMA copy if it keeps one)."""
    c = trainer.config
    net = feature_net("mnist", device=trainer.device)
    cache = trainer.__dict__.setdefault("_eval_cache", {})
    if "real" not in cache:                       # real statistics: once per run
        images = trainer.loader.images             # (N, 1, 28, 28) float in [-1, 1]
        pick = np.random.default_rng(c.seed).permutation(len(images))[:num_samples]
        cache["real"] = gaussian_stats(net(images[pick]).features)
    G = trainer.G_ema if trainer.G_ema is not None else trainer.G
    fake = net(generate(G, num_samples, c.z_dim, device=trainer.device, seed=c.seed + 1))
    mu_f, sigma_f = gaussian_stats(fake.features)
    coverage = mode_coverage(fake.probs)
    return {"mnist_fid": frechet_distance(*cache["real"], mu_f, sigma_f),
            "mnist_is": inception_score(fake.probs, splits=1)[0],
            "modes_covered": coverage["covered"], "mode_kl": coverage["kl_uniform"]}


def log_evaluation(trainer, log) -> dict:
    """Evaluate, write the line into the open metrics log `log`, redraw the plot."""
    result = {"step": trainer.step,
              "epoch": (trainer.step - 1) // trainer.steps_per_epoch + 1,
              **evaluate_generator(trainer)}
    log.write(json.dumps(result) + "\n")
    log.flush()
    plot_evaluations(Path(trainer.out) / "metrics.jsonl", Path(trainer.out) / "eval_metrics.png")
    return result


def read_evaluations(metrics_path) -> list[dict]:
    """The evaluation lines of a metrics.jsonl (those with an "mnist_fid")."""
    rows = []
    for line in Path(metrics_path).read_text().splitlines():
        if '"mnist_fid"' in line:
            rows.append(json.loads(line))
    return rows


def plot_evaluations(metrics_path, path) -> Path | None:
    """MNIST-FID and modes covered against the training step."""
    rows = read_evaluations(metrics_path)
    if not rows:
        return None
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    steps = [r["step"] for r in rows]
    fig, (ax_fid, ax_modes) = plt.subplots(1, 2, figsize=(10, 3.5))
    ax_fid.plot(steps, [r["mnist_fid"] for r in rows], marker="o")
    ax_fid.set_title("MNIST-FID (lower is better)")
    ax_modes.plot(steps, [r["modes_covered"] for r in rows], marker="o", label="modes covered")
    ax_modes.set_ylim(0, 10.5)
    ax_kl = ax_modes.twinx()
    ax_kl.plot(steps, [r["mode_kl"] for r in rows], color="tab:red", marker="x",
               label="KL(modes || uniform)")
    ax_modes.set_title("mode coverage")
    ax_modes.legend(loc="lower left")
    ax_kl.legend(loc="lower right")
    for ax in (ax_fid, ax_modes):
        ax.set_xlabel("step")
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
