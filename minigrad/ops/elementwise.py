"""Elementwise ops: arithmetic with broadcasting, and the pointwise functions.

Broadcasting: `a + b` with a (3,1,4) and b (2,4) gives (3,2,4). In backward each input
must receive a gradient of *its own* shape, so the incoming gradient is summed over the
axes that broadcasting added or stretched: `sum_to(grad, a.shape)`. That one line, in every
binary op below, is the answer to "why is my bias gradient the wrong shape?".

Scalars: `x * 2.0` uses `MulScalar(2.0)`, which keeps the Python float a Python float. Under
numpy 2 a float32 array times a Python float stays float32, whereas a 0-d float64 array
would silently promote the whole computation to float64.

Integer and bool tensors (never differentiated) follow PyTorch's type promotion, not
numpy's: int tensor + Python int stays that int type (bool becomes int64); with a Python
float, in true division, and in exp, log, sqrt, tanh, sigmoid and softplus they become
float32, PyTorch's default float dtype; beside a float tensor they take its dtype.
"""
from __future__ import annotations

import math

import numpy as np

from kernels import pointwise

from ..autograd import Function
from ..tensor import Tensor, require_tensor
from .shape import sum_to


def _broadcast_shape(op: str, *arrays) -> tuple:
    """The shape the arrays broadcast to, or an error that names the op and the shapes."""
    try:
        return np.broadcast_shapes(*(x.shape for x in arrays))
    except ValueError:
        shapes = ", ".join(str(tuple(x.shape)) for x in arrays)
        raise ValueError(f"{op}: cannot broadcast shapes {shapes} (trailing dimensions "
                         f"must be equal or 1)") from None


_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}    # bool < integer < float < complex


def _promote(a, b):
    """The two arrays of a binary op, cast where PyTorch's promotion differs from numpy's.
    Same category (bool, integer, float): a 0-d operand does not promote a dimensioned
    one, so float32 (N,) * float64 () is float32 (numpy: float64) and uint8 (N,) + int64 ()
    is uint8. Across categories the higher one's dtype wins, also from a 0-d operand:
    int64 (N,) + float32 (N,) is float32 (numpy: float64). Only a non-float operand is
    ever cast across categories, and it has no gradient; the engine returns each input's
    gradient in its own dtype."""
    if a.dtype == b.dtype:
        return a, b
    ca, cb = _CATEGORY[a.dtype.kind], _CATEGORY[b.dtype.kind]
    if ca == cb:
        if (a.ndim == 0) != (b.ndim == 0):
            return (a.astype(b.dtype), b) if a.ndim == 0 else (a, b.astype(a.dtype))
        return a, b
    return (a.astype(b.dtype), b) if ca < cb else (a, b.astype(a.dtype))


def _no_bool_sub(a, b):
    """PyTorch refuses a - b where either is bool (numpy refuses only bool - bool)."""
    if a.dtype.kind == "b" or b.dtype.kind == "b":
        raise _bool_sub_error(f"{a.dtype} {tuple(a.shape)} - {b.dtype} {tuple(b.shape)}")


def _bool_sub_error(operands: str) -> RuntimeError:
    return RuntimeError(f"sub: subtraction with a bool tensor is not supported (as in "
                        f"PyTorch), got {operands}; to invert a mask use mask == 0, or "
                        f"convert it first, e.g. mask.to(mg.int64)")


class Add(Function):
    """y = a + b            dy/da = 1, dy/db = 1 (each summed back to its own shape)"""
    save_inputs = False

    def forward(self, a, b):
        a, b = _promote(a, b)
        try:
            return a + b
        except ValueError:
            _broadcast_shape("add", a, b)   # raises, naming the op and both shapes
            raise

    def backward(self, gy):
        (shape_a, _), (shape_b, _) = self.input_meta
        return sum_to(gy, shape_a), sum_to(gy, shape_b)


class Sub(Function):
    """y = a - b            dy/da = 1, dy/db = -1"""
    save_inputs = False

    def forward(self, a, b):
        _no_bool_sub(a, b)
        a, b = _promote(a, b)
        try:
            return a - b
        except ValueError:
            _broadcast_shape("sub", a, b)   # raises, naming the op and both shapes
            raise

    def backward(self, gy):
        (shape_a, _), (shape_b, _) = self.input_meta
        grad_b = sum_to(-gy, shape_b) if self.needs_input_grad[1] else None
        return sum_to(gy, shape_a), grad_b


class Mul(Function):
    """y = a * b            dy/da = b, dy/db = a"""

    def forward(self, a, b):
        a, b = _promote(a, b)
        try:
            return a * b
        except ValueError:
            _broadcast_shape("mul", a, b)   # raises, naming the op and both shapes
            raise

    def backward(self, gy):
        a, b = self.inputs
        grad_a = sum_to(gy * b, a.shape) if self.needs_input_grad[0] else None
        grad_b = sum_to(gy * a, b.shape) if self.needs_input_grad[1] else None
        return grad_a, grad_b


class Div(Function):
    """y = a / b            dy/da = 1 / b, dy/db = -a / b^2 = -(a / b) / b

    dy/db is computed as (a / b) / b, as PyTorch orders it: b * b would overflow in float32
    for |b| above 1.8e19 (a = b = 1e20: -0, not -1e-20) and underflow below about 1e-19
    (a = b = 1e-25: -inf, not -1e25)."""

    def forward(self, a, b):
        a, b = _promote(a, b)
        if a.dtype.kind in "biu" and b.dtype.kind in "biu":    # true division of integers:
            a, b = a.astype(np.float32), b.astype(np.float32)  # float32, as in PyTorch
        try:
            return a / b
        except ValueError:
            _broadcast_shape("div", a, b)   # raises, naming the op and both shapes
            raise

    def backward(self, gy):
        a, b = self.inputs
        grad_a = sum_to(gy / b, a.shape) if self.needs_input_grad[0] else None
        grad_b = sum_to(-gy * (a / b / b), b.shape) if self.needs_input_grad[1] else None
        return grad_a, grad_b


class FloorDivide(Function):
    """y = floor(a / b)     (Python's //, PyTorch's floor_divide: 7 // 2 = 3, -7 // 2 = -4)

    A step function: its derivative is 0 between the steps and undefined on them.
    PyTorch refuses to differentiate it, and so does this backward."""
    save_inputs = False

    def forward(self, a, b):
        return _checked_divide("floor_divide", a, b, "floor_divide")

    def backward(self, gy):
        raise RuntimeError("floor_divide (//): has no derivative (a step function), as in "
                           "PyTorch; detach() its result, or use true division (/)")


class Remainder(Function):
    """y = a - b floor(a / b)   (Python's %, torch.remainder: the sign of b; -7 % 2 = 1)
    dy/da = 1, dy/db = -floor(a / b): between its jumps y is a minus a whole number of
    b's. Each is summed back to its input's shape, as in every binary op here."""

    def forward(self, a, b):
        return _checked_divide("remainder", a, b, "remainder")

    def backward(self, gy):
        a, b = self.inputs
        grad_a = sum_to(gy, a.shape) if self.needs_input_grad[0] else None
        grad_b = None
        if self.needs_input_grad[1]:                     # -floor(a / b): a constant
            quotient = _checked_divide("floor_divide", a.data, b.data, "remainder")
            grad_b = sum_to(MaskMul((-quotient).astype(gy.dtype))(gy), b.shape)
        return grad_a, grad_b


class RoundedDivide(Function):
    """y = a / b rounded: mode "floor" (the values of //) or "trunc" (toward zero), as
    torch.div(a, b, rounding_mode=...). dy/da = dy/db = 0: a step function, and PyTorch
    defines this derivative as 0 (only floor_divide, //, refuses to be differentiated)."""
    save_inputs = False
    holds_no_arrays = True   # backward needs only the input shapes (see Function)

    def __init__(self, mode: str):
        self.mode = mode

    def forward(self, a, b):
        if self.mode == "floor":
            return _checked_divide("floor_divide", a, b, "div")
        a, b = _promote(a, b)
        if a.dtype.kind == "f":               # floats: the true quotient, truncated
            with np.errstate(divide="ignore", invalid="ignore"):
                return _xp(a).trunc(a / b)
        # integers: the floor, plus 1 where the division was inexact and a / b < 0
        quotient = _checked_divide("floor_divide", a, b, "div")
        inexact = _checked_divide("remainder", a, b, "div") != 0
        return quotient + (inexact & ((a < 0) != (b < 0))).astype(quotient.dtype)

    def backward(self, gy):
        xp = _xp(gy.data)
        return tuple(Tensor._from_op(xp.zeros(shape, dtype=dtype), False) if need else None
                     for (shape, dtype), need in zip(self.input_meta, self.needs_input_grad))


def _checked_divide(numpy_fn: str, a, b, op: str):
    """xp.floor_divide or xp.remainder (numpy_fn) of two arrays, as PyTorch computes them:
    promoted as in every binary op, an integer division by zero an error (naming `op`),
    and for floats x // 0 = +-inf, 0 // 0 = nan, x % 0 = nan without numpy's warnings."""
    a, b = _promote(a, b)
    _broadcast_shape(op, a, b)
    if a.dtype.kind == "b" and b.dtype.kind == "b":
        raise RuntimeError(f"{op}: not implemented for two bool tensors, as in PyTorch; "
                           f"convert them first, e.g. mask.to(mg.int64)")
    if a.dtype.kind in "iu" and b.dtype.kind in "iu" and bool((b == 0).any()):
        raise ZeroDivisionError(f"{op}: integer division by zero ({a.dtype} "
                                f"{tuple(a.shape)} by {b.dtype} {tuple(b.shape)})")
    with np.errstate(divide="ignore", invalid="ignore"):
        return getattr(_xp(a), numpy_fn)(a, b)


class Neg(Function):
    """y = -x               dy/dx = -1"""
    save_inputs = False
    holds_no_arrays = True   # backward needs nothing saved (see Function)

    def forward(self, x):
        return -x

    def backward(self, gy):
        return -gy


class AddScalar(Function):
    """y = x + c (c a Python number)        dy/dx = 1"""
    save_inputs = False
    holds_no_arrays = True   # backward needs only c (see Function)

    def __init__(self, c: float):
        self.c = c

    def forward(self, x):
        return x + self.c

    def backward(self, gy):
        return gy


class MulScalar(Function):
    """y = c * x (c a Python number)        dy/dx = c"""
    save_inputs = False
    holds_no_arrays = True   # backward needs only c (see Function)

    def __init__(self, c: float):
        self.c = c

    def forward(self, x):
        return x * self.c

    def backward(self, gy):
        return MulScalar(self.c)(gy)


class RDivScalar(Function):
    """y = c / x                            dy/dx = -c / x^2 = -y / x"""

    def __init__(self, c: float):
        self.c = c

    def forward(self, x):
        return self.c / x

    def backward(self, gy):
        (x,) = self.inputs
        return gy * MulScalar(-self.c)(PowScalar(-2.0)(x))


class PowScalar(Function):
    """y = x^p (p a Python number)          dy/dx = p x^(p-1)   (0 for p = 0, even at x = 0,
                                                             where 0 * 0^-1 would be nan)"""

    def __init__(self, p: float):
        self.p = p

    def forward(self, x):
        return x ** self.p

    def backward(self, gy):
        (x,) = self.inputs
        if self.p == 0:                 # x^0 = 1 does not change with x
            return MulScalar(0.0)(gy)
        if self.p == 1:
            return gy
        if self.p == 2:
            return gy * MulScalar(2.0)(x)
        return gy * MulScalar(self.p)(PowScalar(self.p - 1)(x))


class Pow(Function):
    """y = a^b (b a tensor, broadcast against a)
    dy/da = b a^(b-1)       (0 where b = 0: a^0 = 1 does not change with a, even at a = 0)
    dy/db = a^b ln a = y ln a  (0 where a = 0 and b >= 0, as in PyTorch; nan for a < 0,
                                where a^b is not a smooth function of b)

    A primitive rather than exp(b ln a), which is nan for every a <= 0: numpy's power, like
    PyTorch's, gives (-2)^2 = 4 and 0^0 = 1."""
    save_outputs = True

    def forward(self, a, b):
        a, b = _promote(a, b)
        try:
            return a ** b
        except ValueError:
            _broadcast_shape("pow", a, b)   # raises, naming the op and both shapes
            raise

    def backward(self, gy):
        a, b = self.inputs
        (y,) = self.outputs
        xp = _xp(a.data)
        grad_a = grad_b = None
        # 0^-1, ln 0 and ln of a < 0 are computed below and then masked away (or are the
        # nan of a < 0): numpy's warnings about them would be noise.
        with np.errstate(divide="ignore", invalid="ignore"):
            if self.needs_input_grad[0]:
                slope = b * Pow()(a, add(b, -1))                      # b a^(b-1)
                moves = xp.broadcast_to(b.data != 0, slope.shape).astype(a.dtype)
                grad_a = sum_to(gy * MaskMul(moves)(slope), a.shape)
            if self.needs_input_grad[1]:
                y_ln_a = y * Log()(a)
                flat = (a.data == 0) & (b.data >= 0)                 # there 0^b = 0 or 1
                keep = xp.broadcast_to(~flat, y_ln_a.shape).astype(a.dtype)
                grad_b = sum_to(gy * MaskMul(keep)(y_ln_a), b.shape)
        return grad_a, grad_b


class Exp(Function):
    """y = e^x              dy/dx = e^x = y"""
    save_inputs = False
    save_outputs = True

    def forward(self, x):
        return _xp(x).exp(x)

    def backward(self, gy):
        (y,) = self.outputs
        return gy * y


class Log(Function):
    """y = ln x             dy/dx = 1 / x"""

    def forward(self, x):
        return _xp(x).log(x)

    def backward(self, gy):
        (x,) = self.inputs
        return gy / x


class Log1p(Function):
    """y = ln(1 + x), accurate for small x      dy/dx = 1 / (1 + x)"""

    def forward(self, x):
        return _xp(x).log1p(x)

    def backward(self, gy):
        (x,) = self.inputs
        return gy / (x + 1.0)


class Expm1(Function):
    """y = e^x - 1, accurate for small x       dy/dx = e^x

    The derivative is e^x computed from x, not y + 1: as y nears -1, y + 1 loses e^x's
    digits, and for x below about -17.3 in float32 (-37.4 in float64) it is exactly 0
    (and so was elu's gradient there)."""

    def forward(self, x):
        return _xp(x).expm1(x)

    def backward(self, gy):
        (x,) = self.inputs
        return gy * Exp()(x)


class Sin(Function):
    """y = sin x            dy/dx = cos x"""

    def forward(self, x):
        return _xp(x).sin(x)

    def backward(self, gy):
        (x,) = self.inputs
        return gy * Cos()(x)


class Cos(Function):
    """y = cos x            dy/dx = -sin x"""

    def forward(self, x):
        return _xp(x).cos(x)

    def backward(self, gy):
        (x,) = self.inputs
        return gy * -Sin()(x)


class Erf(Function):
    """y = erf x = 2/sqrt(pi) * integral from 0 to x of e^(-t^2) dt
    dy/dx = 2/sqrt(pi) e^(-x^2)"""

    def forward(self, x):
        return pointwise.erf(x).astype(x.dtype, copy=False)

    def backward(self, gy):
        (x,) = self.inputs
        return gy * MulScalar(2.0 / math.sqrt(math.pi))(Exp()(-(x * x)))


class Rounding(Function):
    """y = floor x, ceil x, round x (halves to even, as PyTorch), trunc x or sign x
    dy/dx = 0: each is a step function, flat between its jumps, and PyTorch defines its
    derivative as 0 everywhere (the jumps too). So y stays on the graph, and the
    gradient that flows back is zeros (a straight-through estimator writes
    x + (x.round() - x).detach() instead, to pass the gradient on unchanged)."""
    save_inputs = False
    holds_no_arrays = True   # backward needs nothing saved (see Function)

    def __init__(self, kind: str):
        self.kind = kind

    def forward(self, x):
        return getattr(_xp(x), self.kind)(x)

    def backward(self, gy):
        return Tensor._from_op(_xp(gy.data).zeros_like(gy.data), False)


class Sqrt(Function):
    """y = sqrt(x)          dy/dx = 1 / (2 sqrt(x)) = 0.5 / y"""
    save_inputs = False
    save_outputs = True

    def forward(self, x):
        return _xp(x).sqrt(x)

    def backward(self, gy):
        (y,) = self.outputs
        return gy * RDivScalar(0.5)(y)


class Tanh(Function):
    """y = tanh x           dy/dx = 1 - y^2"""
    save_inputs = False
    save_outputs = True

    def forward(self, x):
        return _xp(x).tanh(x)

    def backward(self, gy):
        (y,) = self.outputs
        return gy * AddScalar(1.0)(-(y * y))


class Sigmoid(Function):
    """y = 1 / (1 + e^-x)   dy/dx = y (1 - y)

    A primitive (not exp/add/div composed) for numerical stability: computed as
    e^x / (1 + e^x) for negative x, so that e^-x never overflows. One fused loop
    (kernels/pointwise.py): on the GPU, one kernel launch instead of nine."""
    save_inputs = False
    save_outputs = True

    def forward(self, x):
        return pointwise.sigmoid(x)

    def backward(self, gy):
        (y,) = self.outputs
        return gy * y * AddScalar(1.0)(-y)


class Softplus(Function):
    """y = (1/beta) ln(1 + e^(beta x))      dy/dx = sigmoid(beta x)
    and, as in PyTorch, y = x where beta x > threshold      (dy/dx = 1 there)

    A primitive for numerical stability (and one op instead of six): computed as
    (1/beta) (max(beta x, 0) + ln(1 + e^-|beta x|)), where e^-|.| is at most 1 and never
    overflows. The backward is sigmoid (itself differentiable), so at x = 0 the gradient
    is 1/2, as in PyTorch, where relu(x) + ln(1 + e^-|x|) composed gave 0 + 1/2 * 0.
    Above the threshold the curve is replaced by the line y = x (a constant mask picks
    it: the two differ by less than e^-threshold / beta)."""

    def __init__(self, beta: float, threshold: float = 20.0):
        self.beta, self.threshold = beta, threshold

    def forward(self, x):
        xp = _xp(x)
        bx = x * self.beta if self.beta != 1.0 else x
        y = xp.maximum(bx, 0) + xp.log1p(xp.exp(-xp.abs(bx)))
        y = y * (1.0 / self.beta) if self.beta != 1.0 else y
        if self.threshold == math.inf:                     # never the line
            self.linear = None
            return y
        self.linear = bx > self.threshold                  # where y = x (a constant)
        return xp.where(self.linear, x, y)

    def backward(self, gy):
        (x,) = self.inputs
        bx = MulScalar(self.beta)(x) if self.beta != 1.0 else x
        slope = Sigmoid()(bx)
        if self.linear is not None:                        # 1 on the line, else sigmoid
            on_line = self.linear.astype(slope.dtype)
            slope = MaskMul(1 - on_line)(slope) + Tensor._from_op(on_line, False)
        return gy * slope


class MaskMul(Function):
    """y = mask * x, with `mask` a constant array (not differentiated).

    The derivative of abs, clamp, dropout and dropout2d is such a mask (+1/-1, 1/0, 0 or
    1/(1-p)), and so is maximum/minimum's (Extremum: a share of 1, 1/2 or 0) and the 0 that
    Root (std, norm) gives an all-zero slice; relu and leaky_relu use SlopeMul, the same
    idea with a bool mask. Multiplying by a
    constant is linear, so this op's backward is itself: MaskMul(mask)(gy). That is what
    makes their double backward need nothing new.

    Where the mask is 0 the result is exactly 0, even for x = inf or nan (inf * 0 would
    be nan): `where(keep, x, -inf)` must not turn into nan."""
    save_inputs = False

    def __init__(self, mask):
        self.mask = mask

    def forward(self, x):
        return pointwise.mask_mul(x, self.mask)     # one fused pass (kernels/pointwise.py)

    def backward(self, gy):
        return MaskMul(self.mask)(gy)


class LeakyReLU(Function):
    """y = x where x > 0, else slope * x        dy/dx = 1 where x > 0, else slope

    relu is slope = 0. The forward computes y and where x > 0 (`positive`, a constant
    bool array) in one pass (a fused kernel); the backward applies the same switch to gy,
    which is linear in gy, so double backward needs nothing new (SlopeMul is its own
    backward)."""
    save_inputs = False

    def __init__(self, slope: float):
        self.slope = slope

    def forward(self, x):
        y, self.positive = pointwise.leaky_relu(x, self.slope)
        return y

    def backward(self, gy):
        return SlopeMul(self.positive, self.slope)(gy)


class ReLU(LeakyReLU):
    """relu(x) = max(x, 0): LeakyReLU with slope 0 (the same forward and backward), under
    its own name in traces and errors."""

    def __init__(self):
        super().__init__(0.0)


class SlopeMul(Function):
    """y = x where positive, else slope * x, with `positive` a constant bool array (the
    switch pattern of a leaky_relu's input): dy/dx = 1 or slope, and backward is
    SlopeMul(positive, slope)(gy) again. MaskMul with a mask of 1s and slopes, stored in
    a quarter of the memory. Where slope is 0 the result is exactly 0 (relu's gradient
    must not turn an inf into nan)."""
    save_inputs = False

    def __init__(self, positive, slope: float):
        self.positive, self.slope = positive, slope

    def forward(self, x):
        return pointwise.slope_mul(x, self.positive, self.slope)   # one fused pass

    def backward(self, gy):
        return SlopeMul(self.positive, self.slope)(gy)


class Extremum(Function):
    """y = max(a, b) or min(a, b) (kind "maximum" or "minimum"), elementwise, broadcast
    dy/da = 1 where a wins, 1/2 on a tie (a = b), 0 where b wins      dy/db = 1 - dy/da
    (each summed back to its own shape). A nan wins, as in PyTorch, and takes the whole
    gradient here (PyTorch gives 1 to both inputs there).

    On a tie the gradient is split, as in PyTorch: maximum(x, 0) at x = 0 has gradient 1/2
    (the slope of the central difference there). a's part, `share`, is a constant array,
    so the backward is MaskMul, linear in gy: double backward needs nothing new. y itself
    is picked, not share a + (1 - share) b, which would round a tie of two subnormals."""
    save_inputs = False

    def __init__(self, kind: str):
        self.kind = kind

    def forward(self, a, b):
        a, b = _promote(a, b)
        _broadcast_shape(self.kind, a, b)
        xp = _xp(a)
        a_wins = (a > b if self.kind == "maximum" else a < b) | _isnan(a)
        tie = a == b
        y = xp.where(a_wins | tie, a, b)
        self.share = xp.where(tie, 0.5, a_wins).astype(y.dtype)     # 1, 1/2 or 0
        return y

    def backward(self, gy):
        (shape_a, _), (shape_b, _) = self.input_meta
        grad_a = grad_b = None
        if self.needs_input_grad[0]:
            grad_a = sum_to(MaskMul(self.share)(gy), shape_a)
        if self.needs_input_grad[1]:
            grad_b = sum_to(MaskMul(1 - self.share)(gy), shape_b)
        return grad_a, grad_b


def _xp(array):
    from ..backend import xp_of  # noqa: PLC0415

    return xp_of(array)


# ------------------------------------------------------------------ public functions
_KIND_RANK = {"b": 0, "u": 1, "i": 1, "f": 2}       # bool < integer < float


def as_tensor(value, like: Tensor, op: str = "as_tensor") -> Tensor:
    """Wrap a number or array as a constant Tensor on `like`'s device, in `like`'s dtype:
    a float64 array beside a float32 tensor does not make the computation float64. But an
    array of a higher kind keeps its own dtype (a float array beside an integer tensor:
    int + 0.5 must not be truncated), and the op then promotes as PyTorch does. Anything
    else (a string, None) is a TypeError naming `op`, the op it was given to."""
    if isinstance(value, Tensor):
        return value
    try:
        array = like.xp.asarray(value)
    except (TypeError, ValueError):                        # CuPy: "Unsupported dtype <U1"
        raise _not_a_number(op, value, like) from None
    if array.dtype.kind not in _CATEGORY:                  # numpy: a string, None, objects
        raise _not_a_number(op, value, like)
    if _KIND_RANK.get(array.dtype.kind, 3) > _KIND_RANK.get(like._data.dtype.kind, 3):
        return Tensor._from_op(array, False)
    return Tensor._from_op(array.astype(like.dtype, copy=False), False)


def _not_a_number(op: str, value, like: Tensor) -> TypeError:
    return TypeError(f"{op}: unsupported operand type {type(value).__name__} ({value!r:.40}) "
                     f"with a {like.dtype} tensor; expected a Tensor, a number or an array "
                     f"of numbers")


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) or \
        isinstance(value, np.number)


def _cast(x: Tensor, dtype) -> Tensor:
    """x's values in another dtype, for an integer or bool x only: it has no gradient."""
    return x if x.dtype == dtype else Tensor._from_op(x.data.astype(dtype), False)


def _wrap_int(op: str, c: int, dtype) -> int:
    """c wrapped around into `dtype`'s range as PyTorch wraps it (uint8: -1 -> 255, 300 ->
    44), kept a Python int, which numpy 2 does not let promote the array."""
    info = np.iinfo(dtype)
    if info.min <= c <= info.max:
        return c
    if not -2**63 <= c < 2**64:
        raise OverflowError(f"{op}: the number {c} does not fit in 64 bits (tensor dtype "
                            f"{np.dtype(dtype)})")
    c %= 1 << info.bits
    return c - (1 << info.bits) if c > info.max else c


def _with_number(op: str, x: Tensor, c, *, negate: bool = False):
    """(x, c) for `x op c`, c a Python or numpy number (negated first when `negate`),
    promoted as PyTorch promotes a number with a tensor:
      float tensor: c as a Python float, so float32 stays float32 (the wrappers of the
        hot scalar ops take this path inline);
      integer or bool tensor, float c: both float32, PyTorch's default float dtype (and
        so in true division: div, rdiv);
      integer tensor, int c: the tensor's own type (bool becomes int64), c wrapped into it."""
    kind = x._data.dtype.kind
    if kind == "f":
        return x, -float(c) if negate else float(c)
    if op == "sub" and kind == "b":
        raise _bool_sub_error(f"a bool tensor of shape {x.shape} and the number {c!r}")
    if isinstance(c, (float, np.floating)):
        return _cast(x, np.float32), -float(c) if negate else float(c)
    dtype = np.dtype(np.int64) if kind == "b" else x.dtype
    return _cast(x, dtype), _wrap_int(op, -int(c) if negate else int(c), dtype)


def _float_input(x: Tensor) -> Tensor:
    """x, or x in float32 if it is an integer or bool tensor: exp, log, sqrt, tanh,
    sigmoid and softplus of one are float32 in PyTorch (numpy gives float64 or float16)."""
    return x if x._data.dtype.kind == "f" else _cast(x, np.float32)


def add(a, b):
    if _is_number(b):
        if a._data.dtype.kind == "f":              # the hot path: float32 stays float32
            return AddScalar(float(b))(a)
        a, c = _with_number("add", a, b)           # integer or bool: PyTorch's promotion
        return AddScalar(c)(a)
    return Add()(a, as_tensor(b, a, "add"))


def sub(a, b):
    if _is_number(b):
        if a._data.dtype.kind == "f":
            return AddScalar(-float(b))(a)
        a, c = _with_number("sub", a, b, negate=True)
        return AddScalar(c)(a)
    return Sub()(a, as_tensor(b, a, "sub"))


def rsub(a, b):
    """b - a, for `2.0 - tensor`."""
    if _is_number(b):
        if a._data.dtype.kind == "f":
            return AddScalar(float(b))(Neg()(a))
        a, c = _with_number("sub", a, b)
        return AddScalar(c)(Neg()(a))
    return Sub()(as_tensor(b, a, "sub"), a)


def mul(a, b):
    if _is_number(b):
        if a._data.dtype.kind == "f":
            return MulScalar(float(b))(a)
        a, c = _with_number("mul", a, b)
        return MulScalar(c)(a)
    return Mul()(a, as_tensor(b, a, "mul"))


def _reciprocal(c: float) -> float:
    """1 / c, where 1 / (+-0) = +-inf as in IEEE arithmetic (Python would raise
    ZeroDivisionError). So x / 0.0 = x * inf is inf, -inf or nan (x = 0), as in PyTorch."""
    return 1.0 / c if c != 0 else math.copysign(math.inf, c)


def div(a, b):
    if _is_number(b):
        if a._data.dtype.kind != "f":              # integer or bool: float32 (true division)
            a = _cast(a, np.float32)
        return MulScalar(_reciprocal(float(b)))(a)   # a Python float: float32 stays float32
    return Div()(a, as_tensor(b, a, "div"))


def rdiv(a, b):
    """b / a, for `1.0 / tensor`."""
    if _is_number(b):
        if a._data.dtype.kind != "f":
            a = _cast(a, np.float32)
        return RDivScalar(float(b))(a)
    return Div()(as_tensor(b, a, "div"), a)


def floor_divide(a, b):
    """a // b, rounding down (PyTorch's floor_divide and //); no gradient (FloorDivide)."""
    return FloorDivide()(*_common_dtype("floor_divide", a, b))


def rounded_divide(a, b, rounding_mode: str):
    """torch.div(a, b, rounding_mode="floor" or "trunc"): RoundedDivide."""
    if rounding_mode not in ("floor", "trunc"):
        raise ValueError(f"div: rounding_mode must be None, 'floor' or 'trunc', got "
                         f"{rounding_mode!r}")
    return RoundedDivide(rounding_mode)(*_common_dtype("div", a, b))


def remainder(a, b):
    """a % b, with b's sign (PyTorch's remainder and %)."""
    return Remainder()(*_common_dtype("remainder", a, b))


def neg(x):
    return Neg()(x)


def pow(x, exponent):
    """x ** p. A number exponent is PowScalar; a tensor (or array) exponent is Pow."""
    if _is_number(exponent):
        if x._data.dtype.kind == "f":
            return PowScalar(float(exponent))(x)
        x, p = _with_number("pow", x, exponent)
        if isinstance(p, int) and p < 0:
            raise RuntimeError(f"pow: integers to negative integer powers are not allowed "
                               f"(tensor dtype {x.dtype}, exponent {p}), as in PyTorch; "
                               f"convert first, e.g. x.float() ** {p}")
        return PowScalar(p)(x)
    return Pow()(x, as_tensor(exponent, x, "pow"))


def rpow(x, base):
    """base ** x, for a number or array base."""
    if _is_number(base):
        x, base = _with_number("pow", x, base)
    return Pow()(as_tensor(base, x, "pow"), x)


def exp(x):
    return Exp()(_float_input(x))


def log(x):
    return Log()(_float_input(x))


def sqrt(x):
    return Sqrt()(_float_input(x))


def log1p(x):
    return Log1p()(_float_input(x))


def expm1(x):
    return Expm1()(_float_input(x))


def sin(x):
    return Sin()(_float_input(x))


def cos(x):
    return Cos()(_float_input(x))


def erf(x):
    return Erf()(_float_input(x))


def _rounding(kind: str, x):
    """floor, ceil, round, trunc, sign: an integer or bool tensor is its own answer (sign:
    -1, 0, 1 in its dtype), as in PyTorch; a float one goes through Rounding."""
    if x._data.dtype.kind != "f":
        if kind == "sign" and x._data.dtype.kind != "b":
            return Tensor._from_op(x.xp.sign(x.data), False)
        return Tensor._from_op(x.data.copy(), False)     # a new tensor, as PyTorch's
    return Rounding(kind)(x)


def floor(x):
    return _rounding("floor", x)


def ceil(x):
    return _rounding("ceil", x)


def round(x, decimals: int = 0):
    """Halves to even (0.5 -> 0, 1.5 -> 2), as PyTorch; decimals: to 10^-decimals."""
    if decimals == 0:
        return _rounding("round", x)
    scale = 10.0 ** decimals
    return _rounding("round", x * scale) / scale


def trunc(x):
    return _rounding("trunc", x)


def sign(x):
    return _rounding("sign", x)


def tanh(input):
    return Tanh()(_float_input(input))


def sigmoid(input):
    return Sigmoid()(_float_input(input))


def relu(input, inplace: bool = False):
    """y = max(x, 0)        dy/dx = 1 where x > 0, else 0 (a constant mask)
    `inplace` is accepted for PyTorch's calls; y is always a new tensor (as nn.ReLU's)."""
    return ReLU()(input)


def leaky_relu(input, negative_slope: float = 0.01, inplace: bool = False):
    """y = x where x > 0, else slope * x      dy/dx = 1 or slope (a constant mask)
    `inplace`: as relu's."""
    return LeakyReLU(float(negative_slope))(input)


def silu(input, inplace: bool = False):
    """y = x sigmoid(x) (SiLU, "swish")   dy/dx = s + x s (1 - s), s = sigmoid(x)
    (composed of Sigmoid and Mul, whose backward gives exactly this)."""
    return input * sigmoid(input)


def elu(input, alpha: float = 1.0, inplace: bool = False):
    """y = x where x > 0, else alpha (e^x - 1)      dy/dx = 1, or alpha e^x

    The negative branch is computed on min(x, 0): `where`'s backward multiplies the
    unused branch's gradient by 0, and 0 * e^x would be 0 * inf = nan for a large x."""
    x = _float_input(input)
    negative = MulScalar(float(alpha))(expm1(clamp(x, max=0.0)))  # e^x only where used
    return where(x.data > 0, x, negative)


def gelu(input, approximate: str = "none"):
    """y = x Phi(x), Phi the standard normal CDF (1 + erf(x / sqrt 2)) / 2, as PyTorch's
    GELU; approximate="tanh": Phi(x) ~ (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) / 2.
    The derivative, Phi(x) + x phi(x), comes from the composition's ops."""
    x = _float_input(input)
    if approximate == "none":
        cdf = AddScalar(0.5)(MulScalar(0.5)(erf(MulScalar(1 / math.sqrt(2.0))(x))))
    elif approximate == "tanh":
        inner = MulScalar(math.sqrt(2.0 / math.pi))(x + MulScalar(0.044715)(x * x * x))
        cdf = AddScalar(0.5)(MulScalar(0.5)(tanh(inner)))
    else:
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return x * cdf


def logsigmoid(input):
    """y = log sigmoid(x) = -softplus(-x) = min(x, 0) - ln(1 + e^-|x|), without overflow
    for large |x|.      dy/dx = sigmoid(-x)

    The Softplus op without its threshold (threshold=inf), as PyTorch's logsigmoid has
    none: with softplus's default of 20, y would be exactly x for x < -20 (gradient
    exactly 1, second derivative 0)."""
    return -softplus(-_float_input(input), threshold=math.inf)


def hardtanh(input, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False):
    """y = x clipped to [min_val, max_val]; dy/dx = 1 strictly inside, 0 elsewhere (0 at
    the bounds too, as PyTorch's hardtanh; clamp's gradient at its bounds is 1)."""
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val {min_val} must not be greater than max_val "
                         f"{max_val}")
    if input._data.dtype.kind in "iub":     # integers stay integers (no gradient), as PyTorch
        return clamp(input, int(min_val), int(max_val))
    return _clip_where_inside(input, float(min_val), float(max_val),
                              (input.data > min_val) & (input.data < max_val))


def relu6(input, inplace: bool = False):
    """y = min(max(x, 0), 6)."""
    return hardtanh(input, 0.0, 6.0)


def abs(x):
    """y = |x| = sign(x) * x                   dy/dx = sign(x) (0 at 0, as PyTorch)"""
    return MaskMul(x.xp.sign(x.data))(x)


def clamp(x, min=None, max=None):
    """y = x clipped to [min, max]; dy/dx = 1 where min <= x <= max, else 0.

    Written as x * mask + (clipped constant), so the gradient is the mask. As in PyTorch
    the mask is (x >= min) & (x <= max): with min > max every y is max and every
    gradient 0."""
    if min is None and max is None:
        raise ValueError("clamp: at least one of min and max must be given")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        return _clamp_to_tensors(x, min, max)
    if x._data.dtype.kind != "f":      # integer or bool: no gradient, PyTorch's dtype
        to_float = any(isinstance(v, (float, np.floating)) for v in (min, max))
        if not to_float:               # int bounds: the integer type (bool -> int64)
            x = _cast(x, np.int64 if x.dtype.kind == "b" else x.dtype)
            return Tensor._from_op(x.xp.clip(x.data, min, max).astype(x.dtype, copy=False),
                                   False)
        x = _cast(x, np.float32)       # a float bound: float32, the default float dtype
    inside = x.xp.ones(x.shape, dtype=bool)               # min <= x <= max (False for nan)
    if min is not None:
        inside &= x.data >= min
    if max is not None:
        inside &= x.data <= max
    return _clip_where_inside(x, min, max, inside)


def _clip_where_inside(x, min, max, inside):
    """x where `inside` (gradient 1), else the clipped constant (gradient 0)."""
    clipped = x.xp.clip(x.data, min, max)
    kept = MaskMul(inside.astype(x.dtype))(x)
    return kept + Tensor._from_op(x.xp.where(inside, 0, clipped).astype(x.dtype), False)


def _clamp_to_tensors(x, min, max):
    """clamp with a tensor bound (either may also be a number or None), broadcast against
    x: y = min(max(x, lo), hi), as two `where`s. Each element of y is one of x, lo and hi,
    and its gradient goes there, as in PyTorch: to hi where max(x, lo) > hi (also where
    lo > hi), else to lo where x < lo, else to x (lo <= x <= hi, ties to x). A nan
    bound gives nan."""
    for bound in (min, max):
        if isinstance(bound, Tensor) and bound.device != x.device:
            raise ValueError(f"clamp: the bound is on {bound.device} and the input on "
                             f"{x.device}; move them to one device")
        if isinstance(bound, Tensor):
            _broadcast_shape("clamp", x, bound)
    y = x
    if min is not None:
        lo = min.data if isinstance(min, Tensor) else min
        y = where((x.data < lo) | (lo != lo), min, y)          # lo != lo: lo is nan
    if max is not None:
        hi = max.data if isinstance(max, Tensor) else max
        y = where((y.data > hi) | (hi != hi), max, y)
    return y


def softplus(input, beta: float = 1.0, threshold: float = 20.0):
    """y = (1/beta) log(1 + e^(beta x)), computed stably, and y = x where beta x >
    threshold, as PyTorch's (the Softplus op above)."""
    if beta == 0:                  # (PyTorch returns inf everywhere: log(2) / 0)
        raise ValueError("softplus: beta must be nonzero (the result is divided by it)")
    return Softplus(float(beta), float(threshold))(_float_input(input))


def where(condition, a, b):
    """y = a where condition else b (condition constant).  dy/da = mask, dy/db = 1 - mask

    `a` and `b` broadcast against each other and the condition. Their dtypes promote as in
    PyTorch: a number takes the tensor's dtype (a float with an integer tensor: float32),
    an integer tensor beside a float one takes the float dtype. Where neither is float
    there is no gradient, and the result is the selected values in their integer type."""
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        raise TypeError("where: at least one of a and b must be a Tensor")
    a, b = _common_dtype("where", a, b)
    like = a
    cond = condition.data if isinstance(condition, Tensor) else like.xp.asarray(condition)
    if cond.dtype.kind != "b":              # as PyTorch: a float "mask" is a mistake
        raise TypeError(f"where: the condition must be a bool tensor (a mask such as x > 0), "
                        f"got {cond.dtype}")
    shape = _broadcast_shape("where", cond, a, b)
    if not (a.is_floating_point() or b.is_floating_point()):
        return Tensor._from_op(like.xp.where(cond, a.data, b.data), False)
    mask = like.xp.broadcast_to(cond, shape).astype(like.dtype)
    from .shape import expand  # noqa: PLC0415

    return MaskMul(mask)(expand(a, *shape)) + MaskMul(1 - mask)(expand(b, *shape))


def masked_fill(x, mask, value):
    """value where the bool mask is True, x elsewhere, in x's dtype and shape (the mask
    broadcasts to it; value is a number or a 0-d tensor), as Tensor.masked_fill in
    PyTorch. A `where` whose gradient goes to x outside the mask (and to a tensor value
    inside it)."""
    mask_data = mask._data if isinstance(mask, Tensor) else x.xp.asarray(mask)
    if mask_data.dtype.kind != "b":
        raise TypeError(f"masked_fill: the mask must be a bool tensor, got {mask_data.dtype}")
    try:
        fits = np.broadcast_shapes(mask_data.shape, x.shape) == x.shape
    except ValueError:                                    # not broadcastable at all
        fits = False
    if not fits:
        raise ValueError(f"masked_fill: mask {tuple(mask_data.shape)} does not broadcast to "
                         f"the tensor's shape {tuple(x.shape)}")
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise ValueError(f"masked_fill: value must be a number or a 0-d tensor, got "
                             f"shape {tuple(value.shape)}")
        value = value.to(dtype=x.dtype)
    elif x.dtype.kind in "iu":
        value = int(value)                        # into the integer type, as PyTorch
    elif x.dtype.kind == "b":
        value = bool(value)
    return where(mask_data, value, x)


def _common_dtype(op: str, a, b):
    """a and b as Tensors (at least one is one), promoted as PyTorch promotes them where
    that needs no gradient: a number as in _with_number, an array as in as_tensor,
    an integer or bool tensor to the dtype of a float (or a wider integer) tensor beside
    it. Two float tensors of different dtypes are left as they are (the op promotes)."""
    if not isinstance(a, Tensor):
        b, a = _common_dtype(op, b, a)
        return a, b
    if _is_number(b):
        a, c = _with_number(op, a, b)
        return a, as_tensor(c, a)
    b = as_tensor(b, a, op)
    if a.dtype != b.dtype and not (a.is_floating_point() and b.is_floating_point()):
        a_data, b_data = _promote(a.data, b.data)        # casts only a non-float one
        a = a if a_data is a.data else Tensor._from_op(a_data, False)
        b = b if b_data is b.data else Tensor._from_op(b_data, False)
    return a, b


def mask_op(a, b, how: str):
    """a & b, a | b, a ^ b (how "bitwise_and", "bitwise_or", "bitwise_xor": bool or integer
    tensors, as PyTorch's operators) and logical_and / _or / _xor (any dtype, nonzero is
    True; the result is bool). No gradient: masks combined, as `(x > 0) & (x < 1)`."""
    xp = a.xp
    b_data = b.data if isinstance(b, Tensor) else xp.asarray(b)
    if how.startswith("bitwise"):
        for operand in (a.data, b_data):
            if operand.dtype.kind not in "biu":
                raise TypeError(f"{how}: bool or integer tensors only (the operators & | ^ "
                                f"on masks), got {operand.dtype}; for truth values of "
                                f"numbers use logical_{how.split('_')[1]}")
    _broadcast_shape(how, a.data, b_data)
    return Tensor._from_op(getattr(xp, how)(a.data, b_data), False)


def logical_not(a, bitwise: bool = False):
    """~x (bitwise: bool -> not, integers -> their bits inverted, as PyTorch's ~) or
    logical_not(x) (nonzero is True; bool result). No gradient."""
    if not bitwise:
        return Tensor._from_op(a.xp.logical_not(a.data), False)
    if a.data.dtype.kind not in "biu":
        raise TypeError(f"bitwise_not: bool or integer tensors only (~ on a mask), got "
                        f"{a.dtype}; for a float tensor use logical_not or (x == 0)")
    return Tensor._from_op(a.xp.invert(a.data), False)


def logical_and(a, b):
    return mask_op(a, b, "logical_and")


def logical_or(a, b):
    return mask_op(a, b, "logical_or")


def logical_xor(a, b):
    return mask_op(a, b, "logical_xor")


def allclose(a, b, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> bool:
    """|a - b| <= atol + rtol |b| everywhere (broadcast), as torch.allclose: a Python bool."""
    require_tensor(a, "allclose", "input")
    b = as_tensor(b, a, "allclose")
    _broadcast_shape("allclose", a.data, b.data)
    return bool(a.xp.allclose(a.data, b.data, rtol=rtol, atol=atol, equal_nan=equal_nan))


def equal(a, b) -> bool:
    """The same shape and the same values, as torch.equal: a Python bool."""
    require_tensor(a, "equal", "input")
    require_tensor(b, "equal", "other")
    return tuple(a.shape) == tuple(b.shape) and bool((a.data == b.data).all())


def compare(a, b, how: str):
    xp = a.xp
    b_data = b.data if isinstance(b, Tensor) else b
    if isinstance(b_data, (list, tuple)):          # x == [1, 2]: CuPy takes no lists
        b_data = xp.asarray(b_data)
    try:
        result = getattr(xp, {"eq": "equal", "ne": "not_equal", "lt": "less",
                              "le": "less_equal", "gt": "greater",
                              "ge": "greater_equal"}[how])(a.data, b_data)
    except ValueError:
        _broadcast_shape(how, a.data, xp.asarray(b_data))   # raises, naming op and shapes
        raise
    return Tensor._from_op(result, False)


def maximum(a, b):
    """Elementwise max; the gradient goes to the larger, half to each on a tie (as in
    PyTorch). A nan wins, as in PyTorch (and its gradient goes to it). See Extremum."""
    return Extremum("maximum")(*_common_dtype("maximum", a, b))


def minimum(a, b):
    """Elementwise min; as maximum, the gradient to the smaller (split on a tie), nan wins."""
    return Extremum("minimum")(*_common_dtype("minimum", a, b))


def _isnan(array):
    """nan where the array is float; never for integers."""
    return _xp(array).isnan(array) if array.dtype.kind == "f" else False
