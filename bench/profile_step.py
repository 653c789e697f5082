"""Where does a GAN step's time go? Profiles BENCH_SPEC's step in minigrad with cProfile and
groups the time two ways:

  by layer of the house   kernels (numba loops, BLAS GEMMs), op arithmetic (numpy calls inside
                          Function.forward/backward), framework overhead (the tape, Tensor,
                          Module calls, optimizer bookkeeping)
  by op                   total own time of each Function's forward and backward

    python bench/profile_step.py --bench dcgan --steps 10
    python bench/profile_step.py --bench dcgan --kernel-timers    # no cProfile: see below
    python bench/profile_step.py --device gpu --batch-size 64      # CuPy: the host's share
    python bench/profile_step.py --device gpu --batch-size 512 --gpu-kernels

On the GPU, CuPy launches kernels asynchronously: cProfile sees the host side (Python, the
tape, CuPy's per-call cost of launching a kernel), and the device's own work shows up only
where the host waits for it (`synchronize`, copies to the host).
--gpu-kernels: the device's side instead: GPU time per CUDA kernel over 5 steps, read by
PyTorch's profiler (CUPTI records every kernel of the process, CuPy's and cuBLAS's too;
needs PyTorch), then the same for PyTorch's own step.

--op-timers: instead of cProfile, wall-clock timers around every op's forward and backward,
the tape (Function.__call__), the backward engine, Module calls and the optimizers, each
exclusive of the timed calls inside it: the host's time per op as the step runs, without
cProfile's per-call overhead. On the GPU this is the host's side (launches are not waited
for), which bounds the step at batch 64.

--kernel-timers: instead of cProfile (whose overhead inflates small calls), wrap the kernel
functions (kernels.cpu's conv triple, im2col, col2im and transposes, the pointwise and
batch norm kernels) in wall-clock timers and run 20 steps: ms per step spent inside each,
and the whole step's median, measured the way the step runs. A conv's time includes the
im2col/col2im/transposes it calls.
"""
from __future__ import annotations

import argparse
import cProfile
import inspect
import pstats
import sys
import time
from collections import defaultdict
from pathlib import Path

from thread_env import set_threads

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def _function_spans():
    """(file, first line, last line) -> Function class name, for every op class."""
    import minigrad.ops  # noqa: F401,PLC0415
    from minigrad.autograd import Function  # noqa: PLC0415

    spans, todo = [], list(Function.__subclasses__())
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        try:
            lines, start = inspect.getsourcelines(cls)
            spans.append((inspect.getsourcefile(cls), start, start + len(lines), cls.__name__))
        except (OSError, TypeError):
            pass
    return spans


def _category(filename: str) -> str:
    path = filename.replace("\\", "/")
    if "/kernels/" in path:
        return "kernels (numba loops + BLAS GEMMs)"
    if "/minigrad/ops/" in path:
        return "op arithmetic (numpy inside forward/backward)"
    if "/minigrad/optim/" in path:
        return "optimizer (Adam updates)"
    if "/minigrad/" in path or "/bench/" in path:
        return "framework overhead (tape, Tensor, Module, Python)"
    if "cupy" in path:
        return "CuPy calls (kernel launches, allocation)"
    if filename.startswith("~") or "numpy" in path:
        return "numpy calls (reductions, copies, allocation)"
    return "other"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bench", choices=["dcgan", "wgan_gp"], default="dcgan")
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--device", choices=["cpu", "gpu"], default="cpu")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--top", type=int, default=12, help="how many functions to list")
    p.add_argument("--gpu-kernels", action="store_true",
                   help="GPU time per CUDA kernel (needs PyTorch's profiler), with PyTorch's")
    p.add_argument("--kernel-timers", action="store_true",
                   help="wall-clock timers around the kernels instead of cProfile")
    p.add_argument("--op-timers", action="store_true",
                   help="host time per op, tape, engine, Module and optimizer, by wall clock")
    args = p.parse_args()
    set_threads(args.threads)
    sys.path[:0] = [str(HERE), str(ROOT)]
    from peers_minigrad import build_step  # noqa: PLC0415

    if args.gpu_kernels:
        return _gpu_kernels(args.bench, args.batch_size, args.threads)
    step, sync, _, _ = build_step(args.bench, args.batch_size, args.device, args.threads)
    if args.kernel_timers:
        return _kernel_timers(step, args.bench, max(args.steps, 20))
    if args.op_timers:
        return _op_timers(step, sync, args.bench, max(args.steps, 20), args.top)
    for _ in range(3):
        step()
    sync()
    t0 = time.perf_counter()
    for _ in range(args.steps):
        step()
    sync()
    wall = (time.perf_counter() - t0) / args.steps * 1000

    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(args.steps):
        step()
    sync()
    profiler.disable()
    stats = pstats.Stats(profiler).stats       # (file, line, name) -> (cc, nc, tt, ct, callers)

    by_layer, by_op = defaultdict(float), defaultdict(float)
    spans = _function_spans()
    for (filename, line, name), (_, _, own, _, _) in stats.items():
        own_ms = own * 1000 / args.steps
        by_layer[_category(filename)] += own_ms
        for file, first, last, cls in spans:
            if filename == file and first <= line < last:
                by_op[f"{cls}.{name}"] += own_ms
                break
    total = sum(by_layer.values())
    print(f"{args.bench} step: {wall:.1f} ms unprofiled, {total:.1f} ms of own time profiled "
          f"(median of nothing: one run of {args.steps} steps)\n")
    print("by layer of the house")
    for key, value in sorted(by_layer.items(), key=lambda kv: -kv[1]):
        print(f"  {value:7.1f} ms  {100 * value / total:5.1f}%  {key}")
    print("\nby op (own time of forward/backward, top 15)")
    for key, value in sorted(by_op.items(), key=lambda kv: -kv[1])[:15]:
        print(f"  {value:7.1f} ms  {key}")
    print("\ntop functions by own time")
    for (filename, line, name), (_, calls, own, _, _) in sorted(
            stats.items(), key=lambda kv: -kv[1][2])[:args.top]:
        short = filename.replace(str(ROOT) + "/", "")
        print(f"  {own * 1000 / args.steps:7.1f} ms  {calls // args.steps:5d} calls  "
              f"{short}:{line}({name})")
    return 0


def _gpu_kernels(bench: str, batch: int, threads: int) -> int:
    """GPU time per CUDA kernel over 5 steps, minigrad's and then PyTorch's."""
    import peers_minigrad  # noqa: PLC0415
    import peers_torch  # noqa: PLC0415
    from torch.profiler import ProfilerActivity, profile  # noqa: PLC0415

    for name, peer in (("minigrad", peers_minigrad), ("PyTorch", peers_torch)):
        step, sync, _, _ = peer.build_step(bench, batch, "gpu", threads)
        for _ in range(5):
            step()
        sync()
        with profile(activities=[ProfilerActivity.CUDA]) as prof:
            for _ in range(5):
                step()
            sync()
        print(f"== {name}, {bench} batch {batch}: GPU time per kernel over 5 steps")
        print(prof.key_averages().table(sort_by="cuda_time_total", row_limit=20,
                                        max_name_column_width=60))
    return 0


def _kernel_timers(step, bench: str, steps: int) -> int:
    """ms per step inside each kernel function, by wall clock (see the module docstring)."""
    import kernels.cpu  # noqa: PLC0415
    import kernels.norm  # noqa: PLC0415
    import kernels.pointwise  # noqa: PLC0415

    spent, calls = defaultdict(float), defaultdict(int)

    def timed(module, name):
        inner = getattr(module, name)

        def wrapper(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return inner(*args, **kwargs)
            finally:
                spent[name] += time.perf_counter() - t0
                calls[name] += 1
        setattr(module, name, wrapper)    # callers look the name up on the module each call

    for name in ("conv2d", "conv2d_dx", "conv2d_dw", "im2col", "col2im", "_as_rows"):
        timed(kernels.cpu, name)
    for name in ("leaky_relu", "slope_mul", "mask_mul", "sigmoid", "bce_with_logits"):
        timed(kernels.pointwise, name)
    for name in ("batch_norm_forward", "batch_norm_backward"):
        timed(kernels.norm, name)
    for _ in range(5):
        step()
    spent.clear(), calls.clear()
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        step()
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    print(f"{bench} step: median {times[len(times) // 2]:.1f} ms over {steps} steps, "
          f"with timers")
    for name, seconds in sorted(spent.items(), key=lambda kv: -kv[1]):
        print(f"  {seconds * 1000 / steps:7.2f} ms  {calls[name] // steps:3d} calls  {name}")
    return 0


def _op_timers(step, sync, bench: str, steps: int, top: int) -> int:
    """Host ms per step in each op's forward/backward and the framework around them, each
    exclusive of the timed calls it makes (see the module docstring)."""
    import minigrad.autograd as autograd  # noqa: PLC0415
    import minigrad.nn as nn  # noqa: PLC0415
    import minigrad.optim as optim  # noqa: PLC0415

    spent, calls = defaultdict(float), defaultdict(int)
    inside = []            # for each timed call in progress: the time of its timed children

    def timed(owner, name, label):
        inner = owner.__dict__[name]

        def wrapper(*args, **kwargs):
            inside.append(0.0)
            t0 = time.perf_counter()
            try:
                return inner(*args, **kwargs)
            finally:
                elapsed = time.perf_counter() - t0
                spent[label] += elapsed - inside.pop()
                calls[label] += 1
                if inside:
                    inside[-1] += elapsed
        setattr(owner, name, wrapper)

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    for _ in range(5):
        step()
    sync()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    sync()
    plain = (time.perf_counter() - t0) * 1000 / steps

    for cls in set(subclasses(autograd.Function)):
        for name in ("forward", "backward", "_fused_backward", "_differentiable_backward"):
            if name in cls.__dict__:
                timed(cls, name, f"{cls.__name__}.{name}")
    timed(autograd.Function, "__call__", "the tape: Function.__call__")
    timed(nn.Module, "__call__", "Module calls (layers' own Python)")
    for cls in {optim.Optimizer, *subclasses(optim.Optimizer)}:
        for name in ("step", "zero_grad"):
            if name in cls.__dict__:
                timed(cls, name, f"{cls.__name__}.{name}")
    timed(autograd, "run_backward", "the engine: run_backward")   # looked up on the module

    step()
    spent.clear(), calls.clear()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    sync()
    timed_ms = (time.perf_counter() - t0) * 1000 / steps
    rest = timed_ms - sum(spent.values()) * 1000 / steps
    print(f"{bench} step: {plain:.2f} ms without timers, {timed_ms:.2f} ms with them "
          f"({steps} steps); host ms per step, exclusive of the timed calls inside")
    rows = sorted(spent.items(), key=lambda kv: -kv[1])
    for label, seconds in rows[:top]:
        n = calls[label] / steps
        print(f"  {seconds * 1000 / steps:7.3f} ms  {n:6.1f} calls  "
              f"{seconds * 1e6 / calls[label]:7.1f} us/call  {label}")
    print(f"  {rest:7.3f} ms                           the rest (the step's own code, waiting)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
