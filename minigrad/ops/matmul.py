"""Matrix multiplication, batched and broadcast like numpy.matmul.

    Y = A @ B            A (..., n, k), B (..., k, m) -> Y (..., n, m)
    dL/dA = dL/dY @ B^T  (..., n, m) @ (..., m, k) -> (..., n, k), summed over broadcast
    dL/dB = A^T @ dL/dY  (..., k, n) @ (..., n, m) -> (..., k, m), summed over broadcast

Both gradients are matmuls again, so double backward needs nothing new.
1-D operands are treated as in numpy (a vector is a 1-row or 1-column matrix).

`Linear` is a linear layer's y = x W^T + b as one op (PyTorch's addmm), where the
composition transpose, matmul, add cost three ops forward and five backward.
"""
from __future__ import annotations

from ..autograd import Function
from ..backend import xp_of
from ..tensor import Tensor, require_tensor
from .shape import _promoted, reshape, sum_to


def _mT(x: Tensor) -> Tensor:
    """Swap the last two axes."""
    from .shape import transpose  # noqa: PLC0415

    return transpose(x, -1, -2)


class MatMul(Function):
    """Y = A @ B (both at least 2-D).   dA = gY @ B^T,  dB = A^T @ gY"""
    returns_new_grads = True     # each gradient a new product (see Function)

    def forward(self, a, b):
        if a.shape[-1] == 1:
            # An outer product (a linear layer with one output, in backward): a sum of one
            # term per element, which broadcasting computes exactly and ~10x faster than
            # BLAS (64x1 @ 1x6272: 0.05 vs 0.5 ms).
            return a * b
        return a @ b

    def backward(self, gy):
        a, b = self.inputs
        grad_a = sum_to(gy @ _mT(b), a.shape) if self.needs_input_grad[0] else None
        grad_b = sum_to(_mT(a) @ gy, b.shape) if self.needs_input_grad[1] else None
        return grad_a, grad_b


class Linear(Function):
    """y = x W^T + b      x (N, in), W (out, in), b (out,) optional -> y (N, out)
    dL/dx = g W           (N, out) @ (out, in)
    dL/dW = g^T x         (out, N) @ (N, in)
    dL/db = sum of g over N

    The gradients are written with matmul, transpose and sum, so double backward needs
    nothing new."""
    returns_new_grads = True     # each gradient a new product or sum (see Function)

    def forward(self, x, w, b=None):
        y = x @ w.T                                  # w.T is a view: BLAS reads it as is
        if b is None:
            return y
        if b.dtype == y.dtype:
            y += b                                   # y is new: add in place
            return y
        return y + b

    def backward(self, g):
        from .reduce import sum as sum_  # noqa: PLC0415

        x, w = self.inputs[:2]
        needs = self.needs_input_grad
        grad_x = matmul(g, w) if needs[0] else None
        grad_w = matmul(_mT(g), x) if needs[1] else None
        if len(self.inputs) == 2:
            return grad_x, grad_w
        return grad_x, grad_w, (sum_(g, 0) if needs[2] else None)


def matmul(a: Tensor, b: Tensor) -> Tensor:
    require_tensor(a, "matmul", "input")
    require_tensor(b, "matmul", "other")
    if a.dtype.kind == "b" or b.dtype.kind == "b":
        raise TypeError(f"matmul: not implemented for bool tensors (as in PyTorch), got "
                        f"{a.dtype} and {b.dtype}; convert first, e.g. x.float()")
    if a.dtype != b.dtype:                 # an integer beside a float takes the float's
        a, b = _promoted([a, b])           # dtype, as everywhere here (numpy: float64)
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul: both operands need at least 1 dimension, got shapes "
                         f"{tuple(a.shape)} and {tuple(b.shape)}")
    inner_a = a.shape[-1]
    inner_b = b.shape[-2] if b.ndim > 1 else b.shape[0]
    if inner_a != inner_b:
        raise ValueError(f"matmul: inner dimensions do not match: {tuple(a.shape)} @ "
                         f"{tuple(b.shape)} ({inner_a} != {inner_b})")
    try:
        import numpy as np  # noqa: PLC0415

        np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    except ValueError:
        raise ValueError(f"matmul: batch dimensions of {tuple(a.shape)} and "
                         f"{tuple(b.shape)} cannot be broadcast") from None
    a2 = reshape(a, 1, a.shape[0]) if a.ndim == 1 else a
    b2 = reshape(b, b.shape[0], 1) if b.ndim == 1 else b
    y = MatMul()(a2, b2)
    if a.ndim == 1:
        y = reshape(y, *y.shape[:-2], y.shape[-1])
    if b.ndim == 1:
        y = reshape(y, *y.shape[:-1])
    return y


# --------------------------------------------------------------------- einsum

class Einsum(Function):
    """y = einsum("ij,jk->ik", a, b): the product of the operands' elements, for every
    assignment of the letters, summed over the letters the output does not keep.
    dL/d(operand i) = einsum(gy and the other operands -> operand i's letters): the same
    sum with operand i's place taken by the gradient (its letters now the output), since
    y is linear in each operand. A letter only operand i has was summed with weight 1:
    its gradient is broadcast back along it (`expand`). Einsum again: double backward
    needs nothing new."""
    returns_new_grads = False     # an expanded gradient is a view

    def __init__(self, inputs: list, output: str):
        self.inputs_letters, self.output_letters = inputs, output

    def forward(self, *operands):
        equation = ",".join(self.inputs_letters) + "->" + self.output_letters
        # optimize: contract pairwise through BLAS (tensordot) where it can
        return xp_of(operands[0]).einsum(equation, *operands, optimize=True)

    def backward(self, gy):
        from .shape import expand  # noqa: PLC0415

        grads = []
        for i, (letters, need) in enumerate(zip(self.inputs_letters, self.needs_input_grad)):
            if not need:
                grads.append(None)
                continue
            others = [(self.inputs_letters[j], x) for j, x in enumerate(self.inputs) if j != i]
            seen = set(self.output_letters).union(*[set(s) for s, _ in others])
            kept = "".join(c for c in letters if c in seen)    # letters the sum can give
            grad = Einsum([self.output_letters] + [s for s, _ in others], kept)(
                gy, *[x for _, x in others])
            if kept != letters:                                # broadcast along the rest
                shape, _ = self.input_meta[i]
                grad = reshape(grad, *[n if c in seen else 1 for c, n in zip(letters, shape)])
                grad = expand(grad, *shape)
            grads.append(grad)
        return tuple(grads)


def _einsum_letters(equation: str, operands) -> tuple:
    """The equation as ([letters of each operand], output letters), '...' spelled out as
    letters the equation does not use (the same dims, right-aligned, in every operand
    that has it) and the implicit output (no '->': the '...' dims, then the letters that
    appear once, in alphabetical order) made explicit. Checks what Einsum relies on."""
    op = "einsum"
    equation = equation.replace(" ", "")
    left, arrow, right = equation.partition("->")
    inputs = left.split(",")
    if len(inputs) != len(operands):
        raise ValueError(f"{op}: the equation {equation!r} names {len(inputs)} operands but "
                         f"{len(operands)} were given")
    letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    spare = iter([c for c in letters if c not in equation])
    ellipsis_letters = ""
    for term, x in zip(inputs, operands):
        if "..." in term:
            named = len(term.replace("...", ""))
            if x.ndim - named > len(ellipsis_letters):
                ellipsis_letters = "".join(next(spare) for _ in
                                           range(x.ndim - named - len(ellipsis_letters))) \
                    + ellipsis_letters
    spelled = []
    for number, (term, x) in enumerate(zip(inputs, operands)):
        if "..." in term:
            named = len(term.replace("...", ""))
            term = term.replace("...", ellipsis_letters[len(ellipsis_letters) -
                                                        (x.ndim - named):])
        if not all(c in letters for c in term):
            raise ValueError(f"{op}: operand {number}'s subscripts {inputs[number]!r} must be "
                             f"letters a-z, A-Z (and '...')")
        if len(term) != x.ndim:
            raise ValueError(f"{op}: operand {number} has shape {tuple(x.shape)} but the "
                             f"equation gives it {len(term)} letters ({inputs[number]!r})")
        if len(set(term)) != len(term):
            raise NotImplementedError(f"{op}: a letter repeated within one operand "
                                      f"({inputs[number]!r}: a diagonal or a trace) is not "
                                      f"implemented")
        spelled.append(term)
    sizes = {}
    for term, x in zip(spelled, operands):
        for c, n in zip(term, x.shape):
            if sizes.setdefault(c, n) != n:
                note = (" (broadcasting a size-1 letter is not implemented)"
                        if 1 in (n, sizes[c]) else "")
                raise ValueError(f"{op}: letter {c!r} has size {sizes[c]} in one operand and "
                                 f"{n} in another{note}; shapes "
                                 f"{[tuple(t.shape) for t in operands]}")
    if arrow:
        output = right.replace("...", ellipsis_letters)
        if len(set(output)) != len(output) or any(c not in sizes for c in output):
            raise ValueError(f"{op}: the output {right!r} must name each letter once, and "
                             f"only letters of the operands")
    else:
        counts = "".join(spelled)
        output = ellipsis_letters + "".join(sorted(c for c in set(counts) if counts.count(c)
                                                   == 1 and c not in ellipsis_letters))
    return spelled, output


def einsum(equation: str, *operands) -> Tensor:
    """torch.einsum: einsum("bij,bjk->bik", a, b) is a batched matmul, "bhnd,bhmd->bhnm"
    attention scores, "i,j->ij" an outer product. Also einsum(equation, [a, b]). See
    Einsum for the math; not here: a letter twice in one operand, and size-1 broadcasting."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not isinstance(equation, str):
        raise TypeError(f"einsum: the first argument must be the equation (a str), got "
                        f"{type(equation).__name__}")
    for number, x in enumerate(operands):
        require_tensor(x, "einsum", f"operand {number}")
    if not operands:
        raise ValueError("einsum: needs at least one operand")
    operands = _promoted(list(operands))
    inputs, output = _einsum_letters(equation, operands)
    return Einsum(inputs, output)(*operands)
