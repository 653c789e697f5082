"""RMSprop (Tieleman & Hinton, 2012): the optimizer of the original WGAN."""
from __future__ import annotations

from .optimizer import Optimizer, Params, _check_range


class RMSprop(Optimizer):
    """RMSprop as torch.optim.RMSprop. For each parameter p with gradient g:

        g = g + weight_decay * p                           (if weight_decay != 0)
        v = alpha * v + (1 - alpha) * g * g                (v_0 = 0)
        avg = sqrt(v - mean_g * mean_g) + eps  where  mean_g = alpha * mean_g + (1 - alpha) * g
                                                           (if centered; mean_g_0 = 0)
        avg = sqrt(v) + eps                                (otherwise)
        buf = momentum * buf + g / avg;  p = p - lr * buf  (if momentum > 0; buf_0 = 0)
        p = p - lr * g / avg                               (otherwise)

    The original WGAN uses RMSprop(lr=5e-5) on the critic, with weight clipping.
    """

    state_names = frozenset({"step", "square_avg", "momentum_buffer", "grad_avg"})

    def __init__(self, params: Params, lr: float = 1e-2, alpha: float = 0.99,
                 eps: float = 1e-8, weight_decay: float = 0.0, momentum: float = 0.0,
                 centered: bool = False, capturable: bool = False, foreach=None,
                 maximize: bool = False, differentiable: bool = False):
        # PyTorch's options (optimizer.py: OPTIONS)
        defaults = dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                        momentum=momentum, centered=centered, capturable=capturable,
                        foreach=foreach, maximize=maximize, differentiable=differentiable)
        super().__init__(params, defaults)

    def _check_group(self, group) -> None:
        super()._check_group(group)
        _check_range("alpha", group["alpha"], 0.0)
        _check_range("eps", group["eps"], 0.0)
        _check_range("momentum", group["momentum"], 0.0)
        _check_range("weight_decay", group["weight_decay"], 0.0)

    def _required_state(self, group) -> set[str]:
        return ({"step", "square_avg"} | ({"momentum_buffer"} if group["momentum"] > 0 else set())
                | ({"grad_avg"} if group["centered"] else set()))

    def _update(self, p, g, state, group) -> None:
        xp, alpha = p.xp, group["alpha"]
        if not state:
            state["step"] = 0
            state["square_avg"] = xp.zeros_like(p.data)            # v
            if group["momentum"] > 0:
                state["momentum_buffer"] = xp.zeros_like(p.data)   # buf
            if group["centered"]:
                state["grad_avg"] = xp.zeros_like(p.data)          # mean_g
        state["step"] += 1
        if group["weight_decay"] != 0:
            g = g + group["weight_decay"] * p.data
        v = state["square_avg"]
        v *= alpha
        v += (1 - alpha) * g * g
        if group["centered"]:
            mean_g = state["grad_avg"]
            _lerp_(mean_g, g, 1 - alpha)
            avg = xp.sqrt(v - mean_g * mean_g)
        else:
            avg = xp.sqrt(v)
        avg += group["eps"]
        if group["momentum"] > 0:
            buf = state["momentum_buffer"]
            buf *= group["momentum"]
            buf += g / avg
            p.data -= group["lr"] * buf
        else:
            p.data -= group["lr"] * g / avg  # in place; the .data setter bumps the version


def _lerp_(a, b, weight: float) -> None:
    """a = a + weight * (b - a), in place, rounded as torch.lerp_ rounds it (the form
    depends on whether weight < 0.5), so that results agree with PyTorch's RMSprop."""
    if weight < 0.5:
        a += weight * (b - a)
    else:
        a[...] = b - (b - a) * (1 - weight)
