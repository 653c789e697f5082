"""Fused pointwise kernels: one pass over memory instead of three.

The derivative of relu, leaky_relu, abs, clamp and dropout is a constant mask, and minigrad
multiplies by it. In numpy, building the mask and applying it costs several full passes
and temporaries (`where(x > 0, 1, slope)`, then `where(mask != 0, x, 0) * mask`); on a
DCGAN's activations that was a fifth of a training step. Here each is one loop, parallel
on the CPU (numba) and one CUDA kernel on the GPU (CuPy ElementwiseKernel).

    leaky_relu(x, slope) -> (y, positive)  y = x if x > 0 else slope * x;  positive = x > 0
                                           (relu(-inf) = 0, and nan stays nan, as in PyTorch)
    slope_mul(x, positive, slope) -> y     y = x where positive, else slope * x: leaky_relu
                                           with the switch pattern of another input (its
                                           derivative); exactly 0 where slope == 0
    mask_mul(x, mask)    -> y              y = x * mask, and exactly 0 where mask == 0
                                           (so inf or nan in x cannot leak through a 0)
    sigmoid(x)           -> y              y = 1 / (1 + e^-x), computed as e^x / (1 + e^x)
                                           for negative x, so that nothing overflows
                                           (float32 for an integer or bool x)
    bce_with_logits(x, t) -> loss          loss = max(x, 0) - x t + log(1 + e^-|x|)
    bce_with_logits_grad(g, x, t) -> gx    gx = g (sigmoid(x) - t): the loss's input
                                           gradient (g the gradient of the loss)
    inverse_std(var, eps) -> inv_std       1 / sqrt(var + eps): batch norm's, per channel
                                           (the numpy expression on the CPU: C numbers)

Sigmoid and BCE are formulas of nine and eight array calls, BCE's input gradient three ops
(sigmoid, subtract, multiply), inverse_std three calls. On the
CPU that costs little, but on the GPU every CuPy call is a kernel launch of 10-25 us of host
time: the composed sigmoid took ~100 us per call against ~10 us as one kernel, and a DCGAN
step at batch 64 is bound by exactly this host time (bench/README.md, "GPU").

leaky_relu keeps its derivative as a bool array (1 byte per value) rather than a float
mask of 1s and slopes (4 bytes): it lives until backward, beside every activation of D.

The reference versions (`*_reference`) are the numpy expressions the tests compare with.
"""
from __future__ import annotations

import math

import numpy as np
from numba import prange

from . import _array_module, _contiguous, _is_cupy
from .cpu import _launch, by_size, compile_twice


# ----------------------------------------------------------------- references
def leaky_relu_reference(x, slope: float):
    positive = x > 0
    y = slope_mul_reference(x, positive, slope)
    return np.where(np.isnan(x), x, y), positive       # nan in, nan out (also for relu)


def slope_mul_reference(x, positive, slope: float):
    mask = np.where(positive, 1.0, slope).astype(x.dtype)
    return mask_mul_reference(x, mask)


def mask_mul_reference(x, mask):
    return np.where(mask != 0, x, 0).astype(x.dtype) * mask


def sigmoid_reference(x):
    xp = _array_module(x)
    e = xp.exp(-xp.abs(x))                       # in (0, 1]: never overflows
    return xp.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


def bce_with_logits_reference(x, t):
    xp = _array_module(x)
    loss = xp.maximum(x, 0) - x * t + xp.log1p(xp.exp(-xp.abs(x)))
    return loss.astype(xp.result_type(x, t), copy=False)


def bce_with_logits_grad_reference(g, x, t):
    xp = _array_module(x)
    return (g * (sigmoid_reference(x) - t)).astype(xp.result_type(g, x, t), copy=False)


# ----------------------------------------------------------------- CPU (numba)
# Each loop is compiled twice, parallel and serial (kernels/cpu.py, compile_twice).
def _leaky_relu_loop(x, slope, y, positive):
    for i in prange(x.size):
        if x[i] > 0:
            y[i] = x[i]
            positive[i] = True
        else:                                          # x <= 0, or x is nan
            if slope != 0:
                y[i] = x[i] * slope
            else:
                y[i] = 0 if x[i] <= 0 else x[i]        # relu(-inf) = 0; relu(nan) = nan
            positive[i] = False


def _slope_mul_loop(x, positive, slope, y):
    for i in prange(x.size):
        if positive[i]:
            y[i] = x[i]
        else:
            y[i] = x[i] * slope if slope != 0 else 0


def _mask_mul_loop(x, mask, y):
    for i in prange(x.size):
        y[i] = x[i] * mask[i] if mask[i] != 0 else 0


def _sigmoid_loop(x, y):
    for i in prange(x.size):
        e = math.exp(-abs(x[i]))
        y[i] = 1 / (1 + e) if x[i] >= 0 else e / (1 + e)


def _bce_with_logits_loop(x, t, loss):
    for i in prange(x.size):
        loss[i] = max(x[i], 0) - x[i] * t[i] + math.log1p(math.exp(-abs(x[i])))


def _bce_with_logits_grad_loop(g, x, t, grad_x):
    for i in prange(x.size):
        e = math.exp(-abs(x[i]))                       # sigmoid(x), as _sigmoid_loop,
        grad_x[i] = 1 / (1 + e) if x[i] >= 0 else e / (1 + e)  # rounded to x's dtype
        grad_x[i] = g[i] * (grad_x[i] - t[i])


_leaky_relu_builds = compile_twice(_leaky_relu_loop)
_slope_mul_builds = compile_twice(_slope_mul_loop)
_mask_mul_builds = compile_twice(_mask_mul_loop)
_sigmoid_builds = compile_twice(_sigmoid_loop)
_bce_with_logits_builds = compile_twice(_bce_with_logits_loop)
_bce_with_logits_grad_builds = compile_twice(_bce_with_logits_grad_loop)


# ----------------------------------------------------------------- GPU (CuPy)
# Each kernel as CuPy's ElementwiseKernel takes it: (inputs, outputs, the body run for
# every element). T is the float type of the call (float or double); it is compiled once
# per name and type, on first use.
_GPU_SOURCES = {
    "leaky_relu": ("T x, T slope", "T y, bool positive",
                   "positive = x > 0; y = positive ? x : ((slope != 0) ? x * slope"
                   " : ((x <= 0) ? (T)0 : x));"),
    "slope_mul": ("T x, bool positive, T slope", "T y",
                  "y = positive ? x : ((slope != 0) ? x * slope : (T)0);"),
    "mask_mul": ("T x, T mask", "T y", "y = (mask != 0) ? x * mask : (T)0;"),
    "sigmoid": ("T x", "T y",
                "const T e = exp(-fabs(x)); y = (x >= 0) ? (T)1 / ((T)1 + e) : e / ((T)1 + e);"),
    "bce_with_logits": ("T x, T t", "T loss",
                        "loss = max(x, (T)0) - x * t + log1p(exp(-fabs(x)));"),
    "bce_with_logits_grad": ("T g, T x, T t", "T grad_x",
                             "const T e = exp(-fabs(x));"
                             " const T s = (x >= 0) ? (T)1 / ((T)1 + e) : e / ((T)1 + e);"
                             " grad_x = g * (s - t);"),
    "inverse_std": ("T var, T eps", "T inv_std", "inv_std = (T)1 / sqrt(var + eps);"),
}
_gpu_kernels = {}


def _gpu(name: str):
    if name not in _gpu_kernels:
        import cupy  # noqa: PLC0415 (GPU only)

        inputs, outputs, body = _GPU_SOURCES[name]
        _gpu_kernels[name] = cupy.ElementwiseKernel(inputs, outputs, body, f"minigrad_{name}")
    return _gpu_kernels[name]


# ----------------------------------------------------------------- public
def leaky_relu(x, slope: float):
    """(y, positive) for y = leaky_relu(x, slope) (slope 0: relu): y of x's shape and dtype,
    positive = (x > 0) as a bool array, what slope_mul needs for the derivative."""
    if _is_cupy(x):
        return _gpu("leaky_relu")(x, x.dtype.type(slope))
    (x,) = _contiguous([x])
    y, positive = np.empty_like(x), np.empty(x.shape, dtype=np.bool_)
    kernel = by_size(_leaky_relu_builds, x.size)
    _launch(kernel, x.reshape(-1), x.dtype.type(slope), y.reshape(-1), positive.reshape(-1))
    return y, positive


def slope_mul(x, positive, slope: float):
    """y = x where positive, else slope * x (exactly 0 there when slope is 0). positive is a
    bool array of x's shape; if it is not (broadcast), the numpy expression is used."""
    if _is_cupy(x):
        return _gpu("slope_mul")(x, positive, x.dtype.type(slope))
    if x.shape != positive.shape or positive.dtype != np.bool_:
        return slope_mul_reference(x, positive, slope)
    x, positive = _contiguous([x, positive])
    y = np.empty_like(x)
    kernel = by_size(_slope_mul_builds, x.size)
    _launch(kernel, x.reshape(-1), positive.reshape(-1), x.dtype.type(slope), y.reshape(-1))
    return y


def mask_mul(x, mask):
    """x * mask with 0 wherever mask is 0. x and mask have the same shape and dtype;
    if they do not (a broadcast mask), the numpy expression is used."""
    if _is_cupy(x):
        return _gpu("mask_mul")(x, mask)
    if x.shape != mask.shape or x.dtype != mask.dtype:
        return mask_mul_reference(x, mask)
    x, mask = _contiguous([x, mask])
    y = np.empty_like(x)
    kernel = by_size(_mask_mul_builds, x.size)
    _launch(kernel, x.reshape(-1), mask.reshape(-1), y.reshape(-1))
    return y


def _broadcasts_to(shape: tuple, target: tuple) -> bool:
    """Whether an array of `shape` broadcasts to `target` without growing it."""
    try:
        return np.broadcast_shapes(shape, target) == tuple(target)
    except ValueError:
        return False


def _float(*arrays) -> bool:
    """True when the arrays share one shape and one float dtype: what the fused loops take."""
    first = arrays[0]
    return first.dtype in (np.float32, np.float64) and all(
        a.shape == first.shape and a.dtype == first.dtype for a in arrays[1:])


def sigmoid(x):
    """y = 1 / (1 + e^-x), y of x's shape and dtype, without overflow for any x
    (sigmoid(-inf) = 0, sigmoid(inf) = 1). An integer or bool x gives float32, as in
    PyTorch. Not a float32 or float64 array (float16): the numpy expression."""
    if x.dtype.kind != "f":
        x = x.astype(np.float32)
    if not _float(x):
        return sigmoid_reference(x)
    if _is_cupy(x):
        return _gpu("sigmoid")(x)
    (x,) = _contiguous([x])
    y = np.empty_like(x)
    _launch(by_size(_sigmoid_builds, x.size), x.reshape(-1), y.reshape(-1))
    return y


def bce_with_logits(x, t):
    """loss = max(x, 0) - x t + log(1 + e^-|x|) elementwise, for logits x and targets t of
    one shape and float dtype (otherwise: the numpy expression, with numpy's promotion)."""
    if not _float(x, t):
        return bce_with_logits_reference(x, t)
    if _is_cupy(x):
        return _gpu("bce_with_logits")(x, t)
    x, t = _contiguous([x, t])
    loss = np.empty_like(x)
    _launch(by_size(_bce_with_logits_builds, x.size), x.reshape(-1), t.reshape(-1),
            loss.reshape(-1))
    return loss


def bce_with_logits_grad(g, x, t):
    """grad_x = g (sigmoid(x) - t) elementwise: BCE-with-logits' input gradient, with g the
    gradient of the loss. Each operation rounds as in the composition sigmoid, subtract,
    multiply (the same bits), in one pass instead of three (and on the GPU one launch).
    g may be smaller than x and t, broadcast over them (a reduced loss's gradient, one
    number: the CPU loop first copies it into a contiguous array of x's shape); other
    arrays of different shapes, or of different dtypes, get the numpy expression, with
    numpy's broadcasting and promotion."""
    if g.shape != x.shape and x.shape == t.shape and _broadcasts_to(g.shape, x.shape):
        g = _array_module(x).broadcast_to(g, x.shape)
    if not _float(g, x, t):
        return bce_with_logits_grad_reference(g, x, t)
    if _is_cupy(x):
        return _gpu("bce_with_logits_grad")(g, x, t)
    g, x, t = _contiguous([g, x, t])
    grad_x = np.empty_like(x)
    _launch(by_size(_bce_with_logits_grad_builds, x.size), g.reshape(-1), x.reshape(-1),
            t.reshape(-1), grad_x.reshape(-1))
    return grad_x


def inverse_std(var, eps: float):
    """1 / sqrt(var + eps), in var's dtype: batch norm's inv_std from its variance."""
    if _is_cupy(var):
        return _gpu("inverse_std")(var, var.dtype.type(eps))
    return (1.0 / np.sqrt(var + eps)).astype(var.dtype, copy=False)


def erf(x):
    """The error function erf(x) = 2/sqrt(pi) * integral from 0 to x of e^(-t^2) dt, on
    either device (scipy's, or CuPy's copy of it): GELU's Gaussian CDF is
    (1 + erf(x / sqrt(2))) / 2."""
    if _is_cupy(x):
        import cupyx.scipy.special  # noqa: PLC0415 (GPU only)

        return cupyx.scipy.special.erf(x)
    import scipy.special  # noqa: PLC0415

    return scipy.special.erf(x)
