"""A conditional GAN on MNIST (Mirza & Osindero 2014): ask for a digit, get that digit.

    python examples/cgan_mnist.py --device cpu --epochs 10    # 4.5 min on 2 cores: 98%
    python examples/cgan_mnist.py --epochs 3                  # 1.5 min: 82%
    python examples/cgan_mnist.py --model mlp --epochs 20     # 1.7 min: 56%, the MLP pair
                                                              # listens to y much less well
(Times and percentages with --offline, on the 10,000 digits shipped with the package;
the full 70,000 MNIST digits make each epoch 7 times longer.)

The same game as examples/dcgan_mnist.py with one change: both networks are told the
class. G(z, y) turns noise z and a digit y into an image; D(x, y) says whether x is a real
image OF DIGIT y. A fake "7" that looks like a fine "1" is now a fake, so G has to listen
to y. Here G gets y as a learned vector next to z, and the DCGAN's D is a projection
discriminator (Miyato & Koyama 2018): D(x, y) = linear(h) + <embed(y), h> on its features
h = phi(x) (gans/models/conditional.py explains why that form; the MLP's D is given y
beside the image, the older recipe).

In --out (default runs/cgan): a 10x10 grid per epoch, row r asked for digit r and column c
using the same z in every row (so a column shows one "style" written as ten digits),
losses.png, samples.gif, and metrics.json with the "label accuracy": how often the shipped
MNIST classifier (gans/metrics/classifier.py) reads the digit G was asked for, over 1000
samples (100 per digit). Chance is 10%; the real test digits score 98%.
"""
import argparse
import json
import time
from pathlib import Path

import minigrad as mg  # before numpy, so that OpenBLAS's idle threads sleep (minigrad/__init__.py)
from gans import losses, viz
from gans.cli_common import (add_device_argument, non_negative_float, non_negative_int,
                              positive_int, resolve_device)
from gans.data import BatchIterator, load_mnist, to_float_images, write_atomically
from gans.metrics.classifier import extract, load_classifier
from gans.models import (ConditionalDCGANDiscriminator, ConditionalDCGANGenerator,
                         ConditionalMLPDiscriminator, ConditionalMLPGenerator, weights_init)

parser = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
add_device_argument(parser)
parser.add_argument("--model", choices=["dcgan", "mlp"], default="dcgan")
parser.add_argument("--epochs", type=positive_int, default=10,
                    help="10 epochs = 3,120 steps, about 4.5 minutes on 2 CPU cores")
parser.add_argument("--batch-size", type=positive_int, default=32)
parser.add_argument("--lr", type=non_negative_float, default=2e-4)
parser.add_argument("--z-dim", type=positive_int, default=100)
parser.add_argument("--data-dir", default=None, help="folder with the canonical IDX files")
parser.add_argument("--offline", action="store_true", help="never try to download")
parser.add_argument("--out", default="runs/cgan")
parser.add_argument("--seed", type=non_negative_int, default=0)
parser.add_argument("--max-steps", type=non_negative_int, default=0,
                    help="stop early (0 = no limit)")
args = parser.parse_args()
device = resolve_device(args.device)      # 'gpu' without CuPy exits with install advice
out = Path(args.out)
out.mkdir(parents=True, exist_ok=True)
mg.manual_seed(args.seed)                 # every random number below comes from here
NUM_CLASSES = 10

# ---- data: the digits AND their labels this time. Each batch is (x, y): x (N, 1, 28, 28)
# float32 in [-1, 1], y (N,) int64 digits 0..9.
images, labels = load_mnist(args.data_dir, "all", download=not args.offline)
batches = BatchIterator(to_float_images(images), labels=labels, batch_size=args.batch_size,
                        seed=args.seed, device=device)

# ---- the two networks, each taking the label as a second input
if args.model == "dcgan":
    G = ConditionalDCGANGenerator(args.z_dim, num_classes=NUM_CLASSES).to(device)
    D = ConditionalDCGANDiscriminator(num_classes=NUM_CLASSES).to(device)
    G.apply(weights_init)   # N(0, 0.02) for the conv and linear layers (DCGAN's rule);
    D.apply(weights_init)   # the label embeddings keep their own initialisation
else:                       # the MLPs keep PyTorch's default initialisation, as mlp.py's
    G = ConditionalMLPGenerator(args.z_dim, num_classes=NUM_CLASSES).to(device)
    D = ConditionalMLPDiscriminator(num_classes=NUM_CLASSES).to(device)
opt_D = mg.optim.Adam(D.parameters(), lr=args.lr, betas=(0.5, 0.999))
opt_G = mg.optim.Adam(G.parameters(), lr=args.lr, betas=(0.5, 0.999))
loss = losses.nonsaturating   # D: BCE with real 1 / fake 0; G: -log D(G(z, y), y)

# ---- the grid: 10 latents, each drawn as all ten digits. Sample r*10 + c has digit r and
# latent c, so make_grid with 10 images per row puts digit r in row r.
fixed_z = mg.randn(NUM_CLASSES, args.z_dim, device=device)             # (10, z_dim)
grid_z = mg.cat([fixed_z] * NUM_CLASSES)                               # (100, z_dim)
grid_labels = mg.arange(NUM_CLASSES, device=device).repeat_interleave(NUM_CLASSES)  # (100,)
history = {"loss_d": [], "loss_g": [], "d_real": [], "d_fake": []}

steps_per_epoch = len(batches)
total = args.epochs * steps_per_epoch
total = min(total, args.max_steps) if args.max_steps else total
print(f"{len(images)} digits, {steps_per_epoch} steps per epoch, {total} steps of a "
      f"conditional {args.model} on {device}")
t_start, step = time.perf_counter(), 0
while step < total:
    real, y = next(batches)                           # (N, 1, 28, 28), (N,) int64
    n = real.shape[0]

    # (1) D: real pairs (x, y) -> 1, fake pairs (G(z, y), y) -> 0. The fakes are asked for
    # the same digits as the real batch, so D cannot win by counting classes.
    fake = G(mg.randn(n, args.z_dim, device=device), y)   # (N, 1, 28, 28)
    d_real = D(real, y)                                   # (N,) logits
    d_fake = D(fake.detach(), y)    # detach: this loss must not send gradients into G
    loss_D = loss.d_loss(d_real, d_fake)
    opt_D.zero_grad()
    loss_D.backward()
    opt_D.step()

    # (2) G: make D say "real, and of digit y" about G(z, y) (the non-saturating loss)
    loss_G = loss.g_loss(D(fake, y))                      # the same fakes, the new D
    opt_G.zero_grad()
    loss_G.backward()
    opt_G.step()
    step += 1

    for key, value in (("loss_d", loss_D), ("loss_g", loss_G),
                       ("d_real", d_real.sigmoid().mean()), ("d_fake", d_fake.sigmoid().mean())):
        history[key].append((step, value.item()))
    if step % 50 == 0 or step == total:
        rate = step / (time.perf_counter() - t_start)
        print(f"step {step}/{total}  loss_D {loss_D.item():.3f}  loss_G {loss_G.item():.3f}  "
              f"D(x,y) {history['d_real'][-1][1]:.2f}  D(G(z,y),y) "
              f"{history['d_fake'][-1][1]:.2f}  {rate:.2f} steps/s")
    if step % steps_per_epoch == 0 or step == total:     # once per epoch: the 10x10 grid
        G.eval()                  # batch norm: running statistics instead of batch ones
        with mg.no_grad():
            grid = G(grid_z, grid_labels)                   # (100, 1, 28, 28)
        viz.save_grid(grid, out / f"epoch{(step - 1) // steps_per_epoch + 1:03d}.png",
                      nrow=NUM_CLASSES)                   # 10 per row: row r = digit r
        G.train()
train_seconds = time.perf_counter() - t_start

grids = sorted(out.glob("epoch*.png"))
viz.plot_losses(history, out / "losses.png", title=f"conditional {args.model} GAN on MNIST")
viz.make_gif(grids, out / "samples.gif")

# ---- label accuracy: ask G for 100 of each digit and let the shipped classifier read
# them. 10% is chance (G ignores y); a G that listens scores close to the classifier's own
# 98% on real digits. (It says nothing about variety within a class: FID does that.)
asked = mg.arange(1000, device=device) % NUM_CLASSES                    # (1000,) 0..9, 0..9, ...
G.eval()
with mg.no_grad():
    samples = mg.cat([G(mg.randn(500, args.z_dim, device=device), asked[i:i + 500])
                      for i in (0, 500)])                               # (1000, 1, 28, 28)
_, probs = extract(load_classifier(device=device), samples, device=device)  # (1000, 10)
read = probs.argmax(axis=1)                                             # (1000,) numpy
asked = asked.numpy()                                                   # (1000,) numpy
hits = read == asked                                                    # (1000,) bool
per_digit = [float(hits[asked == d].mean()) for d in range(NUM_CLASSES)]
metrics = {"label_accuracy": float(hits.mean()), "per_digit": per_digit, "samples": 1000,
           "steps": step, "model": args.model, "train_seconds": round(train_seconds, 1)}
write_atomically(out / "metrics.json",
                 lambda tmp: tmp.write_text(json.dumps(metrics, indent=2) + "\n"))

print(f"{step} steps in {train_seconds:.1f} s ({1000 * train_seconds / max(step, 1):.0f} ms/step)")
print(f"label accuracy {metrics['label_accuracy']:.1%} (chance 10%); per digit: "
      + " ".join(f"{d}:{a:.0%}" for d, a in enumerate(per_digit)))
print(f"pictures: {grids[-1]}, {out / 'samples.gif'}, {out / 'losses.png'}; "
      f"numbers: {out / 'metrics.json'}")
