"""Spectral normalisation (Miyato et al. 2018): divide a weight by its largest singular
value, so that the layer is (at most) 1-Lipschitz. SN-GAN's way of taming the critic.

    W_mat = the weight viewed as a matrix (out, in * KH * KW)   (dim=1 for ConvTranspose2d:
            (out, in, KH, KW) -> permute -> (out, in * KH * KW))
    sigma(W) = max over unit v of |W_mat v|, estimated by power iteration:
        v <- normalize(W_mat^T u),  u <- normalize(W_mat v)        (under no_grad)
    sigma = u^T W_mat v                                           (minigrad ops)
    W_sn = W / sigma

u and v are buffers, kept from step to step, so one iteration per training step is enough
to track sigma as W slowly changes. In eval mode u and v are reused without updating.

The gradient: u and v are constants (computed without grad), but sigma depends on W,
so dL/dW = (g - (sum g * W_sn) u v^T) / sigma, with g = dL/dW_sn: the second term
is what keeps the update from simply growing sigma. It comes for free from writing sigma
with minigrad ops.

    layer = nn.utils.spectral_norm(nn.Linear(20, 10))
    layer.state_dict().keys()  # bias, weight_orig, weight_u, weight_v  (as PyTorch)
"""
from __future__ import annotations

from ...autograd import no_grad
from ...ops import permute, reshape
from ...tensor import Tensor
from ..module import Module
from ..parameter import Parameter


def _normalize(vector, eps: float):
    """vector / max(|vector|, eps), on raw arrays (numpy or CuPy)."""
    norm = float((vector * vector).sum()) ** 0.5
    return vector / max(norm, eps)


def weight_matrix(weight: Tensor, dim: int = 0) -> Tensor:
    """The weight as a matrix (weight.shape[dim], everything else), with minigrad ops."""
    if dim != 0:
        order = [dim] + [d for d in range(weight.ndim) if d != dim]
        weight = permute(weight, *order)
    return reshape(weight, weight.shape[0], -1)


def normalized_weight(weight: Tensor, u: Tensor, v: Tensor, dim: int = 0) -> Tensor:
    """W / sigma with sigma = u^T W_mat v: differentiable w.r.t. W (u and v held fixed)."""
    sigma = u @ (weight_matrix(weight, dim) @ v)           # a 0-d tensor
    return weight / sigma


class SpectralNorm:
    """The forward pre-hook that recomputes `module.<name>` from `<name>_orig` before each
    forward (with power iteration in training mode)."""

    def __init__(self, name: str, n_power_iterations: int, dim: int, eps: float):
        if n_power_iterations <= 0:       # as PyTorch: with none, sigma would never move
            raise ValueError(f"spectral_norm: n_power_iterations must be positive, got "
                             f"{n_power_iterations}")
        self.name, self.n_power_iterations = name, n_power_iterations
        self.dim, self.eps = dim, eps

    def power_iteration(self, module: Module, n_iterations: int) -> None:
        """Update the u and v buffers in place: n rounds of v <- W^T u, u <- W v."""
        weight = getattr(module, self.name + "_orig")
        u, v = getattr(module, self.name + "_u"), getattr(module, self.name + "_v")
        with no_grad():
            matrix = weight_matrix(weight, self.dim).data          # (out, rest)
            u_arr, v_arr = u.data.copy(), v.data.copy()
            for _ in range(n_iterations):
                v_arr = _normalize(matrix.T @ u_arr, self.eps)     # (rest,)
                u_arr = _normalize(matrix @ v_arr, self.eps)       # (out,)
            u.copy_(u_arr)
            v.copy_(v_arr)

    def compute_weight(self, module: Module, do_power_iteration: bool) -> Tensor:
        if do_power_iteration:
            self.power_iteration(module, self.n_power_iterations)
        weight = getattr(module, self.name + "_orig")
        # Copies of u and v: the next step updates the buffers in place, which must not
        # disturb a graph that saved them.
        u = getattr(module, self.name + "_u").detach().clone()
        v = getattr(module, self.name + "_v").detach().clone()
        return normalized_weight(weight, u, v, self.dim)

    def __call__(self, module: Module, inputs) -> None:
        setattr(module, self.name, self.compute_weight(module, module.training))


def _default_dim(module: Module) -> int:
    from ..layers import ConvTranspose2d  # noqa: PLC0415

    return 1 if isinstance(module, ConvTranspose2d) else 0


def spectral_norm(module: Module, name: str = "weight", n_power_iterations: int = 1,
                  eps: float = 1e-12, dim: int | None = None) -> Module:
    """Reparametrise module.<name> as <name>_orig / sigma; returns the module.

    Registers the parameter `<name>_orig` (the raw weight, what the optimizer updates) and
    the buffers `<name>_u` (out,) and `<name>_v` (rest,), drawn from N(0, 1) and
    normalised. Before every forward a pre-hook sets module.<name> = W / sigma."""
    for hook in module._forward_pre_hooks.values():
        if isinstance(hook, SpectralNorm) and hook.name == name:
            raise RuntimeError(f"spectral_norm: {name!r} of {type(module).__name__} is "
                               f"already spectrally normalised")
    weight = module._parameters.get(name)
    if not isinstance(weight, Parameter):
        raise ValueError(f"spectral_norm: {type(module).__name__} has no parameter {name!r}")
    dim = _default_dim(module) if dim is None else dim
    fn = SpectralNorm(name, n_power_iterations, dim, eps)
    with no_grad():
        matrix = weight_matrix(weight, dim)
        rows, cols = matrix.shape
        u = Tensor(weight.xp.zeros(rows, dtype=weight.dtype)).normal_()
        v = Tensor(weight.xp.zeros(cols, dtype=weight.dtype)).normal_()
        u.data = _normalize(u.data, eps)
        v.data = _normalize(v.data, eps)
    delattr(module, name)
    module.register_parameter(name + "_orig", weight)
    setattr(module, name, weight.detach())     # a plain attribute until the first forward
    module.register_buffer(name + "_u", u)
    module.register_buffer(name + "_v", v)
    module.register_forward_pre_hook(fn)
    return module


def remove_spectral_norm(module: Module, name: str = "weight") -> Module:
    """Undo spectral_norm: bake W / sigma (with the current u, v) into a plain Parameter."""
    for key, hook in list(module._forward_pre_hooks.items()):
        if isinstance(hook, SpectralNorm) and hook.name == name:
            with no_grad():
                weight = hook.compute_weight(module, do_power_iteration=False)
            del module._forward_pre_hooks[key]
            break
    else:
        raise ValueError(f"remove_spectral_norm: spectral_norm of {name!r} not found in "
                         f"{type(module).__name__}")
    delattr(module, name)
    delattr(module, name + "_orig")
    delattr(module, name + "_u")
    delattr(module, name + "_v")
    module.register_parameter(name, Parameter(weight.data))
    return module
