"""Shared test set-up: every test that takes `device` runs on the CPU and, when CuPy and a
CUDA device exist, on the GPU too (marked `gpu`; skipped with a reason otherwise)."""
import numpy as np
import pytest

import minigrad as mg
from minigrad import backend


def _gpu_skip_reason():
    """None where CuPy and a CUDA device can be used, else why not."""
    try:
        import cupy
        if cupy.cuda.runtime.getDeviceCount() < 1:
            return "CuPy is installed but there is no CUDA device"
    except Exception as error:                      # ImportError, or CUDA driver errors
        return (f"no GPU: CuPy cannot be used here ({type(error).__name__}: {error}); "
                f"pip install -e '.[cuda12]'")
    return None


GPU_SKIP_REASON = _gpu_skip_reason()

DEVICES = ["cpu", pytest.param("gpu", marks=[pytest.mark.gpu, pytest.mark.skipif(
    GPU_SKIP_REASON is not None, reason=GPU_SKIP_REASON or "")])]


@pytest.fixture(params=DEVICES)
def device(request):
    """'cpu', then 'gpu' where available."""
    return request.param


@pytest.fixture(autouse=True)
def _seed():
    mg.manual_seed(0)
    np.random.seed(0)
    mg.set_default_dtype(mg.float32)     # (a test that changes it cannot leak the change)


def make(shape, device="cpu", requires_grad=True, seed=None, low=None):
    """A float64 tensor of standard-normal values (|x| >= low if given)."""
    rng = np.random.default_rng(seed if seed is not None else abs(hash(shape)) % 2**32)
    values = rng.standard_normal(shape)
    if low is not None:
        values = np.sign(values) * (np.abs(values) + low)
    return mg.tensor(values, dtype=mg.float64, device=device, requires_grad=requires_grad)


# A numpy array on a device (copied to the GPU by CuPy), and any array back as numpy: the
# library's own functions, under the names the kernel tests use.
as_device, as_numpy = backend.to_device, backend.to_numpy
