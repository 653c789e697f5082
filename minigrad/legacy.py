"""PyTorch's older spellings, which many GAN scripts still use (the PyTorch-GAN collection,
most 2017-2020 courses), so that they port by renaming `torch` to `mg`:

    cuda = mg.cuda.is_available()
    device = mg.device("cuda" if cuda else "cpu")
    Tensor = mg.cuda.FloatTensor if cuda else mg.FloatTensor
    valid = Variable(Tensor(imgs.size(0), 1).fill_(1.0), requires_grad=False)
    real_imgs = Variable(imgs.type(Tensor))

None of them is a new kind of object: a device is its name (a str), a Variable is a
Tensor, and FloatTensor & co. make and recognise tensors of one dtype on one device.
"""
from __future__ import annotations

import warnings

import numpy as np

from .tensor import Tensor, require_tensor


class device(str):  # noqa: N801 (PyTorch's name)
    """torch.device: here the device's name itself, a str ("cpu", "cuda", "cuda:0", "gpu"),
    accepted wherever a device is, with PyTorch's `.type` and `.index`."""

    def __new__(cls, type: str, index: int | None = None):  # noqa: A002
        from .backend import normalize_device  # noqa: PLC0415

        name = str(type) if index is None else f"{type}:{index}"
        normalize_device(name)                   # refuses an unknown device now
        return super().__new__(cls, name)

    @property
    def type(self) -> str:
        return self.split(":")[0]

    @property
    def index(self) -> int | None:
        return int(self.split(":")[1]) if ":" in self else None

    def __repr__(self) -> str:
        return f"device(type={self.type!r}" + (
            f", index={self.index})" if self.index is not None else ")")


class _VariableType(type):
    def __instancecheck__(cls, obj) -> bool:
        return isinstance(obj, Tensor)           # every Tensor is a Variable, as in PyTorch


class Variable(metaclass=_VariableType):
    """torch.autograd.Variable, PyTorch's tensor wrapper before 0.4, now a Tensor:
    Variable(t, requires_grad=...) is a new leaf on t's memory (no copy), as PyTorch's."""

    def __new__(cls, data, requires_grad: bool = False, volatile: bool = False):
        require_tensor(data, "Variable", "data")
        if volatile:
            warnings.warn("Variable: volatile was removed and has no effect; use "
                          "`with mg.no_grad():` instead", UserWarning, stacklevel=2)
        return Tensor(data, requires_grad=requires_grad)   # shares memory and version counter


class _TensorType(type):
    """The class of FloatTensor & co.: calling one makes a tensor, isinstance checks the
    dtype and the device, and x.type(FloatTensor) casts (Tensor.type)."""

    def __call__(cls, *args):
        from .creation import tensor, zeros  # noqa: PLC0415

        if all(isinstance(n, (int, np.integer)) and not isinstance(n, bool) for n in args):
            return zeros(*args, dtype=cls.dtype, device=cls.device)   # (PyTorch: unfilled)
        if len(args) == 1:
            data = args[0]
            if isinstance(data, Tensor):
                return data.to(cls.device, cls.dtype)
            return tensor(data, dtype=cls.dtype, device=cls.device)   # [1, 2] is data
        raise TypeError(f"{cls.__name__}: pass sizes (2, 3), or one sequence, array or "
                        f"tensor of data; got {args!r}")

    def __instancecheck__(cls, obj) -> bool:
        return isinstance(obj, Tensor) and obj.dtype == cls.dtype and obj.device == cls.device

    def __repr__(cls) -> str:
        return f"<class '{cls.__qualname__}'>"


def _tensor_type(name: str, dtype, on: str, prefix: str) -> type:
    return _TensorType(name, (), {"dtype": np.dtype(dtype), "device": on,
                                  "__qualname__": prefix + name,
                                  "__doc__": f"Tensors of {np.dtype(dtype)} on the {on}: "
                                             f"{name}(2, 3) is zeros of that shape, "
                                             f"{name}(data) holds data."})


_TYPES = {"FloatTensor": np.float32, "DoubleTensor": np.float64, "LongTensor": np.int64,
          "IntTensor": np.int32, "ByteTensor": np.uint8, "BoolTensor": np.bool_}
CPU_TYPES = {name: _tensor_type(name, dtype, "cpu", "minigrad.") for name, dtype in
             _TYPES.items()}
GPU_TYPES = {name: _tensor_type(name, dtype, "gpu", "minigrad.cuda.") for name, dtype in
             _TYPES.items()}


def type_name(x: Tensor) -> str:
    """x.type() as PyTorch names it ("minigrad.FloatTensor", "minigrad.cuda.LongTensor"),
    or the dtype and the device where no such name exists (float16, ...)."""
    for name, kind in (CPU_TYPES if x.device == "cpu" else GPU_TYPES).items():
        if kind.dtype == x.dtype:
            return kind.__qualname__
    return f"minigrad.Tensor({x.dtype}, {x.device})"
