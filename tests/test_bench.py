"""The benchmark scripts run, and minigrad's BENCH_SPEC steps compute what PyTorch computes:
the first step's losses are the ones PyTorch 2.13 prints for the same weights and data
(bench/README.md). Smoke tests only: no timing is asserted (timings live in bench/)."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# loss_first (loss_D, loss_G) of PyTorch 2.13.0 on BENCH_SPEC's weights and data.
PYTORCH_FIRST_LOSSES = {"dcgan": (1.605638, 1.147130), "wgan_gp": (9.279310, -0.007598)}


def _run(*args) -> str:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


@pytest.mark.slow
def test_gan_step_first_losses_match_pytorch():
    out = _run("bench/gan_step.py", "--peers", "minigrad", "--steps", "2", "--warmup", "1")
    results = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert {r["bench"] for r in results} == {"dcgan", "wgan_gp"}
    for r in results:
        expected = PYTORCH_FIRST_LOSSES[r["bench"]]
        assert r["loss_first"] == pytest.approx(expected, abs=2e-6), r
        assert r["median_ms"] > 0 and r["steps"] == 2


@pytest.mark.slow
def test_phases_and_kernel_timers_run():
    out = _run("bench/phases.py", "--peers", "minigrad", "--steps", "1")
    rows = out.splitlines()[1:]
    assert len(rows) == 8 and rows[-1].startswith("step")
    assert all(float(row.split()[-1]) >= 0 for row in rows)
    out = _run("bench/profile_step.py", "--bench", "dcgan", "--kernel-timers")
    assert "conv2d_dw" in out and "batch_norm_forward" in out
