"""Adam's update for one parameter, fused: one pass over p, g, m and v instead of thirteen.

Written with array operations, one Adam step is about thirteen passes over the parameter
(each `*`, `+`, `sqrt` and `/` reads and writes a whole array, and allocates one): 2.4 ms
for a DCGAN's 18 parameters on 2 CPU cores, against 0.8 ms fused (`python bench/adam.py`;
5x on the largest one, 0.2 against 1.2 ms). On the GPU each pass is a kernel
launch, and fusing them took a DCGAN step from 21.7 to 19.1 ms (H100, batch 64). Here
the same formula is one loop: parallel numba on the CPU, one CUDA kernel (CuPy
ElementwiseKernel) on the GPU. Element by element, with t the step count (1 at first):

    g = g + weight_decay * p                  (only when weight_decay != 0)
    m = m + (1 - beta1) * (g - m)             (beta1 <= 0.5: m = g - (g - m) * beta1;
                                               both are torch.lerp_'s roundings)
    v = v * beta2 + ((1 - beta2) * g) * g
    p = p - (lr / (1 - beta1 ** t)) * m / (sqrt(v) / sqrt(1 - beta2 ** t) + eps)

Every operation is rounded in the parameter's dtype, in this order, exactly as
`adam_update_reference` (the array version) rounds it: the fused kernels give the same
bits (the CUDA kernel is compiled with --fmad=false, so that `a * b + c` is not turned
into one fused multiply-add with a single rounding). The scalars are computed once, in
Python floats, and passed in the parameter's dtype.
"""
from __future__ import annotations

import functools
import math

import numpy as np
from numba import prange

from . import _array_module, _is_cupy
from .cpu import _launch, by_size, compile_twice


def _scalars(dtype, step: int, lr: float, beta1: float, beta2: float, eps: float,
             weight_decay: float) -> tuple:
    """The per-step numbers of the formula, as scalars of the parameter's dtype:
    (weight_decay, lerp weight, 1 if lerp takes its small-weight form else 0, beta2,
    1 - beta2, sqrt(bias2), eps, step_size). Worked out once per step and dtype, not once
    per parameter (on the GPU the host's time per parameter is what costs); the
    hyperparameters, which may come as numpy scalars, are made Python numbers to be the
    cache's key."""
    return _scalars_cached(dtype, int(step), float(lr), float(beta1), float(beta2),
                           float(eps), float(weight_decay))


@functools.lru_cache(maxsize=16)
def _scalars_cached(dtype, step, lr, beta1, beta2, eps, weight_decay) -> tuple:
    weight = 1.0 - beta1                      # m = lerp(m, g, weight)
    small = weight < 0.5
    bias1, bias2 = 1.0 - beta1 ** step, 1.0 - beta2 ** step
    values = (weight_decay, weight if small else 1.0 - weight, 1.0 if small else 0.0,
              beta2, 1.0 - beta2, math.sqrt(bias2), eps, lr / bias1)
    return tuple(dtype.type(value) for value in values)


# ----------------------------------------------------------------- reference
def adam_update_reference(p, g, m, v, *, step: int, lr: float, beta1: float, beta2: float,
                          eps: float, weight_decay: float = 0.0) -> None:
    """The formula with array operations (numpy or CuPy), in place on p, m and v."""
    wd, lerp_w, small, beta2_, one_minus_beta2, sqrt_bias2, eps_, step_size = _scalars(
        p.dtype, step, lr, beta1, beta2, eps, weight_decay)
    if weight_decay != 0:
        g = g + wd * p
    if small:
        m += lerp_w * (g - m)
    else:
        m[...] = g - (g - m) * lerp_w
    v *= beta2_
    v += one_minus_beta2 * g * g
    denom = _array_module(v).sqrt(v) / sqrt_bias2 + eps_
    p -= step_size * m / denom


# ----------------------------------------------------------------- CPU (numba)
# One loop over the flattened arrays, compiled parallel (large parameters) and serial
# (small ones: a bias of 64 numbers is not worth waking the threads; compile_twice). Weight
# decay, rare in GANs, is added to g before the loop (the same rounding as the reference),
# so that the loop has no branch.
def _adam_loop(p, g, m, v, lerp_w, small, beta2, one_minus_beta2, sqrt_bias2, eps,
               step_size):
    for i in prange(p.size):
        gi = g[i]
        d = gi - m[i]
        # both lerp forms, then a select: no branch inside the loop, which LLVM can then
        # vectorize (with an if/else here the loop ran slower than numpy's thirteen passes)
        m_small = m[i] + lerp_w * d
        m_large = gi - d * lerp_w
        mi = m_small if small != 0 else m_large
        vi = v[i] * beta2 + one_minus_beta2 * gi * gi
        m[i] = mi
        v[i] = vi
        p[i] = p[i] - step_size * mi / (math.sqrt(vi) / sqrt_bias2 + eps)


_adam_builds = compile_twice(_adam_loop)


# ----------------------------------------------------------------- GPU (CuPy)
_gpu_kernel = None


def _gpu():
    global _gpu_kernel
    if _gpu_kernel is None:
        import cupy  # noqa: PLC0415 (GPU only)

        _gpu_kernel = cupy.ElementwiseKernel(
            "T g, T wd, T lerp_w, T small, T beta2, T one_minus_beta2, T sqrt_bias2, T eps, "
            "T step_size",
            "T p, T m, T v",
            """
            T gi = (wd != (T)0) ? g + wd * p : g;
            m = (small != (T)0) ? m + lerp_w * (gi - m) : gi - (gi - m) * lerp_w;
            v = v * beta2 + one_minus_beta2 * gi * gi;
            p = p - step_size * m / (sqrt(v) / sqrt_bias2 + eps);
            """,
            "minigrad_adam_update", options=("--fmad=false",))
    return _gpu_kernel


# ----------------------------------------------------------------- public
def adam_update(p, g, m, v, *, step: int, lr: float, beta1: float, beta2: float,
                eps: float, weight_decay: float = 0.0) -> None:
    """One Adam step for one parameter, in place on p (the parameter), m and v (its first
    and second moments); g is its gradient. All four are arrays of one shape and float
    dtype on one device, p, m and v contiguous. step counts from 1."""
    for name, a in (("grad", g), ("exp_avg", m), ("exp_avg_sq", v)):
        if (a.shape != p.shape or a.dtype != p.dtype
                or type(a) is not type(p) and _is_cupy(a) != _is_cupy(p)):
            raise ValueError(
                f"adam_update: {name} is {a.dtype} {tuple(a.shape)} on "
                f"{'gpu' if _is_cupy(a) else 'cpu'}; the parameter is {p.dtype} "
                f"{tuple(p.shape)} on {'gpu' if _is_cupy(p) else 'cpu'}")
    scalars = _scalars(p.dtype, step, lr, beta1, beta2, eps, weight_decay)
    if _is_cupy(p):
        _gpu()(g, *scalars, p, m, v)
        return
    if not (p.flags.c_contiguous and m.flags.c_contiguous and v.flags.c_contiguous):
        adam_update_reference(p, g, m, v, step=step, lr=lr, beta1=beta1, beta2=beta2,
                              eps=eps, weight_decay=weight_decay)
        return
    wd, *scalars = scalars
    g = np.ascontiguousarray(g + wd * p if weight_decay != 0 else g)
    kernel = by_size(_adam_builds, p.size)
    _launch(kernel, p.reshape(-1), g.reshape(-1), m.reshape(-1), v.reshape(-1), *scalars)
