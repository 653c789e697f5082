"""Activations and losses that need no convolution. All but one are compositions of
primitive ops, so each inherits its backward (and double backward) from them; the
docstrings give the formula and say what makes it numerically stable.

The exception is binary_cross_entropy_with_logits, the loss of every GAN step (three times
in a DCGAN step): one op, `BCEWithLogits`, with its derivative written out, and that
derivative one op too, `BCEWithLogitsGrad`, where the composition took eleven ops forward
and twelve backward (on the GPU, each one a kernel launch or more).
"""
from __future__ import annotations

import math

from kernels import pointwise

from ..autograd import Function
from ..tensor import Tensor
from . import elementwise as E
from .index import getitem
from .reduce import max as _max
from .reduce import _per, mean, sum
from .shape import sum_to

_E_MINUS_100 = math.exp(-100.0)   # log clamps at -100, as in PyTorch's BCE


def _reduce(loss: Tensor, reduction: str, op: str) -> Tensor:
    if reduction == "mean":
        return mean(loss)
    if reduction == "sum":
        return sum(loss)
    if reduction == "none":
        return loss
    raise ValueError(f"{op}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _check_same_shape(op: str, input: Tensor, target: Tensor) -> None:
    if tuple(input.shape) != tuple(target.shape):
        raise ValueError(f"{op}: input shape {tuple(input.shape)} and target shape "
                         f"{tuple(target.shape)} must be equal")


def softmax(x: Tensor, dim: int = -1) -> Tensor:
    """softmax(x)_i = e^(x_i - m) / sum_j e^(x_j - m), with m = max_j x_j (a constant:
    subtracting it changes nothing mathematically and keeps e^. from overflowing)."""
    shift = _max(x, dim, keepdim=True).values.detach()
    e = E.exp(x - shift)
    return e / sum(e, dim, keepdim=True)


def log_softmax(x: Tensor, dim: int = -1) -> Tensor:
    """log softmax(x)_i = (x_i - m) - log sum_j e^(x_j - m)   (the log-sum-exp trick)."""
    shifted = x - _max(x, dim, keepdim=True).values.detach()
    return shifted - E.log(sum(E.exp(shifted), dim, keepdim=True))


def mse_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """mean((input - target)^2)"""
    target = E.as_tensor(target, input)
    _check_same_shape("mse_loss", input, target)
    diff = input - target
    return _reduce(diff * diff, reduction, "mse_loss")


def l1_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """mean(|input - target|)"""
    target = E.as_tensor(target, input)
    _check_same_shape("l1_loss", input, target)
    return _reduce(E.abs(input - target), reduction, "l1_loss")


def binary_cross_entropy(input: Tensor, target, reduction: str = "mean") -> Tensor:
    """-(t log p + (1 - t) log(1 - p)) for probabilities p = input.

    As in PyTorch, each log is clamped at -100 so that p = 0 or 1 gives a large finite loss
    instead of inf. The clamp is applied to p before the log (p >= e^-100), so that the
    gradient there is 0 rather than 0 * (1/0) = nan. Prefer
    binary_cross_entropy_with_logits: it never needs the clamp.

    Also as in PyTorch, an input outside [0, 1] (or nan) is an error: the classic mistake
    of passing a discriminator's logits here would otherwise give a finite, wrong loss."""
    target = E.as_tensor(target, input)
    _check_same_shape("binary_cross_entropy", input, target)
    if input.data.size:
        lowest, highest = float(input.data.min()), float(input.data.max())
        if not (lowest >= 0.0 and highest <= 1.0):
            raise ValueError(f"binary_cross_entropy: input must hold probabilities in [0, 1], "
                             f"got values in [{lowest:.4g}, {highest:.4g}]; for logits (a "
                             f"discriminator's raw output) use "
                             f"binary_cross_entropy_with_logits")
    log_p = E.log(E.clamp(input, min=_E_MINUS_100))
    log_1mp = E.log(E.clamp(1.0 - input, min=_E_MINUS_100))
    loss = -(target * log_p + (1.0 - target) * log_1mp)
    return _reduce(loss, reduction, "binary_cross_entropy")


class BCEWithLogits(Function):
    """loss_i = max(x_i, 0) - x_i t_i + log(1 + e^-|x_i|)    (x logits, t targets)
    y = loss (reduction "none"), sum_i loss_i ("sum") or c sum_i loss_i, c = 1/n ("mean")
    dy/dx = c g (sigmoid(x) - t)        (c = 1 unless "mean"; a reduced y's g is one
    dy/dt = -c g x                       number, broadcast over x)

    The loss is -(t log s + (1 - t) log(1 - s)) with s = sigmoid(x), rewritten so that
    nothing overflows: e^-|x| is at most 1. The forward is one fused loop
    (kernels/pointwise.py), then the sum and the scale (as `mean` computes them); so is the
    input gradient g (sigmoid(x) - t), an op of its own (BCEWithLogitsGrad, below) that
    can itself be differentiated. The reduction is part of the op, as in PyTorch: a GAN's
    loss is taken three times a step, and as Sum and MulScalar it cost two more ops forward
    and three backward each time (on the GPU, each op a launch the host waits to issue)."""

    def __init__(self, reduction: str = "none"):
        self.reduction = reduction

    def forward(self, x, t):
        loss = pointwise.bce_with_logits(x, t)
        if self.reduction == "none":
            return loss
        total = loss.sum(axis=tuple(range(loss.ndim)))          # as Sum: one number
        if self.reduction == "sum":
            return total
        self.scale = _per(loss.size)                              # 1/n, as mean
        return total * self.scale

    def backward(self, g):
        x, t = self.inputs
        if self.reduction == "mean":
            g = g * self.scale                                    # c g, one number
        grad_x = BCEWithLogitsGrad()(g, x, t) if self.needs_input_grad[0] else None
        grad_t = None
        if self.needs_input_grad[1]:
            # A one-number g does not promote x (a 0-d tensor never does): a float32 x with
            # a float64 target would give -g x in float32. So x comes in g's dtype first.
            grad_t = -(g * (x if x.dtype == g.dtype else x.to_dtype(g.dtype)))
        return grad_x, grad_t


class BCEWithLogitsGrad(Function):
    """y = g (sigmoid(x) - t): BCEWithLogits's input gradient, g the loss's gradient.
    dy/dg = sigmoid(x) - t
    dy/dx = g sigmoid(x) (1 - sigmoid(x))
    dy/dt = -g

    The composition sigmoid, subtract, multiply as one fused loop (kernels/pointwise.py),
    with the same roundings: a GAN's loss takes its backward three times a step, and on the
    GPU each op is a kernel launch the host waits to issue (bench/README.md, "Fourteenth
    round"). Its own backward is written with minigrad ops, for gradients of any order."""

    def forward(self, g, x, t):
        return pointwise.bce_with_logits_grad(g, x, t)

    def backward(self, gy):
        g, x, t = self.inputs
        needs = self.needs_input_grad
        s = E.sigmoid(x) if needs[0] or needs[1] else None
        d_g = sum_to(gy * (s - t), g.shape) if needs[0] else None
        d_x = sum_to(gy * g * s * (1.0 - s), x.shape) if needs[1] else None
        d_t = sum_to(-(gy * g), t.shape) if needs[2] else None
        return d_g, d_x, d_t


def binary_cross_entropy_with_logits(input: Tensor, target, reduction: str = "mean") -> Tensor:
    """BCE on logits x: max(x, 0) - x t + log(1 + e^-|x|), averaged (or summed).

    Equal to -(t log sigmoid(x) + (1-t) log(1 - sigmoid(x))) but finite for any x: e^-|x|
    is at most 1, so nothing overflows even for |x| = 1e4 (where sigmoid(x) rounds to 0
    or 1 and the naive form takes log 0). One op, BCEWithLogits (above), the reduction
    included."""
    op = "binary_cross_entropy_with_logits"
    target = E.as_tensor(target, input)
    _check_same_shape(op, input, target)
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{op}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    return BCEWithLogits(reduction)(input, target)


def nll_loss(log_probs: Tensor, target, reduction: str = "mean") -> Tensor:
    """-log_probs[n, target[n]], averaged over n. As in PyTorch, the class dim is dim 1:
    log_probs (N, C) with integer targets (N,); (N, C, d1, d2, ...) with (N, d1, d2, ...),
    one class per position (the mean is over every position); or (C,) with a 0-d target."""
    labels = target.data if isinstance(target, Tensor) else log_probs.xp.asarray(target)
    shape_ok = (labels.shape == () if log_probs.ndim == 1 else
                log_probs.ndim >= 2 and labels.shape == (log_probs.shape[0],
                                                         *log_probs.shape[2:]))
    if not shape_ok:
        raise ValueError(f"nll_loss: expected log_probs (N, C) and target (N,), or (N, C, d1, "
                         f"...) and (N, d1, ...), or (C,) and (), got "
                         f"{tuple(log_probs.shape)} and {tuple(labels.shape)}")
    if labels.dtype.kind not in "iu":
        raise ValueError(f"nll_loss: target must hold integer class indices, got {labels.dtype}")
    n_classes = log_probs.shape[0] if log_probs.ndim == 1 else log_probs.shape[1]
    if labels.size and (int(labels.min()) < 0 or int(labels.max()) >= n_classes):
        raise ValueError(f"nll_loss: target values must be in [0, {n_classes}), got "
                         f"[{int(labels.min())}, {int(labels.max())}]")
    rows = log_probs.reshape(1, n_classes) if log_probs.ndim == 1 else log_probs
    if rows.ndim > 2:                # (N, C, d1, ...) -> (N*d1*..., C): one row a position
        rows = rows.permute(0, *range(2, rows.ndim), 1).reshape(-1, n_classes)
    flat_labels = labels.reshape(-1)
    picked = getitem(rows, (rows.xp.arange(rows.shape[0]), flat_labels))   # (rows,)
    loss = -picked.reshape(labels.shape)                   # the target's shape
    return _reduce(loss, reduction, "nll_loss")


def cross_entropy(logits: Tensor, target, reduction: str = "mean") -> Tensor:
    """nll_loss(log_softmax(logits over the class dim), target): logits (N, C) with integer
    targets (N,), or (N, C, d1, ...) with (N, d1, ...), or (C,) with a 0-d target."""
    return nll_loss(log_softmax(logits, dim=0 if logits.ndim == 1 else 1), target, reduction)


def dropout(x: Tensor, p: float = 0.5, training: bool = True) -> Tensor:
    """Zero each element with probability p and scale the rest by 1/(1-p) (inverted
    dropout: nothing to rescale at eval time). The mask is a constant."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: p must be in [0, 1], got {p}")
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x * 0.0
    from .. import backend  # noqa: PLC0415

    keep = backend.rng().random(x.shape) >= p
    mask = (keep * (1.0 / (1.0 - p))).astype(x.dtype)
    return E.MaskMul(backend.to_device(mask, x.device))(x)
