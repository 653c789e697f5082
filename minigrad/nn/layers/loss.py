"""Loss modules: `criterion = nn.BCELoss()` as in the PyTorch DCGAN tutorial. Each is a thin
wrapper around its functional form (minigrad/ops/loss.py holds the math), with PyTorch's
constructor arguments in PyTorch's order:

    criterion = nn.BCEWithLogitsLoss(pos_weight=mg.tensor([3.0]))
    loss = criterion(d_logits, labels)     # = F.binary_cross_entropy_with_logits(
                                           #     d_logits, labels, pos_weight=...)

PyTorch's deprecated size_average / reduce are read once, here in the constructor (with
the functional forms' deprecation warning), and turned into `self.reduction`, as PyTorch's
losses do. `weight` and `pos_weight` are buffers, as in PyTorch: they appear in
state_dict() and move with `.to(device)`; None is allowed (and then left out of both).
"""
from __future__ import annotations

from ...ops.loss import _reduction
from ...tensor import Tensor
from .. import functional as F
from ..module import Module


class _Loss(Module):
    """The reduction every loss shares: "mean", "sum" or "none". Each subclass resolves it
    with `_reduction(...)` called in its own __init__, so that the deprecation warning for
    size_average / reduce points at the line that built the loss."""

    def __init__(self, reduction: str):
        super().__init__()
        self.reduction = reduction


class _WeightedLoss(_Loss):
    """A loss with a `weight` buffer (a Tensor or None)."""

    def __init__(self, weight: Tensor | None, reduction: str):
        super().__init__(reduction)
        self.register_buffer("weight", weight)


class MSELoss(_Loss):
    """loss = mean((input - target)^2)   (reduction "sum": the sum; "none": each element)"""

    def __init__(self, size_average=None, reduce=None, reduction: str = "mean"):
        super().__init__(_reduction("MSELoss", reduction, size_average, reduce))

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.mse_loss(input, target, reduction=self.reduction)


class L1Loss(_Loss):
    """loss = mean(|input - target|)   (reduction "sum": the sum; "none": each element)"""

    def __init__(self, size_average=None, reduce=None, reduction: str = "mean"):
        super().__init__(_reduction("L1Loss", reduction, size_average, reduce))

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.l1_loss(input, target, reduction=self.reduction)


class GaussianNLLLoss(_Loss):
    """loss = mean(0.5 (log v + (input - target)^2 / v)), v = max(var, eps): the negative
    log-likelihood of target under N(input, var); called as criterion(input, target, var)."""

    def __init__(self, *, full: bool = False, eps: float = 1e-6, reduction: str = "mean"):
        super().__init__(_reduction("GaussianNLLLoss", reduction))
        self.full, self.eps = full, eps

    def forward(self, input: Tensor, target: Tensor, var) -> Tensor:
        return F.gaussian_nll_loss(input, target, var, full=self.full, eps=self.eps,
                                   reduction=self.reduction)


class BCELoss(_WeightedLoss):
    """loss = mean(-w (t log p + (1 - t) log(1 - p))) for probabilities p = input (each log
    clamped at -100, as PyTorch's), w = weight (broadcast to the input's shape) or 1.
    The DCGAN tutorial's criterion, after a Sigmoid; BCEWithLogitsLoss on the logits is
    the stable choice."""

    def __init__(self, weight: Tensor | None = None, size_average=None, reduce=None,
                 reduction: str = "mean"):
        super().__init__(weight, _reduction("BCELoss", reduction, size_average, reduce))

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.binary_cross_entropy(input, target, weight=self.weight,
                                      reduction=self.reduction)


class BCEWithLogitsLoss(_WeightedLoss):
    """loss = mean(w ((1 - t) x + (1 + (pos_weight - 1) t) softplus(-x))) for logits x,
    which is BCELoss on sigmoid(x) (with pos_weight = 1: max(x, 0) - x t + log(1 + e^-|x|)),
    but finite for any x. w = weight or 1; pos_weight (one per class, broadcast over the
    last dim) weighs the positive term."""

    def __init__(self, weight: Tensor | None = None, size_average=None, reduce=None,
                 reduction: str = "mean", pos_weight: Tensor | None = None):
        super().__init__(weight, _reduction("BCEWithLogitsLoss", reduction, size_average,
                                            reduce))
        self.register_buffer("pos_weight", pos_weight)

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.binary_cross_entropy_with_logits(input, target, weight=self.weight,
                                                  reduction=self.reduction,
                                                  pos_weight=self.pos_weight)


class CrossEntropyLoss(_WeightedLoss):
    """loss = sum_n -w[t_n] log softmax(input_n)[t_n] / sum_n w[t_n] for class indices t
    (class dim 1; w = weight, one per class, or 1; targets equal to ignore_index count
    for nothing), or -sum_c w_c t_c log softmax(input)_c for class probabilities t.
    label_smoothing = e mixes the targets with the uniform distribution over classes."""

    def __init__(self, weight: Tensor | None = None, size_average=None,
                 ignore_index: int = -100, reduce=None, reduction: str = "mean",
                 label_smoothing: float = 0.0):
        super().__init__(weight, _reduction("CrossEntropyLoss", reduction, size_average,
                                            reduce))
        self.ignore_index, self.label_smoothing = ignore_index, label_smoothing

    def forward(self, input: Tensor, target) -> Tensor:
        return F.cross_entropy(input, target, weight=self.weight,
                               ignore_index=self.ignore_index, reduction=self.reduction,
                               label_smoothing=self.label_smoothing)


class NLLLoss(_WeightedLoss):
    """loss = sum_n -w[t_n] input[n, t_n] / sum_n w[t_n] for log-probabilities `input` (a
    LogSoftmax's output; class dim 1) and class indices t. w = weight (one per class) or
    1; targets equal to ignore_index count for nothing."""

    def __init__(self, weight: Tensor | None = None, size_average=None,
                 ignore_index: int = -100, reduce=None, reduction: str = "mean"):
        super().__init__(weight, _reduction("NLLLoss", reduction, size_average, reduce))
        self.ignore_index = ignore_index

    def forward(self, input: Tensor, target) -> Tensor:
        return F.nll_loss(input, target, weight=self.weight, ignore_index=self.ignore_index,
                          reduction=self.reduction)
