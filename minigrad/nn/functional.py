"""minigrad.nn.functional (import as F): the functional forms, PyTorch's names and
argument orders. Nothing is implemented here: each name points at the op that owns the
math (minigrad/ops/<family>.py), so there is one place to read each derivative."""
from ..ops.elementwise import leaky_relu, relu, sigmoid, softplus, tanh  # noqa: F401
from ..ops.loss import (binary_cross_entropy, binary_cross_entropy_with_logits,  # noqa: F401
                        cross_entropy, dropout, l1_loss, log_softmax, mse_loss, nll_loss,
                        softmax)
from ..ops.shape import pad  # noqa: F401

from ..ops.norm import (batch_norm, embedding, instance_norm, layer_norm,  # noqa: F401
                        linear)
# convolution, pooling, resampling (minigrad/ops/conv.py, minigrad/ops/pool.py)
from ..ops.conv import conv2d, conv_transpose2d  # noqa: F401,E402
from ..ops.pool import (adaptive_avg_pool2d, avg_pool2d, interpolate,  # noqa: F401,E402
                        max_pool2d)
