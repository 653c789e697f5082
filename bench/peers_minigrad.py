"""The two BENCH_SPEC steps in minigrad."""
from __future__ import annotations

import minigrad as mg  # before numpy, so that OpenBLAS's idle threads sleep (minigrad/__init__.py)
import minigrad.nn as nn
import minigrad.nn.functional as F
from common import make_data, make_params


def _generator(batch: int):
    return nn.Sequential(nn.Linear(100, 6272), nn.BatchNorm1d(6272), nn.ReLU(),
                         nn.Unflatten(1, (128, 7, 7)),
                         nn.ConvTranspose2d(128, 64, 4, 2, 1), nn.BatchNorm2d(64), nn.ReLU(),
                         nn.ConvTranspose2d(64, 1, 4, 2, 1), nn.Tanh())


def _discriminator(with_bn: bool):
    layers = [nn.Conv2d(1, 64, 4, 2, 1), nn.LeakyReLU(0.2), nn.Conv2d(64, 128, 4, 2, 1)]
    layers += [nn.BatchNorm2d(128)] if with_bn else []
    layers += [nn.LeakyReLU(0.2), nn.Flatten(), nn.Linear(6272, 1)]
    return nn.Sequential(*layers)


def _load(module, params, names) -> None:
    """Copy the shared numpy weights into the layers that have weights, in order."""
    layers = [m for m in module.modules() if hasattr(m, "weight") and m.weight is not None]
    assert len(layers) == len(names), (len(layers), names)
    with mg.no_grad():                   # parameters change in place only under no_grad
        for layer, name in zip(layers, names):
            layer.weight.copy_(params[name]["weight"])
            layer.bias.copy_(params[name]["bias"])


class LiveBytes:
    """The bytes CuPy's memory pool has handed out and not yet taken back, counted from its
    malloc/free hooks, and their peak: the growth since counting began (blocks freed that
    were allocated before it make `live` go below 0, as they should)."""

    def __init__(self):
        self.live = 0
        self.peak = 0

    def malloc_postprocess(self, **event):     # event: device_id, size, mem_size, mem_ptr, pmem_id
        self.live += event["mem_size"]
        self.peak = max(self.peak, self.live)

    def free_postprocess(self, **event):       # event: device_id, mem_size, mem_ptr, pmem_id
        self.live -= event["mem_size"]


def _cupy_hook(cupy, counter: LiveBytes):
    """A CuPy MemoryHook that feeds `counter` (a context manager: installed on entering)."""
    class Hook(cupy.cuda.MemoryHook):
        name = "bench_live_bytes"

        def malloc_postprocess(self, **event):
            counter.malloc_postprocess(**event)

        def free_postprocess(self, **event):
            counter.free_postprocess(**event)
    return Hook()


def build_step(bench: str, batch: int, device: str, threads: int):
    params, data = make_params(), make_data(batch)
    G = _generator(batch)
    _load(G, params, ["g_fc", "g_bn0", "g_dc1", "g_bn1", "g_dc2"])
    D = _discriminator(with_bn=bench == "dcgan")
    if bench == "dcgan":
        _load(D, params, ["d_c1", "d_c2", "d_bn2", "d_fc"])
    else:
        _load(D, params, ["c_c1", "c_c2", "c_fc"])
    G.to(device)
    D.to(device)
    real = mg.tensor(data["real"], device=device)
    z = mg.tensor(data["z"], device=device)
    alpha = mg.tensor(data["alpha"], device=device)
    if bench == "dcgan":
        opt_d = mg.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999), eps=1e-8)
        opt_g = mg.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999), eps=1e-8)
        ones, zeros = mg.ones(batch, 1, device=device), mg.zeros(batch, 1, device=device)

        def step():
            fake = G(z)
            loss_d = (F.binary_cross_entropy_with_logits(D(real), ones)
                      + F.binary_cross_entropy_with_logits(D(fake.detach()), zeros))
            opt_d.zero_grad()
            loss_d.backward()
            opt_d.step()
            loss_g = F.binary_cross_entropy_with_logits(D(fake), ones)
            opt_g.zero_grad()
            loss_g.backward()
            opt_g.step()
            return loss_d.item(), loss_g.item()
    else:
        opt_d = mg.optim.Adam(D.parameters(), lr=1e-4, betas=(0.0, 0.9), eps=1e-8)
        opt_g = mg.optim.Adam(G.parameters(), lr=1e-4, betas=(0.0, 0.9), eps=1e-8)

        def step():
            fake = G(z)
            fd = fake.detach()
            x_hat = (alpha * real + (1.0 - alpha) * fd).detach().requires_grad_()
            (g,) = mg.grad(D(x_hat).sum(), x_hat, create_graph=True)
            gp = (((g * g).reshape(batch, -1).sum(1) + 1e-12).sqrt() - 1.0) ** 2
            loss_d = D(fd).mean() - D(real).mean() + 10.0 * gp.mean()
            opt_d.zero_grad()
            loss_d.backward()
            opt_d.step()
            loss_g = -D(fake).mean()
            opt_g.zero_grad()
            loss_g.backward()
            opt_g.step()
            return loss_d.item(), loss_g.item()

    def sync():
        if device == "gpu":
            mg.backend.cupy().cuda.Device().synchronize()

    live = LiveBytes()
    hook = None

    def memory(what):
        """On the GPU, like for like with PyTorch's counters: `reset` starts counting, `peak`
        stops and returns {"live": the peak growth of the bytes handed out by CuPy's pool
        (torch.cuda.max_memory_allocated), "reserved": the growth of what the pool holds from
        the driver, cached free blocks included (torch.cuda.max_memory_reserved)} in MB.
        On the CPU: None (the caller measures RSS)."""
        nonlocal hook
        if device != "gpu":
            return None
        cupy = mg.backend.cupy()
        pool = cupy.get_default_memory_pool()
        if what == "reset":
            memory.base = pool.total_bytes()
            hook = _cupy_hook(cupy, live)
            hook.__enter__()
            return None
        hook.__exit__(None, None, None)
        return {"live": live.peak / 2**20,
                "reserved": (pool.total_bytes() - memory.base) / 2**20}

    return step, sync, memory, mg.__version__
