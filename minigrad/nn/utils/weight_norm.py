"""Weight normalisation (Salimans & Kingma 2016): write each output unit's weight vector as
a length times a direction, and learn the two apart. MelGAN's and HiFi-GAN's layers use it.

    W = g * v / ||v||          ||v|| over every dim but `dim` (dim 0: one norm per output
                               unit; dim=None: one norm for the whole tensor)

g has v's shape with 1 everywhere but `dim` (a 0-d tensor for dim=None), and starts as
||W||, v as W, so W is unchanged at first. The gradient comes from the minigrad ops:
    dL/dg = sum(dL/dW * v) / ||v||   (per unit)
    dL/dv = (g / ||v||) (dL/dW - (dL/dg / ||v||) v)   (the part along v removed)

    layer = nn.utils.weight_norm(nn.Conv1d(80, 512, 7))
    layer.state_dict().keys()  # bias, weight_g, weight_v  (as PyTorch)

The parametrization form, parametrizations.weight_norm, computes the same W from
parametrizations.weight.original0 (g) and original1 (v), as PyTorch's newer one.
"""
from __future__ import annotations

from ...autograd import no_grad
from ...ops import sum as sum_
from ...tensor import Tensor
from ..module import Module
from ..parameter import Parameter


def norm_except_dim(v: Tensor, dim: int | None) -> Tensor:
    """||v|| over every dim but `dim`, kept as 1s (dim None or -1: over all of v, 0-d;
    PyTorch reads dim=-1 so too)."""
    if dim is None or dim == -1:
        return sum_(v * v).sqrt()
    if not 0 <= dim < v.ndim:
        raise IndexError(f"weight_norm: dim {dim} is out of range for a weight of shape "
                         f"{tuple(v.shape)}")
    others = tuple(d for d in range(v.ndim) if d != dim)
    return sum_(v * v, others, keepdim=True).sqrt()


def weight_from(g: Tensor, v: Tensor, dim: int | None) -> Tensor:
    """W = g * v / ||v||, differentiable w.r.t. g and v."""
    return v * (g / norm_except_dim(v, dim))


class WeightNorm:
    """The forward pre-hook that sets module.<name> = g * v / ||v|| before each forward."""

    def __init__(self, name: str, dim: int | None):
        self.name, self.dim = name, dim

    def compute_weight(self, module: Module) -> Tensor:
        return weight_from(getattr(module, self.name + "_g"), getattr(module, self.name + "_v"),
                           self.dim)

    def __call__(self, module: Module, inputs) -> None:
        setattr(module, self.name, self.compute_weight(module))


def weight_norm(module: Module, name: str = "weight", dim: int | None = 0) -> Module:
    """Reparametrise module.<name> as <name>_g * <name>_v / ||<name>_v||; returns module.
    Use dim=1 for a transposed convolution's (in, out, ...) weight, as in PyTorch."""
    for hook in module._forward_pre_hooks.values():
        if isinstance(hook, WeightNorm) and hook.name == name:
            raise RuntimeError(f"weight_norm: {name!r} of {type(module).__name__} is already "
                               f"weight-normalised")
    weight = module._parameters.get(name)
    if not isinstance(weight, Parameter):
        raise ValueError(f"weight_norm: {type(module).__name__} has no parameter {name!r}")
    if dim is not None and dim < -1:
        dim += weight.ndim
    with no_grad():
        g = Parameter(norm_except_dim(weight, dim).data.copy())
    delattr(module, name)
    module.register_parameter(name + "_g", g)
    module.register_parameter(name + "_v", weight)
    fn = WeightNorm(name, dim)
    setattr(module, name, fn.compute_weight(module).detach())   # plain until the 1st forward
    module.register_forward_pre_hook(fn)
    return module


def remove_weight_norm(module: Module, name: str = "weight") -> Module:
    """Undo weight_norm: bake g * v / ||v|| into a plain Parameter."""
    for key, hook in list(module._forward_pre_hooks.items()):
        if isinstance(hook, WeightNorm) and hook.name == name:
            with no_grad():
                weight = hook.compute_weight(module)
            del module._forward_pre_hooks[key]
            break
    else:
        raise ValueError(f"remove_weight_norm: weight_norm of {name!r} not found in "
                         f"{type(module).__name__}")
    delattr(module, name)
    delattr(module, name + "_g")
    delattr(module, name + "_v")
    module.register_parameter(name, Parameter(weight.data))
    return module
