"""Inception-v3 as used for FID: the TensorFlow graph of 2015-12-05 that every published
FID since Heusel et al. (2017) runs, rebuilt with minigrad layers.

The graph differs from torchvision's Inception-v3 in four places, which is why FIDs
computed with torchvision's network are not comparable with published ones:

- 1008 output classes (the TF graph's), not 1000;
- the average-pool branch of blocks A, C and the first E averages over the real pixels
  only (TensorFlow's padding: `count_include_pad=False`);
- the last E block (Mixed_7c) pools its branch with a *max* pool (an oddity of that
  graph, kept because the weights were trained with it);
- batch norm eps 0.001.

Parameter names are those of pytorch-fid's port of the graph (the state dict of
pt_inception-2015-12-05-6726825d.pth): `Conv2d_1a_3x3.conv.weight`,
`Conv2d_1a_3x3.bn.{weight,bias,running_mean,running_var}`, `Mixed_5b.branch1x1.conv.weight`,
..., `fc.weight` (1008, 2048), `fc.bias`. `tools/convert_fid_inception.py` turns that file
into an .npz with the same names (it is the only place that imports PyTorch), and
`load_inception(path)` reads it; `python -m gans evaluate --feature-net inception
--inception-weights PATH` uses it. Nothing is downloaded, ever.

Input: (N, 3, H, W) or (N, 1, H, W) (grey images are repeated to 3 channels) in [-1, 1],
the range of the generators' tanh and of gans.data.to_float_images; resized to 299 x 299
with bilinear interpolation (align_corners=False), as pytorch-fid does.
Output: the 2048-d pool features (FID, KID, precision/recall) and the 1008 logits
(softmax -> Inception Score).

Shapes through the network, for a 299 x 299 input:
    3x299x299 -> Conv2d_1a (s2) 32x149x149 -> 2a 32x147x147 -> 2b 64x147x147 -> maxpool 64x73x73
    -> 3b 80x73x73 -> 4a 192x71x71 -> maxpool 192x35x35 -> Mixed_5b/c/d 256/288/288 x35x35
    -> 6a 768x17x17 -> 6b..6e 768x17x17 -> 7a 1280x8x8 -> 7b 2048x8x8 -> 7c 2048x8x8
    -> mean over 8x8 -> 2048 -> fc -> 1008
The smallest input the network accepts without resizing is 75 x 75.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

import minigrad as mg
import minigrad.nn as nn
import minigrad.nn.functional as F

NUM_FEATURES, NUM_CLASSES = 2048, 1008


class BasicConv2d(nn.Module):
    """conv (no bias) -> batch norm (eps 0.001) -> ReLU; names .conv and .bn."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1,
                 padding=0):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride,
                              padding=padding, bias=False)
        self.bn = nn.BatchNorm2d(out_channels, eps=0.001)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


def _tf_avg_pool(x):
    """3x3 average, stride 1, 'same' padding that averages over real pixels only."""
    return F.avg_pool2d(x, 3, 1, 1, count_include_pad=False)


class InceptionA(nn.Module):
    """35x35 block: 1x1 | 1x1-5x5 | 1x1-3x3-3x3 | avgpool-1x1 -> 64+64+96+pool_features."""

    def __init__(self, in_channels: int, pool_features: int):
        super().__init__()
        self.branch1x1 = BasicConv2d(in_channels, 64, 1)
        self.branch5x5_1 = BasicConv2d(in_channels, 48, 1)
        self.branch5x5_2 = BasicConv2d(48, 64, 5, padding=2)
        self.branch3x3dbl_1 = BasicConv2d(in_channels, 64, 1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, 3, padding=1)
        self.branch_pool = BasicConv2d(in_channels, pool_features, 1)

    def forward(self, x):
        b1 = self.branch1x1(x)
        b5 = self.branch5x5_2(self.branch5x5_1(x))
        b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        bp = self.branch_pool(_tf_avg_pool(x))
        return mg.cat([b1, b5, b3, bp], 1)


class InceptionB(nn.Module):
    """35 -> 17 reduction: 3x3 s2 | 1x1-3x3-3x3 s2 | maxpool s2 -> 384+96+in."""

    def __init__(self, in_channels: int):
        super().__init__()
        self.branch3x3 = BasicConv2d(in_channels, 384, 3, stride=2)
        self.branch3x3dbl_1 = BasicConv2d(in_channels, 64, 1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, 3, stride=2)

    def forward(self, x):
        b3 = self.branch3x3(x)
        bd = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return mg.cat([b3, bd, F.max_pool2d(x, 3, 2)], 1)


class InceptionC(nn.Module):
    """17x17 block with factorised 7x7 convolutions (1x7 then 7x1) -> 4 x 192 channels."""

    def __init__(self, in_channels: int, channels_7x7: int):
        super().__init__()
        c7 = channels_7x7
        self.branch1x1 = BasicConv2d(in_channels, 192, 1)
        self.branch7x7_1 = BasicConv2d(in_channels, c7, 1)
        self.branch7x7_2 = BasicConv2d(c7, c7, (1, 7), padding=(0, 3))
        self.branch7x7_3 = BasicConv2d(c7, 192, (7, 1), padding=(3, 0))
        self.branch7x7dbl_1 = BasicConv2d(in_channels, c7, 1)
        self.branch7x7dbl_2 = BasicConv2d(c7, c7, (7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = BasicConv2d(c7, c7, (1, 7), padding=(0, 3))
        self.branch7x7dbl_4 = BasicConv2d(c7, c7, (7, 1), padding=(3, 0))
        self.branch7x7dbl_5 = BasicConv2d(c7, 192, (1, 7), padding=(0, 3))
        self.branch_pool = BasicConv2d(in_channels, 192, 1)

    def forward(self, x):
        b1 = self.branch1x1(x)
        b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        bd = x
        for i in range(1, 6):
            bd = getattr(self, f"branch7x7dbl_{i}")(bd)
        bp = self.branch_pool(_tf_avg_pool(x))
        return mg.cat([b1, b7, bd, bp], 1)


class InceptionD(nn.Module):
    """17 -> 8 reduction: 1x1-3x3 s2 | 1x1-1x7-7x1-3x3 s2 | maxpool s2 -> 320+192+in."""

    def __init__(self, in_channels: int):
        super().__init__()
        self.branch3x3_1 = BasicConv2d(in_channels, 192, 1)
        self.branch3x3_2 = BasicConv2d(192, 320, 3, stride=2)
        self.branch7x7x3_1 = BasicConv2d(in_channels, 192, 1)
        self.branch7x7x3_2 = BasicConv2d(192, 192, (1, 7), padding=(0, 3))
        self.branch7x7x3_3 = BasicConv2d(192, 192, (7, 1), padding=(3, 0))
        self.branch7x7x3_4 = BasicConv2d(192, 192, 3, stride=2)

    def forward(self, x):
        b3 = self.branch3x3_2(self.branch3x3_1(x))
        b7 = x
        for i in range(1, 5):
            b7 = getattr(self, f"branch7x7x3_{i}")(b7)
        return mg.cat([b3, b7, F.max_pool2d(x, 3, 2)], 1)


class InceptionE(nn.Module):
    """8x8 block with split 1x3 / 3x1 branches -> 320 + 768 + 768 + 192 = 2048.
    pool="avg" (Mixed_7b, TF padding) or "max" (Mixed_7c, the FID graph's oddity)."""

    def __init__(self, in_channels: int, pool: str):
        super().__init__()
        if pool not in ("avg", "max"):
            raise ValueError(f"InceptionE: pool must be 'avg' or 'max', got {pool!r}")
        self.pool = pool
        self.branch1x1 = BasicConv2d(in_channels, 320, 1)
        self.branch3x3_1 = BasicConv2d(in_channels, 384, 1)
        self.branch3x3_2a = BasicConv2d(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3_2b = BasicConv2d(384, 384, (3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = BasicConv2d(in_channels, 448, 1)
        self.branch3x3dbl_2 = BasicConv2d(448, 384, 3, padding=1)
        self.branch3x3dbl_3a = BasicConv2d(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = BasicConv2d(384, 384, (3, 1), padding=(1, 0))
        self.branch_pool = BasicConv2d(in_channels, 192, 1)

    def forward(self, x):
        b1 = self.branch1x1(x)
        h = self.branch3x3_1(x)
        b3 = mg.cat([self.branch3x3_2a(h), self.branch3x3_2b(h)], 1)
        h = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        bd = mg.cat([self.branch3x3dbl_3a(h), self.branch3x3dbl_3b(h)], 1)
        pooled = _tf_avg_pool(x) if self.pool == "avg" else F.max_pool2d(x, 3, 1, 1)
        return mg.cat([b1, b3, bd, self.branch_pool(pooled)], 1)


def prepare_images(x, resize: bool = True):
    """(N, 1 or 3, H, W) in [-1, 1] -> (N, 3, 299, 299): grey repeated to 3 channels, then
    a bilinear resize (align_corners=False, as pytorch-fid) unless resize is False."""
    if x.ndim != 4 or x.shape[1] not in (1, 3):
        raise ValueError(f"FIDInceptionV3: expected images (N, 1 or 3, H, W), got shape "
                         f"{tuple(x.shape)}")
    if x.shape[1] == 1:
        x = x.expand(x.shape[0], 3, *x.shape[2:])
    if resize and tuple(x.shape[2:]) != (299, 299):
        x = F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False)
    return x


class FIDInceptionV3(nn.Module):
    """The FID Inception-v3. `forward(x)` returns (features (N, 2048), logits (N, 1008)).

    resize_input=False skips the 299 x 299 resize (inputs must then be at least 75 x 75);
    useful for tests, not for reported numbers. Build it, then `load_inception(path)` or
    `model.load_state_dict(...)`: the random initial weights measure nothing."""

    def __init__(self, resize_input: bool = True):
        super().__init__()
        self.resize_input = resize_input
        self.Conv2d_1a_3x3 = BasicConv2d(3, 32, 3, stride=2)
        self.Conv2d_2a_3x3 = BasicConv2d(32, 32, 3)
        self.Conv2d_2b_3x3 = BasicConv2d(32, 64, 3, padding=1)
        self.Conv2d_3b_1x1 = BasicConv2d(64, 80, 1)
        self.Conv2d_4a_3x3 = BasicConv2d(80, 192, 3)
        self.Mixed_5b = InceptionA(192, pool_features=32)
        self.Mixed_5c = InceptionA(256, pool_features=64)
        self.Mixed_5d = InceptionA(288, pool_features=64)
        self.Mixed_6a = InceptionB(288)
        self.Mixed_6b = InceptionC(768, channels_7x7=128)
        self.Mixed_6c = InceptionC(768, channels_7x7=160)
        self.Mixed_6d = InceptionC(768, channels_7x7=160)
        self.Mixed_6e = InceptionC(768, channels_7x7=192)
        self.Mixed_7a = InceptionD(768)
        self.Mixed_7b = InceptionE(1280, pool="avg")
        self.Mixed_7c = InceptionE(2048, pool="max")
        self.fc = nn.Linear(NUM_FEATURES, NUM_CLASSES)
        self.eval()

    def prepare(self, x):
        return prepare_images(x, self.resize_input)

    def features(self, x):
        """The 2048-d pool features (N, 2048) of images x in [-1, 1]."""
        x = prepare_images(x, self.resize_input)
        x = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x)))   # 64 x 147
        x = F.max_pool2d(x, 3, 2)                                           # 64 x 73
        x = self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(x))                       # 192 x 71
        x = F.max_pool2d(x, 3, 2)                                           # 192 x 35
        for name in ("Mixed_5b", "Mixed_5c", "Mixed_5d", "Mixed_6a", "Mixed_6b", "Mixed_6c",
                     "Mixed_6d", "Mixed_6e", "Mixed_7a", "Mixed_7b", "Mixed_7c"):
            x = getattr(self, name)(x)                                      # -> 2048 x 8
        return x.mean((2, 3))                                               # (N, 2048)

    def forward(self, x):
        f = self.features(x)
        return f, self.fc(f)

    def probs(self, x):
        """softmax over the 1008 classes (N, 1008): the Inception Score's p(y|x)."""
        return F.softmax(self.forward(x)[1], dim=1)


# ------------------------------------------------------------------ weights
def _expected(model: nn.Module) -> dict:
    return {k: tuple(v.shape) for k, v in model.state_dict().items()
            if not k.endswith("num_batches_tracked")}


def load_inception(path, device: str = "cpu", resize_input: bool = True) -> FIDInceptionV3:
    """An FIDInceptionV3 with the weights in `path`: an .npz (written by
    tools/convert_fid_inception.py, or any .npz / mg.save file) holding one array per
    state-dict name of pytorch-fid's FID Inception (`num_batches_tracked` entries are
    optional). A missing, unexpected or wrong-shaped tensor is an error that names it."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(
            f"Inception weights {path} not found. Convert pytorch-fid's "
            f"pt_inception-2015-12-05-6726825d.pth once with "
            f"`python tools/convert_fid_inception.py PTH {path}` (needs PyTorch)")
    loaded = mg.load(path)
    state = loaded.get("state_dict", loaded) if isinstance(loaded, dict) else loaded
    with mg.backend.fork_rng():       # initial weights overwritten: keep the stream
        model = FIDInceptionV3(resize_input=resize_input)
    expected = _expected(model)
    arrays = {k: np.asarray(v.numpy() if isinstance(v, mg.Tensor) else v)
              for k, v in state.items() if not k.endswith("num_batches_tracked")}
    missing = sorted(set(expected) - set(arrays))
    unexpected = sorted(set(arrays) - set(expected))
    wrong = [f"{k}: expected {expected[k]}, got {arrays[k].shape}"
             for k in expected if k in arrays and arrays[k].shape != expected[k]]
    problems = []
    if missing:
        problems.append(f"{len(missing)} missing: {_some(missing)}")
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected: {_some(unexpected)}")
    if wrong:
        problems.append(f"{len(wrong)} with the wrong shape: {_some(wrong)}")
    if problems:
        raise ValueError(f"load_inception: {path} does not hold the FID Inception weights "
                         f"(pytorch-fid's names): " + "; ".join(problems))
    current = model.state_dict()
    full = {k: arrays[k].astype(np.float32) if k in arrays else current[k]
            for k in current}
    model.load_state_dict(full)
    model.eval()
    return model.to(device)


def _some(items: list, n: int = 5) -> str:
    shown = ", ".join(items[:n])
    return shown + (f", ... ({len(items) - n} more)" if len(items) > n else "")
