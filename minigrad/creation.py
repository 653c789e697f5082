"""Making tensors: mg.tensor, zeros, ones, randn, ... (float32 unless told otherwise: by a
dtype, or for every call by mg.set_default_dtype)."""
from __future__ import annotations

import numpy as np

from . import backend
from .ops.shape import _whole
from .tensor import Tensor, require_tensor

float32 = np.float32
float64 = np.float64
int64 = np.int64
int32 = np.int32
uint8 = np.uint8
bool_ = np.bool_


def _number(value):
    """A one-element tensor as the Python number it holds (arange's and linspace's
    bounds may be tensors, as in PyTorch); anything else as it is."""
    return value.item() if isinstance(value, Tensor) else value


def _shape(shape, op: str, size=None) -> tuple:
    """The shape as PyTorch takes it: zeros(2, 3), zeros((2, 3)), zeros([2, 3]) or
    zeros(size=(2, 3)); each size a whole number >= 0."""
    if size is not None:
        if shape:
            raise TypeError(f"{op}: give the shape once, as arguments or as size=, got both "
                            f"{shape} and size={size}")
        shape = (size,)
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    sizes = tuple(_whole(n, op, "each size") for n in shape)     # 2.5 and True refused
    if any(n < 0 for n in sizes):
        raise ValueError(f"{op}: sizes must not be negative, got {sizes}")
    return sizes


def tensor(data, dtype=None, device="cpu", requires_grad: bool = False) -> Tensor:
    """A new leaf tensor from a list, number, numpy or CuPy array (always copied).

    Floating data becomes float32 (the default dtype) unless `dtype` says otherwise
    (float64 for gradcheck); integer and boolean data keep their kind (labels, indices)."""
    if isinstance(data, Tensor):
        data = data.data
    elif isinstance(data, (list, tuple)):
        probe = np.asarray(data)
        # [mg.tensor(1.), mg.tensor(2.)] reads as objects: their values (walked only then)
        data = probe if probe.dtype != object else np.asarray(_without_tensors(data))
    device = backend.normalize_device(device)
    xp = backend.get_xp(device)
    if backend.is_gpu_array(data) and device == "cpu":
        data = data.get()
    array = xp.array(data, dtype=dtype, copy=True)
    default = backend.get_default_dtype()
    if dtype is None and array.dtype.kind == "f" and array.dtype != default:
        array = array.astype(default)
    return Tensor(array, requires_grad=requires_grad)


def _without_tensors(data):
    """A (nested) list with each Tensor in it replaced by its values (as numpy)."""
    if isinstance(data, Tensor):
        return data.numpy()
    if isinstance(data, (list, tuple)):
        return [_without_tensors(item) for item in data]
    return data


def as_tensor(data, dtype=None, device="cpu") -> Tensor:
    """Like `tensor`, but without a copy when an array of the right kind is given."""
    if isinstance(data, Tensor):
        return data.to(device=device, dtype=dtype)
    device = backend.normalize_device(device)
    array = backend.to_device(data, device)
    if dtype is not None:
        array = array.astype(dtype, copy=False)
    elif array.dtype.kind == "f" and array.dtype != backend.get_default_dtype():
        array = array.astype(backend.get_default_dtype())
    return Tensor(array)


def _make(fill, shape, dtype, device, requires_grad, op: str, size=None):
    xp = backend.get_xp(device)
    dtype = np.dtype(dtype or backend.get_default_dtype())
    return Tensor(fill(xp, _shape(shape, op, size), dtype),
                  requires_grad=requires_grad)


def zeros(*shape, size=None, dtype=None, device="cpu", requires_grad=False) -> Tensor:
    return _make(lambda xp, s, d: xp.zeros(s, dtype=d), shape, dtype, device, requires_grad,
                 "zeros", size)


def ones(*shape, size=None, dtype=None, device="cpu", requires_grad=False) -> Tensor:
    return _make(lambda xp, s, d: xp.ones(s, dtype=d), shape, dtype, device, requires_grad,
                 "ones", size)


def full(shape, fill_value, dtype=None, device="cpu", requires_grad=False) -> Tensor:
    """As PyTorch: without a dtype, a bool fill gives bool, an int int64, a float the
    default dtype (float32)."""
    if dtype is None and isinstance(fill_value, (bool, np.bool_)):
        dtype = np.bool_
    elif dtype is None and isinstance(fill_value, (int, np.integer)):
        dtype = np.int64
    return _make(lambda xp, s, d: xp.full(s, fill_value, dtype=d), (shape,), dtype, device,
                 requires_grad, "full")


def _float_dtype(dtype, op: str):
    if dtype is not None and np.dtype(dtype).kind != "f":
        raise TypeError(f"{op}: samples are floating point, got dtype {np.dtype(dtype)} (for "
                        f"integers use mg.randint)")
    return dtype


def randn(*shape, size=None, dtype=None, device="cpu", requires_grad=False) -> Tensor:
    """Standard normal samples from the library's seeded generator (mg.manual_seed)."""
    def fill(xp, s, d):
        sample = backend.rng().standard_normal(s, dtype=np.float64).astype(d)
        return backend.to_device(sample, device)
    return _make(fill, shape, _float_dtype(dtype, "randn"), device, requires_grad, "randn",
                 size)


def rand(*shape, size=None, dtype=None, device="cpu", requires_grad=False) -> Tensor:
    """Uniform samples in [0, 1) from the library's seeded generator."""
    def fill(xp, s, d):
        sample = backend.rng().random(s, dtype=np.float64).astype(d)
        return backend.to_device(sample, device)
    return _make(fill, shape, _float_dtype(dtype, "rand"), device, requires_grad, "rand",
                 size)


def empty(*shape, size=None, dtype=None, device="cpu", requires_grad=False) -> Tensor:
    """PyTorch leaves an empty tensor's memory as it was; here it is zeros (a value you
    can rely on is easier to debug than leftover numbers)."""
    return zeros(*shape, size=size, dtype=dtype, device=device, requires_grad=requires_grad)


def eye(n: int, m: int | None = None, dtype=None, device="cpu",
        requires_grad=False) -> Tensor:
    """The n x m identity matrix (m = n by default): ones on the diagonal."""
    _shape((n, n if m is None else m), "eye")
    return _make(lambda xp, s, d: xp.eye(n, m, dtype=d), (), dtype, device, requires_grad,
                 "eye")


def linspace(start, end, steps: int, dtype=None, device="cpu",
             requires_grad=False) -> Tensor:
    """`steps` evenly spaced numbers from start to end, both included (the walk between
    two latent vectors: mg.linspace(0, 1, 8))."""
    start, end = _number(start), _number(end)
    (steps,) = _shape((steps,), "linspace")         # a whole number >= 0
    return _make(lambda xp, s, d: xp.linspace(start, end, steps, dtype=np.float64).astype(d),
                 (), dtype, device, requires_grad, "linspace")


def randperm(n: int, dtype=None, device="cpu") -> Tensor:
    """A random permutation of 0 .. n-1 (int64) from the library's seeded generator."""
    (n,) = _shape((n,), "randperm")
    order = backend.rng().permutation(n).astype(dtype or np.int64)
    return Tensor(backend.to_device(order, device))


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing the numpy array's memory (and its dtype, float64 included), as
    torch.from_numpy: a change to one shows in the other."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected a numpy.ndarray, got {type(array).__name__}")
    return Tensor(array)


def is_tensor(obj) -> bool:
    return isinstance(obj, Tensor)


def randint(low=0, high=None, size=None, *, dtype=None, device="cpu",
            shape=None) -> Tensor:
    """Whole numbers drawn uniformly from [low, high), as torch.randint: randint(high,
    size) or randint(low, high, size), sizes positional or by keyword (`shape` is this
    library's older name for size); int64 unless dtype says otherwise. From the library's
    seeded generator."""
    if size is None:
        size = shape
    if size is None and isinstance(high, (tuple, list)):     # randint(high, size)
        low, high, size = 0, low, high
    elif high is None and size is not None:                  # randint(high, size=...)
        low, high = 0, low
    if high is None or size is None:
        raise TypeError(f"randint: expected randint(high, size) or randint(low, high, "
                        f"size), got low={low!r}, high={high!r}, size={size!r}")
    if high <= low:
        raise ValueError(f"randint: high ({high}) must be greater than low ({low}): the "
                         f"numbers are drawn from [low, high)")
    sample = backend.rng().integers(low, high, size=_shape((size,), "randint"))
    return Tensor(backend.to_device(sample.astype(dtype or np.int64, copy=False), device))


def arange(start, end=None, step=1, dtype=None, device="cpu",
           requires_grad: bool = False) -> Tensor:
    """start, start + step, ... up to (not including) end, as torch.arange: int64 for
    whole-number arguments, float32 where one is a float (unless dtype says otherwise)."""
    start, end, step = _number(start), _number(end), _number(step)
    if end is None:
        start, end = 0, start
    if step == 0:
        raise ValueError(f"arange: step must be nonzero (start {start}, end {end})")
    if (end - start) * step < 0:
        raise ValueError(f"arange: the range from {start} to {end} goes against the sign of "
                         f"step {step}, as PyTorch refuses (numpy would give an empty one)")
    xp = backend.get_xp(device)
    array = xp.arange(start, end, step)
    if dtype is not None:
        array = array.astype(dtype)
    elif array.dtype.kind == "f":
        array = array.astype(backend.get_default_dtype())
    return Tensor(array, requires_grad=requires_grad)


def _like(fn, x: Tensor, dtype, requires_grad) -> Tensor:
    require_tensor(x, f"{fn.__name__}_like")
    return fn(*x.shape, dtype=dtype or x.dtype, device=x.device, requires_grad=requires_grad)


def zeros_like(x, dtype=None, requires_grad=False):
    return _like(zeros, x, dtype, requires_grad)


def ones_like(x, dtype=None, requires_grad=False):
    return _like(ones, x, dtype, requires_grad)


def randn_like(x, dtype=None, requires_grad=False):
    return _like(randn, x, dtype, requires_grad)


def rand_like(x, dtype=None, requires_grad=False):
    return _like(rand, x, dtype, requires_grad)


def empty_like(x, dtype=None, requires_grad=False):
    return _like(empty, x, dtype, requires_grad)


def full_like(x, fill_value, dtype=None, requires_grad=False):
    return full(x.shape, fill_value, dtype=dtype or x.dtype, device=x.device,
                requires_grad=requires_grad)
