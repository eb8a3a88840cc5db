"""Evaluation rollouts: run a policy (or the baseline) for whole episodes and summarise them."""
from __future__ import annotations

import numpy as np

from envs.rollout import EpisodeStats, Policy, run_episode, zero_policy

__all__ = ["EpisodeStats", "Policy", "evaluate", "improvement_pct", "run_episode", "summarize", "zero_policy"]


def summarize(episodes: list[EpisodeStats]) -> dict:
    """Means over episodes, with the keys the comparison JSON uses."""
    terms = {k: float(np.mean([e.reward_terms[k] for e in episodes])) for k in episodes[0].reward_terms}
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


def evaluate(env, policy: Policy, episodes: int, seconds: float, first_seed: int = 0,
             record_actions: bool = False) -> tuple[dict, list[EpisodeStats]]:
    """Run `episodes` episodes on seeds first_seed, first_seed+1, ... and summarise."""
    stats = [run_episode(env, policy, first_seed + i, seconds, record_actions) for i in range(episodes)]
    return summarize(stats), stats


def improvement_pct(trained: dict, baseline: dict) -> float | None:
    """Forward-velocity gain of `trained` over `baseline` summaries in percent (None if the baseline is 0)."""
    v_t, v_b = trained["forward_velocity_mps"], baseline["forward_velocity_mps"]
    return 100.0 * (v_t - v_b) / abs(v_b) if v_b else None
