"""``--vec-env batched``: an SB3 ``VecEnv`` of N robots on one ``mujoco.batch.Batch``.

A thin adapter over ``envs.vector_env.ResidualWalkVectorEnv`` (the Gymnasium ``VectorEnv`` that
``gym.make_vec("ResidualWalk-v0", num_envs=N, vectorization_mode="vector_entry_point")`` returns):
one ``envs.walk_core.WalkCore`` steps every robot in numpy, and the physics runs on the batch's C
threads with the GIL released (``threads``; default every CPU). This class drives that env's
per-robot reset (``reset_robot``) and batch step (``step_robots``) and adds SB3's side. Each robot
is what one ``gym.make("ResidualWalk-v0", config=..., max_episode_steps=...)`` wrapped in SB3's
``Monitor`` is inside a ``DummyVecEnv``, exactly: the same seeds (``seed(s)`` gives robot i
seed ``s + i``), the same transitions, autoreset with ``terminal_observation`` and
``TimeLimit.truncated``, ``info["episode"]`` and one ``monitor_<i>.csv.monitor.csv`` per robot
(``tests/test_batched_vec_env.py`` checks it against N single envs).

``get_attr``, ``set_attr`` and ``env_method`` reach a per-robot view (``envs.vector_env.RobotView``)
with the names the toolkit uses: ``dt``, ``config``, ``command``, ``terrain_schedule``,
``set_terrain_schedule`` (the curriculum), ``set_terrain``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from gymnasium.vector import AutoresetMode
from stable_baselines3.common.monitor import ResultsWriter
from stable_baselines3.common.vec_env.base_vec_env import VecEnv, VecEnvIndices

import envs
from envs.config import EnvConfig
from envs.vector_env import ResidualWalkVectorEnv, RobotView
from envs.walk_core import WalkCore
from walklab.vec_envs.in_process import MONITOR_INFO_KEYWORDS

__all__ = ["BatchedVecEnv", "RobotView", "make_batched_vec_env"]


class BatchedVecEnv(VecEnv):
    """N ResidualWalk-v0 robots as one SB3 vector env (see the module docstring)."""

    metadata = {"render_modes": [], "autoreset_mode": AutoresetMode.SAME_STEP}

    def __init__(
        self,
        config: EnvConfig | None = None,
        num_envs: int = 1,
        max_episode_steps: int = envs.MAX_EPISODE_STEPS,
        threads: int | None = None,
        monitor_paths: Sequence[Path | None] | None = None,
        own_models: bool | None = None,
        core_class: type[WalkCore] = WalkCore,
        **keywords: Any,
    ):
        if int(num_envs) < 1:
            raise ValueError(f"num_envs must be at least 1, got {num_envs}")
        self.vector = ResidualWalkVectorEnv(
            config,
            int(num_envs),
            int(max_episode_steps),
            threads=threads,
            own_models=own_models,
            core_class=core_class,
            autoreset_mode=AutoresetMode.SAME_STEP,
            **keywords,
        )
        self.num_envs = int(num_envs)
        super().__init__(int(num_envs), self.vector.single_observation_space, self.vector.single_action_space)
        self.metadata = dict(type(self).metadata)
        self.episode_return = [0.0] * self.num_envs
        self.episode_length = [0] * self.num_envs
        self.needs_reset = [True] * self.num_envs
        self.t_start = time.time()
        self.episode_start = [self.t_start] * self.num_envs
        self.writers = [
            None
            if path is None
            else ResultsWriter(
                str(path), header={"t_start": self.t_start, "env_id": envs.ENV_ID}, extra_keys=MONITOR_INFO_KEYWORDS
            )
            for path in (monitor_paths if monitor_paths is not None else [None] * self.num_envs)
        ]
        self._actions: np.ndarray | None = None
        self.spec = None

    # the batch itself is the Gymnasium vector env's
    core = property(lambda self: self.vector.core)
    physics = property(lambda self: self.vector.physics)
    config = property(lambda self: self.vector.config)
    views = property(lambda self: self.vector.views)
    elapsed = property(lambda self: self.vector.elapsed)
    max_episode_steps = property(lambda self: self.vector.max_episode_steps)

    @property
    def unwrapped(self) -> BatchedVecEnv:
        return self

    @property
    def threads(self) -> int:
        return self.vector.threads

    # ------------------------------------------------------------------ resets
    def _reset_robot(self, i: int, seed: int | None, options: dict | None) -> dict:
        info = self.vector.reset_robot(i, seed, options)
        self.episode_return[i] = 0.0
        self.episode_length[i] = 0
        self.needs_reset[i] = False
        return info

    def reset(self) -> np.ndarray:
        for i in range(self.num_envs):
            self.reset_infos[i] = self._reset_robot(i, self._seeds[i], self._options[i])
        self._reset_seeds()
        self._reset_options()
        return self.core.last_obs.copy()

    # ------------------------------------------------------------------ steps
    def step_async(self, actions: np.ndarray) -> None:
        self._actions = actions

    def step_wait(self):
        actions = np.asarray(self._actions)
        if actions.ndim == 1:  # one action per robot of a discrete-looking caller: rows anyway
            actions = actions.reshape(self.num_envs, -1)
        observations, rewards, terminated, truncated, infos = self.vector.step_robots(actions)
        dones = terminated | truncated
        now = time.time()
        cut = (truncated & ~terminated).tolist()
        for i, info in enumerate(infos):  # as DummyVecEnv, and the Monitor's bookkeeping
            info["TimeLimit.truncated"] = cut[i]
            self.episode_return[i] += float(rewards[i])
            self.episode_length[i] += 1
        ended = np.flatnonzero(dones)
        for i in ended:
            info = infos[i]
            episode = {
                "r": round(self.episode_return[i], 6),
                "l": self.episode_length[i],
                "t": round(now - self.t_start, 6),
            }
            for key in MONITOR_INFO_KEYWORDS:
                episode[key] = info[key]
            if self.writers[i] is not None:
                self.writers[i].write_row(episode)
            info["episode"] = episode
            info["terminal_observation"] = observations[i].copy()
            self.reset_infos[i] = self._reset_robot(i, None, None)
            observations[i] = self.core.last_obs[i]
        return observations, rewards.astype(np.float32), dones, infos

    # ------------------------------------------------------------------ the rest of SB3's VecEnv API
    def close(self) -> None:
        for writer in self.writers:
            if writer is not None:
                writer.close()
        self.writers = [None] * self.num_envs
        self.vector.close()

    def get_images(self) -> Sequence[np.ndarray | None]:
        return [None] * self.num_envs

    def _views(self, indices: VecEnvIndices) -> list[RobotView]:
        return [self.views[i] for i in self._get_indices(indices)]

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        return [getattr(view, attr_name) for view in self._views(indices)]

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        for view in self._views(indices):
            setattr(view, attr_name, value)

    def env_method(self, method_name: str, *method_args, indices: VecEnvIndices = None, **method_kwargs) -> list[Any]:
        return [getattr(view, method_name)(*method_args, **method_kwargs) for view in self._views(indices)]

    def env_is_wrapped(self, wrapper_class, indices: VecEnvIndices = None) -> list[bool]:
        return [False for _ in self._get_indices(indices)]


def make_batched_vec_env(num_envs: int = 1, max_episode_steps: int = envs.MAX_EPISODE_STEPS, **kwargs) -> BatchedVecEnv:
    """ResidualWalk-v0's vector entry point (``gym.make_vec(..., vectorization_mode="vector_entry_point")``)."""
    return BatchedVecEnv(num_envs=num_envs, max_episode_steps=max_episode_steps, **kwargs)
