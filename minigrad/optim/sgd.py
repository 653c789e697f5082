"""Stochastic gradient descent, with optional momentum, Nesterov momentum and weight decay."""
from __future__ import annotations

from .optimizer import Optimizer, Params, _check_range


class SGD(Optimizer):
    """SGD as torch.optim.SGD. For each parameter p with gradient g, at step t:

        g   = g + weight_decay * p                        (if weight_decay != 0)
        buf = g                                           (first step)
        buf = momentum * buf + (1 - dampening) * g        (later steps)
        g   = g + momentum * buf   if nesterov   else   buf          (if momentum != 0)
        p   = p - lr * g

    With momentum = 0 this is plain gradient descent, p = p - lr * g.
    """

    state_names = frozenset({"momentum_buffer"})

    def __init__(self, params: Params, lr: float = 1e-3, momentum: float = 0.0,
                 dampening: float = 0.0, weight_decay: float = 0.0, nesterov: bool = False,
                 *, maximize: bool = False, foreach=None, differentiable: bool = False,
                 fused=None):
        # PyTorch's keyword options: see optimizer.py, OPTIONS
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov, maximize=maximize,
                        foreach=foreach, differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)

    def _check_group(self, group) -> None:
        super()._check_group(group)
        _check_range("momentum", group["momentum"], 0.0)
        _check_range("weight_decay", group["weight_decay"], 0.0)
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError("Nesterov momentum requires momentum > 0 and dampening = 0")

    def _update(self, p, g, state, group) -> None:
        lr, momentum = group["lr"], group["momentum"]
        if group["weight_decay"] != 0:
            g = g + group["weight_decay"] * p.data
        if momentum != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = g.copy()
            else:
                buf *= momentum
                buf += (1 - group["dampening"]) * g
            g = g + momentum * buf if group["nesterov"] else buf
        p.data -= lr * g  # in place on the array; the .data setter bumps the version
