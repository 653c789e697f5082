"""Gradient clipping: rescale (or cut) the gradients after backward, before step().

    loss.backward()
    total = nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
    opt.step()

Works on the raw gradient arrays, on their device (no host sync: the scale factor stays an
array). Gradient arrays may be shared between parameters (the backward of `a + b` hands
the same array to both), so they are replaced, never scaled in place.
"""
from __future__ import annotations

from typing import Iterable

import numpy as np

from ... import backend
from ...tensor import Tensor


def _grads(parameters) -> list[Tensor]:
    """The .grad of each parameter that has one (a single Tensor is accepted too)."""
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p.grad for p in parameters if p.grad is not None]


def _replace(grads: list[Tensor], fn) -> None:
    """grad.data = fn(grad.data) once per distinct grad Tensor (the setter bumps its
    version)."""
    done = set()
    for g in grads:
        if id(g) not in done:
            done.add(id(g))
            g.data = fn(g.data)


def clip_grad_norm_(parameters: Iterable[Tensor] | Tensor, max_norm: float | Tensor,
                    norm_type: float = 2.0, error_if_nonfinite: bool = False,
                    foreach: bool | None = None) -> Tensor:
    """Scale all gradients together so that their joint norm is at most `max_norm`.

        total = || (||g_1||, ||g_2||, ...) ||       (the norm of all gradients as one vector;
                                                     max |g| for norm_type = inf)
        g_i  = g_i * min(1, max_norm / (total + 1e-6))

    Returns `total` (before clipping) as a 0-d float Tensor, as torch.nn.utils does.
    `foreach` (how PyTorch loops over the gradients) is accepted and changes nothing.
    """
    grads = _grads(parameters)
    norm_type = float(norm_type)
    if not grads:
        return Tensor(np.zeros((), dtype=np.float32))
    devices = {g.device for g in grads}
    if len(devices) > 1:
        raise RuntimeError(f"clip_grad_norm_: gradients are on several devices "
                           f"({sorted(devices)}); move the parameters to one device")
    device = devices.pop()
    xp = backend.get_xp(device)
    dtype = np.result_type(*[g.dtype for g in grads])
    norms = [xp.linalg.norm(g.data.ravel(), ord=norm_type).astype(dtype) for g in grads]
    total = xp.linalg.norm(xp.stack(norms), ord=norm_type)  # 0-d array on the device
    if error_if_nonfinite and not bool(xp.isfinite(total)):  # the only host sync
        raise RuntimeError(f"clip_grad_norm_: the total norm of order {norm_type} is "
                           f"non-finite ({float(total)}), so it cannot be clipped")
    if isinstance(max_norm, Tensor):                   # kept on the device: no host sync
        max_norm = backend.to_device(max_norm.data, device).astype(total.dtype)
    else:
        max_norm = float(max_norm)
    coef = xp.minimum(max_norm / (total + 1e-6), 1.0)  # 0-d array, stays on the device
    _replace(grads, lambda g: g * coef.astype(g.dtype))
    return Tensor(xp.asarray(total))


def clip_grad_value_(parameters: Iterable[Tensor] | Tensor, clip_value: float,
                     foreach: bool | None = None) -> None:
    """Clamp every gradient element into [-clip_value, clip_value] (`foreach`: as in
    clip_grad_norm_)."""
    clip_value = float(clip_value)
    _replace(_grads(parameters), lambda g: g.clip(-clip_value, clip_value))
