"""Adam's update, fused: one pass over p, g, m and v instead of thirteen (and on the GPU one
kernel launch for a whole parameter group: adam_update_many, below).

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
                          eps: float, weight_decay: float = 0.0, max_v=None) -> None:
    """The formula with array operations (numpy or CuPy), in place on p, m and v.

    max_v (AMSGrad, Reddi et al. 2018): the largest v seen so far, in place; the step then
    divides by sqrt(max_v) in place of sqrt(v), so that it never grows because v shrank:

        max_v = maximum(max_v, v);   denom = sqrt(max_v) / sqrt(1 - beta2 ** t) + eps
    """
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
    xp = _array_module(v)
    second_moment = v
    if max_v is not None:
        xp.maximum(max_v, v, out=max_v)
        second_moment = max_v
    denom = xp.sqrt(second_moment) / sqrt_bias2 + eps_
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


# ----------------------------------------------------------------- GPU, many tensors at once
# On the GPU a DCGAN step is bound by the host: each kernel launch costs it 10-20 us, and
# Adam launched one kernel per parameter (18 a step). PyTorch's foreach/"multi-tensor" Adam
# launches one kernel for a whole list of tensors, and so does this: the addresses of up to
# MAX_TENSORS parameters (and of their gradients and moments) travel in one struct, passed
# by value as a kernel argument, so nothing is copied to the GPU first. The kernel walks all
# their elements as one long array: element i belongs to the tensor t with
# start[t] <= i < start[t + 1] (a short scan: a handful of tensors), and gets the same
# formula, in the same order of operations, as the one-tensor kernel above: the same bits.
MAX_TENSORS = 48            # 4 pointers and one start each: 1.9 KB, under CUDA's 4 KB
_MANY_SOURCE = f"#define MAX_TENSORS {MAX_TENSORS}\n" + r"""
struct TensorList {                 // addresses as 64-bit integers, then each tensor's start
    unsigned long long p[MAX_TENSORS], g[MAX_TENSORS], m[MAX_TENSORS], v[MAX_TENSORS];
    long long start[MAX_TENSORS + 1];
};

template <typename T>
__global__ void adam_update_many(TensorList list, int count, T wd, T lerp_w, T small,
                                 T beta2, T one_minus_beta2, T sqrt_bias2, T eps,
                                 T step_size) {
    const long long total = list.start[count];
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < total;
         i += (long long)blockDim.x * gridDim.x) {
        int t = 0;
        while (i >= list.start[t + 1]) ++t;            // the tensor that element i is in
        const long long j = i - list.start[t];
        T* p = (T*)list.p[t];
        const T* g = (const T*)list.g[t];
        T* m = (T*)list.m[t];
        T* v = (T*)list.v[t];
        const T gi = (wd != (T)0) ? g[j] + wd * p[j] : g[j];
        const T mi = (small != (T)0) ? m[j] + lerp_w * (gi - m[j]) : gi - (gi - m[j]) * lerp_w;
        const T vi = v[j] * beta2 + one_minus_beta2 * gi * gi;
        m[j] = mi;
        v[j] = vi;
        p[j] = p[j] - step_size * mi / (sqrt(vi) / sqrt_bias2 + eps);
    }
}
"""
_TENSOR_LIST = np.dtype({
    "names": ["p", "g", "m", "v", "start"],
    "formats": [(np.uint64, MAX_TENSORS)] * 4 + [(np.int64, MAX_TENSORS + 1)]})
_many_kernels = {}


def _gpu_many(dtype):
    """adam_update_many<float> or <double>, compiled once (fused multiply-adds off, as in
    the one-tensor kernel: the same roundings as the reference)."""
    if dtype not in _many_kernels:
        import cupy  # noqa: PLC0415 (GPU only)

        ctype = "float" if dtype == np.float32 else "double"
        module = cupy.RawModule(code=_MANY_SOURCE, options=("--fmad=false",),
                                name_expressions=[f"adam_update_many<{ctype}>"])
        _many_kernels[dtype] = module.get_function(f"adam_update_many<{ctype}>")
    return _many_kernels[dtype]


def _gpu_update_many(params, grads, exp_avgs, exp_avg_sqs, scalars) -> None:
    """One launch for up to MAX_TENSORS parameters of one dtype, all contiguous."""
    table = np.zeros(1, dtype=_TENSOR_LIST)                      # the struct, on the host
    count = len(params)
    for name, arrays in (("p", params), ("g", grads), ("m", exp_avgs), ("v", exp_avg_sqs)):
        table[name][0, :count] = [a.data.ptr for a in arrays]
    table["start"][0, 1:count + 1] = np.cumsum([p.size for p in params])
    total = int(table["start"][0, count])
    if total == 0:
        return
    blocks = min((total + 255) // 256, 65535 * 8)
    _gpu_many(params[0].dtype)((blocks,), (256,), (table, np.int32(count), *scalars))


def adam_update_many(params, grads, exp_avgs, exp_avg_sqs, *, step: int, lr: float,
                     beta1: float, beta2: float, eps: float, weight_decay: float = 0.0) -> None:
    """adam_update for a list of parameters that share their step count and
    hyperparameters (an optimizer's parameter group), with the same bits. On the CPU it
    is adam_update on each. On the GPU the float32 and float64 parameters whose p, m and v
    are contiguous go MAX_TENSORS at a time to one kernel launch per dtype (above); any
    other goes alone. (minigrad has one GPU, "gpu": the launches are not grouped by
    device, as PyTorch's are.) Every parameter is checked before any is updated."""
    lists = (params, grads, exp_avgs, exp_avg_sqs)
    if len({len(a) for a in lists}) != 1:
        raise ValueError(f"adam_update_many: got {len(params)} params, {len(grads)} grads, "
                         f"{len(exp_avgs)} exp_avgs and {len(exp_avg_sqs)} exp_avg_sqs; "
                         f"one of each per parameter")
    for p, g, m, v in zip(*lists):
        _check("adam_update_many", p, g, m, v)
    hyper = dict(step=step, lr=lr, beta1=beta1, beta2=beta2, eps=eps,
                 weight_decay=weight_decay)
    batches = {}                                 # dtype -> [(p, g, m, v), ...] for one launch
    for p, g, m, v in zip(*lists):
        if not (_is_cupy(p) and p.dtype in (np.float32, np.float64) and p.flags.c_contiguous
                and m.flags.c_contiguous and v.flags.c_contiguous):
            _update_one(p, g, m, v, **hyper)     # the CPU, or an odd layout: one at a time
            continue
        if not g.flags.c_contiguous:
            g = _array_module(g).ascontiguousarray(g)
        batches.setdefault(p.dtype, []).append((p, g, m, v))
    for dtype, batch in batches.items():
        scalars = _scalars(dtype, step, lr, beta1, beta2, eps, weight_decay)
        for first in range(0, len(batch), MAX_TENSORS):
            chunk = batch[first:first + MAX_TENSORS]
            _gpu_update_many(*zip(*chunk), scalars)


# ----------------------------------------------------------------- public
def _check(op: str, p, g, m, v) -> None:
    """g, m and v must be arrays of p's shape and dtype, on p's device."""
    for name, a in (("grad", g), ("exp_avg", m), ("exp_avg_sq", v)):
        if (a.shape != p.shape or a.dtype != p.dtype
                or type(a) is not type(p) and _is_cupy(a) != _is_cupy(p)):
            raise ValueError(
                f"{op}: {name} is {a.dtype} {tuple(a.shape)} on "
                f"{'gpu' if _is_cupy(a) else 'cpu'}; the parameter is {p.dtype} "
                f"{tuple(p.shape)} on {'gpu' if _is_cupy(p) else 'cpu'}")


def adam_update(p, g, m, v, *, step: int, lr: float, beta1: float, beta2: float,
                eps: float, weight_decay: float = 0.0) -> None:
    """One Adam step for one parameter, in place on p (the parameter), m and v (its first
    and second moments); g is its gradient. All four are arrays of one shape and float
    dtype on one device, p, m and v contiguous. step counts from 1."""
    _check("adam_update", p, g, m, v)
    _update_one(p, g, m, v, step=step, lr=lr, beta1=beta1, beta2=beta2, eps=eps,
                weight_decay=weight_decay)


def _update_one(p, g, m, v, *, step, lr, beta1, beta2, eps, weight_decay) -> None:
    """adam_update without the checks (its callers made them)."""
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
