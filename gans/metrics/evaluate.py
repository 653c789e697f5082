"""Measuring a generator: samples -> features -> the numbers. Used by `python -m gans
evaluate` (gans/metrics/cli.py) and by training's `eval_every` hook (monitor.py).

    net = feature_net("mnist")                    # or feature_net("inception", weights=PATH)
    real = net(real_images)                       # Features(features, probs)
    fake = net(generate(G, 10_000, z_dim=100))
    results = compute_metrics(real, fake, ["fid", "is", "kid", "pr", "modes"])

FID and KID depend on the number of samples (FID is biased upwards for small N): compare
numbers measured with the same N and the same feature network only.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np

import minigrad as mg
import minigrad.nn.functional as F

from ..data import to_float_images
from .frechet import fid_from_features
from .scores import diversity, inception_score, kid, mode_coverage, precision_recall

METRICS = ("fid", "is", "kid", "pr", "modes", "diversity")


class Features(NamedTuple):
    features: np.ndarray    # (N, d) penultimate / pool features
    probs: np.ndarray       # (N, K) class probabilities
    images: np.ndarray      # (N, C, H, W) the images themselves, in [-1, 1] (for SSIM)


def generate(G, num: int, z_dim: int, batch_size: int = 500, device: str = "cpu",
             seed: int = 0) -> np.ndarray:
    """num images (N, C, H, W) in [-1, 1] from G in eval mode (batch norm's running
    statistics), z ~ N(0, I) drawn from numpy's generator seeded with `seed`: minigrad's
    global generator is left untouched, so a training run that evaluates stays
    bit-identical to one that does not."""
    if num < 1 or batch_size < 1:
        raise ValueError(f"generate: num and batch_size must be at least 1, got num {num}, "
                         f"batch_size {batch_size}")
    rng = np.random.default_rng(seed)
    was_training = G.training
    G.eval()
    out = []
    with mg.no_grad():
        for start in range(0, num, batch_size):
            n = min(batch_size, num - start)
            z = mg.tensor(rng.standard_normal((n, z_dim)).astype(np.float32), device=device)
            out.append(G(z).numpy())
    G.train(was_training)
    return np.concatenate(out)


def _resize(x: np.ndarray, size: int, device: str) -> np.ndarray:
    if x.shape[-1] == size and x.shape[-2] == size:
        return x
    with mg.no_grad():
        return F.interpolate(mg.tensor(x, device=device), size=(size, size),
                             mode="bilinear", align_corners=False).numpy()


def feature_net(name: str = "mnist", weights=None, device: str = "cpu",
                batch_size: int | None = None) -> Callable[[np.ndarray], Features]:
    """A function images -> Features. name "mnist": the shipped classifier (128-d
    features, 10 classes; images resized to 28 x 28 if needed); "inception": the FID
    Inception-v3 (2048-d, 1008 classes) with the weights file `weights` (required)."""
    if batch_size is not None and batch_size < 1:
        raise ValueError(f"feature_net: batch_size must be at least 1, got {batch_size}")
    if name == "mnist":
        from .classifier import as_model_input, extract, load_classifier  # noqa: PLC0415

        model = load_classifier(weights, device=device)

        def run(images) -> Features:
            x = np.asarray(images.numpy() if isinstance(images, mg.Tensor) else images)
            if x.dtype == np.uint8:
                x = to_float_images(x)                       # (N, 1, H, W) in [-1, 1]
            x = x.astype(np.float32, copy=False)
            if x.ndim == 3:
                x = x[:, None]                               # (N, H, W) -> (N, 1, H, W)
            if x.ndim == 4 and x.shape[-2:] != (28, 28):     # e.g. a 64 x 64 generator
                x = _resize(x, 28, device)                   # (N, C, 28, 28)
            x = as_model_input(x)
            feats, probs = extract(model, x, batch_size=batch_size or 500, device=device)
            return Features(feats, probs, x)
        return run
    if name == "inception":
        if weights is None:
            raise ValueError("the inception feature network needs its weights file: "
                             "--inception-weights PATH (see tools/convert_fid_inception.py)")
        from .inception import load_inception  # noqa: PLC0415

        model = load_inception(weights, device=device)

        def run(images) -> Features:
            x = np.asarray(images.numpy() if isinstance(images, mg.Tensor) else images)
            if x.dtype == np.uint8:
                x = to_float_images(x)
            x = x.astype(np.float32)
            feats, probs = [], []
            step = batch_size or 16
            with mg.no_grad():
                for start in range(0, len(x), step):
                    f, logits = model(mg.tensor(x[start:start + step], device=device))
                    feats.append(f.numpy().astype(np.float64))
                    probs.append(F.softmax(logits, dim=1).numpy().astype(np.float64))
            return Features(np.concatenate(feats), np.concatenate(probs), x)
        return run
    raise ValueError(f"unknown feature network {name!r}: 'mnist' or 'inception'")


def check_metrics(metrics) -> list[str]:
    """The metric names as a list, or a ValueError naming the unknown ones (before any
    generator is loaded or sample drawn)."""
    metrics = list(metrics)
    unknown = [m for m in metrics if m not in METRICS]
    if unknown or not metrics:
        raise ValueError(f"unknown metric(s) {', '.join(unknown) or '(none given)'}; "
                         f"choose from {', '.join(METRICS)}")
    return metrics


def compute_metrics(real: Features, fake: Features, metrics=("fid", "is", "kid", "pr",
                    "modes"), kid_subsets: int = 100, kid_subset_size: int = 1000,
                    pr_k: int = 3, is_splits: int = 10) -> dict:
    """The requested metrics of fake against real, as a flat dict of floats:
    fid; is_mean, is_std; kid_mean, kid_std; precision, recall; modes_covered,
    num_classes, mode_kl; diversity (mean pairwise SSIM of the fakes, with the real
    digits' value as diversity_real for comparison)."""
    check_metrics(metrics)
    out: dict = {}
    if "fid" in metrics:
        out["fid"] = fid_from_features(real.features, fake.features)
    if "is" in metrics:
        out["is_mean"], out["is_std"] = inception_score(fake.probs,
                                                        splits=min(is_splits, len(fake.probs)))
    if "kid" in metrics:
        size = min(kid_subset_size, len(real.features), len(fake.features))
        out["kid_mean"], out["kid_std"] = kid(real.features, fake.features, kid_subsets, size)
    if "pr" in metrics:
        out["precision"], out["recall"] = precision_recall(real.features, fake.features, pr_k)
    if "modes" in metrics:
        coverage = mode_coverage(fake.probs, num_classes=fake.probs.shape[1])
        out["modes_covered"], out["num_classes"] = coverage["covered"], coverage["num_classes"]
        out["mode_kl"] = coverage["kl_uniform"]
    if "diversity" in metrics:
        out["diversity"] = diversity(fake.images)
        out["diversity_real"] = diversity(real.images)
    return out


def format_table(results: dict, title: str = "") -> str:
    """results (from compute_metrics) as an aligned two-column text table."""
    rows = []
    if "fid" in results:
        rows.append(("FID", f"{results['fid']:.3f}"))
    if "is_mean" in results:
        rows.append(("Inception Score", f"{results['is_mean']:.3f} +- {results['is_std']:.3f}"))
    if "kid_mean" in results:
        rows.append(("KID", f"{results['kid_mean']:.4g} +- {results['kid_std']:.2g}"))
    if "precision" in results:
        rows.append(("precision", f"{results['precision']:.3f}"))
        rows.append(("recall", f"{results['recall']:.3f}"))
    if "modes_covered" in results:
        rows.append(("modes covered", f"{results['modes_covered']} / {results['num_classes']}"))
        rows.append(("KL(modes || uniform)", f"{results['mode_kl']:.4f}"))
    if "diversity" in results:
        rows.append(("mean pairwise SSIM", f"{results['diversity']:.4f} (real digits "
                                           f"{results['diversity_real']:.4f})"))
    width = max(len(name) for name, _ in rows) if rows else 0
    lines = [title] if title else []
    lines += [f"{name:<{width}}  {value}" for name, value in rows]
    return "\n".join(lines)
