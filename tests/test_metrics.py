"""gans.metrics: the Frechet distance (numpy and differentiable), the scores, the shipped
MNIST classifier, the evaluate command and the training hook."""
import json
import warnings

import numpy as np
import pytest

import minigrad as mg
from gans.metrics import (diversity, fid_differentiable, fid_from_features, frechet_distance,
                          frechet_distance_differentiable, inception_score, kid,
                          mode_coverage, precision_recall, sqrtm_psd, ssim, sylvester,
                          trace_sqrtm)
from gans.metrics import frechet as frechet_module
from gans.metrics.scores import mmd2_unbiased


def t64(x, requires_grad=True, device="cpu"):
    return mg.tensor(np.asarray(x), dtype=mg.float64, device=device,
                     requires_grad=requires_grad)


def random_spd(d, rng, rank=None, shift=0.0):
    a = rng.standard_normal((d, rank or d))
    return a @ a.T + shift * np.eye(d)


# ---------------------------------------------------------------- Frechet distance (numpy)
@pytest.mark.parametrize("method", ["sqrtm", "eigh"])
def test_frechet_closed_form_for_diagonal_covariances(method):
    rng = np.random.default_rng(0)
    mu1, mu2 = rng.standard_normal(6), rng.standard_normal(6)
    a, b = rng.uniform(0.1, 3, 6), rng.uniform(0.1, 3, 6)
    expected = ((mu1 - mu2) ** 2).sum() + ((np.sqrt(a) - np.sqrt(b)) ** 2).sum()
    got = frechet_distance(mu1, np.diag(a), mu2, np.diag(b), method=method)
    assert got == pytest.approx(expected, rel=1e-10)


@pytest.mark.parametrize("method", ["sqrtm", "eigh"])
def test_frechet_zero_for_identical_and_symmetric(method):
    rng = np.random.default_rng(1)
    mu, s1, s2 = rng.standard_normal(8), random_spd(8, rng), random_spd(8, rng)
    assert abs(frechet_distance(mu, s1, mu, s1, method=method)) < 1e-9 * np.trace(s1)
    mu2 = rng.standard_normal(8)
    assert frechet_distance(mu, s1, mu2, s2, method=method) == pytest.approx(
        frechet_distance(mu2, s2, mu, s1, method=method), rel=1e-9)


def test_frechet_methods_agree_on_random_features():
    rng = np.random.default_rng(2)
    f1, f2 = rng.standard_normal((200, 10)), 1.3 * rng.standard_normal((150, 10)) + 0.2
    assert fid_from_features(f1, f2) == pytest.approx(fid_from_features(f1, f2, method="eigh"),
                                                      rel=1e-9)


def test_frechet_singular_covariances_fewer_samples_than_dims():
    rng = np.random.default_rng(3)
    f1, f2 = rng.standard_normal((5, 16)), rng.standard_normal((7, 16)) + 0.5  # rank 4, 6
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        value = fid_from_features(f1, f2)
    exact = fid_from_features(f1, f2, method="eigh")
    assert np.isfinite(value) and value == pytest.approx(exact, rel=1e-5)
    # a rank-deficient covariance against itself: exactly 0; diagonal with zeros: closed form
    s = random_spd(10, rng, rank=3)
    assert abs(frechet_distance(np.zeros(10), s, np.zeros(10), s, method="eigh")) < 1e-9
    a, b = np.array([2.0, 0, 1, 0]), np.array([0.5, 0, 0, 3])
    expected = ((np.sqrt(a) - np.sqrt(b)) ** 2).sum()
    for method in ("sqrtm", "eigh"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            got = frechet_distance(np.zeros(4), np.diag(a), np.zeros(4), np.diag(b),
                                   method=method)
        assert got == pytest.approx(expected, abs=1e-5)


def test_frechet_falls_back_to_eps_when_sqrtm_is_not_finite(monkeypatch):
    real_sqrtm, calls = frechet_module.linalg.sqrtm, []

    def flaky(a):
        calls.append(1)
        return np.full_like(a, np.nan) if len(calls) == 1 else real_sqrtm(a)

    monkeypatch.setattr(frechet_module.linalg, "sqrtm", flaky)
    rng = np.random.default_rng(4)
    s1, s2 = random_spd(5, rng), random_spd(5, rng)
    with pytest.warns(RuntimeWarning, match="Adding 1e-06"):
        value = frechet_distance(np.zeros(5), s1, np.zeros(5), s2)
    assert np.isfinite(value) and len(calls) == 2


def test_frechet_imaginary_parts_tiny_dropped_large_refused(monkeypatch):
    rng = np.random.default_rng(5)
    s1, s2 = random_spd(4, rng, shift=1.0), random_spd(4, rng, shift=1.0)
    exact = frechet_distance(np.zeros(4), s1, np.zeros(4), s2)
    real_sqrtm = frechet_module.linalg.sqrtm
    monkeypatch.setattr(frechet_module.linalg, "sqrtm",
                        lambda a: real_sqrtm(a) + 1e-9j * np.eye(len(a)))
    assert frechet_distance(np.zeros(4), s1, np.zeros(4), s2) == pytest.approx(exact)
    monkeypatch.undo()
    # a "covariance" with a negative eigenvalue: its square root is genuinely complex
    with pytest.raises(ValueError, match="imaginary part of 2 "):
        frechet_distance(np.zeros(2), np.eye(2), np.zeros(2), np.diag([1.0, -4.0]))


def test_frechet_shape_errors_are_clear():
    with pytest.raises(ValueError, match="covariances must be"):
        frechet_distance(np.zeros(3), np.eye(3), np.zeros(3), np.eye(4))
    with pytest.raises(ValueError, match="NaN"):
        fid_from_features(np.full((4, 2), np.nan), np.zeros((4, 2)))


# ---------------------------------------------------------------- differentiable version
def test_frechet_eigh_refuses_a_covariance_that_is_not_psd():
    """sqrtm raises on diag(1, -1); eigh used to clip the -1 to 0 and return 0.0."""
    mu = np.zeros(2)
    for method in ("sqrtm", "eigh"):
        with pytest.raises(ValueError):
            frechet_distance(mu, np.diag([1.0, -1.0]), mu, np.eye(2), method=method)
    with pytest.raises(ValueError, match=r"sigma1 is not positive semi-definite.*-1"):
        frechet_distance(mu, np.diag([1.0, -1.0]), mu, np.eye(2), method="eigh")
    with pytest.raises(ValueError, match=r"sigma2 is not positive semi-definite"):
        frechet_distance(mu, np.eye(2), mu, np.diag([2.0, -0.1]), method="eigh")
    # round-off below a singular covariance's zero eigenvalues is not an error
    rng = np.random.default_rng(4)
    f1, f2 = rng.standard_normal((5, 40)), rng.standard_normal((6, 40))   # rank 4, 5
    assert np.linalg.eigvalsh(np.cov(f1, rowvar=False)).min() < 0
    assert np.isfinite(fid_from_features(f1, f2, method="eigh"))


def test_differentiable_fid_agrees_with_numpy():
    rng = np.random.default_rng(6)
    f1, f2 = rng.standard_normal((40, 5)), 0.7 * rng.standard_normal((30, 5)) + 0.3
    value = fid_differentiable(t64(f1), t64(f2))
    assert value.item() == pytest.approx(fid_from_features(f1, f2), rel=1e-9)
    g1, g2 = rng.standard_normal((4, 9)), rng.standard_normal((6, 9))   # singular
    assert fid_differentiable(t64(g1), t64(g2)).item() == pytest.approx(
        fid_from_features(g1, g2, method="eigh"), rel=1e-8)


def test_differentiable_fid_gradcheck_wrt_features():
    rng = np.random.default_rng(7)
    f1, f2 = t64(rng.standard_normal((6, 3))), t64(rng.standard_normal((5, 3)) + 0.5)
    assert mg.gradcheck(fid_differentiable, (f1, f2))
    assert mg.gradgradcheck(fid_differentiable, (f1, f2))


def test_differentiable_frechet_gradcheck_wrt_statistics():
    rng = np.random.default_rng(8)
    mu1, mu2 = t64(rng.standard_normal(3)), t64(rng.standard_normal(3))
    s1, s2 = t64(random_spd(3, rng, shift=0.5)), t64(random_spd(3, rng, shift=0.5))
    assert mg.gradcheck(frechet_distance_differentiable, (mu1, s1, mu2, s2))
    value = frechet_distance_differentiable(mu1, s1, mu2, s2).item()
    assert value == pytest.approx(frechet_distance(mu1.numpy(), s1.numpy(), mu2.numpy(),
                                                   s2.numpy()), rel=1e-9)


def test_matrix_sqrt_ops_gradcheck_and_gradgradcheck(device):
    """SqrtmPSD, Sylvester and TraceSqrtm on the device under test: their defining
    equations, their results on that device, and gradients to second order."""
    rng = np.random.default_rng(9)
    s = t64(random_spd(3, rng, shift=0.5), device=device)
    t = t64(random_spd(3, rng, shift=0.5), device=device)
    g = t64(rng.standard_normal((3, 3)), device=device)   # sylvester's right side: any matrix
    y = sqrtm_psd(s)
    np.testing.assert_allclose((y @ y).numpy(), s.numpy(), atol=1e-10)
    z = sylvester(s, g)
    np.testing.assert_allclose((s @ z + z @ s).numpy(), g.numpy(), atol=1e-10)
    r = np.linalg.eigvals(s.numpy() @ t.numpy())          # real and positive for SPD s, t
    assert trace_sqrtm(s, t).item() == pytest.approx(np.sqrt(r.real).sum(), rel=1e-12)
    assert y.device == z.device == trace_sqrtm(s, t).device == device
    for fn, inputs in ((sqrtm_psd, (s,)), (sylvester, (s, g)), (trace_sqrtm, (s, t))):
        assert mg.gradcheck(fn, inputs)
        assert mg.gradgradcheck(fn, inputs)


def test_trace_sqrtm_gradient_is_half_the_transport_map(device):
    """dTr(S1 S2)^(1/2)/dS1 = T/2 with T S1 T = S2 (the Gaussian optimal-transport map)."""
    rng = np.random.default_rng(10)
    s1 = t64(random_spd(4, rng, shift=0.5), device=device)
    s2 = t64(random_spd(4, rng, shift=0.5), device=device)
    (g1,) = mg.grad(trace_sqrtm(s1, s2), [s1])
    assert g1.device == device
    T = 2 * g1.numpy()
    np.testing.assert_allclose(T @ s1.numpy() @ T, s2.numpy(), atol=1e-8)


# ---------------------------------------------------------------- Inception Score
def test_inception_score_uniform_is_one_and_confident_is_k():
    assert inception_score(np.full((100, 10), 0.1))[0] == pytest.approx(1.0)
    for k in (2, 5, 10):
        probs = np.eye(k)[np.arange(200) % k]       # every split holds each class equally
        mean, std = inception_score(probs, splits=10)
        assert mean == pytest.approx(k, rel=1e-6) and std < 1e-6
    collapsed = np.eye(10)[np.zeros(100, int)]       # confident but all one class
    assert inception_score(collapsed)[0] == pytest.approx(1.0)


def test_inception_score_rejects_logits():
    with pytest.raises(ValueError, match="probability"):
        inception_score(np.random.default_rng(0).standard_normal((10, 3)))


@pytest.mark.parametrize("splits", [2.5, 0, 11, True])
def test_inception_score_refuses_splits_that_are_not_a_whole_number_in_range(splits):
    with pytest.raises(ValueError, match=rf"inception_score: splits must be a whole number "
                                         rf"in 1..N=10, got {splits}"):
        inception_score(np.full((10, 2), 0.5), splits=splits)


# ---------------------------------------------------------------- KID
def test_kid_is_unbiased_for_the_same_distribution():
    """Over R independent pairs of draws from one distribution, the mean of the unbiased
    MMD^2 must be within 4 standard errors (std / sqrt(R)) of zero; the biased estimator
    (diagonal terms kept) is off by many standard errors, so the test can fail."""
    rng = np.random.default_rng(11)
    reps, m, d = 300, 40, 6
    values, biased = [], []
    for _ in range(reps):
        x, y = rng.standard_normal((m, d)), rng.standard_normal((m, d))
        values.append(kid(x, y, num_subsets=1, subset_size=m)[0])
        kxx = (x @ x.T / d + 1) ** 3
        kyy = (y @ y.T / d + 1) ** 3
        biased.append(kxx.mean() + kyy.mean() - 2 * ((x @ y.T / d + 1) ** 3).mean())
    values = np.asarray(values)
    stderr = values.std(ddof=1) / np.sqrt(reps)
    assert abs(values.mean()) < 4 * stderr
    assert np.mean(biased) > 10 * stderr
    shifted = kid(rng.standard_normal((200, d)), rng.standard_normal((200, d)) + 0.5,
                  num_subsets=10, subset_size=100)[0]
    assert shifted > 10 * stderr


def test_kid_refuses_nan_features_and_no_subsets():
    rng = np.random.default_rng(13)
    x, y = rng.standard_normal((20, 4)), rng.standard_normal((20, 4))
    bad = x.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="kid: features contain NaN or inf"):
        kid(bad, y, num_subsets=2, subset_size=10)
    with pytest.raises(ValueError, match="kid: features contain NaN or inf"):
        kid(x, np.where(y == y.max(), np.inf, y), num_subsets=2, subset_size=10)
    with pytest.raises(ValueError, match="fid_from_features|NaN"):   # as FID does
        fid_from_features(bad, y)
    for subsets in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match=r"kid: num_subsets must be an int >= 1"):
            kid(x, y, num_subsets=subsets, subset_size=10)
    assert np.isfinite(kid(x, y, num_subsets=1, subset_size=10)).all()


def test_mmd_matches_its_definition():
    rng = np.random.default_rng(12)
    x, y = rng.standard_normal((5, 3)), rng.standard_normal((5, 3))
    k = lambda a, b: (a @ b / 3 + 1) ** 3  # noqa: E731
    within = sum(k(x[i], x[j]) + k(y[i], y[j]) for i in range(5) for j in range(5) if i != j)
    cross = sum(k(x[i], y[j]) for i in range(5) for j in range(5))
    assert mmd2_unbiased(x, y) == pytest.approx(within / 20 - 2 * cross / 25)


# ---------------------------------------------------------------- precision / recall
def _clusters(rng, n, centres):
    labels = rng.integers(0, len(centres), n)
    return centres[labels] + 0.3 * rng.standard_normal((n, centres.shape[1]))


def test_precision_recall_identical_sets_and_a_missing_mode():
    rng = np.random.default_rng(13)
    centres = np.array([[0.0, 0, 0], [6, 0, 0], [0, 6, 0]])
    real = _clusters(rng, 600, centres)
    assert precision_recall(real, real, k=3) == (1.0, 1.0)
    p_full, r_full = precision_recall(real, _clusters(rng, 600, centres))
    p_missing, r_missing = precision_recall(real, _clusters(rng, 600, centres[:2]))
    assert p_full > 0.9 and r_full > 0.9
    assert p_missing > 0.9                              # what it makes is still realistic
    assert r_missing < r_full - 0.2                     # but a third of the data is missed
    assert r_missing == pytest.approx(2 / 3, abs=0.08)


def test_precision_recall_refuses_bad_k_and_nan_features():
    """k = 0 or -1 returned (1.0, 1.0) or (0.0, 0.0); NaN features a number, where FID and
    KID refuse them."""
    rng = np.random.default_rng(16)
    real, fake = rng.standard_normal((20, 4)), rng.standard_normal((20, 4))
    for k in (0, -1, 2.5):
        with pytest.raises(ValueError, match=rf"precision_recall: k must be a whole number "
                                             rf">= 1, got {k}"):
            precision_recall(real, fake, k=k)
    with pytest.raises(ValueError, match="precision_recall: each set needs more than k=20"):
        precision_recall(real, fake, k=20)
    bad = real.copy()
    bad[2, 3] = np.nan
    for a, b in ((bad, fake), (fake, bad), (real, np.where(fake > 1, np.inf, fake))):
        with pytest.raises(ValueError, match="precision_recall: features contain NaN or inf"):
            precision_recall(a, b)


# ---------------------------------------------------------------- mode coverage
def test_mode_coverage_from_labels_and_probs():
    even = mode_coverage(np.arange(100) % 10)
    assert even["covered"] == 10 and even["kl_uniform"] == pytest.approx(0.0)
    one = mode_coverage(np.eye(10)[np.full(50, 3)])    # probabilities, all class 3
    assert one["covered"] == 1 and one["kl_uniform"] == pytest.approx(np.log(10))
    assert one["histogram"][3] == 50
    with pytest.raises(ValueError, match="0..9"):
        mode_coverage(np.array([10]))
    # a collapsed generator whose 3s the classifier reads as 5 or 8 a few times
    labels = np.array([3] * 495 + [5] * 3 + [8] * 2)
    assert mode_coverage(labels)["covered"] == 1          # 3 < 10% of the fair share 50
    assert mode_coverage(labels, min_fraction=0)["covered"] == 3


def test_mode_coverage_refuses_empty_and_non_integer_labels():
    for empty in ([], np.zeros((0, 10))):
        with pytest.raises(ValueError, match=r"mode_coverage: no predictions \(shape \(0,"):
            mode_coverage(empty)
    with pytest.raises(ValueError, match="mode_coverage: labels \\(N,\\) must be integers, "
                                         "got dtype float64"):
        mode_coverage(np.array([1.7, 2.2, 3.0]))           # was truncated to 1, 2, 3
    assert mode_coverage(np.array([1, 2, 3], dtype=np.uint8))["covered"] == 3


# ---------------------------------------------------------------- SSIM and diversity
def _naive_ssim(x, y, window=11, sigma=1.5):
    """SSIM by explicit windows: the oracle for the separable implementation."""
    g = np.exp(-((np.arange(window) - window // 2) ** 2) / (2 * sigma ** 2))
    w = np.outer(g, g) / np.outer(g, g).sum()
    c1, c2, values = 0.01 ** 2, 0.03 ** 2, []
    for i in range(x.shape[0] - window + 1):
        for j in range(x.shape[1] - window + 1):
            a, b = x[i:i + window, j:j + window], y[i:i + window, j:j + window]
            ma, mb = (w * a).sum(), (w * b).sum()
            va, vb = (w * a * a).sum() - ma ** 2, (w * b * b).sum() - mb ** 2
            cov = (w * a * b).sum() - ma * mb
            values.append((2 * ma * mb + c1) * (2 * cov + c2)
                          / ((ma ** 2 + mb ** 2 + c1) * (va + vb + c2)))
    return np.mean(values)


def test_ssim_identity_oracle_and_value_range():
    rng = np.random.default_rng(14)
    x, y = rng.uniform(0, 1, (14, 13)), rng.uniform(0, 1, (14, 13))
    assert ssim(x, x, value_range=(0, 1)) == pytest.approx(1.0)
    assert ssim(x, y, value_range=(0, 1)) == pytest.approx(_naive_ssim(x, y), rel=1e-10)
    # the same images stored in [-1, 1] (the default range) give the same SSIM
    assert ssim(2 * x - 1, 2 * y - 1) == pytest.approx(ssim(x, y, value_range=(0, 1)))
    batch = rng.uniform(-1, 1, (3, 1, 28, 28))
    np.testing.assert_allclose(ssim(batch, batch), 1.0)


def test_diversity_collapse_vs_noise():
    rng = np.random.default_rng(15)
    same = np.repeat(rng.uniform(-1, 1, (1, 1, 20, 20)), 10, axis=0)
    assert diversity(same) == pytest.approx(1.0)
    noise = rng.uniform(-1, 1, (80, 20, 20))           # 3160 pairs > max_pairs: sampled
    assert diversity(noise, max_pairs=500) < 0.1


@pytest.mark.parametrize("max_pairs", [0, -5, 2.5])
def test_diversity_refuses_max_pairs_below_one(max_pairs):
    with pytest.raises(ValueError, match=rf"diversity: max_pairs must be a whole number >= 1, "
                                         rf"got {max_pairs}"):
        diversity(np.zeros((4, 16, 16)), max_pairs=max_pairs)


def test_matrix_functions_refuse_non_square_and_mismatched_matrices():
    from gans.metrics.sqrtm import trace_sqrt_product

    eye3 = np.eye(3)
    with pytest.raises(ValueError, match=r"trace_sqrt_product: expected a square matrix "
                                         r"\(d, d\), got shape \(2, 3\)"):
        trace_sqrt_product(eye3[:2], eye3)
    with pytest.raises(ValueError, match=r"trace_sqrt_product: the matrices must have the "
                                         r"same shape, got \(3, 3\), \(2, 2\)"):
        trace_sqrt_product(eye3, np.eye(2))
    assert float(trace_sqrt_product(eye3, 4 * eye3)) == pytest.approx(6.0)
    mu = t64(np.zeros(3))
    with pytest.raises(ValueError, match=r"frechet_distance_differentiable: expected a square "
                                         r"matrix \(d, d\), got shape \(2, 3\)"):
        frechet_distance_differentiable(mu, t64(eye3[:2]), mu, t64(eye3))
    with pytest.raises(ValueError, match=r"frechet_distance_differentiable: the means must "
                                         r"be vectors of length 3 to match the covariances, "
                                         r"got shapes \(3,\) and \(2,\)"):
        frechet_distance_differentiable(mu, t64(eye3), t64(np.zeros(2)), t64(eye3))


# ---------------------------------------------------------------- the shipped classifier
def test_shipped_classifier_reaches_its_stated_accuracy():
    from gans.metrics.classifier import WEIGHTS, accuracy, load_classifier, shipped_digits

    assert WEIGHTS.stat().st_size < 2 * 1024 * 1024
    model = load_classifier()
    images, labels = shipped_digits("test")             # the 2,000 held-out digits
    measured = accuracy(model, images, labels)
    assert measured >= 0.97
    assert measured == pytest.approx(model.meta["held_out_accuracy"], abs=1e-6)


def test_loading_the_classifier_leaves_minigrads_random_stream_alone(tmp_path):
    # Building the network draws its initial weights, which the checkpoint overwrites: a
    # training run that evaluates must draw the same numbers as one that does not (and a
    # resumed run as an uninterrupted one), so the draws happen under fork_rng
    import shutil

    from gans.metrics.classifier import WEIGHTS, load_classifier

    copy = tmp_path / "classifier.npz"                   # a new path: not the cached model
    shutil.copy(WEIGHTS, copy)
    mg.manual_seed(3)
    expected = mg.randn(4).numpy()
    mg.manual_seed(3)
    load_classifier(copy)
    np.testing.assert_array_equal(mg.randn(4).numpy(), expected)


def test_fork_rng_restores_the_generator_after_the_block_even_on_error():
    mg.manual_seed(5)
    expected = mg.rand(3).numpy()
    mg.manual_seed(5)
    with pytest.raises(KeyError):
        with mg.backend.fork_rng():
            mg.randn(100)
            raise KeyError("inside")
    np.testing.assert_array_equal(mg.rand(3).numpy(), expected)


def test_load_classifier_names_the_file_that_is_not_a_classifier(tmp_path):
    from gans.metrics.classifier import load_classifier

    other = tmp_path / "other.npz"
    np.savez(other, a=np.arange(3))
    with pytest.raises(ValueError, match="other.npz is not an MNIST classifier checkpoint"):
        load_classifier(other)
    wrong = tmp_path / "wrong.npz"
    mg.save({"state_dict": {"w": np.zeros(3)}}, wrong)
    with pytest.raises(ValueError, match="wrong.npz does not hold this classifier"):
        load_classifier(wrong)


def test_feature_net_refuses_a_batch_size_below_one():
    from gans.metrics.evaluate import feature_net

    for size in (0, -1):
        with pytest.raises(ValueError, match=f"batch_size must be at least 1, got {size}"):
            feature_net("mnist", batch_size=size)


def test_mnist_feature_net_resizes_every_image_layout_to_28():
    """The docstring's promise: uint8 or float, (N, H, W) or (N, 1, H, W), any size."""
    from gans.data import to_float_images
    from gans.metrics.classifier import shipped_digits
    from gans.metrics.evaluate import feature_net

    net = feature_net("mnist")
    images, labels = shipped_digits("test")
    images, labels = images[:100], labels[:100]
    big = mg.nn.functional.interpolate(mg.tensor(to_float_images(images)), size=(64, 64),
                                       mode="bilinear", align_corners=False).numpy()
    big_uint8 = np.clip(np.rint((big[:, 0] + 1.0) * 127.5), 0, 255).astype(np.uint8)
    reference = net(big)                                        # float (N, 1, 64, 64)
    assert reference.images.shape == (100, 1, 28, 28)
    assert (reference.probs.argmax(1) == labels).mean() >= 0.9
    np.testing.assert_array_equal(net(big[:, 0]).features, reference.features)
    from_uint8 = net(to_float_images(big_uint8))
    for layout in (big_uint8, big_uint8[:, None]):                # (N, 64, 64), (N, 1, ...)
        got = net(layout)
        assert got.images.shape == (100, 1, 28, 28)
        np.testing.assert_array_equal(got.features, from_uint8.features)
    np.testing.assert_array_equal(net(images).features, net(images[:, None]).features)


def test_classifier_features_feed_differentiable_fid():
    """Gradients flow from MNIST-FID through the classifier into the images."""
    from gans.metrics.classifier import load_classifier, shipped_digits

    model = load_classifier()
    images, _ = shipped_digits("test")
    real = mg.tensor(images[:16].astype(np.float32) / 127.5 - 1)[:, None]
    fake = mg.tensor(np.random.default_rng(0).uniform(-1, 1, (16, 1, 28, 28)).astype(
        np.float32), requires_grad=True)
    fid = fid_differentiable(model.features(real), model.features(fake), eps=1e-6)
    (grad,) = mg.grad(fid, [fake])
    assert grad.shape == fake.shape and np.isfinite(grad.numpy()).all()
    assert np.abs(grad.numpy()).sum() > 0


# ---------------------------------------------------------------- evaluate command and hook
def _tiny_checkpoint(tmp_path, with_config: bool):
    from gans.models import build

    mg.manual_seed(0)
    G, _ = build("dcgan", 28, 8, width=4)
    state = {"G": G.state_dict()}
    if with_config:
        state["config"] = json.dumps({"model": "dcgan", "z_dim": 8, "image_size": 28,
                                      "width": 4})
    path = tmp_path / "ckpt.npz"
    mg.save(state, path)
    return path


@pytest.mark.parametrize("with_config", [True, False])
def test_evaluate_command_prints_a_table(tmp_path, capsys, with_config):
    from gans.__main__ import main

    path = _tiny_checkpoint(tmp_path, with_config)
    extra = [] if with_config else ["--z-dim", "8", "--width", "4"]
    out_json = tmp_path / "r.json"
    code = main(["evaluate", "--checkpoint", str(path), "--num-samples", "200",
                 "--metrics", "fid,is,kid,pr,modes,diversity", "--device", "cpu",
                 "--offline", "--json", str(out_json)] + extra)
    assert code == 0
    text = capsys.readouterr().out
    for row in ("FID", "Inception Score", "KID", "precision", "recall",
                "modes covered", "mean pairwise SSIM"):
        assert row in text
    results = json.loads(out_json.read_text())
    assert results["fid"] > 0 and 1 <= results["is_mean"] <= 10


def test_training_eval_hook_logs_fid_and_modes(tmp_path):
    from gans.data import load_mnist
    from gans.training import TrainConfig, Trainer

    images, _ = load_mnist(split="train", download=False, verbose=False)
    config = TrainConfig(model="dcgan", width=4, z_dim=8, batch_size=16, max_steps=2,
                         eval_every=1, out=str(tmp_path), progress=False,
                         checkpoint_every=1000)
    trainer = Trainer(config, images[:64])              # 4 steps per epoch; stops at 2
    trainer.train()
    lines = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    evals = [line for line in lines if "mnist_fid" in line]
    assert len(evals) == 1 and evals[0]["step"] == 2
    assert evals[0]["mnist_fid"] > 0 and 1 <= evals[0]["modes_covered"] <= 10
    assert (tmp_path / "eval_metrics.png").exists()


def test_evaluate_generate_refuses_no_samples():
    from gans.metrics.evaluate import generate

    G = mg.nn.Linear(4, 4)
    for num, batch_size in ((0, 500), (8, 0)):
        with pytest.raises(ValueError, match=rf"generate: num and batch_size must be at least "
                                             rf"1, got num {num}, batch_size {batch_size}"):
            generate(G, num, z_dim=4, batch_size=batch_size)
    assert generate(G, 3, z_dim=4).shape == (3, 4) and G.training
