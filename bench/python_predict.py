#!/usr/bin/python3
"""Model.predict from Python against the C++ evaluation it calls.

Prints the images/s of ``Model.predict`` on a batch of images and those of ``ram bench
--eval-only`` (the evaluate() code ``ram eval`` runs, through the same library) for the same
preset and thread count, their ratio, and the time of a ``predict`` call on one image (the
fixed cost of a call). Run it on a quiet machine, after ``bash scripts/setup.sh``:

    /usr/bin/python3 bench/python_predict.py --model models/mnist28-6g.ram --preset mnist28-6g

The images are uniform noise in [0, 1] of the model's size: the cost of an episode does not
depend on the pixels.
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def timed_rate(call, images, seconds):
    """Images per second of call(), repeated for at least `seconds` (the best of the passes)."""
    best = 0.0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        t = time.perf_counter()
        call()
        best = max(best, images / (time.perf_counter() - t))
    return best


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=os.path.join(ROOT, "models", "mnist28-6g.ram"))
    parser.add_argument("--preset", default="mnist28-6g",
                        help="the model's preset, for ram bench (same architecture)")
    parser.add_argument("--images", type=int, default=10000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--build", default=os.path.join(ROOT, "build"))
    args = parser.parse_args()

    sys.path.insert(0, os.path.join(args.build, "python"))
    import ram  # noqa: E402  (the module of this build)

    model = ram.load(args.model)
    side = model.config["task"]["canvas"]
    images = np.random.default_rng(1).random((args.images, side, side), dtype=np.float32)

    model.predict(images[:64], threads=args.threads)  # warm-up: workspaces, pages
    python_rate = timed_rate(lambda: model.predict(images, threads=args.threads), args.images,
                             args.seconds)

    bench = subprocess.run(
        [os.path.join(args.build, "src", "cli", "ram"), "bench", "--preset", args.preset,
         "--threads", str(args.threads), "--seconds", str(args.seconds), "--eval-only"],
        check=True, capture_output=True, text=True).stdout
    cpp_rate = float(re.search(r"eval img/s: ([0-9.]+)", bench).group(1))

    one = images[:1]
    calls = []
    for _ in range(2000):
        t = time.perf_counter()
        model.predict(one, threads=1)
        calls.append(time.perf_counter() - t)

    print(f"model: {args.model} ({args.preset}), {args.threads} threads, {args.images} images")
    print(f"Model.predict: {python_rate:.0f} images/s")
    print(f"ram bench --eval-only: {cpp_rate:.0f} images/s")
    print(f"ratio: {100 * python_rate / cpp_rate:.1f}%")
    print(f"predict of one image, 1 thread: median {1e3 * statistics.median(calls):.3f} ms, "
          f"fastest {1e3 * min(calls):.3f} ms ({len(calls)} calls)")


if __name__ == "__main__":
    main()
