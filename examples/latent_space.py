"""Walking in a generator's latent space: interpolation, arithmetic, inversion, morphing.

    python examples/latent_space.py                          # trains a small MLP GAN (~1 min)
    python examples/latent_space.py --checkpoint runs/dcgan/checkpoint.npz

G is the DCGAN of examples/dcgan_mnist.py when its checkpoint exists (or --checkpoint
names one), else a small MLP GAN trained here in about a minute (cached in --out, so a
second run starts at once; its digits are rough, the ideas are the same). Pictures:

  interpolation.png   rows of G(z) along straight lines (lerp) and great circles (slerp)
  arithmetic.png      class vectors: z + (mean z of class b - mean z of class a) turns
                      a's digits towards b; a "bold" direction from the amount of ink.
                      Latents are labelled by the MNIST classifier shipped in
                      gans/metrics (or by inverting labelled real digits: --labels invert)
  inversion.png       real test digits, and G(z*) with z* = argmin ||x - G(z)||^2 found
                      by Adam on z through the frozen G, best of several restarts
  morph.png/.gif      from one real digit to another by interpolating inverted latents
See gans/latent.py.
"""
import argparse
import time
from pathlib import Path

import numpy as np

import minigrad as mg
import minigrad.nn as nn
from gans import latent, losses, viz
from gans.cli_common import non_negative_int, positive_int
from gans.data import BatchIterator, load_mnist, to_float_images
from gans.models import MLPDiscriminator
from gans.toys.blas import blas_threads

parser = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--checkpoint", default=None,
                    help="a generator checkpoint (default: runs/dcgan/checkpoint.npz, used "
                         "when that file exists)")
parser.add_argument("--z-dim", type=positive_int, default=100,
                    help="z_dim of the DCGAN checkpoint")
parser.add_argument("--train-steps", type=positive_int, default=2000,
                    help="for the MLP GAN")
parser.add_argument("--labels", choices=["classifier", "invert"], default="classifier")
parser.add_argument("--restarts", type=positive_int, default=4)
parser.add_argument("--invert-steps", type=positive_int, default=300)
parser.add_argument("--seed", type=non_negative_int, default=0)
parser.add_argument("--out", default="runs/latent")
args = parser.parse_args()
named_checkpoint = args.checkpoint is not None     # asked for by name: it must be usable
if not named_checkpoint:
    args.checkpoint = "runs/dcgan/checkpoint.npz"
elif not Path(args.checkpoint).is_file():
    parser.error(f"--checkpoint {args.checkpoint}: no such file")
out = Path(args.out)
out.mkdir(parents=True, exist_ok=True)
t0 = time.perf_counter()
mg.manual_seed(args.seed)
rng = np.random.default_rng(args.seed)
images, labels = load_mnist(None, "train", download=False)
test_images, test_labels = load_mnist(None, "test", download=False)


def load_dcgan(path):
    from gans.metrics.cli import load_generator
    G, z_dim, description = load_generator(path, "dcgan", 28, args.z_dim)
    latent.generate(G, np.zeros((2, z_dim), np.float32))      # do the convolutions run?
    return G, None, z_dim, description


def mlp_generator(z_dim):
    """z -> 256 -> 512 -> 784 with batch norm in the hidden layers (it trains faster
    than the plain MLP of gans/models/mlp.py) -> tanh -> (N, 1, 28, 28)."""
    return nn.Sequential(nn.Linear(z_dim, 256), nn.BatchNorm1d(256), nn.LeakyReLU(0.2),
                         nn.Linear(256, 512), nn.BatchNorm1d(512), nn.LeakyReLU(0.2),
                         nn.Linear(512, 784), nn.Tanh(), nn.Unflatten(1, (1, 28, 28)))


def train_mlp_gan(steps, z_dim=32):
    """A small fully connected GAN (non-saturating loss, Adam 2e-4, beta1 0.5)."""
    cache = out / "mlp_gan.npz"
    G = mlp_generator(z_dim)
    D = MLPDiscriminator(hidden=(512, 256))
    if cache.exists():
        state = mg.load(cache)
        if int(state["steps"]) == steps and "1.running_mean" in state["G"]:
            G.load_state_dict(state["G"]), D.load_state_dict(state["D"])
            return G, D, z_dim, f"MLP GAN, {steps} steps (cached in {cache})"
    opt_g = mg.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = mg.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    batches = BatchIterator(to_float_images(images), batch_size=64, seed=args.seed)
    start = time.perf_counter()
    for step in range(1, steps + 1):
        real = next(batches)
        fake = G(mg.randn(64, z_dim))
        loss_d = losses.minimax_d_loss(D(real), D(fake.detach()))
        opt_d.zero_grad(), loss_d.backward(), opt_d.step()
        loss_g = losses.nonsaturating_g_loss(D(fake))
        opt_g.zero_grad(), loss_g.backward(), opt_g.step()
        if step % 500 == 0:
            print(f"  MLP GAN step {step}/{steps}: loss_D {loss_d.item():.3f} "
                  f"loss_G {loss_g.item():.3f} ({time.perf_counter() - start:.0f} s)")
    mg.save({"G": G.state_dict(), "D": D.state_dict(), "steps": steps}, cache)
    return G, D, z_dim, f"MLP GAN, {steps} steps (trained now, cached in {cache})"


def save(batch, name, nrow):
    return viz.save_grid(batch, out / name, nrow=nrow)


with blas_threads(1):            # small matrices: one BLAS thread is faster (see gans/toys/blas.py)
    G = None
    if Path(args.checkpoint).exists():
        try:
            G, D, z_dim, description = load_dcgan(args.checkpoint)
        except Exception as exc:                        # e.g. another z_dim
            if named_checkpoint:
                parser.error(f"--checkpoint {args.checkpoint}: cannot use it "
                             f"({type(exc).__name__}: {' '.join(str(exc).split())})")
            print(f"cannot use {args.checkpoint} ({type(exc).__name__}: {exc})")
    if G is None:
        print(f"no usable DCGAN checkpoint: training a small MLP GAN ({args.train_steps} steps)")
        G, D, z_dim, description = train_mlp_gan(args.train_steps)
    print(f"generator: {description}")
    G.eval()

    # ---- interpolation: lerp vs slerp between the same pairs
    z = rng.standard_normal((8, z_dim)).astype(np.float32)
    rows = []
    for a, b in ((0, 1), (2, 3), (4, 5)):
        rows += [latent.interpolate(z[a], z[b], 10, "lerp"),
                 latent.interpolate(z[a], z[b], 10, "slerp")]
    paths = np.concatenate(rows)
    norms = np.linalg.norm(paths, axis=1).reshape(-1, 10)
    print(f"interpolation: |z| along lerp dips to {norms[0::2].min():.2f}, along slerp "
          f"stays >= {norms[1::2].min():.2f} (typical |z| = sqrt({z_dim}) = "
          f"{np.sqrt(z_dim):.2f}); rows alternate lerp / slerp")
    interp = save(latent.generate(G, paths), "interpolation.png", 10)

    # ---- inversion of real test digits
    targets = to_float_images(test_images[:10])
    inv = latent.invert(G, targets, z_dim, steps=args.invert_steps, restarts=args.restarts,
                        lr=0.05, D=D, d_weight=0.0, seed=args.seed)
    print(f"inversion of 10 test digits, {args.restarts} restarts x {args.invert_steps} "
          f"Adam steps: per-pixel MSE {inv.errors.mean():.3f} (best start) vs "
          f"{inv.all_errors.mean():.3f} (average start)")
    inversion = save(np.concatenate([targets, inv.images]), "inversion.png", 10)

    # ---- morphing between two real digits of different classes
    i0 = int(np.flatnonzero(test_labels == 3)[0])
    i1 = int(np.flatnonzero(test_labels == 8)[0])
    x0, x1 = to_float_images(test_images[[i0, i1]])
    frames, morph_inv = latent.morph(G, x0, x1, z_dim, frames=10, steps=args.invert_steps,
                                     restarts=args.restarts, seed=args.seed)
    morph = save(np.concatenate([x0[None], frames, x1[None]]), "morph.png", 12)
    frame_paths = [viz.save_grid(f[None], out / "morph_frames" / f"{k:02d}.png", nrow=1,
                                 scale=4) for k, f in enumerate(np.concatenate(
                                     [frames, frames[::-1]]))]
    morph_gif = viz.make_gif(frame_paths, out / "morph.gif", duration_ms=150)

    # ---- latent arithmetic: class vectors and a "bold" vector
    label_fn = None
    if args.labels == "classifier":
        try:
            from gans.metrics.classifier import load_classifier
            classifier = load_classifier()
            label_fn = lambda x: classifier(mg.tensor(x)).numpy().argmax(1)  # noqa: E731
            zs, zl = latent.label_latents(G, 2000, z_dim, label_fn, seed=args.seed)
            source = "2000 random latents labelled by the shipped MNIST classifier"
        except Exception as exc:                    # the classifier needs convolutions
            print(f"no classifier ({type(exc).__name__}: {exc}); labelling by inversion")
            label_fn = None
    if label_fn is None:
        picks = rng.choice(len(images), 300, replace=False)
        inv_train = latent.invert(G, to_float_images(images[picks]), z_dim,
                                  steps=args.invert_steps, restarts=2, seed=args.seed)
        zs, zl = inv_train.z, labels[picks]
        source = "300 inverted real digits with their labels"
    means = latent.class_means(zs, zl)
    counts = {c: int((zl == c).sum()) for c in means}
    a = max(counts, key=counts.get)                 # the most common class, and the next
    b = max((c for c in counts if c != a), key=counts.get, default=a)
    z_a = zs[zl == a][:10]
    moved = z_a + (means[b] - means[a])             # zero when G makes only one class
    row_a, row_moved = latent.generate(G, z_a), latent.generate(G, moved)
    bold = latent.attribute_vector(zs, latent.ink(latent.generate(G, zs)))
    steps_bold = np.linspace(-1, 1, 10)
    row_bold = latent.generate(G, z_a[0] + steps_bold[:, None] * bold)
    arithmetic = save(np.concatenate([row_a, row_moved, row_bold]), "arithmetic.png", 10)
    msg = f"class vectors from {source}: row 1 = G(z) for latents labelled {a}, row 2 = " \
          f"the same z + (mean z of {b} - mean z of {a})"
    if b == a:
        msg += " (G's images all got one label: is G trained?)"
    elif label_fn is not None:
        msg += f" ({(label_fn(row_moved) == b).mean():.0%} of them now classified {b})"
    print(msg + "; row 3 = z + k * bold vector, k from -1 to 1")

print(f"{time.perf_counter() - t0:.1f} s; pictures: {interp}, {arithmetic}, {inversion}, "
      f"{morph}, {morph_gif}")
