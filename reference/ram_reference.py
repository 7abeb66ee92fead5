"""An independent PyTorch reference of the Recurrent Attention Model (Mnih et al., NIPS 2014).

Written from the paper and the maths in src/ram/models/ram_model.h, not ported from the C++: autograd
does every derivative, so the parity test (tests/parity/parity_test.cpp, via parity.py) checks
the C++ hand-written backward pass against it.

One episode over a batch of B images and T glimpses (h = the core state, h_0 = 0):

    for t = 0 .. T-1:
        mu_t  = tanh(h_t W_loc + b_loc)          location policy mean; reads h_t.detach()
                                                 unless reinforce_trains_core
        l_t   = mu_t + std * eps_t               raw sample; a constant (data) from here on
                                                 (random_first_glimpse: l_0 = erf(eps_0/sqrt 2))
        b_t   = h_t.detach() W_base + b_base     baseline (sigmoid of it: reward_baseline)
        rho_t = retina(x, clip(l_t, -1, 1))
        h_g   = ReLU(rho_t W_what + b_what);  h_l = ReLU(clip(l_t) W_where + b_where)
        g_t   = ReLU(h_g W_out_what + h_l W_out_where + b_out)
        h_t+1 = ReLU(h_t W_rec + g_t W_in + b_core)                   core "relu" (the paper's)
    logits = h_T W_act + b_act

With core "lstm" (the presets' recipe) the state is (h, c), both 0 at first, and

        z = g_t W_x + h_t W_h + b                 [B, 4H], gate blocks i f o u in that order
        c_t+1 = sigmoid(z_f) c_t + sigmoid(z_i) tanh(z_u);  h_t+1 = sigmoid(z_o) tanh(c_t+1)

where the location net, baseline and classifier read h alone.

Hybrid loss of a batch, R = 1 if argmax logits == label else 0:

    CE = -sum_i log softmax(logits_i)[y_i]
         or, with classifier_at_every_step, -sum_i (1/T) sum_t log softmax(h_t W_act + b_act)[y_i]
    RF = -sum_i sum_t log N(l_t; mu_t, std^2 I) * (R - b_t).detach()    (log pi at the raw l_t;
         t from 1 with random_first_glimpse)
    BL =  sum_i sum_t (b_t - R)^2
    loss = (CE + w_rf * RF + w_bl * BL) / B

Parameters are stored the C++ way, weights [in x out] (y = x @ W + b), under the C++ slot
names ("glimpse.what.weight", "core.recurrent.weight", ...), so a flat dump maps one to one.

Also here: the two optimisers of src/ram/run/optimizer.cpp, an evaluation helper returning class
probabilities, a training step for benchmarks, and the paper's convolutional baseline.
Works with torch 1.13 (Debian python3-torch).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Iterable, NamedTuple, Optional

import torch
import torch.nn.functional as F
from torch import nn


# ----------------------------------------------------------------------------------------------
# Configuration (field names as ram::to_json(ModelConfig) writes them).


@dataclasses.dataclass
class RamConfig:
    image_height: int = 28
    image_width: int = 28
    glimpse_size: int = 8  # gw
    scales: int = 1  # k
    glimpses: int = 6  # T
    glimpse_hidden: int = 128
    location_hidden: int = 128
    glimpse_features: int = 256
    core_size: int = 256
    classes: int = 10
    core: str = "relu"
    location_std: float = 0.22
    reinforce_trains_core: bool = False
    reward_baseline: str = "linear"  # or "sigmoid": b_t = sigmoid(h_t.detach() W_base + b_base)
    # CE as the mean over the T steps of the classifier read from every h_t (answer: step T's).
    classifier_at_every_step: bool = False
    # Written beside classifier_at_every_step by the C++ side; the stopping model itself is
    # stopping_reference.py's, so here they must say "fixed length".
    adaptive_stopping: bool = False
    glimpse_cost: float = 0.0
    # l_0 = erf(eps_0 / sqrt 2), uniform in [-1, 1], in "sample" and "mean" episodes; no
    # REINFORCE term at t = 0.
    random_first_glimpse: bool = False

    @classmethod
    def from_dict(cls, d: dict) -> "RamConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValueError(f"unknown model configuration keys: {sorted(unknown)}")
        cfg = cls(**d)
        if cfg.core not in ("relu", "lstm"):
            raise ValueError(f"unknown core {cfg.core!r}")
        if cfg.reward_baseline not in ("linear", "sigmoid"):
            raise ValueError(f"unknown reward baseline {cfg.reward_baseline!r}")
        if cfg.adaptive_stopping or cfg.glimpse_cost != 0:
            raise ValueError("adaptive stopping is stopping_reference.py's model, not this one")
        return cfg

    @property
    def retina_size(self) -> int:
        return self.scales * self.glimpse_size * self.glimpse_size


@dataclasses.dataclass
class LossWeights:
    reinforce: float = 1.0
    baseline: float = 1.0


# ----------------------------------------------------------------------------------------------
# The glimpse sensor.


def pad_for_retina(images: torch.Tensor, glimpse_size: int, scales: int) -> torch.Tensor:
    """The images with a border of zeros as wide as the widest patch, [B, H + 2p, W + 2p]; an
    episode pads once and passes the result to every glimpse's retina."""
    pad = glimpse_size * 2 ** (scales - 1)
    return F.pad(images, (pad, pad, pad, pad))


def retina(images: torch.Tensor, locations: torch.Tensor, glimpse_size: int,
           scales: int, padded: Optional[torch.Tensor] = None) -> torch.Tensor:
    """rho(x, l): `scales` square patches centred on l, the first gw x gw, each next one twice as
    wide, each reduced to gw x gw by averaging 2^s x 2^s blocks; pixels outside the image are 0.

    images [B, H, W]; locations [B, 2] in [-1, 1], (x, y) with x along columns, (-1, -1) the
    top-left corner. The centre in pixel units is ((x+1)/2 W, (y+1)/2 H) (pixel (r, c) covers
    [c, c+1) x [r, r+1)); a patch of side w starts at floor(centre - w/2 + 0.5).
    Returns [B, scales * gw * gw], scale-major then row-major. `padded`, when given, is
    pad_for_retina(images, ...), computed once for several glimpses of the same images.
    """
    B, H, W = images.shape
    gw = glimpse_size
    # The patch origins are computed in float64 whatever the image dtype, so that the pixel
    # rounding is the same for float32 and float64 models.
    loc = locations.detach().to(torch.float64)
    cx = (loc[:, 0] + 1.0) * 0.5 * W
    cy = (loc[:, 1] + 1.0) * 0.5 * H
    pad = gw * 2 ** (scales - 1)  # the widest patch; every index below then lands inside
    if padded is None:
        padded = pad_for_retina(images, gw, scales)  # zeros outside the image
    batch = torch.arange(B, device=images.device)[:, None, None]
    patches = []
    for s in range(scales):
        factor = 2 ** s
        side = gw * factor
        col0 = torch.floor(cx - 0.5 * side + 0.5).long() + pad
        row0 = torch.floor(cy - 0.5 * side + 0.5).long() + pad
        offsets = torch.arange(side, device=images.device)
        rows = (row0[:, None] + offsets)[:, :, None]  # [B, side, 1]
        cols = (col0[:, None] + offsets)[:, None, :]  # [B, 1, side]
        patch = padded[batch, rows, cols]  # [B, side, side]
        if factor > 1:
            patch = F.avg_pool2d(patch[:, None], factor)[:, 0]  # [B, gw, gw]
        patches.append(patch.reshape(B, gw * gw))
    return torch.cat(patches, dim=1)


# ----------------------------------------------------------------------------------------------
# Parameter containers with the C++ layout: weight [in x out], bias [out].


class Weight(nn.Module):
    def __init__(self, n_in: int, n_out: int):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(n_in, n_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x @ self.weight


class Bias(nn.Module):
    def __init__(self, n_out: int):
        super().__init__()
        self.bias = nn.Parameter(torch.empty(n_out))


class Affine(nn.Module):
    """y = x @ weight + bias, weight [in x out]."""

    def __init__(self, n_in: int, n_out: int):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(n_in, n_out))
        self.bias = nn.Parameter(torch.empty(n_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x @ self.weight + self.bias


class GlimpseNet(nn.Module):
    """g = ReLU(ReLU(rho W_what + b_what) W_out_what + ReLU(l W_where + b_where) W_out_where + b_out)."""

    def __init__(self, cfg: RamConfig):
        super().__init__()
        self.what = Affine(cfg.retina_size, cfg.glimpse_hidden)
        self.where = Affine(2, cfg.location_hidden)
        self.out_what = Weight(cfg.glimpse_hidden, cfg.glimpse_features)
        self.out_where = Weight(cfg.location_hidden, cfg.glimpse_features)
        self.out = Bias(cfg.glimpse_features)

    def forward(self, rho: torch.Tensor, location: torch.Tensor) -> torch.Tensor:
        h_g = torch.relu(self.what(rho))
        h_l = torch.relu(self.where(location))
        return torch.relu(self.out_what(h_g) + self.out_where(h_l) + self.out.bias)


class ReluCore(nn.Module):
    """h_t = ReLU(h_{t-1} W_rec + g_t W_in + b)."""

    def __init__(self, features: int, hidden: int):
        super().__init__()
        self.recurrent = Weight(hidden, hidden)
        self.input = Weight(features, hidden)
        self.bias = nn.Parameter(torch.empty(hidden))

    def forward(self, h: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.recurrent(h) + self.input(g) + self.bias)


class LstmGates(nn.Module):
    """The parameters of the LSTM core under the C++ slot names: input [F, 4H], recurrent
    [H, 4H], bias [4H], gate blocks i f o u."""

    def __init__(self, features: int, hidden: int):
        super().__init__()
        self.input = Weight(features, 4 * hidden)
        self.recurrent = Weight(hidden, 4 * hidden)
        self.bias = nn.Parameter(torch.empty(4 * hidden))


class LstmCore(nn.Module):
    """(h, c) -> (h', c'): c' = f c + i u, h' = o tanh(c'), from z = g W_x + h W_h + b."""

    def __init__(self, features: int, hidden: int):
        super().__init__()
        self.hidden = hidden
        self.lstm = LstmGates(features, hidden)

    def forward(self, state, g: torch.Tensor):
        h, c = state
        z = self.lstm.input(g) + self.lstm.recurrent(h) + self.lstm.bias
        i, f, o, u = z.split(self.hidden, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(u)
        return torch.sigmoid(o) * torch.tanh(c), c


class Episode(NamedTuple):
    logits: torch.Tensor  # [B, C]
    means: torch.Tensor  # [B, T, 2] policy means mu_t
    samples: torch.Tensor  # [B, T, 2] raw locations l_t (before clipping), detached
    baselines: torch.Tensor  # [B, T]
    step_logits: Optional[torch.Tensor] = None  # [B, T, C], with classifier_at_every_step
    first_policy_step: int = 0  # 1 with a random first glimpse: l_0 has no REINFORCE term


class RamModel(nn.Module):
    def __init__(self, cfg: RamConfig):
        super().__init__()
        self.cfg = cfg
        self.glimpse = GlimpseNet(cfg)
        core = LstmCore if cfg.core == "lstm" else ReluCore
        self.core = core(cfg.glimpse_features, cfg.core_size)
        self.location = Affine(cfg.core_size, 2)
        self.action = Affine(cfg.core_size, cfg.classes)
        self.baseline = Affine(cfg.core_size, 1)
        self.reset_parameters()

    def reset_parameters(self, init_range: float = 0.1, generator: Optional[torch.Generator] = None):
        """Weights uniform in [-init_range, init_range], biases zero (the C++ scheme, not its
        random stream: load C++ parameters with load_flat for parity)."""
        with torch.no_grad():
            for name, p in self.named_parameters():
                if name.endswith("bias"):
                    p.zero_()
                else:
                    p.uniform_(-init_range, init_range, generator=generator)

    def forward(self, images: torch.Tensor, mode: str = "sample",
                draws: Optional[torch.Tensor] = None) -> Episode:
        """One episode. images [B, H, W]. mode:
          "sample"  l_t = mu_t + std * draws[:, t], draws standard normal [B, T, 2];
          "mean"    l_t = mu_t;
        (with random_first_glimpse, l_0 = erf(draws[:, 0] / sqrt 2) in both);
          "uniform" l_t = draws[:, t], draws uniform in [-1, 1];
          "given"   l_t = draws[:, t], raw locations.
        """
        cfg = self.cfg
        B = images.shape[0]
        h = images.new_zeros(B, cfg.core_size)
        c = images.new_zeros(B, cfg.core_size)  # the LSTM's cell; unused by the ReLU core
        means, samples, baselines, step_logits = [], [], [], []
        padded = pad_for_retina(images, cfg.glimpse_size, cfg.scales)
        for t in range(cfg.glimpses):
            policy_input = h if cfg.reinforce_trains_core else h.detach()
            if mode == "uniform":
                mu = images.new_zeros(B, 2)
            else:
                mu = torch.tanh(self.location(policy_input))
            b = self.baseline(h.detach())[:, 0]
            baselines.append(torch.sigmoid(b) if cfg.reward_baseline == "sigmoid" else b)
            if mode in ("sample", "mean") and t == 0 and cfg.random_first_glimpse:
                sample = torch.erf(draws[:, 0] / math.sqrt(2.0))
            elif mode == "sample":
                sample = mu + cfg.location_std * draws[:, t]
            elif mode == "mean":
                sample = mu
            elif mode in ("uniform", "given"):
                sample = draws[:, t]
            else:
                raise ValueError(f"unknown location mode {mode!r}")
            sample = sample.detach()  # the sampled location is data
            location = sample.clamp(-1.0, 1.0)
            rho = retina(images, location, cfg.glimpse_size, cfg.scales, padded)
            g = self.glimpse(rho, location)
            if cfg.core == "lstm":
                h, c = self.core((h, c), g)
            else:
                h = self.core(h, g)
            means.append(mu)
            samples.append(sample)
            if cfg.classifier_at_every_step:
                step_logits.append(self.action(h))
        logits = self.action(h)
        return Episode(logits, torch.stack(means, 1), torch.stack(samples, 1),
                       torch.stack(baselines, 1),
                       torch.stack(step_logits, 1) if step_logits else None,
                       1 if cfg.random_first_glimpse else 0)

    # Flat I/O by C++ slot name.
    def load_flat(self, tensors: dict):
        """Copies {slot name: array} into the parameters (bias [1, n] or [n] both accepted)."""
        params = dict(self.named_parameters())
        missing = set(params) - set(tensors)
        extra = set(tensors) - set(params)
        if missing or extra:
            raise ValueError(f"parameter names differ: missing {sorted(missing)}, "
                             f"unexpected {sorted(extra)}")
        with torch.no_grad():
            for name, p in params.items():
                src = torch.as_tensor(tensors[name])
                if src.numel() != p.numel() or (src.dim() == 2 and p.dim() == 2 and src.shape != p.shape):
                    raise ValueError(f"{name}: shape {tuple(src.shape)}, expected {tuple(p.shape)}")
                p.copy_(src.reshape(p.shape))


class LossParts(NamedTuple):
    total: torch.Tensor  # (CE + w_rf RF + w_bl BL) / B, the thing backward differentiates
    cross_entropy: torch.Tensor  # sums over the batch
    reinforce: torch.Tensor
    baseline: torch.Tensor
    reward: torch.Tensor  # [B], 1 for a correct answer


def hybrid_loss(ep: Episode, labels: torch.Tensor, std: float, weights: LossWeights) -> LossParts:
    B = labels.shape[0]
    if ep.step_logits is None:
        cross_entropy = F.cross_entropy(ep.logits, labels, reduction="sum")
    else:
        T = ep.step_logits.shape[1]
        cross_entropy = sum(F.cross_entropy(ep.step_logits[:, t], labels, reduction="sum")
                            for t in range(T)) / T
    reward = (ep.logits.argmax(dim=1) == labels).to(ep.logits.dtype)  # [B]
    advantage = (reward[:, None] - ep.baselines).detach()  # [B, T], a constant
    policy = torch.distributions.Normal(ep.means, std)
    log_pi = policy.log_prob(ep.samples).sum(dim=2)  # [B, T], at the raw samples
    first = ep.first_policy_step
    reinforce = -(log_pi[:, first:] * advantage[:, first:]).sum()
    baseline = ((ep.baselines - reward[:, None]) ** 2).sum()
    total = (cross_entropy + weights.reinforce * reinforce + weights.baseline * baseline) / B
    return LossParts(total, cross_entropy, reinforce, baseline, reward)


# ----------------------------------------------------------------------------------------------
# Optimisers, as src/ram/run/optimizer.cpp defines them. Step k (0-based) uses the learning rate
# lr0 + (final - lr0) * min(1, k / total_steps). Optional global-norm clipping first.
#   sgd:  v = momentum v + g;  p -= lr v
#   adam: m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
#         p -= lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps),   t = 1, 2, ...
# (torch.optim.SGD(momentum, dampening=0) and torch.optim.Adam follow the same formulas; see
# torch_optimizer below.)


@dataclasses.dataclass
class OptimizerConfig:
    kind: str = "sgd"
    learning_rate: float = 0.01
    final_learning_rate: float = 0.0
    momentum: float = 0.9
    beta1: float = 0.9
    beta2: float = 0.999
    epsilon: float = 1e-8
    clip_norm: float = 0.0
    schedule: str = "linear"  # or "exponential": lr * (final / lr) ** progress

    @classmethod
    def from_dict(cls, d: dict) -> "OptimizerConfig":
        return cls(**d)


def learning_rate_at(cfg: OptimizerConfig, step: int, total_steps: int) -> float:
    progress = min(1.0, step / max(total_steps, 1))
    if cfg.schedule == "exponential":
        return cfg.learning_rate * (cfg.final_learning_rate / cfg.learning_rate) ** progress
    if cfg.schedule != "linear":
        raise ValueError(f"unknown learning-rate schedule {cfg.schedule!r}")
    return cfg.learning_rate + (cfg.final_learning_rate - cfg.learning_rate) * progress


class Optimizer:
    def __init__(self, params: Iterable[torch.Tensor], cfg: OptimizerConfig, total_steps: int):
        if cfg.kind not in ("sgd", "adam"):
            raise ValueError(f"unknown optimiser {cfg.kind!r}")
        self.params = list(params)
        self.cfg = cfg
        self.total_steps = max(total_steps, 1)
        self.steps = 0
        self.first = [torch.zeros_like(p) for p in self.params]  # momentum, or Adam's m
        self.second = [torch.zeros_like(p) for p in self.params] if cfg.kind == "adam" else None

    @torch.no_grad()
    def step(self) -> float:
        """Uses p.grad of every parameter; returns the gradient norm before clipping."""
        cfg = self.cfg
        grads = [p.grad for p in self.params]
        norm = math.sqrt(sum(float((g.double() ** 2).sum()) for g in grads))
        if cfg.clip_norm > 0 and norm > cfg.clip_norm:
            grads = [g * (cfg.clip_norm / norm) for g in grads]
        lr = learning_rate_at(cfg, self.steps, self.total_steps)
        self.steps += 1
        if cfg.kind == "sgd":
            for p, g, v in zip(self.params, grads, self.first):
                v.mul_(cfg.momentum).add_(g)
                p.sub_(lr * v)
        else:
            c1 = 1.0 / (1.0 - cfg.beta1 ** self.steps)
            c2 = 1.0 / (1.0 - cfg.beta2 ** self.steps)
            for p, g, m, v in zip(self.params, grads, self.first, self.second):
                m.mul_(cfg.beta1).add_((1.0 - cfg.beta1) * g)
                v.mul_(cfg.beta2).add_((1.0 - cfg.beta2) * g * g)
                p.sub_(lr * (m * c1) / (torch.sqrt(v * c2) + cfg.epsilon))
        return norm


def torch_optimizer(params, cfg: OptimizerConfig, total_steps: int):
    """The same optimiser built from torch.optim (faster, for benchmarks): returns
    (optimizer, scheduler); call optimizer.step() then scheduler.step() once per batch. No
    clipping here: call torch.nn.utils.clip_grad_norm_ first when cfg.clip_norm > 0."""
    params = list(params)
    if cfg.kind == "sgd":
        opt = torch.optim.SGD(params, lr=cfg.learning_rate, momentum=cfg.momentum, dampening=0.0)
    elif cfg.kind == "adam":
        opt = torch.optim.Adam(params, lr=cfg.learning_rate, betas=(cfg.beta1, cfg.beta2),
                               eps=cfg.epsilon)
    else:
        raise ValueError(f"unknown optimiser {cfg.kind!r}")
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda k: learning_rate_at(cfg, k, total_steps) / cfg.learning_rate)
    return opt, sched


# ----------------------------------------------------------------------------------------------
# Evaluation and training helpers (for benchmarks).


@torch.no_grad()
def class_probabilities(model: RamModel, images: torch.Tensor, mode: str = "mean",
                        draws: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Softmax class probabilities [B, C] of one episode per image (mode as RamModel.forward;
    "mean" is the deterministic single-sample evaluation)."""
    return torch.softmax(model(images, mode, draws).logits, dim=1)


def train_step(model: RamModel, optimizer, images: torch.Tensor, labels: torch.Tensor,
               draws: torch.Tensor, weights: LossWeights, scheduler=None,
               clip_norm: float = 0.0) -> LossParts:
    """Forward with sampled locations, hybrid loss, backward, one optimiser step. optimizer is
    an Optimizer above (which clips by its own configuration), or a torch.optim optimiser (then
    pass its scheduler, and clip_norm > 0 clips the gradient's global norm first)."""
    model.zero_grad(set_to_none=False)
    parts = hybrid_loss(model(images, "sample", draws), labels, model.cfg.location_std, weights)
    parts.total.backward()
    if clip_norm > 0:
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip_norm)
    optimizer.step()
    if scheduler is not None:
        scheduler.step()
    return parts


# ----------------------------------------------------------------------------------------------
# The paper's convolutional baseline: Conv(8 filters 10x10, stride 5) + ReLU, a fully connected
# ReLU layer of 256 units, then a softmax over the classes (return logits).


class ConvBaseline(nn.Module):
    def __init__(self, height: int, width: int, filters: int = 8, hidden: int = 256,
                 classes: int = 10, kernel: int = 10, stride: int = 5):
        super().__init__()
        if height < kernel or width < kernel:
            raise ValueError(f"image {height}x{width} is smaller than the {kernel}x{kernel} filter")
        self.conv = nn.Conv2d(1, filters, kernel, stride=stride)
        out_h = (height - kernel) // stride + 1
        out_w = (width - kernel) // stride + 1
        self.fc = nn.Linear(filters * out_h * out_w, hidden)
        self.out = nn.Linear(hidden, classes)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """images [B, H, W] (or [B, 1, H, W]) -> logits [B, classes]."""
        if images.dim() == 3:
            images = images[:, None]
        x = torch.relu(self.conv(images))
        x = torch.relu(self.fc(x.flatten(1)))
        return self.out(x)
