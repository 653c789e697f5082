"""Shared by every peer of the GAN-step benchmark (bench/README.md, "The benchmark"): the
networks' layer list, the initial weights and the fixed data, as plain numpy arrays.

Weights are drawn in this order from numpy default_rng(0), N(0, 0.02), in torch layouts
(Linear (out, in), Conv2d (out, in, k, k), ConvTranspose2d (in, out, k, k)); biases 0,
batch-norm gamma 1 and beta 0. Data from default_rng(1): real (64,1,28,28) ~ N(0,1),
z (64,100) ~ N(0,1), alpha (64,1,1,1) ~ U(0,1).
"""
from __future__ import annotations

import numpy as np

Z_DIM = 100

# (name, kind, weight shape) in the order the weights are drawn
G_LAYERS = [("g_fc", "linear", (6272, Z_DIM)), ("g_bn0", "bn1d", (6272,)),
            ("g_dc1", "deconv", (128, 64, 4, 4)), ("g_bn1", "bn2d", (64,)),
            ("g_dc2", "deconv", (64, 1, 4, 4))]
D_LAYERS = [("d_c1", "conv", (64, 1, 4, 4)), ("d_c2", "conv", (128, 64, 4, 4)),
            ("d_bn2", "bn2d", (128,)), ("d_fc", "linear", (1, 6272))]
C_LAYERS = [("c_c1", "conv", (64, 1, 4, 4)), ("c_c2", "conv", (128, 64, 4, 4)),
            ("c_fc", "linear", (1, 6272))]


def _bias_size(kind: str, shape) -> int:
    return shape[1] if kind == "deconv" else shape[0]


def make_params(batch: int = 64) -> dict:
    """{layer name: {"weight": array, "bias": array}} for G, D and C, float32."""
    rng = np.random.default_rng(0)
    params = {}
    for name, kind, shape in G_LAYERS + D_LAYERS + C_LAYERS:
        if kind.startswith("bn"):
            params[name] = {"weight": np.ones(shape, np.float32),
                            "bias": np.zeros(shape, np.float32)}
        else:
            params[name] = {"weight": (rng.standard_normal(shape) * 0.02).astype(np.float32),
                            "bias": np.zeros(_bias_size(kind, shape), np.float32)}
    return params


def make_data(batch: int = 64) -> dict:
    rng = np.random.default_rng(1)
    return {"real": rng.standard_normal((batch, 1, 28, 28)).astype(np.float32),
            "z": rng.standard_normal((batch, Z_DIM)).astype(np.float32),
            "alpha": rng.random((batch, 1, 1, 1)).astype(np.float32)}
