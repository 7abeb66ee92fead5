#!/usr/bin/python3
"""PyTorch reference of the Catch agent (tests/parity/catch_parity_test.cpp drives it).

    /usr/bin/python3 reference/catch_reference.py IN.json OUT.json

An independent implementation of src/ram/catch: the game (rules in catch_game.h), the agent
with torch.nn.LSTMCell as its core (the C++ LstmCore's weights are mapped onto it), the retina
and glimpse net of ram_reference.py, and the loss of catch_agent.h differentiated by autograd
in float64. Locations and actions are given (the C++ test's draws), so both sides play the same
episodes; the game itself, the screens and the rewards are recomputed here.

IN.json:  {"config": to_json(CatchAgentConfig), "weights": {reinforce, baseline, entropy,
           discount}, "params": {slot: [values, row-major]}, "starts": [[ball column,
           velocity], ...] (B games), "locations": [B][T][2] raw, "actions": [B][T]}
OUT.json: {"reward": [B], "loss": {"reinforce_location", "reinforce_action", "baseline",
           "entropy"} (sums over the batch), "grads": {slot: [values]}} with the gradient of
           (w_rf RF + w_bl BL + w_en EN) / B.
"""

import json
import os
import sys

try:
    import torch
except ImportError as e:
    sys.stderr.write(f"catch_reference.py: cannot import torch with {sys.executable}: {e}\n")
    sys.exit(3)

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ram_reference as ref  # noqa: E402

SIZE = 24
FRAMES = SIZE - 1
PADDLE_START = SIZE // 2 - 1


def play_game(col, velocity, actions):
    """Screens seen before each action [T, 24, 24] and the reward."""
    row, paddle = 0, PADDLE_START
    screens = []
    for a in actions:
        screen = torch.zeros(SIZE, SIZE, dtype=torch.float64)
        screen[row, col] = 1
        screen[SIZE - 1, paddle] = 1
        screen[SIZE - 1, paddle + 1] = 1
        screens.append(screen)
        paddle = min(max(paddle + a - 1, 0), SIZE - 2)
        if not 0 <= col + velocity < SIZE:
            velocity = -velocity
        col += velocity
        row += 1
    assert row == SIZE - 1
    return torch.stack(screens), float(paddle <= col <= paddle + 1)


def main(inp, out):
    with open(inp) as f:
        d = json.load(f)
    c, w, P = d["config"], d["weights"], d["params"]
    torch.set_default_dtype(torch.float64)
    H, G = c["core_size"], c["glimpse_features"]
    cfg = ref.RamConfig.from_dict({
        "image_height": SIZE, "image_width": SIZE, "glimpse_size": c["glimpse_size"],
        "scales": c["scales"], "glimpses": FRAMES, "glimpse_hidden": c["glimpse_hidden"],
        "location_hidden": c["location_hidden"], "glimpse_features": G, "core_size": H,
        "classes": 3, "core": "relu", "location_std": c["location_std"],
        "reinforce_trains_core": False})
    glimpse = ref.GlimpseNet(cfg)
    glimpse.load_state_dict({
        "what.weight": torch.tensor(P["glimpse.what.weight"]).reshape(-1, c["glimpse_hidden"]),
        "what.bias": torch.tensor(P["glimpse.what.bias"]),
        "where.weight": torch.tensor(P["glimpse.where.weight"]).reshape(2, -1),
        "where.bias": torch.tensor(P["glimpse.where.bias"]),
        "out_what.weight": torch.tensor(P["glimpse.out_what.weight"]).reshape(-1, G),
        "out_where.weight": torch.tensor(P["glimpse.out_where.weight"]).reshape(-1, G),
        "out.bias": torch.tensor(P["glimpse.out.bias"])})
    # LstmCore: z = g W_x + h W_h + b, W [in x 4H] with gate blocks (i, f, o, u); torch's
    # LSTMCell: z = x W_ih^T + b_ih + h W_hh^T + b_hh with blocks (i, f, g=u, o).
    order = [0, 1, 3, 2]  # torch block k is our block order[k]

    def to_torch(flat, n_in):
        m = torch.tensor(flat).reshape(n_in, 4, H)[:, order, :].reshape(n_in, 4 * H)
        return m.t().contiguous()

    cell = torch.nn.LSTMCell(G, H)
    with torch.no_grad():
        cell.weight_ih.copy_(to_torch(P["core.lstm.input.weight"], G))
        cell.weight_hh.copy_(to_torch(P["core.lstm.recurrent.weight"], H))
        cell.bias_ih.copy_(torch.tensor(P["core.lstm.bias"]).reshape(4, H)[order].reshape(-1))
        cell.bias_hh.zero_()
    cell.bias_hh.requires_grad_(False)
    lin = {}
    for name, n_out in (("location", 2), ("action", 3), ("baseline", 1)):
        lin[name] = (torch.tensor(P[name + ".weight"]).reshape(H, n_out).requires_grad_(),
                     torch.tensor(P[name + ".bias"]).requires_grad_())

    locations = torch.tensor(d["locations"])  # [B, T, 2] raw
    actions = torch.tensor(d["actions"])  # [B, T]
    B = locations.shape[0]
    screens, rewards = [], []
    for b, (col, velocity) in enumerate(d["starts"]):
        s, r = play_game(col, velocity, actions[b].tolist())
        screens.append(s)
        rewards.append(r)
    screens = torch.stack(screens)  # [B, T, 24, 24]
    R = torch.tensor(rewards)
    std = c["location_std"]
    trains_core = c["location_trains_core"]

    def affine(name, x):
        W, b = lin[name]
        return x @ W + b

    h = torch.zeros(B, H)
    cstate = torch.zeros(B, H)
    baselines = [affine("baseline", h.detach())[:, 0]]
    rf_loc = rf_act = entropy = torch.zeros(())
    returns = [R * w["discount"] ** (FRAMES - 1 - s) for s in range(FRAMES)]
    base_detached = []
    for s in range(FRAMES):
        loc_in = h if trains_core else h.detach()
        mu = torch.tanh(affine("location", loc_in))
        raw = locations[:, s]
        clipped = raw.clamp(-1, 1)
        rho = ref.retina(screens[:, s], clipped, c["glimpse_size"], c["scales"])
        g = glimpse(rho, clipped)
        h, cstate = cell(g, (h, cstate))
        logits = affine("action", h)
        logp = torch.log_softmax(logits, dim=1)
        p = logp.exp()
        baselines.append(affine("baseline", h.detach())[:, 0])
        log_loc = torch.distributions.Normal(mu, std).log_prob(raw).sum(1)
        log_act = logp.gather(1, actions[:, s:s + 1])[:, 0]
        adv_loc = (returns[s] - baselines[s]).detach()
        adv_act = (returns[s] - baselines[s + 1]).detach()
        rf_loc = rf_loc - (log_loc * adv_loc).sum()
        rf_act = rf_act - (log_act * adv_act).sum()
        entropy = entropy + (p * logp).sum()  # -H summed
    targets = returns + [returns[-1]]
    baseline = sum(((baselines[s] - targets[s]) ** 2).sum() for s in range(FRAMES + 1))
    total = (w["reinforce"] * (rf_loc + rf_act) + w["baseline"] * baseline +
             w["entropy"] * entropy) / B
    total.backward()

    grads = {}
    for name, t in glimpse.named_parameters():
        grads["glimpse." + name] = t.grad.reshape(-1).tolist()

    def from_torch(grad, n_in):
        m = grad.t().reshape(n_in, 4, H)
        back = torch.empty_like(m)
        back[:, order, :] = m
        return back.reshape(-1).tolist()

    grads["core.lstm.input.weight"] = from_torch(cell.weight_ih.grad, G)
    grads["core.lstm.recurrent.weight"] = from_torch(cell.weight_hh.grad, H)
    bias = torch.empty(4, H)
    bias[order] = cell.bias_ih.grad.reshape(4, H)
    grads["core.lstm.bias"] = bias.reshape(-1).tolist()
    for name, (W, b) in lin.items():
        grads[name + ".weight"] = W.grad.reshape(-1).tolist()
        grads[name + ".bias"] = b.grad.reshape(-1).tolist()
    with open(out, "w") as f:
        json.dump({"reward": rewards,
                   "loss": {"reinforce_location": rf_loc.item(),
                            "reinforce_action": rf_act.item(),
                            "baseline": baseline.item(), "entropy": entropy.item()},
                   "grads": grads}, f)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.stderr.write(__doc__)
        sys.exit(2)
    main(sys.argv[1], sys.argv[2])
