"""Fused pointwise kernels: one pass over memory instead of three.

The derivative of relu, leaky_relu, abs, clamp and dropout is a constant mask, and minigrad
multiplies by it (`MaskMul`). In numpy, building the mask and applying it costs several
full passes and temporaries (`where(x > 0, 1, slope)`, then `where(mask != 0, x, 0) *
mask`); on a DCGAN's activations that was a fifth of a training step. Here each is one
loop, parallel on the CPU (numba) and one CUDA kernel on the GPU (CuPy ElementwiseKernel).

    leaky_relu(x, slope) -> (y, mask)    y = x if x > 0 else slope * x;  mask = 1 or slope
    mask_mul(x, mask)    -> y            y = x * mask, and exactly 0 where mask == 0
                                         (so inf or nan in x cannot leak through a 0)

The reference versions (`*_reference`) are the numpy expressions the tests compare with.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from . import _is_cupy
from .cpu import _launch

_PARALLEL_MIN = 1 << 15   # below this many elements a single thread is faster


# ----------------------------------------------------------------- references
def leaky_relu_reference(x, slope: float):
    mask = np.where(x > 0, 1.0, slope).astype(x.dtype)
    return mask_mul_reference(x, mask), mask


def mask_mul_reference(x, mask):
    return np.where(mask != 0, x, 0).astype(x.dtype) * mask


# ----------------------------------------------------------------- CPU (numba)
# Each loop is written once, as plain Python, and compiled twice: with parallel=True (prange
# splits the loop over the cores) for large arrays, and serially for small ones, where
# waking the threads would cost more than the work. (In the serial build prange is range.)
def _leaky_relu_loop(x, slope, y, mask):
    for i in prange(x.size):
        if x[i] > 0:
            y[i] = x[i]
            mask[i] = 1
        else:
            y[i] = x[i] * slope if slope != 0 else 0   # relu(-inf) = 0, not nan
            mask[i] = slope


def _mask_mul_loop(x, mask, y):
    for i in prange(x.size):
        y[i] = x[i] * mask[i] if mask[i] != 0 else 0


_leaky_relu_parallel = njit(parallel=True, cache=True)(_leaky_relu_loop)
_leaky_relu_serial = njit(cache=True)(_leaky_relu_loop)
_mask_mul_parallel = njit(parallel=True, cache=True)(_mask_mul_loop)
_mask_mul_serial = njit(cache=True)(_mask_mul_loop)


# ----------------------------------------------------------------- GPU (CuPy)
_gpu_kernels = {}


def _gpu(name: str):
    if name not in _gpu_kernels:
        import cupy  # noqa: PLC0415 (GPU only)

        if name == "leaky_relu":
            _gpu_kernels[name] = cupy.ElementwiseKernel(
                "T x, T slope", "T y, T mask",
                "if (x > 0) { y = x; mask = 1; } "
                "else { y = (slope != 0) ? x * slope : (T)0; mask = slope; }",
                "minigrad_leaky_relu")
        else:
            _gpu_kernels[name] = cupy.ElementwiseKernel(
                "T x, T mask", "T y", "y = (mask != 0) ? x * mask : (T)0",
                "minigrad_mask_mul")
    return _gpu_kernels[name]


# ----------------------------------------------------------------- public
def leaky_relu(x, slope: float):
    """(y, mask) for y = leaky_relu(x, slope) (slope 0: relu); same shape and dtype as x."""
    if _is_cupy(x):
        return _gpu("leaky_relu")(x, x.dtype.type(slope))
    x = np.ascontiguousarray(x)
    y, mask = np.empty_like(x), np.empty_like(x)
    kernel = _leaky_relu_parallel if x.size >= _PARALLEL_MIN else _leaky_relu_serial
    _launch(kernel, x.reshape(-1), x.dtype.type(slope), y.reshape(-1), mask.reshape(-1))
    return y, mask


def mask_mul(x, mask):
    """x * mask with 0 wherever mask is 0. x and mask have the same shape and dtype;
    if they do not (a broadcast mask), the numpy expression is used."""
    if _is_cupy(x):
        return _gpu("mask_mul")(x, mask)
    if x.shape != mask.shape or x.dtype != mask.dtype:
        return mask_mul_reference(x, mask)
    x, mask = np.ascontiguousarray(x), np.ascontiguousarray(mask)
    y = np.empty_like(x)
    kernel = _mask_mul_parallel if x.size >= _PARALLEL_MIN else _mask_mul_serial
    _launch(kernel, x.reshape(-1), mask.reshape(-1), y.reshape(-1))
    return y
