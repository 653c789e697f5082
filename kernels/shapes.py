"""Output-size formulas shared by the three kernel tiers (plain Python, no arrays).

Every spatial argument is an (h, w) pair of ints; the formulas act on one axis at a time.
"""


def conv_out(size: int, k: int, s: int, p: int, d: int) -> int:
    """Output length of a convolution along one axis (PyTorch's formula, floor division):
    out = (size + 2*p - d*(k-1) - 1) // s + 1."""
    return (size + 2 * p - d * (k - 1) - 1) // s + 1


def conv_out_hw(in_hw, kernel_hw, stride, padding, dilation) -> tuple:
    """(OH, OW) of a convolution (or a pooling window sweep, with dilation (1, 1))."""
    return tuple(conv_out(i, k, s, p, d)
                 for i, k, s, p, d in zip(in_hw, kernel_hw, stride, padding, dilation))


def conv_transpose_out(size: int, k: int, s: int, p: int, d: int, output_padding: int) -> int:
    """Output length of a transposed convolution along one axis (PyTorch's formula):
    out = (size - 1)*s - 2*p + d*(k-1) + output_padding + 1."""
    return (size - 1) * s - 2 * p + d * (k - 1) + output_padding + 1


def adaptive_window(i: int, in_size: int, out_size: int) -> tuple:
    """[start, end) of the input window of output i in adaptive pooling (PyTorch's rule):
    start = floor(i*in/out), end = ceil((i+1)*in/out)."""
    start = (i * in_size) // out_size
    end = -((-(i + 1) * in_size) // out_size)
    return start, end
