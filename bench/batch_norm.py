"""Batch norm in training mode, the fused primitive (`BatchNorm`, kernels/norm.py) against
the composition it replaced (Standardize, then Mul by the weight, then Add the bias).

    python bench/batch_norm.py              # the DCGAN step's three layers (batch 64,
                                            # float32), forward + backward, 30 repeats
    python bench/batch_norm.py --step       # the whole DCGAN step of bench/gan_step.py

--step runs the step in one process and switches the layers' batch_norm between the two
every 3 steps, alternating which goes first: a paired comparison (bench/fused_ab.py).
Run it alone: two timing jobs at once on a small machine distort each other.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fused_ab  # noqa: E402 (imports no numpy: the thread counts are set first)

SHAPES = [("BatchNorm1d(6272)", (64, 6272)), ("BatchNorm2d(64)", (64, 64, 14, 14)),
          ("BatchNorm2d(128)", (64, 128, 7, 7))]


def composed_batch_norm(input, running_mean, running_var, weight=None, bias=None,
                        training=False, momentum=0.1, eps=1e-5):
    """batch_norm's training path as it was: Standardize, Mul, Add (three recorded ops)."""
    import minigrad.ops.norm as norm  # noqa: PLC0415

    if not training:
        return norm.batch_norm(input, running_mean, running_var, weight, bias, training,
                               momentum, eps)
    n = input.data.size // input.shape[1]
    standardize = norm.Standardize((0,) + tuple(range(2, input.ndim)), eps)
    x_hat = standardize(input)
    norm._update_running(running_mean, standardize.mean.reshape(-1), momentum)
    norm._update_running(running_var, standardize.var.reshape(-1) * (n / (n - 1)), momentum)
    return norm._affine(x_hat, weight, bias, norm._channel_shape(input))


def bench_layers(repeat: int) -> None:
    import minigrad as mg  # noqa: PLC0415 (after the thread count, before numpy)
    import numpy as np  # noqa: PLC0415
    import minigrad.nn.functional as F  # noqa: PLC0415

    def times_ms(batch_norm, x, weight, bias, grad_output) -> tuple:
        """(median, min) of forward + backward."""
        times = []
        for _ in range(repeat):
            x.grad = weight.grad = bias.grad = None
            t0 = time.perf_counter()
            batch_norm(x, None, None, weight, bias, training=True).backward(grad_output)
            times.append((time.perf_counter() - t0) * 1e3)
        times.sort()
        return times[len(times) // 2], times[0]

    rng = np.random.default_rng(0)
    print(f"{'layer':<18} {'shape':<18} {'composed ms':>11} {'fused ms':>9} {'ratio':>6}"
          f"   (min: {'composed':>8} {'fused':>6} {'ratio':>6})")
    totals = np.zeros(4)
    for name, shape in SHAPES:
        x = mg.tensor(rng.standard_normal(shape).astype(np.float32), requires_grad=True)
        weight, bias = (mg.tensor(rng.standard_normal(shape[1]).astype(np.float32),
                                  requires_grad=True) for _ in range(2))
        grad_output = mg.tensor(rng.standard_normal(shape).astype(np.float32))
        for fn in (composed_batch_norm, F.batch_norm):  # warm up (numba compiles)
            times_ms(fn, x, weight, bias, grad_output)
        old, old_min = times_ms(composed_batch_norm, x, weight, bias, grad_output)
        new, new_min = times_ms(F.batch_norm, x, weight, bias, grad_output)
        totals += (old, new, old_min, new_min)
        print(f"{name:<18} {str(shape):<18} {old:11.2f} {new:9.2f} {old / new:5.1f}x"
              f"   ({old_min:13.2f} {new_min:6.2f} {old_min / new_min:5.1f}x)")
    old, new, old_min, new_min = totals
    print(f"{'all three':<37} {old:11.2f} {new:9.2f} {old / new:5.1f}x"
          f"   ({old_min:13.2f} {new_min:6.2f} {old_min / new_min:5.1f}x)")


def bench_step(rounds: int, threads: int) -> None:
    import minigrad.nn.layers.normalization as layers  # noqa: PLC0415

    def use(batch_norm):
        layers.batch_norm = batch_norm

    fused_ab.compare_in_step("DCGAN step", ("fused", layers.batch_norm),
                             ("composed", composed_batch_norm), use, rounds, threads)


if __name__ == "__main__":
    fused_ab.main(__doc__, bench_layers, bench_step, repeat_help="per layer",
                  default_rounds=30)
