"""The two BENCH_SPEC steps in PyTorch (eager), the reference. Imported only by the bench."""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F
from common import make_data, make_params


def _generator():
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
    layers = [m for m in module.modules() if getattr(m, "weight", None) is not None]
    assert len(layers) == len(names)
    with torch.no_grad():
        for layer, name in zip(layers, names):
            layer.weight.copy_(torch.from_numpy(params[name]["weight"]))
            layer.bias.copy_(torch.from_numpy(params[name]["bias"]))


def build_step(bench: str, batch: int, device: str, threads: int):
    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    dev = torch.device("cuda" if device == "gpu" else "cpu")
    # float32 arithmetic on both sides: cuDNN's convolutions default to TF32 (10-bit
    # mantissas), which moves the first G loss by 4e-4 and would make the race unequal.
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    params, data = make_params(), make_data(batch)
    G = _generator()
    _load(G, params, ["g_fc", "g_bn0", "g_dc1", "g_bn1", "g_dc2"])
    D = _discriminator(with_bn=bench == "dcgan")
    _load(D, params, ["d_c1", "d_c2", "d_bn2", "d_fc"] if bench == "dcgan"
          else ["c_c1", "c_c2", "c_fc"])
    G.to(dev)
    D.to(dev)
    real, z, alpha = (torch.from_numpy(data[k]).to(dev) for k in ("real", "z", "alpha"))
    if bench == "dcgan":
        opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999), eps=1e-8)
        opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999), eps=1e-8)
        ones, zeros = torch.ones(batch, 1, device=dev), torch.zeros(batch, 1, device=dev)

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
        opt_d = torch.optim.Adam(D.parameters(), lr=1e-4, betas=(0.0, 0.9), eps=1e-8)
        opt_g = torch.optim.Adam(G.parameters(), lr=1e-4, betas=(0.0, 0.9), eps=1e-8)

        def step():
            fake = G(z)
            fd = fake.detach()
            x_hat = (alpha * real + (1 - alpha) * fd).detach().requires_grad_()
            (g,) = torch.autograd.grad(D(x_hat).sum(), x_hat, create_graph=True)
            gp = ((g.pow(2).reshape(batch, -1).sum(1) + 1e-12).sqrt() - 1) ** 2
            loss_d = D(fd).mean() - D(real).mean() + 10 * gp.mean()
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
            torch.cuda.synchronize()

    def memory(what):
        """GPU: `reset` starts the allocator's peak counters, `peak` returns {"live": peak
        growth of allocated bytes, "reserved": peak growth of the cached allocator's hold}
        in MB. CPU: None (the caller measures RSS)."""
        if device != "gpu":
            return None
        if what == "reset":
            torch.cuda.reset_peak_memory_stats()
            memory.base = torch.cuda.memory_allocated(), torch.cuda.memory_reserved()
            return None
        return {"live": (torch.cuda.max_memory_allocated() - memory.base[0]) / 2**20,
                "reserved": (torch.cuda.max_memory_reserved() - memory.base[1]) / 2**20}

    return step, sync, memory, torch.__version__
