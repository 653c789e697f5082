"""The GAN-step benchmark (bench/README.md, "The benchmark"): minigrad and (when installed)
PyTorch, side by side in one run, same weights, same data, same steps.

    python bench/gan_step.py                       # both benches, CPU, 2 threads
    python bench/gan_step.py --bench dcgan --steps 30 --warmup 5
    python bench/gan_step.py --device gpu --batch-size 512
    python bench/gan_step.py --rounds 5            # alternate the peers 5 times: steadier ratios
    python bench/gan_step.py --turns 30            # interleave them: the ratio to quote

Each (framework, bench) runs in its own fresh subprocess, one after the other (never two
at once: two multi-threaded processes on 2 cores distort both), and prints one JSON line:
median/min ms per step, the step's peak memory, and loss_first = the first warm-up step's
(loss_D, loss_G), which must agree between frameworks to ~1e-5: the proof that the networks
and the math are the same. A table with minigrad / PyTorch ratios ends the run.

--turns N interleaves instead (run_interleaved): both peers' processes stay up, and they
take N turns each, one process at a time, each turn one untimed step and --turn-steps timed
ones. On a shared machine whose speed changes for seconds at a time, back-to-back runs of
30 steps catch different spells (DCGAN rounds from 1.00x to 1.37x in one run of --rounds
5); neighbouring turns share theirs, and the median of the per-turn ratios held within
1.21-1.25x over three runs (bench/README.md, "Eleventh round").

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
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from thread_env import set_threads

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
    p.add_argument("--turns", type=int, default=0,
                   help="interleave the peers instead: both workers stay up, and take this "
                        "many turns each, one at a time; a turn is one untimed step and "
                        "--turn-steps timed ones. The ratio of each pair of turns and their "
                        "median follow the table: the steadiest ratio on a noisy machine")
    p.add_argument("--turn-steps", type=int, default=3)
    p.add_argument("--worker", nargs=2, metavar=("PEER", "BENCH"), help=argparse.SUPPRESS)
    p.add_argument("--serve", nargs=2, metavar=("PEER", "BENCH"), help=argparse.SUPPRESS)
    return p.parse_args(argv)


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


def _prepared_step(peer: str, bench: str, args):
    """Build one peer's step and run its warm-up steps: (step, sync, version, the numbers
    for the report that the warm-up measures)."""
    sys.path.insert(0, str(HERE))
    if peer == "minigrad":
        from peers_minigrad import build_step  # noqa: PLC0415
    elif peer == "torch":
        from peers_torch import build_step  # noqa: PLC0415
    else:
        raise SystemExit(f"gan_step: unknown peer {peer!r} (minigrad or torch)")
    step, sync, memory, version = build_step(bench, args.batch_size, args.device,
                                             args.threads)
    warm = {"loss_first": None, "rss_before": _current_rss_mb()}   # built, nothing run
    memory("reset")
    for i in range(args.warmup):
        losses = step()
        if i == 0:
            warm["loss_first"] = [float(v) for v in losses]
    sync()
    warm["gpu_memory"] = memory("peak")  # the GPU counters stop here: none run while timed
    return step, sync, version, warm


def _timed(step, sync, steps: int) -> tuple:
    """(ms of each of `steps` steps, the last step's losses)."""
    times, losses = [], None
    for _ in range(steps):
        t0 = time.perf_counter()
        losses = step()
        sync()
        times.append((time.perf_counter() - t0) * 1000.0)
    return times, losses


def _report(peer: str, bench: str, args, version: str, warm: dict, times: list,
            losses) -> dict:
    """The worker's JSON line."""
    times = sorted(times)
    gpu_memory = warm["gpu_memory"]
    return {"peer": peer, "version": version, "bench": bench, "batch": args.batch_size,
            "device": args.device, "median_ms": round(times[len(times) // 2], 2),
            "min_ms": round(times[0], 2), "steps": len(times), "threads": args.threads,
            "peak_step_mb": round(gpu_memory["live"] if gpu_memory else
                                  _peak_rss_mb() - warm["rss_before"], 1),
            "reserved_step_mb": round(gpu_memory["reserved"], 1) if gpu_memory else None,
            "peak_rss_mb": round(_peak_rss_mb(), 1),
            "loss_first": warm["loss_first"], "loss_last": [float(v) for v in losses]}


def run_worker(peer: str, bench: str, args) -> dict:
    """Build the step for one peer, warm up, time, and report."""
    step, sync, version, warm = _prepared_step(peer, bench, args)
    times, losses = _timed(step, sync, args.steps)
    return _report(peer, bench, args, version, warm, times, losses)


def serve_worker(peer: str, bench: str, args) -> None:
    """--turns: build and warm up as run_worker does, say "ready", then take orders from
    stdin, one per line: "run K" runs one untimed step and K timed ones and answers with the
    K times (a JSON list); "done" answers with the report over every timed step, and ends.
    The untimed step finds the caches full of the other peer's data; it is not counted."""
    step, sync, version, warm = _prepared_step(peer, bench, args)
    all_times, losses = [], None
    print(json.dumps("ready"), flush=True)
    for order in sys.stdin:
        if order.strip() == "done":
            break
        _timed(step, sync, 1)
        times, losses = _timed(step, sync, int(order.split()[1]))
        all_times += times
        print(json.dumps(times), flush=True)
    print(json.dumps(_report(peer, bench, args, version, warm, all_times, losses)), flush=True)


def worker_command(peer: str, bench: str, args, mode: str = "--worker") -> list:
    """The command that runs one peer's step in a fresh process (run_worker, or with
    mode "--serve" serve_worker), with args' device, threads, batch size, steps and
    warm-up."""
    return [sys.executable, str(HERE / "gan_step.py"), mode, peer, bench,
            "--device", args.device, "--threads", str(args.threads),
            "--batch-size", str(args.batch_size), "--steps", str(args.steps),
            "--warmup", str(args.warmup)]


def main(argv=None) -> int:
    args = parse_args(argv)
    set_threads(args.threads)
    if args.worker:
        print(json.dumps(run_worker(args.worker[0], args.worker[1], args)))
        return 0
    if args.serve:
        serve_worker(args.serve[0], args.serve[1], args)
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
            if args.turns > 0:
                for result in run_interleaved(bench, peers, args):
                    print(json.dumps(result))
                    results.append(result)
                continue
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
        _print_turns(results)
        rounds.append(results)
    if len(rounds) > 1:
        _print_rounds(rounds)
    return 0


class Worker:
    """One peer's serve_worker process, waiting for orders on its stdin."""

    def __init__(self, peer: str, bench: str, args, env=None):
        self.peer, self.bench = peer, bench
        self.stderr = tempfile.TemporaryFile(mode="w+")   # read only if it fails
        self.process = subprocess.Popen(worker_command(peer, bench, args, "--serve"),
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=self.stderr, text=True, env=env)
        if self.answer() != "ready":
            raise SystemExit(f"gan_step: the {peer} {bench} worker did not say ready")

    def ask(self, order: str):
        self.process.stdin.write(order + "\n")
        self.process.stdin.flush()
        return self.answer()

    def answer(self):
        line = self.process.stdout.readline()
        if not line:
            self.process.wait()
            self.stderr.seek(0)
            raise SystemExit(f"gan_step: the {self.peer} {self.bench} worker failed "
                             f"(exit {self.process.returncode}):\n{self.stderr.read()[-3000:]}")
        return json.loads(line)

    def finish(self) -> dict:
        report = self.ask("done")
        self.process.stdin.close()
        self.process.wait()
        return report


def take_turns(workers: dict, turns: int, turn_steps: int) -> dict:
    """The workers (name -> Worker) take `turns` turns each, one at a time, the order
    alternating: the median ms of each turn, by name."""
    names = list(workers)
    turn_ms = {name: [] for name in names}
    for turn in range(turns):
        for name in (names if turn % 2 == 0 else names[::-1]):
            turn_ms[name].append(statistics.median(workers[name].ask(f"run {turn_steps}")))
    return turn_ms


def run_interleaved(bench: str, peers: list, args) -> list:
    """--turns: one process per peer, both up at once but never running at once. Each is
    started and warmed up alone; then they take turns (take_turns), each turn one untimed
    and --turn-steps timed steps, while the other waits on a pipe. A slow spell of the
    machine (here 1-3 s at a time, +25% CPU time for the same work) then hits a pair of
    neighbouring turns alike. Returns the reports, each with `turn_ms`: the median ms of
    each of its turns."""
    workers = {peer: Worker(peer, bench, args) for peer in peers}
    turn_ms = take_turns(workers, args.turns, args.turn_steps)
    reports = [worker.finish() for worker in workers.values()]
    for report in reports:
        report["turn_ms"] = [round(ms, 2) for ms in turn_ms[report["peer"]]]
    return reports


def turn_ratios(mine: list, theirs: list) -> str:
    """minigrad / PyTorch, turn by turn: the median and the quartiles of the ratios."""
    ratios = [a / b for a, b in zip(mine, theirs)]
    q1, _, q3 = (statistics.quantiles(ratios, n=4, method="inclusive") if len(ratios) > 1
                 else ratios * 3)
    return (f"median {statistics.median(ratios):.2f}x, quartiles {q1:.2f}-{q3:.2f}x over "
            f"{len(ratios)} pairs of turns")


def _print_turns(results) -> None:
    by = {(r["peer"], r["bench"]): r for r in results}
    for bench in ("dcgan", "wgan_gp"):
        mine, theirs = by.get(("minigrad", bench)), by.get(("torch", bench))
        if mine and theirs and "turn_ms" in mine and "turn_ms" in theirs:
            print(f"{bench}: minigrad / PyTorch turn by turn: "
                  f"{turn_ratios(mine['turn_ms'], theirs['turn_ms'])}")


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
