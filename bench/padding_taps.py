"""How much of D's 64->128 convolution lands in its zero padding, and who skips it.

    python bench/padding_taps.py             # minigrad, then PyTorch if installed
    python bench/padding_taps.py --no-torch

Two convolutions with the same 7x7 output and the same GEMM shapes:
  * padded: D's layer, k4 s2 p1 on a 14x14 input (the DCGAN's);
  * border: k4 s2 p0 on a 16x16 input, where every tap lands on a real pixel.
For the padded one the script counts the (output pixel, tap) pairs that read the padding:
14% of them. An im2col GEMM multiplies those zeros like any other number, so it takes as
long for both. A direct convolution can leave them out, and then the padded layer is
faster by up to that share.

Each framework times the two alternately in one process (which goes first alternates too),
forward and forward+backward (conv2d, conv2d_dx, conv2d_dw), and prints padded / border.
Then numpy.matmul alone on our three GEMM shapes, and oneDNN's own time for each of
PyTorch's convolution primitives, read from oneDNN's verbose log: no reorders, no Python.
The border layer's input has 31% more pixels, so whatever moves the input (PyTorch's
reorders into oneDNN's blocked layout, our im2col's reads) costs more there too: PyTorch's
wall-clock ratio mixes the two effects, the primitives' ratio does not.
PyTorch runs in a process of its own, after minigrad's (its OpenMP runtime must not load
before numba's: kernels/cpu.py). Run it alone: two timing jobs at once on a small machine
distort each other.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import time

from thread_env import set_threads

N, C, O, K, STRIDE = 64, 64, 128, 4, 2
CASES = {"padded": (14, 1), "border": (16, 0)}         # name: (input side, padding)
PRIMITIVE_CALLS = 60                                   # PyTorch's calls under oneDNN's log


def parse_args():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeat", type=int, default=40, help="timed pairs (median reported)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--no-torch", action="store_true", help="skip PyTorch")
    p.add_argument("--torch-worker", action="store_true", help=argparse.SUPPRESS)
    return p.parse_args()


def taps_in_padding(size: int, padding: int) -> float:
    """The share of (output pixel, tap) pairs whose input pixel lies in the padding."""
    out = (size + 2 * padding - K) // STRIDE + 1
    inside = sum(0 <= o * STRIDE - padding + k < size for o in range(out) for k in range(K))
    return 1 - (inside / (out * K)) ** 2               # the same along both axes


def time_pairs(repeat: int, fwd, fwd_bwd) -> dict:
    """{case: (fwd ms, fwd+bwd ms)}, medians; the cases alternate, and so does their order."""
    import numpy as np  # noqa: PLC0415

    times = {name: ([], []) for name in CASES}
    for r in range(repeat + 1):                        # r == 0: warm-up
        for name in sorted(CASES, reverse=r % 2 == 1):
            t0 = time.perf_counter()
            fwd(name)
            t1 = time.perf_counter()
            fwd_bwd(name)
            t2 = time.perf_counter()
            if r > 0:
                times[name][0].append((t1 - t0) * 1e3)
                times[name][1].append((t2 - t1) * 1e3)
    return {name: (float(np.median(f)), float(np.median(a))) for name, (f, a) in times.items()}


def minigrad_times(repeat: int) -> dict:
    import numpy as np  # noqa: PLC0415

    import kernels  # noqa: PLC0415

    rng = np.random.default_rng(0)
    w = rng.standard_normal((O, C, K, K)).astype(np.float32)
    gy = rng.standard_normal((N, O, 7, 7)).astype(np.float32)
    xs = {name: rng.standard_normal((N, C, size, size)).astype(np.float32)
          for name, (size, _) in CASES.items()}

    def fwd(name):
        return kernels.conv2d(xs[name], w, STRIDE, CASES[name][1])

    def fwd_bwd(name):                                 # as minigrad's Conv2d does
        x, (size, padding) = xs[name], CASES[name]
        y, cols = kernels.conv2d(x, w, STRIDE, padding, keep_cols=True)
        return (y, kernels.conv2d_dx(gy, w, (size, size), STRIDE, padding),
                kernels.conv2d_dw(x, gy, (K, K), STRIDE, padding, cols=cols))

    return time_pairs(repeat, fwd, fwd_bwd)


def gemm_times(repeat: int) -> dict:
    """numpy.matmul (OpenBLAS) alone on the layer's three GEMM shapes, every tap counted:
    {name: median ms}. Next to oneDNN's own convolution times (ONEDNN_VERBOSE), it shows
    how fast the two run the same multiplications."""
    import numpy as np  # noqa: PLC0415

    rng = np.random.default_rng(0)
    w2d = rng.standard_normal((O, C * K * K)).astype(np.float32)    # (O, C*KH*KW)
    cols = rng.standard_normal((C * K * K, N * 49)).astype(np.float32)
    gy_rows = rng.standard_normal((O, N * 49)).astype(np.float32)   # (O, N*OH*OW)
    products = {"forward": lambda: w2d @ cols, "input gradient": lambda: w2d.T @ gy_rows,
                "weight gradient": lambda: gy_rows @ cols.T}
    times = {name: [] for name in products}
    for r in range(repeat + 1):
        for name, product in products.items():
            t0 = time.perf_counter()
            product()
            if r > 0:
                times[name].append((time.perf_counter() - t0) * 1e3)
    return {name: float(np.median(t)) for name, t in times.items()}


def torch_worker(args) -> int:
    import torch  # noqa: PLC0415

    torch.set_num_threads(args.threads)
    gen = torch.Generator().manual_seed(0)
    w = torch.randn(O, C, K, K, generator=gen, requires_grad=True)
    gy = torch.randn(N, O, 7, 7, generator=gen)
    xs = {name: torch.randn(N, C, size, size, generator=gen, requires_grad=True)
          for name, (size, _) in CASES.items()}

    def fwd(name):
        with torch.no_grad():
            return torch.nn.functional.conv2d(xs[name], w, None, STRIDE, CASES[name][1])

    def fwd_bwd(name):
        y = torch.nn.functional.conv2d(xs[name], w, None, STRIDE, CASES[name][1])
        return torch.autograd.grad(y, (xs[name], w), gy)

    times = time_pairs(args.repeat, fwd, fwd_bwd)
    # Then more calls with oneDNN's verbose log on: one line per primitive run, with its own
    # time (no reorders, no Python). It goes to this process's stdout, for main. The
    # backward passes reuse one graph per case, so each call runs just the two primitives.
    ys = {name: torch.nn.functional.conv2d(xs[name], w, None, STRIDE, CASES[name][1])
          for name in CASES}
    with torch.backends.mkldnn.verbose(torch.backends.mkldnn.VERBOSE_ON):
        for _ in range(PRIMITIVE_CALLS):
            for name in CASES:
                fwd(name)
        for _ in range(PRIMITIVE_CALLS):
            for name in CASES:
                torch.autograd.grad(ys[name], (xs[name], w), gy, retain_graph=True)
    print(json.dumps({"version": torch.__version__, "times": times}))
    return 0


def onednn_primitive_times(log: str) -> dict:
    """{(case, prop_kind): median ms} from oneDNN's verbose lines, e.g.
    onednn_verbose,v1,primitive,exec,cpu,convolution,jit:avx512_core,backward_weights,
    <memory descriptors>,<attributes>,,mb64_ic64oc128_ih14oh7kh4sh2dh0ph1_...,4.07"""
    import numpy as np  # noqa: PLC0415

    found = {}
    for line in log.splitlines():
        fields = line.split(",")
        if line.startswith("onednn_verbose") and "exec" in fields and "convolution" in fields:
            prop_kind = fields[fields.index("convolution") + 2]
            case = "padded" if "ph1" in fields[-2] else "border"
            found.setdefault((case, prop_kind), []).append(float(fields[-1]))
    return {key: float(np.median(ms)) for key, ms in found.items()}


def report(framework: str, times: dict) -> None:
    (pf, pa), (bf, ba) = times["padded"], times["border"]
    print(f"{framework:<16} padded {pf:6.2f} / {pa:6.2f} ms   border {bf:6.2f} / {ba:6.2f} ms"
          f"   padded / border: fwd {pf / bf:.3f}, fwd+bwd {pa / ba:.3f}")


def main() -> int:
    args = parse_args()
    set_threads(args.threads)
    if args.torch_worker:
        return torch_worker(args)
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    # Before numpy: minigrad tells OpenBLAS's idle threads to stop spinning soon, so that
    # they do not slow down the numba kernels between the GEMMs (kernels/cpu.py).
    import minigrad  # noqa: F401,PLC0415
    share = taps_in_padding(*CASES["padded"])
    print(f"conv {C}->{O}, k{K} s{STRIDE}, batch {N}, float32, {args.threads} threads: padded "
          f"= 14x14 p1, border = 16x16 p0 (both 7x7 out); {share:.1%} of the padded layer's "
          f"taps read the padding (a skipping convolution: padded / border ~ {1 - share:.3f})")
    print("times: fwd / fwd+bwd, medians of", args.repeat, "alternating pairs")
    report("minigrad", minigrad_times(args.repeat))
    flops = 2 * O * C * K * K * N * 49 / 1e6                      # one GEMM, every tap
    print("numpy.matmul alone on its three GEMMs: " + ", ".join(
        f"{name} {ms:.2f} ms ({flops / ms:.0f} GFLOP/s)"
        for name, ms in gemm_times(args.repeat).items()))
    if args.no_torch or importlib.util.find_spec("torch") is None:
        return 0
    command = [sys.executable, os.path.abspath(__file__), "--torch-worker",
               "--repeat", str(args.repeat), "--threads", str(args.threads)]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        print(f"PyTorch run failed:\n{done.stderr[-2000:]}")
        return 1
    (json_line,) = [line for line in done.stdout.splitlines() if line.startswith("{")]
    theirs = json.loads(json_line)
    report(f"PyTorch {theirs['version']}", theirs["times"])
    primitives = onednn_primitive_times(done.stdout)
    if primitives:
        print(f"oneDNN's convolutions on their own (medians of {PRIMITIVE_CALLS} calls):")
        for prop_kind in ("forward_training", "backward_data", "backward_weights"):
            padded, border = (primitives.get((case, prop_kind)) for case in CASES)
            if padded and border:
                print(f"  {prop_kind:<17} padded {padded:5.2f} ms, border {border:5.2f} ms "
                      f"({flops / border:.0f} GFLOP/s), padded / border {padded / border:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
