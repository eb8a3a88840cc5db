"""The toolkit's rollout loop: run a policy (or the plain trot) for whole episodes and measure them.

Evaluation, the baseline calibration, debugging, playback recordings and export checks all
walk the env through :func:`run_episode`, so an episode's end and a fall mean the same
everywhere (``envs.walk_core.is_fall``). :func:`run_batch` runs many seeded episodes as rows
of one ``mujoco.batch`` simulation; each row measures exactly what :func:`run_episode` measures
for its seed (``tests/test_batched_evaluation.py``), given a row policy whose action for a row
equals the single policy's for that observation.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import mujoco
import numpy as np

from envs.config import EnvConfig
from envs.layout import N_ACTIONS
from envs.perturbations import changes_models
from envs.physics import BatchSim
from envs.residual_walk_env import ResidualWalkEnv
from envs.walk_core import WalkCore, is_fall
from gait.parameters import GaitParameters

Policy = Callable[[np.ndarray], np.ndarray]  # observation -> action
RowPolicy = Callable[[np.ndarray], np.ndarray]  # observations (n, obs) -> actions (n, actions)


def zero_policy(obs: np.ndarray) -> np.ndarray:
    """The baseline trot: no residual (and, with gait modulation, the gait's own stride and frequency)."""
    return np.zeros(N_ACTIONS, dtype=np.float32)


def zero_rows(obs: np.ndarray) -> np.ndarray:
    """zero_policy for every row."""
    return np.zeros((len(obs), N_ACTIONS), dtype=np.float32)


@dataclass
class EpisodeStats:
    seed: int
    forward_velocity: float  # m/s, (x_end - x_start) / time walked
    lateral_velocity: float  # m/s, (y_end - y_start) / time walked
    lateral_drift: float  # m, |y_end - y_start|
    mean_body_height: float  # m
    mean_tilt: float  # rad
    max_tilt: float  # rad
    mean_abs_action: float
    duration: float  # s walked
    fell: bool
    termination: str
    reward: float
    reward_terms: dict[str, float] = field(default_factory=dict)  # per-step means of reward_<term>
    velocity_trace: list[float] = field(default_factory=list)  # x_velocity per step, m/s
    abs_actions: list[float] = field(default_factory=list)  # |a| of every action entry
    observations: list[np.ndarray] = field(default_factory=list)  # every observation, when recorded
    # with commands (the env's info carries the yaw): the unwrapped heading change (rad) and the
    # mean speed along the trunk's heading (m/s) over the time walked
    heading_change: float = 0.0
    mean_heading_speed: float | None = None


def heading_step(yaw: float, previous: float) -> float:
    """The turn from `previous` to `yaw` (rad, both in (-pi, pi]), unwrapped into [-pi, pi)."""
    return (yaw - previous + math.pi) % (2.0 * math.pi) - math.pi


def trunk_yaw(qpos: np.ndarray) -> float:
    """The trunk's heading (rad) from a free joint's qpos (x, y, z, qw, qx, qy, qz, ...)."""
    w, x, y, z = (float(v) for v in qpos[3:7])
    return math.atan2(2.0 * (w * z + x * y), 1.0 - 2.0 * (y * y + z * z))


def run_episode(
    env: ResidualWalkEnv,
    policy: Policy,
    seed: int,
    seconds: float,
    record_actions: bool = False,
    on_step: Callable[[ResidualWalkEnv, dict], bool | None] | None = None,
    record_observations: bool = False,
) -> EpisodeStats:
    """One episode of at most `seconds`, ended early by the env's termination.

    `on_step(env, info)` runs after every step; when it returns True the episode stops there (a
    closed viewer window, say).
    """
    obs, _ = env.reset(seed=seed)
    x0, y0 = float(env.data.qpos[0]), float(env.data.qpos[1])
    e = _Episode(env.reward_terms, trunk_yaw(env.data.qpos))
    observations = []
    for _ in range(max(1, int(round(seconds / env.dt)))):
        if record_observations:
            observations.append(np.array(obs, copy=True))
        action = np.asarray(policy(obs), dtype=np.float32).ravel()
        obs, reward, terminated, _, info = env.step(action)
        e.record(reward, info, action if record_actions else None)
        if terminated:
            e.termination = info["termination"]
        stop = on_step(env, info) if on_step is not None else False
        if terminated or stop:
            break
    x1, y1 = float(env.data.qpos[0]), float(env.data.qpos[1])
    if e.termination == "physics_error":
        x1, y1 = x0, y0
    stats = _stats(seed, e, x0, y0, x1, y1, e.steps * env.dt)
    stats.observations = observations
    return stats


class _Episode:
    """What run_episode accumulates, for one row of a batch."""

    def __init__(self, reward_terms, start_yaw: float):
        self.heights, self.tilts, self.abs_means, self.velocities, self.abs_actions = [], [], [], [], []
        self.yaw, self.heading_change, self.heading_speeds = start_yaw, 0.0, []
        self.term_sums = {k: 0.0 for k in reward_terms}
        self.total, self.termination, self.steps = 0.0, "", 0
        self.end_xy: tuple[float, float] | None = None

    def record(self, reward: float, info: dict, action: np.ndarray | None) -> None:
        """One step's reward, terms and gait measures (and |action| entries when given)."""
        self.steps += 1
        self.total += reward
        for key in self.term_sums:
            self.term_sums[key] += info[f"reward_{key}"]
        self.heights.append(info["body_height"])
        self.tilts.append(info["tilt"])
        self.abs_means.append(info["mean_abs_action"])
        self.velocities.append(info["x_velocity"])
        if "yaw" in info:  # commands: unwrap the heading step by step
            self.heading_change += heading_step(info["yaw"], self.yaw)
            self.yaw = info["yaw"]
            self.heading_speeds.append(info["heading_speed"])
        if action is not None:
            self.abs_actions.extend(np.abs(np.clip(action, -1, 1)).tolist())


def run_batch(
    config: EnvConfig,
    model: mujoco.MjModel,
    policy: RowPolicy,
    seeds: list[int],
    seconds: float,
    threads: int | None = None,
    record_actions: bool = False,
    options: dict | None = None,
    on_step: Callable[[], None] | None = None,
) -> list[EpisodeStats]:
    """One episode per seed, every episode a row of one batch on `threads` physics threads
    (`on_step()` after each control step, for a progress display).

    Row i equals ``run_episode(ResidualWalkEnv(config, model=model), ..., seeds[i], seconds)``
    when ``policy(obs)[k]`` equals the single policy's action for ``obs[k]``. A row that ended
    gets a NaN action, which the core neither applies nor steps.
    """
    n = len(seeds)
    physics = BatchSim(model, n, threads, own_models=changes_models(config), robot=config.robot)
    core = WalkCore(config, physics)
    for i, seed in enumerate(seeds):
        core.reset(i, seed, options)
    obs = core.last_obs.copy()
    start_xy = physics.qpos[:, 0:2].copy()
    episodes = [_Episode(core.reward_terms, trunk_yaw(physics.qpos[i])) for i in range(n)]
    active = np.ones(n, dtype=bool)
    for _ in range(max(1, int(round(seconds / core.dt)))):
        rows = np.flatnonzero(active)
        chosen = np.asarray(policy(obs[rows]), dtype=np.float32).reshape(len(rows), -1)
        actions = np.full((n, chosen.shape[1]), np.nan, dtype=np.float32)
        actions[rows] = chosen
        result = core.step(actions)
        if on_step is not None:
            on_step()
        for k, i in enumerate(rows.tolist()):
            e, info = episodes[i], result.infos[i]
            e.record(float(result.reward[i]), info, chosen[k] if record_actions else None)
            if result.terminated[i]:
                e.termination = info["termination"]
                active[i] = False
                if e.termination == "physics_error":
                    e.end_xy = (float(start_xy[i, 0]), float(start_xy[i, 1]))
                else:
                    e.end_xy = (float(physics.qpos[i, 0]), float(physics.qpos[i, 1]))
        obs = result.observation
        if not active.any():
            break
    physics.close()
    stats = []
    for i, (seed, e) in enumerate(zip(seeds, episodes)):
        x0, y0 = float(start_xy[i, 0]), float(start_xy[i, 1])
        x1, y1 = e.end_xy if e.end_xy is not None else (float(physics.qpos[i, 0]), float(physics.qpos[i, 1]))
        stats.append(_stats(seed, e, x0, y0, x1, y1, e.steps * core.dt))
    return stats


def _stats(seed: int, e: _Episode, x0: float, y0: float, x1: float, y1: float, duration: float) -> EpisodeStats:
    return EpisodeStats(
        seed=seed,
        forward_velocity=(x1 - x0) / duration,
        lateral_velocity=(y1 - y0) / duration,
        lateral_drift=abs(y1 - y0),
        mean_body_height=float(np.mean(e.heights)),
        mean_tilt=float(np.mean(e.tilts)),
        max_tilt=float(np.max(e.tilts)),
        mean_abs_action=float(np.mean(e.abs_means)),
        duration=duration,
        fell=is_fall(e.termination),
        termination=e.termination,
        reward=e.total,
        reward_terms={k: v / e.steps for k, v in e.term_sums.items()},
        velocity_trace=e.velocities,
        abs_actions=e.abs_actions,
        heading_change=e.heading_change,
        mean_heading_speed=float(np.mean(e.heading_speeds)) if e.heading_speeds else None,
    )


@dataclass
class WalkMetrics:
    """Summary of one walk."""

    forward_velocity: float  # m/s, mean along world x
    lateral_velocity: float  # m/s, mean along world y (signed drift rate)
    lateral_drift: float  # m, |y_end - y_start|
    mean_height: float  # m, trunk centre above the local ground
    max_tilt: float  # rad, largest angle between trunk up-axis and world up
    fell: bool
    duration: float  # s actually walked


def run_baseline(
    gait: GaitParameters,
    seconds: float,
    seed: int,
    terrain: str | Path | None = None,
    model: mujoco.MjModel | None = None,
    frame_skip: int | None = None,
    on_step=None,
    robot: str | None = None,
) -> WalkMetrics:
    """Walk the open-loop trot for `seconds` from the seeded spawn; `on_step(sim)` is called each control step.

    This is ResidualWalk-v0 with a zero residual, run by the toolkit's one rollout loop, so its
    episode ends (falls, the terrain's edge) are the env's. `frame_skip` and `robot` None: the config's defaults.
    """
    settings = {"frame_skip": frame_skip, "robot": robot}  # the robot in the constructor: `gait` walks on it
    config = EnvConfig(
        gait=gait,
        terrain=None if terrain is None else str(terrain),
        **{k: v for k, v in settings.items() if v is not None},
    )
    env = ResidualWalkEnv(config, model=model)
    callback = None if on_step is None else (lambda e, info: on_step(e.sim))
    episode = run_episode(env, zero_policy, seed, seconds, on_step=callback)
    return WalkMetrics(
        forward_velocity=episode.forward_velocity,
        lateral_velocity=episode.lateral_velocity,
        lateral_drift=episode.lateral_drift,
        mean_height=episode.mean_body_height,
        max_tilt=episode.max_tilt,
        fell=episode.fell,
        duration=episode.duration,
    )
