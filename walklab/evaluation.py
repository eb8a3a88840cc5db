"""Evaluation rollouts: run a policy (or the baseline) for whole episodes and summarise them."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np
from tqdm import tqdm

from envs.config import EnvConfig
from envs.residual_walk_env import ResidualWalkEnv
from envs.rollout import EpisodeStats, Policy, RowPolicy, run_batch, run_episode, zero_policy, zero_rows
from walklab.policies import open_policy

__all__ = [
    "EpisodeStats",
    "Policy",
    "PolicySource",
    "evaluate",
    "improvement_pct",
    "ratio_with_ci",
    "run_episode",
    "run_episodes",
    "row_policy",
    "summarize",
    "zero_policy",
    "zero_rows",
]

BOOTSTRAP_RESAMPLES = 10_000
BOOTSTRAP_SEED = 0  # fixed: the same episodes always give the same interval


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
        "off_terrain": int(sum(e.termination == "off_terrain" for e in episodes)),
        "early_terminations": causes,
        "mean_episode_reward": float(np.mean([e.reward for e in episodes])),
        "reward_terms_per_step": terms,
        "per_episode_forward_velocity_mps": [round(e.forward_velocity, 5) for e in episodes],
    }


def evaluate(
    env,
    policy: Policy,
    episodes: int,
    seconds: float,
    first_seed: int = 0,
    record_actions: bool = False,
    rows: RowPolicy | None = None,
    threads: int | None = None,
) -> tuple[dict, list[EpisodeStats]]:
    """Run `episodes` episodes on seeds first_seed, first_seed+1, ... and summarise.

    With `rows` (the same policy for observation rows, ``LoadedPolicy.act_rows`` or
    ``zero_rows``) every episode is a row of one batch of `env`'s configuration and model, on
    `threads` physics threads (default every CPU): the same numbers, in a fraction of the time.
    """
    seeds = [first_seed + i for i in range(episodes)]
    if rows is not None:
        stats = run_batch(env.config, env.model, rows, seeds, seconds, threads, record_actions)
    else:
        stats = [run_episode(env, policy, seed, seconds, record_actions) for seed in seeds]
    return summarize(stats), stats


def row_policy(policy: Policy, loaded=None, deterministic: bool = True) -> RowPolicy | None:
    """The row form of a policy for batched episodes: ``zero_rows`` for the baseline, a loaded
    model's ``act_rows`` when deterministic; None for a sampled policy (run one by one)."""
    if policy is zero_policy:
        return zero_rows
    if loaded is not None and deterministic:
        return loaded.act_rows
    return None


def improvement_pct(trained: dict, baseline: dict) -> float | None:
    """Forward-velocity gain of `trained` over `baseline` summaries in percent (None if the baseline is 0)."""
    v_t, v_b = trained["forward_velocity_mps"], baseline["forward_velocity_mps"]
    return 100.0 * (v_t - v_b) / abs(v_b) if v_b else None


def ratio_with_ci(
    trained: list[float],
    baseline: list[float],
    confidence: float = 0.95,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> tuple[float, list[float]]:
    """mean(trained) / mean(baseline) and its paired percentile-bootstrap interval over episodes.

    Episode i of both sides shares a seed (spawn), so episodes are resampled in pairs.
    """
    t, b = np.asarray(trained, dtype=float), np.asarray(baseline, dtype=float)
    if t.shape != b.shape or t.size == 0:
        raise ValueError("need the same non-zero number of episodes on both sides")
    ratio = float(t.mean() / b.mean())
    idx = np.random.default_rng(seed).integers(0, t.size, size=(resamples, t.size))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = t[idx].mean(axis=1) / b[idx].mean(axis=1)
    tail = 100 * (1 - confidence) / 2
    low, high = np.nanpercentile(ratios, [tail, 100 - tail])
    return ratio, [float(low), float(high)]


def mean_of_means_with_ci(
    groups: list[list[float]],
    confidence: float = 0.95,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> tuple[float, list[float]]:
    """The mean over `groups` of each group's mean, and its percentile-bootstrap interval.

    Each group (one commanded speed's episodes, say) is resampled on its own, so every group
    keeps its size and weight; one group gives the plain bootstrap interval of its mean.
    """
    arrays = [np.asarray(g, dtype=float) for g in groups]
    if not arrays or any(a.size == 0 for a in arrays):
        raise ValueError("need at least one group, none of them empty")
    rng = np.random.default_rng(seed)
    means = np.zeros(resamples)
    for a in arrays:
        means += a[rng.integers(0, a.size, size=(resamples, a.size))].mean(axis=1)
    means /= len(arrays)
    tail = 100 * (1 - confidence) / 2
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(np.mean([a.mean() for a in arrays])), [float(low), float(high)]


@dataclass(frozen=True)
class PolicySource:
    """How to build an (env, policy) pair, in this process or a worker: picklable, no live objects.

    With ``model`` the env comes from the model's run (config.json); ``baseline`` swaps in the
    zero policy on that same env; a policy trained with commands walks at ``command`` m/s.
    Without a model, ``env`` (an EnvConfig dict) builds the env
    and the policy is the baseline trot.
    """

    model: str | None = None
    normalize: str | None = None
    terrain: str | None = None
    env: dict | None = None
    baseline: bool = False
    deterministic: bool = True
    command: float | None = None  # a commanded policy's forward speed (None: the top of its range)

    def build(self) -> tuple[Any, Policy]:
        env, policy, _ = self.build_with_rows()
        return env, policy

    def build_with_rows(self) -> tuple[Any, Policy, RowPolicy | None]:
        """(env, policy, the policy's row form or None: see row_policy)."""
        if self.model is None:
            config = EnvConfig.from_dict(self.env or {})
            if self.terrain is not None:
                config = config.replace(terrain=self.terrain)
            return ResidualWalkEnv(config), zero_policy, zero_rows
        _, env, loaded = open_policy(self.model, self.normalize, terrain=self.terrain, command=self.command)
        if self.baseline:
            return env, zero_policy, zero_rows
        policy = loaded.policy(self.deterministic)
        return env, policy, row_policy(policy, loaded, self.deterministic)


_WORKER_CACHE: dict[PolicySource, tuple[Any, Policy]] = {}


def _worker_episodes(source: PolicySource, seeds: list[int], seconds: float) -> list[EpisodeStats]:
    if source not in _WORKER_CACHE:
        import torch

        torch.set_num_threads(1)
        _WORKER_CACHE[source] = source.build()
    env, policy = _WORKER_CACHE[source]
    return [run_episode(env, policy, seed, seconds) for seed in seeds]


def _progress_bar(label: str | None, total: int, unit: str) -> tqdm:
    """A progress bar on stderr when it is a terminal and a label is given (else a silent one)."""
    return tqdm(total=total, desc=label, unit=unit, leave=False, disable=None if label else True)


def _counted(episode: EpisodeStats, bar: tqdm) -> EpisodeStats:
    bar.update()
    return episode


def run_episodes(
    source: PolicySource,
    seeds: list[int],
    seconds: float,
    workers: int = 1,
    batched: bool = True,
    threads=None,
    progress: str | None = None,
) -> list[EpisodeStats]:
    """One episode per seed, in seed order: as rows of one batch (`batched`, when the policy has
    a row form; `threads` physics threads), else one by one, in `workers` processes when > 1.
    Each episode is seeded and starts from a full reset, so every way gives the same numbers to
    the last bit. With a `progress` label a progress bar on a terminal's stderr shows the
    simulated seconds (batched) or the episodes done."""
    if batched and len(seeds) > 1:
        env, _, rows = source.build_with_rows()
        if rows is not None:
            bar = _progress_bar(progress, max(1, int(round(seconds / env.dt))), "steps")
            try:
                return run_batch(env.config, env.model, rows, seeds, seconds, threads, on_step=bar.update)
            finally:
                bar.close()
                env.close()
        env.close()
    if workers <= 1 or len(seeds) <= 1:
        env, policy = source.build()
        bar = _progress_bar(progress, len(seeds), "episodes")
        try:
            return [_counted(run_episode(env, policy, seed, seconds), bar) for seed in seeds]
        finally:
            bar.close()
            env.close()
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    workers = min(workers, len(seeds))
    chunks = [seeds[i::workers] for i in range(workers)]
    context = multiprocessing.get_context("fork" if os.name == "posix" else "spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        results = list(pool.map(_worker_episodes, [source] * workers, chunks, [seconds] * workers))
    by_seed = {e.seed: e for chunk in results for e in chunk}
    return [by_seed[s] for s in seeds]
