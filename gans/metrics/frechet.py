"""The Frechet distance between two Gaussians, and FID (Heusel et al. 2017).

    d^2 = ||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2))

FID fits one Gaussian to the features of real images and one to those of generated images
and reports d^2 between them. Two implementations:

- `frechet_distance(mu1, sigma1, mu2, sigma2)` on numpy arrays, float64, the number to
  report. The default `method="sqrtm"` is pytorch-fid's computation
  (scipy.linalg.sqrtm of the product), so results compare with published FIDs, made
  robust: when the square root is not finite or does not square back to S1 S2 (singular
  or rank-deficient covariances, e.g. fewer samples than feature dimensions), eps * I is
  added to both diagonals and it is computed again, with a warning; imaginary parts that
  are round-off are dropped (and logged at DEBUG level), larger ones raise a ValueError
  that says how large. `method="eigh"` uses the symmetric eigendecomposition of
  `sqrtm.py` instead: always real, exact for singular PSD matrices, no fallback needed.
- `frechet_distance_differentiable(mu1, s1, mu2, s2)` and `fid_differentiable(f1, f2)` on
  minigrad tensors: the same number (in float64) with gradients w.r.t. the features, via
  the `TraceSqrtm` op (eigendecomposition forward, a symmetric closed-form backward; see
  `gans/metrics/sqrtm.py` for the method and why). Mathiasen & Hvilshoj (2020) train
  generators on FID this way.
"""
from __future__ import annotations

import logging
import warnings

import numpy as np
from scipy import linalg

import minigrad as mg
from minigrad import Tensor

from .sqrtm import _check_square, trace_sqrt_product, trace_sqrtm

logger = logging.getLogger(__name__)


# ------------------------------------------------------------------ numpy: the number
def gaussian_stats(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean (d,), covariance (d, d)) of features (N, d), in float64; the covariance is
    unbiased (divides by N - 1), as pytorch-fid's np.cov(rowvar=False)."""
    f = np.asarray(features, dtype=np.float64)
    if f.ndim != 2:
        raise ValueError(f"features must be (N, d), got shape {f.shape}")
    if f.shape[0] < 2:
        raise ValueError(f"need at least 2 samples to estimate a covariance, got {f.shape[0]}")
    if not np.isfinite(f).all():
        raise ValueError("features contain NaN or inf")
    return f.mean(axis=0), np.atleast_2d(np.cov(f, rowvar=False))


def _check_stats(mu1, sigma1, mu2, sigma2):
    mu1 = np.atleast_1d(np.asarray(mu1, np.float64))
    mu2 = np.atleast_1d(np.asarray(mu2, np.float64))
    sigma1 = np.atleast_2d(np.asarray(sigma1, np.float64))
    sigma2 = np.atleast_2d(np.asarray(sigma2, np.float64))
    d = mu1.shape[0]
    if mu1.shape != (d,) or mu2.shape != (d,):
        raise ValueError(f"frechet_distance: the means must be vectors of the same length, "
                         f"got shapes {mu1.shape} and {mu2.shape}")
    if sigma1.shape != (d, d) or sigma2.shape != (d, d):
        raise ValueError(f"frechet_distance: the covariances must be ({d}, {d}) to match the "
                         f"means, got {sigma1.shape} and {sigma2.shape}")
    for name, a in (("mu1", mu1), ("sigma1", sigma1), ("mu2", mu2), ("sigma2", sigma2)):
        if not np.isfinite(a).all():
            raise ValueError(f"frechet_distance: {name} contains NaN or inf")
    return mu1, sigma1, mu2, sigma2


def _sqrtm_product(sigma1, sigma2, eps: float, rel_tol: float = 1e-3):
    """sqrtm(S1 S2), retried once with eps * I added to both diagonals when it is not
    finite or does not square back to S1 S2 within rel_tol (Frobenius, relative)."""
    def attempt(s1, s2):
        product = s1 @ s2
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")        # scipy's "singular matrix" chatter
            root = linalg.sqrtm(product)
        if not np.isfinite(root).all():
            return root, np.inf
        scale = max(np.linalg.norm(product), np.finfo(np.float64).tiny)
        return root, np.linalg.norm(root @ root - product) / scale

    root, error = attempt(sigma1, sigma2)
    if error <= rel_tol:
        return root
    offset = np.eye(sigma1.shape[0]) * eps
    warnings.warn(f"frechet_distance: sqrtm(sigma1 @ sigma2) is not accurate (relative "
                  f"error {error:.2g}); the covariances are singular or nearly so (fewer "
                  f"samples than dimensions?). Adding {eps:g} * I to both diagonals.",
                  RuntimeWarning, stacklevel=3)
    root, error = attempt(sigma1 + offset, sigma2 + offset)
    if error > rel_tol:
        raise ValueError(f"frechet_distance: sqrtm(sigma1 @ sigma2) failed even with "
                         f"{eps:g} * I added (relative error {error:.2g}); try "
                         f"method='eigh' or a larger eps")
    return root


def _drop_imaginary(root, imag_tol: float):
    """The real part of root; refuse if the imaginary part is more than round-off."""
    if not np.iscomplexobj(root):
        return root
    worst = float(np.max(np.abs(root.imag))) if root.size else 0.0
    diag = float(np.max(np.abs(np.diagonal(root).imag))) if root.size else 0.0
    if diag > imag_tol:
        raise ValueError(
            f"frechet_distance: sqrtm(sigma1 @ sigma2) has an imaginary part of {diag:.3g} "
            f"on its diagonal (largest anywhere {worst:.3g}), more than round-off "
            f"(imag_tol={imag_tol:g}). The covariances are probably not positive "
            f"semi-definite (NaN features? too few samples?). method='eigh' is exact for "
            f"PSD matrices.")
    if worst > 0:
        logger.debug("frechet_distance: dropped an imaginary part of %.3g (round-off)", worst)
    return root.real


def _check_psd(name: str, sigma: np.ndarray) -> None:
    """Refuse a covariance with a negative eigenvalue beyond round-off: below
    -d * eps * max|lam| (the tolerance sqrtm._clean rounds to 0). The eigh method would
    otherwise clip it to 0 and return a wrong number without a word."""
    lam = np.linalg.eigvalsh((sigma + sigma.T) / 2)           # ascending, (d,)
    if lam.size == 0:
        return
    largest = float(np.abs(lam).max())
    tol = largest * lam.size * np.finfo(np.float64).eps
    if lam[0] < -tol:
        raise ValueError(f"frechet_distance: {name} is not positive semi-definite (smallest "
                         f"eigenvalue {lam[0]:.3g}, largest in magnitude {largest:.3g}); a "
                         f"covariance matrix must be, e.g. np.cov(features, rowvar=False)")


def _trace_sqrt_product_eigh(sigma1, sigma2) -> float:
    """Tr (S1 S2)^(1/2) = sum sqrt(eig(R S2 R)), R = S1^(1/2) (see sqrtm.TraceSqrtm),
    after checking that both are PSD."""
    _check_psd("sigma1", sigma1)
    _check_psd("sigma2", sigma2)
    return float(trace_sqrt_product(sigma1, sigma2))


def frechet_distance(mu1, sigma1, mu2, sigma2, eps: float = 1e-6, method: str = "sqrtm",
                     imag_tol: float = 1e-3) -> float:
    """||mu1 - mu2||^2 + Tr(sigma1 + sigma2 - 2 (sigma1 sigma2)^(1/2)), a float.

    mu1, mu2 (d,); sigma1, sigma2 (d, d) covariance matrices (symmetric PSD), in float64.
    method: "sqrtm" (pytorch-fid's, the default; eps and imag_tol as described in the
    module docstring) or "eigh" (symmetric eigendecomposition; eps and imag_tol unused;
    a covariance with a negative eigenvalue beyond round-off is refused).
    Symmetric in its two Gaussians, zero for identical ones, and finite for singular
    covariances.
    """
    mu1, sigma1, mu2, sigma2 = _check_stats(mu1, sigma1, mu2, sigma2)
    diff = mu1 - mu2
    if method == "sqrtm":
        tr_covmean = float(np.trace(_drop_imaginary(_sqrtm_product(sigma1, sigma2, eps),
                                                    imag_tol)))
    elif method == "eigh":
        tr_covmean = _trace_sqrt_product_eigh(sigma1, sigma2)
    else:
        raise ValueError(f"frechet_distance: method must be 'sqrtm' or 'eigh', got {method!r}")
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * tr_covmean)


def fid_from_features(f1: np.ndarray, f2: np.ndarray, **kwargs) -> float:
    """The Frechet distance between Gaussians fitted to features f1 (N1, d) and f2 (N2, d)
    (keyword arguments go to frechet_distance)."""
    mu1, s1 = gaussian_stats(f1)
    mu2, s2 = gaussian_stats(f2)
    if mu1.shape != mu2.shape:
        raise ValueError(f"fid_from_features: feature sizes differ: {np.shape(f1)} and "
                         f"{np.shape(f2)}")
    return frechet_distance(mu1, s1, mu2, s2, **kwargs)


# ------------------------------------------------------------------ minigrad: differentiable
def gaussian_stats_tensor(features: Tensor) -> tuple[Tensor, Tensor]:
    """(mean (d,), unbiased covariance (d, d)) of features (N, d), with minigrad ops."""
    if features.ndim != 2 or features.shape[0] < 2:
        raise ValueError(f"features must be (N, d) with N >= 2, got shape "
                         f"{tuple(features.shape)}")
    mu = features.mean(0)                                   # (d,)
    centered = features - mu                                # (N, d)
    cov = centered.transpose(0, 1) @ centered / (features.shape[0] - 1)   # (d, d)
    return mu, cov


def _trace(x: Tensor) -> Tensor:
    eye = mg.tensor(x.xp.eye(x.shape[0], dtype=x.dtype), device=x.device)
    return (x * eye).sum()


def frechet_distance_differentiable(mu1: Tensor, s1: Tensor, mu2: Tensor, s2: Tensor,
                                    eps: float = 0.0) -> Tensor:
    """The Frechet distance as a 0-d tensor, differentiable w.r.t. all four inputs (to
    second order). eps > 0 adds eps * I to both covariances first: it keeps the gradient
    finite near singular covariances (see sqrtm.py) at the price of a slightly different
    value."""
    _check_square("frechet_distance_differentiable", s1, s2)
    if tuple(mu1.shape) != (s1.shape[0],) or tuple(mu2.shape) != (s1.shape[0],):
        raise ValueError(f"frechet_distance_differentiable: the means must be vectors of "
                         f"length {s1.shape[0]} to match the covariances, got shapes "
                         f"{tuple(mu1.shape)} and {tuple(mu2.shape)}")
    if eps:
        eye = mg.tensor(s1.xp.eye(s1.shape[0], dtype=s1.dtype), device=s1.device) * eps
        s1, s2 = s1 + eye, s2 + eye
    diff = mu1 - mu2
    return (diff * diff).sum() + _trace(s1) + _trace(s2) - 2.0 * trace_sqrtm(s1, s2)


def fid_differentiable(f1: Tensor, f2: Tensor, eps: float = 0.0) -> Tensor:
    """FID between features f1 (N1, d) and f2 (N2, d) as a 0-d float64 tensor whose
    gradient flows back into the features (and so into the generator that made them)."""
    f1, f2 = f1.to(dtype=mg.float64), f2.to(dtype=mg.float64)
    mu1, s1 = gaussian_stats_tensor(f1)
    mu2, s2 = gaussian_stats_tensor(f2)
    return frechet_distance_differentiable(mu1, s1, mu2, s2, eps=eps)
