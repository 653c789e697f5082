"""gradcheck and gradgradcheck: prove a derivative with central finite differences.

For a function f of tensors, pick a random "upstream gradient" v for its output(s) and
compare, for every input element x_i,

    analytical  = (v . df/dx)_i        one backward pass
    numerical   = (v . f(x + eps e_i) - v . f(x - eps e_i)) / (2 eps)

They must agree within atol + rtol * |numerical|. This checks the vector-Jacobian
product v^T J that backward computes, for one random v, entry by entry: one backward pass
and two evaluations of f per input element. That sits between PyTorch's two modes: its
default (slow) mode checks every entry of J (a backward pass per output element), its fast
mode one number, v^T J u for random v and u (one backward pass, one directional
difference). A wrong derivative disagrees for almost every v. Use float64: in float32 the
finite difference itself is too noisy to tell a bug from round-off.

gradgradcheck applies gradcheck to the function (inputs, v) -> grad(f . v, inputs)
computed with create_graph=True: it proves the backward pass is itself differentiable.
"""
from __future__ import annotations

import numpy as np

from . import backend
from .autograd import enable_grad, run_backward
from .tensor import Tensor


class GradcheckError(AssertionError):
    """Raised when an analytical gradient disagrees with the finite differences."""


def _as_tuple(x):
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _check_inputs(inputs, who: str):
    for i, t in enumerate(inputs):
        if isinstance(t, Tensor) and t.requires_grad and t.dtype != np.float64:
            raise GradcheckError(f"{who}: input {i} has dtype {t.dtype}; use float64 "
                                 f"(finite differences are too noisy in float32)")


def _dot_with(outputs, vs) -> float:
    total = 0.0
    for out, v in zip(outputs, vs):
        if out is not None:
            total += float((backend.to_numpy(out.data).astype(np.float64) * v).sum())
    return total


def gradcheck(fn, inputs, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              seed: int = 0, _who: str = "gradcheck") -> bool:
    """True when every input's gradient matches finite differences; else GradcheckError."""
    inputs = _as_tuple(inputs)
    _check_inputs(inputs, _who)
    wrt = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    if not wrt:
        raise GradcheckError(f"{_who}: no input requires grad")

    outputs = [o for o in _as_tuple(fn(*inputs))]
    rng = np.random.default_rng(seed)
    vs = [rng.standard_normal(o.shape) if o is not None else None for o in outputs]
    differentiable = [(o, v) for o, v in zip(outputs, vs)
                      if o is not None and (o.requires_grad)]
    if not differentiable:
        raise GradcheckError(f"{_who}: no output depends on an input that requires grad")
    grads = run_backward([o for o, _ in differentiable],
                         [Tensor._from_op(o.xp.asarray(v, dtype=o.dtype), False)
                          for o, v in differentiable],
                         retain_graph=False, create_graph=False,
                         inputs=[inputs[i] for i in wrt], allow_unused=True)

    for position, i in enumerate(wrt):
        x = inputs[i]
        analytical = (np.zeros(x.shape) if grads[position] is None
                      else backend.to_numpy(grads[position].data).astype(np.float64))
        numerical = np.zeros(x.shape)
        if not x.data.flags.c_contiguous:
            raise GradcheckError(f"{_who}: input {i} must be a contiguous array")
        flat = x.data.reshape(-1)        # a view: perturbing it perturbs x
        # Not under no_grad: fn may itself call mg.grad (a gradient penalty, and
        # gradgradcheck's first derivative), which needs the tape.
        for j in range(flat.size):
            original = flat[j].item()
            flat[j] = original + eps
            plus = _dot_with(_as_tuple(fn(*inputs)), vs)
            flat[j] = original - eps
            minus = _dot_with(_as_tuple(fn(*inputs)), vs)
            flat[j] = original
            numerical.reshape(-1)[j] = (plus - minus) / (2 * eps)
        error = np.abs(analytical - numerical) - (atol + rtol * np.abs(numerical))
        wrong = ~(error <= 0)            # not "error > 0": a nan gradient must fail too
        if wrong.any():
            # the worst element: the largest error, a nan before any number
            worst = np.unravel_index(int(np.argmax(np.where(np.isnan(error), np.inf, error))),
                                     x.shape)
            raise GradcheckError(
                f"{_who}: gradient of input {i} (shape {tuple(x.shape)}) is wrong at "
                f"index {tuple(int(k) for k in worst)}: analytical {analytical[worst]:.8g}, "
                f"numerical {numerical[worst]:.8g} (atol {atol}, rtol {rtol}; "
                f"{int(wrong.sum())} of {error.size} elements disagree; the values are "
                f"(v . df/dx) for a random v, see minigrad/check.py)"
            )
    return True


def gradgradcheck(fn, inputs, grad_outputs=None, eps: float = 1e-6, atol: float = 1e-5,
                  rtol: float = 1e-3, seed: int = 0) -> bool:
    """gradcheck of the backward pass: d/d(inputs, v) of grad(f(inputs) . v, inputs)."""
    inputs = _as_tuple(inputs)
    _check_inputs(inputs, "gradgradcheck")
    wrt = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    outputs = _as_tuple(fn(*inputs))
    if grad_outputs is None:
        rng = np.random.default_rng(seed + 1)
        grad_outputs = tuple(
            Tensor(o.xp.asarray(rng.standard_normal(o.shape), dtype=o.dtype),
                   requires_grad=True) for o in outputs)
    grad_outputs = _as_tuple(grad_outputs)
    n_inputs = len(inputs)

    def first_derivative(*args):
        xs, gys = args[:n_inputs], args[n_inputs:]
        with enable_grad():   # we need the tape, even if called under no_grad
            outs = _as_tuple(fn(*xs))
            pairs = [(o, g) for o, g in zip(outs, gys) if o is not None and o.requires_grad]
            grads = run_backward([o for o, _ in pairs], [g for _, g in pairs],
                                 retain_graph=True, create_graph=True,
                                 inputs=[xs[i] for i in wrt], allow_unused=True)
        return tuple(g for g in grads if g is not None)

    return gradcheck(first_derivative, inputs + grad_outputs, eps=eps, atol=atol,
                     rtol=rtol, seed=seed + 2, _who="gradgradcheck")
