"""torch.cuda's names that training scripts call, for the one GPU minigrad uses (CuPy's
current device): `mg.cuda.is_available()`, the seed, a synchronize for timing, and
FloatTensor & co. on the GPU (see legacy.py)."""
from __future__ import annotations

from . import backend
from .legacy import GPU_TYPES

BoolTensor, ByteTensor = GPU_TYPES["BoolTensor"], GPU_TYPES["ByteTensor"]
DoubleTensor, FloatTensor = GPU_TYPES["DoubleTensor"], GPU_TYPES["FloatTensor"]
IntTensor, LongTensor = GPU_TYPES["IntTensor"], GPU_TYPES["LongTensor"]


def is_available() -> bool:
    """True when CuPy imports and sees a CUDA device (mg.gpu_available())."""
    return backend.gpu_available()


def device_count() -> int:
    """1 with a usable GPU (minigrad uses one), else 0."""
    return 1 if backend.gpu_available() else 0


def manual_seed(seed: int) -> None:
    """mg.manual_seed: one generator draws for every device (see backend.rng)."""
    backend.manual_seed(seed)


manual_seed_all = manual_seed


def synchronize() -> None:
    """Wait for the GPU's queued work (before reading a clock); nothing to wait for
    without a GPU."""
    if backend.gpu_available():
        backend.cupy().cuda.get_current_stream().synchronize()
