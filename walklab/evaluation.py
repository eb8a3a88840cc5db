"""Evaluation rollouts: run a policy (or the baseline) for whole episodes and summarise them."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from envs.residual_walk_env import REWARD_TERMS, ResidualWalkEnv

Policy = Callable[[np.ndarray], np.ndarray]  # observation -> action


def zero_policy(obs: np.ndarray) -> np.ndarray:
    """The baseline trot: no residual."""
    return np.zeros(12, dtype=np.float32)


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


def run_episode(env: ResidualWalkEnv, policy: Policy, seed: int, seconds: float, record_actions: bool = False,
                on_step: Callable[[ResidualWalkEnv], None] | None = None) -> EpisodeStats:
    """One episode of at most `seconds`, ended early by the env's termination."""
    obs, _ = env.reset(seed=seed)
    x0, y0 = float(env.data.qpos[0]), float(env.data.qpos[1])
    n_steps = max(1, int(round(seconds / env.dt)))
    heights, tilts, abs_means, velocities, abs_actions = [], [], [], [], []
    term_sums = {k: 0.0 for k in REWARD_TERMS}
    total, termination, steps = 0.0, "", 0
    for _ in range(n_steps):
        action = np.asarray(policy(obs), dtype=np.float32).reshape(12)
        obs, reward, terminated, _, info = env.step(action)
        steps += 1
        total += reward
        for k in REWARD_TERMS:
            term_sums[k] += info[f"reward_{k}"]
        heights.append(info["body_height"])
        tilts.append(info["tilt"])
        abs_means.append(info["mean_abs_action"])
        velocities.append(info["x_velocity"])
        if record_actions:
            abs_actions.extend(np.abs(np.clip(action, -1, 1)).tolist())
        if on_step is not None:
            on_step(env)
        if terminated:
            termination = info["termination"]
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
        fell=termination in ("fell_height", "fell_tilt", "physics_error"),
        termination=termination,
        reward=total,
        reward_terms={k: v / steps for k, v in term_sums.items()},
        velocity_trace=velocities,
        abs_actions=abs_actions,
    )


def summarize(episodes: list[EpisodeStats]) -> dict:
    """Means over episodes, with the keys the comparison JSON uses."""
    terms = {k: float(np.mean([e.reward_terms[k] for e in episodes])) for k in REWARD_TERMS}
    causes: dict[str, int] = {}
    for e in episodes:
        if e.termination:
            causes[e.termination] = causes.get(e.termination, 0) + 1
    return {
        "episodes": len(episodes),
        "forward_velocity_mps": float(np.mean([e.forward_velocity for e in episodes])),
        "forward_velocity_std_mps": float(np.std([e.forward_velocity for e in episodes])),
        "lateral_velocity_mps": float(np.mean([e.lateral_velocity for e in episodes])),
        "lateral_drift_m": float(np.mean([e.lateral_drift for e in episodes])),
        "body_height_m": float(np.mean([e.mean_body_height for e in episodes])),
        "mean_tilt_rad": float(np.mean([e.mean_tilt for e in episodes])),
        "max_tilt_rad": float(np.max([e.max_tilt for e in episodes])),
        "mean_abs_action": float(np.mean([e.mean_abs_action for e in episodes])),
        "falls": int(sum(e.fell for e in episodes)),
        "early_terminations": causes,
        "mean_episode_reward": float(np.mean([e.reward for e in episodes])),
        "reward_terms_per_step": terms,
        "per_episode_forward_velocity_mps": [round(e.forward_velocity, 5) for e in episodes],
    }


def evaluate(env: ResidualWalkEnv, policy: Policy, episodes: int, seconds: float, first_seed: int = 0,
             record_actions: bool = False) -> tuple[dict, list[EpisodeStats]]:
    """Run `episodes` episodes on seeds first_seed, first_seed+1, ... and summarise."""
    stats = [run_episode(env, policy, first_seed + i, seconds, record_actions) for i in range(episodes)]
    return summarize(stats), stats


def improvement_pct(trained: dict, baseline: dict) -> float | None:
    """Forward-velocity gain of `trained` over `baseline` summaries in percent (None if the baseline is 0)."""
    v_t, v_b = trained["forward_velocity_mps"], baseline["forward_velocity_mps"]
    return 100.0 * (v_t - v_b) / abs(v_b) if v_b else None
