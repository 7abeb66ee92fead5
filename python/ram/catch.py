"""Catch (Mnih et al. 2014, section 4.2) as a Gymnasium-style environment, on the C++ game that
``ram catch`` trains and evaluates on (env/catch_game.h).

The screen is 24 x 24 pixels, 1 where the ball or the paddle is, else 0. The ball starts on the
top row in a random column, moving one column left or right per frame (reflected by the walls)
as it falls one row per frame. The two-pixel paddle starts centred on the bottom row. The agent
acts on every screen: 0 left, 1 stay, 2 right. After 23 actions the ball reaches the bottom row
and the episode terminates with reward 1 if the ball is over the paddle, else 0; every earlier
step gives reward 0. Episodes are never truncated.

    env = CatchEnv()
    obs, info = env.reset(seed=1)
    while True:
        obs, reward, terminated, truncated, info = env.step(policy(obs))
        if terminated or truncated:
            break
"""

from __future__ import annotations

import secrets
from typing import Any, Dict, Optional, Tuple

import numpy as np

from . import _ram
from ._checks import check_seed

__all__ = ["CatchEnv", "tracking_action", "SIZE", "FRAMES", "ACTIONS"]

SIZE: int = _ram.CATCH_SIZE  # the screen is SIZE x SIZE
FRAMES: int = _ram.CATCH_FRAMES  # actions per episode
ACTIONS: Tuple[str, ...] = ("left", "stay", "right")


class CatchEnv:
    """One game of Catch with the Gymnasium API: ``reset(seed=...) -> (obs, info)`` and
    ``step(action) -> (obs, reward, terminated, truncated, info)``.

    Observations are float32 (24, 24) arrays of 0 and 1, a new array each call. ``info`` holds
    the game's state: ``ball`` (row, column), ``ball_velocity`` (-1 or +1 columns per frame),
    ``paddle`` (the column of its left pixel) and ``frame`` (actions taken).

    ``reset(seed=s)`` starts a sequence of games: it and the resets after it (without a seed)
    play games 0, 1, 2, ... of seed s, the same games whatever else happens in the process; the
    first reset without any seed draws one from the operating system."""

    size: int = SIZE
    frames: int = FRAMES
    actions: Tuple[str, ...] = ACTIONS

    def __init__(self) -> None:
        self._game = _ram.CatchGame()
        self._seed: Optional[int] = None
        self._episode = 0
        self._started = False

    def reset(self, *, seed: Optional[int] = None,
              options: Optional[Dict[str, Any]] = None) -> Tuple[np.ndarray, Dict[str, Any]]:
        """Starts the next game (or game 0 of `seed`); returns its first screen and info.
        `options` is accepted for the Gymnasium API and must be None or empty."""
        if options:
            raise ValueError(f"reset: CatchEnv takes no options, got {options!r}")
        if seed is not None:
            self._seed = check_seed(seed)
            self._episode = 0
        elif self._seed is None:
            self._seed = secrets.randbits(64)
        self._game.reset(self._seed, self._episode)
        self._episode += 1
        self._started = True
        return self._game.screen(), self._info()

    def step(self, action: int) -> Tuple[np.ndarray, float, bool, bool, Dict[str, Any]]:
        """Moves the paddle by `action` (0 left, 1 stay, 2 right), then the ball by one frame.

        Returns (obs, reward, terminated, truncated, info). Raises ValueError for an action
        outside {0, 1, 2}, and for a step before the first reset or after the episode ended."""
        if not self._started:
            raise ValueError("step: call reset() before the first step")
        if isinstance(action, bool) or not isinstance(action, (int, np.integer)):
            raise ValueError(
                f"action must be 0 (left), 1 (stay) or 2 (right), got {action!r}")
        self._game.step(int(action))
        terminated = bool(self._game.done)
        reward = float(self._game.reward) if terminated else 0.0
        return self._game.screen(), reward, terminated, False, self._info()

    def _info(self) -> Dict[str, Any]:
        g = self._game
        return {"ball": (g.ball_row, g.ball_col), "ball_velocity": g.ball_velocity,
                "paddle": g.paddle, "frame": g.frame}


def tracking_action(screen: np.ndarray, previous: Optional[np.ndarray] = None) -> int:
    """The library's hand-written full-screen player (the reference ``ram catch`` compares
    agents with): moves the paddle towards the column the ball moves to next, read from this
    screen and the one before (or towards the ball's column on the first screen)."""
    return _ram.tracking_action(screen, previous)
