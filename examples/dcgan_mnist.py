"""Train a DCGAN on MNIST: the classic PyTorch skeleton, in minigrad, written out in full.

    python examples/dcgan_mnist.py --device cpu --epochs 5      # a few minutes on 2 cores
    python examples/dcgan_mnist.py --device gpu                 # needs CuPy (".[cuda12]")

Read it top to bottom: data, the two networks, two optimizers, and the loop in which D
learns to tell real digits (label 1) from G's fakes (label 0), then G learns to make D say
"real" about its fakes. Pictures land in --out (default runs/dcgan): a sample grid per
epoch, losses.png and samples.gif. `python -m gans train --batch-size 32` runs the same
loop with more options (offline, on the 8,000-digit train split).
"""
import argparse
import time
from pathlib import Path

import minigrad as mg  # before numpy, so that OpenBLAS's idle threads sleep (minigrad/__init__.py)
import minigrad.nn.functional as F
import numpy as np
from gans import viz
from gans.cli_common import (add_device_argument, non_negative_float, non_negative_int,
                              positive_int, resolve_device)
from gans.data import BatchIterator, load_mnist, to_float_images
from gans.models import DCGANDiscriminator, DCGANGenerator, weights_init

parser = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
add_device_argument(parser)
parser.add_argument("--epochs", type=positive_int, default=5)
parser.add_argument("--batch-size", type=positive_int, default=32,
                    help="32: the shipped 10k digits make short epochs; a smaller batch gives "
                         "G more updates per epoch (PyTorch's example uses 128 on 60k)")
parser.add_argument("--lr", type=non_negative_float, default=2e-4)
parser.add_argument("--z-dim", type=positive_int, default=100)
parser.add_argument("--image-size", type=int, choices=[28, 64], default=28)
parser.add_argument("--dataset", choices=["mnist", "fashion-mnist"], default="mnist")
parser.add_argument("--data-dir", default=None, help="folder with the canonical IDX files")
parser.add_argument("--offline", action="store_true", help="never try to download")
parser.add_argument("--out", default="runs/dcgan")
parser.add_argument("--seed", type=non_negative_int, default=0)
parser.add_argument("--resume", action="store_true",
                    help="continue from OUT/checkpoint.npz")
parser.add_argument("--max-steps", type=non_negative_int, default=0,
                    help="stop early (0 = no limit)")
args = parser.parse_args()
device = resolve_device(args.device)      # 'gpu' without CuPy exits with install advice
out = Path(args.out)
out.mkdir(parents=True, exist_ok=True)
mg.manual_seed(args.seed)                 # every random number below comes from here

# ---- data: uint8 digits -> float32 in [-1, 1], the range of G's tanh output. A GAN has
# no use for a test split, so it trains on every digit it can find ("all").
images, _ = load_mnist(args.data_dir, "all", download=not args.offline, dataset=args.dataset)
batches = BatchIterator(to_float_images(images), batch_size=args.batch_size, seed=args.seed,
                        device=device)

# ---- the two networks (Radford et al. 2015) with the DCGAN initialisation N(0, 0.02)
G = DCGANGenerator(args.z_dim, args.image_size).to(device)
D = DCGANDiscriminator(args.image_size).to(device)
G.apply(weights_init)
D.apply(weights_init)

# ---- Adam with beta1 = 0.5 and lr 2e-4: the DCGAN paper found the default beta1 = 0.9
# made training oscillate; these two numbers are the most copied settings in GANs.
opt_D = mg.optim.Adam(D.parameters(), lr=args.lr, betas=(0.5, 0.999))
opt_G = mg.optim.Adam(G.parameters(), lr=args.lr, betas=(0.5, 0.999))
fixed_z = mg.randn(64, args.z_dim, device=device)    # the same 64 latents for every grid
history = {"loss_d": [], "loss_g": [], "d_real": [], "d_fake": []}
step, ckpt = 0, out / "checkpoint.npz"
if args.resume and ckpt.exists():
    state = mg.load(ckpt, device=device)
    try:
        G.load_state_dict(state["G"])
        D.load_state_dict(state["D"])
        opt_G.load_state_dict(state["opt_G"])
        opt_D.load_state_dict(state["opt_D"])
        batches.load_state_dict(state["batches"])
    except (KeyError, RuntimeError, ValueError) as error:      # another run's settings
        parser.error(f"--resume: {ckpt} does not fit these settings: "
                     f"{' '.join(str(error).split())}")
    mg.backend.set_rng_state(state["rng"])
    fixed_z, step = mg.as_tensor(state["fixed_z"], device=device), int(state["step"])
    history = {k: [tuple(r) for r in v.reshape(-1, 2)] for k, v in state["history"].items()}
    print(f"resumed at step {step}")
elif args.resume:
    print(f"--resume: no checkpoint at {ckpt}; starting fresh")


def resize(x):
    """MNIST is 28x28; the paper's 64x64 networks get bilinearly resized digits."""
    return x if args.image_size == 28 else F.interpolate(x, size=(64, 64), mode="bilinear")


steps_per_epoch = len(batches)
total = args.epochs * steps_per_epoch
total = min(total, args.max_steps) if args.max_steps else total
print(f"{len(images)} digits, {steps_per_epoch} steps per epoch, {total} steps on {device}")
t_start, step_start = time.perf_counter(), step
while step < total:
    real = resize(next(batches))                      # (N, 1, H, W)
    n = real.shape[0]
    ones, zeros = mg.ones(n, device=device), mg.zeros(n, device=device)

    # (1) D: maximise log D(x) + log(1 - D(G(z))), i.e. minimise BCE with labels 1 / 0.
    fake = G(mg.randn(n, args.z_dim, device=device))  # (N, 1, H, W)
    d_real = D(real)                                  # (N,) logits
    d_fake = D(fake.detach())   # detach: this loss must not send gradients into G
    loss_D = (F.binary_cross_entropy_with_logits(d_real, ones)
              + F.binary_cross_entropy_with_logits(d_fake, zeros))
    opt_D.zero_grad()           # gradients accumulate in .grad; clear last step's
    loss_D.backward()
    opt_D.step()

    # (2) G: the non-saturating loss -log D(G(z)) ("label the fakes 1"), not the minimax
    # log(1 - D(G(z))), which is flat exactly when D wins, i.e. early in training.
    loss_G = F.binary_cross_entropy_with_logits(D(fake), ones)   # the same fake, new D
    opt_G.zero_grad()
    loss_G.backward()           # flows through D (whose grads we ignore) into G
    opt_G.step()
    step += 1

    for key, value in (("loss_d", loss_D), ("loss_g", loss_G),
                       ("d_real", d_real.sigmoid().mean()), ("d_fake", d_fake.sigmoid().mean())):
        history[key].append((step, value.item()))
    if step % 50 == 0 or step == total:
        rate = (step - step_start) / (time.perf_counter() - t_start)
        print(f"step {step}/{total}  loss_D {loss_D.item():.3f}  loss_G {loss_G.item():.3f}  "
              f"D(x) {history['d_real'][-1][1]:.2f}  D(G(z)) {history['d_fake'][-1][1]:.2f}  "
              f"{rate:.2f} steps/s")
    if step % steps_per_epoch == 0 or step == total:       # once per epoch: grid + checkpoint
        G.eval()                  # batch norm: running statistics instead of batch ones
        with mg.no_grad():
            viz.save_grid(G(fixed_z), out / f"epoch{(step - 1) // steps_per_epoch + 1:03d}.png")
        G.train()
        mg.save({"G": G.state_dict(), "D": D.state_dict(), "opt_G": opt_G.state_dict(),
                 "opt_D": opt_D.state_dict(), "batches": batches.state_dict(),
                 "rng": mg.backend.get_rng_state(), "fixed_z": fixed_z, "step": step,
                 "history": {k: np.asarray(v, dtype=np.float64) for k, v in history.items()}},
                ckpt)

grids = sorted(out.glob("epoch*.png"))
viz.plot_losses(history, out / "losses.png", title="DCGAN on MNIST")
viz.make_gif(grids, out / "samples.gif")
elapsed = time.perf_counter() - t_start
if step > step_start:
    print(f"{step - step_start} steps in {elapsed:.1f} s "
          f"({1000 * elapsed / (step - step_start):.0f} ms/step)")
else:                                    # --resume of a run that had already finished
    print(f"already at step {step}: nothing to train (raise --epochs or --max-steps to go on)")
print(f"pictures: {grids[-1] if grids else '(none)'}, {out / 'samples.gif'}, "
      f"{out / 'losses.png'}; checkpoint: {ckpt}")
