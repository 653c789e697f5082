"""A convolution's bias gradient on the GPU, sum of gy (N, C, H, W) over N, H and W:
`kernels.gpu.channel_sum` (two cuBLAS matrix-vector products with ones) against CuPy's
`gy.sum(axis=(0, 2, 3))`, which it replaced.

    python bench/channel_sum.py --device gpu [--batch-size 512]   # the DCGAN's four shapes
    python bench/channel_sum.py --device gpu --step               # the whole DCGAN step

Per shape: the host's time per call (calls not waited for: what bounds a step at batch
64) and the GPU's (`cupyx.profiler.benchmark`). --step alternates the two versions every
3 steps of one process (bench/fused_ab.py). Run it alone: two timing jobs at once
distort each other. GPU only: on the CPU channel_sum is numpy.einsum (kernels/norm.py).
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fused_ab  # noqa: E402 (imports no numpy: the thread counts are set first)


def _cupy_sum(x):
    return x.sum(axis=(0, *range(2, x.ndim)))


def bench_shapes(repeat: int, device: str = "gpu", batch: int = 64) -> None:
    if device != "gpu":
        raise SystemExit("channel_sum.py: GPU only (--device gpu)")
    import numpy as np  # noqa: PLC0415
    from cupyx.profiler import benchmark  # noqa: PLC0415

    import minigrad as mg  # noqa: PLC0415
    from kernels import gpu  # noqa: PLC0415

    cupy = mg.backend.cupy()
    rng = np.random.default_rng(0)
    shapes = [(batch, 64, 14, 14), (batch, 128, 7, 7), (batch, 1, 28, 28)]  # D's, G's
    print(f"us per call, median of {repeat * 20} calls: host / GPU")
    for shape in shapes:
        x = cupy.asarray(rng.standard_normal(shape).astype(np.float32))
        np.testing.assert_allclose(cupy.asnumpy(gpu.channel_sum(x)),
                                   cupy.asnumpy(_cupy_sum(x)), rtol=1e-4, atol=1e-3)
        row = []
        for name, fn in (("cuBLAS", gpu.channel_sum), ("CuPy sum", _cupy_sum)):
            result = benchmark(fn, (x,), n_repeat=repeat * 20, n_warmup=10)
            host = np.median(result.cpu_times) * 1e6
            device_us = np.median(result.gpu_times[0]) * 1e6
            row.append(f"{name} {host:6.1f} / {device_us:6.1f}")
        print(f"{str(shape):<20} " + "    ".join(row))


def bench_step(rounds: int, threads: int, device: str = "gpu", batch: int = 64) -> None:
    if device != "gpu":
        raise SystemExit("channel_sum.py: GPU only (--device gpu)")
    from kernels import gpu  # noqa: PLC0415

    def use(fn):
        gpu.channel_sum = fn

    fused_ab.compare_in_step("DCGAN step, bias gradients", ("cuBLAS", gpu.channel_sum),
                             ("CuPy sum", _cupy_sum), use, rounds, threads, device=device,
                             batch=batch)


if __name__ == "__main__":
    fused_ab.main(__doc__, bench_shapes, bench_step, gpu=True)
