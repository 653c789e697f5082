"""parameters_to_vector / vector_to_parameters, as torch.nn.utils: all of a model's
parameters as one flat vector and back (for a weight-space distance between two
generators, or an optimizer that works on one vector)."""
from __future__ import annotations

from ...ops.shape import cat
from ...tensor import Tensor, require_tensor


def parameters_to_vector(parameters) -> Tensor:
    """One 1-D tensor: each parameter flattened, in order, glued (differentiable)."""
    parameters = list(parameters)
    if not parameters:
        raise ValueError("parameters_to_vector: got no parameters")
    for number, p in enumerate(parameters):
        require_tensor(p, "parameters_to_vector", f"parameter {number}")
    return cat([p.reshape(-1) for p in parameters])


def vector_to_parameters(vec: Tensor, parameters) -> None:
    """Copy consecutive slices of vec into the parameters, in place (under no_grad, as
    PyTorch's does by replacing p.data): the inverse of parameters_to_vector."""
    from ...autograd import no_grad  # noqa: PLC0415

    require_tensor(vec, "vector_to_parameters", "vec")
    parameters = list(parameters)
    total = sum(p.numel() for p in parameters)
    if vec.ndim != 1 or vec.shape[0] != total:
        raise ValueError(f"vector_to_parameters: vec must be 1-D with {total} elements (the "
                         f"parameters' total), got shape {tuple(vec.shape)}")
    start = 0
    with no_grad():
        for p in parameters:
            n = p.numel()
            p.copy_(vec[start:start + n].reshape(p.shape))
            start += n
