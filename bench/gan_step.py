"""The GAN-step benchmark of ../shared/BENCH_SPEC.md: minigrad and (when installed) PyTorch,
side by side in one run, same weights, same data, same steps.

    python bench/gan_step.py                       # both benches, CPU, 2 threads
    python bench/gan_step.py --bench dcgan --steps 30 --warmup 5
    python bench/gan_step.py --device gpu --batch-size 512
    python bench/gan_step.py --rounds 5            # alternate the peers 5 times: steadier ratios

Each (framework, bench) runs in its own fresh subprocess, one after the other (never two
at once: two multi-threaded processes on 2 cores distort both), and prints one JSON line:
median/min ms per step, the step's peak memory, and loss_first = the first warm-up step's
(loss_D, loss_G), which must agree between frameworks to ~1e-5: the proof that the networks
and the math are the same. A table with minigrad / PyTorch ratios ends the run.

Peak memory ("step MB"):
  * CPU: the growth of the process's peak RSS over the warm-up and timed steps above the
    resident memory before the first step (activations, gradients, optimizer state, caches).
  * GPU: the peak growth of live device memory over the warm-up steps (the first one, which
    creates the optimizer state, included): bytes handed out by CuPy's pool, counted by a
    memory hook, against torch.cuda.max_memory_allocated. `reserved_step_mb` in the JSON
    compares what the two caching allocators hold from the driver (CuPy's pool.total_bytes
    against torch.cuda.max_memory_reserved). The counters stop before the timed steps, so
    the hook's Python calls are never timed.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", choices=["cpu", "gpu"], default="cpu")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--bench", choices=["all", "dcgan", "wgan_gp"], default="all")
    p.add_argument("--peers", default="minigrad,torch", help="comma-separated")
    p.add_argument("--rounds", type=int, default=1,
                   help="run the peers one after the other this many times (fresh processes "
                        "each round) and report the ratio of each round and their median: "
                        "on a shared machine the speed drifts over seconds, and alternating "
                        "cancels some of it")
    p.add_argument("--worker", nargs=2, metavar=("PEER", "BENCH"), help=argparse.SUPPRESS)
    return p.parse_args(argv)


def _set_threads(n: int) -> None:
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                "NUMBA_NUM_THREADS", "NUM_CPU_THREADS"):
        os.environ[var] = str(n)


def _peak_rss_mb() -> float:
    import resource  # noqa: PLC0415

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _current_rss_mb() -> float:
    """Resident memory now (Linux /proc; falls back to the peak elsewhere)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError):
        return _peak_rss_mb()


def run_worker(peer: str, bench: str, args) -> dict:
    """Build the step for one peer, warm up, time, and report."""
    sys.path.insert(0, str(HERE))
    if peer == "minigrad":
        from peers_minigrad import build_step  # noqa: PLC0415
    else:
        from peers_torch import build_step  # noqa: PLC0415
    step, sync, memory, version = build_step(bench, args.batch_size, args.device,
                                             args.threads)
    loss_first = None
    rss_before = _current_rss_mb()       # models, optimizers and data built, nothing run
    memory("reset")
    for i in range(args.warmup):
        losses = step()
        if i == 0:
            loss_first = [float(v) for v in losses]
    sync()
    gpu_memory = memory("peak")          # the GPU counters stop here: none run while timed
    times = []
    for _ in range(args.steps):
        t0 = time.perf_counter()
        losses = step()
        sync()
        times.append((time.perf_counter() - t0) * 1000.0)
    times.sort()
    return {"peer": peer, "version": version, "bench": bench, "batch": args.batch_size,
            "device": args.device, "median_ms": round(times[len(times) // 2], 2),
            "min_ms": round(times[0], 2), "steps": args.steps, "threads": args.threads,
            "peak_step_mb": round(gpu_memory["live"] if gpu_memory else
                                  _peak_rss_mb() - rss_before, 1),
            "reserved_step_mb": round(gpu_memory["reserved"], 1) if gpu_memory else None,
            "peak_rss_mb": round(_peak_rss_mb(), 1),
            "loss_first": loss_first, "loss_last": [float(v) for v in losses]}


def worker_command(peer: str, bench: str, args) -> list:
    """The command that runs one peer's step in a fresh process (run_worker), with args'
    device, threads, batch size, steps and warm-up."""
    return [sys.executable, str(HERE / "gan_step.py"), "--worker", peer, bench,
            "--device", args.device, "--threads", str(args.threads),
            "--batch-size", str(args.batch_size), "--steps", str(args.steps),
            "--warmup", str(args.warmup)]


def main(argv=None) -> int:
    args = parse_args(argv)
    _set_threads(args.threads)
    if args.worker:
        print(json.dumps(run_worker(args.worker[0], args.worker[1], args)))
        return 0
    benches = ["dcgan", "wgan_gp"] if args.bench == "all" else [args.bench]
    peers = [p for p in args.peers.split(",") if p]
    if "torch" in peers and not _torch_installed():
        print("(torch not installed: skipping the PyTorch steps; pip install -e '.[bench]')")
        peers.remove("torch")
    rounds = []
    for _ in range(max(1, args.rounds)):
        results = []
        for bench in benches:
            for peer in peers:
                done = subprocess.run(worker_command(peer, bench, args), capture_output=True,
                                      text=True)
                if done.returncode != 0:
                    print(f"{peer} {bench} failed:\n{done.stderr[-3000:]}")
                    return 1
                line = done.stdout.strip().splitlines()[-1]
                print(line)
                results.append(json.loads(line))
        _print_table(results)
        rounds.append(results)
    if len(rounds) > 1:
        _print_rounds(rounds)
    return 0


def _torch_installed() -> bool:
    import importlib.util  # noqa: PLC0415

    return importlib.util.find_spec("torch") is not None


def _print_rounds(rounds) -> None:
    """The minigrad / PyTorch time ratio of every round, and their median."""
    for bench in ("dcgan", "wgan_gp"):
        ratios = []
        for results in rounds:
            by = {r["peer"]: r for r in results if r["bench"] == bench}
            if "minigrad" in by and "torch" in by:
                ratios.append(by["minigrad"]["median_ms"] / by["torch"]["median_ms"])
        if ratios:
            ratios.sort()
            print(f"{bench}: minigrad / PyTorch time over {len(ratios)} rounds: "
                  f"{', '.join(f'{r:.2f}' for r in ratios)}x; median "
                  f"{ratios[len(ratios) // 2]:.2f}x")


def _print_table(results) -> None:
    by = {(r["peer"], r["bench"]): r for r in results}
    print(f"\n{'bench':8} {'peer':9} {'median ms':>10} {'min ms':>8} {'step MB':>8}  "
          f"loss_first (D, G)")
    for r in results:
        print(f"{r['bench']:8} {r['peer']:9} {r['median_ms']:10.1f} {r['min_ms']:8.1f} "
              f"{r['peak_step_mb']:8.1f}  {r['loss_first'][0]:.6f}, {r['loss_first'][1]:.6f}")
    for bench in ("dcgan", "wgan_gp"):
        mine, theirs = by.get(("minigrad", bench)), by.get(("torch", bench))
        if mine and theirs:
            same = all(abs(a - b) < 1e-4 * max(1.0, abs(b))
                       for a, b in zip(mine["loss_first"], theirs["loss_first"]))
            memory_ratio = (mine["peak_step_mb"] / theirs["peak_step_mb"]
                            if theirs["peak_step_mb"] > 0 else float("nan"))
            reserved = ""
            if mine.get("reserved_step_mb") and theirs.get("reserved_step_mb"):
                reserved = (f" (allocators' hold "
                            f"{mine['reserved_step_mb'] / theirs['reserved_step_mb']:.2f}x)")
            print(f"{bench}: minigrad / PyTorch time {mine['median_ms'] / theirs['median_ms']:.2f}x"
                  f" (median), memory {memory_ratio:.2f}x{reserved}; first losses "
                  f"{'agree' if same else 'DIFFER'}")


if __name__ == "__main__":
    sys.exit(main())
