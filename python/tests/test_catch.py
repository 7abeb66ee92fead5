"""The Catch environment keeps the rules of the C++ game (env/catch_game.h)."""

from __future__ import annotations

import numpy as np
import pytest

from ram.catch import CatchEnv, tracking_action, FRAMES, SIZE


def pixels_of(obs):
    return {tuple(p) for p in np.argwhere(obs == 1)}


def play(env, policy, seed=None):
    obs, info = env.reset(seed=seed) if seed is not None else env.reset()
    frames = [(obs, info)]
    rewards, done = [], False
    previous = None
    while not done:
        action = policy(obs, previous)
        previous = obs
        obs, reward, terminated, truncated, info = env.step(action)
        assert truncated is False
        rewards.append(reward)
        frames.append((obs, info))
        done = terminated
    return frames, rewards


def test_an_episode_follows_the_rules():
    env = CatchEnv()
    for seed in range(20):
        frames, rewards = play(env, lambda obs, prev: 1, seed=seed)
        assert SIZE == 24 and FRAMES == 23
        assert len(rewards) == FRAMES  # 23 actions, terminated only by the last one
        assert all(r == 0.0 for r in rewards[:-1]) and rewards[-1] in (0.0, 1.0)
        first_obs, first = frames[0]
        assert first_obs.shape == (24, 24) and first_obs.dtype == np.float32
        assert first["ball"][0] == 0 and first["paddle"] == 11 and first["frame"] == 0
        assert first["ball_velocity"] in (-1, 1)
        for (obs, before), (_, after) in zip(frames, frames[1:]):
            assert pixels_of(obs) == {before["ball"], (23, before["paddle"]),
                                      (23, before["paddle"] + 1)}
            assert after["ball"][0] == before["ball"][0] + 1
            col, v = before["ball"][1], before["ball_velocity"]
            moved = col + v
            if moved < 0 or moved > 23:  # reflected by the wall
                moved, v = col - v, -v
            assert after["ball"][1] == moved and after["ball_velocity"] == v
            assert after["paddle"] == before["paddle"]  # "stay"
            assert after["frame"] == before["frame"] + 1
        last = frames[-1][1]
        assert rewards[-1] == (1.0 if last["ball"][1] in (11, 12) else 0.0)


def test_the_paddle_moves_and_stops_at_the_walls():
    env = CatchEnv()
    env.reset(seed=3)
    for frame in range(FRAMES):
        _, _, _, _, info = env.step(0)
        assert info["paddle"] == max(11 - frame - 1, 0)
    env.reset(seed=3)
    for frame in range(FRAMES):
        _, _, _, _, info = env.step(2)
        assert info["paddle"] == min(11 + frame + 1, 22)


def test_the_tracking_player_catches_every_ball():
    env = CatchEnv()
    env.reset(seed=11)
    for _ in range(30):  # games 0..29 of seed 11
        _, rewards = play(env, tracking_action)
        assert rewards[-1] == 1.0


def test_a_seed_fixes_the_sequence_of_games():
    env, other = CatchEnv(), CatchEnv()
    starts = [env.reset(seed=5)[1]] + [env.reset()[1] for _ in range(9)]
    assert starts[0] == other.reset(seed=5)[1]
    assert [other.reset()[1] for _ in range(9)] == starts[1:]
    assert len({(s["ball"], s["ball_velocity"]) for s in starts}) > 1
    assert CatchEnv().reset()[0].shape == (24, 24)  # unseeded: a seed from the system


def test_bad_steps_raise():
    env = CatchEnv()
    with pytest.raises(ValueError, match="call reset"):
        env.step(1)
    env.reset(seed=0)
    for bad in (3, -1, 1.0, "left", True):
        with pytest.raises(ValueError, match="action must be 0 \\(left\\), 1 \\(stay\\) or 2"):
            env.step(bad)
    env.step(np.int64(2))
    for _ in range(FRAMES - 1):
        env.step(1)
    with pytest.raises(ValueError, match="the episode has ended; call reset"):
        env.step(1)
    with pytest.raises(ValueError, match="seed must be"):
        env.reset(seed=-1)
    with pytest.raises(ValueError, match="screen: shape"):
        tracking_action(np.zeros((5, 5), np.float32))
