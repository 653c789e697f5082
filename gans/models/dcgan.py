"""DCGAN (Radford, Metz & Chintala 2015) for 28x28 and 64x64 images.

The paper's rules, each visible below: no pooling (strided convolutions in D, fractionally
strided = transposed convolutions in G), batch norm in both nets (but not on G's output
or D's input), ReLU in G with tanh at the output, LeakyReLU(0.2) in D, no hidden fully
connected layers (G's first layer is a projection of z reshaped to a 4-D tensor).

28x28 (MNIST's own size), width w = 64:
  G: z (N, z_dim) -> Linear -> (N, 2w*7*7) -> BN (BatchNorm1d, per feature), ReLU
     -> reshape -> (N, 2w, 7, 7)
     -> ConvT(2w -> w, k4 s2 p1) -> (N, w, 14, 14) -> BN, ReLU
     -> ConvT(w -> C, k4 s2 p1)  -> (N, C, 28, 28) -> tanh
  D: x (N, C, 28, 28) -> Conv(C -> w, k4 s2 p1) -> (N, w, 14, 14) -> LeakyReLU
     -> Conv(w -> 2w, k4 s2 p1) -> (N, 2w, 7, 7) -> norm, LeakyReLU
     -> flatten -> Linear(2w*7*7 -> 1)      (the logit)
  With z_dim 100 and C = 1 these are the benchmark's networks (D with norm="batch"; the
  WGAN-GP critic is norm="none"): bench/README.md, "The benchmark (from the team's
  BENCH_SPEC)". The bench builds them itself, in bench/peers_minigrad.py.
64x64 (the paper's size; MNIST resized with F.interpolate), as the PyTorch DCGAN example:
  G: z (N, z_dim, 1, 1) -> ConvT(z -> 8w, k4 s1 p0) 4x4 -> 8x8 -> 16x16 -> 32x32 -> 64x64
  D: 64x64 -> Conv k4 s2 p1 four times -> (N, 8w, 4, 4) -> Conv(8w -> 1, k4 s1 p0) -> (N,)
"""
from __future__ import annotations

import minigrad.nn as nn


def _norm2d(kind: str, channels: int, spatial: int):
    """The discriminator's normalisation layer: batch / instance / layer / none."""
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=True)
    if kind == "layer":
        return nn.LayerNorm([channels, spatial, spatial])
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"unknown normalisation {kind!r}: use batch, instance, layer or none")


def _sn(layer, on: bool):
    return nn.utils.spectral_norm(layer) if on else layer


class DCGANGenerator(nn.Module):
    def __init__(self, z_dim: int = 100, image_size: int = 28, channels: int = 1,
                 width: int = 64):
        super().__init__()
        self.z_dim, self.image_size = z_dim, image_size
        w = width
        if image_size == 28:
            self.project = nn.Sequential(nn.Linear(z_dim, 2 * w * 7 * 7),
                                         nn.BatchNorm1d(2 * w * 7 * 7), nn.ReLU())
            self.body = nn.Sequential(
                nn.ConvTranspose2d(2 * w, w, 4, 2, 1),        # 7 -> 14
                nn.BatchNorm2d(w), nn.ReLU(),
                nn.ConvTranspose2d(w, channels, 4, 2, 1),     # 14 -> 28
                nn.Tanh())
            self._first_shape = (2 * w, 7, 7)
        elif image_size == 64:
            self.project = None
            self.body = nn.Sequential(
                nn.ConvTranspose2d(z_dim, 8 * w, 4, 1, 0, bias=False),   # 1 -> 4
                nn.BatchNorm2d(8 * w), nn.ReLU(),
                nn.ConvTranspose2d(8 * w, 4 * w, 4, 2, 1, bias=False),   # 4 -> 8
                nn.BatchNorm2d(4 * w), nn.ReLU(),
                nn.ConvTranspose2d(4 * w, 2 * w, 4, 2, 1, bias=False),   # 8 -> 16
                nn.BatchNorm2d(2 * w), nn.ReLU(),
                nn.ConvTranspose2d(2 * w, w, 4, 2, 1, bias=False),       # 16 -> 32
                nn.BatchNorm2d(w), nn.ReLU(),
                nn.ConvTranspose2d(w, channels, 4, 2, 1, bias=False),    # 32 -> 64
                nn.Tanh())
        else:
            raise ValueError(f"DCGANGenerator: image_size must be 28 or 64, got {image_size}")

    def forward(self, z):
        if self.project is not None:
            h = self.project(z).reshape(z.shape[0], *self._first_shape)  # (N, 2w, 7, 7)
        else:
            h = z.reshape(z.shape[0], self.z_dim, 1, 1)                 # (N, z, 1, 1)
        return self.body(h)                                              # (N, C, H, W)


class DCGANDiscriminator(nn.Module):
    def __init__(self, image_size: int = 28, channels: int = 1, width: int = 64,
                 norm: str = "batch", spectral_norm: bool = False):
        super().__init__()
        w, sn = width, spectral_norm
        if image_size == 28:
            self.body = nn.Sequential(
                _sn(nn.Conv2d(channels, w, 4, 2, 1), sn), nn.LeakyReLU(0.2),   # 28 -> 14
                _sn(nn.Conv2d(w, 2 * w, 4, 2, 1), sn),                        # 14 -> 7
                _norm2d(norm, 2 * w, 7), nn.LeakyReLU(0.2),
                nn.Flatten(),
                _sn(nn.Linear(2 * w * 7 * 7, 1), sn))
        elif image_size == 64:
            layers = [_sn(nn.Conv2d(channels, w, 4, 2, 1, bias=False), sn),
                      nn.LeakyReLU(0.2)]                                      # 64 -> 32
            size, c = 32, w
            for _ in range(3):                                                # -> 16, 8, 4
                size //= 2
                layers += [_sn(nn.Conv2d(c, 2 * c, 4, 2, 1, bias=False), sn),
                           _norm2d(norm, 2 * c, size), nn.LeakyReLU(0.2)]
                c *= 2
            layers += [_sn(nn.Conv2d(c, 1, 4, 1, 0, bias=False), sn), nn.Flatten()]
            self.body = nn.Sequential(*layers)
        else:
            raise ValueError(f"DCGANDiscriminator: image_size must be 28 or 64, got {image_size}")

    def forward(self, x):
        return self.body(x).reshape(x.shape[0])   # (N,) logits


def weights_init(module) -> None:
    """The DCGAN initialisation, applied with `G.apply(weights_init)`:
    conv, transposed conv and linear weights ~ N(0, 0.02), their biases 0; normalisation
    scales ~ N(1, 0.02), shifts 0."""
    name = type(module).__name__
    if "Conv" in name or name == "Linear":
        weight = getattr(module, "weight_orig", None)          # under spectral norm
        weight = module.weight if weight is None else weight
        nn.init.normal_(weight, 0.0, 0.02)
        if getattr(module, "bias", None) is not None:
            nn.init.zeros_(module.bias)
    elif "Norm" in name and getattr(module, "weight", None) is not None:
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)
