"""conv2d_dx on the CPU (kernels/cpu.py) makes its column matrix a block of images at a
time, each block read back by col2im while it is still in the cache; against the whole
matrix at once (one GEMM, then one col2im).

    python bench/conv_blocks.py          # D's 64->128 layer (the same shape as G's 128->64
                                         # transposed convolution), batch 8, 64 and 512
    python bench/conv_blocks.py --step   # the whole DCGAN step of bench/gan_step.py

Both modes alternate the two (which one goes first alternates too), so that a noisy
machine's drift hits both alike (--step: bench/fused_ab.py). Run it alone: two timing jobs
at once on a small machine distort each other.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fused_ab  # noqa: E402 (imports no numpy: the thread counts are set first)

WHOLE = 1 << 62          # _DX_BLOCK_BYTES large enough for any batch: one block


def _variants():
    import kernels.cpu  # noqa: PLC0415

    def use(block_bytes):
        kernels.cpu._DX_BLOCK_BYTES = block_bytes

    return ("blocks", kernels.cpu._DX_BLOCK_BYTES), ("whole", WHOLE), use


def bench_shape(repeat: int) -> None:
    import numpy as np  # noqa: PLC0415

    import kernels  # noqa: PLC0415

    blocks, whole, use = _variants()
    rng = np.random.default_rng(0)
    w = rng.standard_normal((128, 64, 4, 4)).astype(np.float32)    # (O, C, KH, KW)
    print(f"conv2d_dx of D's 64->128 layer (also G's 128->64 transposed convolution), "
          f"float32, median of {repeat}; blocks of {blocks[1] >> 20} MB of columns against "
          f"the whole matrix")
    for batch in (8, 64, 512):
        gy = rng.standard_normal((batch, 128, 7, 7)).astype(np.float32)   # (N, O, OH, OW)
        times = {name: [] for name, _ in (blocks, whole)}
        for r in range(repeat + 1):                    # r == 0: warm-up (numba compiles)
            for name, value in sorted((blocks, whole), reverse=r % 2 == 1):
                use(value)
                t0 = time.perf_counter()
                kernels.conv2d_dx(gy, w, (14, 14), 2, 1)   # -> (N, 64, 14, 14)
                if r > 0:
                    times[name].append((time.perf_counter() - t0) * 1e3)
        use(blocks[1])
        b, a = (np.median(times[name]) for name in ("blocks", "whole"))
        print(f"batch {batch:3}: blocks {b:7.2f} ms   whole matrix {a:7.2f} ms   {a / b:4.2f}x")


def bench_step(rounds: int, threads: int) -> None:
    blocks, whole, use = _variants()
    fused_ab.compare_in_step("DCGAN step, conv2d_dx", blocks, whole, use, rounds, threads)


if __name__ == "__main__":
    fused_ab.main(__doc__, bench_shape, bench_step)
