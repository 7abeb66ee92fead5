"""Gradient parity of the C++ baseline networks (src/ram/models/baselines.h) with PyTorch.

Run by tests/parity/baseline_parity_test.cpp as
    /usr/bin/python3 reference/baseline_parity.py IN.json OUT.json
IN.json: {"architecture": "fc64" | "fc256" | "conv", "height", "width", "kernel", "stride",
          "params": {name: {"rows", "cols", "values": [row-major]}}, "images": [B*H*W],
          "labels": [B]}
OUT.json: {"loss": mean cross-entropy, "grads": {name: [row-major gradient]}}

An independent implementation: torch.nn.functional.conv2d / linear / cross_entropy with autograd
in float64. Only the parameter layout is shared with C++: a weight is stored [in x out]; the
convolution's weight is [k*k x filters] (row dy*k + dx), and its output is flattened position
by position (index p*filters + f, p = oy*OW + ox), the order the first fully connected layer's
rows follow.
"""
import json
import sys

try:
    import torch
    import torch.nn.functional as F
except ImportError as e:  # the C++ test reports code 3 as "install python3-torch"
    print(f"cannot import torch: {e}", file=sys.stderr)
    sys.exit(3)


def main(argv):
    if len(argv) != 3:
        print("usage: baseline_parity.py IN.json OUT.json", file=sys.stderr)
        return 2
    with open(argv[1]) as f:
        spec = json.load(f)
    dt = torch.float64
    params = {}
    for name, p in spec["params"].items():
        params[name] = torch.tensor(p["values"], dtype=dt).reshape(p["rows"], p["cols"])
        params[name].requires_grad_(True)
    H, W = spec["height"], spec["width"]
    labels = torch.tensor(spec["labels"], dtype=torch.long)
    B = labels.shape[0]
    images = torch.tensor(spec["images"], dtype=dt).reshape(B, 1, H, W)

    def dense(x, name):
        return F.linear(x, params[name + ".W"].t(), params[name + ".b"].reshape(-1))

    if spec["architecture"] == "conv":
        k, s = spec["kernel"], spec["stride"]
        filters = params["conv.W"].shape[1]
        weight = params["conv.W"].t().reshape(filters, 1, k, k)
        c = torch.relu(F.conv2d(images, weight, params["conv.b"].reshape(-1), stride=s))
        x = c.permute(0, 2, 3, 1).reshape(B, -1)  # [B, OH, OW, F]: position-major
        x = torch.relu(dense(x, "hidden1"))
    else:
        x = images.reshape(B, H * W)
        x = torch.relu(dense(x, "hidden1"))
        x = torch.relu(dense(x, "hidden2"))
    logits = dense(x, "action")
    loss = F.cross_entropy(logits, labels)
    loss.backward()
    out = {"loss": loss.item(),
           "grads": {name: p.grad.reshape(-1).tolist() for name, p in params.items()}}
    with open(argv[2], "w") as f:
        json.dump(out, f)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
