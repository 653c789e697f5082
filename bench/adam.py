"""Adam's update, the fused loop (`adam_update`, kernels/optim.py) against the same formula
written with array operations (`adam_update_reference`, about thirteen passes).

    python bench/adam.py             # the DCGAN's 18 parameters (G and D, 917,122 numbers,
                                     # float32), one update each, 30 repeats
    python bench/adam.py --step      # the whole DCGAN step of bench/gan_step.py

Both modes alternate the two versions (which one goes first alternates too), so that a
noisy machine's drift hits both alike (--step: bench/fused_ab.py). Run it alone: two
timing jobs at once on a small machine distort each other.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fused_ab  # noqa: E402 (imports no numpy: the thread counts are set first)


def bench_parameters(repeat: int) -> None:
    import numpy as np  # noqa: PLC0415
    from common import D_LAYERS, G_LAYERS, make_params  # noqa: PLC0415
    from kernels.optim import adam_update, adam_update_reference  # noqa: PLC0415

    params = make_params()
    names = [name for name, _, _ in G_LAYERS + D_LAYERS]
    rng = np.random.default_rng(0)
    arrays = []                                        # (p, g, m, v) per parameter
    for name in names:
        for p in params[name].values():
            g = rng.standard_normal(p.shape).astype(p.dtype)
            arrays.append((p.copy(), g, np.zeros_like(p), np.zeros_like(p)))
    sizes = sorted(p.size for p, *_ in arrays)
    print(f"{len(arrays)} parameters, {sum(sizes):,} numbers (largest {sizes[-1]:,}), "
          f"float32; one update of each, median of {repeat}")

    def run_ms(update, subset) -> float:
        t0 = time.perf_counter()
        for p, g, m, v in subset:
            update(p, g, m, v, step=3, lr=2e-4, beta1=0.5, beta2=0.999, eps=1e-8)
        return (time.perf_counter() - t0) * 1e3

    largest = [max(arrays, key=lambda a: a[0].size)]
    for label, subset in (("all parameters", arrays), ("the largest alone", largest)):
        times = {adam_update: [], adam_update_reference: []}
        for r in range(repeat + 1):                    # r == 0: warm-up (numba compiles)
            for update in sorted(times, key=lambda f: f.__name__, reverse=r % 2 == 1):
                elapsed = run_ms(update, subset)
                if r > 0:
                    times[update].append(elapsed)
        fused, reference = (np.median(times[f]) for f in (adam_update, adam_update_reference))
        print(f"{label:<18} fused {fused:6.2f} ms   array formula {reference:6.2f} ms   "
              f"{reference / fused:4.1f}x")


def bench_step(rounds: int, threads: int) -> None:
    import minigrad.optim.adam as adam  # noqa: PLC0415
    from kernels.optim import adam_update, adam_update_reference  # noqa: PLC0415

    def use(update):
        adam.adam_update = update

    fused_ab.compare_in_step("DCGAN step, Adam", ("fused", adam_update),
                             ("array", adam_update_reference), use, rounds, threads)


if __name__ == "__main__":
    fused_ab.main(__doc__, bench_parameters, bench_step)
