"""The benchmark scripts run, and minigrad's BENCH_SPEC steps compute what PyTorch computes:
the first step's losses are the ones PyTorch 2.13 prints for the same weights and data
(bench/README.md), in float32 from end to end. No timing is asserted (timings live in
bench/)."""
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
def test_gan_step_turns_interleave_persistent_workers():
    """--turns: the worker stays up and runs the turns it is asked for; its report counts
    only the timed steps (turns x turn steps) and lists each turn's median."""
    out = _run("bench/gan_step.py", "--peers", "minigrad", "--bench", "dcgan",
               "--batch-size", "2", "--turns", "3", "--turn-steps", "2", "--warmup", "1")
    (report,) = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert report["steps"] == 6 and len(report["turn_ms"]) == 3
    assert min(report["turn_ms"]) >= report["min_ms"] > 0
    assert report["loss_first"] != report["loss_last"]     # the steps trained on


def test_gan_step_turn_ratios_and_a_failing_worker():
    sys.path.insert(0, str(ROOT / "bench"))
    import gan_step
    # ratios 2, 2, 0.9, 1: median 1.5, inclusive quartiles 0.975 and 2
    assert gan_step.turn_ratios([10, 12, 9, 8], [5, 6, 10, 8]) == (
        "median 1.50x, quartiles 0.97-2.00x over 4 pairs of turns")
    assert gan_step.turn_ratios([10], [4]).startswith("median 2.50x, quartiles 2.50-2.50x")
    args = gan_step.parse_args(["--warmup", "1"])
    with pytest.raises(SystemExit, match="nobody dcgan worker failed(.|\n)*unknown peer"):
        gan_step.Worker("nobody", "dcgan", args)


@pytest.mark.slow
def test_phases_and_kernel_timers_run():
    out = _run("bench/phases.py", "--peers", "minigrad", "--steps", "1")
    rows = out.splitlines()[1:]
    assert len(rows) == 8 and rows[-1].startswith("step")
    assert all(float(row.split()[-1]) >= 0 for row in rows)
    out = _run("bench/profile_step.py", "--bench", "dcgan", "--kernel-timers")
    assert "conv2d_dw" in out and "batch_norm_forward" in out
    out = _run("bench/profile_step.py", "--bench", "dcgan", "--op-timers", "--top", "40")
    assert "93.0 calls" in out and "the tape: Function.__call__" in out   # 93 ops a step
    assert "Conv2dDW.forward" in out and "the engine: run_backward" in out


def test_adam_bench_runs_the_three_updates(device):
    out = _run("bench/adam.py", "--repeat", "2", "--device", device)
    assert f"{device}: 18 parameters, 917,122 numbers" in out
    row = out.splitlines()[-1].split()
    assert row[0::5] == ["many", "one", "array"] and row[4::5] == ["many)"] * 3
    assert all(float(ms) > 0 for ms in row[1::5])


def test_ops_bench_runs(device):
    out = _run("bench/ops.py", "--device", device)
    rows = {line.rsplit(None, 2)[0]: float(line.split()[-2])
            for line in out.splitlines() if line.endswith(" us")}
    assert rows["minigrad a + b, recording the tape"] > 0
    assert ("CuPy reduction: act.sum((0, 2, 3))" in rows) == (device == "gpu")


def test_sigmoid_bce_bench_runs_both_versions():
    out = _run("bench/sigmoid_bce.py", "--repeat", "2")
    rows = [line.split() for line in out.splitlines() if "array formula" in line]
    assert [row[0] for row in rows] == ["sigmoid", "bce_with_logits"]
    assert all(row[-1].endswith("x") and float(row[2]) > 0 for row in rows)
    out = _run("bench/sigmoid_bce.py", "--step", "--rounds", "1")
    assert "formula / fused:" in out


def test_conv_blocks_bench_runs_both_ways():
    out = _run("bench/conv_blocks.py", "--repeat", "2")
    assert "blocks of 4 MB of columns" in out
    rows = [line for line in out.splitlines() if line.startswith("batch")]
    assert len(rows) == 3 and all(line.rstrip().endswith("x") for line in rows)


def test_padding_taps_bench_counts_the_padding_and_times_both_layers():
    out = _run("bench/padding_taps.py", "--repeat", "2", "--no-torch")
    assert "13.8% of the padded layer's taps read the padding" in out, out
    (row,) = [line for line in out.splitlines() if line.startswith("minigrad")]
    assert "padded / border: fwd" in row and float(row.split()[-1]) > 0


def test_padding_taps_reads_onednn_primitive_times_from_its_log(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "bench"))
    import padding_taps

    def line(impl, prop_kind, pad, ms):
        side = 14 if pad else 16
        return (f"onednn_verbose,v1,primitive,exec,cpu,convolution,{impl},{prop_kind},"
                f"src:f32::blocked:aBcd16b::f0 wei:f32::blocked:ABcd16b16a::f0,,,mb64_ic64oc128"
                f"_ih{side}oh7kh4sh2dh0ph{pad}_iw{side}ow7kw4sw2dw0pw{pad},{ms}")
    log = "\n".join([
        '{"version": "x", "times": {}}',
        "onednn_verbose,v1,primitive,info,template:operation,engine,primitive,implementation",
        line("jit:avx512_core", "forward_training", 1, 3.0),
        line("jit:avx512_core", "forward_training", 1, 5.0),
        line("jit:avx512_core", "forward_training", 1, 3.5),
        line("jit:avx512_core", "forward_training", 0, 4.0),
        line("brgconv_strided:avx512_core", "backward_data", 0, 6.0),
        "onednn_verbose,v1,primitive,exec,cpu,reorder,jit:blk,undef,src dst,,,64x64x14x14,1.3",
    ])
    assert padding_taps.onednn_primitive_times(log) == {
        ("padded", "forward_training"): 3.5, ("border", "forward_training"): 4.0,
        ("border", "backward_data"): 6.0}


def test_gpu_live_bytes_counter_follows_the_pool_hooks(monkeypatch):
    """The GPU memory figure counts what CuPy's pool hands out, like PyTorch's
    max_memory_allocated: growth from the start of counting, peak kept, frees of older blocks
    subtracted. (Checked here with the hook's calls made by hand; on a GPU machine CuPy makes
    them: bench/gpu_session.sh step.)"""
    monkeypatch.syspath_prepend(str(ROOT / "bench"))
    import types

    import peers_minigrad

    class FakeMemoryHook:                       # cupy.cuda.MemoryHook's context protocol
        installed = []

        def __enter__(self):
            FakeMemoryHook.installed.append(self)
            return self

        def __exit__(self, *exc):
            FakeMemoryHook.installed.remove(self)

    fake_cupy = types.SimpleNamespace(cuda=types.SimpleNamespace(MemoryHook=FakeMemoryHook))
    counter = peers_minigrad.LiveBytes()
    with peers_minigrad._cupy_hook(fake_cupy, counter) as hook:
        assert FakeMemoryHook.installed == [hook]
        for size in (512, 1024):
            hook.malloc_postprocess(device_id=0, size=size, mem_size=size, mem_ptr=size,
                                    pmem_id=size)
        hook.free_postprocess(device_id=0, mem_size=512, mem_ptr=512, pmem_id=512)
        hook.free_postprocess(device_id=0, mem_size=4096, mem_ptr=1, pmem_id=1)  # older block
        hook.malloc_postprocess(device_id=0, size=100, mem_size=512, mem_ptr=7, pmem_id=7)
    assert FakeMemoryHook.installed == []
    assert counter.peak == 1536
    assert counter.live == 1536 - 512 - 4096 + 512


@pytest.mark.slow
def test_conv_table_runs_and_compares_with_pytorch_when_installed():
    out = _run("bench/conv.py", "--repeat", "1", "--warmup", "1")
    rows = [line for line in out.splitlines() if line.startswith(("D conv", "G convT"))]
    import importlib.util
    with_torch = importlib.util.find_spec("torch") is not None
    assert len(rows) == (8 if with_torch else 4), out
    assert ("PyTorch" in out) == with_torch
    for row in rows:
        assert float(row.split()[-1].rstrip("x%")) > 0


@pytest.mark.slow
def test_compare_trees_pairs_two_trees(tmp_path):
    """bench/compare_trees.py runs the step from each tree in turn (here the same tree
    twice, so the first losses agree), and refuses a folder that is not a source tree."""
    out = _run("bench/compare_trees.py", ".", str(ROOT), "--batch-size", "2", "--rounds", "2",
               "--steps", "1", "--warmup", "1")
    runs = [line for line in out.splitlines() if line.startswith("round")]
    assert [line.split()[2] for line in runs] == ["first", "second", "second", "first"]
    assert len({line.split("first losses")[1] for line in runs}) == 1
    assert "second / first, paired:" in out.splitlines()[-1]
    sys.path.insert(0, str(ROOT / "bench"))
    import compare_trees
    assert compare_trees.summary([10.0, 12.0], [5.0, 9.0]).endswith(
        "second / first, paired: 0.625 (rounds 0.500-0.750)")
    with pytest.raises(SystemExit, match="has no minigrad/ package"):
        compare_trees.run_once(str(tmp_path), compare_trees.parse_args([".", "."]))
    # --turns: one serving worker per tree, taking turns
    out = _run("bench/compare_trees.py", ".", str(ROOT), "--batch-size", "2", "--turns", "3",
               "--turn-steps", "1", "--warmup", "1")
    lines = out.splitlines()
    assert [line.split()[0] for line in lines[:2]] == ["first", "second"]
    assert all("over 3 steps" in line for line in lines[:2])
    assert len({line.split("first losses")[1] for line in lines[:2]}) == 1
    assert "(medians of 3 turns); second / first, paired:" in lines[-1]


@pytest.mark.parametrize("bench", ["dcgan", "wgan_gp"])
def test_bench_steps_stay_float32_end_to_end(bench, device, monkeypatch):
    """Issue 8's first lever, float32 end to end, over a whole BENCH_SPEC step: every array
    an op makes (forward, backward, WGAN-GP's double backward), every gradient and Adam's
    moments are float32. Under numpy 2 one 0-d float64 array in an op's formula promotes
    the float32 arrays it meets to float64; the losses would still print the same digits,
    while the step moves twice the bytes. This is the test that notices."""
    sys.path.insert(0, str(ROOT / "bench"))
    import peers_minigrad
    from minigrad.autograd import Function
    from minigrad.optim import Adam

    made = {}                                  # op name -> the dtypes of its outputs

    def recorded_call(self, *inputs):
        outputs = function_call(self, *inputs)
        for t in outputs if isinstance(outputs, tuple) else (outputs,):
            made.setdefault(self.name, set()).add(str(t.dtype))
        return outputs

    updated = {}                               # what Adam's step saw and left

    def recorded_step(self, *args, **kwargs):
        result = adam_step(self, *args, **kwargs)
        for group in self.param_groups:
            for p in group["params"]:
                updated.setdefault("parameters", set()).add(str(p.dtype))
                updated.setdefault("gradients", set()).add(str(p.grad.dtype))
                for name in ("exp_avg", "exp_avg_sq"):
                    updated.setdefault(name, set()).add(str(self.state[p][name].dtype))
        return result

    function_call, adam_step = Function.__call__, Adam.step
    monkeypatch.setattr(Function, "__call__", recorded_call)
    monkeypatch.setattr(Adam, "step", recorded_step)
    step, sync, _, _ = peers_minigrad.build_step(bench, 2, device, 1)
    losses = [step(), step()]
    sync()

    assert all(abs(value) < 1e3 for pair in losses for value in pair), losses
    expected_ops = {"Conv2d", "Conv2dDx", "Conv2dDW", "Linear", "LeakyReLU", "BatchNorm"}
    expected_ops |= {"dcgan": {"BCEWithLogits"}, "wgan_gp": {"Sqrt", "PowScalar"}}[bench]
    assert expected_ops <= set(made), sorted(made)     # the hook saw the step's ops
    promoted = {name: dtypes for name, dtypes in made.items() if dtypes != {"float32"}}
    assert not promoted, f"ops whose outputs are not float32 in a {bench} step: {promoted}"
    assert updated == dict.fromkeys(["parameters", "gradients", "exp_avg", "exp_avg_sq"],
                                    {"float32"}), updated


@pytest.mark.parametrize("bench", ["dcgan", "wgan_gp"])
def test_bench_steps_copy_no_gradient_into_grad(bench, device, monkeypatch):
    """Every parameter of a BENCH_SPEC step gets its .grad without a copy: as a sum the
    engine made, added onto the .grad already there, or taken over from the op that
    computed it (returns_new_grads). Before the fifteenth round ten gradients a step were
    copied, 3.1 MB (bench/README.md); a layer whose op lost returns_new_grads would copy
    again, and this test names its parameters' shapes."""
    sys.path.insert(0, str(ROOT / "bench"))
    import peers_minigrad
    from minigrad import autograd

    copied, stored = [], []
    store_grad = autograd._store_grad

    def recorded_store(tensor, g, create_graph, owned=False):
        stored.append(tuple(tensor.shape))
        if tensor._grad is None and not owned:
            copied.append(tuple(tensor.shape))
        return store_grad(tensor, g, create_graph, owned)

    monkeypatch.setattr(autograd, "_store_grad", recorded_store)
    step, sync, _, _ = peers_minigrad.build_step(bench, 2, device, 1)
    step()
    sync()
    stored.clear()
    step()                                    # the second step: .grad as it is every step
    sync()
    assert len(stored) >= 16, stored          # G's 10 parameters and D's (C's) 8 (6)
    assert copied == [], (f"{bench}: gradients copied into .grad in two steps, for the "
                          f"parameters of shapes {copied}")
