"""minigrad: a from-scratch tensor and autograd engine, written to be read.

    import minigrad as mg
    x = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()          # x.grad == 2 x

Reading order: tensor.py (the data) -> autograd.py (the tape) -> ops/ (each op with its
derivative) -> nn/ (layers) -> optim/ (updates) -> check.py (how derivatives are proved).
"""


def _load_numpy_with_quiet_blas_threads() -> None:
    """Import numpy with OPENBLAS_THREAD_TIMEOUT=4, when minigrad is imported first.

    After each matrix product OpenBLAS's worker threads spin, by default for ~2^28 CPU
    cycles (~0.1 s), waiting for the next one. A training step alternates GEMMs with numba
    kernels (im2col, col2im, activations) that want the same cores, and on 2 cores the
    spinning halved their speed (bench/README.md: col2im 16 -> 9.5 ms per DCGAN step, the
    whole step ~140 -> ~125 ms). OpenBLAS reads the setting once, as numpy loads it, so it
    can only be given here, before numpy's first import, and it is removed again at once
    (child processes do not inherit it). If numpy was imported before minigrad, or the
    variable is already set, nothing changes: export OPENBLAS_THREAD_TIMEOUT=4 yourself.
    """
    import os
    import sys

    if "numpy" in sys.modules or "OPENBLAS_THREAD_TIMEOUT" in os.environ:
        return
    os.environ["OPENBLAS_THREAD_TIMEOUT"] = "4"        # 2^4 cycles: sleep almost at once
    try:
        import numpy  # noqa: F401
    finally:
        del os.environ["OPENBLAS_THREAD_TIMEOUT"]


_load_numpy_with_quiet_blas_threads()

from . import backend  # noqa: E402 (the rest of minigrad, after numpy)
from .autograd import (Function, enable_grad, grad, inference_mode, is_grad_enabled,
                       no_grad, set_grad_enabled)
from .backend import get_default_dtype, gpu_available, manual_seed, set_default_dtype
from .check import GradcheckError, gradcheck, gradgradcheck
from .creation import (arange, as_tensor, bool_, empty, empty_like, eye, float32, float64,
                       from_numpy, full, full_like, int32, int64, is_tensor, linspace, ones,
                       ones_like, rand, rand_like, randint, randn, randn_like, randperm,
                       tensor, uint8, zeros, zeros_like)
from .ops import (abs, add, allclose, amax, amin, argmax, argmin, cat, ceil, chunk, clamp,
                  cos, cumsum, div, einsum, equal, erf, exp, expm1, flatten, flip, floor,
                  floor_divide, gather, leaky_relu, log, log1p, logical_and, logical_not,
                  logical_or, logical_xor, logsumexp, matmul, maximum, mean, meshgrid,
                  minimum, mul, narrow, neg, permute, pow, relu, remainder, repeat_interleave,
                  reshape, roll, round, sigmoid, sign, sin, softplus, split, sqrt, squeeze,
                  stack, sub, sum, tanh, transpose, tril, triu, trunc, unbind, unsqueeze, var,
                  where)
from .ops.loss import log_softmax, softmax
from .ops.reduce import std
from .ops import max, min  # noqa: A004 (PyTorch's names)
from .ops.reduce import norm
from .serialize import SerializationError, load, save
from .legacy import CPU_TYPES, device
from . import cuda  # noqa: E402 (mg.cuda.is_available(), mg.cuda.FloatTensor)
from .ops.shape import clone
from .tensor import Tensor, require_tensor

clip = clamp                  # PyTorch's other names for the same things
# dtype=torch.float (the DCGAN tutorial), torch.long (labels), ...
float = float32  # noqa: A001
double = float64
long = int64
int = int32  # noqa: A001
bool = bool_  # noqa: A001
# torch.FloatTensor(2, 3) & co., and mg.cuda.FloatTensor: see legacy.py
BoolTensor, ByteTensor = CPU_TYPES["BoolTensor"], CPU_TYPES["ByteTensor"]
DoubleTensor, FloatTensor = CPU_TYPES["DoubleTensor"], CPU_TYPES["FloatTensor"]
IntTensor, LongTensor = CPU_TYPES["IntTensor"], CPU_TYPES["LongTensor"]


# PyTorch's functions whose work is a Tensor method here: torch.bmm(a, b) is a.bmm(b)
def isnan(x: Tensor) -> Tensor:
    require_tensor(x, "isnan")
    return x.isnan()


def isfinite(x: Tensor) -> Tensor:
    require_tensor(x, "isfinite")
    return x.isfinite()


def mm(input: Tensor, mat2: Tensor) -> Tensor:
    require_tensor(input, "mm")
    return input.mm(mat2)


def bmm(input: Tensor, mat2: Tensor) -> Tensor:
    require_tensor(input, "bmm")
    return input.bmm(mat2)


def rsqrt(x: Tensor) -> Tensor:
    require_tensor(x, "rsqrt")
    return x.rsqrt()


def square(x: Tensor) -> Tensor:
    require_tensor(x, "square")
    return x.square()


def lerp(input: Tensor, end: Tensor, weight) -> Tensor:
    require_tensor(input, "lerp")
    return input.lerp(end, weight)


def numel(x: Tensor) -> int:
    require_tensor(x, "numel")
    return x.numel()


__version__ = "0.1.0"

from . import optim  # noqa: E402 (after the engine it updates)
from . import viz  # noqa: E402,F401 (graph drawing, backward trace)
from . import nn  # noqa: E402,F401 (layers, built on everything above)

# `from minigrad import *` leaves Python's own float, int, bool, abs, max, min, pow, round
# and sum alone (mg.max is a reduction; the builtin max(1, 2) must keep working), and
# keeps the helpers require_tensor and CPU_TYPES out
__all__ = [name for name in dir() if not name.startswith("_")
           and name not in ("float", "int", "bool", "abs", "max", "min", "pow", "round",
                            "sum", "require_tensor", "CPU_TYPES")]
