"""All ops, one family per file. Each op is a Function with forward and backward side by
side (see `minigrad.autograd`); the lowercase functions here are what Tensor's operators and
`minigrad.nn.functional` call."""
from .elementwise import (abs, add, allclose, as_tensor, ceil, clamp, compare, cos, div, elu,
                          equal, erf, exp, expm1, floor, floor_divide, gelu, hardtanh,
                          leaky_relu, log, log1p, logical_and, logical_not, logical_or,
                          logical_xor, logsigmoid, mask_op, masked_fill, maximum, minimum, mul,
                          neg, pow, rdiv, relu, relu6, remainder, round, rounded_divide, rpow,
                          rsub, sigmoid, sign, silu, sin, softplus, sqrt, sub, tanh, trunc,
                          where)
from .index import gather, getitem, index_select, one_hot, tril, triu, unwrap_index
from .matmul import einsum, matmul
from .reduce import (amax, amin, argmax, argmin, cumsum, logsumexp, max, mean, min, normalize,
                     sum, var)
# (the p-norm is ops.reduce.norm: `ops.norm` is the batch/layer norm module)
from .shape import (broadcast_to, cat, chunk, clone, expand, flatten, flip, meshgrid, narrow,
                    pad, permute, pixel_shuffle, pixel_unshuffle, repeat, repeat_interleave,
                    reshape, roll, split, squeeze, stack, sum_to, to_device, to_dtype,
                    transpose, unbind, unsqueeze)
