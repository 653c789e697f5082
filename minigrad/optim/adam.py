"""Adam (Kingma & Ba, 2015), with bias correction, as torch.optim.Adam, and AdamW
(Loshchilov & Hutter, 2019: weight decay decoupled from the gradient), as torch.optim.AdamW."""
from __future__ import annotations

from kernels.optim import adam_update_many, adam_update_reference

from .optimizer import Optimizer, Params, _check_range


class Adam(Optimizer):
    """Adam as torch.optim.Adam (its default formula here; amsgrad and decoupled weight
    decay below). For each
    parameter p with gradient g, with t the parameter's step count (1 on the first step):

        g = g + weight_decay * p                          (if weight_decay != 0; L2, not AdamW)
        m = beta1 * m + (1 - beta1) * g                   (first moment, m_0 = 0)
        v = beta2 * v + (1 - beta2) * g * g               (second moment, v_0 = 0)
        bias1 = 1 - beta1 ** t,   bias2 = 1 - beta2 ** t
        denom = sqrt(v) / sqrt(bias2) + eps
        p = p - (lr / bias1) * m / denom

    which is the paper's p - lr * m_hat / (sqrt(v_hat) + eps) with m_hat = m / bias1 and
    v_hat = v / bias2, except that eps is added to sqrt(v_hat) as PyTorch does.
    Two of PyTorch's options change the formula:
        amsgrad=True                  denom uses max_v = max(max_v, v), the largest v so far
                                      (the array formula, kernels/optim.py, not the fused
                                      loop: rare in GANs, and slower)
        decoupled_weight_decay=True   AdamW: p = p * (1 - lr * weight_decay) first, and no
                                      weight_decay * p added to g
    The formula runs as one fused loop per parameter (kernels/optim.py: numba on the CPU;
    on the GPU one CUDA kernel for all of a group's parameters, as PyTorch's foreach Adam);
    `adam_update_reference` there is the same formula with array operations, and gives
    the same bits.
    The GAN settings of DCGAN are lr=2e-4, betas=(0.5, 0.999); WGAN-GP uses
    lr=1e-4, betas=(0.0, 0.9).
    """

    state_names = frozenset({"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"})

    def __init__(self, params: Params, lr: float = 1e-3, betas: tuple = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, amsgrad: bool = False, *,
                 foreach=None, maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False, fused=None,
                 decoupled_weight_decay: bool = False):
        # PyTorch's keyword options: see optimizer.py, OPTIONS
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        amsgrad=amsgrad, foreach=foreach, maximize=maximize,
                        capturable=capturable, differentiable=differentiable, fused=fused,
                        decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    def _check_group(self, group) -> None:
        super()._check_group(group)
        if len(group["betas"]) != 2:
            raise ValueError(f"invalid betas: {group['betas']} (must be two numbers, "
                             f"(beta1, beta2))")
        beta1, beta2 = group["betas"]
        _check_range("beta1 (betas[0])", beta1, 0.0, 1.0)
        _check_range("beta2 (betas[1])", beta2, 0.0, 1.0)
        _check_range("eps", group["eps"], 0.0)
        _check_range("weight_decay", group["weight_decay"], 0.0)

    def _required_state(self, group) -> set[str]:
        return {"step", "exp_avg", "exp_avg_sq"} | ({"max_exp_avg_sq"} if group["amsgrad"]
                                                    else set())

    def _update_group(self, group, items) -> None:
        """All of the group's parameters in one call of the fused update (on the GPU one
        kernel launch for up to 48 contiguous parameters of each float dtype; see
        kernels/optim.py: adam_update_many), one call per step count: parameters added to
        a running optimizer, or skipped while they had no gradient, count their own steps.
        A step count is advanced only once its parameters have been updated."""
        beta1, beta2 = group["betas"]
        lr, weight_decay = group["lr"], group["weight_decay"]
        by_step: dict[int, list] = {}
        for p, g, state in items:
            if not state:
                state["step"] = 0
                state["exp_avg"] = p.xp.zeros_like(p.data)             # m
                state["exp_avg_sq"] = p.xp.zeros_like(p.data)          # v
            # max_v, made on the first step with amsgrad (also when it was switched on
            # after other steps: then it is the largest v since)
            if group["amsgrad"] and "max_exp_avg_sq" not in state:
                state["max_exp_avg_sq"] = p.xp.zeros_like(p.data)
            by_step.setdefault(state["step"] + 1, []).append((p, g, state))
        if group["decoupled_weight_decay"] and weight_decay != 0:
            # AdamW: decay p itself, not g (one more pass over p; on the GPU one more
            # launch per parameter)
            for p, _, _ in items:
                p.data *= 1.0 - lr * weight_decay
            weight_decay = 0.0
        hyper = dict(lr=lr, beta1=beta1, beta2=beta2, eps=group["eps"],
                     weight_decay=weight_decay)
        for step, batch in by_step.items():
            if group["amsgrad"]:
                for p, g, state in batch:
                    adam_update_reference(p.data, g, state["exp_avg"], state["exp_avg_sq"],
                                          step=step, max_v=state["max_exp_avg_sq"], **hyper)
            else:
                adam_update_many([p.data for p, _, _ in batch], [g for _, g, _ in batch],
                                 [state["exp_avg"] for _, _, state in batch],
                                 [state["exp_avg_sq"] for _, _, state in batch], step=step,
                                 **hyper)
            for p, _, state in batch:
                state["step"] = step
                p._bump()  # p changed in place: graphs that saved it must refuse to backward


class AdamW(Adam):
    """AdamW as torch.optim.AdamW: Adam with decoupled weight decay (default 0.01), each step

        p = p * (1 - lr * weight_decay),  then Adam's update with no weight_decay * p in g

    (Adam's L2 term would be scaled down by Adam's own denominator, so weights with large
    gradients would hardly decay; here every weight decays by the same factor)."""

    def __init__(self, params: Params, lr: float = 1e-3, betas: tuple = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False, *,
                 maximize: bool = False, foreach=None, capturable: bool = False,
                 differentiable: bool = False, fused=None):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach,
                         maximize=maximize, capturable=capturable,
                         differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)

    def load_state_dict(self, state_dict) -> None:
        """As Adam's; an AdamW stays one (as PyTorch's): a state dict saved by an Adam, or
        before the option existed, does not switch the decoupled decay off."""
        super().load_state_dict(state_dict)
        for group in self.param_groups:
            group["decoupled_weight_decay"] = True
