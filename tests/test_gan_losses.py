"""GAN losses against their formulas, and the penalties against closed forms.

For a linear critic f(x) = w.x + b the input gradient is w at every x, so
    WGAN-GP = lambda (||w|| - 1)^2      and      R1 = R2 = gamma/2 ||w||^2
exactly; and their gradients w.r.t. w go through mg.grad(create_graph=True): the
double-backward path the real penalties use.
"""
import re

import numpy as np
import pytest

import minigrad as mg
from gans import losses, penalties

REAL = np.array([2.0, -0.5, 0.3, 1.2])
FAKE = np.array([-1.3, 0.7, -2.5, 0.1])   # away from the hinge's kinks at +-1


def _t(values, device, grad=True):
    return mg.tensor(values, dtype=mg.float64, device=device, requires_grad=grad)


def _sig(x):
    return 1 / (1 + np.exp(-x))


FORMULAS = {
    # name: (d_loss(real, fake), g_loss(fake)) in numpy, from the docstring table
    "minimax": (lambda r, f: -np.mean(np.log(_sig(r))) - np.mean(np.log(1 - _sig(f))),
                lambda f: np.mean(np.log(1 - _sig(f)))),
    "nonsaturating": (lambda r, f: -np.mean(np.log(_sig(r))) - np.mean(np.log(1 - _sig(f))),
                      lambda f: -np.mean(np.log(_sig(f)))),
    "lsgan": (lambda r, f: 0.5 * np.mean((r - 1) ** 2) + 0.5 * np.mean(f ** 2),
              lambda f: 0.5 * np.mean((f - 1) ** 2)),
    "wgan": (lambda r, f: np.mean(f) - np.mean(r), lambda f: -np.mean(f)),
    "hinge": (lambda r, f: np.mean(np.maximum(0, 1 - r)) + np.mean(np.maximum(0, 1 + f)),
              lambda f: -np.mean(f)),
}


@pytest.mark.parametrize("name", sorted(FORMULAS))
def test_loss_values_match_formulas(name, device):
    loss = losses.get(name)
    d_formula, g_formula = FORMULAS[name]
    d = loss.d_loss(_t(REAL, device), _t(FAKE, device)).item()
    g = loss.g_loss(_t(FAKE, device)).item()
    assert d == pytest.approx(d_formula(REAL, FAKE), rel=1e-10)
    assert g == pytest.approx(g_formula(FAKE), rel=1e-10)


@pytest.mark.parametrize("name", sorted(FORMULAS))
def test_loss_gradients(name, device):
    loss = losses.get(name)
    real, fake = _t(REAL, device), _t(FAKE, device)
    assert mg.gradcheck(loss.d_loss, (real, fake))
    assert mg.gradcheck(loss.g_loss, (fake,))
    assert mg.gradgradcheck(loss.g_loss, (fake,))


def test_saturating_generator_gradient_vanishes_when_d_wins():
    """At D(G(z)) ~ 0 (logit -6) the minimax G loss is flat, the non-saturating one is not."""
    fake = mg.tensor([-6.0], dtype=mg.float64, requires_grad=True)
    (g_minimax,) = mg.grad(losses.minimax.g_loss(fake), fake)
    (g_nonsat,) = mg.grad(losses.nonsaturating.g_loss(fake), fake)
    assert abs(g_minimax.item()) == pytest.approx(_sig(-6.0), rel=1e-9)      # ~0.0025
    assert abs(g_nonsat.item()) == pytest.approx(1 - _sig(-6.0), rel=1e-9)   # ~1
    assert abs(g_nonsat.item()) > 100 * abs(g_minimax.item())


def test_label_smoothing_and_flip_are_bce_targets():
    r, f = _t(REAL, "cpu", False), _t(FAKE, "cpu", False)
    smoothed = losses.minimax_d_loss(r, f, real_label=0.9).item()
    expected = (-np.mean(0.9 * np.log(_sig(REAL)) + 0.1 * np.log(1 - _sig(REAL)))
                - np.mean(np.log(1 - _sig(FAKE))))
    assert smoothed == pytest.approx(expected, rel=1e-10)
    flipped = losses.minimax_d_loss(r, f, real_label=0.0, fake_label=1.0).item()
    assert flipped == pytest.approx(-np.mean(np.log(1 - _sig(REAL))) - np.mean(np.log(_sig(FAKE))))


def test_unknown_loss_is_named():
    with pytest.raises(ValueError, match="unknown GAN loss 'foo'"):
        losses.get("foo")
    for name in (None, 3):
        with pytest.raises(ValueError, match=rf"losses.get: a GAN loss is named by a string, "
                                             rf"got {name!r}; choose from \['hinge'"):
            losses.get(name)


@pytest.mark.parametrize("labels, bad", [(dict(real_label=2.0), "real_label must be in "
                                                                 r"\[0, 1\], got 2.0"),
                                         (dict(fake_label=-0.1), "fake_label .* got -0.1"),
                                         (dict(real_label=float("nan")), "real_label .* nan")])
def test_minimax_d_loss_refuses_labels_that_are_not_probabilities(labels, bad):
    r, f = _t(REAL, "cpu", False), _t(FAKE, "cpu", False)
    with pytest.raises(ValueError, match=f"minimax_d_loss: {bad}"):
        losses.minimax_d_loss(r, f, **labels)
    assert np.isfinite(losses.minimax_d_loss(r, f, real_label=1.0, fake_label=0.0).item())


# ------------------------------------------------------------------ penalties
def _linear_critic(w, b):
    def critic(x):                                   # x (N, 2, 3) -> (N,)
        return x.reshape(x.shape[0], -1) @ w + b
    return critic


@pytest.mark.parametrize("scale", [0.3, 1.7])
def test_wgan_gp_of_linear_critic_is_closed_form(scale, device):
    rng = np.random.default_rng(1)
    w = _t(rng.standard_normal(6) * scale, device)
    b = _t([0.5], device)
    real = _t(rng.standard_normal((4, 2, 3)), device, grad=False)
    fake = _t(rng.standard_normal((4, 2, 3)), device, grad=False)
    gp = penalties.gradient_penalty(_linear_critic(w, b), real, fake, lambda_=10.0, eps=0.0)
    norm = np.linalg.norm(w.numpy())
    assert gp.item() == pytest.approx(10.0 * (norm - 1.0) ** 2, rel=1e-10)
    alpha = _t(rng.random((4, 1, 1)), device, grad=False)

    def gp_of_w(w_):
        return penalties.gradient_penalty(_linear_critic(w_, b), real, fake, 10.0, alpha=alpha)
    assert mg.gradcheck(gp_of_w, (w,))                # the double-backward path


@pytest.mark.parametrize("which", ["r1", "r2"])
def test_r1_r2_of_linear_critic_is_closed_form(which, device):
    rng = np.random.default_rng(2)
    w, b = _t(rng.standard_normal(6), device), _t([0.1], device)
    x = _t(rng.standard_normal((3, 2, 3)), device, grad=False)
    fn = penalties.r1_penalty if which == "r1" else penalties.r2_penalty
    value = fn(_linear_critic(w, b), x, gamma=4.0)
    assert value.item() == pytest.approx(2.0 * float(np.sum(w.numpy() ** 2)), rel=1e-10)
    assert mg.gradcheck(lambda w_: fn(_linear_critic(w_, b), x, gamma=4.0), (w,))


def test_gradient_penalty_through_a_nonlinear_critic_passes_gradcheck():
    """tanh critic: the penalty's gradient w.r.t. the weights involves second derivatives."""
    rng = np.random.default_rng(3)
    w1 = _t(rng.standard_normal((6, 4)), "cpu")
    w2 = _t(rng.standard_normal(4), "cpu")
    real = _t(rng.standard_normal((3, 2, 3)), "cpu", grad=False)
    fake = _t(rng.standard_normal((3, 2, 3)), "cpu", grad=False)
    alpha = _t(rng.random((3, 1, 1)), "cpu", grad=False)

    def gp(w1_, w2_):
        critic = lambda x: (x.reshape(x.shape[0], -1) @ w1_).tanh() @ w2_  # noqa: E731
        return penalties.gradient_penalty(critic, real, fake, 10.0, alpha=alpha)
    assert mg.gradcheck(gp, (w1, w2))


def test_gradient_penalty_shape_mismatch_is_named():
    a, b = mg.zeros(2, 3), mg.zeros(3, 3)
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(3, 3\)"):
        penalties.gradient_penalty(lambda x: x.sum(1), a, b)


def test_clip_weights():
    import minigrad.nn as nn
    layer = nn.Linear(4, 3)
    with mg.no_grad():
        layer.weight.data[...] = 5.0
    penalties.clip_weights(layer, 0.01)
    assert np.abs(layer.weight.numpy()).max() == pytest.approx(0.01)
    assert np.abs(layer.bias.numpy()).max() <= 0.01 + 1e-9


def test_penalties_refuse_an_empty_batch_by_name():
    critic = _linear_critic(_t(np.ones(6), "cpu"), _t([0.0], "cpu"))
    empty = mg.zeros(0, 2, 3, dtype=mg.float64)
    for name, call in (("gradient_penalty", penalties.gradient_penalty),
                       ("r1_penalty", penalties.r1_penalty),
                       ("r2_penalty", penalties.r2_penalty)):
        samples = (empty, empty) if name == "gradient_penalty" else (empty,)
        with pytest.raises(ValueError, match=rf"{name}: needs a batch of at least one sample "
                                             rf"\(N, \.\.\.\), got shape \(0, 2, 3\)"):
            call(critic, *samples)


def test_gradient_penalty_refuses_alpha_that_is_not_one_weight_per_sample():
    """alpha (N,) against (N, 2, 3) would broadcast along the last axis, not the batch."""
    critic = _linear_critic(_t(np.ones(6), "cpu"), _t([0.0], "cpu"))
    real = mg.zeros(3, 2, 3, dtype=mg.float64)
    fake = mg.ones(3, 2, 3, dtype=mg.float64)
    for alpha in (mg.rand(3, dtype=mg.float64), mg.rand(3, 2, 1, dtype=mg.float64),
                  mg.rand(3, 2, 3, dtype=mg.float64)):
        got = re.escape(str(tuple(getattr(alpha, "shape", ()))))
        with pytest.raises(ValueError, match=rf"gradient_penalty: alpha must hold one weight "
                                             rf"per sample, shape \(3, 1, 1\) for a batch "
                                             rf"of shape \(3, 2, 3\), got {got}"):
            penalties.gradient_penalty(critic, real, fake, alpha=alpha)
    for alpha in (mg.rand(3, 1, 1, dtype=mg.float64), 0.5, mg.full((1, 1, 1), 0.5,
                                                                     dtype=mg.float64)):
        assert np.isfinite(penalties.gradient_penalty(critic, real, fake, alpha=alpha).item())
    with pytest.raises(ValueError, match=r"gradient_penalty: real \(3, 2, 3\) and fake "
                                         r"\(2, 2, 3\) batches must have the same shape"):
        penalties.gradient_penalty(critic, real, fake[:2])


@pytest.mark.parametrize("c", [-0.01, 0.0, float("nan"), float("inf")])
def test_clip_weights_refuses_a_bound_that_is_not_finite_and_positive(c):
    import minigrad.nn as nn
    layer = nn.Linear(4, 3)
    before = [p.numpy().copy() for p in layer.parameters()]
    with pytest.raises(ValueError, match=rf"clip_weights: c must be a finite number > 0 "
                                         rf"\(weights are clipped to \[-c, c\]\), got {c}"):
        penalties.clip_weights(layer, c)
    for a, p in zip(before, layer.parameters()):
        np.testing.assert_array_equal(a, p.numpy())                 # no weight touched
