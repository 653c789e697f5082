"""Fused pointwise kernels: one pass over memory instead of three.

The derivative of relu, leaky_relu, abs, clamp and dropout is a constant mask, and minigrad
multiplies by it. In numpy, building the mask and applying it costs several full passes
and temporaries (`where(x > 0, 1, slope)`, then `where(mask != 0, x, 0) * mask`); on a
DCGAN's activations that was a fifth of a training step. Here each is one loop, parallel
on the CPU (numba) and one CUDA kernel on the GPU (CuPy ElementwiseKernel).

    leaky_relu(x, slope) -> (y, positive)  y = x if x > 0 else slope * x;  positive = x > 0
    slope_mul(x, positive, slope) -> y     y = x where positive, else slope * x: leaky_relu
                                           with the switch pattern of another input (its
                                           derivative); exactly 0 where slope == 0
    mask_mul(x, mask)    -> y              y = x * mask, and exactly 0 where mask == 0
                                           (so inf or nan in x cannot leak through a 0)

leaky_relu keeps its derivative as a bool array (1 byte per value) rather than a float
mask of 1s and slopes (4 bytes): it lives until backward, beside every activation of D.

The reference versions (`*_reference`) are the numpy expressions the tests compare with.
"""
from __future__ import annotations

import numpy as np
from numba import prange

from . import _is_cupy
from .cpu import _launch, by_size, compile_twice


# ----------------------------------------------------------------- references
def leaky_relu_reference(x, slope: float):
    positive = x > 0
    return slope_mul_reference(x, positive, slope), positive


def slope_mul_reference(x, positive, slope: float):
    mask = np.where(positive, 1.0, slope).astype(x.dtype)
    return mask_mul_reference(x, mask)


def mask_mul_reference(x, mask):
    return np.where(mask != 0, x, 0).astype(x.dtype) * mask


# ----------------------------------------------------------------- CPU (numba)
# Each loop is compiled twice, parallel and serial (kernels/cpu.py, compile_twice).
def _leaky_relu_loop(x, slope, y, positive):
    for i in prange(x.size):
        if x[i] > 0:
            y[i] = x[i]
            positive[i] = True
        else:
            y[i] = x[i] * slope if slope != 0 else 0   # relu(-inf) = 0, not nan
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


_leaky_relu_builds = compile_twice(_leaky_relu_loop)
_slope_mul_builds = compile_twice(_slope_mul_loop)
_mask_mul_builds = compile_twice(_mask_mul_loop)


# ----------------------------------------------------------------- GPU (CuPy)
_gpu_kernels = {}


def _gpu(name: str):
    if name not in _gpu_kernels:
        import cupy  # noqa: PLC0415 (GPU only)

        if name == "leaky_relu":
            _gpu_kernels[name] = cupy.ElementwiseKernel(
                "T x, T slope", "T y, bool positive",
                "positive = x > 0; "
                "y = positive ? x : ((slope != 0) ? x * slope : (T)0);",
                "minigrad_leaky_relu")
        elif name == "slope_mul":
            _gpu_kernels[name] = cupy.ElementwiseKernel(
                "T x, bool positive, T slope", "T y",
                "y = positive ? x : ((slope != 0) ? x * slope : (T)0);",
                "minigrad_slope_mul")
        else:
            _gpu_kernels[name] = cupy.ElementwiseKernel(
                "T x, T mask", "T y", "y = (mask != 0) ? x * mask : (T)0",
                "minigrad_mask_mul")
    return _gpu_kernels[name]


# ----------------------------------------------------------------- public
def leaky_relu(x, slope: float):
    """(y, positive) for y = leaky_relu(x, slope) (slope 0: relu): y of x's shape and dtype,
    positive = (x > 0) as a bool array, what slope_mul needs for the derivative."""
    if _is_cupy(x):
        return _gpu("leaky_relu")(x, x.dtype.type(slope))
    x = np.ascontiguousarray(x)
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
    x, positive = np.ascontiguousarray(x), np.ascontiguousarray(positive)
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
    x, mask = np.ascontiguousarray(x), np.ascontiguousarray(mask)
    y = np.empty_like(x)
    kernel = by_size(_mask_mul_builds, x.size)
    _launch(kernel, x.reshape(-1), mask.reshape(-1), y.reshape(-1))
    return y
