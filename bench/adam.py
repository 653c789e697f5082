"""Adam's update three ways, on the DCGAN's 18 parameters (G and D, 917,122 numbers, float32):

  many       adam_update_many: on the GPU one kernel launch for all of them (the
             parameters' addresses passed in one struct), as PyTorch's foreach Adam;
             on the CPU the fused loop on each (the same as `one`)
  one        adam_update on each: one fused loop, or one CUDA kernel, per parameter
  array      adam_update_reference on each: the formula with array operations (about
             thirteen passes, each a kernel launch on the GPU)

    python bench/adam.py                        # one update of all 18, 30 repeats
    python bench/adam.py --device gpu           # the host's time per update (not waited for)
    python bench/adam.py --step [--device gpu]  # the whole DCGAN step, many against one

All three are in kernels/optim.py and give the same bits. On the CPU `many` is `one`
(the fused loop on each parameter), so there --step times the same code twice: a check of
the noise. Both modes alternate the versions (which one goes first alternates too), so
that a noisy machine's drift hits them alike (--step: bench/fused_ab.py). Run it alone:
two timing jobs at once on a small machine distort each other.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fused_ab  # noqa: E402 (imports no numpy: the thread counts are set first)

HYPER = dict(step=3, lr=2e-4, beta1=0.5, beta2=0.999, eps=1e-8)


def _one_by_one(update):
    """A list version of a one-parameter update: what Adam did before adam_update_many."""
    def update_all(params, grads, exp_avgs, exp_avg_sqs, **hyper):
        for p, g, m, v in zip(params, grads, exp_avgs, exp_avg_sqs):
            update(p, g, m, v, **hyper)
    return update_all


def bench_parameters(repeat: int, device: str = "cpu", batch: int = 64) -> None:
    """(batch: unused, the parameters' sizes do not depend on it; fused_ab passes it.)"""
    import numpy as np  # noqa: PLC0415

    import minigrad as mg  # noqa: PLC0415
    from common import D_LAYERS, G_LAYERS, make_params  # noqa: PLC0415
    from kernels.optim import adam_update, adam_update_many, adam_update_reference  # noqa

    xp = mg.backend.cupy() if device == "gpu" else np
    sync = xp.cuda.Device().synchronize if device == "gpu" else (lambda: None)
    params = make_params()
    rng = np.random.default_rng(0)
    arrays = []                                        # (p, g, m, v) per parameter
    for name, _, _ in G_LAYERS + D_LAYERS:
        for p in params[name].values():
            g = rng.standard_normal(p.shape).astype(p.dtype)
            arrays.append(tuple(xp.asarray(a) for a in (p.copy(), g, np.zeros_like(p),
                                                         np.zeros_like(p))))
    sizes = sorted(p.size for p, *_ in arrays)
    print(f"{device}: {len(arrays)} parameters, {sum(sizes):,} numbers (largest "
          f"{sizes[-1]:,}), float32; one update of each, ms, median of {repeat}"
          + (" (the host's time: launches not waited for)" if device == "gpu" else ""))
    versions = {"many": adam_update_many, "one": _one_by_one(adam_update),
                "array": _one_by_one(adam_update_reference)}
    lists = [list(column) for column in zip(*arrays)]
    times = {name: [] for name in versions}
    for r in range(repeat + 1):                        # r == 0: warm-up (compiles)
        for name in sorted(versions, reverse=r % 2 == 1):
            sync()
            t0 = time.perf_counter()
            versions[name](*lists, **HYPER)
            elapsed = (time.perf_counter() - t0) * 1e3
            sync()
            if r > 0:
                times[name].append(elapsed)
    many = np.median(times["many"])
    print("   ".join(f"{name} {np.median(t):6.3f} ms ({np.median(t) / many:.2f}x many)"
                     for name, t in times.items()))


def bench_step(rounds: int, threads: int, device: str = "cpu", batch: int = 64) -> None:
    import minigrad.optim.adam as adam  # noqa: PLC0415
    from kernels.optim import adam_update, adam_update_many  # noqa: PLC0415

    def use(update):
        adam.adam_update_many = update

    fused_ab.compare_in_step("DCGAN step, Adam", ("many", adam_update_many),
                             ("one", _one_by_one(adam_update)), use, rounds, threads,
                             device=device, batch=batch)


if __name__ == "__main__":
    fused_ab.main(__doc__, bench_parameters, bench_step, gpu=True)
