"""Conditional GANs (Mirza & Osindero 2014): G(z, y) draws a digit of the class y asked
for, and D(x, y) judges whether x is a real image *of class y*. Both networks take the label
as an int64 tensor (N,) of class indices 0..num_classes-1 (MNIST: the digit).

The MLP pair, as the common PyTorch cGAN: the label becomes a learned vector (an
embedding of num_classes numbers) and is concatenated to the input.
  G: z (N, z_dim), y (N,) -> cat(z, embed(y)) (N, z_dim + K) -> the MLP of mlp.py
     -> (N, C, H, W)
  D: x (N, C, H, W), y (N,) -> cat(flatten(x), embed(y)) (N, C*H*W + K) -> the MLP
     -> (N,) logits

The DCGAN pair (dcgan.py's 28x28 networks, width w):
  G: cat(z, embed(y)) (N, z_dim + K) -> Linear -> (N, 2w, H/4, W/4) -> the DCGAN body
     -> (N, C, H, W)
  D: the projection discriminator of Miyato & Koyama 2018,
       h = phi(x)                                (N, F), F = 2w * H/4 * W/4: DCGAN's body
       D(x, y) = psi(h) + <embed(y), h>          (N,)   psi = Linear(F, 1), embed (K, F)
     psi(h) is the unconditional DCGAN logit ("does x look real?"); the inner product with
     the class's learned vector adds "does x look like class y?".

Why projection rather than concatenating y to the image as K one-hot planes (N, C+K, H, W):
  * the theory: if p(y|x) is log-linear in the features (a softmax classifier on h), the
    optimal logit log p(x, y) / q(x, y) splits exactly into a term of x alone plus
    embed(y) . h (Miyato & Koyama, section 3). Concatenation does not have that form,
    so D has to discover it; in the paper's experiments (concatenating at the input or
    at a hidden layer) it gave worse class-conditional samples than projection;
  * the label meets the *last* features, where the network can tell a 3 from an 8, not
    the first layer, where K constant planes reach the first convolution as little more
    than a per-class bias (constant except at the zero-padded border);
  * it is what modern class-conditional GANs use (SN-GAN, BigGAN, StyleGAN2-ADA).
Every piece is a minigrad op, so D's gradient w.r.t. x can itself be differentiated: an
R1 or WGAN-GP penalty works on it as on the unconditional D (tests/test_conditional.py
gradgradchecks it).

Image sizes: 28 for MNIST; any multiple of 4 works (the tests use 8 for speed).
"""
from __future__ import annotations

import minigrad as mg
import minigrad.nn as nn

from .dcgan import _norm2d, _sn   # D's normalisation (batch / instance / layer / none)


def check_labels(labels, batch_size: int, who: str) -> None:
    """Raise a clear error unless labels is an int64 Tensor (batch_size,). Their range
    (0..K-1) is checked once, by the embedding (`_embed`): a second check here would cost
    a GPU step two more host syncs every forward."""
    if not isinstance(labels, mg.Tensor):
        raise TypeError(f"{who}: labels must be an int64 Tensor of shape (N,), got "
                        f"{type(labels).__name__}")
    if labels.dtype != mg.int64:
        raise TypeError(f"{who}: labels must be int64 class indices (as torch.long), got "
                        f"{labels.dtype}; convert them with labels.long()")
    if tuple(labels.shape) != (batch_size,):
        raise ValueError(f"{who}: labels must have shape ({batch_size},), one class per "
                         f"sample, got shape {tuple(labels.shape)}")


def _embed(model, labels):
    """model.label_embedding(labels), with a label out of range named for the model."""
    try:
        return model.label_embedding(labels)
    except IndexError as error:
        raise ValueError(f"{type(model).__name__}: labels must lie in "
                         f"0..{model.num_classes - 1} (num_classes={model.num_classes}); "
                         f"{error}") from None


def _check_image_size(image_size: int, who: str) -> None:
    if image_size < 4 or image_size % 4:
        raise ValueError(f"{who}: image_size must be a multiple of 4 (28 for MNIST), got "
                         f"{image_size}")


# ------------------------------------------------------------------------------ MLP

class ConditionalMLPGenerator(nn.Module):
    def __init__(self, z_dim: int = 100, image_size: int = 28, channels: int = 1,
                 num_classes: int = 10, hidden=(256, 512, 1024)):
        super().__init__()
        self.z_dim, self.num_classes = z_dim, num_classes
        self.image_shape = (channels, image_size, image_size)
        self.label_embedding = nn.Embedding(num_classes, num_classes)   # (K, K) ~ N(0, 1)
        layers, width = [], z_dim + num_classes
        for h in hidden:
            layers += [nn.Linear(width, h), nn.LeakyReLU(0.2)]
            width = h
        layers += [nn.Linear(width, channels * image_size * image_size), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z, labels):
        check_labels(labels, z.shape[0], type(self).__name__)
        h = mg.cat([z, _embed(self, labels)], dim=1)     # (N, z_dim + K)
        return self.net(h).reshape(z.shape[0], *self.image_shape)  # (N, C, H, W)


class ConditionalMLPDiscriminator(nn.Module):
    def __init__(self, image_size: int = 28, channels: int = 1, num_classes: int = 10,
                 hidden=(512, 256), spectral_norm: bool = False):
        super().__init__()
        self.num_classes = num_classes
        self.label_embedding = nn.Embedding(num_classes, num_classes)   # (K, K) ~ N(0, 1)
        layers, width = [], channels * image_size * image_size + num_classes
        for h in hidden:
            layers += [_sn(nn.Linear(width, h), spectral_norm), nn.LeakyReLU(0.2)]
            width = h
        layers += [_sn(nn.Linear(width, 1), spectral_norm)]
        self.net = nn.Sequential(*layers)

    def forward(self, x, labels):
        check_labels(labels, x.shape[0], type(self).__name__)
        h = mg.cat([x.flatten(1), _embed(self, labels)], dim=1)  # (N, C*H*W + K)
        return self.net(h).reshape(x.shape[0])                           # (N,) logits


# ---------------------------------------------------------------------------- DCGAN

class ConditionalDCGANGenerator(nn.Module):
    def __init__(self, z_dim: int = 100, image_size: int = 28, channels: int = 1,
                 num_classes: int = 10, width: int = 64):
        super().__init__()
        _check_image_size(image_size, type(self).__name__)
        self.z_dim, self.num_classes, w = z_dim, num_classes, width
        s = image_size // 4                                  # 7 for MNIST
        self.label_embedding = nn.Embedding(num_classes, num_classes)   # (K, K) ~ N(0, 1)
        self.project = nn.Sequential(nn.Linear(z_dim + num_classes, 2 * w * s * s),
                                     nn.BatchNorm1d(2 * w * s * s), nn.ReLU())
        self.body = nn.Sequential(
            nn.ConvTranspose2d(2 * w, w, 4, 2, 1),           # s -> 2s
            nn.BatchNorm2d(w), nn.ReLU(),
            nn.ConvTranspose2d(w, channels, 4, 2, 1),        # 2s -> 4s
            nn.Tanh())
        self._first_shape = (2 * w, s, s)

    def forward(self, z, labels):
        check_labels(labels, z.shape[0], type(self).__name__)
        h = mg.cat([z, _embed(self, labels)], dim=1)               # (N, z_dim + K)
        h = self.project(h).reshape(z.shape[0], *self._first_shape)       # (N, 2w, s, s)
        return self.body(h)                                                # (N, C, 4s, 4s)


class ConditionalDCGANDiscriminator(nn.Module):
    """D(x, y) = psi(phi(x)) + <embed(y), phi(x)>: the projection discriminator."""

    def __init__(self, image_size: int = 28, channels: int = 1, num_classes: int = 10,
                 width: int = 64, norm: str = "batch", spectral_norm: bool = False):
        super().__init__()
        _check_image_size(image_size, type(self).__name__)
        self.num_classes, w, sn = num_classes, width, spectral_norm
        s = image_size // 4
        num_features = 2 * w * s * s
        self.features = nn.Sequential(                      # phi: dcgan.py's D without its head
            _sn(nn.Conv2d(channels, w, 4, 2, 1), sn), nn.LeakyReLU(0.2),     # 4s -> 2s
            _sn(nn.Conv2d(w, 2 * w, 4, 2, 1), sn),                         # 2s -> s
            _norm2d(norm, 2 * w, s), nn.LeakyReLU(0.2),
            nn.Flatten())                                                  # (N, F)
        self.linear = _sn(nn.Linear(num_features, 1), sn)                  # psi
        self.label_embedding = _sn(nn.Embedding(num_classes, num_features), sn)  # (K, F)
        # N(0, 0.02), the scale weights_init gives psi (which it does not apply to an
        # Embedding): embedding's default N(0, 1) would make <embed(y), h> ~ 50x psi(h).
        weight = getattr(self.label_embedding, "weight_orig", None)
        nn.init.normal_(self.label_embedding.weight if weight is None else weight, 0.0, 0.02)

    def forward(self, x, labels):
        check_labels(labels, x.shape[0], type(self).__name__)
        h = self.features(x)                                               # (N, F)
        unconditional = self.linear(h).reshape(x.shape[0])                 # (N,)
        projection = (_embed(self, labels) * h).sum(dim=1)         # (N,)
        return unconditional + projection                                  # (N,) logits
