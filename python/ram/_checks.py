"""Argument checks shared by the package's functions: a wrong value is a ValueError that names
it, before any C++ code sees it."""

from __future__ import annotations

from typing import Optional

import numpy as np


def _integer(value: object) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def check_seed(seed: Optional[int], allow_none: bool = False) -> Optional[int]:
    if seed is None and allow_none:
        return None
    if not _integer(seed) or not 0 <= int(seed) < 2**64:
        raise ValueError(f"seed must be an integer in [0, 2**64), got {seed!r}")
    return int(seed)


def check_threads(threads: int) -> int:
    if not _integer(threads) or not 1 <= int(threads) <= 256:
        raise ValueError(f"threads must be an integer in 1..256, got {threads!r}")
    return int(threads)


def check_count(name: str, value: object, low: int, high: int) -> int:
    if not _integer(value) or not low <= int(value) <= high:
        raise ValueError(f"{name} must be an integer in {low}..{high}, got {value!r}")
    return int(value)
