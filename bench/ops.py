"""Per-op dispatch overhead: how long minigrad takes for an op whose arithmetic is nothing
(a 4-element add), forward alone and forward + backward, against numpy's own time for
the same arithmetic. The difference is the price of the tape: Function objects, Tensor
wrappers, the engine's bookkeeping. (The conv table is bench/conv.py.)

    python bench/ops.py
"""
from __future__ import annotations

import timeit

import numpy as np

import minigrad as mg


def per_call_us(fn, number: int = 20000, repeat: int = 5) -> float:
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number * 1e6


def main() -> None:
    a = mg.randn(4, requires_grad=True)
    b = mg.randn(4, requires_grad=True)
    rows = [("numpy a + b (the arithmetic alone)", per_call_us(lambda: a.data + b.data))]
    rows.append(("minigrad a + b, recording the tape", per_call_us(lambda: a + b)))
    rows.append(("minigrad a * 2.0 (scalar op), recording", per_call_us(lambda: a * 2.0)))
    with mg.no_grad():
        rows.append(("minigrad a + b under no_grad", per_call_us(lambda: a + b)))

    def forward_backward():
        (a * b).sum().backward()
    rows.append(("minigrad (a * b).sum().backward() (3 ops)",
                 per_call_us(forward_backward, number=5000)))
    width = max(len(r[0]) for r in rows)
    for name, us in rows:
        print(f"{name:<{width}}  {us:7.2f} us")
    print(f"\ntarget (issue 8): a small elementwise op forward under 15 us on CPU")


if __name__ == "__main__":
    main()
