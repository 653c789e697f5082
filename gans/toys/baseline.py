"""The per-pixel Gaussian "generator" of MNIST: the baseline every generative model must beat.

Fit, for each of the 784 pixels on its own, the mean and the standard deviation over the
training digits; sample a new image by drawing every pixel independently from its own
Gaussian. The model gets each pixel's mean and spread exactly right, and its samples are
still not digits: they are the average digit (a blurry ring) covered in salt-and-pepper
noise. Why it fails:

1. Pixels of a digit are strongly correlated: a stroke is a run of bright pixels, and
   whether a pixel is ink depends on its neighbours (and on which digit it is). Drawing
   pixels independently throws away every correlation, so no strokes can appear.
2. The pixel distributions are not Gaussian: each pixel is almost always 0 (background)
   or near 255 (ink), a two-peaked distribution. A Gaussian with the same mean and std
   puts most of its mass on grey values that real digits hardly have.
3. Fitting one model per class (`PixelGaussian.fit(images, labels)` then `sample(n, c)`)
   sharpens the mean but keeps problems 1 and 2.

For contrast, `FullGaussian` keeps the 784 x 784 covariance (all pairwise correlations):
its samples are smooth, vaguely digit-like blobs: correlations are what the per-pixel
model misses, and a GAN learns far more than pairwise correlations.
All images are float in [-1, 1] (gans.data.to_float_images), shape (N, 1, 28, 28).
"""
from __future__ import annotations

import numpy as np

from ..data import to_float_images


class PixelGaussian:
    """Independent N(mean_p, std_p^2) per pixel p (optionally one model per class)."""

    def __init__(self):
        self.mean = self.std = None          # (K, 1, H, W): K = 1, or one per class
        self.classes = None

    def fit(self, images: np.ndarray, labels: np.ndarray | None = None) -> "PixelGaussian":
        """images: uint8 (N, H, W) or float (N, 1, H, W) in [-1, 1]."""
        x = to_float_images(images) if images.dtype == np.uint8 else np.asarray(images)
        if labels is None:
            self.classes = None
            self.mean, self.std = x.mean(0, keepdims=True), x.std(0, keepdims=True)
        else:
            labels = np.asarray(labels)
            self.classes = np.unique(labels)
            self.mean = np.stack([x[labels == c].mean(0) for c in self.classes])
            self.std = np.stack([x[labels == c].std(0) for c in self.classes])
        return self

    def sample(self, n: int, label: int | None = None, rng=None,
               clip: bool = True) -> np.ndarray:
        """n images (n, 1, H, W) in [-1, 1]; label picks the class model (if fitted)."""
        rng = np.random.default_rng(rng)
        k = 0 if label is None else self._class_index(label)
        x = self.mean[k] + self.std[k] * rng.standard_normal((n,) + self.mean.shape[1:])
        return np.clip(x, -1.0, 1.0) if clip else x

    def _class_index(self, label) -> int:
        """The row of self.mean / self.std that holds the model of class `label`."""
        if self.classes is None:
            raise ValueError("this model was fitted without labels")
        if np.ndim(label) != 0:
            raise ValueError(f"label must be one class label, got {label!r}")
        matches = np.flatnonzero(self.classes == label)
        if matches.size == 0:
            raise ValueError(f"label {label!r} is not one of the fitted classes "
                             f"{self.classes.tolist()}")
        return int(matches[0])


class FullGaussian:
    """One Gaussian over whole images: mean (D,) and the full covariance (D, D), D = H*W.
    Sampling: x = mean + U sqrt(L) e, from the eigendecomposition cov = U L U^T."""

    def fit(self, images: np.ndarray) -> "FullGaussian":
        x = to_float_images(images) if images.dtype == np.uint8 else np.asarray(images)
        self.shape = x.shape[1:]
        flat = x.reshape(len(x), -1).astype(np.float64)          # (N, D)
        self.mean = flat.mean(0)
        eigvals, eigvecs = np.linalg.eigh(np.cov(flat, rowvar=False))
        self.factor = eigvecs * np.sqrt(np.clip(eigvals, 0.0, None))  # (D, D)
        return self

    def sample(self, n: int, rng=None, clip: bool = True) -> np.ndarray:
        rng = np.random.default_rng(rng)
        e = rng.standard_normal((n, self.mean.shape[0]))
        x = (self.mean + e @ self.factor.T).reshape((n,) + self.shape).astype(np.float32)
        return np.clip(x, -1.0, 1.0) if clip else x


def pixel_histogram(images: np.ndarray, bins: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """Histogram of all pixel values of float images in [-1, 1]: (counts, bin edges)."""
    return np.histogram(np.asarray(images).ravel(), bins=bins, range=(-1.0, 1.0))


def neighbour_correlation(images: np.ndarray) -> float:
    """Mean correlation between horizontally adjacent pixels (over pixels that vary):
    high for digits (strokes), ~0 for the per-pixel model by construction."""
    x = np.asarray(images, dtype=np.float64).reshape(len(images), -1, images.shape[-1])
    a, b = x[:, :, :-1].reshape(len(x), -1), x[:, :, 1:].reshape(len(x), -1)
    a, b = a - a.mean(0), b - b.mean(0)
    denom = np.sqrt((a * a).sum(0) * (b * b).sum(0))
    ok = denom > 1e-9
    return float(((a * b).sum(0)[ok] / denom[ok]).mean())
