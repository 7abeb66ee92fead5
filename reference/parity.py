#!/usr/bin/python3
"""PyTorch side of the C++/PyTorch parity test (tests/parity/parity_test.cpp).

    /usr/bin/python3 reference/parity.py IN OUT [IN OUT ...]

Reads a dump written by the C++ test, computes with the reference model of ram_reference.py
  1. in float64: the episode, the three loss sums, the total loss and every parameter gradient,
     for the initial parameters, the batch and the location noise eps of the dump;
  2. in the dump's trajectory dtype: `steps` optimiser steps from the same initial parameters on
     the same batch, step k using the noise trajectory_eps[k], recording the loss before each
     update (and the rewards and gradient norm of each step and the final parameters);
and writes the results to OUT in the same format. Exit status 3 means torch is unavailable.

Dump format (all little-endian):
    8 bytes   magic "RAMPAR01"
    8 bytes   uint64 N, the length of the header
    N bytes   UTF-8 JSON: {"meta": {...}, "arrays": [{"name": s, "dtype": d, "shape": [...]}, ...]}
              with d one of "float32", "float64", "uint8"
    then each array's values in header order, row-major, packed, no padding.
Input arrays:  param/<slot> float32 [rows, cols] (the C++ slot shapes, biases [1, n]);
               images float32 [B, H, W]; labels uint8 [B]; eps float64 [B, T, 2];
               trajectory_eps float64 [steps, B, T, 2].
Input meta:    model (ram::to_json(ModelConfig)), weights {reinforce, baseline},
               optimizer (ram::to_json(OptimizerConfig)), total_steps, steps, trajectory_dtype.
Output arrays: loss_sums float64 [3] (CE, RF, BL summed over the batch); loss float64 [1]
               ((CE + w_rf RF + w_bl BL) / B); reward [B]; logits [B, C]; baselines [B, T];
               means [B, T, 2]; samples [B, T, 2]; grad/<slot> float64 [rows, cols];
               trajectory_loss [steps]; trajectory_reward [steps, B];
               trajectory_grad_norm [steps]; final/<slot> [rows, cols] (all float64).
"""

import json
import struct
import sys

MAGIC = b"RAMPAR01"

try:
    import numpy as np
    import torch
except ImportError as e:  # the C++ test turns this status into a clear failure message
    sys.stderr.write(f"parity.py: cannot import torch/numpy with {sys.executable}: {e}\n"
                     "install the Debian package python3-torch (scripts/setup.sh does)\n")
    sys.exit(3)

import os

sys.dont_write_bytecode = True  # leave no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ram_reference as ref  # noqa: E402

DTYPES = {"float32": np.dtype("<f4"), "float64": np.dtype("<f8"), "uint8": np.dtype("u1")}


def read_dump(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != MAGIC:
        raise ValueError(f"{path}: not a parity dump (magic {data[:8]!r})")
    (n,) = struct.unpack_from("<Q", data, 8)
    header = json.loads(data[16:16 + n].decode("utf-8"))
    pos = 16 + n
    arrays = {}
    for entry in header["arrays"]:
        dt = DTYPES[entry["dtype"]]
        shape = tuple(entry["shape"])
        count = int(np.prod(shape, dtype=np.int64))
        arr = np.frombuffer(data, dtype=dt, count=count, offset=pos).reshape(shape)
        pos += count * dt.itemsize
        arrays[entry["name"]] = arr
    if pos != len(data):
        raise ValueError(f"{path}: {len(data) - pos} trailing bytes")
    return header["meta"], arrays


def write_dump(path, meta, arrays):
    entries, blobs = [], []
    for name, arr in arrays.items():
        arr = np.ascontiguousarray(arr)
        dtype = {np.dtype("float32"): "float32", np.dtype("float64"): "float64",
                 np.dtype("uint8"): "uint8"}[arr.dtype]
        entries.append({"name": name, "dtype": dtype, "shape": list(arr.shape)})
        blobs.append(arr.astype(DTYPES[dtype], copy=False).tobytes())
    header = json.dumps({"meta": meta, "arrays": entries}).encode("utf-8")
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(MAGIC)
        f.write(struct.pack("<Q", len(header)))
        f.write(header)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def build_model(cfg, arrays, dtype):
    model = ref.RamModel(cfg).to(dtype)
    params = {k[len("param/"):]: torch.from_numpy(v.astype(np.float64))
              for k, v in arrays.items() if k.startswith("param/")}
    model.load_flat(params)
    return model


def as_numpy(t, shape=None):
    a = t.detach().to(torch.float64).cpu().numpy()
    return a.reshape(shape) if shape is not None else a


def run(in_path, out_path):
    meta, arrays = read_dump(in_path)
    cfg = ref.RamConfig.from_dict(meta["model"])
    weights = ref.LossWeights(**meta["weights"])
    opt_cfg = ref.OptimizerConfig.from_dict(meta["optimizer"])
    steps = int(meta["steps"])
    total_steps = int(meta["total_steps"])
    traj_dtype = {"float32": torch.float32, "float64": torch.float64}[meta["trajectory_dtype"]]
    shapes = {k[len("param/"):]: v.shape for k, v in arrays.items() if k.startswith("param/")}

    images = torch.from_numpy(arrays["images"].copy())  # float32 [B, H, W]
    labels = torch.from_numpy(arrays["labels"].astype(np.int64))
    eps = torch.from_numpy(arrays["eps"].copy())  # float64 [B, T, 2]
    traj_eps = torch.from_numpy(arrays["trajectory_eps"].copy())  # [steps, B, T, 2]

    out = {}
    # 1. Losses and gradients in float64.
    model = build_model(cfg, arrays, torch.float64)
    ep = model(images.to(torch.float64), "sample", eps)
    parts = ref.hybrid_loss(ep, labels, cfg.location_std, weights)
    parts.total.backward()
    out["loss_sums"] = np.array([parts.cross_entropy.item(), parts.reinforce.item(),
                                 parts.baseline.item()])
    out["loss"] = np.array([parts.total.item()])
    out["reward"] = as_numpy(parts.reward)
    out["logits"] = as_numpy(ep.logits)
    out["baselines"] = as_numpy(ep.baselines)
    out["means"] = as_numpy(ep.means)
    out["samples"] = as_numpy(ep.samples)
    for name, p in model.named_parameters():
        out["grad/" + name] = as_numpy(p.grad, shapes[name])

    # 2. The optimiser trajectory.
    model = build_model(cfg, arrays, traj_dtype)
    opt = ref.Optimizer(model.parameters(), opt_cfg, total_steps)
    x = images.to(traj_dtype)
    losses, rewards, norms = [], [], []
    for k in range(steps):
        model.zero_grad(set_to_none=False)
        parts = ref.hybrid_loss(model(x, "sample", traj_eps[k].to(traj_dtype)), labels,
                                cfg.location_std, weights)
        parts.total.backward()
        losses.append(parts.total.item())
        rewards.append(as_numpy(parts.reward))
        norms.append(opt.step())
    out["trajectory_loss"] = np.array(losses, dtype=np.float64)
    out["trajectory_reward"] = np.array(rewards, dtype=np.float64).reshape(steps, -1)
    out["trajectory_grad_norm"] = np.array(norms, dtype=np.float64)
    for name, p in model.named_parameters():
        out["final/" + name] = as_numpy(p, shapes[name])

    write_dump(out_path, {"torch_version": torch.__version__, "gradient_dtype": "float64",
                          "trajectory_dtype": meta["trajectory_dtype"]}, out)


def main(argv):
    if len(argv) < 3 or len(argv) % 2 != 1:
        sys.stderr.write("usage: parity.py IN OUT [IN OUT ...]\n")
        return 2
    torch.set_num_threads(1)
    for i in range(1, len(argv), 2):
        run(argv[i], argv[i + 1])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
