#!/usr/bin/env python3
"""Where a model's errors come from: did it look at the digit, and how much clutter lay on it?

For a model of a translated or cluttered task (or the 28x28 centred one) this renders the split
`ram eval` evaluates, finds where each digit was drawn (ram.datasets.locate_digits), runs one
episode per image, and prints markdown tables:

- looking: whether the digit's centre of ink fell inside the finest patch of some glimpse, and
  how much of its ink the finest patches covered, for all images and for the misread ones;
- reading: the error by the amount of clutter ink inside the digit's box (cluttered tasks).

    PYTHONPATH=build/python /usr/bin/python3 scripts/error_anatomy.py models/cluttered60-8g.ram

Glimpses go to the policy's mean locations unless --sampled is given (the evaluation chosen on
the validation split, docs/accuracy.md section 5); baselines (fc64, fc256, conv) get the reading
table only. The validation split is the default: the test set is for final figures only.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

import ram
from ram import datasets

# Clutter ink inside the digit's box, in units of one fully-on pixel: the bins between "none"
# (at most rounding noise) and the last, open one.
NO_CLUTTER = 1e-4
CLUTTER_EDGES = [10, 20, 30]


def clutter_bins(clutter: np.ndarray):
    """(name, selection) for each clutter bin, from "none" to "over" the last edge."""
    yield "none", clutter <= NO_CLUTTER
    low = NO_CLUTTER
    for high in CLUTTER_EDGES:
        yield f"{round(low)}-{high}", (clutter > low) & (clutter <= high)
        low = high
    yield f"over {low}", clutter > low


def render_split(config: dict, data: str, split: str) -> tuple[np.ndarray, np.ndarray,
                                                               np.ndarray]:
    """The canvases `ram eval` renders for the model, their labels, and the digits alone."""
    task = config["task"]
    seed = config["validation_seed"]
    kind, canvas = task["kind"], task["canvas"]
    digits, labels = datasets.centred(data=data, split=split, canvas=28, seed=seed)
    if kind == "centred":
        images, _ = datasets.centred(data=data, split=split, canvas=canvas, seed=seed)
    elif kind == "translated":
        images, _ = datasets.translated(data=data, split=split, canvas=canvas, seed=seed)
    elif kind == "cluttered":
        images, _ = datasets.cluttered(data=data, split=split, canvas=canvas,
                                       pieces=task["clutter_pieces"],
                                       piece_size=task["clutter_size"], seed=seed)
    else:
        sys.exit(f"error_anatomy.py: the model's task is '{kind}'; this reads only centred, "
                 "translated and cluttered digits")
    return images, labels, digits


def ink_centres(digits: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """(N, 2) centre of each digit's ink, (row, column) in canvas pixels (continuous)."""
    rows, cols = np.mgrid[0:digits.shape[1], 0:digits.shape[2]]
    mass = digits.sum(axis=(1, 2))
    centre_row = (digits * rows).sum(axis=(1, 2)) / mass + offsets[:, 0] + 0.5
    centre_col = (digits * cols).sum(axis=(1, 2)) / mass + offsets[:, 1] + 0.5
    return np.stack([centre_row, centre_col], axis=1)


def finest_patches(locations: np.ndarray, height: int, width: int,
                   patch: int) -> np.ndarray:
    """(N, T, 2) top-left (row, column) of each glimpse's finest patch, as the retina places
    it (src/ram/nn/retina.h: centre ((x+1)/2 W, (y+1)/2 H), origin floor(centre - g/2 + 1/2))."""
    col = np.floor((locations[..., 0] + 1) / 2 * width - 0.5 * patch + 0.5)
    row = np.floor((locations[..., 1] + 1) / 2 * height - 0.5 * patch + 0.5)
    return np.stack([row, col], axis=-1).astype(np.int64)


def looking(digits: np.ndarray, offsets: np.ndarray, origins: np.ndarray, patch: int,
            height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Per image: whether the ink centre lies in some finest patch, and the share of the
    digit's ink under the union of the finest patches."""
    centres = ink_centres(digits, offsets)
    inside = ((centres[:, None, 0] >= origins[..., 0]) &
              (centres[:, None, 0] < origins[..., 0] + patch) &
              (centres[:, None, 1] >= origins[..., 1]) &
              (centres[:, None, 1] < origins[..., 1] + patch)).any(axis=1)
    rows, cols = digits.shape[1:]
    covered = np.zeros(len(digits))
    seen = np.zeros((height, width), dtype=bool)
    for i in range(len(digits)):
        seen[:] = False
        for r, c in origins[i]:
            seen[max(r, 0):max(r + patch, 0), max(c, 0):max(c + patch, 0)] = True
        a, b = offsets[i]
        covered[i] = (digits[i] * seen[a:a + rows, b:b + cols]).sum() / digits[i].sum()
    return inside, covered


def clutter_in_box(images: np.ndarray, digits: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Per image: the ink inside the digit's box that is not the digit's (the clutter on it)."""
    rows, cols = digits.shape[1:]
    return np.array([np.clip(images[i, a:a + rows, b:b + cols] - digits[i], 0, None).sum()
                     for i, (a, b) in enumerate(offsets)])


def share(part: np.ndarray, whole: np.ndarray) -> str:
    return f"{100 * part.sum() / max(whole.sum(), 1):.1f}%"


def rate(errors: np.ndarray, selected: np.ndarray) -> str:
    return f"{100 * errors[selected].mean():.2f}%" if selected.any() else "–"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", help="a model file (DIR/model.ram or models/X.ram)")
    parser.add_argument("--data", help="data source (default: the model's own)")
    parser.add_argument("--split", default="validation", choices=["validation", "test"])
    parser.add_argument("--sampled", action="store_true",
                        help="glimpses at sampled locations (default: the policy's mean)")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    model = ram.load(args.model)
    config = model.config
    images, labels, digits = render_split(config, args.data or config["data"], args.split)
    offsets = datasets.locate_digits(images, digits)
    mean_location = not args.sampled
    probabilities = model.predict(images, samples=1, mean_location=mean_location,
                                  threads=args.threads)
    errors = probabilities.argmax(axis=1) != labels
    everyone = np.ones(len(errors), dtype=bool)

    print(f"{args.model}: {config['architecture']}, {config['task']['kind']} "
          f"{config['task']['canvas']}x{config['task']['canvas']}, {args.split} split, "
          f"{'sampled' if args.sampled else 'mean'} locations: error "
          f"{100 * errors.mean():.2f}% ({errors.sum()} of {len(errors)})\n")

    if config["architecture"] == "ram":
        height, width = images.shape[1:]
        patch = config["model"]["glimpse_size"]
        locations, _ = model.glimpses(images, mean_location=mean_location, threads=args.threads)
        origins = finest_patches(locations, height, width, patch)
        inside, covered = looking(digits, offsets, origins, patch, height, width)
        half = covered >= 0.5
        print("| images | count | ink centre inside a finest patch | median ink under the "
              "finest patches | under half the ink seen |")
        print("|---|---|---|---|---|")
        for name, selected in [("all", everyone), ("misread", errors)]:
            print(f"| {name} | {selected.sum()} | {share(inside & selected, selected)} | "
                  f"{100 * np.median(covered[selected]):.0f}% | "
                  f"{share(~half & selected, selected)} |")
        print(f"\nError when the finest patches saw at least half the ink: "
              f"{rate(errors, half)} ({half.sum()} images); less than half: "
              f"{rate(errors, ~half)} ({(~half).sum()} images). Ink centre inside a finest "
              f"patch: {rate(errors, inside)}; outside: {rate(errors, ~inside)}.\n")

    if config["task"]["kind"] == "cluttered":
        clutter = clutter_in_box(images, digits, offsets)
        print("| clutter ink in the digit's box | images | error | share of the errors |")
        print("|---|---|---|---|")
        for name, selected in clutter_bins(clutter):
            print(f"| {name} | {selected.sum()} | {rate(errors, selected)} | "
                  f"{share(errors & selected, errors)} |")


if __name__ == "__main__":
    main()
