"""2-D mixtures of Gaussians: the standard mode-collapse benchmark, and GAN-Lab-style frames.

The data sets (all parameters are arguments; the defaults are the benchmark's):

    ring   8 Gaussians, means equally spaced on a circle of radius 2, std 0.02
           (the 2-D experiment of Metz et al. 2017, "Unrolled GANs")
    grid   25 Gaussians, means on the 5 x 5 grid {-4, -2, 0, 2, 4}^2 (spacing 2), std 0.02
           (the grid of Srivastava et al. 2017, "VEEGAN", and Lin et al. 2018, "PacGAN")

The papers differ in the details. PacGAN's published code (github.com/fjxmlzn/PacGAN,
synthetic_data_experiments/*/config.py) uses a ring of radius 1 with std 0.01 and the
same grid with std 0.05: `ring(radius=1, std=0.01)` and `grid(std=0.05)` give those.

Metrics (VEEGAN's and PacGAN's; PacGAN's code: pacgan/extensions.py, MetricLogger):

    high quality   a generated sample is *high quality* if it lies within 3 std of the
                   mode nearest to it;  share = high-quality samples / all samples
    modes captured a mode is *captured* when at least `min_count` high-quality samples have
                   it as their nearest mode. PacGAN's code uses min_count = 1 (any sample);
                   `mode_metrics(..., min_count=20)` is a stricter reading for 2500 samples
                   (a uniform generator puts 312 there for 8 modes, 100 for 25), and the
                   one `train` reports (ToyConfig.min_count = 20).

Training: small fully connected G and D (nn.Sequential of Linear + ReLU), any loss of
gans.losses and any penalty of gans.penalties, Adam; `train` returns snapshots (samples
and metrics every `snapshot_every` steps) and can draw a frame at each snapshot:

    frame          real points, generated points, D's output over the plane as a heat map,
                   and arrows for the direction in which the generator's loss pushes each
                   generated point (minus the gradient of g_loss w.r.t. the point).
                   The frames go into a GIF (gans.viz.make_gif): the GAN Lab picture
                   (Kahng et al. 2018) with minigrad underneath.

`WGAN_GP_RING` is the configuration of examples/gaussian_mixtures.py and of the test: with
it the ring's 8 modes are all captured (at min_count = 20) with at least 70% high-quality
samples after `WGAN_GP_RING.steps` steps, seed 0, on the CPU.
"""
from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import numpy as np

import minigrad as mg
import minigrad.nn as nn

from .. import losses as gan_losses
from .. import penalties, viz
from .blas import blas_threads


# ------------------------------------------------------------------ data
@dataclasses.dataclass(frozen=True)
class Mixture:
    """An equal-weight mixture of isotropic Gaussians in the plane."""
    name: str
    centers: np.ndarray          # (M, 2) means
    std: float                   # the standard deviation of every component

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """n points (n, 2), float32: a random component, then Gaussian noise around it."""
        which = rng.integers(0, len(self.centers), size=n)
        points = self.centers[which] + self.std * rng.standard_normal((n, 2))
        return points.astype(np.float32)

    @property
    def limit(self) -> float:
        """Half the side of a square view that holds every mode with a margin."""
        return float(np.abs(self.centers).max()) + 1.0


def ring(n_modes: int = 8, radius: float = 2.0, std: float = 0.02) -> Mixture:
    angles = 2 * np.pi * np.arange(n_modes) / n_modes
    centers = radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    return Mixture(f"ring{n_modes}", centers, std)


def grid(n: int = 5, spacing: float = 2.0, std: float = 0.02) -> Mixture:
    ticks = spacing * (np.arange(n) - (n - 1) / 2)
    xs, ys = np.meshgrid(ticks, ticks, indexing="ij")
    return Mixture(f"grid{n * n}", np.stack([xs.ravel(), ys.ravel()], axis=1), std)


def get_mixture(name: str) -> Mixture:
    """'ring' (8 Gaussians) or 'grid' (25 Gaussians) with the benchmark's parameters."""
    if name in ("ring", "ring8"):
        return ring()
    if name in ("grid", "grid25"):
        return grid()
    raise ValueError(f"unknown mixture {name!r}: 'ring' or 'grid'")


# ------------------------------------------------------------------ metrics
def mode_metrics(samples: np.ndarray, centers: np.ndarray, std: float, n_std: float = 3.0,
                 min_count: int = 1) -> dict:
    """Modes captured and the share of high-quality samples (see the module docstring).

    Returns {'modes': captured count, 'n_modes': M, 'high_quality': share in [0, 1],
    'counts': (M,) high-quality samples per mode}."""
    samples = np.asarray(samples, dtype=np.float64).reshape(-1, 2)
    centers = np.asarray(centers, dtype=np.float64)
    dist = np.linalg.norm(samples[:, None, :] - centers[None, :, :], axis=2)  # (N, M)
    nearest = dist.argmin(axis=1)                                            # (N,)
    good = dist[np.arange(len(samples)), nearest] <= n_std * std             # (N,)
    counts = np.bincount(nearest[good], minlength=len(centers))              # (M,)
    return {"modes": int((counts >= min_count).sum()), "n_modes": len(centers),
            "high_quality": float(good.mean()) if len(samples) else 0.0,
            "counts": counts}


# ------------------------------------------------------------------ models
def mlp(n_in: int, n_out: int, hidden: int = 64, depth: int = 3) -> nn.Sequential:
    """Linear(n_in, hidden) -> ReLU -> ... (depth hidden layers) -> Linear(hidden, n_out)."""
    layers, width = [], n_in
    for _ in range(depth):
        layers += [nn.Linear(width, hidden), nn.ReLU()]
        width = hidden
    layers.append(nn.Linear(width, n_out))
    return nn.Sequential(*layers)


class Critic(nn.Module):
    """D for points: (N, 2) -> (N,) raw scores (the shape gans.losses expects)."""

    def __init__(self, hidden: int = 64, depth: int = 3):
        super().__init__()
        self.net = mlp(2, 1, hidden, depth)

    def forward(self, x):
        return self.net(x).reshape(x.shape[0])


# ------------------------------------------------------------------ training
@dataclasses.dataclass
class ToyConfig:
    data: str = "ring"              # ring | grid
    loss: str = "wgan"              # any gans.losses name
    penalty: str = "wgan-gp"        # none | wgan-gp | r1 | r2
    penalty_weight: float = 0.1     # lambda or gamma
    clip: float = 0.0               # WGAN weight clipping (0 = off)
    n_critic: int = 1               # D steps per G step
    lr_d: float = 3e-3
    lr_g: float = 1e-3
    betas: tuple = (0.5, 0.9)
    lr_final: float = 0.0           # both lrs decay linearly to lr * lr_final at the end
    batch_size: int = 256
    z_dim: int = 2
    hidden: int = 128
    depth: int = 3
    steps: int = 1500               # G steps
    seed: int = 0
    snapshot_every: int = 100       # steps between snapshots (and frames)
    eval_samples: int = 2500        # generated points per snapshot
    min_count: int = 20             # a mode counts as captured with this many of them


# The configuration of examples/gaussian_mixtures.py and tests/test_toys.py: WGAN-GP with
# lambda = 0.1 (the value of the toy experiments of Gulrajani et al. 2017), Adam with
# betas (0.5, 0.9), 3 hidden layers of 128 ReLUs in G and D, batch 256, 1500 steps.
# Tuned to fit a CPU budget of well under a minute (about 20-45 s on two busy cores):
# one critic step per G step, with a critic learning rate three times G's (the
# two-time-scale rule, Heusel et al. 2017, in place of the paper's 5 critic steps), and
# both learning rates decaying linearly to 0, which lets the samples settle into the
# modes. Measured on seed 0: 8/8 modes (>= 20 of 2500 samples each) with 74% high-quality
# samples after 1200 steps and 82% after 1500.
WGAN_GP_RING = ToyConfig()


@dataclasses.dataclass
class Snapshot:
    step: int
    fake: np.ndarray                 # (eval_samples, 2) generated points
    metrics: dict
    frame: Path | None = None


@dataclasses.dataclass
class ToyResult:
    config: ToyConfig
    mixture: Mixture
    G: nn.Module
    D: nn.Module
    snapshots: list
    seconds: float


def build(config: ToyConfig) -> tuple[nn.Module, nn.Module]:
    """(G, D) for a configuration, initialised from mg.manual_seed(config.seed)."""
    mg.manual_seed(config.seed)
    return mlp(config.z_dim, 2, config.hidden, config.depth), Critic(config.hidden,
                                                                      config.depth)


def _penalty(config: ToyConfig, D, real, fake):
    if config.penalty == "wgan-gp":
        return penalties.gradient_penalty(D, real, fake, config.penalty_weight)
    if config.penalty == "r1":
        return penalties.r1_penalty(D, real, config.penalty_weight)
    if config.penalty == "r2":
        return penalties.r2_penalty(D, fake, config.penalty_weight)
    if config.penalty != "none":
        raise ValueError(f"unknown penalty {config.penalty!r}: none, wgan-gp, r1 or r2")
    return None


def _set_lr(optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr


def generate(G, n: int, z_dim: int, rng: np.random.Generator | None = None) -> np.ndarray:
    """n points G(z), z ~ N(0, I). With `rng` the latents come from it, not from minigrad's
    generator, so that looking at G (a snapshot, a frame) does not change the training
    that follows: the same seed trains the same G whatever the snapshot interval."""
    z = (mg.randn(n, z_dim) if rng is None
         else mg.tensor(rng.standard_normal((n, z_dim)), dtype=mg.float32))
    with mg.no_grad():
        return G(z).numpy()


def train(config: ToyConfig = WGAN_GP_RING, frames_dir=None, progress: bool = False,
          on_snapshot=None) -> ToyResult:
    """Train G and D on a mixture; a Snapshot every `snapshot_every` steps (and at 0).

    frames_dir: when given, a GAN-Lab frame PNG is drawn at each snapshot into it.
    on_snapshot: optional callable(snapshot) (printing, early stopping by raising).
    Runs with one BLAS thread (see gans/toys/blas.py: small matrices, busy machines)."""
    with blas_threads(1):
        return _train(config, frames_dir, progress, on_snapshot)


def _train(config, frames_dir, progress, on_snapshot) -> ToyResult:
    mixture = get_mixture(config.data)
    loss = gan_losses.get(config.loss)
    G, D = build(config)
    rng = np.random.default_rng(config.seed)
    opt_g = mg.optim.Adam(G.parameters(), lr=config.lr_g, betas=config.betas)
    opt_d = mg.optim.Adam(D.parameters(), lr=config.lr_d, betas=config.betas)
    B, snapshots, t0 = config.batch_size, [], time.perf_counter()
    look_rng = np.random.default_rng([config.seed, 1])     # snapshots' own latents

    def snapshot(step):
        fake = generate(G, config.eval_samples, config.z_dim, look_rng)
        snap = Snapshot(step, fake, mode_metrics(fake, mixture.centers, mixture.std,
                                                 min_count=config.min_count))
        if frames_dir is not None:
            snap.frame = draw_frame(G, D, mixture, loss, Path(frames_dir) / f"frame{step:06d}.png",
                                    step=step, fake=fake[:500], config=config)
        snapshots.append(snap)
        if progress:
            m = snap.metrics
            print(f"step {step:5d}  modes {m['modes']}/{m['n_modes']}  high quality "
                  f"{m['high_quality']:.0%}  ({time.perf_counter() - t0:.0f} s)")
        if on_snapshot is not None:
            on_snapshot(snap)

    snapshot(0)
    for step in range(1, config.steps + 1):
        decay = 1.0 - (1.0 - config.lr_final) * (step - 1) / max(config.steps - 1, 1)
        _set_lr(opt_d, config.lr_d * decay)
        _set_lr(opt_g, config.lr_g * decay)
        for _ in range(config.n_critic):
            real = mg.tensor(mixture.sample(B, rng))                     # (B, 2)
            with mg.no_grad():
                fake = G(mg.randn(B, config.z_dim))                      # (B, 2)
            scores = D(mg.cat([real, fake]))          # one pass for both halves: (2B,)
            loss_d = loss.d_loss(scores[:B], scores[B:])
            penalty = _penalty(config, D, real, fake)
            if penalty is not None:
                loss_d = loss_d + penalty
            opt_d.zero_grad()
            loss_d.backward()
            opt_d.step()
            if config.clip:
                penalties.clip_weights(D, config.clip)
        loss_g = loss.g_loss(D(G(mg.randn(B, config.z_dim))))
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()
        if step % config.snapshot_every == 0 or step == config.steps:
            snapshot(step)
    return ToyResult(config, mixture, G, D, snapshots, time.perf_counter() - t0)


# ------------------------------------------------------------------ pictures
def generator_push(D, loss, points: np.ndarray) -> np.ndarray:
    """-d g_loss / d x at each generated point x (N, 2): where G's loss moves it."""
    x = mg.tensor(points, requires_grad=True)
    (grad,) = mg.grad(loss.g_loss(D(x)) * len(points), x)   # * N: per-point, not mean
    return -grad.numpy()


def critic_map(D, limit: float, n: int = 120) -> tuple[np.ndarray, np.ndarray]:
    """D's output on an n x n grid over [-limit, limit]^2: (axis ticks (n,), values (n, n))."""
    ticks = np.linspace(-limit, limit, n, dtype=np.float32)
    xs, ys = np.meshgrid(ticks, ticks)
    with mg.no_grad():
        values = D(mg.tensor(np.stack([xs.ravel(), ys.ravel()], 1))).numpy()
    return ticks, values.reshape(n, n)


def draw_frame(G, D, mixture: Mixture, loss, path, step: int = 0, fake=None,
               config: ToyConfig | None = None, n_fake: int = 500):
    """One GAN-Lab frame: heat map of D, real points, generated points, push arrows."""
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    z_dim = config.z_dim if config else 2
    fake = generate(G, n_fake, z_dim) if fake is None else fake
    real = mixture.sample(500, np.random.default_rng(1))
    limit = mixture.limit
    ticks, values = critic_map(D, limit)
    if getattr(loss, "uses_probabilities", False):
        values, label = 1 / (1 + np.exp(-values)), "D(x) (probability of real)"
    else:
        label = "D(x) (critic score)"
    push = generator_push(D, loss, fake[:100])
    scale = np.linalg.norm(push, axis=1).max() or 1.0

    fig, ax = plt.subplots(figsize=(5.2, 4.6))
    image = ax.imshow(values, origin="lower", extent=(-limit, limit, -limit, limit),
                      cmap="RdBu", alpha=0.8)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label=label)
    ax.scatter(real[:, 0], real[:, 1], s=4, c="tab:green", label="real")
    ax.scatter(fake[:, 0], fake[:, 1], s=4, c="tab:purple", alpha=0.6, label="generated")
    ax.quiver(fake[:100, 0], fake[:100, 1], push[:, 0] / scale, push[:, 1] / scale,
              color="black", angles="xy", scale_units="xy", scale=1.0 / (0.15 * limit),
              width=0.003, alpha=0.6)
    m = mode_metrics(fake, mixture.centers, mixture.std,
                     min_count=config.min_count if config else 1)
    ax.set_title(f"{mixture.name}, step {step}: modes {m['modes']}/{m['n_modes']}, "
                 f"high quality {m['high_quality']:.0%}", fontsize=9)
    ax.set_xlim(-limit, limit)
    ax.set_ylim(-limit, limit)
    ax.set_aspect("equal")
    ax.legend(loc="upper right", fontsize=7, markerscale=3)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


def frames_to_gif(result: ToyResult, path, duration_ms: int = 300):
    """Assemble the snapshots' frames into a GIF (gans.viz.make_gif)."""
    return viz.make_gif([s.frame for s in result.snapshots if s.frame], path, duration_ms)


def plot_snapshots(result: ToyResult, path, count: int = 6):
    """A row of scatter plots at a few snapshots, plus the metrics over training."""
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    snaps = result.snapshots
    picks = [snaps[i] for i in np.unique(np.linspace(0, len(snaps) - 1, count).round()
                                         .astype(int))]
    fig, axes = plt.subplots(1, len(picks) + 1, figsize=(2.6 * (len(picks) + 1), 3.0),
                             layout="constrained")
    lim, centers = result.mixture.limit, result.mixture.centers
    for ax, snap in zip(axes, picks):
        ax.scatter(centers[:, 0], centers[:, 1], s=30, c="tab:green", marker="x")
        ax.scatter(snap.fake[:, 0], snap.fake[:, 1], s=1, c="tab:purple", alpha=0.4)
        ax.set_title(f"step {snap.step}\n{snap.metrics['modes']} modes, "
                     f"{snap.metrics['high_quality']:.0%} hq", fontsize=8)
        ax.set_xlim(-lim, lim), ax.set_ylim(-lim, lim), ax.set_aspect("equal")
        ax.set_xticks([]), ax.set_yticks([])
    ax = axes[-1]
    steps = [s.step for s in snaps]
    ax.plot(steps, [s.metrics["high_quality"] for s in snaps], label="high quality")
    ax.plot(steps, [s.metrics["modes"] / s.metrics["n_modes"] for s in snaps],
            label="modes / all")
    ax.set_ylim(0, 1.05), ax.set_xlabel("step"), ax.legend(fontsize=7)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
