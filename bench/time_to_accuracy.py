#!/usr/bin/python3
"""Time to accuracy: wall time until the validation error first reaches a target, for the C++
trainer (`ram train`) and for the PyTorch reference (reference/ram_reference.py) trained with
the same recipe on the same data, side by side on this machine.

Both sides train the preset's recipe as `ram train --preset P --dry-run` prints it (model, loss
weights, optimiser and its schedule over the preset's epochs, batch size) on the paper's split
of the full MNIST (the first 50,000 training digits; the validation error is measured on the
last 10,000 after every epoch, one sampled episode per image). An epoch's time counts its
training and its validation, not the start-up. A side stops at the first epoch whose validation
error is at or below the target.

    cmake -S . -B build && cmake --build build --target ram _ram -j2
    /usr/bin/python3 bench/time_to_accuracy.py --preset mnist28-6g --target 3 --threads 1 \\
        --out runs/time-to-accuracy

With --threads 1 (the default) the two sides run at once, one per core; otherwise one after the
other. Run it on an otherwise quiet machine: the times are wall times. Both sides keep their
state in --out after every epoch, so running the same command again continues where it stopped
(the PyTorch side at its last finished epoch). The summary is printed and written to
OUT/summary.md.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

# The same description of the CPU and the same reading of a preset as BENCHMARKS.md's.
from side_by_side import (TORCH_GEMM_SHAPES, blas_kernel_gemms, machine, preset_recipe,
                          set_blas_environment)

ROOT = Path(__file__).resolve().parent.parent
VALIDATION_BATCH = 1000
TORCH_COLUMNS = ["epoch", "validation_error", "train_error", "loss", "seconds"]


def ram_binary(build: Path) -> Path:
    binary = build / "src" / "cli" / "ram"
    if not binary.exists():
        sys.exit(f"{binary}: not built (cmake --build {build} --target ram)")
    return binary


def read_rows(path: Path) -> list[dict]:
    if not path.exists():
        return []
    with path.open() as f:
        return [{k: int(v) if k == "epoch" else float(v) for k, v in row.items()}
                for row in csv.DictReader(f)]


def first_reaching(rows: list[dict], target: float) -> dict | None:
    """Epoch, cumulative seconds and error of the first epoch at or below target (a fraction)."""
    total = 0.0
    for row in rows:
        total += row["seconds"]
        if row["validation_error"] <= target:
            return {"epoch": row["epoch"], "seconds": total,
                    "error": row["validation_error"]}
    return None


# ----------------------------------------------------------------------------------------------
# The C++ side: `ram train`, its own per-epoch metrics.csv (whose seconds include validation).


def start_ram(binary: Path, preset: str, threads: int, seed: int, out: Path) -> subprocess.Popen:
    resume = (out / "checkpoint.ram").exists()
    cmd = [str(binary), "train", "--out", str(out)]
    cmd += ["--resume"] if resume else ["--preset", preset, "--threads", str(threads),
                                        "--seed", str(seed)]
    print("  $ " + " ".join(shlex.quote(c) for c in cmd), flush=True)
    log = (out.parent / "ram.log").open("a")
    return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)


def watch_ram(process: subprocess.Popen, metrics: Path, target: float) -> str | None:
    """Waits until `ram train` reaches the target (then stops it) or ends; returns what went
    wrong, if anything."""
    while process.poll() is None:
        if first_reaching(read_rows(metrics), target):
            process.send_signal(signal.SIGINT)  # ram train saves its state and stops
            process.wait()
            return None
        time.sleep(2)
    if process.returncode != 0 and not first_reaching(read_rows(metrics), target):
        return f"ram train failed (exit {process.returncode}); see {metrics.parent.parent}/ram.log"
    return None


class RamWatcher:
    """Watches `ram train` from a thread, so that this process can train the PyTorch side
    meanwhile and the C++ side still stops at the target; join() waits and exits on a failure."""

    def __init__(self, process: subprocess.Popen, metrics: Path, target: float):
        self.failure: str | None = None
        self.thread = threading.Thread(target=self._watch, args=(process, metrics, target),
                                       daemon=True)
        self.thread.start()

    def _watch(self, process: subprocess.Popen, metrics: Path, target: float) -> None:
        self.failure = watch_ram(process, metrics, target)

    def join(self) -> None:
        self.thread.join()
        if self.failure:
            sys.exit(self.failure)


# ----------------------------------------------------------------------------------------------
# The PyTorch side, in this process.


def render_split(recipe: dict, split: str, seed: int, build: Path):
    """(images, labels) of a split as numpy arrays, rendered by the library's task renderers
    (the Python module), so both sides see the same kind of images."""
    sys.path.insert(0, str(build / "python"))
    import ram  # the module of this build

    task = recipe["task"]
    kind, canvas = task["kind"], task["canvas"]
    if kind == "centred":
        return ram.datasets.centred(recipe["data"], split, canvas, seed)
    if kind == "translated":
        return ram.datasets.translated(recipe["data"], split, canvas, seed)
    return ram.datasets.cluttered(recipe["data"], split, canvas, task["clutter_pieces"],
                                  task["clutter_size"], seed)


def kept_blas_kernels(torch_out: Path) -> dict | None:
    """The kernel set the PyTorch side chose when it started (choose_blas_kernels), if it did."""
    kept = torch_out / "blas_kernels.json"
    return json.loads(kept.read_text()) if kept.exists() else None


def choose_blas_kernels(threads: int, torch_out: Path) -> dict:
    """PyTorch at its best: the OpenBLAS kernel set (OPENBLAS_CORETYPE) whose large matrix
    product runs fastest here on these threads, kept in OUT/pytorch/blas_kernels.json so that a
    continued run keeps it (kept_blas_kernels)."""
    big = "x".join(map(str, TORCH_GEMM_SHAPES[-1]))
    tried = blas_kernel_gemms(threads, 1.0)
    name, best = max(tried.items(), key=lambda item: item[1][big])
    chosen = {"choice": best["choice"], "name": name,
              "rates": {k: round(g[big], 1) for k, g in tried.items()}}
    (torch_out / "blas_kernels.json").write_text(json.dumps(chosen) + "\n")
    return chosen


def train_torch(recipe: dict, threads: int, seed: int, out: Path, target: float,
                build: Path) -> None:
    import torch

    sys.path.insert(0, str(ROOT / "reference"))
    import ram_reference as ref

    torch.set_num_threads(threads)
    task = recipe["task"]
    cfg = ref.RamConfig.from_dict(dict(recipe["model"], image_height=task["canvas"],
                                       image_width=task["canvas"]))
    opt_cfg = ref.OptimizerConfig.from_dict(recipe["optimizer"])
    weights = ref.LossWeights(**recipe["loss"])
    B, epochs, T = recipe["batch_size"], recipe["epochs"], cfg.glimpses
    if recipe.get("monte_carlo", 1) != 1 or recipe.get("random_glimpses"):
        sys.exit("time_to_accuracy.py: the PyTorch side trains one episode per image with a "
                 "learned policy; this recipe asks for more")

    val_images, val_labels = render_split(recipe, "validation", recipe["validation_seed"], build)
    val_x, val_y = torch.from_numpy(val_images), torch.from_numpy(val_labels).long()
    train_x = train_y = None
    batches = None

    model = ref.RamModel(cfg)
    generator = torch.Generator().manual_seed(seed)
    model.reset_parameters(recipe["init_range"], generator)
    state_file, metrics = out / "state.pt", out / "metrics.csv"
    rows = read_rows(metrics)
    optimizer = scheduler = None
    start_epoch = 0
    state = torch.load(state_file) if state_file.exists() else None
    if state is not None:
        model.load_state_dict(state["model"])
        generator.set_state(state["generator"])
        start_epoch = state["epoch"]
        rows = rows[:start_epoch]
    for epoch in range(start_epoch, epochs):
        if first_reaching(rows, target):
            return
        if train_x is None or task["kind"] != "centred":
            # Translated and cluttered tasks place every digit anew each epoch, as ram train does.
            images, labels = render_split(recipe, "train", seed * 1000003 + epoch, build)
            train_x, train_y = torch.from_numpy(images), torch.from_numpy(labels).long()
            batches = train_x.shape[0] // B
        if optimizer is None:
            optimizer, scheduler = ref.torch_optimizer(model.parameters(), opt_cfg,
                                                       epochs * batches)
            if state is not None:
                optimizer.load_state_dict(state["optimizer"])
                scheduler.load_state_dict(state["scheduler"])
        start = time.perf_counter()
        model.train()
        order = torch.randperm(train_x.shape[0], generator=generator)
        loss_sum = correct = 0.0
        for b in range(batches):
            index = order[b * B:(b + 1) * B]
            x, y = train_x[index], train_y[index]
            draws = torch.randn(B, T, 2, generator=generator)
            parts = ref.train_step(model, optimizer, x, y, draws, weights, scheduler,
                                   opt_cfg.clip_norm)
            loss_sum += float(parts.total) * B
            correct += float(parts.reward.sum())
        model.eval()
        wrong = 0
        for i in range(0, val_x.shape[0], VALIDATION_BATCH):
            x = val_x[i:i + VALIDATION_BATCH]
            draws = torch.randn(x.shape[0], T, 2, generator=generator)
            predicted = ref.class_probabilities(model, x, "sample", draws).argmax(dim=1)
            wrong += int((predicted != val_y[i:i + VALIDATION_BATCH]).sum())
        seconds = time.perf_counter() - start
        seen = batches * B
        row = {"epoch": epoch + 1, "validation_error": wrong / val_x.shape[0],
               "train_error": 1.0 - correct / seen,
               "loss": loss_sum / seen, "seconds": seconds}
        rows.append(row)
        print(f"  pytorch epoch {epoch + 1}/{epochs}: validation error "
              f"{100 * row['validation_error']:.2f}%, {seconds:.1f} s", flush=True)
        with metrics.open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=TORCH_COLUMNS)
            writer.writeheader()
            writer.writerows(rows)
        torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(), "generator": generator.get_state(),
                    "epoch": epoch + 1}, str(state_file) + ".tmp")
        os.replace(str(state_file) + ".tmp", state_file)


# ----------------------------------------------------------------------------------------------


def summary(command: str, preset: str, target: float, threads: int, seed: int,
            ram_rows: list[dict], torch_rows: list[dict], recipe: dict,
            kernels: dict | None, finished: float) -> str:
    near = target + 0.01  # one point above the target
    kernels_text = ""
    if kernels:
        tried = ", ".join(f"{name} {rate:g}" for name, rate in kernels["rates"].items())
        kernels_text = (f" PyTorch's BLAS kernels: {kernels['name']}, the fastest "
                        f"{'x'.join(map(str, TORCH_GEMM_SHAPES[-1]))} product of those tried "
                        f"(GFLOP/s on {threads} thread(s): {tried}).")
    lines = [f"Time to {100 * target:g}% validation error, preset {preset} (seed {seed}, "
             f"{threads} thread(s) per side, batch {recipe['batch_size']}, schedule over "
             f"{recipe['epochs']} epochs; last epoch finished "
             f"{time.strftime('%Y-%m-%d %H:%M', time.gmtime(finished))} UTC; "
             f"`{command}`). Machine: {machine()}.{kernels_text}", "",
             f"| side | epochs run | first at or below {100 * near:g}% | reached at epoch | "
             "wall time to reach | mean s per epoch |",
             "|---|---|---|---|---|---|"]
    reached, per_epoch = {}, {}
    for name, rows in (("ram (C++)", ram_rows), ("PyTorch reference", torch_rows)):
        hit = first_reaching(rows, target)
        close = first_reaching(rows, near)
        close_text = f"epoch {close['epoch']}, {close['seconds'] / 60:.1f} min" if close else "-"
        if rows:
            per_epoch[name] = sum(r["seconds"] for r in rows) / len(rows)
        mean = f"{per_epoch[name]:.1f}" if rows else "-"
        if hit:
            reached[name] = hit["seconds"]
            lines.append(f"| {name} | {len(rows)} | {close_text} | {hit['epoch']} "
                         f"({100 * hit['error']:.2f}%) | {hit['seconds'] / 60:.1f} min | {mean} |")
        else:
            lines.append(f"| {name} | {len(rows)} | {close_text} | not yet | > "
                         f"{sum(r['seconds'] for r in rows) / 60:.1f} min | {mean} |")
    if len(reached) == 2:
        sooner = reached["PyTorch reference"] / reached["ram (C++)"]
        faster = per_epoch["PyTorch reference"] / per_epoch["ram (C++)"]
        lines += ["", f"ram reached the target {sooner:.1f}x sooner; an epoch took it {faster:.1f}x "
                  "less time. The epoch at which one run's validation error first dips under "
                  "the target is a noisy figure, since the error can hover just above it for "
                  "many epochs; the epoch each side first came within "
                  f"{100 * (near - target):g} point of it shows how far apart the two learning "
                  "curves are."]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", default="mnist28-6g")
    ap.add_argument("--target", type=float, default=3.0, help="validation error, percent")
    ap.add_argument("--threads", type=int, default=1, help="threads per side (default 1)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--side", choices=["both", "ram", "pytorch"], default="both")
    ap.add_argument("--out", type=Path, required=True, help="state and results of both sides")
    ap.add_argument("--build", type=Path, default=ROOT / "build")
    args = ap.parse_args()
    if not 0 < args.target < 100:
        sys.exit("--target: a validation error in percent, between 0 and 100")
    if args.threads < 1:
        sys.exit("--threads: at least 1")

    target = args.target / 100
    binary = ram_binary(args.build)
    recipe = preset_recipe(binary, args.preset)
    ram_out, torch_out = args.out / "ram", args.out / "pytorch"
    torch_out.mkdir(parents=True, exist_ok=True)
    ram_metrics = ram_out / "metrics.csv"

    kernels = kept_blas_kernels(torch_out)
    if args.side in ("both", "pytorch"):
        # Before torch is imported: OpenBLAS reads its threads and kernels when it loads.
        kernels = kernels or choose_blas_kernels(args.threads, torch_out)
        set_blas_environment(os.environ, args.threads, kernels["choice"])

    watcher = None
    if args.side in ("both", "ram") and not first_reaching(read_rows(ram_metrics), target):
        watcher = RamWatcher(start_ram(binary, args.preset, args.threads, args.seed, ram_out),
                             ram_metrics, target)
        if args.threads > 1 or args.side == "ram":  # one side after the other
            watcher.join()
            watcher = None
    if args.side in ("both", "pytorch"):
        train_torch(recipe, args.threads, args.seed, torch_out, target, args.build)
    if watcher is not None:
        watcher.join()

    command = "/usr/bin/python3 bench/time_to_accuracy.py " + " ".join(
        shlex.quote(a) for a in sys.argv[1:])
    torch_metrics = torch_out / "metrics.csv"
    finished = max((p.stat().st_mtime for p in (ram_metrics, torch_metrics) if p.exists()),
                   default=time.time())
    text = summary(command, args.preset, target, args.threads, args.seed, read_rows(ram_metrics),
                   read_rows(torch_metrics), recipe, kernels, finished)
    (args.out / "summary.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
