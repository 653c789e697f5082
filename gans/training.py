"""A reusable GAN training loop: every trick of the course behind a flag.

One training *step* is n_critic discriminator updates followed by one generator update:

    for each of n_critic times:
        x    = next real batch                            (N, C, H, W) in [-1, 1]
        fake = G(z), z ~ N(0, I)                          (N, C, H, W)
        loss_D = d_loss(D(x), D(fake.detach())) [+ penalty]   # detach: D's step must not
        D.zero_grad(); loss_D.backward(); opt_D.step()        # push gradients into G
        [clip D's weights]                                     # original WGAN only
    loss_G = g_loss(D(fake))                                   # same fake, updated D
    G.zero_grad(); loss_G.backward(); opt_G.step()
    [EMA of G's weights]

Options (TrainConfig): the loss (minimax, nonsaturating, lsgan, wgan, hinge), a penalty
(wgan-gp, r1, r2), spectral norm, weight clipping, n_critic, separate learning rates for D
and G (two-time-scale update rule, Heusel et al. 2017), one-sided label smoothing, label
flipping, a history pool of 50 old fakes (Shrivastava et al. 2017), and an exponential
moving average of G's weights (Karras et al. 2018) used for the sample grids.

Resuming: a checkpoint holds G, D, both optimizers, the EMA copy, the history pool, the
random generator's state, the data iterator's position and the step. On the CPU a resumed
run is bit-identical to an uninterrupted one (tests/test_training.py checks it).
"""
from __future__ import annotations

import json
import math
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

import minigrad as mg
import minigrad.nn as nn
from minigrad import backend

from . import losses as gan_losses
from . import penalties, viz
from .data import BatchIterator, to_float_images
from .models import build, weights_init


@dataclass
class TrainConfig:
    model: str = "dcgan"               # mlp | dcgan
    loss: str = "nonsaturating"        # minimax | nonsaturating | lsgan | wgan | hinge
    penalty: str = "none"              # none | wgan-gp | r1 | r2
    penalty_weight: float = 10.0       # lambda (wgan-gp) or gamma (r1, r2)
    spectral_norm: bool = False        # spectral norm on D's layers
    d_norm: str = "batch"              # D's normalisation: batch | instance | layer | none
    clip: float = 0.0                  # WGAN weight clipping to [-clip, clip]; 0 = off
    n_critic: int = 1                  # D updates per G update
    optimizer: str = "adam"            # adam | rmsprop (the original WGAN's)
    lr_d: float = 2e-4
    lr_g: float = 2e-4
    betas: tuple = (0.5, 0.999)
    batch_size: int = 64
    z_dim: int = 100
    width: int = 64                    # DCGAN base channel count (64 in the paper)
    image_size: int = 28               # 28, or 64 (digits resized with F.interpolate)
    epochs: int = 5                    # at least 1
    max_steps: int = 0                 # stop after this many steps (0 or None = no limit)
    label_smoothing: float = 0.0       # real label = 1 - label_smoothing, in [0, 1) (BCE only)
    label_flip: float = 0.0            # probability of swapping real/fake labels in a D step
    history: int = 0                   # size of the pool of old fakes shown to D (0 = off)
    ema: float = 0.0                   # EMA decay of G's weights, e.g. 0.999 (0 = off)
    seed: int = 0
    device: str = "cpu"
    out: str = "runs/gan"
    checkpoint_every: int = 500        # steps (0 = only at the end); one is also written
                                       # at the end
    log_every: int = 10                # steps between lines of metrics.jsonl (at least 1)
    sample_every: int = 0              # steps between sample grids (0 = once per epoch)
    num_samples: int = 64              # images in a sample grid
    eval_every: int = 0                # epochs between MNIST-FID / mode-coverage evaluations
                                       # (0 = off; gans/metrics/monitor.py)
    progress: bool = True              # tqdm progress bar

    def validate(self) -> None:
        """Refuse settings that cannot work (ValueError), warn about ones that rarely do,
        and spell the loss the way gans.losses names it: get() also takes 'non-saturating'
        or 'Minimax', so validate stores get(loss).name ('nonsaturating', 'minimax'). Every
        later comparison, and the config saved in a checkpoint, sees that one spelling."""
        self.loss = gan_losses.get(self.loss).name
        for name in ("lr_d", "lr_g", "clip", "penalty_weight", "ema", "label_smoothing",
                     "label_flip"):
            if not math.isfinite(getattr(self, name)):     # (nan passes every < check)
                raise ValueError(f"{name} must be a finite number, got {getattr(self, name)}")
        if not all(math.isfinite(beta) for beta in self.betas):
            raise ValueError(f"betas must be finite numbers, got {self.betas}")
        if self.penalty not in ("none", "wgan-gp", "r1", "r2"):
            raise ValueError(f"unknown penalty {self.penalty!r}: none, wgan-gp, r1 or r2")
        if self.model not in ("mlp", "dcgan"):
            raise ValueError(f"unknown model {self.model!r}: mlp or dcgan")
        if self.optimizer not in ("adam", "rmsprop"):
            raise ValueError(f"unknown optimizer {self.optimizer!r}: adam or rmsprop")
        if self.d_norm not in ("batch", "instance", "layer", "none"):
            raise ValueError(f"unknown d_norm {self.d_norm!r}: batch, instance, layer or none")
        bce = self.loss in ("minimax", "nonsaturating")
        if (self.label_smoothing or self.label_flip) and not bce:
            raise ValueError("label smoothing and label flipping apply to the BCE losses "
                             "(minimax, nonsaturating) only")
        for name in ("n_critic", "batch_size", "z_dim", "width", "epochs", "log_every",
                     "num_samples"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        for name in ("checkpoint_every", "sample_every", "eval_every", "clip",
                     "penalty_weight"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be 0 (off) or more, got {getattr(self, name)}")
        if self.max_steps is not None and self.max_steps < 0:
            raise ValueError(f"max_steps must be 0 (no limit) or more, got {self.max_steps}")
        if self.lr_d < 0 or self.lr_g < 0:
            raise ValueError(f"the learning rates cannot be negative, got lr_d {self.lr_d}, "
                             f"lr_g {self.lr_g}")
        if self.history < 0:
            raise ValueError(f"history is the size of the pool of old fakes: 0 (off) or "
                             f"more, got {self.history}")
        if not 0.0 <= self.ema < 1.0:
            raise ValueError(f"ema is the decay of G's moving average, in [0, 1) "
                             f"(0 = off, e.g. 0.999), got {self.ema}")
        if not 0.0 <= self.label_flip <= 1.0:
            raise ValueError(f"label_flip is a probability, in [0, 1], got {self.label_flip}")
        if not 0.0 <= self.label_smoothing < 1.0:
            raise ValueError(f"label_smoothing is in [0, 1) (the real label is 1 - "
                             f"label_smoothing, e.g. 0.1), got {self.label_smoothing}")
        self._warn_ignored()
        if self.penalty == "wgan-gp" and self.d_norm == "batch" and self.model == "dcgan":
            warnings.warn("WGAN-GP with a batch-normalised critic penalises a gradient that "
                          "mixes samples; Gulrajani et al. use --d-norm none or layer",
                          stacklevel=2)
        if (self.loss == "wgan" and not self.clip and self.penalty == "none"
                and not self.spectral_norm):
            warnings.warn("loss 'wgan' with no weight clipping (--clip), no penalty "
                          "(--penalty wgan-gp) and no spectral norm (--spectral-norm): "
                          "nothing keeps the critic Lipschitz, so E f(x) - E f(G(z)) can "
                          "grow without bound and is no estimate of a distance",
                          stacklevel=2)

    def _warn_ignored(self) -> None:
        """Warn about settings changed from their default that have no effect with the
        rest of the configuration (a default that does nothing says nothing)."""
        default = TrainConfig.__dataclass_fields__
        ignored = []
        if self.model == "mlp":
            why = "the MLP networks are 28 x 28, with fixed layer sizes and no normalisation"
            for name in ("image_size", "d_norm", "width"):
                if getattr(self, name) != default[name].default:
                    ignored.append(f"{name} {getattr(self, name)!r} has no effect with "
                                   f"model 'mlp' ({why})")
        if self.optimizer == "rmsprop" and tuple(self.betas) != default["betas"].default:
            ignored.append(f"betas {tuple(self.betas)} have no effect with optimizer "
                           f"'rmsprop' (they are Adam's)")
        if self.penalty == "none" and self.penalty_weight != default["penalty_weight"].default:
            ignored.append(f"penalty_weight {self.penalty_weight} has no effect with "
                           f"penalty 'none'")
        for message in ignored:
            warnings.warn(message, stacklevel=3)


class HistoryPool:
    """A pool of old generated images (Shrivastava et al. 2017; CycleGAN's ImagePool).

    Each new fake is, with probability 1/2 once the pool is full, swapped for a random old
    one: D keeps seeing earlier modes of G, which damps oscillation. The pool's contents
    and count are plain arrays, saved in checkpoints."""

    def __init__(self, size: int):
        self.size = size
        self.images = None      # (size, C, H, W) array, allocated on first use
        self.count = 0

    def query(self, fakes: mg.Tensor) -> mg.Tensor:
        if self.size == 0:
            return fakes
        data = fakes.data
        xp = fakes.xp
        if self.images is None:
            self.images = xp.zeros((self.size,) + data.shape[1:], dtype=data.dtype)
        out = data.copy()
        coins = backend.rng().random(data.shape[0])
        picks = backend.rng().integers(0, self.size, size=data.shape[0])
        for i in range(data.shape[0]):
            if self.count < self.size:
                self.images[self.count] = data[i]
                self.count += 1
            elif coins[i] < 0.5:
                j = int(picks[i])
                out[i], self.images[j] = self.images[j].copy(), data[i]
        return mg.Tensor(out)

    def state_dict(self) -> dict:
        images = np.zeros(0, np.float32) if self.images is None else backend.to_numpy(self.images)
        return {"images": images, "count": self.count, "size": self.size}

    def load_state_dict(self, state: dict, device: str) -> None:
        """Restore a state_dict(). An empty saved pool (count 0) fits a pool of any size
        (it starts empty, as in a fresh run); a pool holding images must have been saved
        with this pool's size, or the resumed run would show D a different history."""
        count = int(state["count"])
        images = backend.to_numpy(state["images"])
        # checkpoints written before "size" was saved: the allocated pool's length
        saved_size = int(state["size"]) if "size" in state else (
            images.shape[0] if images.size else 0)
        if not 0 <= count <= saved_size:
            raise ValueError(f"history pool: count {count} is not in 0..{saved_size} "
                             f"(the saved pool's size)")
        if count == 0:
            self.count, self.images = 0, None
            return
        if saved_size != self.size:
            raise ValueError(f"history pool: the checkpoint's pool holds {count} image(s) "
                             f"of a pool of size {saved_size}, this trainer's pool has size "
                             f"{self.size}; set --history {saved_size} "
                             f"(TrainConfig.history) to resume it")
        if images.ndim < 1 or images.shape[0] != saved_size:
            raise ValueError(f"history pool: images of shape {images.shape} do not hold "
                             f"a pool of size {saved_size}")
        self.count = count
        self.images = backend.to_device(images, device)


_CHECKPOINT_KEYS = ("step", "G", "D", "opt_g", "opt_d", "ema", "pool", "rng", "data",
                    "fixed_z", "history")


def _copied(value):
    """A copy of a state tree that shares no array with the live trainer."""
    if isinstance(value, dict):
        return type(value)((key, _copied(item)) for key, item in value.items())
    if isinstance(value, (list, tuple)):
        return type(value)(_copied(item) for item in value)
    if isinstance(value, mg.Tensor):
        return value.detach().clone()
    if hasattr(value, "copy") and hasattr(value, "shape"):     # numpy or CuPy array
        return value.copy()
    return value


# Settings that say where and how long a run goes, not what its checkpoint holds.
_RUN_SETTINGS = {"epochs", "max_steps", "device", "out", "checkpoint_every", "log_every",
                 "sample_every", "eval_every", "progress"}


def _config_differences(state: dict, config: "TrainConfig") -> str:
    """' (checkpoint / trainer: d_norm 'none' / 'batch', ...)': the settings other than
    _RUN_SETTINGS in which the checkpoint's config and this trainer's differ, or ''."""
    try:
        saved = json.loads(state.get("config", "{}"))
    except (TypeError, ValueError):
        return ""
    ours = json.loads(json.dumps(asdict(config)))            # tuples as lists, as saved
    keys = [key for key in sorted(ours) if key in saved and saved[key] != ours[key]
            and key not in _RUN_SETTINGS]
    if not keys:
        return ""
    return " (checkpoint / trainer: " + ", ".join(
        f"{key} {saved[key]!r} / {ours[key]!r}" for key in keys) + ")"


class Trainer:
    """Builds G, D, their optimizers and the data stream from a TrainConfig and trains."""

    def __init__(self, config: TrainConfig, images: np.ndarray):
        config.validate()
        self.config = c = config
        self.device = backend.normalize_device(c.device)
        mg.manual_seed(c.seed)
        self.image_size = 28 if c.model == "mlp" else c.image_size
        given = np.shape(images)
        images = to_float_images(images)                          # (N, 1, H, W)
        # the nets take one channel; 28 x 28 digits are resized to 64 x 64 in _real_batch
        fits = sorted({(1, 28, 28), (1, self.image_size, self.image_size)})
        if images.shape[1:] not in fits:
            expected = " or ".join(f"(N, {ch}, {h}, {w})" for ch, h, w in fits)
            raise ValueError(f"Trainer: images of shape {given} do not fit model "
                             f"{c.model!r} with image_size {self.image_size}: expected "
                             f"{expected} ((N, H, W) is one channel)")
        self.G, self.D = build(c.model, self.image_size, c.z_dim, d_norm=c.d_norm,
                               spectral_norm=c.spectral_norm, width=c.width)
        if c.model == "dcgan":          # the DCGAN paper's N(0, 0.02); MLPs keep PyTorch's
            self.G.apply(weights_init)  # default (Kaiming-uniform) initialisation
            self.D.apply(weights_init)
        self.G.to(self.device)
        self.D.to(self.device)
        self.opt_g, self.opt_d = self._optimizer(self.G, c.lr_g), self._optimizer(self.D, c.lr_d)
        self.loss = gan_losses.get(c.loss)
        self.G_ema = None
        if c.ema:
            self.G_ema, _ = build(c.model, self.image_size, c.z_dim, width=c.width)
            self.G_ema.to(self.device)
            self.G_ema.load_state_dict(self.G.state_dict())
            self.G_ema.requires_grad_(False)
        self.pool = HistoryPool(c.history)
        self.loader = BatchIterator(images, batch_size=c.batch_size,
                                    shuffle=True, seed=c.seed, drop_last=True,
                                    device=self.device)
        self.fixed_z = mg.randn(c.num_samples, c.z_dim, device=self.device)
        self.step = 0
        self.history = {"loss_d": [], "loss_g": [], "d_real": [], "d_fake": []}
        self.out = Path(c.out)
        self.grid_paths: list[Path] = []    # sample grids, in self.out, for the GIF
        self.written: list[Path] = []       # files written by the last train()

    def _optimizer(self, module, lr):
        if self.config.optimizer == "rmsprop":
            return mg.optim.RMSprop(module.parameters(), lr=lr)
        return mg.optim.Adam(module.parameters(), lr=lr, betas=tuple(self.config.betas))

    # -------------------------------------------------------------- one step
    def _real_batch(self) -> mg.Tensor:
        x = next(self.loader)                                    # (N, 1, 28, 28)
        if self.image_size != 28:
            x = nn.functional.interpolate(x, size=(self.image_size,) * 2,
                                          mode="bilinear", align_corners=False)
        return x

    def _sample_z(self, n: int) -> mg.Tensor:
        return mg.randn(n, self.config.z_dim, device=self.device)

    def _d_loss(self, real, fake_for_d):
        c = self.config
        real_logits, fake_logits = self.D(real), self.D(fake_for_d)
        if self.loss.name in ("minimax", "nonsaturating"):   # the BCE losses
            real_label, fake_label = 1.0 - c.label_smoothing, 0.0
            if c.label_flip and backend.rng().random() < c.label_flip:
                real_label, fake_label = fake_label, real_label
            loss = gan_losses.minimax_d_loss(real_logits, fake_logits, real_label, fake_label)
        else:
            loss = self.loss.d_loss(real_logits, fake_logits)
        penalty = None
        if c.penalty == "wgan-gp":
            penalty = penalties.gradient_penalty(self.D, real, fake_for_d, c.penalty_weight)
        elif c.penalty == "r1":
            penalty = penalties.r1_penalty(self.D, real, c.penalty_weight)
        elif c.penalty == "r2":
            penalty = penalties.r2_penalty(self.D, fake_for_d, c.penalty_weight)
        total = loss if penalty is None else loss + penalty
        return total, real_logits, fake_logits, penalty

    def train_step(self) -> dict:
        """n_critic D updates, then one G update. Returns the step's scalars."""
        c = self.config
        for i in range(c.n_critic):
            real = self._real_batch()
            z = self._sample_z(real.shape[0])
            last = i == c.n_critic - 1
            if last:
                fake = self.G(z)                       # keep the graph for G's update
            else:
                with mg.no_grad():
                    fake = self.G(z)
            fake_for_d = self.pool.query(fake.detach())  # detach: D's loss stops here
            loss_d, real_logits, fake_logits, penalty = self._d_loss(real, fake_for_d)
            self.opt_d.zero_grad()
            loss_d.backward()
            self.opt_d.step()
            if c.clip:
                penalties.clip_weights(self.D, c.clip)

        loss_g = self.loss.g_loss(self.D(fake))        # same fakes, updated D
        self.opt_g.zero_grad()
        loss_g.backward()
        self.opt_g.step()
        if self.G_ema is not None:
            self._update_ema()
        self.step += 1

        as_prob = self.loss.uses_probabilities
        summary = lambda t: float((t.sigmoid() if as_prob else t).mean().item())  # noqa: E731
        return {"step": self.step, "loss_d": loss_d.item(), "loss_g": loss_g.item(),
                "d_real": summary(real_logits.detach()), "d_fake": summary(fake_logits.detach()),
                "penalty": None if penalty is None else penalty.item()}

    def _update_ema(self) -> None:
        """ema <- decay * ema + (1 - decay) * current, for every parameter; buffers copied."""
        decay = self.config.ema
        with mg.no_grad():
            for p_ema, p in zip(self.G_ema.parameters(), self.G.parameters()):
                p_ema.data = p_ema.data * decay + p.data * (1.0 - decay)
            for b_ema, b in zip(self.G_ema.buffers(), self.G.buffers()):
                b_ema.copy_(b)

    # -------------------------------------------------------------- the loop
    @property
    def steps_per_epoch(self) -> int:
        return max(len(self.loader) // self.config.n_critic, 1)

    def total_steps(self) -> int:
        total = self.config.epochs * self.steps_per_epoch
        return min(total, self.config.max_steps) if self.config.max_steps else total

    def train(self) -> dict:
        """Train to the configured number of steps; returns the last step's scalars ({} when
        the step count is already reached). self.written lists the files it wrote."""
        c = self.config
        self.written = []
        total = self.total_steps()
        if self.step >= total:        # a finished run resumed: nothing to train or write
            return {}
        self.out.mkdir(parents=True, exist_ok=True)
        bar = None
        if c.progress:
            from tqdm import tqdm  # noqa: PLC0415

            bar = tqdm(total=total, initial=self.step, desc="train", dynamic_ncols=True)
        log = open(self.out / "metrics.jsonl", "a")
        last, t0, s0 = {}, time.perf_counter(), self.step
        try:
            while self.step < total:
                last = self.train_step()
                for key in self.history:
                    self.history[key].append((self.step, last[key]))
                rate = (self.step - s0) / max(time.perf_counter() - t0, 1e-9)
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(D=f"{last['loss_d']:.3f}", G=f"{last['loss_g']:.3f}",
                                    Dx=f"{last['d_real']:.2f}", DGz=f"{last['d_fake']:.2f}",
                                    it_s=f"{rate:.1f}")
                if self.step % c.log_every == 0 or self.step == total:
                    epoch = (self.step - 1) // self.steps_per_epoch + 1
                    log.write(json.dumps({**last, "epoch": epoch, "steps_per_s": rate}) + "\n")
                    log.flush()
                    self._wrote(self.out / "metrics.jsonl")
                every = c.sample_every or self.steps_per_epoch
                if self.step % every == 0 or self.step == total:
                    self.save_samples()
                if self.step == total or (c.checkpoint_every
                                          and self.step % c.checkpoint_every == 0):
                    self.save_checkpoint()
                # --- evaluation hook (gans.metrics): MNIST-FID and mode coverage, into
                # metrics.jsonl and eval_metrics.png
                if c.eval_every and (self.step % (c.eval_every * self.steps_per_epoch) == 0
                                     or self.step == total):
                    from .metrics.monitor import log_evaluation  # noqa: PLC0415
                    log_evaluation(self, log)
                    self._wrote(self.out / "metrics.jsonl")
                    self._wrote(self.out / "eval_metrics.png")
        finally:
            log.close()
            if bar is not None:
                bar.close()
        self._wrote(viz.plot_losses(self.history, self.out / "losses.png"))
        self._wrote(viz.make_gif(self.grid_paths, self.out / "samples.gif"))
        return last

    def _wrote(self, path) -> None:
        if path is not None and path not in self.written:
            self.written.append(path)

    # -------------------------------------------------------------- pictures
    def sample(self, z: mg.Tensor | None = None) -> mg.Tensor:
        """Images from the fixed latents (or z), by the EMA generator when there is one,
        in eval mode (batch norm uses its running statistics)."""
        G = self.G_ema if self.G_ema is not None else self.G
        was_training = G.training
        G.eval()
        with mg.no_grad():
            images = G(self.fixed_z if z is None else z)
        G.train(was_training)
        return images

    def save_samples(self) -> Path:
        path = self.out / f"samples_step{self.step:06d}.png"
        viz.save_grid(self.sample(), path)
        if path not in self.grid_paths:
            self.grid_paths.append(path)
        self._wrote(path)
        return path

    # -------------------------------------------------------------- checkpoints
    def state_dict(self) -> dict:
        return {
            "step": self.step,
            "config": json.dumps(asdict(self.config), sort_keys=True),
            "G": self.G.state_dict(), "D": self.D.state_dict(),
            "opt_g": self.opt_g.state_dict(), "opt_d": self.opt_d.state_dict(),
            "ema": self.G_ema.state_dict() if self.G_ema is not None else {},
            "pool": self.pool.state_dict(),
            "rng": backend.get_rng_state(),
            "data": self.loader.state_dict(),
            "fixed_z": self.fixed_z,
            "history": {k: np.asarray(v, dtype=np.float64).reshape(-1, 2)
                        for k, v in self.history.items()},
            "grids": json.dumps([p.name for p in self.grid_paths]),   # names, in self.out
        }

    def save_checkpoint(self, path=None) -> Path:
        """Write everything needed to resume, atomically (a crash keeps the old file)."""
        path = Path(path) if path is not None else self.out / "checkpoint.npz"
        mg.save(self.state_dict(), path)
        self._wrote(path)
        return path

    def load_checkpoint(self, path) -> None:
        """Restore a checkpoint written by save_checkpoint, all or nothing. A damaged file
        is refused by mg.load before anything changes. A sound file that does not fit this
        trainer (another model, width or normalisation: G may fit where D does not) is
        refused too: everything loaded so far is put back, and the ValueError names the
        file and the settings in which the two differ. One that fits but was saved with
        other settings (another loss, say) is loaded, with a warning that lists them."""
        state = mg.load(path, device=self.device)
        missing = [key for key in _CHECKPOINT_KEYS if key not in state]
        if missing:
            raise ValueError(f"{path}: not a Trainer checkpoint (no {', '.join(missing)})")
        before = _copied(self.state_dict())
        try:
            self._load_state(state)
        except Exception as error:
            self._load_state(before)
            raise ValueError(f"{path} does not fit this trainer; nothing was loaded"
                             f"{_config_differences(state, self.config)}. {error}") from error
        differences = _config_differences(state, self.config)
        if differences:               # it fits, but the run goes on with other settings
            warnings.warn(f"{path}: resumed with settings other than the checkpoint's"
                          f"{differences}; the run goes on with this trainer's", stacklevel=2)

    def _load_state(self, state: dict) -> None:
        # checked before anything is loaded: nothing below could notice them
        fixed_z_shape = tuple(state["fixed_z"].shape)
        if len(fixed_z_shape) != 2 or fixed_z_shape[1] != self.config.z_dim:
            raise ValueError(f"fixed_z of shape {fixed_z_shape} is not a batch of latents "
                             f"(n, z_dim={self.config.z_dim})")
        if int(state["step"]) < 0:
            raise ValueError(f"the step {int(state['step'])} is negative (a count of steps "
                             f"done)")
        self.G.load_state_dict(state["G"])
        self.D.load_state_dict(state["D"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        if self.G_ema is not None:
            # a checkpoint without an EMA: start it from the loaded G, as __init__ does
            self.G_ema.load_state_dict(state["ema"] or self.G.state_dict())
        elif state["ema"]:
            raise ValueError("the checkpoint holds an EMA of G and this trainer keeps none "
                             "(it would be dropped); set --ema (TrainConfig.ema) to resume "
                             "it")
        self.pool.load_state_dict(state["pool"], self.device)
        backend.set_rng_state(state["rng"])
        self.loader.load_state_dict(state["data"])
        self.fixed_z = mg.as_tensor(state["fixed_z"], device=self.device)
        self.step = int(state["step"])
        self.history = {k: [tuple(row) for row in np.asarray(v).reshape(-1, 2)]
                        for k, v in state["history"].items()}
        # file names in this trainer's out folder, so that a run's folder can move (older
        # checkpoints stored whole paths: their file names are kept)
        self.grid_paths = [self.out / Path(p).name for p in json.loads(state.get("grids", "[]"))]
