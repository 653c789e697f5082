"""Per-op dispatch overhead: how long minigrad takes for an op whose arithmetic is nothing
(a 4-element add), forward alone and forward + backward, against numpy's own time for
the same arithmetic. The difference is the price of the tape: Function objects, Tensor
wrappers, the engine's bookkeeping. (The conv table is bench/conv.py.)

    python bench/ops.py
    python bench/ops.py --device gpu     # the same on CuPy arrays, then CuPy's own calls

On the GPU the calls are not waited for (the device is synchronised once after each
batch of calls, outside the timing): what is measured is the host's time to issue them,
which bounds a DCGAN step at batch 64 (bench/README.md, "GPU"). The kernels here are
tiny, so the device keeps up and its queue never fills.
"""
from __future__ import annotations

import argparse
import timeit

import numpy as np

import minigrad as mg


def per_call_us(fn, number: int = 20000, repeat: int = 5, sync=None) -> float:
    """The fastest of `repeat` batches of `number` calls, in us per call."""
    best = float("inf")
    for _ in range(repeat):
        if sync is not None:
            sync()
        best = min(best, timeit.timeit(fn, number=number))
    return best / number * 1e6


def minigrad_rows(device: str, sync) -> list:
    a = mg.randn(4, requires_grad=True, device=device)
    b = mg.randn(4, requires_grad=True, device=device)
    rows = [("the array library's a + b (the arithmetic alone)",
             per_call_us(lambda: a.data + b.data, sync=sync))]
    rows.append(("minigrad a + b, recording the tape", per_call_us(lambda: a + b, sync=sync)))
    rows.append(("minigrad a * 2.0 (scalar op), recording",
                 per_call_us(lambda: a * 2.0, sync=sync)))
    with mg.no_grad():
        rows.append(("minigrad a + b under no_grad", per_call_us(lambda: a + b, sync=sync)))

    def forward_backward():
        (a * b).sum().backward()
    rows.append(("minigrad (a * b).sum().backward() (3 ops)",
                 per_call_us(forward_backward, number=5000, sync=sync)))
    return rows


def cupy_rows(sync) -> list:
    """CuPy's host cost per call, on the DCGAN's small shapes (batch 64)."""
    cupy = mg.backend.cupy()
    from kernels import pointwise  # noqa: PLC0415

    rng = np.random.default_rng(0)
    act = cupy.asarray(rng.standard_normal((64, 128, 7, 7), dtype=np.float32))
    z = cupy.asarray(rng.standard_normal((64, 100), dtype=np.float32))
    w = cupy.asarray(rng.standard_normal((100, 1024), dtype=np.float32))
    logits = act[:, 0, 0, :1]
    n = 2000
    return [
        ("CuPy ufunc, two arrays: act + act", per_call_us(lambda: act + act, n, sync=sync)),
        ("CuPy ufunc, a Python scalar: act * 2.0",
         per_call_us(lambda: act * 2.0, n, sync=sync)),
        ("CuPy ElementwiseKernel: pointwise.sigmoid(logits)",
         per_call_us(lambda: pointwise.sigmoid(logits), n, sync=sync)),
        ("sigmoid as nine CuPy calls: sigmoid_reference",
         per_call_us(lambda: pointwise.sigmoid_reference(logits), n, sync=sync)),
        ("cupy.matmul (64, 100) @ (100, 1024)", per_call_us(lambda: z @ w, n, sync=sync)),
        ("CuPy reduction: act.sum((0, 2, 3))",
         per_call_us(lambda: act.sum((0, 2, 3)), n, sync=sync)),
        ("cupy.ascontiguousarray(act.transpose(1, 0, 2, 3))",
         per_call_us(lambda: cupy.ascontiguousarray(act.transpose(1, 0, 2, 3)), n,
                     sync=sync)),
        ("cupy.empty((64, 128, 7, 7))",
         per_call_us(lambda: cupy.empty(act.shape, act.dtype), n, sync=sync)),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", choices=["cpu", "gpu"], default="cpu")
    device = parser.parse_args().device
    sync = None
    if device == "gpu":
        sync = mg.backend.cupy().cuda.Device().synchronize
    rows = minigrad_rows(device, sync)
    if device == "gpu":
        rows += cupy_rows(sync)
    width = max(len(r[0]) for r in rows)
    for name, us in rows:
        print(f"{name:<{width}}  {us:7.2f} us")
    print("\ntarget (issue 8): a small elementwise op forward under 15 us on CPU")


if __name__ == "__main__":
    main()
