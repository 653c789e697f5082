"""Linear maps, normalisation and embedding: the functional forms behind the nn layers.

    linear(x, W, b)      y = x W^T + b                       (one op: Linear, ops/matmul.py)
    batch_norm           statistics over N (and L, or H, W), one per channel C
    instance_norm        statistics over H, W, one per sample and channel
    layer_norm           statistics over the trailing `normalized_shape` dims
    embedding(idx, W)    y = W[idx]                           (a gather; repeats add up)

Two primitives. `Standardize`: x_hat = (x - mean) / sqrt(var + eps) over some axes, shared
by instance and layer norm (the affine part, x_hat * weight + bias, is composed from
ordinary ops). `BatchNorm`: batch norm in training mode, statistics and affine part in
one fused op (kernels/norm.py), because it is a sizeable part of a DCGAN step. Batch norm
in evaluation mode is affine in x and composed. Batch norm also keeps running averages of
its statistics for evaluation.
"""
from __future__ import annotations

import numpy as np

from kernels import norm as norm_kernels
from kernels import pointwise

from ..autograd import Function, is_grad_enabled, no_grad
from ..backend import xp_of
from ..tensor import Tensor, require_tensor
from .elementwise import where
from .index import getitem
from .matmul import Linear, matmul
from .reduce import mean, sum, var
from .shape import reshape


class Standardize(Function):
    """x_hat = (x - mu) * inv_std,  mu = mean(x),  inv_std = 1 / sqrt(var(x) + eps),
    mean and (biased) var over `axes`, n elements each.

    With g = dL/dx_hat and the means taken over the same axes:

        dL/dx = inv_std * (g - mean(g) - x_hat * mean(g * x_hat))

    (the three terms: the direct path, the path through mu, the path through var).

    A primitive for speed (STYLE.md, principle 3): composed from mean, sub, var, sqrt and
    div, layer norm would record a dozen nodes and walk the activations a dozen times in
    backward; here it is two passes over raw arrays. When the backward pass is itself
    being recorded (create_graph=True, i.e. grad mode is on inside backward) the same
    formula is written in minigrad ops, with x_hat = this op's output and inv_std
    recomputed from x, so that it can be differentiated again (a critic with layer norm
    under a gradient penalty). tests/test_norm.py checks the two paths agree.
    """
    save_outputs = True   # x_hat: used by both backward paths

    def __init__(self, axes: tuple, eps: float):
        self.axes, self.eps = axes, float(eps)

    def forward(self, x):
        xp = xp_of(x)
        self.mean = x.mean(axis=self.axes, keepdims=True)          # keepdim shape
        centred = x - self.mean
        self.var = (centred * centred).mean(axis=self.axes, keepdims=True)  # biased
        self.inv_std = 1.0 / xp.sqrt(self.var + self.eps)
        return centred * self.inv_std

    def backward(self, g):
        if is_grad_enabled():
            return self._differentiable_backward(g)
        return self._fused_backward(g)

    def _fused_backward(self, g: Tensor) -> Tensor:
        """Raw arrays: only valid when nobody differentiates this backward."""
        g_arr, x_hat = g.data, self.outputs[0].data
        mean_g = g_arr.mean(axis=self.axes, keepdims=True)
        mean_g_xhat = (g_arr * x_hat).mean(axis=self.axes, keepdims=True)
        grad_input = self.inv_std * (g_arr - mean_g - x_hat * mean_g_xhat)
        return Tensor._from_op(grad_input, False)

    def _differentiable_backward(self, g: Tensor) -> Tensor:
        """The same formula in minigrad ops (create_graph=True)."""
        (x,), (x_hat,) = self.inputs, self.outputs
        inv_std = (var(x, self.axes, keepdim=True) + self.eps) ** -0.5
        mean_g = mean(g, self.axes, keepdim=True)
        mean_g_xhat = mean(g * x_hat, self.axes, keepdim=True)
        return inv_std * (g - mean_g - x_hat * mean_g_xhat)


class BatchNorm(Function):
    """y = x_hat * weight + bias,  x_hat = (x - mu) * inv_std,  inv_std = 1 / sqrt(var + eps),
    mu and (biased) var per channel over every axis but 1 (N, or N and L, or N, H and W),
    M values each. x (N, C, ...); weight, bias, mu, var (C,), broadcast over the other axes.

    With g = dL/dy and the sums over the same axes:

        dL/dbias   = sum(g)
        dL/dweight = sum(g * x_hat)
        dL/dx      = weight * inv_std / M * (M * g - dL/dbias - x_hat * dL/dweight)

    (dL/dx: the direct path, the path through mu, the path through var.)

    A primitive for speed (STYLE.md, principle 3): composed as Standardize, Mul and Add
    it walked the activations some ten times and kept both x and x_hat for backward;
    here the forward is one kernel (kernels/norm.py: three passes over x) and the backward
    another (two passes), and only x and two numbers per channel (mu, inv_std) are saved:
    x_hat is recomputed (bench/batch_norm.py: about 4x faster than the composition on the
    DCGAN's three batch norm layers, forward + backward). When the backward pass is itself
    being recorded (create_graph=True) the same formulas are written in minigrad ops, with
    mu and inv_std recomputed from x, so that they can be differentiated again (a critic
    with batch norm under a gradient penalty). tests/test_norm.py checks the two paths
    agree. Without the affine part, weight = 1 and bias = 0 come in as constants.
    """
    returns_new_grads = True     # the fused backward's new arrays (see Function)

    def __init__(self, eps: float, running_mean=None, running_var=None, momentum=0.1):
        self.eps = float(eps)
        # Raw (C,) arrays that the forward kernel updates in place (training's running
        # statistics, no gradient), or None.
        self.running = (running_mean, running_var, momentum)

    def forward(self, x, weight, bias):
        running_mean, running_var, momentum = self.running
        self.running = None
        y, self.mean, self.var = norm_kernels.batch_norm_forward(
            x, weight, bias, self.eps, running_mean, running_var, momentum)
        self.inv_std = pointwise.inverse_std(self.var, self.eps)      # (C,)
        return y

    def backward(self, g):
        if is_grad_enabled():
            return self._differentiable_backward(g)
        return self._fused_backward(g)

    def _fused_backward(self, g: Tensor):
        """Raw arrays: only valid when nobody differentiates this backward."""
        (x, weight, _), needs = self.inputs, self.needs_input_grad
        grad_input, grad_weight, grad_bias = norm_kernels.batch_norm_backward(
            g.data, x.data, self.mean, self.inv_std, weight.data, grad_input=needs[0])
        return tuple(Tensor._from_op(grad, False) if need else None
                     for grad, need in zip((grad_input, grad_weight, grad_bias), needs))

    def _differentiable_backward(self, g: Tensor):
        """The same formulas in minigrad ops (create_graph=True)."""
        x, weight, _ = self.inputs
        axes, shape = (0,) + tuple(range(2, x.ndim)), _channel_shape(x)
        M = x.data.size // x.shape[1]                                 # values per channel
        inv_std = (var(x, axes, keepdim=True) + self.eps) ** -0.5     # (1, C, 1, ...)
        x_hat = (x - mean(x, axes, keepdim=True)) * inv_std          # like x
        grad_bias = sum(g, axes)                                      # (C,)
        grad_weight = sum(g * x_hat, axes)                            # (C,)
        grad_input = None
        if self.needs_input_grad[0]:
            grad_input = reshape(weight, shape) * inv_std / M * (
                M * g - reshape(grad_bias, shape) - x_hat * reshape(grad_weight, shape))
        _, need_weight, need_bias = self.needs_input_grad
        return (grad_input, grad_weight if need_weight else None,
                grad_bias if need_bias else None)


# ------------------------------------------------------------------ linear
def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y = x W^T + b.   x (..., in), W (out, in), b (out,) -> y (..., out)

    One op, Linear (ops/matmul.py): dL/dx = g W, dL/dW = g^T x, dL/db = sum g, with the
    leading dims of x flattened into one (and restored on y).
    """
    require_tensor(input, "linear", "input")
    require_tensor(weight, "linear", "weight")
    if input.ndim == 0:
        raise ValueError("linear: the input needs at least 1 dimension, got a scalar")
    if weight.ndim == 1:
        # PyTorch: a weight (in,) is a single output whose dim is dropped, y = x @ w,
        # (..., in) -> (...); matmul's backward is the gradient. PyTorch takes no bias here.
        if bias is not None or input.shape[-1] != weight.shape[0]:
            raise ValueError(f"linear: a 1-D weight {tuple(weight.shape)} needs input (..., "
                             f"{weight.shape[0]}) and no bias, got input {tuple(input.shape)} "
                             f"and bias {None if bias is None else tuple(bias.shape)}")
        return matmul(input, weight)
    if weight.ndim != 2:
        raise ValueError(f"linear: expected weight (out, in) or (in,), got "
                         f"{tuple(weight.shape)} (input {tuple(input.shape)})")
    if input.shape[-1] != weight.shape[1]:
        raise ValueError(f"linear: input has {input.shape[-1]} features (shape "
                         f"{tuple(input.shape)}) but the weight {tuple(weight.shape)} "
                         f"expects {weight.shape[1]}")
    if weight.ndim != 2 or (bias is not None and tuple(bias.shape) != (weight.shape[0],)):
        raise ValueError(f"linear: expected weight (out, in) and bias (out,), got "
                         f"{tuple(weight.shape)} and "
                         f"{None if bias is None else tuple(bias.shape)}")
    lead = tuple(input.shape[:-1])
    x = input if input.ndim == 2 else reshape(input, -1, input.shape[-1])   # (N, in)
    args = (x, weight) if bias is None else (x, weight, bias)
    output = Linear()(*args)                                                # (N, out)
    return output if input.ndim == 2 else reshape(output, *lead, weight.shape[0])


# ------------------------------------------------------------------ batch norm
def _channel_shape(x: Tensor) -> tuple:
    """(1, C, 1, ...): a per-channel vector reshaped to broadcast against x (N, C, ...)."""
    return (1, x.shape[1]) + (1,) * (x.ndim - 2)


def _affine(x_hat: Tensor, weight, bias, shape) -> Tensor:
    y = x_hat if weight is None else x_hat * reshape(weight, shape)
    return y if bias is None else y + reshape(bias, shape)


def check_eps(op: str, eps) -> None:
    """eps is added to a variance under a square root: a negative one gives nan wherever
    the variance is smaller, without a word (nan too). O(1): a Python comparison."""
    if not eps >= 0:                                       # also refuses nan
        raise ValueError(f"{op}: eps must be >= 0, got {eps}")


def _check_float(op: str, input: Tensor) -> None:
    """As PyTorch ("not implemented for 'Long'"): the statistics of an integer tensor
    would be silently float64 here."""
    require_tensor(input, op, "input")
    if not input.is_floating_point():
        raise TypeError(f"{op}: only floating point tensors, got {input.dtype} of shape "
                        f"{tuple(input.shape)}; convert it first, e.g. x.float()")


def _check_per_channel(op: str, input: Tensor, **vectors) -> None:
    """Each given per-channel tensor (running_mean, weight, ...) must hold one number per
    channel of input (N, C, ...): checked before anything is computed or updated, so a
    wrong input leaves the running statistics as they were."""
    for name, vector in vectors.items():
        if vector is not None and tuple(vector.shape) != (input.shape[1],):
            raise ValueError(f"{op}: {name} should have shape ({input.shape[1]},), one "
                             f"number per channel of input {tuple(input.shape)}, got "
                             f"{tuple(vector.shape)}")


def _update_running(running: Tensor | None, batch_value, momentum: float) -> None:
    """running = (1 - momentum) * running + momentum * batch_value, in place."""
    if running is not None:
        with no_grad():
            running.mul_(1.0 - momentum).add_(batch_value.astype(running.dtype), momentum)


def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None,
               weight: Tensor | None = None, bias: Tensor | None = None,
               training: bool = False, momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """y = (x - mean) / sqrt(var + eps) * weight + bias, per channel.

    input (N, C), (N, C, L) or (N, C, H, W); running_mean, running_var, weight, bias (C,).
    training: mean and biased var over every axis but C (N, or N and L, or N, H and W);
        the running statistics (if given) are then updated in place, without gradient:
        running = (1 - momentum) running + momentum * batch value, with the UNBIASED
        variance (times n / (n - 1)), as PyTorch does (by the forward kernel, in float64,
        while it has the batch's statistics).
    eval: the running statistics are used, and y is affine in x.
    """
    _check_float("batch_norm", input)
    check_eps("batch_norm", eps)
    if input.ndim < 2:
        raise ValueError(f"batch_norm: expected input (N, C, ...), got shape "
                         f"{tuple(input.shape)}")
    _check_per_channel("batch_norm", input, running_mean=running_mean,
                       running_var=running_var, weight=weight, bias=bias)
    shape = _channel_shape(input)
    if not training:
        if running_mean is None or running_var is None:
            raise ValueError("batch_norm: running_mean and running_var are needed when "
                             "training=False")
        inv_std = (reshape(running_var, shape) + eps) ** -0.5
        x_hat = (input - reshape(running_mean, shape)) * inv_std
        return _affine(x_hat, weight, bias, shape)

    n = input.data.size // input.shape[1]                  # values per channel
    if n < 2:
        raise ValueError(f"batch_norm: expected more than 1 value per channel when "
                         f"training, got input shape {tuple(input.shape)}")
    C, xp = input.shape[1], input.xp
    if weight is None:                                     # affine=False: constants 1, 0
        weight = Tensor._from_op(xp.ones(C, dtype=input.dtype), False)
    if bias is None:
        bias = Tensor._from_op(xp.zeros(C, dtype=input.dtype), False)
    # The kernel updates the running statistics while it has the batch's (no extra pass);
    # running tensors of another dtype or layout are updated here afterwards.
    in_kernel = [r is not None and r.dtype == input.dtype and r.device == input.device
                 and not r.requires_grad and r.data.flags.c_contiguous
                 for r in (running_mean, running_var)]
    norm = BatchNorm(eps, running_mean.data if in_kernel[0] else None,
                     running_var.data if in_kernel[1] else None, momentum)
    output = norm(input, weight, bias)
    for running, updated in zip((running_mean, running_var), in_kernel):
        if updated:
            running._bump()                                # changed in place
    if not in_kernel[0]:
        _update_running(running_mean, norm.mean, momentum)
    if not in_kernel[1]:
        _update_running(running_var, norm.var * (n / (n - 1)), momentum)
    return output


# ------------------------------------------------------------------ instance norm
def instance_norm(input: Tensor, running_mean: Tensor | None = None,
                  running_var: Tensor | None = None, weight: Tensor | None = None,
                  bias: Tensor | None = None, use_input_stats: bool = True,
                  momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Per sample and channel: y = (x - mean) / sqrt(var + eps) * weight + bias, statistics
    over the spatial dims (H, W) of each x[n, c]. input (N, C, ...), weight, bias (C,).

    If running statistics are given (track_running_stats) they are updated with the
    batch average of the per-instance mean and unbiased variance; with
    use_input_stats=False they are used instead of the instance's own (eval mode)."""
    _check_float("instance_norm", input)
    check_eps("instance_norm", eps)
    if input.ndim < 3:
        raise ValueError(f"instance_norm: expected input (N, C, ...) with spatial dims, "
                         f"got shape {tuple(input.shape)}")
    _check_per_channel("instance_norm", input, running_mean=running_mean,
                       running_var=running_var, weight=weight, bias=bias)
    if not use_input_stats:
        return batch_norm(input, running_mean, running_var, weight, bias, False, momentum,
                          eps)
    axes = tuple(range(2, input.ndim))
    n = int(np.prod(input.shape[2:]))                      # values per instance
    if n < 2:
        raise ValueError(f"instance_norm: expected more than 1 spatial element per "
                         f"channel, got input shape {tuple(input.shape)}")
    standardize = Standardize(axes, eps)
    x_hat = standardize(input)
    _update_running(running_mean, standardize.mean.reshape(input.shape[:2]).mean(axis=0),
                    momentum)
    unbiased = standardize.var.reshape(input.shape[:2]) * (n / (n - 1))
    _update_running(running_var, unbiased.mean(axis=0), momentum)
    return _affine(x_hat, weight, bias, _channel_shape(input))


# ------------------------------------------------------------------ group norm
def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """The C channels in num_groups groups; per sample and group: y = (x - mean) /
    sqrt(var + eps), statistics over the group's channels and all their positions, then
    weight and bias per channel (C,). num_groups = 1 is layer norm over (C, H, W) with a
    per-channel affine; num_groups = C is instance norm. No running statistics."""
    _check_float("group_norm", input)
    check_eps("group_norm", eps)
    if input.ndim < 2:
        raise ValueError(f"group_norm: expected input (N, C, ...), got shape "
                         f"{tuple(input.shape)}")
    N, C = input.shape[:2]
    if num_groups < 1 or C % num_groups:
        raise ValueError(f"group_norm: {C} channels (input {tuple(input.shape)}) cannot be "
                         f"split into {num_groups} groups of equal size")
    _check_per_channel("group_norm", input, weight=weight, bias=bias)
    if input.data.size == 0:                             # nothing to normalise
        return _affine(input, weight, bias, _channel_shape(input))
    per_group = input.data.size // (N * num_groups)
    grouped = reshape(input, N, num_groups, per_group)   # (N, G, C/G * positions)
    x_hat = reshape(Standardize((2,), eps)(grouped), *input.shape)
    return _affine(x_hat, weight, bias, _channel_shape(input))


# ------------------------------------------------------------------ layer norm
def layer_norm(input: Tensor, normalized_shape, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """y = (x - mean) / sqrt(var + eps) * weight + bias, statistics over the trailing dims
    given by normalized_shape (e.g. (C, H, W) or (features,)); weight and bias have that
    shape and broadcast over the leading dims."""
    _check_float("layer_norm", input)
    check_eps("layer_norm", eps)
    normalized_shape = ((normalized_shape,) if isinstance(normalized_shape, int)
                        else tuple(normalized_shape))
    k = len(normalized_shape)
    if k == 0:
        raise ValueError(f"layer_norm: normalized_shape must name at least one dim, got "
                         f"() (input {tuple(input.shape)})")
    if tuple(input.shape[input.ndim - k:]) != normalized_shape or input.ndim < k:
        raise ValueError(f"layer_norm: the trailing dims of input {tuple(input.shape)} "
                         f"must equal normalized_shape {normalized_shape}")
    for name, param in (("weight", weight), ("bias", bias)):
        if param is not None and tuple(param.shape) != normalized_shape:
            raise ValueError(f"layer_norm: {name} should have shape normalized_shape "
                             f"{normalized_shape}, got {tuple(param.shape)}")
    x_hat = Standardize(tuple(range(input.ndim - k, input.ndim)), eps)(input)
    y = x_hat if weight is None else x_hat * weight
    return y if bias is None else y + bias


# ------------------------------------------------------------------ embedding
def embedding(input, weight: Tensor, padding_idx: int | None = None) -> Tensor:
    """y = weight[input]: input integer indices (any shape), weight (num, dim) ->
    y (*input.shape, dim). The backward scatters the gradient back into the rows; an index
    used twice receives the sum of both gradients. Rows at padding_idx get no gradient
    (a negative padding_idx counts from the end, as in PyTorch)."""
    require_tensor(input, "embedding", "input")
    require_tensor(weight, "embedding", "weight")
    if weight.ndim != 2:
        raise ValueError(f"embedding: weight must be 2-D (num_embeddings, embedding_dim), "
                         f"got shape {tuple(weight.shape)}")
    num = weight.shape[0]
    if padding_idx is not None and not -num <= padding_idx < num:
        raise ValueError(f"embedding: padding_idx {padding_idx} must be within "
                         f"num_embeddings {num} (in [{-num}, {num}))")
    indices = input.data
    if indices.dtype.kind not in "iu":
        raise TypeError(f"embedding: indices must be integers, got {indices.dtype}")
    if indices.size and (int(indices.min()) < 0 or int(indices.max()) >= num):
        raise IndexError(f"embedding: indices must be in [0, {num}), got "
                         f"[{int(indices.min())}, {int(indices.max())}]")
    rows = getitem(weight, indices)                          # (*input.shape, dim)
    if padding_idx is None:
        return rows
    padding_idx = padding_idx % num
    keep = (indices != padding_idx)[..., None]               # (*input.shape, 1)
    return where(keep, rows, rows.detach())
