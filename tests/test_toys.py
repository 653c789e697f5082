"""The toy GANs of gans/toys: Dirac-GAN, the bilinear game, 2-D mixtures, the pixel baseline.

The Dirac-GAN and bilinear tests check the qualitative results of the course numerically
(Mescheder et al. 2018); the mixture test trains the WGAN-GP of the example (~1 minute).
"""
import math

import numpy as np
import pytest
from scipy import integrate
from scipy.special import expit as sigmoid

from gans import losses
from gans.toys import baseline, bilinear, dirac, mixtures


# ------------------------------------------------------------------ Dirac-GAN
POINTS = [(1.0, 0.5), (-0.7, 2.0)]


def _by_hand(name, theta, psi):
    """The vector fields of the table in gans/toys/dirac.py, written out."""
    t = theta * psi
    if name == "minimax":
        return sigmoid(t) * psi, -sigmoid(t) * theta
    if name == "nonsaturating":
        return sigmoid(-t) * psi, -sigmoid(t) * theta
    if name == "wgan":
        return psi, -theta
    if name == "wgan-gp":                                  # lambda = 1
        return psi, -theta - 2.0 * (abs(psi) - 1.0) * math.copysign(1.0, psi)
    if name in ("r1", "r2"):                               # gamma = 1
        return sigmoid(t) * psi, -sigmoid(t) * theta - psi
    raise KeyError(name)


@pytest.mark.parametrize("name", ["minimax", "nonsaturating", "wgan", "wgan-gp", "r1", "r2"])
@pytest.mark.parametrize("point", POINTS)
def test_dirac_vector_field_by_hand(name, point):
    v = dirac.vector_field(point[0], point[1], name)
    np.testing.assert_allclose(v, _by_hand(name, *point), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("point", POINTS)
def test_dirac_instance_noise_field_is_the_expectation(point):
    """With noise e ~ N(0, sigma^2) on real and fake samples, the minimax field is
    v_theta = E s(psi (theta + e)) psi,  v_psi = E[e s(-psi e) - (theta + e) s(psi (theta + e))];
    the library's default quadrature (32 Gauss-Hermite nodes) against scipy's adaptive
    integral."""
    theta, psi, sigma = point[0], point[1], 1.0

    def expect(f):
        def weighted(e):
            return f(e) * math.exp(-0.5 * (e / sigma) ** 2) / (sigma * math.sqrt(2 * math.pi))
        return integrate.quad(weighted, -12, 12, epsabs=1e-12)[0]

    v_theta = expect(lambda e: sigmoid(psi * (theta + e)) * psi)
    v_psi = expect(lambda e: e * sigmoid(-psi * e) - (theta + e) * sigmoid(psi * (theta + e)))
    got = dirac.vector_field(theta, psi, "instance-noise")
    np.testing.assert_allclose(got, (v_theta, v_psi), atol=1e-6)


def _noise_field_by_hand(theta, psi, sigma, k=120):
    """The instance-noise field by a k-point Gauss-Hermite rule in plain numpy."""
    e, w = np.polynomial.hermite_e.hermegauss(k)
    e, w = sigma * e, w / w.sum()
    fake = theta + e
    return (np.sum(w * sigmoid(psi * fake) * psi),
            np.sum(w * (e * sigmoid(-psi * e) - fake * sigmoid(psi * fake))))


@pytest.mark.parametrize("theta, psi, sigma", [(0.7, 0.9, 1.0), (-1.5, 1.2, 1.0),
                                               (0.3, -2.0, 0.5), (2.0, 0.4, 2.0)])
def test_dirac_instance_noise_matches_a_high_order_rule(theta, psi, sigma):
    """32 Gauss-Hermite nodes against 120. (32 equally weighted quantile points have a
    variance of 0.961 sigma^2, not sigma^2: at (0.7, 0.9) their v_psi was -0.8046, the
    expectation is -0.8131.)"""
    got = dirac.vector_field(theta, psi, "instance-noise", noise=sigma)
    np.testing.assert_allclose(got, _noise_field_by_hand(theta, psi, sigma), atol=1e-6)


@pytest.mark.parametrize("name", ["r1", "instance-noise"])
def test_dirac_vector_field_is_vectorised(name):
    theta, psi = np.meshgrid(np.linspace(-1, 1, 4), np.linspace(-2, 2, 3))
    v_theta, v_psi = dirac.vector_field(theta, psi, name)
    assert v_theta.shape == theta.shape
    for i in range(3):
        for j in range(4):
            single = dirac.vector_field(theta[i, j], psi[i, j], name)
            np.testing.assert_allclose((v_theta[i, j], v_psi[i, j]), single, rtol=1e-12)


def test_dirac_minimax_simultaneous_moves_away():
    """The continuous flow keeps theta^2 + psi^2; each simultaneous step multiplies it by
    1 + lr^2 s(t)^2 > 1: the distance to (0, 0) never falls and ends larger."""
    path = dirac.trajectory("minimax", start=(1.0, 1.0), lr=0.3, steps=300)
    d = dirac.distance_to_equilibrium(path)
    assert np.all(np.diff(d) >= 0)
    assert d[-1] > 1.2 * d[0]


def test_dirac_wgan_simultaneous_grows_by_sqrt_1_plus_lr2():
    """Without clipping the WGAN field is the rotation (psi, -theta): the bilinear game."""
    lr = 0.1
    d = dirac.distance_to_equilibrium(dirac.trajectory("wgan", lr=lr, steps=100, clip=0.0))
    np.testing.assert_allclose(d[1:] / d[:-1], math.sqrt(1 + lr ** 2), rtol=1e-12)


@pytest.mark.parametrize("name, mode", [
    ("nonsaturating", "simultaneous"), ("wgan", "simultaneous"), ("wgan", "alternating"),
    ("wgan-gp", "simultaneous"), ("wgan-gp", "alternating")])
def test_dirac_unregularised_methods_do_not_converge(name, mode):
    """From (1, 1) with lr = 0.1 the distance to (0, 0) stays above 0.25 for ever (checked
    over steps 300-400: the orbits have settled by then, see examples/dirac_gan.py).
    The non-saturating loss with alternating steps creeps inwards: see below."""
    d = dirac.distance_to_equilibrium(dirac.trajectory(name, lr=0.1, steps=400, mode=mode))
    assert d[-100:].min() > 0.25


def test_dirac_nonsaturating_simultaneous_settles_on_a_limit_cycle():
    """The flow pulls inwards, d(r^2/2)/dt = -t tanh(t/2) <= 0 with t = psi theta ~ r^2,
    a simultaneous step pushes r^2 out by a factor ~ 1 + lr^2/4: they balance at
    r ~ sqrt(2 lr), 0.45 for lr = 0.1. From inside (r = 0.28) the distance grows to it, from
    outside (r = 2.8) it falls to it, and there it stays: bounded, and not converging."""
    lr = 0.1
    path = dirac.trajectory("nonsaturating", start=[[0.2, 0.2], [2.0, 2.0]], lr=lr,
                            steps=1500)
    d = dirac.distance_to_equilibrium(path)                       # (1501, 2)
    assert d[:, 0].max() < 0.5 and d[:, 1].max() <= d[0, 1]      # bounded
    late = d[-300:] / math.sqrt(2 * lr)
    assert np.all(np.abs(late - 1.0) < 0.08)                      # on the cycle, both


def test_dirac_nonsaturating_alternating_creeps_inwards_like_the_flow():
    """Alternating steps follow the continuous flow, which near (0, 0) gives
    d(r^2)/dt ~ -r^4 / 8 (averaged over a turn): r(n)^2 = 1 / (1 / r0^2 + lr n / 8)
    after n steps. It converges, but only like sqrt(8 / (lr n))."""
    lr = 0.1
    d = dirac.distance_to_equilibrium(
        dirac.trajectory("nonsaturating", lr=lr, steps=1000, mode="alternating"))
    n = np.array([500, 1000])
    flow = 1.0 / np.sqrt(1.0 / d[0] ** 2 + lr * n / 8)
    np.testing.assert_allclose(d[n], flow, rtol=0.05)


@pytest.mark.parametrize("name, mode, steps", [
    ("r1", "simultaneous", 300), ("r1", "alternating", 300), ("r2", "simultaneous", 300),
    ("instance-noise", "simultaneous", 500)])
def test_dirac_regularised_methods_converge(name, mode, steps):
    """R1/R2 with gamma = 1, lr = 0.1 from (1, 1): below 1e-3 within 300 steps (the
    double eigenvalue -1/2 of the Jacobian: the distance falls like (1 - lr/2)^n);
    instance noise (sigma = 1) converges more slowly: 500 steps."""
    d = dirac.distance_to_equilibrium(dirac.trajectory(name, lr=0.1, steps=steps, mode=mode))
    assert d[-1] < 1e-3


def test_dirac_r1_gamma_is_a_parameter():
    weak = dirac.trajectory("r1", steps=100, weight=0.1)
    strong = dirac.trajectory("r1", steps=100, weight=1.0)
    assert dirac.distance_to_equilibrium(weak)[-1] > dirac.distance_to_equilibrium(strong)[-1]


def test_dirac_wgan_clipping_keeps_psi_in_range():
    path = dirac.trajectory("wgan", start=(1.5, 0.5), steps=300, clip=0.5)
    assert np.abs(path[:, 1]).max() <= 0.5 + 1e-12


def test_dirac_many_starts_run_together():
    starts = np.array([[1.0, 1.0], [-0.5, 0.3], [0.2, -1.5]])
    together = dirac.trajectory("wgan-gp", start=starts, steps=50, mode="alternating")
    assert together.shape == (51, 3, 2)
    for i, start in enumerate(starts):
        alone = dirac.trajectory("wgan-gp", start=start, steps=50, mode="alternating")
        np.testing.assert_allclose(together[:, i], alone, rtol=1e-12, atol=1e-15)


def test_dirac_rejects_unknown_names():
    with pytest.raises(ValueError, match="unknown Dirac-GAN method"):
        dirac.trajectory("nope")
    with pytest.raises(ValueError, match="mode"):
        dirac.trajectory("r1", mode="sideways")
    with pytest.raises(ValueError, match="noise_nodes"):
        dirac.vector_field(0.5, 0.5, "instance-noise", noise_nodes=0)


# ------------------------------------------------------------------ bilinear game
@pytest.mark.parametrize("lr", [0.05, 0.2, 0.5])
def test_bilinear_simultaneous_radius_grows_by_sqrt_1_plus_lr2(lr):
    r = bilinear.radius(bilinear.trajectory((1.0, 0.5), lr, 100, "simultaneous"))
    np.testing.assert_allclose(r[1:] / r[:-1], math.sqrt(1 + lr * lr), rtol=1e-12)


@pytest.mark.parametrize("lr", [0.05, 0.2, 0.5])
def test_bilinear_alternating_orbits_within_the_bound(lr):
    start = (1.0, 0.5)
    path = bilinear.trajectory(start, lr, 2000, "alternating")
    r = bilinear.radius(path)
    bound = bilinear.alternating_radius_bound(start, lr)
    assert r.max() <= bound * (1 + 1e-9)
    assert r.min() >= math.sqrt(bilinear.invariant(*start, lr) / (1 + lr / 2)) * (1 - 1e-9)
    q = bilinear.invariant(path[:, 0], path[:, 1], lr)
    np.testing.assert_allclose(q, q[0], rtol=1e-9)


def test_bilinear_gradients_by_minigrad():
    assert bilinear.gradients(2.0, -3.0) == (-3.0, 2.0)


# ------------------------------------------------------------------ mixture metrics
def _at(centers, n_per_mode, std, rng, scale=1.0):
    return np.concatenate([c + scale * std * rng.standard_normal((n_per_mode, 2))
                           for c in centers])


@pytest.mark.parametrize("mixture", [mixtures.ring(), mixtures.grid()],
                         ids=["ring", "grid"])
def test_metrics_all_modes(mixture):
    rng = np.random.default_rng(0)
    points = _at(mixture.centers, 40, mixture.std, rng, scale=0.5)    # all within 3 std
    m = mixtures.mode_metrics(points, mixture.centers, mixture.std, min_count=20)
    assert m["modes"] == m["n_modes"] == len(mixture.centers)
    assert m["high_quality"] == 1.0
    assert (m["counts"] == 40).all()


def test_metrics_one_mode():
    ring = mixtures.ring()
    points = _at(ring.centers[3:4], 500, ring.std, np.random.default_rng(1), scale=0.5)
    m = mixtures.mode_metrics(points, ring.centers, ring.std)
    assert m["modes"] == 1 and m["high_quality"] == 1.0
    assert m["counts"][3] == 500


def test_metrics_off_mode_points():
    ring = mixtures.ring()
    rng = np.random.default_rng(2)
    midpoints = (ring.centers + np.roll(ring.centers, 1, axis=0)) / 2   # between modes
    off = np.concatenate([np.zeros((100, 2)), _at(midpoints, 50, 0.02, rng)])
    m = mixtures.mode_metrics(off, ring.centers, ring.std)
    assert m["modes"] == 0 and m["high_quality"] == 0.0
    # half on one mode, half off: 50% high quality, one mode
    on = _at(ring.centers[:1], len(off), ring.std, rng, scale=0.5)
    m = mixtures.mode_metrics(np.concatenate([on, off]), ring.centers, ring.std)
    assert m["modes"] == 1 and m["high_quality"] == pytest.approx(0.5)


def test_metrics_three_std_boundary_and_min_count():
    ring = mixtures.ring()
    c, std = ring.centers[0], ring.std
    inside = c + np.array([[2.9 * std, 0.0]])
    outside = c + np.array([[3.1 * std, 0.0]])
    assert mixtures.mode_metrics(inside, ring.centers, std)["high_quality"] == 1.0
    assert mixtures.mode_metrics(outside, ring.centers, std)["high_quality"] == 0.0
    few = np.repeat(inside, 5, axis=0)
    assert mixtures.mode_metrics(few, ring.centers, std, min_count=5)["modes"] == 1
    assert mixtures.mode_metrics(few, ring.centers, std, min_count=6)["modes"] == 0


def test_mixture_data():
    ring, grid = mixtures.ring(), mixtures.grid()
    np.testing.assert_allclose(np.linalg.norm(ring.centers, axis=1), 2.0)
    assert sorted(set(grid.centers.ravel())) == [-4.0, -2.0, 0.0, 2.0, 4.0]
    x = ring.sample(4000, np.random.default_rng(0))
    m = mixtures.mode_metrics(x, ring.centers, ring.std, min_count=400)
    assert m["modes"] == 8 and m["high_quality"] > 0.98    # 3 std in 2-D holds 98.9%


def test_frame_is_drawn(tmp_path):
    config = mixtures.ToyConfig(hidden=16, depth=1)
    G, D = mixtures.build(config)
    path = mixtures.draw_frame(G, D, mixtures.ring(), losses.wgan,
                               tmp_path / "frame.png", config=config, n_fake=100)
    assert path.stat().st_size > 1000
    push = mixtures.generator_push(D, losses.wgan,
                                   np.zeros((3, 2), np.float32))
    assert push.shape == (3, 2)


def test_snapshots_do_not_change_the_training():
    """Looking at G every 5 steps or only at the end trains the same G (the snapshots draw
    their latents from a generator of their own)."""
    import dataclasses

    base = mixtures.ToyConfig(hidden=16, depth=1, steps=20, eval_samples=50)
    weights = []
    for every in (5, 20):
        result = mixtures.train(dataclasses.replace(base, snapshot_every=every))
        weights.append([p.numpy().copy() for p in result.G.parameters()])
        assert [s.step for s in result.snapshots][-1] == 20
    for a, b in zip(*weights):
        np.testing.assert_array_equal(a, b)


@pytest.mark.slow
def test_wgan_gp_ring_captures_all_modes():
    """The example's configuration (mixtures.WGAN_GP_RING), seed 0, CPU: 8/8 modes with
    at least 20 of 2500 samples each, and at least 70% high-quality samples."""
    config = mixtures.WGAN_GP_RING
    result = mixtures.train(config)
    final = result.snapshots[-1]
    assert final.step == config.steps and len(final.fake) == 2500
    ring = mixtures.ring()
    strict = mixtures.mode_metrics(final.fake, ring.centers, ring.std, min_count=20)
    assert strict["modes"] == 8, strict
    assert strict["high_quality"] >= 0.70, strict
    assert final.metrics["modes"] == 8                      # config.min_count is 20


# ------------------------------------------------------------------ pixel baseline
def test_pixel_gaussian_samples_the_class_asked_for_and_refuses_others():
    """Fitted on classes {0, 2, 4}: label 2 samples class 2's model; label 1 (between two
    fitted classes) and 5 (past the last) are refused, not mapped to a neighbour."""
    rng = np.random.default_rng(0)
    images = np.concatenate([np.full((5, 4, 4), value, np.uint8) for value in (0, 128, 255)])
    labels = np.repeat([0, 2, 4], 5)
    model = baseline.PixelGaussian().fit(images, labels)
    for label, level in ((0, -1.0), (2, 128 / 127.5 - 1.0), (4, 1.0)):
        np.testing.assert_allclose(model.sample(3, label=np.int64(label), rng=rng), level,
                                   atol=1e-6)
    for label in (1, 5, -1):
        with pytest.raises(ValueError, match=rf"label {label} is not one of the fitted "
                                             r"classes \[0, 2, 4\]"):
            model.sample(3, label=label)
    with pytest.raises(ValueError, match="without labels"):
        baseline.PixelGaussian().fit(images).sample(3, label=0)
