"""Scores of a generator beyond FID, on numpy arrays (features, class probabilities, images).

    inception_score(probs)         exp E_x KL(p(y|x) || p(y))          quality + variety
    kid(f1, f2)                    unbiased MMD^2, cubic kernel          FID without the bias
    precision_recall(real, fake)   k-NN manifolds                        quality vs diversity
    mode_coverage(probs)           classes hit, KL(histogram || uniform) mode collapse
    ssim(x, y) / diversity(images) structural similarity, mean over pairs

Each is computed from arrays that a feature network (gans.metrics.classifier or
gans.metrics.inception) produced, so none of them needs the tape.
"""
from __future__ import annotations

import warnings

import numpy as np

from ..data import _is_int


def _rng(seed):
    return np.random.default_rng(seed)


# ------------------------------------------------------------------ Inception Score
def inception_score(probs: np.ndarray, splits: int = 10,
                    eps: float = 1e-12) -> tuple[float, float]:
    """(mean, std) over `splits` equal parts of IS = exp(E_x KL(p(y|x) || p(y))).

    probs (N, K): each row the classifier's p(y|x) for one sample (rows sum to 1).
    p(y) is the mean of the rows within a split (Salimans et al. 2016; splits=10 as in
    their code). IS is 1 when every p(y|x) is the same (the samples tell the classifier
    nothing) and K when each sample is confidently one class and the K classes are equally
    frequent. The std over splits shows the estimate's spread, not an error bar."""
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 2:
        raise ValueError(f"inception_score: probs must be (N, K), got shape {p.shape}")
    if (p < 0).any() or not np.allclose(p.sum(axis=1), 1.0, atol=1e-3):
        raise ValueError("inception_score: each row of probs must be a probability "
                         "distribution (non-negative, summing to 1); pass softmax outputs")
    if not _is_int(splits) or not 1 <= splits <= p.shape[0]:
        raise ValueError(f"inception_score: splits must be a whole number in 1..N={p.shape[0]}, "
                         f"got {splits!r}")
    scores = []
    for part in np.array_split(p, splits):
        py = part.mean(axis=0, keepdims=True)                              # (1, K)
        kl = (part * (np.log(part + eps) - np.log(py + eps))).sum(axis=1)  # (n,)
        scores.append(np.exp(kl.mean()))
    return float(np.mean(scores)), float(np.std(scores))


# ------------------------------------------------------------------ KID
def polynomial_kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """k(x, y) = (x . y / d + 1)^3 for every pair of rows: (n, d), (m, d) -> (n, m)."""
    return (x @ y.T / x.shape[1] + 1.0) ** 3


def mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    """The unbiased estimate of MMD^2 with the cubic kernel (x, y: (m, d) each):
    sum_{i!=j} k(x_i, x_j) / (m(m-1)) + sum_{i!=j} k(y_i, y_j) / (m(m-1))
    - 2 sum_{i,j} k(x_i, y_j) / m^2. Its expectation is 0 when x and y come from the same
    distribution, so it can be negative."""
    m = x.shape[0]
    kxx, kyy, kxy = polynomial_kernel(x, x), polynomial_kernel(y, y), polynomial_kernel(x, y)
    within = ((kxx.sum() - np.trace(kxx)) + (kyy.sum() - np.trace(kyy))) / (m * (m - 1))
    return float(within - 2.0 * kxy.mean())


def kid(f1: np.ndarray, f2: np.ndarray, num_subsets: int = 100, subset_size: int = 1000,
        seed: int = 0) -> tuple[float, float]:
    """Kernel Inception Distance (Binkowski et al. 2018): (mean, std) of the unbiased
    MMD^2 with the cubic polynomial kernel over `num_subsets` random subsets of
    `subset_size` rows drawn without replacement from each of f1 (N1, d) and f2 (N2, d).
    Unlike FID it is unbiased: its expectation does not depend on the number of samples.
    Report it x 1000 as many papers do, or as is (this function does not scale it)."""
    f1, f2 = np.asarray(f1, np.float64), np.asarray(f2, np.float64)
    if f1.ndim != 2 or f2.ndim != 2 or f1.shape[1] != f2.shape[1]:
        raise ValueError(f"kid: features must be (N1, d) and (N2, d), got {f1.shape} and "
                         f"{f2.shape}")
    if not np.isfinite(f1).all() or not np.isfinite(f2).all():
        raise ValueError("kid: features contain NaN or inf")
    if not _is_int(num_subsets) or num_subsets < 1:
        raise ValueError(f"kid: num_subsets must be an int >= 1, got {num_subsets!r}")
    m = min(subset_size, f1.shape[0], f2.shape[0])
    if m < 2:
        raise ValueError("kid: need at least 2 samples in each set")
    if m < subset_size:
        warnings.warn(f"kid: subset_size {subset_size} is more than the samples available; "
                      f"using {m}", RuntimeWarning, stacklevel=2)
    rng = _rng(seed)
    values = [mmd2_unbiased(f1[rng.choice(f1.shape[0], m, replace=False)],
                            f2[rng.choice(f2.shape[0], m, replace=False)])
              for _ in range(num_subsets)]
    return float(np.mean(values)), float(np.std(values))


# ------------------------------------------------------------------ precision / recall
def _pairwise_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Euclidean distances (n, m) between rows of a (n, d) and b (m, d)."""
    sq = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
    return np.sqrt(np.maximum(sq, 0.0))


def _knn_radii(feats: np.ndarray, k: int, batch: int) -> np.ndarray:
    """Distance from each row to its k-th nearest other row (the row itself, at 0, is
    the 0-th): the radius of its ball in the k-NN manifold estimate."""
    radii = np.empty(feats.shape[0])
    for start in range(0, feats.shape[0], batch):
        d = _pairwise_distances(feats[start:start + batch], feats)
        radii[start:start + batch] = np.partition(d, k, axis=1)[:, k]
    return radii


def _inside_manifold(points: np.ndarray, centres: np.ndarray, radii: np.ndarray,
                     batch: int) -> np.ndarray:
    """For each point: is it within radius_j of some centre j?"""
    inside = np.empty(points.shape[0], dtype=bool)
    for start in range(0, points.shape[0], batch):
        d = _pairwise_distances(points[start:start + batch], centres)
        inside[start:start + batch] = (d <= radii[None, :]).any(axis=1)
    return inside


def precision_recall(real_feats: np.ndarray, fake_feats: np.ndarray, k: int = 3,
                     batch: int = 1000) -> tuple[float, float]:
    """Improved precision and recall (Kynkaanniemi et al. 2019), (precision, recall).

    Each set's manifold is the union of balls around its points, each ball reaching to
    that point's k-th nearest neighbour within the set. precision = the fraction of fake
    samples inside the real manifold (are the samples realistic?); recall = the fraction
    of real samples inside the fake manifold (is all of the data covered?). A
    mode-collapsed generator has high precision and low recall: the two objectives the
    course says conflict. Distances are computed in blocks of `batch` rows (memory
    O(batch * N))."""
    real = np.asarray(real_feats, np.float64)
    fake = np.asarray(fake_feats, np.float64)
    if real.ndim != 2 or fake.ndim != 2 or real.shape[1] != fake.shape[1]:
        raise ValueError(f"precision_recall: features must be (N1, d) and (N2, d), got "
                         f"{real.shape} and {fake.shape}")
    if not np.isfinite(real).all() or not np.isfinite(fake).all():
        raise ValueError("precision_recall: features contain NaN or inf")
    # k = 0 makes every radius 0 (the point itself), k < 0 counts from the far end
    if not _is_int(k) or k < 1:
        raise ValueError(f"precision_recall: k must be a whole number >= 1, got {k!r}")
    if min(real.shape[0], fake.shape[0]) <= k:
        raise ValueError(f"precision_recall: each set needs more than k={k} samples")
    precision = _inside_manifold(fake, real, _knn_radii(real, k, batch), batch).mean()
    recall = _inside_manifold(real, fake, _knn_radii(fake, k, batch), batch).mean()
    return float(precision), float(recall)


# ------------------------------------------------------------------ mode coverage
def mode_coverage(predictions: np.ndarray, num_classes: int = 10,
                  min_fraction: float = 0.1) -> dict:
    """How many of the classes a generator produces, and how evenly.

    predictions: class probabilities (N, K) (the argmax is taken) or labels (N,) ints.
    A class counts as covered when it holds at least min_fraction of its fair share,
    i.e. max(1, min_fraction * N / K) samples: a classifier's occasional mistakes (a
    collapsed generator's 3s read as 5s now and then) do not count as modes; pass
    min_fraction=0 to count any class that appears at all.
    Returns {"covered": the number of covered classes, "num_classes": K,
    "kl_uniform": KL(histogram || uniform) = sum_c p_c log(K p_c) in nats (0 when every
    class is equally frequent, log K when all samples are one class), "histogram": the
    counts (K,)}. On MNIST with the shipped classifier this is the standard way to see
    mode collapse: covered < 10, or a large KL."""
    pred = np.asarray(predictions)
    if pred.size == 0:
        raise ValueError(f"mode_coverage: no predictions (shape {pred.shape})")
    if pred.ndim == 2:
        if pred.shape[1] != num_classes:
            raise ValueError(f"mode_coverage: probs have {pred.shape[1]} classes, "
                             f"num_classes={num_classes}")
        labels = pred.argmax(axis=1)
    elif pred.ndim == 1:
        if not np.issubdtype(pred.dtype, np.integer):      # astype would truncate 2.7 to 2
            raise ValueError(f"mode_coverage: labels (N,) must be integers, got dtype "
                             f"{pred.dtype}; pass class probabilities as (N, K)")
        labels = pred.astype(np.int64)
    else:
        raise ValueError(f"mode_coverage: expected probs (N, K) or labels (N,), got shape "
                         f"{pred.shape}")
    if labels.min() < 0 or labels.max() >= num_classes:
        raise ValueError(f"mode_coverage: labels must lie in 0..{num_classes - 1}")
    counts = np.bincount(labels, minlength=num_classes)
    p = counts / counts.sum()
    nonzero = p > 0
    kl = float((p[nonzero] * np.log(p[nonzero] * num_classes)).sum())
    threshold = max(1.0, min_fraction * labels.size / num_classes)
    return {"covered": int((counts >= threshold).sum()), "num_classes": num_classes,
            "kl_uniform": kl, "histogram": counts}


# ------------------------------------------------------------------ SSIM and diversity
def _gaussian_window(size: int, sigma: float) -> np.ndarray:
    x = np.arange(size) - (size - 1) / 2
    w = np.exp(-x * x / (2 * sigma * sigma))
    return w / w.sum()


def _filter_valid(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Separable 'valid' filtering of the last two axes of x (..., H, W) with w (k,)."""
    k = w.shape[0]
    h, wd = x.shape[-2] - k + 1, x.shape[-1] - k + 1
    rows = sum(w[i] * x[..., i:i + h, :] for i in range(k))         # (..., h, W)
    return sum(w[i] * rows[..., :, i:i + wd] for i in range(k))      # (..., h, w)


def _as_nchw(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.float64)
    if x.ndim == 2:
        return x[None, None]
    if x.ndim == 3:
        return x[:, None]
    if x.ndim == 4:
        return x
    raise ValueError(f"ssim: images must be (H, W), (N, H, W) or (N, C, H, W), got {x.shape}")


def ssim(x: np.ndarray, y: np.ndarray, value_range: tuple = (-1.0, 1.0),
         window_size: int = 11, sigma: float = 1.5, k1: float = 0.01, k2: float = 0.03):
    """Structural similarity (Wang, Bovik, Sheikh & Simoncelli 2004).

    Images are first mapped from `value_range` to [0, 1]: the default (-1, 1) is the range
    of the generators' tanh output and of gans.data.to_float_images; pass (0, 1) for images
    in [0, 1] (or (0, 255) for uint8 pixels). Then, with a Gaussian window (11 x 11,
    sigma 1.5) giving local means mu, variances s^2 and covariance s_xy ('valid' positions
    only, as the paper's code), and C1 = (k1 L)^2, C2 = (k2 L)^2 with L = 1:
        SSIM = mean over positions of (2 mu_x mu_y + C1)(2 s_xy + C2) /
                                      ((mu_x^2 + mu_y^2 + C1)(s_x^2 + s_y^2 + C2))
    averaged over channels. x, y: (H, W) -> a float; (N, H, W) or (N, C, H, W) -> (N,).
    1 for identical images; lower means less alike."""
    single = np.ndim(x) == 2
    x, y = _as_nchw(x), _as_nchw(y)
    if x.shape != y.shape:
        raise ValueError(f"ssim: shapes differ: {x.shape} and {y.shape}")
    if min(x.shape[-2:]) < window_size:
        raise ValueError(f"ssim: images {x.shape[-2:]} are smaller than the "
                         f"{window_size}x{window_size} window")
    lo, hi = value_range
    x, y = (x - lo) / (hi - lo), (y - lo) / (hi - lo)
    w = _gaussian_window(window_size, sigma)
    c1, c2 = k1 ** 2, k2 ** 2
    mu_x, mu_y = _filter_valid(x, w), _filter_valid(y, w)
    var_x = _filter_valid(x * x, w) - mu_x ** 2
    var_y = _filter_valid(y * y, w) - mu_y ** 2
    cov = _filter_valid(x * y, w) - mu_x * mu_y
    s = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)
         / ((mu_x ** 2 + mu_y ** 2 + c1) * (var_x + var_y + c2)))      # (N, C, h, w)
    per_image = s.mean(axis=(1, 2, 3))
    return float(per_image[0]) if single else per_image


def diversity(images: np.ndarray, max_pairs: int = 2000, seed: int = 0,
              value_range: tuple = (-1.0, 1.0)) -> float:
    """Mean SSIM over pairs of distinct images (N, H, W) or (N, C, H, W): all N(N-1)/2
    pairs when there are at most max_pairs, else max_pairs random pairs (i != j).
    Lower means more diverse; a mode-collapsed generator scores close to 1. For MNIST,
    compare with the value of real digits (docs/metrics.md)."""
    if not _is_int(max_pairs) or max_pairs < 1:
        raise ValueError(f"diversity: max_pairs must be a whole number >= 1, got {max_pairs!r}")
    images = _as_nchw(images)
    n = images.shape[0]
    if n < 2:
        raise ValueError("diversity: need at least 2 images")
    if n * (n - 1) // 2 <= max_pairs:
        i, j = np.triu_indices(n, k=1)
    else:
        rng = _rng(seed)
        i = rng.integers(0, n, max_pairs)
        j = (i + rng.integers(1, n, max_pairs)) % n               # never equal to i
    values = np.concatenate([ssim(images[i[s:s + 500]], images[j[s:s + 500]], value_range)
                             for s in range(0, len(i), 500)])
    return float(values.mean())
