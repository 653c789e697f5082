"""The fused sigmoid and BCE-with-logits loops (kernels/pointwise.py) against the array
formulas they replaced (`sigmoid_reference`, `bce_with_logits_reference`: nine and eight
array calls, each a kernel launch on the GPU).

    python bench/sigmoid_bce.py --device gpu          # per call, on D's (64, 1) logits
    python bench/sigmoid_bce.py --device gpu --step   # the whole DCGAN step, paired

The arrays are tiny, so what is timed is the cost of a call, not arithmetic: on the GPU
the host's time to launch the kernels (the calls are not waited for; the device is
synchronised once after each batch of calls). --step alternates the two versions every
3 steps (bench/fused_ab.py). Run it alone: two timing jobs at once distort each other.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fused_ab  # noqa: E402 (imports no numpy: the thread counts are set first)


def bench_calls(repeat: int, device: str, batch: int) -> None:
    import numpy as np  # noqa: PLC0415

    import minigrad as mg  # noqa: PLC0415
    from kernels import pointwise  # noqa: PLC0415

    xp = mg.backend.cupy() if device == "gpu" else np
    rng = np.random.default_rng(0)
    x = xp.asarray(rng.standard_normal((batch, 1)).astype(np.float32))
    t = xp.asarray((rng.random((batch, 1)) > 0.5).astype(np.float32))
    sync = xp.cuda.Device().synchronize if device == "gpu" else (lambda: None)
    pairs = {"sigmoid": (lambda: pointwise.sigmoid(x), lambda: pointwise.sigmoid_reference(x)),
             "bce_with_logits": (lambda: pointwise.bce_with_logits(x, t),
                                 lambda: pointwise.bce_with_logits_reference(x, t))}
    print(f"{device}, ({batch}, 1) float32, us per call (median of {repeat} batches of 200)")
    for name, (fused, formula) in pairs.items():
        times = {fused: [], formula: []}
        for r in range(repeat + 1):                    # r == 0: warm-up (compiles)
            for fn in (fused, formula) if r % 2 else (formula, fused):
                sync()
                t0 = time.perf_counter()
                for _ in range(200):
                    fn()
                sync()
                if r > 0:
                    times[fn].append((time.perf_counter() - t0) / 200 * 1e6)
        a, b = np.median(times[fused]), np.median(times[formula])
        print(f"  {name:<16} fused {a:6.1f}   array formula {b:6.1f}   {b / a:4.1f}x")


def bench_step(rounds: int, threads: int, device: str, batch: int) -> None:
    from kernels import pointwise  # noqa: PLC0415

    # The ops (Sigmoid, BCEWithLogits) look the functions up in `pointwise` at each call
    fused = (pointwise.sigmoid, pointwise.bce_with_logits)
    formula = (pointwise.sigmoid_reference, pointwise.bce_with_logits_reference)

    def use(functions):
        pointwise.sigmoid, pointwise.bce_with_logits = functions

    fused_ab.compare_in_step(f"DCGAN step, {device}, batch {batch}", ("fused", fused),
                             ("formula", formula), use, rounds, threads, device, batch)


def main() -> None:
    fused_ab.main(__doc__, bench_calls, bench_step, repeat_help="batches of 200 calls",
                  gpu=True)


if __name__ == "__main__":
    main()
