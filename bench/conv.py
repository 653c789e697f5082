"""Time the convolution kernels on the DCGAN shapes (batch 64) against one plain matmul.

    python bench/conv.py                 # CPU: numba im2col/col2im + numpy.matmul (BLAS)
    python bench/conv.py --device gpu    # the same with CuPy arrays (CUDA kernels + cuBLAS)

For each layer: forward ms, forward+backward ms (conv2d + conv2d_dx + conv2d_dw; for a
transposed conv the forward is conv2d_dx and the backward conv2d + conv2d_dw), the GFLOP/s
achieved, and the GFLOP/s of one matmul of the same GEMM shape (O, C*KH*KW) @ (C*KH*KW,
N*OH*OW). `ratio` = achieved / matmul: what the data movement around the GEMMs costs.

When PyTorch is installed, a second table times its convolutions on the same shapes (in a
subprocess of its own, after minigrad's: PyTorch's OpenMP runtime must not be loaded
before numba's, see kernels/cpu.py), forward + backward with the same three gradients
(`--no-torch` to skip), under the malloc settings minigrad uses. On the CPU, PyTorch runs
oneDNN's direct convolutions, which never build the im2col matrix and do not go through
OpenBLAS's GEMM.
"""
import argparse
import importlib.util
import json
import os
import subprocess
import sys
import time

from thread_env import set_threads

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
    p.add_argument("--no-torch", action="store_true", help="skip the PyTorch table")
    p.add_argument("--torch-worker", action="store_true", help=argparse.SUPPRESS)
    return p.parse_args()


def main():
    args = parse_args()
    set_threads(args.threads)
    os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")   # what `import minigrad` sets
    if args.torch_worker:
        return torch_worker(args)
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

    time_ms = timer(args, sync)
    mine = {}
    rng = np.random.default_rng(0)
    dtype = np.dtype(args.dtype)

    def randn(*shape):
        return xp.asarray(rng.standard_normal(shape).astype(dtype))

    print(f"device {args.device}, {dtype}, {args.stat} of {args.repeat} after {args.warmup} "
          f"warm-up, {args.threads} threads")
    print_header(f"{'matmul ms':>10s} {'matmul GFLOP/s':>15s} {'ratio':>6s}")
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
        mine[name] = (t_fwd, t_all, flops)
    if not args.no_torch and importlib.util.find_spec("torch") is not None:
        compare_with_torch(args, mine)


def print_header(last_columns: str) -> None:
    header = f"{'layer':24s} {'fwd ms':>8s} {'fwd+bwd ms':>11s} {'GFLOP/s':>8s} {last_columns}"
    print(header)
    print("-" * len(header))


def timer(args, sync):
    """time_ms(fn): the median (or min) ms of args.repeat calls after args.warmup."""
    import numpy as np

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
    return time_ms


def compare_with_torch(args, mine):
    """PyTorch's convolutions on the same shapes, in a fresh process; a table next to ours."""
    command = [sys.executable, os.path.abspath(__file__), "--torch-worker", "--device",
               args.device, "--dtype", args.dtype, "--repeat", str(args.repeat), "--warmup",
               str(args.warmup), "--stat", args.stat, "--threads", str(args.threads)]
    # glibc's malloc settings that `import kernels` makes for minigrad (kernels/cpu.py), so
    # that the table compares convolutions, not allocators: with glibc's defaults PyTorch's
    # layers page-fault their scratch memory in on every call when timed alone (D conv
    # 64->128 fwd+bwd 15-19 ms against 11-13 ms; in a whole training step it makes no
    # difference we could measure).
    from kernels.cpu import MALLOC_SETTINGS

    env = dict(os.environ)
    if not any(k in env for k in MALLOC_SETTINGS):
        env.update({k: str(v) for k, v in MALLOC_SETTINGS.items()})
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        print(f"PyTorch run failed:\n{done.stderr[-2000:]}")
        return
    theirs = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"\nPyTorch {theirs.pop('version')} on the same shapes (fwd+bwd: the input, weight "
          f"and bias gradients)")
    print_header(f"{'minigrad / PyTorch fwd':>23s} {'fwd+bwd':>8s}")
    for name, (t_fwd, t_all) in theirs.items():
        my_fwd, my_all, flops = mine[name]
        print(f"{name:24s} {t_fwd:8.2f} {t_all:11.2f} {3 * flops / t_all / 1e6:8.1f} "
              f"{my_fwd / t_fwd:22.2f}x {my_all / t_all:7.2f}x")


def torch_worker(args):
    """Time PyTorch's conv2d / conv_transpose2d on LAYERS; print {name: (fwd, fwd+bwd)}."""
    import torch

    torch.set_num_threads(args.threads)
    torch.backends.cudnn.allow_tf32 = False          # float32 arithmetic, as ours
    dev = torch.device("cuda" if args.device == "gpu" else "cpu")
    dtype = getattr(torch, args.dtype)

    def sync():
        if args.device == "gpu":
            torch.cuda.synchronize()

    time_ms = timer(args, sync)
    gen = torch.Generator().manual_seed(0)

    def randn(*shape, grad=False):
        return torch.randn(*shape, generator=gen, dtype=dtype).to(dev).requires_grad_(grad)

    out = {"version": torch.__version__}
    for name, transposed, N, C, O, H, k, s, p in LAYERS:
        OH = (H + 2 * p - k) // s + 1
        w, bias = randn(O, C, k, k, grad=True), randn(C if transposed else O, grad=True)
        if transposed:       # (N, O, OH, OH) -> (N, C, H, H), as in the minigrad table
            x = randn(N, O, OH, OH, grad=True)

            def fwd():
                return torch.nn.functional.conv_transpose2d(x, w, bias, s, p)
        else:
            x = randn(N, C, H, H, grad=True)

            def fwd():
                return torch.nn.functional.conv2d(x, w, bias, s, p)
        gy = torch.randn_like(fwd().detach())

        def fwd_bwd():
            return torch.autograd.grad(fwd(), (x, w, bias), gy)

        with torch.no_grad():
            t_fwd = time_ms(fwd)
        out[name] = (t_fwd, time_ms(fwd_bwd))
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    main()
