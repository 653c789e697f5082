"""The fully connected GAN of Goodfellow et al. 2014 (the "vanilla GAN").

G: z (N, z_dim) -> Linear 256 -> LeakyReLU -> Linear 512 -> LeakyReLU -> Linear 1024
   -> LeakyReLU -> Linear H*W -> tanh -> (N, 1, H, W)
D: image -> flatten -> Linear 512 -> LeakyReLU(0.2) -> Linear 256 -> LeakyReLU(0.2)
   -> Linear 1 (a logit; the sigmoid lives in the loss)

(The paper used maxout units and dropout in D; LeakyReLU is the common modern reading.)
"""
from __future__ import annotations

import minigrad.nn as nn


class MLPGenerator(nn.Module):
    def __init__(self, z_dim: int = 100, image_size: int = 28, channels: int = 1,
                 hidden=(256, 512, 1024)):
        super().__init__()
        self.z_dim, self.image_shape = z_dim, (channels, image_size, image_size)
        layers, width = [], z_dim
        for h in hidden:
            layers += [nn.Linear(width, h), nn.LeakyReLU(0.2)]
            width = h
        layers += [nn.Linear(width, channels * image_size * image_size), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z):
        return self.net(z).reshape(z.shape[0], *self.image_shape)  # (N, C, H, W)


class MLPDiscriminator(nn.Module):
    def __init__(self, image_size: int = 28, channels: int = 1, hidden=(512, 256),
                 spectral_norm: bool = False):
        super().__init__()
        layers, width = [nn.Flatten()], channels * image_size * image_size
        for h in hidden:
            layers += [_maybe_sn(nn.Linear(width, h), spectral_norm), nn.LeakyReLU(0.2)]
            width = h
        layers += [_maybe_sn(nn.Linear(width, 1), spectral_norm)]
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x).reshape(x.shape[0])  # (N,) logits


def _maybe_sn(layer, on: bool):
    return nn.utils.spectral_norm(layer) if on else layer
