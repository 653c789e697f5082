"""Backends: numpy on the CPU, CuPy on the GPU. The one place that decides which.

Every Tensor holds a plain ndarray in `.data`: a `numpy.ndarray` on the CPU or a
`cupy.ndarray` on the GPU. Code that needs "the array module for this array" asks
`xp_of(array)` (or `get_xp(device)`) instead of importing numpy or cupy itself, so the
same op works on both devices.

CuPy is imported lazily, the first time a GPU is asked for: the package imports and
runs on a machine without CuPy.

Random numbers: all library randomness draws from one numpy Generator, reseeded by
`manual_seed(seed)`. GPU tensors are filled from it too (drawn on the CPU, then copied
over), so a seed gives the same numbers on both devices, two runs with the same seed are
bit-for-bit identical, and `get_rng_state()` is the whole random state of a run.
"""
from __future__ import annotations

import contextlib

import numpy as np

CPU = "cpu"
GPU = "gpu"

_INSTALL_HINT = (
    'install CuPy with the extra that matches your CUDA: pip install -e ".[cuda12]" '
    '(CUDA 12) or pip install -e ".[cuda13]" (CUDA 13)'
)

_cupy = None          # the cupy module once imported
_cupy_error = None    # why it could not be used, if it could not


def normalize_device(device) -> str:
    """'cpu' -> 'cpu'; 'gpu', 'cuda', 'cuda:0' -> 'gpu'. Anything else is an error."""
    if device is None:
        return CPU
    name = str(device).lower()
    if name == CPU:
        return CPU
    if name in (GPU, "cuda") or name.startswith("cuda:") or name.startswith("gpu:"):
        return GPU
    raise ValueError(f"unknown device {device!r}: use 'cpu' or 'gpu' (alias 'cuda')")


def _load_cupy():
    global _cupy, _cupy_error
    if _cupy is None and _cupy_error is None:
        try:
            import cupy  # noqa: PLC0415 (lazy on purpose)

            if cupy.cuda.runtime.getDeviceCount() < 1:
                raise RuntimeError("CuPy found no CUDA device")
            _cupy = cupy
        except Exception as exc:  # ImportError, CUDA driver errors, no device
            _cupy_error = f"{type(exc).__name__}: {exc}"
    return _cupy


def gpu_available() -> bool:
    """True when CuPy imports and sees at least one CUDA device."""
    return _load_cupy() is not None


def cupy():
    """The cupy module, or a RuntimeError that says how to install it."""
    module = _load_cupy()
    if module is None:
        raise RuntimeError(
            f"device 'gpu' was requested but CuPy with a CUDA device is not available "
            f"({_cupy_error}); {_INSTALL_HINT}"
        )
    return module


def get_xp(device: str):
    """The array module for a device name: numpy for 'cpu', cupy for 'gpu'."""
    return cupy() if normalize_device(device) == GPU else np


def is_gpu_array(array) -> bool:
    """True for a cupy.ndarray, checked without importing cupy (numpy arrays first: this
    runs a few times for every op)."""
    cls = type(array)
    return cls is not np.ndarray and cls.__module__.startswith("cupy")


def device_of(array) -> str:
    return GPU if is_gpu_array(array) else CPU


def xp_of(array):
    """numpy or cupy, whichever owns `array`."""
    return cupy() if is_gpu_array(array) else np


def to_device(array, device: str):
    """Copy an array to a device (no copy when it is already there)."""
    device = normalize_device(device)
    if device == GPU:
        return cupy().asarray(array)
    if is_gpu_array(array):
        return array.get()
    return np.asarray(array)


def to_numpy(array) -> np.ndarray:
    return array.get() if is_gpu_array(array) else np.asarray(array)


# ---------------------------------------------------------------- the default float dtype
_default_float = np.float32


def set_default_dtype(dtype) -> None:
    """The dtype of floating tensors made without a dtype (mg.tensor of floats, zeros,
    randn, arange of floats, a layer's parameters): float32 unless set, as in PyTorch.
    mg.set_default_dtype(mg.float64) runs a whole script in float64 (checks against
    finite differences, or against PyTorch to 1e-12)."""
    global _default_float
    if np.dtype(dtype) not in (np.float32, np.float64):
        raise TypeError(f"set_default_dtype: only float32 and float64 are supported, got "
                        f"{np.dtype(dtype)}")
    _default_float = np.dtype(dtype).type


def get_default_dtype():
    """mg.float32 unless set_default_dtype changed it."""
    return _default_float


# ---------------------------------------------------------------- random numbers
_rng = np.random.default_rng(0)


def manual_seed(seed: int) -> None:
    """Seed the library's generator (every draw, on every device, comes from it)."""
    global _rng
    _rng = np.random.default_rng(seed)


def rng() -> np.random.Generator:
    """The library's one generator: a numpy Generator (PCG64).

    It draws on the CPU for every device; `mg.randn(..., device="gpu")` copies the numbers
    to the GPU. That costs a host-to-device copy (small next to a step for noise vectors,
    WGAN-GP's alpha or a dropout mask), and buys two things: the same seed gives the same
    numbers on the CPU and the GPU, and a checkpoint's `get_rng_state()` covers GPU runs,
    which then resume bit for bit. (PyTorch keeps a second, (seed, offset) generator on
    the GPU to avoid the copy.)
    """
    return _rng


def get_rng_state() -> dict:
    """The generator's state as plain numbers (for checkpoints; no pickle)."""
    state = _rng.bit_generator.state
    return {"bit_generator": state["bit_generator"],
            "state": int(state["state"]["state"]), "inc": int(state["state"]["inc"]),
            "has_uint32": int(state["has_uint32"]), "uinteger": int(state["uinteger"])}


@contextlib.contextmanager
def fork_rng():
    """`with fork_rng():` the draws inside leave the generator as it was (PyTorch's
    torch.random.fork_rng): building a network whose initial weights a checkpoint then
    overwrites, say, without moving a training run's random stream."""
    state = get_rng_state()
    try:
        yield
    finally:
        set_rng_state(state)


def set_rng_state(state: dict) -> None:
    """Restore what `get_rng_state` returned: the following draws repeat exactly."""
    bit_gen = np.random.PCG64()
    bit_gen.state = {"bit_generator": str(state["bit_generator"]),
                     "state": {"state": int(state["state"]), "inc": int(state["inc"])},
                     "has_uint32": int(state["has_uint32"]), "uinteger": int(state["uinteger"])}
    global _rng
    _rng = np.random.Generator(bit_gen)
