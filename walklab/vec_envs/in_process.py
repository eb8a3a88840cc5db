"""In-process envs: picklable factories of one monitored ResidualWalk-v0, and SB3's DummyVecEnv over them."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.vec_env import DummyVecEnv

import envs  # registers ResidualWalk-v0
from envs.config import EnvConfig
from walklab.vec_envs.workers import worker_init

MONITOR_INFO_KEYWORDS = ("x_position", "termination")  # columns of every monitor file beside r, l, t


def make_env_fn(
    env_config: EnvConfig, episode_steps: int, monitor_path: Path | None, worker: bool, parent_pid: int | None = None
):
    """A picklable factory for one (monitored) ResidualWalk-v0 with a time limit of `episode_steps`."""

    def _init():
        if worker:
            worker_init(parent_pid)
        env = gym.make(envs.ENV_ID, config=env_config, max_episode_steps=episode_steps)
        if monitor_path is None:
            return env
        return Monitor(env, filename=str(monitor_path), info_keywords=MONITOR_INFO_KEYWORDS)

    return _init


class _FreshInfos(list):
    """The per-env info dicts of one step. Every env step returns new dicts of immutable values
    (envs.residual_walk_env, Gymnasium's MuJoCo envs, SB3's Monitor), so a copy of the list is a
    true copy: DummyVecEnv's ``deepcopy`` of it (about 40 us per vector step of 4 envs with this
    env's 22 info entries, `bench/THROUGHPUT_NOTES.md`) buys nothing."""

    def __deepcopy__(self, memo):
        return list(self)


def in_process_vec_env(fns):
    """SB3's DummyVecEnv over `fns`, without the per-step deepcopy of the info dicts (_FreshInfos).
    Its transitions and infos are equal to DummyVecEnv's."""
    vec = DummyVecEnv(fns)
    vec.buf_infos = _FreshInfos(vec.buf_infos)
    return vec
