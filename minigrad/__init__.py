"""minigrad: a from-scratch tensor and autograd engine, written to be read.

    import minigrad as mg
    x = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()          # x.grad == 2 x

Reading order: tensor.py (the data) -> autograd.py (the tape) -> ops/ (each op with its
derivative) -> nn/ (layers) -> optim/ (updates) -> check.py (how derivatives are proved).
"""
from . import backend
from .autograd import Function, enable_grad, grad, is_grad_enabled, no_grad, set_grad_enabled
from .backend import gpu_available, manual_seed
from .check import GradcheckError, gradcheck, gradgradcheck
from .creation import (arange, as_tensor, bool_, float32, float64, full, full_like, int32,
                       int64, ones, ones_like, rand, rand_like, randint, randn, randn_like,
                       tensor, uint8, zeros, zeros_like)
from .ops import (abs, cat, clamp, exp, flatten, leaky_relu, log, matmul, maximum, mean,
                  minimum, permute, relu, reshape, sigmoid, softplus, sqrt, squeeze, stack,
                  sum, tanh, transpose, unsqueeze, var, where)
from .ops import max, min  # noqa: A004 (PyTorch's names)
from .serialize import SerializationError, load, save
from .tensor import Tensor

__version__ = "0.1.0"

from . import optim  # noqa: E402 (after the engine it updates)
from . import viz  # noqa: E402,F401 (graph drawing, backward trace)
from . import nn  # noqa: E402,F401 (layers, built on everything above)
