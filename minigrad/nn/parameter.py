"""Parameter: a Tensor that a Module registers as something to learn.

It is an ordinary leaf Tensor with `requires_grad=True`; being a subclass is only a tag,
so that `module.weight = Parameter(...)` lands in `module.parameters()` (and thus in the
optimizer) while `module.mask = mg.zeros(3)` does not. Results of ops on a Parameter are
plain Tensors.
"""
from __future__ import annotations

import numpy as np

from .. import backend
from ..creation import tensor
from ..tensor import Tensor


class Parameter(Tensor):
    """Parameter(data, requires_grad=True). `data` is a Tensor (its array is shared, as in
    PyTorch), an ndarray (shared) or anything `mg.tensor` accepts (copied;
    floats become the default dtype, float32). Only floating-point data can require a
    gradient."""

    def __init__(self, data=None, requires_grad: bool = True):
        if data is None:
            data = np.empty(0, dtype=backend.get_default_dtype())
        # a Tensor: Tensor.__init__ shares its array and version counter; an ndarray: shared
        if not (isinstance(data, (Tensor, np.ndarray)) or backend.is_gpu_array(data)):
            data = tensor(data).data          # lists and numbers: as mg.tensor
        super().__init__(data, requires_grad=requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


def zeros_parameter(*shape, device=None, dtype=None) -> Parameter:
    """A Parameter of zeros (the default dtype, float32, unless told) for a layer to
    initialise in place."""
    xp = backend.get_xp(device or "cpu")
    return Parameter(xp.zeros(shape, dtype=np.dtype(dtype or backend.get_default_dtype())))
