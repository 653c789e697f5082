"""Time the convolution kernels on the DCGAN shapes (batch 64) against one plain matmul.

    python bench/conv.py                 # CPU: numba im2col/col2im + numpy.matmul (BLAS)
    python bench/conv.py --device gpu    # the same with CuPy arrays (CUDA kernels + cuBLAS)

For each layer: forward ms, forward+backward ms (conv2d + conv2d_dx + conv2d_dw; for a
transposed conv the forward is conv2d_dx and the backward conv2d + conv2d_dw), the GFLOP/s
achieved, and the GFLOP/s of one matmul of the same GEMM shape (O, C*KH*KW) @ (C*KH*KW,
N*OH*OW). `ratio` = achieved / matmul: what the data movement around the GEMMs costs.
"""
import argparse
import os
import sys
import time

LAYERS = [  # name, transposed, N, C, O, H (input side of the strided conv), kernel, stride, pad
    ("D conv 1->64 28x28", False, 64, 1, 64, 28, 4, 2, 1),
    ("D conv 64->128 14x14", False, 64, 64, 128, 14, 4, 2, 1),
    ("G convT 128->64 7->14", True, 64, 64, 128, 14, 4, 2, 1),
    ("G convT 64->1 14->28", True, 64, 1, 64, 28, 4, 2, 1),
]


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--device", choices=["cpu", "gpu"], default="cpu")
    p.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    p.add_argument("--repeat", type=int, default=30, help="timed repetitions (median reported)")
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--stat", choices=["median", "min"], default="median",
                   help="statistic of the timed repetitions (min is steadier on a busy machine)")
    p.add_argument("--threads", type=int, default=2,
                   help="OMP/OpenBLAS/MKL/numba threads, set before numpy loads (default 2)")
    return p.parse_args()


def main():
    args = parse_args()
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        os.environ.setdefault(var, str(args.threads))
    os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")   # what `import minigrad` sets
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    import numpy as np
    import kernels

    if args.device == "gpu":
        import cupy as xp

        def sync():
            xp.cuda.Device().synchronize()
    else:
        xp = np

        def sync():
            pass

    stat = np.median if args.stat == "median" else np.min

    def time_ms(fn):
        for _ in range(args.warmup):
            fn()
        sync()
        times = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            fn()
            sync()
            times.append(time.perf_counter() - t0)
        return 1e3 * float(stat(times))

    rng = np.random.default_rng(0)
    dtype = np.dtype(args.dtype)

    def randn(*shape):
        return xp.asarray(rng.standard_normal(shape).astype(dtype))

    print(f"device {args.device}, {dtype}, {args.stat} of {args.repeat} after {args.warmup} "
          f"warm-up, {args.threads} threads")
    header = (f"{'layer':24s} {'fwd ms':>8s} {'fwd+bwd ms':>11s} {'GFLOP/s':>8s} "
              f"{'matmul ms':>10s} {'matmul GFLOP/s':>15s} {'ratio':>6s}")
    print(header)
    print("-" * len(header))
    for name, transposed, N, C, O, H, k, s, p in LAYERS:
        x, w = randn(N, C, H, H), randn(O, C, k, k)
        OH = kernels.conv_out(H, k, s, p, 1)
        gy = randn(N, O, OH, OH)
        A, B = randn(O, C * k * k), randn(C * k * k, N * OH * OH)
        flops = 2.0 * O * C * k * k * N * OH * OH                  # one GEMM
        # As minigrad does: the weight gradient reuses the im2col matrix of the conv2d call
        # that has the same input (keep_cols / cols=).
        if transposed:    # input gy (N, O, OH, OH) -> output (N, C, H, H); grad arrives as x
            def fwd():
                return kernels.conv2d_dx(gy, w, (H, H), s, p)

            def fwd_bwd():
                out = kernels.conv2d_dx(gy, w, (H, H), s, p)
                g_in, cols = kernels.conv2d(x, w, s, p, keep_cols=True)
                return out, g_in, kernels.conv2d_dw(x, gy, (k, k), s, p, cols=cols)
        else:
            def fwd():
                return kernels.conv2d(x, w, s, p)

            def fwd_bwd():
                out, cols = kernels.conv2d(x, w, s, p, keep_cols=True)
                g_in = kernels.conv2d_dx(gy, w, (H, H), s, p)
                return out, g_in, kernels.conv2d_dw(x, gy, (k, k), s, p, cols=cols)

        t_fwd, t_all, t_mm = time_ms(fwd), time_ms(fwd_bwd), time_ms(lambda: A @ B)
        achieved, mm = 3 * flops / t_all / 1e6, flops / t_mm / 1e6
        print(f"{name:24s} {t_fwd:8.2f} {t_all:11.2f} {achieved:8.1f} "
              f"{t_mm:10.2f} {mm:15.1f} {achieved / mm:6.0%}")


if __name__ == "__main__":
    main()
