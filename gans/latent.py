"""The generator's input space: interpolation, latent arithmetic, inversion and morphing.

A trained G maps a latent z ~ N(0, I) (z_dim numbers) to an image. What that space means is
seen by walking in it:

lerp(z0, z1, t)      z0 + t (z1 - z0): the straight line. In high dimensions a N(0, I)
                     sample has norm ~ sqrt(z_dim), but the midpoint of two of them has norm
                     ~ sqrt(z_dim / 2): lerp passes through a region G hardly saw in training.
slerp(z0, z1, t)     the great-circle arc (Shoemake 1985; White 2016, "Sampling generative
                     networks"): with Omega the angle between z0 and z1,
                     sin((1-t) Omega)/sin(Omega) z0 + sin(t Omega)/sin(Omega) z1.
                     Keeps the norm when |z0| = |z1|; falls back to lerp when z0 and z1 are
                     (nearly) parallel, where sin(Omega) -> 0 and the formula is 0/0;
                     refuses (nearly) opposite z0, z1 (no unique great circle) and zeros.
interpolation_grid   rows of images along lerp or slerp paths between pairs of latents.
class_means,         vector arithmetic (Radford et al. 2015, the "smiling woman" example):
attribute_vector     the mean latent of a class, or the difference between the mean latents
                     of samples with and without an attribute, added to other latents.
                     Latents need labels: either invert real digits whose labels are known
                     (`invert` below, then `class_means(z, labels)`), or generate from
                     random z and label the images with any function you supply
                     (`label_latents(G, n, z_dim, label_fn)`: a classifier, or a measure
                     such as the amount of ink, which gives a "bold" direction).
invert(G, x)         GAN inversion: z* = argmin_z ||x - G(z)||^2 by Adam on z through the
                     frozen G (its parameters do not require grad, eval mode), from several
                     random starts; the best start is kept by reconstruction error or, if a
                     discriminator is given, by a mix of error and D's score.
morph(G, x0, x1)     invert two real digits and interpolate between their latents: the
                     course's face-morphing exercise, on digits.

Latents and images are numpy arrays here (images (N, C, H, W) in [-1, 1]); G is any
minigrad module mapping (N, z_dim) to images.
"""
from __future__ import annotations

import dataclasses

import numpy as np

import minigrad as mg

from .data import _is_int


def _check_count(function: str, name: str, value, minimum: int) -> None:
    """Refuse a count that is not a whole number of at least `minimum`, naming the function."""
    if not _is_int(value) or value < minimum:
        raise ValueError(f"{function}: {name} must be a whole number >= {minimum}, "
                         f"got {value!r}")


def _check_same_shape(function: str, z0: np.ndarray, z1: np.ndarray) -> None:
    # numpy would broadcast (D,) against (K, D) into K paths nobody asked for
    if z0.shape != z1.shape:
        raise ValueError(f"{function}: z0 and z1 must have the same shape, got {z0.shape} "
                         f"and {z1.shape}")


# ------------------------------------------------------------------ paths in latent space
def lerp(z0, z1, t):
    """Linear interpolation; t a number or an array (T,) -> (T, ...) points."""
    z0, z1 = np.asarray(z0, np.float64), np.asarray(z1, np.float64)
    _check_same_shape("lerp", z0, z1)
    t = np.asarray(t, np.float64)
    shape = t.shape + (1,) * z0.ndim
    return z0 + t.reshape(shape) * (z1 - z0)


def slerp(z0, z1, t, eps: float = 1e-6):
    """Spherical interpolation along the last axis; t a number or an array (T,).

    z0, z1: (..., D). With Omega the angle between z0 and z1 (sin Omega = 0 at 0 and at pi):
    Omega below about eps (nearly parallel): the result is lerp (arc and chord coincide).
    Omega within about eps of pi (nearly opposite): ValueError. Every half great circle from
    z0 to -z0 is as short as any other, so no arc is *the* arc (lerp would pass through 0).
    A zero vector has no direction: ValueError too (use lerp for these)."""
    z0, z1 = np.asarray(z0, np.float64), np.asarray(z1, np.float64)
    _check_same_shape("slerp", z0, z1)
    t = np.asarray(t, np.float64)
    shape = t.shape + (1,) * z0.ndim
    t = t.reshape(shape)                                              # (T, ..., 1)
    n0 = np.linalg.norm(z0, axis=-1, keepdims=True)
    n1 = np.linalg.norm(z1, axis=-1, keepdims=True)
    if np.any(n0 == 0) or np.any(n1 == 0):
        raise ValueError("slerp: z0 or z1 is a zero vector, which has no direction and so "
                         "no angle to the other; use lerp")
    cos = np.sum((z0 / n0) * (z1 / n1), axis=-1, keepdims=True)
    omega = np.arccos(np.clip(cos, -1.0, 1.0))                        # (..., 1)
    sin = np.sin(omega)
    if np.any((sin < eps) & (cos < 0)):
        raise ValueError(f"slerp: z0 and z1 point in (nearly) opposite directions (angle "
                         f"within about {eps:g} of pi): the great circle through them is "
                         f"not unique; use lerp, or move one of them off the line")
    parallel = sin < eps
    safe = np.where(parallel, 1.0, sin)
    a = np.where(parallel, 1.0 - t, np.sin((1.0 - t) * omega) / safe)
    b = np.where(parallel, t, np.sin(t * omega) / safe)
    return a * z0 + b * z1


def interpolate(z0, z1, steps: int = 8, method: str = "slerp") -> np.ndarray:
    """`steps` latents from z0 to z1 inclusive: (steps, D)."""
    _check_count("interpolate", "steps", steps, 1)          # 1: z0 alone, as linspace
    t = np.linspace(0.0, 1.0, steps)
    if method == "slerp":
        return slerp(z0, z1, t)
    if method == "lerp":
        return lerp(z0, z1, t)
    raise ValueError(f"method must be 'slerp' or 'lerp', got {method!r}")


# ------------------------------------------------------------------ running G
def generate(G, z, batch_size: int = 256) -> np.ndarray:
    """Images G(z) for latents z (N, z_dim), in eval mode and without a graph."""
    z = np.asarray(z, dtype=np.float32)
    if z.ndim != 2 or len(z) == 0:
        raise ValueError(f"generate: z must be latents (N, z_dim) with N >= 1, got shape "
                         f"{z.shape}")
    _check_count("generate", "batch_size", batch_size, 1)
    was_training = G.training
    G.eval()
    device = _device_of(G)
    try:
        with mg.no_grad():
            parts = [G(mg.tensor(z[i:i + batch_size], device=device)).numpy()
                     for i in range(0, len(z), batch_size)]
    finally:
        G.train(was_training)
    return np.concatenate(parts)


def _device_of(module) -> str:
    for p in module.parameters():
        return p.device
    return "cpu"


def interpolation_grid(G, starts, ends, steps: int = 8, method: str = "slerp") -> np.ndarray:
    """One row per (start, end) pair: images (rows * steps, C, H, W), row-major, ready for
    gans.viz.save_grid(images, path, nrow=steps)."""
    _check_count("interpolation_grid", "steps", steps, 1)
    starts, ends = np.atleast_2d(starts), np.atleast_2d(ends)
    if starts.shape != ends.shape:
        raise ValueError(f"interpolation_grid: starts and ends must have the same shape, "
                         f"got {starts.shape} and {ends.shape}")
    rows = [interpolate(a, b, steps, method) for a, b in zip(starts, ends)]
    return generate(G, np.concatenate(rows))


# ------------------------------------------------------------------ arithmetic
def class_means(latents, labels) -> dict:
    """{label: mean latent of that label}."""
    latents, labels = np.asarray(latents), np.asarray(labels)
    if labels.shape != latents.shape[:1]:
        raise ValueError(f"class_means: one label per latent: labels of shape {labels.shape} "
                         f"for latents of shape {latents.shape}")
    return {int(c): latents[labels == c].mean(0) for c in np.unique(labels)}


def label_latents(G, n: int, z_dim: int, label_fn, seed: int = 0):
    """n random latents and the labels that `label_fn(images) -> (n,)` gives G's images."""
    z = np.random.default_rng(seed).standard_normal((n, z_dim)).astype(np.float32)
    return z, np.asarray(label_fn(generate(G, z)))


def attribute_vector(latents, scores, quantile: float = 0.25) -> np.ndarray:
    """mean latent of the top `quantile` by score - mean latent of the bottom `quantile`."""
    latents, scores = np.asarray(latents), np.asarray(scores, dtype=np.float64)
    if scores.shape != latents.shape[:1]:
        raise ValueError(f"attribute_vector: one score per latent: scores of shape "
                         f"{scores.shape} for latents of shape {latents.shape}")
    low, high = np.quantile(scores, [quantile, 1.0 - quantile])
    return latents[scores >= high].mean(0) - latents[scores <= low].mean(0)


def ink(images) -> np.ndarray:
    """The amount of ink of each image (mean brightness in [0, 1]): a label_fn for a
    'bold' direction, no classifier needed."""
    images = np.asarray(images)
    return ((images + 1.0) / 2.0).reshape(len(images), -1).mean(1)


# ------------------------------------------------------------------ inversion
@dataclasses.dataclass
class Inversion:
    z: np.ndarray              # (N, z_dim) the chosen latent of each target
    images: np.ndarray         # (N, C, H, W) G(z)
    errors: np.ndarray         # (N,) mean squared error per pixel of the chosen latent
    all_errors: np.ndarray     # (restarts, N) final error of every start
    history: np.ndarray        # (steps,) mean error over targets and starts, per step


def invert(G, x, z_dim: int, steps: int = 300, restarts: int = 4, lr: float = 0.05,
           D=None, d_weight: float = 0.0, prior_weight: float = 0.0, seed: int = 0,
           z_init=None) -> Inversion:
    """z* = argmin_z ||x - G(z)||^2 for each target image, by Adam on z through frozen G.

    x: (N, C, H, W) images in G's range. All `restarts` x N latents are optimised as one
    batch (the loss is a sum over them, so each latent gets its own gradient). Loss of
    one latent: mean over pixels of (G(z) - x)^2 + prior_weight * |z|^2 / z_dim (a pull
    towards the typical set of N(0, I)). The start kept for each target is the one with
    the lowest error, or, with D and d_weight > 0, the lowest error - d_weight * D(G(z))
    (prefer reconstructions D finds realistic). G and D are left as they were found."""
    x = np.asarray(x, dtype=np.float32)
    _check_count("invert", "restarts", restarts, 1)
    n = len(x)
    if n == 0:
        raise ValueError(f"invert: no target images (x has shape {x.shape})")
    rng = np.random.default_rng(seed)
    start = rng.standard_normal((restarts, n, z_dim)) if z_init is None else np.asarray(z_init)
    if start.shape != (restarts, n, z_dim):
        raise ValueError(f"invert: z_init must have shape (restarts, N, z_dim) = "
                         f"{(restarts, n, z_dim)}, got {start.shape}")
    device = _device_of(G)
    z = mg.tensor(start.reshape(restarts * n, z_dim), device=device, requires_grad=True)
    target = mg.tensor(np.concatenate([x] * restarts), device=device)   # (R*N, C, H, W)
    flags = [p.requires_grad for p in G.parameters()]
    was_training = G.training
    G.requires_grad_(False)           # frozen: gradients flow through G to z only
    G.eval()                          # batch norm uses running statistics
    optimizer = mg.optim.Adam([z], lr=lr)
    history = []
    try:
        with mg.no_grad():    # a wrong shape would broadcast against G(z) without a word
            made = tuple(G(z[:1]).shape[1:])
        if made != x.shape[1:]:
            raise ValueError(f"invert: targets x of shape {x.shape} do not match G's images "
                             f"of shape {(n,) + made}")
        for _ in range(steps):
            per_latent = ((G(z) - target) ** 2).reshape(restarts * n, -1).mean(1)
            loss = per_latent.sum()
            if prior_weight:
                loss = loss + prior_weight * (z * z).sum() / z_dim
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            history.append(float(per_latent.mean().item()))
        with mg.no_grad():
            images = G(z)
            errors = ((images - target) ** 2).reshape(restarts * n, -1).mean(1).numpy()
            score = errors.copy()
            if D is not None and d_weight:
                d_was_training = D.training
                D.eval()
                try:
                    score = score - d_weight * D(images).numpy().reshape(-1)
                finally:
                    D.train(d_was_training)
    finally:
        for p, flag in zip(G.parameters(), flags):
            p.requires_grad = flag
        G.train(was_training)
    errors, score = errors.reshape(restarts, n), score.reshape(restarts, n)
    best = score.argmin(0)                                          # (N,)
    z_all = z.numpy().reshape(restarts, n, z_dim)
    images = images.numpy().reshape((restarts, n) + x.shape[1:])
    cols = np.arange(n)
    return Inversion(z_all[best, cols], images[best, cols], errors[best, cols], errors,
                     np.asarray(history))


def morph(G, x0, x1, z_dim: int, frames: int = 8, method: str = "slerp",
          **invert_args) -> tuple[np.ndarray, Inversion]:
    """Invert two images and interpolate between their latents; invert_args go to
    `invert` (steps, restarts, lr, ...).

    Returns (images (frames, C, H, W) from G(z0*) to G(z1*), the Inversion of both)."""
    _check_count("morph", "frames", frames, 1)      # checked before the costly inversion
    x0, x1 = np.asarray(x0), np.asarray(x1)
    if x0.shape != x1.shape:
        raise ValueError(f"morph: x0 and x1 must have the same shape, got {x0.shape} and "
                         f"{x1.shape}")
    pair = np.stack([x0, x1])
    inv = invert(G, pair, z_dim, **invert_args)
    return generate(G, interpolate(inv.z[0], inv.z[1], frames, method)), inv
