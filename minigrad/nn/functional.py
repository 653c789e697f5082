"""minigrad.nn.functional (import as F): the functional forms, PyTorch's names and
argument orders. Nothing is implemented here: each name points at the op that owns the
math (minigrad/ops/<family>.py), so there is one place to read each derivative."""
from ..ops.elementwise import (elu, gelu, hardtanh, leaky_relu, logsigmoid,  # noqa: F401
                               relu, relu6, sigmoid, silu, softplus, tanh)
from ..ops.index import one_hot  # noqa: F401
from ..ops.loss import (binary_cross_entropy, binary_cross_entropy_with_logits,  # noqa: F401
                        cross_entropy, dropout, dropout2d, gaussian_nll_loss,
                        huber_loss, kl_div, l1_loss,
                        log_softmax, mse_loss, nll_loss, smooth_l1_loss, softmax)
from ..ops.reduce import normalize  # noqa: F401
from ..ops.shape import pad, pixel_shuffle, pixel_unshuffle  # noqa: F401

from ..ops.norm import (batch_norm, embedding, group_norm, instance_norm,  # noqa: F401
                        layer_norm, linear)
# convolution, pooling, resampling (minigrad/ops/conv.py, minigrad/ops/pool.py)
from ..ops.conv import (conv1d, conv2d, conv_transpose1d,  # noqa: F401,E402
                        conv_transpose2d)
from ..ops.pool import (adaptive_avg_pool1d, adaptive_avg_pool2d,  # noqa: F401,E402
                        avg_pool1d, avg_pool2d, interpolate, max_pool1d, max_pool2d)
