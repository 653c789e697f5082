"""What the fused-kernel benchmarks (adam.py, batch_norm.py, conv_blocks.py, sigmoid_bce.py)
share: a fused kernel timed against the formula it replaced, on its own (the script's
`bench_parts`) and inside a whole DCGAN step of bench/gan_step.py (`--step`,
`compare_in_step`).

--step runs the step in one process and switches between the two every 3 steps,
alternating which goes first: a paired comparison, so that the drift of a noisy machine
hits both alike (separate runs of gan_step.py differ by more than a 2% gain). Run it
alone: two timing jobs at once on a small machine distort each other.

numpy is imported only inside the functions: `main` sets the thread counts first, and
OpenBLAS reads them when numpy loads it.
"""
from __future__ import annotations

import argparse
import time

import thread_env


def main(doc: str, bench_parts, bench_step, *, repeat_help: str = "",
         default_rounds: int = 20, gpu: bool = False) -> None:
    """The command line of a fused-kernel benchmark: `bench_parts(repeat)` by default,
    `bench_step(rounds, threads)` with --step. With gpu=True it also takes --device and
    --batch-size, passed to both as the keywords `device` and `batch`."""
    parser = argparse.ArgumentParser(description=doc,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=30, help=repeat_help)
    parser.add_argument("--step", action="store_true", help="time the whole DCGAN step")
    parser.add_argument("--rounds", type=int, default=default_rounds,
                        help="with --step: 3+3 steps each")
    parser.add_argument("--threads", type=int, default=2)
    if gpu:
        parser.add_argument("--device", choices=["cpu", "gpu"], default="cpu")
        parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()
    thread_env.set_threads(args.threads)
    import minigrad  # noqa: F401,PLC0415 (after the thread count, before numpy)

    where = {"device": args.device, "batch": args.batch_size} if gpu else {}
    if args.step:
        bench_step(args.rounds, args.threads, **where)
    else:
        bench_parts(args.repeat, **where)


def compare_in_step(what: str, fused: tuple, replaced: tuple, use, rounds: int,
                    threads: int, device: str = "cpu", batch: int = 64) -> None:
    """Time the DCGAN step with `fused` and with `replaced`, each a (name, value) pair that
    `use(value)` switches to, paired (see the module docstring); print both medians and
    replaced / fused. The fused version is in use again afterwards. (On the GPU each step
    ends with the losses' .item(), which waits for the device: a step's time is all of it.)"""
    import numpy as np  # noqa: PLC0415
    from peers_minigrad import build_step  # noqa: PLC0415

    step, *_ = build_step("dcgan", batch, device, threads)
    variants = dict((fused, replaced))
    times = {name: [] for name in variants}
    for r in range(rounds + 1):                        # round 0: warm-up, not timed
        for name in sorted(variants, reverse=r % 2 == 1):
            use(variants[name])
            for _ in range(3):
                t0 = time.perf_counter()
                step()
                if r > 0:
                    times[name].append((time.perf_counter() - t0) * 1e3)
    use(fused[1])
    for name, t in times.items():
        print(f"{what}, {name:<8}: median {np.median(t):7.2f} ms, min {min(t):7.2f} ms "
              f"({len(t)} steps)")
    new, old = times[fused[0]], times[replaced[0]]
    print(f"{replaced[0]} / {fused[0]}: {np.median(old) / np.median(new):.3f}"
          f" (median of the paired differences: {np.median(np.subtract(old, new)):.2f} ms)")
