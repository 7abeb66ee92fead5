#!/usr/bin/python3
"""PyTorch reference of RAM with adaptive stopping (src/ram/models/ram_model.h, "Adaptive stopping"), and
the Python side of tests/parity/stopping_parity_test.cpp.

    /usr/bin/python3 reference/stopping_reference.py IN.json OUT.json

IN holds {"model": ram::to_json(ModelConfig), "weights": {"reinforce", "baseline"},
"params": {slot: flat list}, "images": [B*H*W], "labels": [B], "eps": [B*T*2] (location noise),
"stop_draws": [B*(T-1)] (standard normal; u = Phi(draw), stop after glimpse n when u < q_n)}.
OUT gets the float64 episode and loss: {"glimpses_taken": [B], "logits": [B*C] (at the
stopping step), "reward": [B], "loss_sums": [CE, RF, BL], "grads": {slot: flat list}}, the
gradients of (CE + w_rf RF + w_bl BL) / B computed by autograd. Exit status 3: no torch.

Written from the math in model.h, not from the C++ code: autograd differentiates a loss in
which the sampled locations and the stop decisions are data, the advantage is detached, and
the location and stop policies read the detached state unless reinforce_trains_core.
"""

import json
import math
import os
import sys

try:
    import torch
    import torch.nn.functional as F
    from torch import nn
except ImportError as e:
    sys.stderr.write(f"stopping_reference.py: cannot import torch with {sys.executable}: {e}\n")
    sys.exit(3)

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ram_reference as ref  # noqa: E402  (retina, glimpse net, core, layer containers)

STOPPING_KEYS = ("adaptive_stopping", "glimpse_cost", "classifier_at_every_step")


class StoppingRam(nn.Module):
    def __init__(self, model_json: dict):
        super().__init__()
        base = {k: v for k, v in model_json.items() if k not in STOPPING_KEYS}
        self.cfg = ref.RamConfig.from_dict(base)
        if not model_json.get("adaptive_stopping", False):
            raise ValueError("the configuration has no adaptive stopping")
        self.cost = float(model_json["glimpse_cost"])
        self.every_step = bool(model_json["classifier_at_every_step"])
        cfg = self.cfg
        # Attribute names give the C++ slot names (glimpse.what.weight, ..., stop.bias).
        self.glimpse = ref.GlimpseNet(cfg)
        self.core = ref.ReluCore(cfg.glimpse_features, cfg.core_size)
        self.location = ref.Affine(cfg.core_size, 2)
        self.action = ref.Affine(cfg.core_size, cfg.classes)
        self.baseline = ref.Affine(cfg.core_size, 1)
        self.stop = ref.Affine(cfg.core_size, 1)

    def loss(self, images, labels, eps, stop_draws, w_reinforce, w_baseline):
        cfg = self.cfg
        B, T = images.shape[0], cfg.glimpses
        policy_state = (lambda h: h) if cfg.reinforce_trains_core else (lambda h: h.detach())
        h = images.new_zeros(B, cfg.core_size)
        states, means, samples, baselines = [h], [], [], []
        for t in range(T):
            mu = torch.tanh(self.location(policy_state(h)))
            baselines.append(self.baseline(h.detach())[:, 0])
            sample = (mu + cfg.location_std * eps[:, t]).detach()
            location = sample.clamp(-1.0, 1.0)
            h = self.core(h, self.glimpse(ref.retina(images, location, cfg.glimpse_size,
                                                     cfg.scales), location))
            states.append(h)
            means.append(mu)
            samples.append(sample)
        baselines = torch.stack(baselines, 1)  # [B, T]: b_t from h_t, t = 0..T-1
        step_logits = torch.stack([self.action(states[n]) for n in range(1, T + 1)], 1)  # [B,T,C]
        # Stop logits z_n, n = 1..T-1, from h_n; decisions are data.
        z = torch.stack([self.stop(policy_state(states[n]))[:, 0] for n in range(1, T)], 1)
        q = torch.sigmoid(z.detach())
        u = 0.5 * torch.erfc(-stop_draws / math.sqrt(2.0))
        stops = (u < q)  # [B, T-1]
        taken = []
        for i in range(B):
            n_stop = T
            for n in range(1, T):
                if stops[i, n - 1]:
                    n_stop = n
                    break
            taken.append(n_stop)
        taken_t = torch.tensor(taken)
        rows = torch.arange(B)
        logits = step_logits[rows, taken_t - 1]  # [B, C], the answer
        correct = (logits.argmax(1) == labels).to(images.dtype)
        reward = correct - self.cost * taken_t.to(images.dtype)
        advantage = (reward[:, None] - baselines).detach()  # [B, T]

        if self.every_step:
            ce = sum(F.cross_entropy(step_logits[:, n], labels, reduction="sum")
                     for n in range(T)) / T
        else:
            ce = F.cross_entropy(logits, labels, reduction="sum")
        steps = torch.arange(T)[None, :]  # [1, T]
        location_used = (steps < taken_t[:, None]).to(images.dtype)  # t < N
        baseline_used = (steps <= taken_t[:, None]).to(images.dtype)  # t <= min(N, T-1)
        log_pi_loc = torch.distributions.Normal(torch.stack(means, 1), cfg.location_std) \
            .log_prob(torch.stack(samples, 1)).sum(2)  # [B, T]
        rf = -(log_pi_loc * advantage * location_used).sum()
        decisions = torch.arange(1, T)[None, :]  # n = 1..T-1
        decided = (decisions <= taken_t[:, None]).to(images.dtype)
        s = (decisions == taken_t[:, None]).to(images.dtype)
        log_pi_stop = torch.distributions.Bernoulli(logits=z).log_prob(s)  # [B, T-1]
        rf = rf - (log_pi_stop * advantage[:, 1:] * decided).sum()
        bl = (((baselines - reward[:, None]) ** 2) * baseline_used).sum()
        total = (ce + w_reinforce * rf + w_baseline * bl) / B
        return total, (ce, rf, bl), taken, logits, reward


def main(argv):
    if len(argv) != 3:
        sys.stderr.write("usage: stopping_reference.py IN.json OUT.json\n")
        return 2
    torch.set_num_threads(1)
    with open(argv[1]) as f:
        d = json.load(f)
    model = StoppingRam(d["model"]).to(torch.float64)
    cfg = model.cfg
    params = dict(model.named_parameters())
    if set(params) != set(d["params"]):
        raise ValueError(f"slots differ: {sorted(set(params) ^ set(d['params']))}")
    with torch.no_grad():
        for name, p in params.items():
            p.copy_(torch.tensor(d["params"][name], dtype=torch.float64).reshape(p.shape))
    B, T = len(d["labels"]), cfg.glimpses
    images = torch.tensor(d["images"], dtype=torch.float32).reshape(
        B, cfg.image_height, cfg.image_width).to(torch.float64)
    labels = torch.tensor(d["labels"], dtype=torch.int64)
    eps = torch.tensor(d["eps"], dtype=torch.float64).reshape(B, T, 2)
    stop_draws = torch.tensor(d["stop_draws"], dtype=torch.float64).reshape(B, T - 1)
    total, (ce, rf, bl), taken, logits, reward = model.loss(
        images, labels, eps, stop_draws, d["weights"]["reinforce"], d["weights"]["baseline"])
    total.backward()
    out = {"glimpses_taken": taken, "logits": logits.detach().reshape(-1).tolist(),
           "reward": reward.tolist(), "loss_sums": [ce.item(), rf.item(), bl.item()],
           "grads": {n: p.grad.reshape(-1).tolist() for n, p in params.items()},
           "torch_version": torch.__version__}
    with open(argv[2] + ".tmp", "w") as f:
        json.dump(out, f)
    os.replace(argv[2] + ".tmp", argv[2])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
