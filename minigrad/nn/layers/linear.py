"""Linear, Embedding and the shape layers (Identity, Flatten, Unflatten, PixelShuffle,
PixelUnshuffle)."""
from __future__ import annotations

import math

from ...autograd import no_grad
from ...ops import flatten, reshape
from ...ops.norm import embedding, linear
from ...ops.shape import _whole, pixel_shuffle, pixel_unshuffle
from .. import init
from ..module import Module
from ..parameter import Parameter, zeros_parameter


class Identity(Module):
    """y = x (a placeholder; any constructor arguments are ignored, as in PyTorch)."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, x):
        return x


class Linear(Module):
    """y = x W^T + b.   x (..., in_features) -> y (..., out_features)

    weight (out_features, in_features) ~ kaiming_uniform(a=sqrt(5)) = U(-1/sqrt(in), 1/sqrt(in))
    bias (out_features,) ~ U(-1/sqrt(in), 1/sqrt(in))            (PyTorch's defaults)
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 device=None, dtype=None):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.weight = zeros_parameter(out_features, in_features, device=device, dtype=dtype)
        if bias:
            self.bias = zeros_parameter(out_features, device=device, dtype=dtype)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features) if self.in_features > 0 else 0.0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, x):
        return linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Embedding(Module):
    """y = weight[indices]: a learned vector per index. weight (num_embeddings,
    embedding_dim) ~ N(0, 1); the row at padding_idx starts at zero and gets no gradient."""

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
                 device=None, dtype=None):
        super().__init__()
        if padding_idx is not None and not -num_embeddings <= padding_idx < num_embeddings:
            raise ValueError(f"Embedding: padding_idx {padding_idx} must be within "
                             f"num_embeddings {num_embeddings}")
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.padding_idx = None if padding_idx is None else padding_idx % num_embeddings
        self.weight = zeros_parameter(num_embeddings, embedding_dim, device=device,
                                      dtype=dtype)
        self.reset_parameters()

    @classmethod
    def from_pretrained(cls, embeddings, freeze: bool = True,
                        padding_idx: int | None = None) -> "Embedding":
        """An Embedding whose weight is `embeddings` (num, dim), its memory shared as in
        PyTorch; frozen (no gradient) unless freeze=False."""
        if embeddings.ndim != 2:
            raise ValueError(f"Embedding.from_pretrained: embeddings must be 2-D (num, dim), "
                             f"got shape {tuple(embeddings.shape)}")
        layer = cls(*embeddings.shape, padding_idx=padding_idx, device=embeddings.device,
                    dtype=embeddings.dtype)
        layer.weight = Parameter(embeddings, requires_grad=not freeze)
        return layer

    def reset_parameters(self) -> None:
        init.normal_(self.weight)
        if self.padding_idx is not None:
            with no_grad():
                self.weight[self.padding_idx] = 0.0

    def forward(self, indices):
        return embedding(indices, self.weight, self.padding_idx)

    def extra_repr(self) -> str:
        text = f"{self.num_embeddings}, {self.embedding_dim}"
        return text if self.padding_idx is None else text + f", padding_idx={self.padding_idx}"


class Flatten(Module):
    """(N, C, H, W) -> (N, C*H*W) with the defaults start_dim=1, end_dim=-1."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x):
        return flatten(x, self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Split one dim into several: Unflatten(1, (C, H, W)) maps (N, C*H*W) -> (N, C, H, W)."""

    def __init__(self, dim: int, unflattened_size):
        super().__init__()
        self.dim, self.unflattened_size = dim, tuple(unflattened_size)

    def forward(self, x):
        if not -x.ndim <= self.dim < x.ndim:
            raise IndexError(f"Unflatten: dim {self.dim} is out of range for an input of "
                             f"shape {tuple(x.shape)} (expected a dim in [{-x.ndim}, "
                             f"{x.ndim - 1}])")
        dim = self.dim % x.ndim
        return reshape(x, *x.shape[:dim], *self.unflattened_size, *x.shape[dim + 1:])

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"


def _factor(layer: str, name: str, value) -> int:
    value = _whole(value, layer, name)              # 2.0 refused as F.pixel_shuffle does
    if value < 1:
        raise ValueError(f"{layer}: {name} must be an int >= 1, got {value!r}")
    return value


class PixelShuffle(Module):
    """(N, C r^2, H, W) -> (N, C, H r, W r), r = upscale_factor (F.pixel_shuffle): the
    sub-pixel convolution's upsampling."""

    def __init__(self, upscale_factor: int):
        super().__init__()
        self.upscale_factor = _factor("PixelShuffle", "upscale_factor", upscale_factor)

    def forward(self, x):
        return pixel_shuffle(x, self.upscale_factor)

    def extra_repr(self) -> str:
        return f"upscale_factor={self.upscale_factor}"


class PixelUnshuffle(Module):
    """The inverse of PixelShuffle: (N, C, H r, W r) -> (N, C r^2, H, W),
    r = downscale_factor (F.pixel_unshuffle)."""

    def __init__(self, downscale_factor: int):
        super().__init__()
        self.downscale_factor = _factor("PixelUnshuffle", "downscale_factor",
                                        downscale_factor)

    def forward(self, x):
        return pixel_unshuffle(x, self.downscale_factor)

    def extra_repr(self) -> str:
        return f"downscale_factor={self.downscale_factor}"
