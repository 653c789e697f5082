"""torch.nn.utils.parametrizations.spectral_norm and weight_norm: spectral and weight
normalisation written as parametrizations (parametrize.py), PyTorch's newer forms of
nn.utils.spectral_norm and nn.utils.weight_norm (weight_norm.py has its math).

The math is spectral_norm.py's (see there): W_sn = W / sigma, sigma = u^T W_mat v, with
u and v from power iteration under no_grad. What differs is the bookkeeping, as PyTorch:

    spectral_norm.py                      here
    weight_orig, weight_u, weight_v       parametrizations.weight.original, .0._u, .0._v
    W / sigma computed before forward     computed each time layer.weight is read
    power iteration: v first, then u      u <- normalize(W_mat v) first, then v
    u, v start random                     u, v random, then 15 rounds of power iteration

In training mode every read of layer.weight runs n_power_iterations rounds; in eval mode
u and v stay as they are. A 1-D weight is simply normalised to unit length.
"""
from __future__ import annotations

from ...autograd import no_grad
from ...tensor import Tensor
from ..module import Module
from . import parametrize
from .parametrize import register_parametrization
from .spectral_norm import _default_dim, _normalize, normalized_weight, weight_matrix
from .weight_norm import norm_except_dim, weight_from


class _SpectralNorm(Module):
    """The parametrization: forward(W) = W / sigma(W); u and v are its buffers."""

    def __init__(self, weight: Tensor, n_power_iterations: int = 1, dim: int = 0,
                 eps: float = 1e-12):
        super().__init__()
        if n_power_iterations <= 0:
            raise ValueError(f"spectral_norm: n_power_iterations must be positive, got "
                             f"{n_power_iterations}")
        ndim = weight.ndim
        if not -ndim <= dim < max(ndim, 1):
            raise IndexError(f"spectral_norm: dim {dim} is out of range for a weight of "
                             f"shape {tuple(weight.shape)}")
        self.dim = dim % ndim if ndim else 0
        self.eps, self.n_power_iterations = eps, n_power_iterations
        if ndim > 1:
            with no_grad():
                rows, cols = weight_matrix(weight, self.dim).shape
                u = Tensor(weight.xp.zeros(rows, dtype=weight.dtype)).normal_()
                v = Tensor(weight.xp.zeros(cols, dtype=weight.dtype)).normal_()
                self.register_buffer("_u", Tensor(_normalize(u.data, eps)))
                self.register_buffer("_v", Tensor(_normalize(v.data, eps)))
            self._power_method(weight, 15)     # start u and v near the top singular pair

    def _power_method(self, weight: Tensor, n_iterations: int) -> None:
        """u <- normalize(W_mat v), v <- normalize(W_mat^T u), n times, in place."""
        with no_grad():
            matrix = weight_matrix(weight, self.dim).data          # (out, rest)
            u_arr, v_arr = self._u.data.copy(), self._v.data.copy()
            for _ in range(n_iterations):
                u_arr = _normalize(matrix @ v_arr, self.eps)       # (out,)
                v_arr = _normalize(matrix.T @ u_arr, self.eps)     # (rest,)
            self._u.copy_(u_arr)
            self._v.copy_(v_arr)

    def forward(self, weight: Tensor) -> Tensor:
        if weight.ndim == 1:
            from ...ops.reduce import normalize  # noqa: PLC0415

            return normalize(weight, dim=0, eps=self.eps)
        if self.training:
            self._power_method(weight, self.n_power_iterations)
        # copies: the next read updates the buffers in place, under a graph that saved them
        return normalized_weight(weight, self._u.clone(), self._v.clone(), self.dim)

    def right_inverse(self, value: Tensor) -> Tensor:
        """Setting layer.weight = W stores W itself as the original, as PyTorch (W / sigma
        would be W only if sigma were 1)."""
        return value

    def extra_repr(self) -> str:
        return f"dim={self.dim}, n_power_iterations={self.n_power_iterations}"


def spectral_norm(module: Module, name: str = "weight", n_power_iterations: int = 1,
                  eps: float = 1e-12, dim: int | None = None) -> Module:
    """module.<name> becomes W / sigma(W), computed from parametrizations.<name>.original;
    returns the module. dim is 1 for the transposed convolutions, else 0 (as PyTorch)."""
    if parametrize.is_parametrized(module, name):   # a second one: on the first's output
        weight = getattr(module, name)
    else:
        weight = module._parameters.get(name)
    if weight is None:
        raise ValueError(f"spectral_norm: {type(module).__name__} has no parameter {name!r}")
    dim = _default_dim(module) if dim is None else dim
    register_parametrization(module, name, _SpectralNorm(weight, n_power_iterations, dim,
                                                         eps))
    return module


class _WeightNorm(Module):
    """The parametrization: forward(g, v) = g * v / ||v||; right_inverse(W) = (||W||, W)."""

    def __init__(self, dim: int | None = 0):
        super().__init__()
        self.dim = -1 if dim is None else dim

    def forward(self, weight_g: Tensor, weight_v: Tensor) -> Tensor:
        return weight_from(weight_g, weight_v, self.dim)

    def right_inverse(self, weight: Tensor) -> tuple:
        return norm_except_dim(weight, self.dim), weight


def weight_norm(module: Module, name: str = "weight", dim: int | None = 0) -> Module:
    """module.<name> becomes g * v / ||v||, computed from parametrizations.<name>.original0
    (g) and original1 (v); returns the module."""
    if parametrize.is_parametrized(module, name):
        raise ValueError(f"weight_norm: {type(module).__name__}.{name} is parametrized "
                         f"already; weight norm, computed from two tensors, must come first")
    weight = module._parameters.get(name)
    if weight is None:
        raise ValueError(f"weight_norm: {type(module).__name__} has no parameter {name!r}")
    if dim is not None and dim < -1:
        dim += weight.ndim
    register_parametrization(module, name, _WeightNorm(dim))
    return module
