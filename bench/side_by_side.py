#!/usr/bin/python3
"""Side-by-side benchmark: the C++ trainer (`ram bench`) against the PyTorch reference
(reference/ram_reference.py), on this machine, in one invocation, with the same thread count and
the same model configurations; plus the machine's GEMM ceiling (build/bench/gemm_ceiling) and a
scaling study of evaluation time per image against canvas size (RAM vs the paper's
convolutional baseline).

Run from anywhere, with a Python that has torch (Debian: /usr/bin/python3 with python3-torch),
after building the C++ targets `ram` and `gemm_ceiling` into build/:

    cmake -S . -B build && cmake --build build --target ram gemm_ceiling -j2
    /usr/bin/python3 bench/side_by_side.py --seconds 3 --out BENCHMARKS.md

PyTorch is compared at its best: its own matrix-product rate is measured first, and the script
refuses to compare (unless --allow-slow-torch) when it is far below the machine's Eigen GEMM
ceiling, the sign of a slow BLAS; every row is then measured with each combination of torch and
BLAS threads (1 or --threads) and the best kept.

On a CPU with AVX-512, --without-avx512 stands in for one without: both sides are held to AVX2
(a separate build, checked to hold no AVX-512 instruction, and OpenBLAS's AVX2 kernels); given
a --build that holds AVX-512 instructions, it prints the commands that build and measure the
stand-in (AVX2_COMMANDS below).

Every PyTorch measurement runs in its own subprocess (this script with --worker), so each
reported peak resident set belongs to one configuration only; likewise each `ram bench` is its own
process and reports its own peak.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import resource
import shlex
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# The stand-in for a CPU without AVX-512: a build held to AVX2, measured into its own report.
AVX2_COMMANDS = """\
    cmake -S . -B build-avx2 -DCMAKE_BUILD_TYPE=Release -DRAM_ARCH=x86-64-v3
    cmake --build build-avx2 --target ram gemm_ceiling -j2
    /usr/bin/python3 bench/side_by_side.py --seconds 3 --build build-avx2 --without-avx512 \\
        --out docs/benchmarks-without-avx512.md"""

# The rows: presets of src/ram/experiments/presets.cpp. Everything about them (task, model, loss
# weights, optimiser) comes from the preset itself (`ram train --preset P --dry-run`), so the
# PyTorch side trains what `ram bench --preset P` trains.
PRESETS = ["mnist28-6g", "translated60-8g", "cluttered100-8g"]
CORE_NAMES = {"lstm": "LSTM", "relu": "ReLU"}
BATCHES = [20, 128]
# Torch's own matrix products, measured before anything is compared: a PyTorch on a slow BLAS
# (Debian's reference libblas, when OpenBLAS is not installed) would make every ratio flatter us.
TORCH_GEMM_SHAPES = [(128, 256, 256), (1024, 1024, 1024)]
# Below this share of the machine's Eigen GEMM ceiling, torch's 1024^3 product means a slow BLAS.
MIN_TORCH_GEMM_SHARE = 0.5
CANVASES = [60, 128, 256, 512, 1024]
SCALING_PRESET = "translated60-8g"
SCALING_BATCH = 20
# Time to the paper's accuracy, read from the committed models' own training histories
# (models/<preset>.ram): the paper's test error for each row (NIPS 2014), and the multiples of
# it at which the time is also given, so a run that never reaches the paper still shows its pace.
PAPER_ERRORS = {"translated60-8g": 1.2, "cluttered60-8g": 4.04}
PAPER_MULTIPLES = [2.0, 1.5, 1.25, 1.0]
# Where --without-avx512's report is kept (relative to the repository), linked from the main one.
STAND_IN_REPORT = "docs/benchmarks-without-avx512.md"


# ----------------------------------------------------------------------------------------------
# The PyTorch side (runs in a worker subprocess).


def peak_rss_mib() -> float:
    """This process's peak resident set: VmHWM, the high-water mark of its own address space.
    (getrusage's ru_maxrss is the fallback only: Linux carries it across execve, so a child
    would report at least its parent's size at the fork.)"""
    try:
        m = re.search(r"VmHWM:\s*(\d+) kB", Path("/proc/self/status").read_text())
        if m:
            return int(m.group(1)) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def synthetic_digits(count: int, rng):
    """Random 28x28 'digits' (a few thick random strokes of grey levels in the middle 20x20), as
    ram::synthetic_digits draws them (not the same random stream)."""
    import numpy as np
    digits = np.zeros((count, 28, 28), dtype=np.float32)
    for i in range(count):
        for _ in range(4):
            r, c = rng.integers(4, 24), rng.integers(4, 24)
            for _ in range(12):
                r = min(max(r + rng.integers(-1, 2), 4), 23)
                c = min(max(c + rng.integers(-1, 2), 4), 23)
                digits[i, r, c] = rng.uniform(0.5, 1.0)
    return digits, rng.integers(0, 10, size=count)


def render(kind: str, canvas: int, clutter: int, digits, rng, clutter_size: int = 8):
    """The paper's tasks (as src/ram/env/tasks.h describes them): the digit centred, or placed
    uniformly at random fully inside a blank canvas, plus for 'cluttered' `clutter` random
    clutter_size crops of random digits at random places, summed and clipped to 1."""
    import numpy as np
    n = digits.shape[0]
    out = np.zeros((n, canvas, canvas), dtype=np.float32)
    for i in range(n):
        img = out[i]
        if kind == "centred":
            r0 = c0 = (canvas - 28) // 2
        else:
            if kind == "cluttered":
                for _ in range(clutter):
                    src = digits[rng.integers(0, n)]
                    sr, sc = rng.integers(0, 28 - clutter_size + 1, size=2)
                    tr, tc = rng.integers(0, canvas - clutter_size + 1, size=2)
                    img[tr:tr + clutter_size, tc:tc + clutter_size] += \
                        src[sr:sr + clutter_size, sc:sc + clutter_size]
            r0, c0 = rng.integers(0, canvas - 28 + 1, size=2)
        img[r0:r0 + 28, c0:c0 + 28] += digits[i]
        np.clip(img, 0.0, 1.0, out=img)
    return out


def timed_loop(step, seconds: float, warmup_steps: int):
    """Runs step() warmup_steps times, then until `seconds` have elapsed (at least 3 times);
    returns (steps, elapsed) of the timed part."""
    for _ in range(warmup_steps):
        step()
    steps, start = 0, time.perf_counter()
    while True:
        step()
        steps += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds and steps >= 3:
            return steps, elapsed


def loaded_blas_libraries() -> str:
    """The BLAS (or MKL) shared libraries this process has mapped, by their real paths: Debian's
    torch links libblas.so.3, which the alternatives system points at OpenBLAS or at the slow
    reference implementation."""
    found = set()
    with open("/proc/self/maps") as maps:
        for line in maps:
            fields = line.split()
            if len(fields) >= 6:
                name = os.path.basename(fields[5])
                if "blas" in name or "mkl" in name:
                    found.add(os.path.realpath(fields[5]))
    return ", ".join(sorted(found)) or "none found"


def torch_gemm(job: dict) -> dict:
    import torch
    torch.set_num_threads(job["threads"])
    torch.manual_seed(1)
    result = {"torch": torch.__version__}
    for m, k, n in TORCH_GEMM_SHAPES:
        a, b = torch.randn(m, k), torch.randn(k, n)
        steps, elapsed = timed_loop(lambda: torch.mm(a, b), job["seconds"], 3)
        result[f"{m}x{k}x{n}"] = 2.0 * m * k * n * steps / elapsed / 1e9
    result["blas"] = loaded_blas_libraries()
    return result


def worker(job: dict) -> dict:
    if job["model"] == "gemm":
        return torch_gemm(job)
    import numpy as np
    import torch
    sys.path.insert(0, str(ROOT / "reference"))
    import ram_reference as ref

    # Torch's own threads and its BLAS's threads (run_worker sets the latter) may differ.
    torch.set_num_threads(job.get("torch_threads", job["threads"]))
    torch.manual_seed(1)
    rng = np.random.default_rng(1)
    result = {"torch": torch.__version__, "rss_after_import_mib": peak_rss_mib()}
    recipe = job["recipe"]  # the preset's training configuration, as ram prints it
    task = recipe["task"]
    canvas = job.get("canvas") or task["canvas"]
    B = job["batch"]

    if job["model"] == "conv":
        # The paper's convolutional baseline on the canvas, evaluation only.
        model = ref.ConvBaseline(canvas, canvas).eval()
        pool = 2 * B
        images = torch.from_numpy(render("translated", canvas, 0, synthetic_digits(pool, rng)[0], rng))
        batches = [images[i:i + B] for i in range(0, pool, B)]
        k = [0]

        def eval_step():
            with torch.no_grad():
                model(batches[k[0] % len(batches)])
            k[0] += 1

        steps, elapsed = timed_loop(eval_step, job["seconds"], 2)
        result["eval_images_per_second"] = steps * B / elapsed
        conv = model.conv
        oh = (canvas - conv.kernel_size[0]) // conv.stride[0] + 1
        ow = (canvas - conv.kernel_size[1]) // conv.stride[1] + 1
        result["forward_flops"] = (2 * conv.in_channels * conv.kernel_size[0] * conv.kernel_size[1]
                                   * conv.out_channels * oh * ow
                                   + 2 * model.fc.in_features * model.fc.out_features
                                   + 2 * model.out.in_features * model.out.out_features)
        result["peak_mib"] = peak_rss_mib()
        return result

    cfg = ref.RamConfig.from_dict(dict(recipe["model"], image_height=canvas, image_width=canvas))
    model = ref.RamModel(cfg)
    # A pool of images rendered once, outside the timed loops; batches cycle through it.
    pool = max(4 * B, 256) if job["train"] else 2 * B
    digits, labels = synthetic_digits(pool, rng)
    images = torch.from_numpy(render(task["kind"], canvas, task["clutter_pieces"], digits, rng,
                                     task["clutter_size"]))
    labels = torch.from_numpy(labels).long()
    batches = [(images[i:i + B], labels[i:i + B]) for i in range(0, pool - B + 1, B)]
    T = cfg.glimpses

    if job["train"]:
        opt_cfg = ref.OptimizerConfig.from_dict(recipe["optimizer"])
        optimizer, scheduler = ref.torch_optimizer(model.parameters(), opt_cfg, 10**7)
        weights = ref.LossWeights(**recipe["loss"])
        k = [0]

        def train_step():
            x, y = batches[k[0] % len(batches)]
            k[0] += 1
            ref.train_step(model, optimizer, x, y, torch.randn(B, T, 2), weights, scheduler,
                           opt_cfg.clip_norm)

        steps, elapsed = timed_loop(train_step, job["seconds"], 10)
        result["train_images_per_second"] = steps * B / elapsed
        result["train_peak_mib"] = peak_rss_mib()

    model.eval()
    k = [0]

    def eval_step():
        x, _ = batches[k[0] % len(batches)]
        k[0] += 1
        ref.class_probabilities(model, x, "sample", torch.randn(B, T, 2))

    steps, elapsed = timed_loop(eval_step, job["seconds"], 5)
    result["eval_images_per_second"] = steps * B / elapsed
    result["peak_mib"] = peak_rss_mib()
    return result


def set_blas_environment(env, threads: int, kernels: str | None) -> None:
    """Sets in env (os.environ, or a child's copy of it) what torch's BLAS reads when it loads:
    its threads (torch.set_num_threads does not reach OpenBLAS's own) and its kernel set
    (OPENBLAS_CORETYPE; None: OpenBLAS's own choice, whatever the environment asked for)."""
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env[var] = str(threads)
    env.pop("OPENBLAS_CORETYPE", None)
    if kernels:
        env["OPENBLAS_CORETYPE"] = kernels


def run_worker(job: dict) -> dict:
    env = dict(os.environ)
    set_blas_environment(env, job.get("blas_threads", job["threads"]), job.get("blas_kernels"))
    env["OPENBLAS_VERBOSE"] = "2"  # OpenBLAS then names the kernels it chose on stderr
    out = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--worker",
                          json.dumps(job)], capture_output=True, text=True, env=env)
    if out.returncode != 0:
        sys.exit(f"PyTorch worker failed for {job}:\n{out.stderr}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    kernels = re.search(r"^Core: (\w+)", out.stderr, re.MULTILINE)
    result["blas_kernels"] = kernels.group(1) if kernels else None
    return result


def cpu_flags() -> set[str]:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def blas_kernel_choices(without_avx512: bool = False) -> list[str | None]:
    """The OpenBLAS kernel sets (OPENBLAS_CORETYPE) worth trying on this CPU: OpenBLAS's own
    choice (None), the one this process's environment asks for, if any, and the widest ones the
    CPU runs. An environment can pin narrower kernels than the CPU runs (OPENBLAS_CORETYPE=Haswell,
    AVX2, on a CPU with AVX-512 runs a large matrix product at about half the speed), and
    OpenBLAS's own choice, made by CPU model, can be narrower than the CPU allows when the
    release is older than the CPU. without_avx512: only the AVX2 kernels, the widest a CPU
    without AVX-512 runs."""
    flags = cpu_flags()
    if without_avx512:
        return ["Haswell"]
    choices: list[str | None] = [None]
    if os.environ.get("OPENBLAS_CORETYPE"):
        choices.append(os.environ["OPENBLAS_CORETYPE"])
    if {"avx512f", "avx512bw", "avx512dq", "avx512vl"} <= flags:
        choices.append("SkylakeX")
    if {"avx2", "fma"} <= flags:
        choices.append("Haswell")
    return list(dict.fromkeys(choices))  # the environment's may repeat a later one


def blas_kernel_gemms(threads: int, seconds: float, measure=lambda m: m(),
                      without_avx512: bool = False) -> dict:
    """torch's matrix products (run_worker's "gemm" job) with each kernel set worth trying, keyed
    by the name OpenBLAS reports ("default" when it names none), each with the OPENBLAS_CORETYPE
    value that chose it as "choice". OpenBLAS's own choice comes first, so an explicit setting
    that repeats it is dropped. measure wraps each measurement (a wait for a quiet machine)."""
    gemms = {}
    for choice in blas_kernel_choices(without_avx512):
        g = measure(lambda: run_worker({"model": "gemm", "threads": threads, "seconds": seconds,
                                        "blas_kernels": choice}))
        gemms.setdefault(g["blas_kernels"] or "default", dict(g, choice=choice))
    return gemms


# ----------------------------------------------------------------------------------------------
# The C++ side.


def run(cmd: list[str]) -> str:
    print("  $ " + " ".join(shlex.quote(c) for c in cmd), file=sys.stderr, flush=True)
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"command failed ({out.returncode}): {' '.join(cmd)}\n{out.stdout}{out.stderr}")
    return out.stdout


def field(text: str, pattern: str, default=None) -> float:
    m = re.search(pattern, text)
    if not m:
        if default is not None:
            return default
        sys.exit(f"could not find /{pattern}/ in:\n{text}")
    return float(m.group(1))


def gemm_ceiling(binary: Path, threads: int) -> dict:
    text = run([str(binary), "--threads", str(threads)])
    shapes = {}
    for m in re.finditer(r"gemm (\d+x\d+x\d+) GFLOP/s \((\d+) threads?\): ([\d.]+)", text):
        shapes[(m.group(1), int(m.group(2)))] = float(m.group(3))
    eigen = re.search(r"Eigen ([\d.]+)", text)
    return {"one": field(text, r"gemm GFLOP/s \(1 thread\): ([\d.]+)"),
            "n": field(text, rf"gemm GFLOP/s \({threads} threads?\): ([\d.]+)") if threads > 1
            else field(text, r"gemm GFLOP/s \(1 thread\): ([\d.]+)"),
            "shapes": shapes, "eigen": eigen.group(1) if eigen else "?"}


def preset_recipe(binary: Path, preset: str) -> dict:
    """The preset's training configuration (model, loss weights, optimiser, ...) as ram has it."""
    return json.loads(run([str(binary), "train", "--preset", preset, "--dry-run"]))


def describe_recipe(recipe: dict) -> str:
    """The model and optimiser settings of a preset, in words, for the report."""
    m, o, w = recipe["model"], recipe["optimizer"], recipe["loss"]
    core = CORE_NAMES.get(m["core"], m["core"]) + " core"
    parts = [f"hidden sizes {m['glimpse_hidden']}/{m['location_hidden']}/"
             f"{m['glimpse_features']}/{m['core_size']}", core,
             f"location std {m['location_std']:g}",
             "REINFORCE reaching the core" if m["reinforce_trains_core"] else
             "REINFORCE training the location net alone",
             f"loss weights {w['reinforce']:g} (REINFORCE) and {w['baseline']:g} (baseline)"]
    opt = (f"{o['kind'].capitalize()}, learning rate {o['learning_rate']:g} annealed "
           f"({o['schedule']}) to {o['final_learning_rate']:g}")
    if o["clip_norm"] > 0:
        opt += f", the gradient's global norm clipped at {o['clip_norm']:g}"
    return ", ".join(parts) + "; " + opt


# Where a training step's time goes: `perf record` of `ram bench --train-only`, each sample
# counted under the function it was in (its own time, not its callees'), grouped by the first
# pattern that matches the function's name.
PROFILE_PRESET = "translated60-8g"
PROFILE_GROUPS = [
    ("matrix products (the step products; Eigen's GEMM kernel and packing)",
     r"step_product_detail|gebp_kernel|gemm_pack|general_matrix_matrix|general_matrix_vector|gemv"
     r"|Eigen::internal::.*product"),
    ("the retina (patch extraction)", r"retina_extract"),
    ("the LSTM core, element-wise (gates, cell)", r"LstmCore"),
    ("the ReLU core, element-wise", r"ReluCore"),
    ("the optimiser (gradient norm, Adam update)", r"Optimizer"),
    ("adding the threads' gradients", r"add_thread_gradients|DataParallelGradient"),
    ("rendering the training images", r"render|place_digit|clutter|synthetic_digits"),
    ("clearing and copying buffers", r"memset|memcpy|memmove"),
    ("the rest of the model (glimpse network, heads, losses, REINFORCE)", r"ram::"),
    ("the operating system (page faults, scheduling)", r"^\[k\]"),
]


def profile_training(binary: Path, preset: str, batch: int, threads: int,
                     seconds: float) -> dict | None:
    """Shares of a training step's samples per group of PROFILE_GROUPS (and 'other'), with the
    top functions; None when perf is missing or may not record."""
    import shutil
    import tempfile
    perf = shutil.which("perf")
    if not perf:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "perf.data")
        cmd = [perf, "record", "-q", "-F", "999", "-o", data, "--", str(binary), "bench",
               "--preset", preset, "--batch", str(batch), "--threads", str(threads),
               "--seconds", str(seconds), "--train-only"]
        print("  $ " + " ".join(shlex.quote(c) for c in cmd), file=sys.stderr, flush=True)
        if subprocess.run(cmd, capture_output=True).returncode != 0:
            return None
        report = subprocess.run([perf, "report", "-i", data, "--no-children", "--sort",
                                 "dso,symbol", "--stdio", "-g", "none", "--percent-limit", "0"],
                                capture_output=True, text=True)
    if report.returncode != 0:
        return None
    shares: dict[str, float] = {}
    functions = []
    for line in report.stdout.splitlines():
        m = re.match(r"\s*([\d.]+)%\s+\S+\s+\[(.)\]\s+(.*\S)", line)
        if not m:
            continue
        # perf pads the symbol column and may add empty columns ("-") after it.
        share, kind = float(m.group(1)), m.group(2)
        name = re.sub(r"(\s+-)+$", "", m.group(3)).strip()
        key = ("[k] " if kind == "k" else "") + name
        group = next((g for g, pattern in PROFILE_GROUPS if re.search(pattern, key)), "other")
        shares[group] = shares.get(group, 0.0) + share
        functions.append((share, name, group))
    total = sum(shares.values()) or 1.0
    return {"shares": {g: 100 * v / total for g, v in shares.items()},
            "top": [(100 * s / total, n, g) for s, n, g in sorted(functions, reverse=True)[:8]]}


def short_name(name: str) -> str:
    """A C++ function's name without template arguments and parameter lists; a lambda called
    through std::function is named by the function it is in."""
    if "_Function_handler" in name:
        m = re.search(r"(ram::[\w:]+)\(", name)
        if m:
            return f"a lambda in {m.group(1)}"
    name = name.replace("operator()", "operator@")
    previous = None
    while previous != name:
        previous, name = name, re.sub(r"<[^<>]*>|\([^()]*\)", "", name)
    return name.replace("operator@", "operator()").strip()


def layer_flops(model: dict) -> dict:
    """Multiply-adds per image of each layer's matrix products in one forward pass."""
    T, R = model["glimpses"], model["scales"] * model["glimpse_size"] ** 2
    gh, lh, F, H = (model["glimpse_hidden"], model["location_hidden"], model["glimpse_features"],
                    model["core_size"])
    gates = 4 if model["core"] == "lstm" else 1
    return {"glimpse network": T * (R * gh + 2 * lh + (gh + lh) * F),
            CORE_NAMES.get(model["core"], model["core"]) + " core":
                T * gates * H * (F + H),
            "location net, baseline and classifier": T * (2 * H + H) + model["classes"] * H}


def preset_label(recipe: dict) -> str:
    """The task and retina of a preset, e.g. "60x60 translated, 8 x 12x12x3"."""
    t, m = recipe["task"], recipe["model"]
    return (f"{t['canvas']}x{t['canvas']} {t['kind']}, {m['glimpses']} x "
            f"{m['glimpse_size']}x{m['glimpse_size']}x{m['scales']}")


def ram_bench(binary: Path, preset: str, batch: int, threads: int, seconds: float,
              canvas: int | None = None, eval_only: bool = False) -> dict:
    cmd = [str(binary), "bench", "--preset", preset, "--batch", str(batch), "--threads",
           str(threads), "--seconds", str(seconds)]
    if canvas:
        cmd += ["--canvas", str(canvas)]
    if eval_only:
        cmd += ["--eval-only"]
    text = run(cmd)
    r = {"eval_images_per_second": field(text, r"eval img/s: ([\d.]+)"),
         "eval_ms": field(text, r"eval ms/image: ([\d.]+)"),
         "forward_flops": field(text, r"FLOPs per image: ([\d.]+) M forward") * 1e6,
         "train_flops": field(text, r"([\d.]+) M training step") * 1e6,
         "peak_mib": field(text, r"peak memory: ([\d.]+) MiB")}
    if not eval_only:
        r["train_images_per_second"] = field(text, r"train img/s: ([\d.]+)")
        r["train_peak_mib"] = field(text, r"peak memory after training: ([\d.]+) MiB")
    return r


# ----------------------------------------------------------------------------------------------
# Reporting.


def machine() -> str:
    model, cores = platform.processor() or "?", os.cpu_count()
    try:
        text = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        m = re.search(r"Model name:\s*(.+)", text)
        model = m.group(1).strip() if m else model
        per_socket = re.search(r"Core\(s\) per socket:\s*(\d+)", text)
        sockets = re.search(r"Socket\(s\):\s*(\d+)", text)
        if per_socket and sockets:
            cores = int(per_socket.group(1)) * int(sockets.group(1))
        flags = re.search(r"Flags:\s*(.+)", text)
        simd = [f for f in ("avx2", "fma", "avx512f") if flags and f in flags.group(1).split()]
        hyper = re.search(r"Hypervisor vendor:\s*(.+)", text)
    except OSError:
        simd, hyper = [], None
    mem = ""
    try:
        kib = int(re.search(r"MemTotal:\s*(\d+)", Path("/proc/meminfo").read_text()).group(1))
        mem = f", {kib / 2**20:.0f} GiB RAM"
    except (OSError, AttributeError):
        pass
    return (f"{model}, {cores} cores ({os.cpu_count()} logical CPUs){mem}, "
            f"{'/'.join(simd) or 'no AVX2'}" + (f", {hyper.group(1).strip()} virtual machine"
                                               if hyper else ""))


def avx512_instructions(binary: Path) -> int:
    """How many instructions of the binary use AVX-512's zmm registers (objdump's disassembly)."""
    out = subprocess.run(["objdump", "-d", "--no-show-raw-insn", str(binary)],
                         capture_output=True, text=True)
    if out.returncode:
        sys.exit(f"objdump -d {binary} failed: {out.stderr.strip()}")
    return sum(1 for line in out.stdout.splitlines() if "%zmm" in line)


def compiler(build: Path) -> str:
    try:
        cache = (build / "CMakeCache.txt").read_text()
        cxx = re.search(r"CMAKE_CXX_COMPILER:\w+=(.+)", cache).group(1).strip()
        build = re.search(r"CMAKE_BUILD_TYPE:\w+=(.*)", cache).group(1).strip()
        arch = re.search(r"RAM_ARCH:\w+=(.*)", cache)
        version = subprocess.run([cxx, "--version"], capture_output=True,
                                 text=True).stdout.splitlines()[0]
        return f"{version}, {build}" + (f", -march={arch.group(1).strip()}"
                                        if arch and arch.group(1).strip() else "")
    except (OSError, AttributeError, IndexError):
        return "?"


def ram_commit(binary: Path) -> str:
    """The commit `ram --version` says the binary was built from."""
    m = re.search(r"commit: (.+)", run([str(binary), "--version"]))
    return m.group(1).strip() if m else "?"


def busy_cpu_seconds() -> float:
    """CPU seconds all processes on the machine have used since boot (not idle, not iowait)."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    except (OSError, ValueError):
        return float("nan")
    busy = sum(fields[:8]) - fields[3] - fields[4]  # user..steal minus idle and iowait
    return busy / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    """CPU seconds used by this process and its finished children (the benchmarks)."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        r = resource.getrusage(who)
        total += r.ru_utime + r.ru_stime
    return total


def other_cores(since_busy: float, since_own: float, since_time: float) -> float:
    """Average number of cores other processes kept busy since the given readings."""
    elapsed = max(time.time() - since_time, 1e-9)
    return max(0.0, (busy_cpu_seconds() - since_busy) - (own_cpu_seconds() - since_own)) / elapsed


class Quiet:
    """Runs measurements when the machine is quiet: waits (up to `wait` seconds) until other
    processes use less than `limit` cores over a 1 s window, measures, and repeats the
    measurement (up to `retries` times) if others took more than `limit` cores meanwhile."""

    def __init__(self, wait: float, retries: int, limit: float = 0.1):
        self.wait, self.retries, self.limit = wait, retries, limit
        self.worst = 0.0  # the largest contention of any kept measurement, in cores
        self.repeated = 0

    def wait_until_quiet(self) -> None:
        deadline = time.time() + self.wait
        while True:
            b, o, t = busy_cpu_seconds(), own_cpu_seconds(), time.time()
            time.sleep(1.0)
            if other_cores(b, o, t) < self.limit or time.time() >= deadline:
                return
            print("  (waiting for a quiet machine)", file=sys.stderr, flush=True)

    def __call__(self, measure):
        for attempt in range(self.retries + 1):
            if self.wait > 0:
                self.wait_until_quiet()
            b, o, t = busy_cpu_seconds(), own_cpu_seconds(), time.time()
            result = measure()
            others = other_cores(b, o, t)
            if others < self.limit or attempt == self.retries:
                self.worst = max(self.worst, others)
                return result
            self.repeated += 1
            print(f"  other processes took {others:.2f} cores: measuring again",
                  file=sys.stderr, flush=True)


def time_to_accuracy_section(directories: list[Path] | None) -> str:
    """The report's time-to-accuracy section: the summaries of bench/time_to_accuracy.py runs
    (one per seed, say), in the order given."""
    if not directories:
        return ("Not in this report: `/usr/bin/python3 bench/time_to_accuracy.py --out DIR` "
                "measures it (hours), and `--time-to-accuracy DIR` includes its summary here.\n")
    summaries = []
    for directory in directories:
        summary = directory / "summary.md"
        if not summary.is_file():
            sys.exit(f"--time-to-accuracy {directory}: no summary.md there (run "
                     "bench/time_to_accuracy.py with --out pointing to it first)")
        summaries.append(summary.read_text())
    return "\n".join(summaries)


def paper_accuracy_section(ram: Path) -> str:
    """Wall time until each committed model's validation error first reached multiples of the
    paper's figure, from `ram compare MODEL --target ...` on the model's own history."""
    header = ["model", "epochs", "best validation error (epoch)", "wall time"]
    header += [("the paper's figure" if m == 1 else f"{m:g}x the paper's") for m in PAPER_MULTIPLES]
    rows, missed = [], []
    for preset, paper in PAPER_ERRORS.items():
        model = ROOT / "models" / f"{preset}.ram"
        if not model.exists():
            sys.exit(f"{model}: missing (the committed model of {preset})")
        cmd = [str(ram), "compare", str(model)]
        for m in PAPER_MULTIPLES:
            cmd += ["--target", f"{m * paper:.4g}"]
        line = [l for l in run(cmd).splitlines() if l.startswith(f"| {preset} |")]
        if len(line) != 1:
            sys.exit(f"ram compare {model}: no table row for {preset}")
        cells = [c.strip() for c in line[0].strip("|").split("|")]
        _, epochs, _final, best, wall = cells[:5]
        reached = [f"{m * paper:.2f}%: {c}" for m, c in zip(PAPER_MULTIPLES, cells[5:])]
        rows.append([f"models/{preset}.ram (paper {paper:g}%)", epochs, best, wall] + reached)
        if cells[4 + len(PAPER_MULTIPLES)] == "not reached":
            missed.append(preset)
    verdict = ""
    if missed:
        verdict = (f"\n{' and '.join(missed)}: the sampled validation error does not reach the "
                   "paper's figure within the preset's schedule; the reported errors use the mean "
                   "location (`ram eval --greedy`), evaluated once at the end (README.md, "
                   "Results).\n")
    return f"""Wall time until the validation error (one sampled episode per image, measured after
every epoch) first reached the paper's test error, and multiples of it, in the training of the
committed models, read from the history each model file carries (`ram compare models/P.ram
--target PCT`). Those runs trained with one thread each, two side by side, on the machine and
days models/README.md gives; they are not timed in this report's run.

{markdown_table(header, rows)}
{verdict}"""


def fmt(x: float, digits: int = 0) -> str:
    return f"{x:,.{digits}f}"


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--worker":
        print(json.dumps(worker(json.loads(sys.argv[2]))))
        return

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=5.0,
                    help="seconds per measurement (each of training and evaluation; default 5)")
    ap.add_argument("--threads", type=int, default=2, help="threads for both (default 2)")
    ap.add_argument("--quick", action="store_true",
                    help="smoke test: two configurations, two canvases, 0.5 s measurements")
    ap.add_argument("--out", type=Path, help="write the Markdown report here (e.g. BENCHMARKS.md)")
    ap.add_argument("--wait-quiet", type=float, default=60, metavar="SECONDS",
                    help="before each measurement, wait up to this long for other processes to "
                         "leave the CPUs alone, and repeat (twice at most) a measurement "
                         "disturbed by them (default 60; 0: don't; --quick: don't)")
    ap.add_argument("--build", type=Path, default=ROOT / "build",
                    help="the CMake build directory (default build/)")
    ap.add_argument("--allow-slow-torch", action="store_true",
                    help="compare even when torch's matrix product runs far below the machine's "
                         "ceiling (a slow BLAS); the report then says so")
    ap.add_argument("--without-avx512", action="store_true",
                    help="stand in for a CPU without AVX-512 on one that has it: PyTorch's OpenBLAS "
                         "held to its AVX2 (Haswell) kernels, and --build must hold a build "
                         "without AVX-512 (cmake -DRAM_ARCH=x86-64-v3); checked")
    ap.add_argument("--time-to-accuracy", type=Path, metavar="DIR", nargs="+",
                    help="include the time-to-accuracy summaries of finished "
                         "bench/time_to_accuracy.py runs (their --out directories, one per seed, "
                         "say); that measurement takes hours, so it is made apart")
    args = ap.parse_args()
    if args.without_avx512 and args.time_to_accuracy:
        ap.error("--time-to-accuracy goes with the main report: a stand-in report leaves out "
                 "the accuracy sections")
    time_to_accuracy_text = time_to_accuracy_section(args.time_to_accuracy)
    command = "/usr/bin/python3 bench/side_by_side.py " + " ".join(
        shlex.quote(a) for a in sys.argv[1:])

    ram = args.build / "src" / "cli" / "ram"
    gemm = args.build / "bench" / "gemm_ceiling"
    for b in (ram, gemm):
        if not b.exists():
            sys.exit(f"{b} is missing: build it first with\n"
                     f"  cmake -S {ROOT} -B {args.build} && "
                     f"cmake --build {args.build} --target ram gemm_ceiling -j2")
    if args.without_avx512:
        if not {"avx2", "fma"} <= cpu_flags():
            sys.exit("--without-avx512 stands in for an AVX2 CPU, but this CPU has no AVX2/FMA")
        for b in (ram, gemm):
            if (n := avx512_instructions(b)):
                sys.exit(f"--without-avx512: {b} uses AVX-512 ({n} instructions on zmm "
                         f"registers); build it without, into its own folder (from {ROOT}), "
                         f"and measure:\n\n{AVX2_COMMANDS}")
    # The committed models' training histories were taken on the machine models/README.md
    # names; a stand-in report has nothing to add to them.
    paper_accuracy_text = None if args.without_avx512 else paper_accuracy_section(ram)
    # The workers need torch; check in a child, so this process stays small.
    if subprocess.run([sys.executable, "-c", "import torch"], capture_output=True).returncode:
        sys.exit("this Python has no torch: run it with /usr/bin/python3 (python3-torch)")

    seconds, threads = (0.5 if args.quick else args.seconds), args.threads
    runs = ([("mnist28-6g", 20), ("translated60-8g", 128)] if args.quick
            else [(p, b) for p in PRESETS for b in BATCHES])
    canvases = [60, 256] if args.quick else CANVASES
    started = datetime.datetime.now(datetime.timezone.utc)
    t0 = time.time()
    busy0, own0 = busy_cpu_seconds(), own_cpu_seconds()

    print(f"GEMM ceiling ({gemm.name}) ...", file=sys.stderr, flush=True)
    quiet = Quiet(0 if args.quick else args.wait_quiet, 0 if args.quick else 2)
    ceiling = quiet(lambda: gemm_ceiling(gemm, threads))
    print("PyTorch's GEMM ...", file=sys.stderr, flush=True)
    # Each OpenBLAS kernel set worth trying; the rows try each of them.
    kernel_gemms = blas_kernel_gemms(threads, seconds, quiet, args.without_avx512)
    big = "x".join(map(str, TORCH_GEMM_SHAPES[-1]))
    tgemm = max(kernel_gemms.values(), key=lambda g: g[big])
    torch_share = tgemm[big] / ceiling["n"]
    # The ceiling the shares and bounds below are taken against: the faster large product on
    # these threads of Eigen's (ram's own library) and of PyTorch's BLAS, both measured here.
    ceiling_gflops = max(ceiling["n"], tgemm[big])
    ceiling_text = (f"{ceiling_gflops:.1f} GFLOP/s, the faster {big} product on {threads} threads "
                    f"of Eigen's ({ceiling['n']:.1f}) and PyTorch's BLAS ({tgemm[big]:.1f}"
                    + (f", OpenBLAS's {tgemm['blas_kernels']} kernels" if tgemm["blas_kernels"]
                       else "") + ")")
    slow_torch = torch_share < MIN_TORCH_GEMM_SHARE
    if slow_torch and not args.allow_slow_torch:
        sys.exit(f"PyTorch's {big} matrix product runs at {tgemm[big]:.1f} GFLOP/s on {threads} "
                 f"threads, {100 * torch_share:.0f}% of this machine's ceiling "
                 f"({ceiling['n']:.1f} GFLOP/s): it uses {tgemm['blas']}, so a comparison would "
                 f"flatter ram. Install OpenBLAS (Debian: apt-get install libopenblas0-pthread) "
                 f"and run again, or pass --allow-slow-torch to compare anyway.")

    # PyTorch at its best: every combination of torch threads and BLAS threads (1 or --threads)
    # and BLAS kernel set, the best training rate and the best evaluation rate kept, each with
    # its setting.
    settings = [(t, b, g["choice"]) for t, b in sorted({(t, b) for t in (1, threads)
                                                           for b in (1, threads)})
                for g in kernel_gemms.values()]
    recipes = {p: preset_recipe(ram, p) for p in dict.fromkeys([p for p, _ in runs] + [SCALING_PRESET])}
    rows = []
    for preset, batch in runs:
        print(f"{preset}, batch {batch} ...", file=sys.stderr, flush=True)
        cpp = quiet(lambda: ram_bench(ram, preset, batch, threads, seconds))
        tried = []
        for torch_threads, blas_threads, kernels in settings:
            r = quiet(lambda: run_worker({
                "model": "ram", "preset": preset, "recipe": recipes[preset], "batch": batch,
                "threads": threads, "torch_threads": torch_threads, "blas_threads": blas_threads,
                "blas_kernels": kernels, "seconds": seconds, "train": True}))
            setting = f"{torch_threads}/{blas_threads}"
            if len(kernel_gemms) > 1:
                setting += f" {r['blas_kernels']}"
            tried.append(dict(r, setting=setting))
        py = dict(max(tried, key=lambda r: r["train_images_per_second"]))
        best_eval = max(tried, key=lambda r: r["eval_images_per_second"])
        py["eval_images_per_second"] = best_eval["eval_images_per_second"]
        py["eval_setting"] = best_eval["setting"]
        rows.append((preset, batch, cpp, py))

    scaling = []
    for n in canvases:
        print(f"canvas {n} ...", file=sys.stderr, flush=True)
        cpp = quiet(lambda: ram_bench(ram, SCALING_PRESET, SCALING_BATCH, threads, seconds,
                                      canvas=n, eval_only=True))
        # One thread alone tells the retina's own growth from that of two threads sharing the
        # memory system.
        cpp["one_thread_eval_ms"] = quiet(lambda: ram_bench(
            ram, SCALING_PRESET, SCALING_BATCH, 1, seconds, canvas=n, eval_only=True))["eval_ms"]
        job = {"preset": SCALING_PRESET, "recipe": recipes[SCALING_PRESET],
               "batch": SCALING_BATCH, "threads": threads, "blas_kernels": tgemm["choice"],
               "seconds": seconds, "canvas": n, "train": False}
        py = quiet(lambda: run_worker(dict(job, model="ram")))
        conv = quiet(lambda: run_worker(dict(job, model="conv")))
        scaling.append((n, cpp, py, conv))
    profiles = []
    for batch in BATCHES:
        print(f"profile of {PROFILE_PRESET}, batch {batch} ...", file=sys.stderr, flush=True)
        profiles.append((batch, quiet(lambda: profile_training(ram, PROFILE_PRESET, batch,
                                                               threads, seconds))))
    minutes = (time.time() - t0) / 60
    # How much CPU other processes took while this ran: a busy machine depresses every figure
    # (PyTorch's OpenMP threads, which spin, suffer most).
    others = max(0.0, (busy_cpu_seconds() - busy0) - (own_cpu_seconds() - own0)) / (minutes * 60)
    contention = (f"Other processes used {others:.2f} cores on average during the run, at most "
                  f"{quiet.worst:.2f} during any kept measurement ({quiet.repeated} repeated "
                  f"because of other load)"
                  + ("; the measurements were quiet." if quiet.worst < quiet.limit else
                     ": NOT quiet, so some figures are depressed, PyTorch's (whose OpenMP "
                     "threads spin-wait) most."))
    if quiet.worst >= quiet.limit:
        print(f"warning: {contention}", file=sys.stderr)

    # ---- the tables
    main_header = ["configuration", "batch", "C++ train img/s", "PyTorch train img/s", "ratio",
                   "C++ eval img/s", "PyTorch eval img/s", "ratio",
                   "PyTorch threads (torch/BLAS)" + (" and kernels" if len(kernel_gemms) > 1 else "")
                   + ": train, eval", "MFLOPs/image (train)",
                   "C++ train GFLOP/s", "% of the GEMM ceiling", "peak MiB C++ / PyTorch"]
    main_rows = []
    for preset, batch, cpp, py in rows:
        gflops = cpp["train_images_per_second"] * cpp["train_flops"] / 1e9
        main_rows.append([
            f"{preset} ({preset_label(recipes[preset])})", str(batch),
            fmt(cpp["train_images_per_second"]), fmt(py["train_images_per_second"]),
            f"{cpp['train_images_per_second'] / py['train_images_per_second']:.1f}x",
            fmt(cpp["eval_images_per_second"]), fmt(py["eval_images_per_second"]),
            f"{cpp['eval_images_per_second'] / py['eval_images_per_second']:.1f}x",
            f"{py['setting']}, {py['eval_setting']}",
            f"{cpp['train_flops'] / 1e6:.2f}", f"{gflops:.1f}",
            f"{100 * gflops / ceiling_gflops:.0f}%",
            f"{cpp['train_peak_mib']:.0f} / {py['train_peak_mib']:.0f}"])

    scale_header = ["canvas", "RAM C++ ms/image", "RAM C++ ms/image, 1 thread",
                    "RAM PyTorch ms/image",
                    "conv baseline PyTorch ms/image", "RAM MFLOPs/image",
                    "conv MFLOPs/image", "peak MiB C++ / PyTorch RAM / conv"]
    scale_rows = []
    for n, cpp, py, conv in scaling:
        scale_rows.append([
            f"{n}x{n}", f"{cpp['eval_ms']:.4f}", f"{cpp['one_thread_eval_ms']:.4f}",
            f"{1000 / py['eval_images_per_second']:.3f}",
            f"{1000 / conv['eval_images_per_second']:.3f}", f"{cpp['forward_flops'] / 1e6:.2f}",
            f"{conv['forward_flops'] / 1e6:.1f}",
            f"{cpp['peak_mib']:.0f} / {py['peak_mib']:.0f} / {conv['peak_mib']:.0f}"])
    first, last = scaling[0], scaling[-1]
    growth = (f"From {first[0]}x{first[0]} to {last[0]}x{last[0]} the evaluation time per image "
              f"grows {last[1]['eval_ms'] / first[1]['eval_ms']:.2f}x for RAM in C++ "
              f"({last[1]['one_thread_eval_ms'] / first[1]['one_thread_eval_ms']:.2f}x on one "
              f"thread), "
              f"{first[2]['eval_images_per_second'] / last[2]['eval_images_per_second']:.2f}x "
              f"for RAM in PyTorch and "
              f"{first[3]['eval_images_per_second'] / last[3]['eval_images_per_second']:.1f}x "
              f"for the convolutional baseline.")

    gemm_header = ["GEMM shape (m x k x n)"] + [f"{t} thread{'s' if t > 1 else ''} GFLOP/s"
                                                for t in sorted({1, threads})]
    gemm_rows = []
    for shape in dict.fromkeys(s for s, _ in ceiling["shapes"]):
        gemm_rows.append([shape] + [f"{ceiling['shapes'].get((shape, t), float('nan')):.1f}"
                                    for t in sorted({1, threads})])

    # ---- the targets (from the performance issue)
    def row(preset, batch):
        return next(((c, p) for pr, b, c, p in rows if pr == preset and b == batch), None)

    def shape_bound(batch, of_rate):
        """of_rate(GFLOP/s) of the fastest product measured here of the batch's rows by a
        256x256 matrix on these threads (Eigen's, or PyTorch's BLAS's where it was measured at
        that shape); "" when none was."""
        shape = f"{batch}x256x256"
        rates = [ceiling["shapes"].get((shape, threads))]
        rates += [g.get(shape) for g in kernel_gemms.values()]
        rates = [r for r in rates if r]
        return of_rate(max(rates)) if rates else ""

    step_flops = layer_flops(recipes["translated60-8g"]["model"])
    core_share = (f"{100 * step_flops['LSTM core'] / sum(step_flops.values()):.0f}% on "
                  "translated60-8g")
    targets = []
    for preset in ("translated60-8g", "cluttered100-8g"):
        for batch, want in ((20, 10), (128, 10)):
            r = row(preset, batch)
            if r:
                got = r[0]["train_images_per_second"] / r[1]["train_images_per_second"]
                # The speed-up C++ would show training at the full GEMM ceiling: a target above
                # it cannot be met on this machine, whatever the code does.
                torch_gflops = r[1]["train_images_per_second"] * r[0]["train_flops"] / 1e9
                targets.append([f"training speed-up over PyTorch, {preset}, batch {batch}",
                                f">= {want}x", f"{got:.1f}x", "met" if got >= want else "MISSED",
                                f"{ceiling_gflops / torch_gflops:.1f}x",
                                shape_bound(batch, lambda g: f"{g / torch_gflops:.1f}x")])
    for batch, want in ((128, 85), (20, 70)):
        r = row("translated60-8g", batch)
        if r:
            gflops = r[0]["train_images_per_second"] * r[0]["train_flops"] / 1e9
            pct = 100 * gflops / ceiling_gflops
            targets.append([f"share of the GEMM ceiling, translated60-8g, batch "
                            f"{batch}", f">= {want}%", f"{pct:.0f}%",
                            "met" if pct >= want else "MISSED", "100%",
                            shape_bound(batch, lambda g: f"{100 * g / ceiling_gflops:.0f}%")])
    r = row("translated60-8g", 128)
    if r:
        mib = r[0]["train_peak_mib"]
        targets.append(["peak training memory, translated60-8g, batch 128", "< 200 MiB",
                        f"{mib:.0f} MiB", "met" if mib < 200 else "MISSED", "", ""])
    ratio = last[1]["eval_ms"] / first[1]["eval_ms"]
    targets.append([f"RAM C++ evaluation time per image, {last[0]} vs {first[0]} canvas",
                    "<= 1.3x", f"{ratio:.2f}x", "met" if ratio <= 1.3 else "MISSED", "", ""])
    targets_header = ["target", "wanted", "measured", "", "the GEMM ceiling's bound",
                      "the bound at the step's shape"]

    torch_version = rows[0][3]["torch"]
    def gemm_rates(g):
        return ", ".join(f"{'x'.join(map(str, shape))} {g['x'.join(map(str, shape))]:.1f} GFLOP/s"
                         for shape in TORCH_GEMM_SHAPES)

    torch_gemm_text = gemm_rates(tgemm)
    if len(kernel_gemms) > 1:
        torch_gemm_text = "; ".join(
            f"with OpenBLAS's {name} kernels"
            + (" (its own choice)" if g["choice"] is None else
               f" (`OPENBLAS_CORETYPE={g['choice']}`)") + f": {gemm_rates(g)}"
            for name, g in kernel_gemms.items())
    elif tgemm["blas_kernels"]:
        torch_gemm_text = f"{torch_gemm_text} (OpenBLAS's {tgemm['blas_kernels']} kernels)"
    if os.environ.get("OPENBLAS_CORETYPE") and not args.without_avx512:
        torch_gemm_text += (f" (this run's environment set OPENBLAS_CORETYPE="
                            f"{os.environ['OPENBLAS_CORETYPE']}; every kernel set above was tried)")
    slow_torch_text = (": a slow BLAS, compared anyway (--allow-slow-torch), so every ratio "
                       "below flatters ram." if slow_torch else ".")
    import_mib = min(r[3]["rss_after_import_mib"] for r in rows)
    recipe_texts = {describe_recipe(r) for r in recipes.values()}
    recipe_text = (recipe_texts.pop() if len(recipe_texts) == 1 else
                   "; ".join(f"{p}: {describe_recipe(r)}" for p, r in recipes.items()))
    kernels_note = (
        ", and with each of OpenBLAS's kernel sets above (named after the threads): OpenBLAS "
        "chooses its kernels by CPU model (a release older than the CPU can choose narrower ones "
        "than the CPU runs) unless the environment pins them with OPENBLAS_CORETYPE" if len(kernel_gemms) > 1 else "")
    scaling_kernels = (f", with the {tgemm['blas_kernels']} kernels" if len(kernel_gemms) > 1
                       else "")
    notes = f"""\
Notes on what is and isn't timed:

* **Same work on both sides.** Each row trains its preset's recipe on both sides, read from
  `ram train --preset P --dry-run` ({recipe_text}), with the
  preset's retina and glimpses; the same hybrid loss (cross-entropy + REINFORCE with a learned
  baseline); {threads} threads for C++ (`--threads {threads}`). PyTorch at its best: each row
  was measured with every combination of torch's threads (`torch.set_num_threads`) and its
  BLAS's threads (`OPENBLAS_NUM_THREADS` / `OMP_NUM_THREADS`), 1 or {threads} each, and the
  table keeps the best training rate and the best evaluation rate, each with its setting
  (torch/BLAS){kernels_note}. The scaling study below uses {threads}/{threads} for PyTorch{scaling_kernels}.
  One training step = forward with sampled locations, loss, backward, optimiser step; rates are
  steady state, after a warm-up (a 20-batch epoch for C++, 10 steps for PyTorch).
* **C++ training includes rendering; PyTorch's does not.** `ram bench` times `train()` itself,
  which renders every training image afresh (random placement and clutter) and draws the
  location noise inside the timed loop. The PyTorch side renders a pool of max(4 x batch, 256)
  images once, outside the timing, and cycles through it (only the location noise,
  `torch.randn`, is drawn inside the loop). The images are synthetic strokes ("digits") on both
  sides, so no data files are needed; the timing does not depend on the pixel values.
* **Evaluation** is a single-sample episode (sampled locations, class probabilities) without
  gradients, over images rendered once (not timed): C++ `evaluate()` over a set of 1,000
  images (the size of the npm validation split) in its fixed 64-image chunks, one chunk per thread at a time, whatever `--batch` is;
  PyTorch `class_probabilities` under `no_grad` in batches of the row's batch size.
* **FLOPs/image** is the C++ model's count (`RamModel::forward_flops`, multiply-add = 2 FLOPs)
  for a training step: 3x the forward pass. Achieved GFLOP/s = training img/s x FLOPs/image; the
  ceiling is {ceiling_text}, measured in this run (Eigen with the same compiler flags as ram).
* **Peak memory** is each process's peak resident set at the end of training (VmHWM of
  `/proc/self/status`; not `getrusage`'s `ru_maxrss`, which Linux carries across `execve`, so
  a child would report at least its parent's size), one process per row and side, so peaks
  don't mix. C++: the whole `ram bench` process
  (a training set of at most 4,096 28x28 digits, the model, optimiser state, workspaces). PyTorch: the whole
  Python process, which is already about {import_mib:.0f} MiB after `import torch`, before any
  model exists.
* **Scaling study**: evaluation only, `{SCALING_PRESET}` (12x12 retina, 3 scales, 8 glimpses) on an
  N x N canvas with the 28x28 digit at a random place; ms/image = 1000 / (images/s with
  {threads} threads, and for the column so named with 1), PyTorch batch {SCALING_BATCH}. C++
  evaluates a set rendered once, in repeated passes: 1,000 images, fewer where that would
  exceed 512 MiB (512 at 512x512, 128 at 1024x1024); its peak memory is mostly that set.
  `evaluate()` keeps each thread's workspace from one call to the next, so a pass of few
  images pays no set-up. RAM's arithmetic is the same on every canvas;
  what grows in C++ is the retina's memory traffic: on a large canvas every one of the 84 image
  rows a glimpse reads (12 + 24 + 48 for three scales) is a separate cache miss, on its own
  4 KiB page at 1024x1024; the one-thread column shows how much of the growth comes with a
  second thread missing the caches at the same time. The conv baseline is the paper's
  (`ConvBaseline(N, N)`: 8 10x10 filters with stride 5, ReLU, 256 ReLU units, 10 classes) in
  PyTorch only, batch {SCALING_BATCH}; its fully connected layer alone has 8 x
  ((N-10)/5+1)^2 x 256 weights (84 M at 1024). The PyTorch reference's retina zero-pads the
  whole image (`F.pad`, once per episode) and gathers the patches from the padded copy, which
  makes its RAM cost grow with the canvas; the C++ retina reads only the pixels it needs.
"""

    gemm_text = markdown_table(gemm_header, gemm_rows)

    if all(p is not None for _, p in profiles):
        groups = [g for g, _ in PROFILE_GROUPS] + ["other"]
        seen = [g for g in groups if any(p["shares"].get(g, 0) >= 0.05 for _, p in profiles)]
        profile_rows = [[g] + [f"{p['shares'].get(g, 0.0):.1f}%" for _, p in profiles]
                        for g in seen]
        flops = layer_flops(recipes[PROFILE_PRESET]["model"])
        flop_total = sum(flops.values())
        flop_text = ", ".join(f"{name} {100 * v / flop_total:.0f}%" for name, v in flops.items())
        top_lines = "\n".join(
            f"* batch {batch}: " + "; ".join(f"{share:.1f}% `{short_name(name)}`"
                                             for share, name, _ in p["top"][:5])
            for batch, p in profiles)
        profile_text = f"""\
`perf record -F 999` of `ram bench --preset {PROFILE_PRESET} --batch B --threads {threads}
--seconds {seconds:g} --train-only` (the training step alone, rendering included), each sample
counted in the function it was in, grouped:

{markdown_table(["where", *[f"batch {b}" for b, _ in profiles]], profile_rows)}

The matrix products are shared between the layers in proportion to their multiply-adds (perf
cannot tell whose product a kernel sample belongs to): {flop_text} of the forward pass's
multiply-adds (the backward pass has twice as many, in the same shares). The products of one
glimpse, a thread's few rows times a weight matrix, are the step products of
`src/ram/nn/step_product.h` (`step_product_detail::` below): the forward pass's, and the
backward recurrent product dh_(t-1) = dz_t W_h^T up to 32 rows; they read the weights where they
lie instead of copying them into a blocked layout at every call, as Eigen's `gemm_pack_lhs` did.
Eigen's GEMM forms the weight gradients and the glimpse network's backward, once over all
glimpses' rows. The functions with the most samples:

{top_lines}
"""
    else:
        profile_text = ("No profile: `perf` (Debian package linux-perf) is not installed or may "
                        "not record here.\n")
    if args.without_avx512:
        title = "# Benchmarks without AVX-512 (a stand-in, on a CPU that has it)"
        stand_in = """
* Stand-in for a CPU without AVX-512 (`--without-avx512`): this CPU has AVX-512, but neither
  side used it. `ram` and `gemm_ceiling` were built without it (the -march on the C++ line below;
  objdump finds no instruction on zmm registers in either) and PyTorch's OpenBLAS ran its AVX2
  (Haswell) kernels only. What it cannot stand in for: another CPU's caches, memory and clocks."""
        accuracy_sections = ""
    else:
        title, stand_in = "# Benchmarks", ""
        if (ROOT / STAND_IN_REPORT).exists():
            stand_in = (f"\n* The same comparison with both sides held to AVX2, standing in for a "
                        f"CPU without AVX-512: [{STAND_IN_REPORT}]({STAND_IN_REPORT}).")
        accuracy_sections = f"""## Time to accuracy

{time_to_accuracy_text}
### Time to the paper's accuracy (C++ alone)

{paper_accuracy_text}
"""
    report = f"""\
{title}

C++ `ram` against the PyTorch reference (`reference/ram_reference.py`), same machine, same
invocation, same thread count ({threads}) and configuration.

* Command (from the repository root, after building `ram` and `gemm_ceiling` into `{args.build.name}/`):
  `{command}`
* Date: {started:%Y-%m-%d %H:%M} UTC; the run took {minutes:.1f} minutes, {seconds:g} s per measurement.
* Machine: {machine()}. {contention}{stand_in}
* C++: ram at commit {ram_commit(ram)}, {compiler(args.build)}, Eigen {ceiling['eigen']}. PyTorch {torch_version} (Debian python3-torch), Python {platform.python_version()}.
* PyTorch's BLAS: {tgemm['blas']}. Its matrix products on {threads} threads: {torch_gemm_text}
  ({'the fastest: ' if len(kernel_gemms) > 1 else ''}{100 * torch_share:.0f}% of the Eigen ceiling below at 1024^3){slow_torch_text}

## Training and evaluation throughput

{markdown_table(main_header, main_rows)}

## The machine's GEMM ceiling (`{args.build.name}/bench/gemm_ceiling --threads {threads}`)

Single-precision Eigen GEMM, each thread multiplying its own matrices; aggregate GFLOP/s, best
of 3 trials.

{gemm_text}

The ceiling the shares and bounds of this report are taken against: {ceiling_text}.

## Scaling with image size (evaluation time per image)

{markdown_table(scale_header, scale_rows)}

{growth}

## Where a training step's time goes

{profile_text}
{accuracy_sections}## Targets

{markdown_table(targets_header, targets)}

The last two columns are the most the machine allows. The GEMM ceiling's bound: for a speed-up,
the one C++ would show if its training ran at the full GEMM ceiling ({ceiling_gflops:.1f} GFLOP/s)
against PyTorch's measured rate, both doing the same FLOPs per image. A target above it cannot
be met here by any code. The bound at the step's shape: the same with the fastest product
measured here at the shape of a training step's products, the batch's rows times a matrix of
256 rows (B x 256 x 256; the LSTM core's products, {core_share} of a step's multiply-adds,
have that m and k), from the GEMM ceiling's table above and PyTorch's BLAS's 128x256x256
product at the top of this report. It is the tighter bound where products of that shape run
slower than the ceiling's, and a generous one even so: each thread multiplies all the batch's
rows there, where a training step gives each thread its share of them.

{notes}"""

    print()
    print(f"GEMM ceiling: {ceiling['one']:.1f} GFLOP/s (1 thread), {ceiling['n']:.1f} GFLOP/s "
          f"({threads} threads)")
    print(f"PyTorch's GEMM ({tgemm['blas']}): {torch_gemm_text}{slow_torch_text}")
    print()
    print(markdown_table(main_header, main_rows))
    print()
    print(gemm_text)
    print()
    print(markdown_table(scale_header, scale_rows))
    print()
    print(growth)
    print()
    print(markdown_table(targets_header, targets))
    print()
    print(contention)
    if args.out:
        args.out.write_text(report)
        print(f"\nwrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
