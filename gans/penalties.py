"""Regularisers of the discriminator: gradient penalties and weight clipping.

The gradient penalties need the gradient of D's output *with respect to its input*, and
then the gradient of a function of that gradient with respect to D's weights: a second
derivative. `mg.grad(..., create_graph=True)` records the backward pass on the tape, so
the penalty is an ordinary differentiable scalar and `loss.backward()` goes through it.

    WGAN-GP (Gulrajani et al. 2017):  lambda E_xhat (||grad_xhat f(xhat)||_2 - 1)^2,
        xhat = alpha x + (1 - alpha) G(z), alpha ~ U(0, 1) per sample
    R1 (Mescheder et al. 2018):      gamma/2 E_x ||grad_x D(x)||^2        on real data
    R2:                              gamma/2 E_z ||grad_x D(G(z))||^2     on fakes
    Weight clipping (Arjovsky et al. 2017): every weight clipped to [-c, c]

For a linear critic f(x) = w.x + b the input gradient is w everywhere, so WGAN-GP is
exactly lambda (||w|| - 1)^2 and R1 is gamma/2 ||w||^2 (the tests check this).
"""
from __future__ import annotations

import math

import minigrad as mg
from minigrad import Tensor


def _per_sample_sq_norm(grad: Tensor) -> Tensor:
    """||g_i||^2 for each sample i of a batch of gradients (N, ...)."""
    return (grad * grad).reshape(grad.shape[0], -1).sum(dim=1)  # (N,)


def _check_batch(penalty: str, samples: Tensor) -> None:
    if samples.ndim == 0 or samples.shape[0] == 0:
        raise ValueError(f"{penalty}: needs a batch of at least one sample (N, ...), got "
                         f"shape {tuple(samples.shape)}")


def gradient_penalty(critic, real: Tensor, fake: Tensor, lambda_: float = 10.0,
                     alpha: Tensor | None = None, eps: float = 1e-12) -> Tensor:
    """WGAN-GP: lambda * mean_i (sqrt(||grad f(xhat_i)||^2 + eps) - 1)^2.

    real, fake: (N, ...) batches (fake is detached here: the penalty trains the critic).
    alpha: (N, 1, ..., 1) interpolation weights, or one shared weight (a number or
    (1, ..., 1)); drawn from U(0, 1) per sample when not given.
    eps keeps the square root differentiable at a zero gradient."""
    if tuple(real.shape) != tuple(fake.shape):
        raise ValueError(f"gradient_penalty: real {tuple(real.shape)} and fake "
                         f"{tuple(fake.shape)} batches must have the same shape")
    _check_batch("gradient_penalty", real)
    alpha_shape = (real.shape[0],) + (1,) * (real.ndim - 1)
    if alpha is None:
        alpha = mg.rand(*alpha_shape, dtype=real.dtype, device=real.device)
    given = tuple(getattr(alpha, "shape", ()))       # a plain number has no shape: ()
    shared = (1,) * len(alpha_shape)
    if given not in ((), shared, alpha_shape):       # one weight for all, or one each
        # alpha (N,) would broadcast along the last axis, not across the batch
        raise ValueError(f"gradient_penalty: alpha must hold one weight per sample, shape "
                         f"{alpha_shape} for a batch of shape {tuple(real.shape)}, got "
                         f"{given}")
    x_hat = (alpha * real.detach() + (1.0 - alpha) * fake.detach()).detach()
    x_hat.requires_grad = True                                    # a leaf we differentiate at
    with mg.enable_grad():        # a gradient is needed even when called under no_grad
        scores = critic(x_hat)                                    # (N,)
        (grad,) = mg.grad(scores.sum(), x_hat, create_graph=True) # (N, C, H, W), on the tape
        norm = (_per_sample_sq_norm(grad) + eps).sqrt()           # (N,)
        return lambda_ * ((norm - 1.0) ** 2).mean()


def r1_penalty(d, real: Tensor, gamma: float = 10.0) -> Tensor:
    """R1: gamma/2 * mean_i ||grad_x D(x_i)||^2 on real samples (zero-centred)."""
    _check_batch("r1_penalty", real)
    return _zero_centred(d, real, gamma)


def r2_penalty(d, fake: Tensor, gamma: float = 10.0) -> Tensor:
    """R2: gamma/2 * mean_i ||grad_x D(G(z_i))||^2 on (detached) generated samples."""
    _check_batch("r2_penalty", fake)
    return _zero_centred(d, fake, gamma)


def _zero_centred(d, samples: Tensor, gamma: float) -> Tensor:
    x = samples.detach()
    x.requires_grad = True
    with mg.enable_grad():        # a gradient is needed even when called under no_grad
        (grad,) = mg.grad(d(x).sum(), x, create_graph=True)      # (N, ...), on the tape
        return (gamma / 2.0) * _per_sample_sq_norm(grad).mean()


def clip_weights(module, c: float = 0.01) -> None:
    """The original WGAN's crude Lipschitz constraint: clamp every parameter to [-c, c]."""
    # c <= 0 would set every weight to -c or 0, and nan would make every weight nan
    if not (math.isfinite(c) and c > 0):
        raise ValueError(f"clip_weights: c must be a finite number > 0 (weights are clipped "
                         f"to [-c, c]), got {c}")
    with mg.no_grad():
        for p in module.parameters():
            p.clamp_(-c, c)
