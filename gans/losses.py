"""GAN losses, each the formula of its paper, written on the discriminator's raw outputs.

Every loss has the same two functions:

    d_loss(real_logits, fake_logits) -> scalar    what the discriminator (critic) minimises
    g_loss(fake_logits)              -> scalar    what the generator minimises

`real_logits = D(x)` and `fake_logits = D(G(z))` are raw scores (no sigmoid): the sigmoid
lives inside the losses that need a probability, where `binary_cross_entropy_with_logits`
computes it stably. Notation: D(x) = sigmoid(logit), E = mean over the batch.

    loss            d_loss                                         g_loss
    minimax         -E log D(x) - E log(1 - D(G(z)))               E log(1 - D(G(z)))
    nonsaturating   same as minimax                                -E log D(G(z))
    lsgan           1/2 E (D(x) - 1)^2 + 1/2 E D(G(z))^2 (raw)     1/2 E (D(G(z)) - 1)^2
    wgan            E f(G(z)) - E f(x)                             -E f(G(z))
    hinge           E relu(1 - f(x)) + E relu(1 + f(G(z)))         -E f(G(z))

Why two generator losses for the same game (Goodfellow et al. 2014, section 3): early in
training D rejects fakes with confidence, D(G(z)) ~ 0, where log(1 - D(G(z))) is flat, so
the minimax ("saturating") generator gets almost no gradient. -log D(G(z)) has the same
fixed point but a strong gradient exactly there. `examples/vanilla_gan_mnist.py` prints both
gradient norms.
"""
from __future__ import annotations

from types import SimpleNamespace

import minigrad as mg
import minigrad.nn.functional as F
from minigrad import Tensor


def _bce(logits: Tensor, target: float) -> Tensor:
    """E[-(t log sigmoid(l) + (1-t) log(1 - sigmoid(l)))] with a constant target t."""
    return F.binary_cross_entropy_with_logits(logits, mg.full_like(logits, target))


# --------------------------------------------------------------------- minimax
def minimax_d_loss(real_logits: Tensor, fake_logits: Tensor, real_label: float = 1.0,
                   fake_label: float = 0.0) -> Tensor:
    """-E log D(x) - E log(1 - D(G(z))): binary cross-entropy with labels 1 (real), 0 (fake).

    `real_label` < 1 is one-sided label smoothing (Salimans et al. 2016: 0.9); swapping the
    two labels for a batch is "label flipping" (a noisy-label trick of GAN folklore)."""
    # a target outside [0, 1] is no probability: BCE would still return a number, a wrong one
    for name, label in (("real_label", real_label), ("fake_label", fake_label)):
        if not 0.0 <= label <= 1.0:
            raise ValueError(f"minimax_d_loss: {name} must be in [0, 1], got {label}")
    return _bce(real_logits, real_label) + _bce(fake_logits, fake_label)


def minimax_g_loss(fake_logits: Tensor) -> Tensor:
    """E log(1 - D(G(z))) = -BCE(fake_logits, 0): the original, saturating, generator loss.

    log(1 - sigmoid(l)) = -softplus(l), written so it stays finite for any logit."""
    return -_bce(fake_logits, 0.0)


# --------------------------------------------------------------------- non-saturating
def nonsaturating_g_loss(fake_logits: Tensor) -> Tensor:
    """-E log D(G(z)) = BCE(fake_logits, 1): "label the fakes as real" (the DCGAN recipe)."""
    return _bce(fake_logits, 1.0)


# --------------------------------------------------------------------- least squares
def lsgan_d_loss(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """1/2 E (D(x) - 1)^2 + 1/2 E D(G(z))^2 on raw outputs (Mao et al. 2017, a=0, b=c=1)."""
    return 0.5 * ((real_logits - 1.0) ** 2).mean() + 0.5 * (fake_logits ** 2).mean()


def lsgan_g_loss(fake_logits: Tensor) -> Tensor:
    """1/2 E (D(G(z)) - 1)^2"""
    return 0.5 * ((fake_logits - 1.0) ** 2).mean()


# --------------------------------------------------------------------- Wasserstein
def wgan_d_loss(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """E f(G(z)) - E f(x): the critic f maximises E f(x) - E f(G(z)), an estimate of the
    Wasserstein-1 distance when f is 1-Lipschitz (weight clipping, WGAN-GP, spectral norm)."""
    return fake_logits.mean() - real_logits.mean()


def wgan_g_loss(fake_logits: Tensor) -> Tensor:
    """-E f(G(z))"""
    return -fake_logits.mean()


# --------------------------------------------------------------------- hinge
def hinge_d_loss(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """E relu(1 - f(x)) + E relu(1 + f(G(z)))   (Lim & Ye 2017; SN-GAN, BigGAN)"""
    return F.relu(1.0 - real_logits).mean() + F.relu(1.0 + fake_logits).mean()


def hinge_g_loss(fake_logits: Tensor) -> Tensor:
    """-E f(G(z))"""
    return -fake_logits.mean()


minimax = SimpleNamespace(name="minimax", d_loss=minimax_d_loss, g_loss=minimax_g_loss,
                          uses_probabilities=True)
nonsaturating = SimpleNamespace(name="nonsaturating", d_loss=minimax_d_loss,
                                g_loss=nonsaturating_g_loss, uses_probabilities=True)
lsgan = SimpleNamespace(name="lsgan", d_loss=lsgan_d_loss, g_loss=lsgan_g_loss,
                        uses_probabilities=False)
wgan = SimpleNamespace(name="wgan", d_loss=wgan_d_loss, g_loss=wgan_g_loss,
                       uses_probabilities=False)
hinge = SimpleNamespace(name="hinge", d_loss=hinge_d_loss, g_loss=hinge_g_loss,
                        uses_probabilities=False)

LOSSES = {loss.name: loss for loss in (minimax, nonsaturating, lsgan, wgan, hinge)}


def get(name: str):
    """A loss by name: 'minimax', 'nonsaturating', 'lsgan', 'wgan' or 'hinge'."""
    if not isinstance(name, str):
        raise ValueError(f"losses.get: a GAN loss is named by a string, got {name!r}; "
                         f"choose from {sorted(LOSSES)}")
    try:
        return LOSSES[name.replace("-", "").replace("_", "").lower()]
    except KeyError:
        raise ValueError(f"unknown GAN loss {name!r}; choose from {sorted(LOSSES)}") from None
