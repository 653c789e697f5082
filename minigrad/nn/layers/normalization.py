"""Normalisation layers: BatchNorm1d/2d, InstanceNorm2d, LayerNorm, GroupNorm.

They hold the learned affine parameters (weight = gamma, bias = beta) and the running
statistics (buffers); the math is in minigrad/ops/norm.py.

Batch norm in a GAN critic trained with a gradient penalty is a classic mistake: the
penalty asks for the gradient of each sample's score w.r.t. that sample, but batch
statistics couple the samples. The gradient computed here is still exact (to second
order), which is what lets a student see the mistake rather than a wrong number.
"""
from __future__ import annotations

import numpy as np

from ...autograd import no_grad
from ...creation import ones, tensor, zeros
from ...ops.norm import batch_norm, check_eps, group_norm, instance_norm, layer_norm
from .. import init
from ..module import Module
from ..parameter import zeros_parameter


class _NormBase(Module):
    """Shared by batch and instance norm: weight/bias (C,), running_mean/var (C,) and
    num_batches_tracked (an int64 scalar), the buffers PyTorch's state dict has."""

    def __init__(self, num_features: int, eps: float, momentum: float | None, affine: bool,
                 track_running_stats: bool, device=None, dtype=None):
        super().__init__()
        check_eps(type(self).__name__, eps)
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        if affine:
            self.weight = zeros_parameter(num_features, device=device, dtype=dtype)
            self.bias = zeros_parameter(num_features, device=device, dtype=dtype)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", zeros(num_features, dtype=dtype,
                                                       device=device or "cpu"))
            self.register_buffer("running_var", ones(num_features, dtype=dtype,
                                                     device=device or "cpu"))
            self.register_buffer("num_batches_tracked", tensor(0, dtype=np.int64,
                                                               device=device or "cpu"))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        self.reset_parameters()

    def _fill_in_missing(self, state: dict, prefix: str) -> None:
        """A checkpoint without num_batches_tracked (PyTorch before 0.4.1, or stripped
        weights) loads, keeping this module's count, as PyTorch's _NormBase does."""
        key = prefix + "num_batches_tracked"
        if self.num_batches_tracked is not None and key not in state:
            state[key] = self.num_batches_tracked

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            with no_grad():
                self.running_mean.zero_()
                self.running_var.fill_(1.0)
                self.num_batches_tracked.zero_()

    def reset_parameters(self) -> None:
        self.reset_running_stats()
        if self.affine:
            init.ones_(self.weight)
            init.zeros_(self.bias)

    def _momentum_now(self) -> float:
        """The factor for this step's running-statistics update. momentum=None means a
        cumulative average: 1 / (number of batches seen, this one included)."""
        if self.training and self.track_running_stats and self.momentum is None:
            return 1.0 / float(self.num_batches_tracked.item() + 1)
        return 0.0 if self.momentum is None else self.momentum

    def _count_batch(self) -> None:
        """One more batch seen: counted once it went through (a batch that raised, of the
        wrong shape say, changes nothing)."""
        if self.training and self.track_running_stats:
            self.num_batches_tracked.add_(1)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, track_running_stats={self.track_running_stats}")


class _BatchNorm(_NormBase):
    expected_dims: tuple = ()

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, device=None,
                 dtype=None):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device,
                         dtype)

    def forward(self, x):
        if x.ndim not in self.expected_dims:
            dims = " or ".join(map(str, self.expected_dims))
            raise ValueError(f"{type(self).__name__}: expected a {dims}-D input, got shape "
                             f"{tuple(x.shape)}")
        momentum = self._momentum_now()
        # Batch statistics in training, and also in eval when no running stats are kept.
        use_batch_stats = self.training or self.running_mean is None
        keep_running = not self.training or self.track_running_stats
        running_mean = self.running_mean if keep_running else None
        running_var = self.running_var if keep_running else None
        y = batch_norm(x, running_mean, running_var, self.weight, self.bias,
                       use_batch_stats, momentum, self.eps)
        self._count_batch()
        return y


class BatchNorm1d(_BatchNorm):
    """Batch norm over (N, C) or (N, C, L): statistics per channel C over N (and L)."""
    expected_dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch norm over (N, C, H, W): statistics per channel C over N, H and W."""
    expected_dims = (4,)


class InstanceNorm2d(_NormBase):
    """Per sample and channel statistics over H, W. input (N, C, H, W) or (C, H, W).
    Defaults as PyTorch: affine=False, track_running_stats=False."""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = False, track_running_stats: bool = False, device=None,
                 dtype=None):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device,
                         dtype)

    def forward(self, x):
        if x.ndim not in (3, 4):
            raise ValueError(f"InstanceNorm2d: expected a 3-D or 4-D input, got shape "
                             f"{tuple(x.shape)}")
        if x.ndim == 3:                                     # unbatched (C, H, W)
            return self.forward(x.unsqueeze(0)).squeeze(0)
        momentum = 0.0 if self.momentum is None else self.momentum
        use_input_stats = self.training or not self.track_running_stats
        return instance_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                             use_input_stats, momentum, self.eps)


class LayerNorm(Module):
    """Statistics over the trailing dims `normalized_shape` of each sample; weight (ones)
    and bias (zeros) of that shape when elementwise_affine."""

    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True,
                 bias: bool = True, device=None, dtype=None):
        super().__init__()
        check_eps("LayerNorm", eps)
        if isinstance(normalized_shape, int):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(normalized_shape)
        self.eps, self.elementwise_affine = eps, elementwise_affine
        if elementwise_affine:
            self.weight = zeros_parameter(*self.normalized_shape, device=device, dtype=dtype)
            init.ones_(self.weight)
            if bias:
                self.bias = zeros_parameter(*self.normalized_shape, device=device, dtype=dtype)
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, x):
        return layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")


class GroupNorm(Module):
    """Statistics per sample over each of num_groups groups of channels (and all their
    positions); weight (ones) and bias (zeros) per channel when affine. No running
    statistics: the same in train and eval, and independent of the batch size."""

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5,
                 affine: bool = True, device=None, dtype=None):
        super().__init__()
        check_eps("GroupNorm", eps)
        if num_groups < 1 or num_channels % num_groups:
            raise ValueError(f"GroupNorm: num_channels {num_channels} must be divisible by "
                             f"num_groups {num_groups}")
        self.num_groups, self.num_channels = num_groups, num_channels
        self.eps, self.affine = eps, affine
        if affine:
            self.weight = zeros_parameter(num_channels, device=device, dtype=dtype)
            init.ones_(self.weight)
            self.bias = zeros_parameter(num_channels, device=device, dtype=dtype)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, x):
        return group_norm(x, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}"
