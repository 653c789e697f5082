"""Adam's fused update (kernels/optim.py) against its array reference, bit for bit, on both
sides of the serial/parallel threshold, both lerp forms, with and without weight decay;
and the reference against the textbook formula in float64."""
import numpy as np
import pytest
from conftest import as_device, as_numpy

from kernels import optim


def _start(size, dtype, seed=0):
    rng = np.random.default_rng(seed)
    p = rng.standard_normal(size).astype(dtype)
    grads = [rng.standard_normal(size).astype(dtype) for _ in range(3)]
    return p, grads


@pytest.mark.parametrize("size", [5, 70_001])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("beta1, weight_decay", [(0.9, 0.0), (0.5, 0.0), (0.0, 0.01)])
def test_fused_adam_gives_the_references_bits(size, dtype, beta1, weight_decay, device):
    p0, grads = _start(size, dtype)
    hyper = dict(lr=2e-3, beta1=beta1, beta2=0.999, eps=1e-8, weight_decay=weight_decay)
    fused = [as_device(a.copy(), device) for a in (p0, np.zeros_like(p0), np.zeros_like(p0))]
    ref = [as_device(a.copy(), device) for a in (p0, np.zeros_like(p0), np.zeros_like(p0))]
    for step, g in enumerate(grads, start=1):
        g = as_device(g, device)
        optim.adam_update(*fused[:1], g, *fused[1:], step=step, **hyper)
        optim.adam_update_reference(*ref[:1], g, *ref[1:], step=step, **hyper)
    for a, b, name in zip(fused, ref, ("p", "exp_avg", "exp_avg_sq")):
        assert as_numpy(a).dtype == dtype
        np.testing.assert_array_equal(as_numpy(a), as_numpy(b), err_msg=name)
    assert not np.array_equal(as_numpy(fused[0]), p0)   # it did move


def test_reference_is_the_textbook_formula():
    """p - lr * m_hat / (sqrt(v_hat) + eps) with bias-corrected moments, in float64."""
    p0, grads = _start(6, np.float64, seed=3)
    lr, beta1, beta2, eps, wd = 1e-2, 0.5, 0.99, 1e-8, 0.1
    p, m, v = p0.copy(), np.zeros(6), np.zeros(6)
    p_book, m_book, v_book = p0.copy(), np.zeros(6), np.zeros(6)
    for t, g in enumerate(grads, start=1):
        optim.adam_update_reference(p, g, m, v, step=t, lr=lr, beta1=beta1, beta2=beta2,
                                    eps=eps, weight_decay=wd)
        g = g + wd * p_book
        m_book = beta1 * m_book + (1 - beta1) * g
        v_book = beta2 * v_book + (1 - beta2) * g * g
        m_hat, v_hat = m_book / (1 - beta1 ** t), v_book / (1 - beta2 ** t)
        p_book = p_book - lr * m_hat / (np.sqrt(v_hat) + eps)
    np.testing.assert_allclose(p, p_book, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(v, v_book, rtol=1e-12)


def test_adam_update_names_mismatched_arrays():
    p = np.zeros(4, np.float32)
    with pytest.raises(ValueError, match=r"adam_update: exp_avg is float64 \(4,\).*float32"):
        optim.adam_update(p, p.copy(), np.zeros(4), p.copy(), step=1, lr=1e-3, beta1=0.9,
                          beta2=0.999, eps=1e-8)
    with pytest.raises(ValueError, match=r"adam_update: grad is float32 \(3,\)"):
        optim.adam_update(p, np.zeros(3, np.float32), p.copy(), p.copy(), step=1, lr=1e-3,
                          beta1=0.9, beta2=0.999, eps=1e-8)


def test_hyperparameters_as_numpy_numbers_give_the_same_bits(device):
    # the per-step scalars are cached by their Python values: numpy scalars and 0-d arrays
    # (a checkpoint's or a schedule's) must reach the same numbers, and each step its own
    p0, grads = _start(7, np.float32, seed=5)
    as_floats = [as_device(a.copy(), device) for a in (p0, np.zeros_like(p0), np.zeros_like(p0))]
    as_numpy_ = [as_device(a.copy(), device) for a in (p0, np.zeros_like(p0), np.zeros_like(p0))]
    for step, g in enumerate(grads, start=1):
        g = as_device(g, device)
        optim.adam_update(*as_floats[:1], g, *as_floats[1:], step=step, lr=1e-3, beta1=0.9,
                          beta2=0.999, eps=1e-8)
        optim.adam_update(*as_numpy_[:1], g, *as_numpy_[1:], step=np.int64(step),
                          lr=np.array(1e-3), beta1=np.float64(0.9), beta2=np.array(0.999),
                          eps=np.float64(1e-8))
        np.testing.assert_array_equal(as_numpy(as_floats[0]), as_numpy(as_numpy_[0]))
    assert not np.array_equal(as_numpy(as_floats[0]), p0)


def _tensors(device, seed=7):
    """60 parameters of sizes 0 to 3000: 53 contiguous float32 ones (more than one launch's
    48), 6 float64 ones, a transposed float32 parameter (it goes alone) and a strided
    gradient."""
    rng = np.random.default_rng(seed)
    sizes = [0, 1, 3000] + [int(n) for n in rng.integers(1, 200, 57)]
    dtypes = [np.float64 if i % 10 == 1 else np.float32 for i in range(len(sizes))]
    ps = [rng.standard_normal(n).astype(t) for n, t in zip(sizes, dtypes)]
    ps[5] = rng.standard_normal((6, 4)).astype(dtypes[5])
    grads = [[rng.standard_normal(p.shape).astype(p.dtype) for p in ps] for _ in range(3)]
    grads = [[as_device(g, device) for g in step] for step in grads]
    wide = as_device(np.repeat(as_numpy(grads[0][7]).reshape(-1, 1), 2, axis=1), device)
    grads[0][7] = wide[:, 0]                                            # a strided view
    assert not grads[0][7].flags.c_contiguous
    params = [as_device(p.copy(), device) for p in ps]
    params[5] = as_device(np.ascontiguousarray(ps[5].T), device).T      # (6, 4), transposed
    assert not params[5].flags.c_contiguous
    return params, grads


@pytest.mark.parametrize("beta1, weight_decay", [(0.5, 0.0), (0.0, 0.01)])
def test_adam_update_many_gives_adam_updates_bits(beta1, weight_decay, device, monkeypatch):
    """The multi-tensor update (one GPU launch for up to 48 parameters) gives each
    parameter the same bits as adam_update on it alone, over three steps. On the GPU the
    53 contiguous float32 parameters take two launches, the float64 ones one."""
    hyper = dict(lr=2e-3, beta1=beta1, beta2=0.999, eps=1e-8, weight_decay=weight_decay)
    launches = []
    launch = optim._gpu_update_many
    monkeypatch.setattr(optim, "_gpu_update_many",
                        lambda ps, *rest: (launches.append(len(ps)), launch(ps, *rest)))
    many, grads = _tensors(device)
    one, _ = _tensors(device)
    moments = {id(p): (as_device(np.zeros(p.shape, p.dtype), device),
                       as_device(np.zeros(p.shape, p.dtype), device)) for p in many + one}
    for step, gs in enumerate(grads, start=1):
        optim.adam_update_many(many, gs, [moments[id(p)][0] for p in many],
                               [moments[id(p)][1] for p in many], step=step, **hyper)
        for p, g in zip(one, gs):
            optim.adam_update(p, g, *moments[id(p)], step=step, **hyper)
    assert launches == ([48, 5, 6] * 3 if device == "gpu" else [])
    for i, (a, b) in enumerate(zip(many, one)):
        np.testing.assert_array_equal(as_numpy(a), as_numpy(b), err_msg=f"parameter {i}")
        assert as_numpy(a).dtype == as_numpy(b).dtype
    start, _ = _tensors(device)
    assert all(not np.array_equal(as_numpy(a), as_numpy(s))
               for a, s in zip(many, start) if a.size)      # every parameter moved


def test_adam_update_many_checks_every_parameter_before_updating_any(device):
    p = as_device(np.zeros(4, np.float32), device)
    hyper = dict(step=1, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8)
    with pytest.raises(ValueError, match="adam_update_many: got 1 params, 2 grads, 1 "
                                         "exp_avgs and 1"):
        optim.adam_update_many([p], [p, p], [p], [p], **hyper)
    first = as_device(np.ones(4, np.float32), device)
    bad = as_device(np.zeros(3, np.float32), device)
    with pytest.raises(ValueError, match=r"adam_update_many: exp_avg is float32 \(3,\)"):
        optim.adam_update_many([first, p], [first.copy(), p.copy()], [first.copy(), bad],
                               [first.copy(), p.copy()], **hyper)
    np.testing.assert_array_equal(as_numpy(first), np.ones(4))     # not updated either


def test_adam_update_many_leaves_other_float_types_to_adam_update(device, monkeypatch):
    """Only float32 and float64 parameters share a launch (the kernel has those two
    builds); a float16 one is updated alone (adam_update's path), on either device."""
    alone, batched = [], []
    monkeypatch.setattr(optim, "_update_one", lambda p, *args, **kw: alone.append(p.dtype))
    monkeypatch.setattr(optim, "_gpu_update_many",
                        lambda ps, *args: batched.extend(p.dtype for p in ps))
    arrays = [as_device(np.zeros(3, dtype), device)
              for dtype in (np.float16, np.float32, np.float64)]
    optim.adam_update_many(arrays, [a.copy() for a in arrays], [a.copy() for a in arrays],
                           [a.copy() for a in arrays], step=1, lr=1e-3, beta1=0.9,
                           beta2=0.999, eps=1e-8)
    if device == "gpu":
        assert alone == [np.float16] and batched == [np.float32, np.float64]
    else:
        assert alone == [np.float16, np.float32, np.float64] and batched == []
