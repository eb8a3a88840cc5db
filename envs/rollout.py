"""The toolkit's one rollout loop: run a policy (or the plain trot) for one episode and measure it.

Evaluation, the baseline calibration, debugging, playback recordings and export checks all
walk the env through :func:`run_episode`, so an episode's end and a fall mean the same
everywhere (``envs.residual_walk_env.is_fall``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from envs.residual_walk_env import N_ACTIONS, is_fall

if TYPE_CHECKING:
    from envs.residual_walk_env import ResidualWalkEnv

Policy = Callable[[np.ndarray], np.ndarray]  # observation -> action


def zero_policy(obs: np.ndarray) -> np.ndarray:
    """The baseline trot: no residual (and, with gait modulation, the gait's own stride and frequency)."""
    return np.zeros(N_ACTIONS, dtype=np.float32)


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
    n_steps = max(1, int(round(seconds / env.dt)))
    heights, tilts, abs_means, velocities, abs_actions, observations = [], [], [], [], [], []
    term_sums = {k: 0.0 for k in env.reward_terms}
    total, termination, steps = 0.0, "", 0
    for _ in range(n_steps):
        if record_observations:
            observations.append(np.array(obs, copy=True))
        action = np.asarray(policy(obs), dtype=np.float32).ravel()
        obs, reward, terminated, _, info = env.step(action)
        steps += 1
        total += reward
        for k in term_sums:
            term_sums[k] += info[f"reward_{k}"]
        heights.append(info["body_height"])
        tilts.append(info["tilt"])
        abs_means.append(info["mean_abs_action"])
        velocities.append(info["x_velocity"])
        if record_actions:
            abs_actions.extend(np.abs(np.clip(action, -1, 1)).tolist())
        if terminated:
            termination = info["termination"]
        stop = on_step(env, info) if on_step is not None else False
        if terminated or stop:
            break
    duration = steps * env.dt
    x1, y1 = float(env.data.qpos[0]), float(env.data.qpos[1])
    if termination == "physics_error":
        x1, y1 = x0, y0
    return EpisodeStats(
        seed=seed,
        forward_velocity=(x1 - x0) / duration,
        lateral_velocity=(y1 - y0) / duration,
        lateral_drift=abs(y1 - y0),
        mean_body_height=float(np.mean(heights)),
        mean_tilt=float(np.mean(tilts)),
        max_tilt=float(np.max(tilts)),
        mean_abs_action=float(np.mean(abs_means)),
        duration=duration,
        fell=is_fall(termination),
        termination=termination,
        reward=total,
        reward_terms={k: v / steps for k, v in term_sums.items()},
        velocity_trace=velocities,
        abs_actions=abs_actions,
        observations=observations,
    )
