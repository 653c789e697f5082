"""gans.latent: interpolation, latent arithmetic, GAN inversion and morphing (MLP G, no conv)."""
import numpy as np
import pytest

import minigrad as mg
import minigrad.nn as nn
from gans import latent

Z_DIM = 6


def _generator():
    """A small fixed (untrained) generator: z (N, 6) -> images (N, 1, 8, 8) in (-1, 1)."""
    mg.manual_seed(3)
    return nn.Sequential(nn.Linear(Z_DIM, 32), nn.Tanh(), nn.Linear(32, 64), nn.Tanh(),
                         nn.Unflatten(1, (1, 8, 8)))


# ------------------------------------------------------------------ lerp / slerp
def test_slerp_endpoints_and_norms():
    rng = np.random.default_rng(0)
    z0, z1 = rng.standard_normal((2, 100))
    z1 *= np.linalg.norm(z0) / np.linalg.norm(z1)                 # equal norms
    t = np.linspace(0, 1, 11)
    path = latent.slerp(z0, z1, t)                                 # (11, 100)
    np.testing.assert_allclose(path[0], z0, atol=1e-12)
    np.testing.assert_allclose(path[-1], z1, atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(path, axis=1), np.linalg.norm(z0), rtol=1e-12)
    # lerp cuts the corner: its midpoint is shorter (about 1/sqrt(2) for near-orthogonal)
    mid = latent.lerp(z0, z1, 0.5)
    assert np.linalg.norm(mid) < 0.85 * np.linalg.norm(z0)


def test_slerp_of_orthogonal_unit_vectors_is_the_quarter_circle():
    e0, e1 = np.eye(3)[0], np.eye(3)[1]
    t = np.array([0.0, 1 / 3, 0.5, 1.0])
    expected = np.stack([np.cos(t * np.pi / 2), np.sin(t * np.pi / 2), 0 * t], axis=1)
    np.testing.assert_allclose(latent.slerp(e0, e1, t), expected, atol=1e-12)


def test_slerp_of_nearly_parallel_vectors_is_finite_and_lerp():
    z0 = np.array([1.0, 2.0, 3.0])
    for z1 in (z0.copy(), 2.0 * z0, z0 + 1e-10):
        got = latent.slerp(z0, z1, [0.0, 0.3, 1.0])
        assert np.isfinite(got).all()
        np.testing.assert_allclose(got, latent.lerp(z0, z1, [0.0, 0.3, 1.0]), rtol=1e-6)


def test_slerp_refuses_opposite_and_zero_vectors():
    """Opposite vectors: every half great circle from z0 to -z0 is as short as another, so
    no arc is the arc (the old lerp fallback returned 0 at t = 1/2). A zero vector has no
    direction (the old formula returned a scaled copy of the other vector)."""
    z0 = np.array([1.0, 2.0, 3.0])
    for z1 in (-z0, -2.0 * z0, -z0 + 1e-10):
        with pytest.raises(ValueError, match="opposite directions"):
            latent.slerp(z0, z1, 0.5)
    with pytest.raises(ValueError, match="opposite directions"):        # one pair of a batch
        latent.slerp(np.stack([z0, z0]), np.stack([z0[::-1], -z0]), [0.0, 0.5])
    for a, b in ((np.zeros(3), z0), (z0, np.zeros(3))):
        with pytest.raises(ValueError, match="zero vector"):
            latent.slerp(a, b, 0.5)
    # a wide angle short of pi is still a proper arc: unit norm all the way
    e0, e1 = np.array([1.0, 0.0]), np.array([np.cos(3.1), np.sin(3.1)])
    path = latent.slerp(e0, e1, np.linspace(0, 1, 5))
    np.testing.assert_allclose(np.linalg.norm(path, axis=1), 1.0, rtol=1e-12)


def test_slerp_batches():
    rng = np.random.default_rng(1)
    z0, z1 = rng.standard_normal((2, 4, 5))                        # 4 pairs of 5-d latents
    out = latent.slerp(z0, z1, np.linspace(0, 1, 7))
    assert out.shape == (7, 4, 5)
    for i in range(4):
        np.testing.assert_allclose(out[:, i], latent.slerp(z0[i], z1[i], np.linspace(0, 1, 7)))
    assert latent.interpolate(z0[0], z1[0], 9, "lerp").shape == (9, 5)
    with pytest.raises(ValueError):
        latent.interpolate(z0[0], z1[0], 3, "cubic")


# ------------------------------------------------------------------ arithmetic
def test_class_means_and_attribute_vector():
    z = np.array([[0.0, 0.0], [2.0, 0.0], [0.0, 4.0], [0.0, 6.0]])
    means = latent.class_means(z, [1, 1, 7, 7])
    np.testing.assert_allclose(means[1], [1.0, 0.0])
    np.testing.assert_allclose(means[7], [0.0, 5.0])
    v = latent.attribute_vector(z, scores=[0.0, 1.0, 2.0, 3.0], quantile=0.5)
    np.testing.assert_allclose(v, z[2:].mean(0) - z[:2].mean(0))


def test_label_latents_and_grid_shapes():
    G = _generator()
    z, labels = latent.label_latents(G, 20, Z_DIM, latent.ink)
    assert z.shape == (20, Z_DIM) and labels.shape == (20,)
    assert ((labels >= 0) & (labels <= 1)).all()
    grid = latent.interpolation_grid(G, z[:3], z[3:6], steps=5)
    assert grid.shape == (15, 1, 8, 8)
    np.testing.assert_allclose(grid[0], latent.generate(G, z[:1])[0], atol=1e-6)


# ------------------------------------------------------------------ inversion
def test_inversion_recovers_a_latent_the_generator_produced():
    G = _generator()
    z_true = np.random.default_rng(7).standard_normal((4, Z_DIM)).astype(np.float32)
    x = latent.generate(G, z_true)
    flags = [p.requires_grad for p in G.parameters()]
    inv = latent.invert(G, x, Z_DIM, steps=300, restarts=3, lr=0.05, seed=1)
    assert inv.errors.max() < 1e-5                                 # per-pixel MSE
    np.testing.assert_allclose(latent.generate(G, inv.z), x, atol=1e-2)
    assert inv.all_errors.shape == (3, 4)
    np.testing.assert_allclose(inv.errors, inv.all_errors.min(0))  # the best start kept
    assert inv.history[-1] < inv.history[0]
    assert [p.requires_grad for p in G.parameters()] == flags       # G left as found
    assert G.training
    assert all(p.grad is None for p in G.parameters())             # frozen: no grads


def test_inversion_can_ask_the_discriminator():
    """With D and d_weight, the start kept is the one with the lowest error - d_weight *
    D(G(z)), not the lowest error. steps=0 keeps every start where it began, so each
    start's image and score are known here: start 0 is the target's own latent (error 0,
    kept without D); D scores the mean pixel, and at d_weight 50 its term outweighs the
    errors, so another start is kept, and which one depends on the term's sign."""
    G = _generator()
    rng = np.random.default_rng(0)
    z_true = rng.standard_normal((2, Z_DIM)).astype(np.float32)
    x = latent.generate(G, z_true)
    others = rng.standard_normal((3, 2, Z_DIM)).astype(np.float32)
    z_init = np.concatenate([z_true[None], others])                              # (4, 2, 6)
    D = nn.Sequential(nn.Flatten(), nn.Linear(64, 1))
    with mg.no_grad():
        D[1].weight.fill_(1.0 / 64)
        D[1].bias.fill_(0.0)
    images = latent.generate(G, z_init.reshape(8, Z_DIM)).reshape(4, 2, 64)
    errors = ((images - x.reshape(1, 2, 64)) ** 2).mean(2)                        # (4, 2)
    realism = images.mean(2)                                                      # D(G(z))
    d_weight = 50.0
    chosen = (errors - d_weight * realism).argmin(0)
    assert (chosen != 0).all()                               # D overrules the error ...
    assert (chosen != (errors + d_weight * realism).argmin(0)).all()   # ... with its sign
    plain = latent.invert(G, x, Z_DIM, steps=0, restarts=4, z_init=z_init)
    np.testing.assert_array_equal(plain.z, z_true)                       # no D: error wins
    inv = latent.invert(G, x, Z_DIM, steps=0, restarts=4, z_init=z_init, D=D,
                        d_weight=d_weight)
    np.testing.assert_array_equal(inv.z, z_init[chosen, [0, 1]])
    np.testing.assert_allclose(inv.errors, errors[chosen, [0, 1]], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(inv.all_errors, errors, rtol=1e-5, atol=1e-7)
    assert D.training                                                    # D left as found


def test_morph_between_two_images():
    G = _generator()
    z = np.random.default_rng(3).standard_normal((2, Z_DIM)).astype(np.float32)
    x = latent.generate(G, z)
    frames, inv = latent.morph(G, x[0], x[1], Z_DIM, frames=6, steps=300, restarts=2)
    assert frames.shape == (6, 1, 8, 8)
    np.testing.assert_allclose(frames[0], x[0], atol=2e-2)
    np.testing.assert_allclose(frames[-1], x[1], atol=2e-2)
    assert inv.errors.max() < 1e-4


# ------------------------------------------------------------------ bad input
def test_invert_puts_the_discriminator_back_in_training_mode_when_it_raises():
    G = _generator()
    x = latent.generate(G, np.zeros((2, Z_DIM), np.float32))

    class Broken(nn.Module):
        def forward(self, x):
            raise RuntimeError("D broke")

    D = Broken()
    with pytest.raises(RuntimeError, match="D broke"):
        latent.invert(G, x, Z_DIM, steps=2, restarts=2, D=D, d_weight=1.0)
    assert D.training and G.training
    assert all(p.requires_grad for p in G.parameters())


def test_invert_refuses_targets_of_another_shape_than_gs_images():
    """(N, H, W) targets against G's (N, 1, H, W) images broadcast to (R*N, R*N, H, W)."""
    G = _generator()
    x = latent.generate(G, np.zeros((2, Z_DIM), np.float32))        # (2, 1, 8, 8)
    with pytest.raises(ValueError, match=r"invert: targets x of shape \(2, 8, 8\) do not "
                                         r"match G's images of shape \(2, 1, 8, 8\)"):
        latent.invert(G, x[:, 0], Z_DIM, steps=2, restarts=2)
    with pytest.raises(ValueError, match=r"invert: .*\(2, 1, 4, 8\)"):
        latent.invert(G, x[..., :4, :], Z_DIM, steps=0, restarts=1)   # even with no steps
    assert G.training and all(p.requires_grad for p in G.parameters())  # G left as found


def test_invert_and_morph_refuse_bad_counts_and_shapes():
    G = _generator()
    x = latent.generate(G, np.zeros((2, Z_DIM), np.float32))
    for restarts in (0, -1, 2.5):
        with pytest.raises(ValueError, match=rf"invert: restarts must be a whole number >= 1, "
                                             rf"got {restarts}"):
            latent.invert(G, x, Z_DIM, steps=2, restarts=restarts)
    with pytest.raises(ValueError, match=r"invert: z_init must have shape \(restarts, N, "
                                         r"z_dim\) = \(3, 2, 6\), got \(3, 2, 5\)"):
        latent.invert(G, x, Z_DIM, steps=2, restarts=3, z_init=np.zeros((3, 2, 5)))
    with pytest.raises(ValueError, match=r"invert: no target images \(x has shape "
                                         r"\(0, 1, 8, 8\)\)"):
        latent.invert(G, x[:0], Z_DIM, steps=2)
    for frames in (0, -1):
        with pytest.raises(ValueError, match=rf"morph: frames must be a whole number >= 1, "
                                             rf"got {frames}"):
            latent.morph(G, x[0], x[1], Z_DIM, frames=frames, steps=2, restarts=1)
    with pytest.raises(ValueError, match=r"morph: x0 and x1 must have the same shape, got "
                                         r"\(1, 8, 8\) and \(1, 8, 4\)"):
        latent.morph(G, x[0], x[1][..., :4], Z_DIM, steps=2, restarts=1)


def test_generate_and_interpolation_grid_refuse_empty_input():
    G = _generator()
    z = np.random.default_rng(0).standard_normal((3, Z_DIM))
    with pytest.raises(ValueError, match=r"generate: z must be latents \(N, z_dim\) with "
                                         r"N >= 1, got shape \(0, 6\)"):
        latent.generate(G, z[:0])
    for batch_size in (0, -4):
        with pytest.raises(ValueError, match=rf"generate: batch_size must be a whole number "
                                             rf">= 1, got {batch_size}"):
            latent.generate(G, z, batch_size=batch_size)
    with pytest.raises(ValueError, match=r"interpolation_grid: steps must be a whole number "
                                         r">= 1, got 0"):
        latent.interpolation_grid(G, z[:2], z[1:], steps=0)
    with pytest.raises(ValueError, match=r"interpolation_grid: starts and ends must have the "
                                         r"same shape, got \(2, 6\) and \(3, 6\)"):
        latent.interpolation_grid(G, z[:2], z, steps=3)
    with pytest.raises(ValueError, match=r"interpolate: steps must be a whole number >= 1, "
                                         r"got 0"):
        latent.interpolate(z[0], z[1], 0)
    np.testing.assert_allclose(latent.interpolate(z[0], z[1], 1), z[:1])   # z0 alone


def test_paths_and_arithmetic_refuse_mismatched_shapes():
    z = np.random.default_rng(0).standard_normal((4, 3))
    for fn in (latent.lerp, latent.slerp):
        with pytest.raises(ValueError, match=rf"{fn.__name__}: z0 and z1 must have the same "
                                             rf"shape, got \(3,\) and \(2, 3\)"):
            fn(z[0], z[:2], 0.5)
    with pytest.raises(ValueError, match=r"class_means: one label per latent: labels of "
                                         r"shape \(3,\) for latents of shape \(4, 3\)"):
        latent.class_means(z, [1, 1, 7])
    with pytest.raises(ValueError, match=r"attribute_vector: one score per latent: scores "
                                         r"of shape \(5,\) for latents of shape \(4, 3\)"):
        latent.attribute_vector(z, [0.0, 1.0, 2.0, 3.0, 4.0])
