"""Reference values for the metrics, measured with the shipped MNIST classifier: what do
FID, IS, KID, precision/recall, mode coverage and SSIM diversity say about

    real       digits 5,000..9,999 of the shipped 10k, against digits 0..4,999 (and 500
               of them, to show how FID depends on N)
    gaussian   the per-pixel Gaussian baseline: each pixel drawn independently from its own
               mean and std (over digits 0..4,999), clipped to [-1, 1]
    collapsed  a mode-collapsed "generator": only the 3s among digits 5,000..9,999
    dcgan      a trained DCGAN, if a checkpoint is given (--checkpoint)

Every row is measured against the same reference, digits 0..4,999 (5,000 of them); the
rows have 5,000 samples each, except "collapsed" (the ~500 threes there are) and the
500-digit real row that goes with it. FID is
biased upwards for small N, so compare rows with the same N only.

    python examples/metrics_reference.py
    python examples/metrics_reference.py --checkpoint runs/dcgan/checkpoint.npz

The table is docs/metrics.md's.
"""
import argparse
import time

import numpy as np

from gans.cli_common import non_negative_int
from gans.data import to_float_images
from gans.metrics.classifier import shipped_digits
from gans.metrics.evaluate import compute_metrics, feature_net, generate

parser = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--checkpoint", default=None, help="a generator checkpoint (optional)")
parser.add_argument("--collapsed-class", type=int, choices=range(10), default=3)
parser.add_argument("--seed", type=non_negative_int, default=0)
args = parser.parse_args()
rng = np.random.default_rng(args.seed)
net = feature_net("mnist")
metrics = ["fid", "is", "kid", "pr", "modes", "diversity"]

images, labels = shipped_digits("all")
x = to_float_images(images)                                # (10000, 1, 28, 28) in [-1, 1]
half_a, half_b, labels_b = x[:5000], x[5000:], labels[5000:]
reference = net(half_a)

mean, std = half_a.mean(axis=0), half_a.std(axis=0)        # (1, 28, 28) each
gaussian = np.clip(mean + std * rng.standard_normal((5000,) + mean.shape), -1, 1)
rows = {"real (other half)": half_b,
        "real (500 of other half)": half_b[rng.permutation(5000)[:500]],
        "per-pixel Gaussian": gaussian.astype(np.float32),
        f"collapsed (only {args.collapsed_class}s)": half_b[labels_b == args.collapsed_class]}
if args.checkpoint:
    from gans.metrics.cli import load_generator  # noqa: E402

    G, z_dim, description = load_generator(args.checkpoint)
    print(f"generator: {description}")
    rows["DCGAN"] = generate(G, 5000, z_dim, seed=args.seed + 1)

header = (f"| {'samples':<24} | {'N':>5} | {'FID':>7} | {'IS':>12} | {'KID':>16} | "
          f"{'prec.':>5} | {'recall':>6} | {'modes':>5} | {'KL(modes)':>9} | {'SSIM div.':>9} |")
print(header)
print("|" + "|".join("-" * (len(cell)) for cell in header.split("|")[1:-1]) + "|")
for name, samples in rows.items():
    t0 = time.perf_counter()
    r = compute_metrics(reference, net(samples), metrics)
    print(f"| {name:<24} | {len(samples):>5} | {r['fid']:>7.2f} | "
          f"{r['is_mean']:>5.2f} +- {r['is_std']:.2f} | "
          f"{r['kid_mean']:>8.4g} +- {r['kid_std']:<5.2g} | "
          f"{r['precision']:>5.3f} | {r['recall']:>6.3f} | {r['modes_covered']:>5} | "
          f"{r['mode_kl']:>9.4f} | {r['diversity']:>9.4f} |", flush=True)
print(f"(SSIM diversity of the reference digits: {r['diversity_real']:.4f}; classifier "
      f"features {reference.features.shape[1]}-d; measured in {time.perf_counter() - t0:.0f} s "
      f"for the last row)")
