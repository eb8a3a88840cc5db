"""ResidualWalk-v0's vector entry point: N robots on one ``mujoco.batch.Batch`` as a Gymnasium ``VectorEnv``.

    vec = gym.make_vec("ResidualWalk-v0", num_envs=N, vectorization_mode="vector_entry_point")
    observations, infos = vec.reset(seed=0)
    observations, rewards, terminations, truncations, infos = vec.step(actions)

One ``envs.walk_core.WalkCore`` steps every robot in numpy and the physics runs on the batch's C
threads with the GIL released (``threads``; default every CPU). ``ResidualWalkVectorEnv`` steps
exactly like ``gymnasium.vector.SyncVectorEnv`` over N ``gym.make("ResidualWalk-v0", config=...,
max_episode_steps=...)`` with the same ``autoreset_mode`` (``NEXT_STEP``, Gymnasium's default,
``SAME_STEP`` or ``DISABLED``; ``metadata["autoreset_mode"]`` says which): the same seeds
(``reset(seed=s)`` gives robot i seed ``s + i``; a list gives one seed per robot), observations,
rewards, terminations, truncations and infos in Gymnasium's vector form (a dict of arrays, each
with its ``_key`` mask; ``final_obs`` and ``final_info`` with ``SAME_STEP``);
``reset(options={"reset_mask": mask})`` resets only some robots, as SyncVectorEnv does.
``tests/test_gym_vector_env.py`` checks it against SyncVectorEnv, and Gymnasium's vector wrappers
on it. Nothing here imports Stable-Baselines3.

``get_attr``, ``set_attr`` and ``call`` reach a per-robot view (``RobotView``, also in ``views``)
with the names the toolkit uses: ``dt``, ``config``, ``command``, ``terrain_schedule``,
``terrain_path``, ``set_terrain_schedule`` (the curriculum), ``set_terrain``. Every robot's
episode is the core's (``envs.episode``): the env pickles and deep-copies through
``WalkCore.snapshot`` and ``restore``, robot by robot.

The training's SB3 ``VecEnv`` (``walklab.vec_envs.batched.BatchedVecEnv``) is an adapter over
this class: it builds one with ``SAME_STEP`` and drives it through ``reset_robot`` and
``step_robots``, the per-robot reset and the batch step both classes share.
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral
from typing import Any

import numpy as np
from gymnasium import spaces
from gymnasium.error import ResetNeeded
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from envs import MAX_EPISODE_STEPS
from envs.config import EnvConfig
from envs.layout import N_ACTIONS
from envs.perturbations import changes_models
from envs.physics import BatchSim, default_threads
from envs.robot_sim import load_model
from envs.walk_core import WalkCore


class RobotView:
    """Robot i of a batch, with the attributes ``get_attr``/``call``/``env_method`` ask for."""

    def __init__(self, core: WalkCore, i: int):
        self._core, self._i = core, i

    render_mode = None  # a batch does not render; replay a robot in ResidualWalkEnv
    dt = property(lambda self: self._core.dt)
    config = property(lambda self: self._core.config)
    terrain_schedule = property(lambda self: self._core.terrain_schedule[self._i])
    terrain_path = property(lambda self: self._core.terrain_path[self._i])

    @property
    def command(self) -> np.ndarray:
        return self._core.commands.values[self._i]

    @command.setter
    def command(self, value) -> None:
        self._core.commands.values[self._i] = value

    def set_terrain_schedule(self, schedule) -> None:
        self._core.set_terrain_schedule(self._i, schedule)

    def set_terrain(self, png: str | None) -> None:
        self._core.set_terrain(self._i, png)


class ResidualWalkVectorEnv(VectorEnv):
    """N ResidualWalk-v0 robots as one Gymnasium vector env (see the module docstring).

    ``ResidualWalkVectorEnv(config=None, num_envs=1, max_episode_steps=1000, threads=None,
    own_models=None, core_class=WalkCore, autoreset_mode=AutoresetMode.NEXT_STEP, render_mode=None,
    **keywords)``: ``config`` and ``keywords`` as ``ResidualWalkEnv``'s (a batch does not render:
    render_mode must be None); ``max_episode_steps`` None for no time
    limit; ``own_models`` gives every robot its own MjModel (default: with ``randomize``, a model perturbation or
    ``curriculum``, where robots' physics or terrain differ); ``core_class`` a WalkCore subclass.
    """

    metadata = {"render_modes": [], "autoreset_mode": AutoresetMode.NEXT_STEP}

    def __init__(
        self,
        config: EnvConfig | None = None,
        num_envs: int = 1,
        max_episode_steps: int | None = MAX_EPISODE_STEPS,
        threads: int | None = None,
        own_models: bool | None = None,
        core_class: type[WalkCore] = WalkCore,
        autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
        render_mode: str | None = None,
        **keywords: Any,
    ):
        if render_mode is not None:
            raise ValueError(
                f"render_mode must be None, got {render_mode!r}: a batch does not render (replay a robot "
                "in gym.make('ResidualWalk-v0', render_mode=...))"
            )
        config = (config if config is not None else EnvConfig()).replace(**keywords)
        if isinstance(num_envs, bool) or int(num_envs) < 1:
            raise ValueError(f"num_envs must be at least 1, got {num_envs}")
        if threads is not None and int(threads) < 1:
            raise ValueError(f"threads must be at least 1, got {threads}")
        if max_episode_steps is not None and int(max_episode_steps) < 1:
            raise ValueError(f"max_episode_steps must be at least 1 (or None), got {max_episode_steps}")
        self.autoreset_mode = AutoresetMode(autoreset_mode)
        model = load_model(config.terrain, robot=config.robot)
        if own_models is None:  # per-robot models only where robots' physics or terrain differ
            own_models = changes_models(config) or config.curriculum
        self.num_envs = int(num_envs)
        self.physics = BatchSim(
            model, self.num_envs, threads or default_threads(), own_models=own_models, robot=config.robot
        )
        self.core = core_class(config, self.physics)
        self.config = config
        self.max_episode_steps = None if max_episode_steps is None else int(max_episode_steps)
        self.single_observation_space = spaces.Box(-np.inf, np.inf, shape=(self.core.obs_size,), dtype=np.float32)
        self.single_action_space = spaces.Box(-1.0, 1.0, shape=(self.core.n_actions,), dtype=np.float32)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self.metadata = {
            **type(self).metadata,
            "render_fps": int(round(1.0 / self.core.dt)),
            "autoreset_mode": self.autoreset_mode,
        }
        self.render_mode = None
        self.spec = None  # gym.make_vec sets it
        self.views = [RobotView(self.core, i) for i in range(self.num_envs)]
        self.elapsed = np.zeros(self.num_envs, dtype=np.int64)  # steps of each robot's episode (TimeLimit's)
        self._ended = np.zeros(self.num_envs, dtype=bool)  # terminated or truncated at the last step
        self._started = False  # step() wants a reset() first, as gym.make's OrderEnforcing

    @property
    def threads(self) -> int:
        return self.physics.batch.nthread

    # ------------------------------------------------------------------ what BatchedVecEnv shares
    def reset_robot(self, i: int, seed: int | None = None, options: dict | None = None) -> dict[str, float]:
        """Start robot i's next episode as ``ResidualWalkEnv.reset(seed=seed, options=options)``
        does (a seed makes a fresh random stream; None keeps the robot's own); returns its info.
        The observation is in ``core.last_obs[i]``."""
        info = self.core.reset(i, seed, options)
        self.elapsed[i] = 0
        self._ended[i] = False
        return info

    def step_robots(self, actions, skip: np.ndarray | None = None):
        """One control step of every robot but those in the boolean mask `skip` (left as they are).

        Returns (observations, rewards, terminated, truncated, infos) with one info dict per robot
        (``{}`` for a skipped robot, whose entries are all zero or False); no robot is reset.
        """
        core, n = self.core, self.num_envs
        if skip is not None and not skip.any():
            skip = None
        if skip is not None and skip.all():
            zeros = np.zeros(n, dtype=bool)
            return core.last_obs.copy(), np.zeros(n), zeros, zeros.copy(), [{} for _ in range(n)]
        if skip is None:
            result = core.step(actions)
            self.elapsed += 1
        else:
            # WalkCore leaves a robot with a non-finite action unstepped (its state, filter, phase
            # and command untouched); it records "invalid_action" as the robot's last ending,
            # which its next reset reports to a terrain schedule: restore the real one.
            rows = np.flatnonzero(skip)
            held = np.array(actions, dtype=np.float64).reshape(n, -1)
            held[rows] = np.nan
            endings = [core.last_termination[i] for i in rows]
            result = core.step(held)
            for i, ending in zip(rows, endings):
                core.last_termination[i] = ending
            self.elapsed[~skip] += 1
        terminated = result.terminated
        truncated = (
            np.zeros(n, dtype=bool) if self.max_episode_steps is None else self.elapsed >= self.max_episode_steps
        )
        infos = result.infos
        if skip is not None:
            terminated[skip] = False
            truncated[skip] = False
            for i in rows:
                infos[i] = {}
        return result.observation, result.reward, terminated, truncated, infos

    # ------------------------------------------------------------------ Gymnasium's VectorEnv API
    def reset(
        self, *, seed: int | Sequence[int | None] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Reset every robot (or those in ``options["reset_mask"]``); a seed s gives robot i s + i."""
        n = self.num_envs
        if seed is None:
            seeds = [None] * n
        elif isinstance(seed, Integral) and not isinstance(seed, bool):
            seeds = [int(seed) + i for i in range(n)]
        else:
            seeds = list(seed)
            if len(seeds) != n:
                raise ValueError(
                    f"If seeds are passed as a list the length must match num_envs={n} but got length={len(seeds)}."
                )
        mask = np.ones(n, dtype=bool)
        if options is not None and "reset_mask" in options:
            options = dict(options)
            mask = options.pop("reset_mask")
            if not isinstance(mask, np.ndarray):
                raise TypeError(f"`options['reset_mask']` must be a numpy array, got {type(mask)}")
            if mask.shape != (n,):
                raise ValueError(f"`options['reset_mask']` must have shape `({n},)`, got {mask.shape}")
            if mask.dtype != np.bool_:
                raise TypeError(f"`options['reset_mask']` must have `dtype=np.bool_`, got {mask.dtype}")
            if not mask.any():
                raise ValueError(
                    f"`options['reset_mask']` must contain a boolean array with at least one True value, got {mask}"
                )
        if not mask.all() and not self._started:
            raise ResetNeeded("reset the whole batch once before resetting some of its robots")
        infos: dict[str, Any] = {}
        for i in np.flatnonzero(mask):
            infos = self._add_info(infos, self.reset_robot(int(i), seeds[i], options), int(i))
        self._started = True
        return self.core.last_obs.copy(), infos

    def step(self, actions) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        if not self._started:
            raise ResetNeeded("Cannot call env.step() before calling env.reset()")
        actions = self._action_rows(actions)
        mode, n = self.autoreset_mode, self.num_envs
        if mode == AutoresetMode.NEXT_STEP:  # robots that ended last step reset instead of stepping
            waiting = self._ended.copy()
            _, rewards, terminated, truncated, step_infos = self.step_robots(actions, skip=waiting)
            for i in np.flatnonzero(waiting):
                step_infos[i] = self.reset_robot(int(i))
            infos = self._gather_infos(step_infos)
        elif mode == AutoresetMode.SAME_STEP:
            observations, rewards, terminated, truncated, step_infos = self.step_robots(actions)
            ended = terminated | truncated
            if not ended.any():
                infos = self._gather_infos(step_infos)
            else:  # as SyncVectorEnv, robot by robot: the ended ones' final_obs and final_info, then reset
                infos = {}
                for i in range(n):
                    info = step_infos[i]
                    if ended[i]:
                        infos = self._add_info(infos, {"final_obs": observations[i].copy(), "final_info": info}, i)
                        info = self.reset_robot(i)
                    infos = self._add_info(infos, info, i)
        else:  # DISABLED: the caller resets ended robots with options={"reset_mask": ...}
            if self._ended.any():
                raise RuntimeError(
                    f"robots {np.flatnonzero(self._ended).tolist()} ended: with autoreset_mode DISABLED reset "
                    "them (options={'reset_mask': mask}) before stepping again"
                )
            _, rewards, terminated, truncated, step_infos = self.step_robots(actions)
            infos = self._gather_infos(step_infos)
        self._ended = (terminated | truncated) if mode != AutoresetMode.SAME_STEP else np.zeros(n, dtype=bool)
        return self.core.last_obs.copy(), rewards.astype(np.float64), terminated, truncated, infos

    def _gather_infos(self, infos: list[dict[str, Any]]) -> dict[str, Any]:
        """The vector info of one dict per robot, equal to ``_add_info`` over them in robot order;
        a column at a time when every robot has the same keys with plain values (a step without
        ends), robot by robot otherwise."""
        n = self.num_envs
        keys = infos[0].keys()
        if not all(info.keys() == keys for info in infos):
            return self._add_info_each(infos)
        out: dict[str, Any] = {}
        for key in keys:
            values = [info[key] for info in infos]
            kind = type(values[0])
            if kind in (int, float, bool) or issubclass(kind, np.number):
                if all(type(v) is kind for v in values):
                    array = np.array(values, dtype=kind)
                else:  # _add_info's casts, value by value
                    array = np.zeros(n, dtype=kind)
                    for i, value in enumerate(values):
                        array[i] = value
            elif kind is str:
                array = np.full(n, fill_value=None, dtype=object)
                array[:] = values
            else:  # arrays, dicts, objects: leave them to _add_info
                return self._add_info_each(infos)
            out[key], out[f"_{key}"] = array, np.ones(n, dtype=np.bool_)
        return out

    def _add_info_each(self, infos: list[dict[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for i, info in enumerate(infos):
            out = self._add_info(out, info, i)
        return out

    def _action_rows(self, actions) -> np.ndarray:
        """`actions` as (num_envs, n_actions or 12) float64 rows, or a ValueError saying what fits."""
        n, na = self.num_envs, self.core.n_actions
        try:
            array = np.asarray(actions, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"actions must be ({n}, {na}) numbers, got {type(actions).__name__}") from None
        if array.ndim != 2 or array.shape[0] != n or array.shape[1] not in (na, N_ACTIONS):
            sizes = f"{na}" if na == N_ACTIONS else f"{na} (or {N_ACTIONS}, the residuals alone)"
            raise ValueError(f"actions must have shape ({n}, {sizes}), got {array.shape}")
        return array

    def render(self) -> None:
        return None  # a batch does not render; replay a robot in ResidualWalkEnv

    def close_extras(self, **kwargs: Any) -> None:
        self.physics.close()

    # ------------------------------------------------------------------ the robots' views
    def call(self, name: str, *args: Any, **kwargs: Any) -> tuple[Any, ...]:
        """``name`` of every robot's ``RobotView``: called with the arguments if a method, else its value."""
        out = []
        for view in self.views:
            value = getattr(view, name)
            out.append(value(*args, **kwargs) if callable(value) else value)
        return tuple(out)

    def get_attr(self, name: str) -> tuple[Any, ...]:
        return self.call(name)

    def set_attr(self, name: str, values: list[Any] | tuple[Any, ...] | Any) -> None:
        """Set ``name`` on every robot's view: one value each (a list or tuple) or the same for all."""
        if not isinstance(values, (list, tuple)):
            values = [values] * self.num_envs
        if len(values) != self.num_envs:
            raise ValueError(f"values must have length num_envs={self.num_envs}, got {len(values)}")
        for view, value in zip(self.views, values):
            setattr(view, name, value)

    @property
    def np_random(self) -> tuple[np.random.Generator, ...]:
        """Every robot's random stream (as SyncVectorEnv's, one per sub-environment)."""
        core = self.core
        for i, rng in enumerate(core.rngs):
            if rng is None:
                core.rngs[i], core.seeds[i] = seeding.np_random()
        return tuple(core.rngs)

    @property
    def np_random_seed(self) -> tuple[int, ...]:
        self.np_random  # noqa: B018 - seeds every robot not seeded yet
        return tuple(self.core.seeds)

    # ------------------------------------------------------------------ pickling
    def __getstate__(self):
        # every robot's episode is its core snapshot; the rest is this env's own bookkeeping
        init = (self.config, self.num_envs, self.max_episode_steps, self.threads, self.physics.own_models)
        return {
            "init": init + (type(self.core), self.autoreset_mode),
            "robots": [self.core.snapshot(i) for i in range(self.num_envs)],
            "elapsed": self.elapsed.copy(),
            "ended": self._ended.copy(),
            "started": self._started,
            "spec": self.spec,
        }

    def __setstate__(self, state):
        self.__init__(*state["init"])
        for i, robot in enumerate(state["robots"]):
            self.core.restore(i, robot)
        self.elapsed[:] = state["elapsed"]
        self._ended[:] = state["ended"]
        self._started = state["started"]
        self.spec = state["spec"]
