"""Shared test set-up: every test that takes `device` runs on the CPU and, when CuPy and a
CUDA device exist, on the GPU too (marked `gpu`; skipped with a reason otherwise)."""
import numpy as np
import pytest

import minigrad as mg


def _gpu_skip_reason():
    if mg.gpu_available():
        return None
    return "no GPU: CuPy or a CUDA device is missing (pip install -e '.[cuda12]')"


_GPU_REASON = _gpu_skip_reason()

DEVICES = ["cpu", pytest.param("gpu", marks=[pytest.mark.gpu, pytest.mark.skipif(
    _GPU_REASON is not None, reason=_GPU_REASON or "")])]


@pytest.fixture(params=DEVICES)
def device(request):
    """'cpu', then 'gpu' where available."""
    return request.param


@pytest.fixture(autouse=True)
def _seed():
    mg.manual_seed(0)
    np.random.seed(0)


def make(shape, device="cpu", requires_grad=True, seed=None, low=None):
    """A float64 tensor of standard-normal values (|x| >= low if given)."""
    rng = np.random.default_rng(seed if seed is not None else abs(hash(shape)) % 2**32)
    values = rng.standard_normal(shape)
    if low is not None:
        values = np.sign(values) * (np.abs(values) + low)
    return mg.tensor(values, dtype=mg.float64, device=device, requires_grad=requires_grad)
