"""All ops, one family per file. Each op is a Function with forward and backward side by
side (see `minigrad.autograd`); the lowercase functions here are what Tensor's operators and
`minigrad.nn.functional` call."""
from .elementwise import (abs, add, as_tensor, clamp, compare, div, exp, floor_divide,
                          leaky_relu, log, maximum, minimum, mul, neg, pow, rdiv, relu,
                          remainder, rpow, rsub, sigmoid, softplus, sqrt, sub, tanh, where)
from .index import getitem, index_select, unwrap_index
from .matmul import matmul
from .reduce import argmax, argmin, max, mean, min, sum, var
from .shape import (broadcast_to, cat, chunk, clone, expand, flatten, pad, permute, reshape,
                    split, squeeze, stack, sum_to, to_device, to_dtype, transpose, unsqueeze)
