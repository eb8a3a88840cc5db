"""The training callbacks: episode reward terms, checkpoints with statistics, evaluation that keeps the best.

Each is an importable stable-baselines3 ``BaseCallback`` (``walklab.training`` wires them up).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
from stable_baselines3.common.callbacks import BaseCallback, ProgressBarCallback
from tqdm.rich import tqdm

from envs.residual_walk_env import is_fall
from walklab import runs
from walklab.curriculum import save_state
from walklab.evaluation import evaluate
from walklab.files import atomic_write_json
from walklab.policies import LoadedPolicy, make_eval_env

BEST_EVAL_NAME = "best_model_eval.json"
EVAL_FIRST_SEED = 10_000  # the training's evaluation episodes use seeds 10000, 10001, ... (unseen in training)


class EpisodeTermsCallback(BaseCallback):
    """Logs per-episode sums of every reward term, forward velocity, mean |action| and falls.

    TensorBoard: ``reward/<term>``, ``gait/forward_velocity``, ``gait/mean_abs_action``,
    ``gait/episode_seconds``, ``gait/fell``; the hyperparameters once as ``config/hyperparameters``.
    """

    def __init__(self, reward_terms: tuple[str, ...], hyperparameter_text: str = ""):
        super().__init__()
        self.reward_terms = reward_terms
        self.hyperparameter_text = hyperparameter_text

    def _on_training_start(self) -> None:
        n = self.training_env.num_envs
        self.sums = {k: np.zeros(n) for k in self.reward_terms}
        self.velocity = np.zeros(n)
        self.abs_action = np.zeros(n)
        self.steps = np.zeros(n)
        self.control_dt = float(self.training_env.get_attr("dt")[0])
        if self.hyperparameter_text:
            self.logger.record(
                "config/hyperparameters", self.hyperparameter_text, exclude=("stdout", "log", "json", "csv")
            )

    def _on_step(self) -> bool:
        for i, (info, done) in enumerate(zip(self.locals["infos"], self.locals["dones"])):
            for k in self.reward_terms:
                self.sums[k][i] += info.get(f"reward_{k}", 0.0)
            self.velocity[i] += info.get("x_velocity", 0.0)
            self.abs_action[i] += info.get("mean_abs_action", 0.0)
            self.steps[i] += 1
            if done:
                for k in self.reward_terms:
                    self.logger.record_mean(f"reward/{k}", self.sums[k][i])
                    self.sums[k][i] = 0.0
                self.logger.record_mean("gait/forward_velocity", self.velocity[i] / self.steps[i])
                self.logger.record_mean("gait/mean_abs_action", self.abs_action[i] / self.steps[i])
                self.logger.record_mean("gait/episode_seconds", self.steps[i] * self.control_dt)
                self.logger.record_mean("gait/fell", float(is_fall(info.get("termination", ""))))
                self.velocity[i] = self.abs_action[i] = self.steps[i] = 0.0
        return True


class _Periodic(BaseCallback):
    """Runs `_fire` every `every` environment steps, counted over all envs, aligned to multiples."""

    def __init__(self, every: int):
        super().__init__()
        self.every = every
        self.next_at = 0

    def _on_training_start(self) -> None:
        self.next_at = (self.num_timesteps // self.every + 1) * self.every

    def _on_step(self) -> bool:
        if self.num_timesteps < self.next_at:
            return True
        self.next_at += self.every
        return self._fire() is not False

    def _fire(self) -> bool | None:
        raise NotImplementedError


class CheckpointWithStats(_Periodic):
    """Saves ``checkpoints/rl_model_<n>_steps.zip`` with its VecNormalize statistics."""

    def __init__(self, run_dir: Path, every: int):
        super().__init__(every)
        self.run = runs.RunDir(run_dir)

    def _fire(self) -> None:
        self.run.save_checkpoint(self.model, self.model.get_vec_normalize_env(), self.num_timesteps)


class EvalKeepBest(_Periodic):
    """Deterministic episodes on a separate env; keeps best_model.zip with its own statistics.

    `on_evaluation(num_timesteps, summary)` (optional) hears every evaluation, e.g. a sweep's
    pruner; if it raises, training stops with that exception.
    """

    def __init__(
        self,
        run_dir: Path,
        config: dict,
        every: int,
        episodes: int,
        seconds: float,
        on_evaluation: Callable[[int, dict], None] | None = None,
    ):
        super().__init__(every)
        self.run_dir = Path(run_dir)
        self.config = config
        self.episodes, self.seconds = episodes, seconds
        self.on_evaluation = on_evaluation
        self.best = -np.inf
        self.env = None

    def _on_training_start(self) -> None:
        super()._on_training_start()
        self.env = make_eval_env(self.config)
        previous_best = self.run_dir / BEST_EVAL_NAME
        if previous_best.is_file():  # a resumed run keeps its best so far
            best = json.loads(previous_best.read_text()).get("mean_episode_reward")
            self.best = -np.inf if best is None else best  # null: a non-finite reward was recorded

    def _fire(self) -> None:
        vec_normalize = self.model.get_vec_normalize_env()

        rows = LoadedPolicy(self.model, vec_normalize, None, None).act_rows  # every episode a row of a batch
        summary, _ = evaluate(self.env, None, self.episodes, self.seconds, first_seed=EVAL_FIRST_SEED, rows=rows)
        self.logger.record("eval/mean_reward", summary["mean_episode_reward"])
        self.logger.record("eval/forward_velocity", summary["forward_velocity_mps"])
        self.logger.record("eval/falls", summary["falls"])
        self.logger.record("eval/mean_abs_action", summary["mean_abs_action"])
        if summary["mean_episode_reward"] > self.best:
            self.best = summary["mean_episode_reward"]
            runs.RunDir(self.run_dir).save(self.model, vec_normalize, "best")
            atomic_write_json(self.run_dir / BEST_EVAL_NAME, {"num_timesteps": self.num_timesteps, **summary})
        if self.on_evaluation is not None:
            self.on_evaluation(self.num_timesteps, summary)

    def _on_training_end(self) -> None:
        if self.env is not None:
            self.env.close()


class CurriculumCallback(BaseCallback):
    """Terrain curriculum (``--curriculum``, walklab/curriculum.py): after every rollout logs each
    env's level (``curriculum/level_<i>``) and their mean (``curriculum/level_mean``) to TensorBoard
    and writes them to ``<run_dir>/curriculum.json``, which ``--resume`` reads back."""

    def __init__(self, run_dir: Path, n_levels: int):
        super().__init__()
        self.run_dir = Path(run_dir)
        self.n_levels = n_levels

    def _levels(self) -> list[int]:
        return [int(s.level) for s in self.training_env.get_attr("terrain_schedule")]

    def _record(self) -> None:
        levels = self._levels()
        self.logger.record("curriculum/level_mean", float(np.mean(levels)))
        for i, level in enumerate(levels):
            self.logger.record(f"curriculum/level_{i}", level)
        save_state(self.run_dir, levels, self.n_levels, self.num_timesteps)

    def _on_step(self) -> bool:
        return True

    def _on_rollout_end(self) -> None:
        self._record()


def steps_that_run(remaining: int, rollout: int) -> int:
    """PPO collects whole rollouts: `remaining` steps run as this many (rounded up to a rollout)."""
    return -(-remaining // rollout) * rollout


class WholeRolloutsProgressBar(ProgressBarCallback):
    """SB3's progress bar, its total the steps that will actually run (whole rollouts), so it
    never counts past it (``24,576/24,576``, not ``24,576/20,000``)."""

    def _on_training_start(self) -> None:
        remaining = self.locals["total_timesteps"] - self.model.num_timesteps
        self.pbar = tqdm(total=steps_that_run(remaining, self.model.n_steps * self.training_env.num_envs))
