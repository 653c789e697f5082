"""The DCGAN step of BENCH_SPEC.md cut into its seven phases, timed one framework at a time:
where is minigrad slower than PyTorch?

    python bench/phases.py                  # minigrad, then PyTorch (if installed)
    python bench/phases.py --peers minigrad

Each peer runs in its own subprocess (never two at once); ms per phase are means over
--steps steps after 5 warm-up steps. Same networks, weights and data as gan_step.py.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import time
from pathlib import Path

from thread_env import set_threads

HERE = Path(__file__).resolve().parent
PHASES = ["G forward", "D(real), D(fake.detach()) forward", "loss_D.backward()",
          "Adam D", "D(fake) forward", "loss_G.backward()", "Adam G"]


def run_worker(peer: str, steps: int) -> list:
    sys.path.insert(0, str(HERE))
    if peer == "minigrad":
        import minigrad as mg  # noqa: PLC0415 (before numpy: see minigrad/__init__.py)
        import minigrad.nn.functional as F  # noqa: PLC0415
        import peers_minigrad as peer_module  # noqa: PLC0415
        as_tensor, adam = mg.tensor, mg.optim.Adam
    else:
        import peers_torch as peer_module  # noqa: PLC0415
        import torch  # noqa: PLC0415
        import torch.nn.functional as F  # noqa: PLC0415
        torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
        torch.set_num_interop_threads(1)
        as_tensor, adam = torch.from_numpy, torch.optim.Adam
    import numpy as np  # noqa: PLC0415
    from common import make_data, make_params  # noqa: PLC0415

    params, data = make_params(), make_data(64)
    G = peer_module._generator(64) if peer == "minigrad" else peer_module._generator()
    peer_module._load(G, params, ["g_fc", "g_bn0", "g_dc1", "g_bn1", "g_dc2"])
    D = peer_module._discriminator(True)
    peer_module._load(D, params, ["d_c1", "d_c2", "d_bn2", "d_fc"])
    real, z = as_tensor(data["real"]), as_tensor(data["z"])
    ones, zeros = as_tensor(np.ones((64, 1), np.float32)), as_tensor(np.zeros((64, 1), np.float32))
    opt_d = adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999), eps=1e-8)
    opt_g = adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999), eps=1e-8)
    bce = F.binary_cross_entropy_with_logits
    total = [0.0] * len(PHASES)

    @contextlib.contextmanager
    def phase(i: int):
        t0 = time.perf_counter()
        yield
        total[i] += time.perf_counter() - t0

    def step() -> None:
        with phase(0):
            fake = G(z)
        with phase(1):
            loss_d = bce(D(real), ones) + bce(D(fake.detach()), zeros)
        with phase(2):
            opt_d.zero_grad()
            loss_d.backward()
        with phase(3):
            opt_d.step()
        with phase(4):
            loss_g = bce(D(fake), ones)
        with phase(5):
            opt_g.zero_grad()
            loss_g.backward()
        with phase(6):
            opt_g.step()

    for _ in range(5):
        step()
    total[:] = [0.0] * len(PHASES)                # warm-up done: count from here
    for _ in range(steps):
        step()
    return [1000 * t / steps for t in total]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--peers", default="minigrad,torch")
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--worker", help=argparse.SUPPRESS)
    args = p.parse_args()
    set_threads(args.threads)
    if args.worker:
        print(" ".join(f"{ms:.3f}" for ms in run_worker(args.worker, args.steps)))
        return 0
    columns = {}
    for peer in [name for name in args.peers.split(",") if name]:
        if peer == "torch":
            import importlib.util  # noqa: PLC0415

            if importlib.util.find_spec("torch") is None:
                print("(torch not installed: minigrad only)")
                continue
        done = subprocess.run([sys.executable, __file__, "--worker", peer, "--steps",
                               str(args.steps), "--threads", str(args.threads)],
                              capture_output=True, text=True)
        if done.returncode != 0:
            print(f"{peer} failed:\n{done.stderr[-3000:]}")
            return 1
        columns[peer] = [float(v) for v in done.stdout.split()]
    peers = list(columns)
    print(f"{'phase (ms, mean of ' + str(args.steps) + ' steps)':36}"
          + "".join(f"{peer:>10}" for peer in peers))
    for i, phase in enumerate(PHASES + ["step"]):
        values = [sum(columns[peer]) if phase == "step" else columns[peer][i]
                  for peer in peers]
        print(f"{phase:36}" + "".join(f"{v:10.1f}" for v in values))
    return 0


if __name__ == "__main__":
    sys.exit(main())
