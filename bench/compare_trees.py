"""The same GAN step from two source trees, paired: is one commit faster than another?

    git archive HEAD~1 minigrad kernels | (mkdir -p /tmp/base && tar -x -C /tmp/base)
    python bench/compare_trees.py /tmp/base . --device gpu --batch-size 64 --rounds 6
    python bench/compare_trees.py /tmp/base . --turns 30     # interleaved: finer pairs

Each round runs gan_step.py's minigrad worker once per tree, in fresh processes, with
PYTHONPATH set to the tree (so `minigrad` and `kernels` come from it; the bench scripts
are this tree's), and alternates which tree goes first. It prints each run, then both
medians and the median of the per-round ratios second / first.

Why not two runs of gan_step.py: on the lent GPU machines the hosts differ (the same step
took 8.8 ms on one and 14.3 on another) and drift within a run, so ratios to PyTorch from
separate runs move by more than most changes. Pairing runs round by round cancels the
drift. `fused_ab.compare_in_step` does the same within one process, when both versions
can live in one tree; this script is for changes that cannot (the tape, the kernels'
Python). Run it alone: two timing jobs at once distort each other.

--turns N pairs more finely: one worker per tree stays up, and the two take N turns each,
one at a time (gan_step.py's take_turns: one untimed step and --turn-steps timed ones
per turn), and the summary is over the pairs of neighbouring turns.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gan_step  # noqa: E402 (bench/gan_step.py: its worker runs each step)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("first", help="a source tree holding minigrad/ and kernels/ (e.g. the old one)")
    p.add_argument("second", help="the other tree (e.g. '.')")
    p.add_argument("--bench", choices=["dcgan", "wgan_gp"], default="dcgan")
    p.add_argument("--device", choices=["cpu", "gpu"], default="cpu")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--rounds", type=int, default=6)
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--turns", type=int, default=0,
                   help="interleave persistent workers turn by turn instead of fresh rounds")
    p.add_argument("--turn-steps", type=int, default=3)
    return p.parse_args(argv)


def _tree_env(tree: str) -> dict:
    """The environment that puts `tree`'s minigrad and kernels first on the path."""
    for package in ("minigrad", "kernels"):
        if not (Path(tree) / package / "__init__.py").is_file():
            raise SystemExit(f"compare_trees: {tree} has no {package}/ package")
    return dict(os.environ, PYTHONPATH=str(Path(tree).resolve()))


def run_once(tree: str, args) -> dict:
    """One gan_step.py worker with `tree` first on the path; its JSON line."""
    env = _tree_env(tree)
    done = subprocess.run(gan_step.worker_command("minigrad", args.bench, args), env=env,
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"compare_trees: the worker failed in {tree}:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def summary(first_ms: list, second_ms: list, unit: str = "rounds") -> str:
    """Both medians and the median of the per-round (or per-turn) ratios second / first."""
    ratios = [b / a for a, b in zip(first_ms, second_ms)]
    return (f"first {statistics.median(first_ms):.2f} ms, second "
            f"{statistics.median(second_ms):.2f} ms (medians of {len(ratios)} {unit}); "
            f"second / first, paired: {statistics.median(ratios):.3f} "
            f"({unit} {min(ratios):.3f}-{max(ratios):.3f})")


def run_turns(trees: dict, args) -> dict:
    """--turns: a serving worker per tree, taking turns (gan_step.take_turns); the median
    ms of each turn, by tree name."""
    workers = {name: gan_step.Worker("minigrad", args.bench, args, _tree_env(tree))
               for name, tree in trees.items()}
    times = gan_step.take_turns(workers, args.turns, args.turn_steps)
    for name, worker in workers.items():
        report = worker.finish()
        print(f"{name:6s} {report['median_ms']:8.2f} ms over {report['steps']} steps  peak "
              f"{report['peak_step_mb']} MB  first losses {report['loss_first']}")
    return times


def main(argv=None) -> int:
    args = parse_args(argv)
    trees = {"first": args.first, "second": args.second}
    if args.turns > 0:
        times = run_turns(trees, args)
        print(f"{args.bench}, {args.device}, batch {args.batch_size}, turn by turn: "
              f"{summary(times['first'], times['second'], 'turns')}")
        return 0
    times = {name: [] for name in trees}
    for r in range(args.rounds):
        for name in (("first", "second") if r % 2 == 0 else ("second", "first")):
            result = run_once(trees[name], args)
            times[name].append(result["median_ms"])
            print(f"round {r}  {name:6s} {result['median_ms']:8.2f} ms  peak "
                  f"{result['peak_step_mb']} MB  first losses {result['loss_first']}",
                  flush=True)
    print(f"{args.bench}, {args.device}, batch {args.batch_size}: "
          f"{summary(times['first'], times['second'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
