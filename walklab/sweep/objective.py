"""A sweep trial: one ordinary v2 run per seed (from ``walklab.presets.V2``), scored by its final
velocity ratio over the baseline trot, and pruned by Optuna from its periodic evaluations."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import optuna

from walklab import runs
from walklab.callbacks import EVAL_FIRST_SEED
from walklab.cli import FlagError
from walklab.evaluation import evaluate, zero_rows
from walklab.policies import make_eval_env, open_policy
from walklab.presets import V2
from walklab.run_config import portable_path
from walklab.sweep.space import (
    TRAIN_SCRIPT,
    Param,
    SpaceError,
    SweepSettings,
    active,
    placement_argv,
    reproduce_command,
    sample,
    trial_argv,
)
from walklab.train_cli import build_parser, job_from_args
from walklab.training import StopTraining, TrainingError, evaluation_seconds, train, validate

OBJECTIVE_FIRST_SEED = 0  # the comparison script's seeds: 0, 1, 2, ...


def v2_parser(preset=V2):
    return build_parser(preset, f"{TRAIN_SCRIPT} (as a sweep trial)")


def parse_trial_args(parser, argv: list[str]):
    """Parse with v2's parser; a refusal is a FlagError (one line), never an exit."""
    return parser.parse_or_raise(argv)


def trial_command(argv: list[str]) -> str:
    """The command a trial's config.json records: the v2 script with the trial's flags."""
    return shlex.join(["python", TRAIN_SCRIPT, *argv])


class Baselines:
    """The baseline trot's evaluation per env configuration and seeds, computed once per worker."""

    def __init__(self):
        self.cache: dict[str, dict] = {}

    def get(self, env, env_record: dict, episodes: int, seconds: float, first_seed: int) -> dict:
        key = json.dumps([env_record, episodes, seconds, first_seed], sort_keys=True, default=str)
        if key not in self.cache:  # every episode a row of one batch
            self.cache[key], _ = evaluate(env, None, episodes, seconds, first_seed=first_seed, rows=zero_rows)
        return self.cache[key]


def velocity_ratio(policy_mps: float, baseline_mps: float) -> float:
    if baseline_mps <= 1e-4:
        raise TrainingError(
            f"the baseline trot makes {baseline_mps:.4f} m/s on this env: the velocity "
            "ratio is undefined (use longer evaluation episodes or another terrain)"
        )
    return policy_mps / baseline_mps


class Objective:
    """Optuna objective: train one v2 run per seed, return the mean final velocity ratio."""

    def __init__(self, settings: SweepSettings, space: dict[str, Param], preset):
        self.settings, self.space, self.preset = settings, space, preset
        self.parser = v2_parser(preset)
        self.baselines = Baselines()
        self.current: int | None = None  # the trial being run, for the Ctrl-C message

    def __call__(self, trial) -> float:
        s = self.settings
        self.current = trial.number
        values = sample(self.space, trial)
        ratios = []
        for k, seed in enumerate(s.seeds):
            argv = trial_argv(s, self.space, values, seed)
            full = argv + placement_argv(s, trial.number, seed)
            try:
                job = job_from_args(self.preset, parse_trial_args(self.parser, full), trial_command(full))
            except FlagError as exc:
                raise TrainingError(f"trial {trial.number}: v2 refuses its settings: {exc}") from None
            if k == 0:
                trial.set_user_attr("command", reproduce_command(argv, f"{s.study_name}_best"))
            hook = self._hook(trial, job, k)
            print(
                f"\n[sweep {s.study_name}] trial {trial.number} seed {seed}: python3 {TRAIN_SCRIPT} {shlex.join(full)}",
                flush=True,
            )
            try:
                run_dir = train(job, on_evaluation=hook)
            except StopTraining as stop:
                run_dirs = sorted(s.study_dir.glob(f"trial_{trial.number}_seed{seed}_*"))
                trial.set_user_attr(f"run_dir_seed{seed}", portable_path(run_dirs[-1]) if run_dirs else None)
                raise optuna.TrialPruned(str(stop)) from None
            trial.set_user_attr(f"run_dir_seed{seed}", portable_path(run_dir))
            ratio, policy_mps, baseline_mps = self.final_ratio(run_dir)
            trial.set_user_attr(f"velocity_seed{seed}", round(policy_mps, 5))
            trial.set_user_attr(f"baseline_velocity_seed{seed}", round(baseline_mps, 5))
            trial.set_user_attr(f"ratio_seed{seed}", round(ratio, 4))
            print(
                f"[sweep {s.study_name}] trial {trial.number} seed {seed}: {policy_mps:.3f} m/s vs baseline "
                f"{baseline_mps:.3f} m/s = {ratio:.3f}x",
                flush=True,
            )
            ratios.append(ratio)
        return float(sum(ratios) / len(ratios))

    def _hook(self, trial, job, seed_index: int):
        """on_evaluation: report the evaluation's velocity ratio; stop the run if Optuna prunes it."""
        state: dict[str, float] = {}
        offset = seed_index * self.settings.trial_timesteps  # later seeds report after earlier ones

        def on_evaluation(steps: int, summary: dict) -> None:
            if "baseline" not in state:
                seconds = evaluation_seconds(job)
                env = make_eval_env({"env": job.env.to_dict()})
                try:
                    base = self.baselines.get(env, job.env.to_dict(), job.run.eval_episodes, seconds, EVAL_FIRST_SEED)
                finally:
                    env.close()
                state["baseline"] = base["forward_velocity_mps"]
            ratio = velocity_ratio(summary["forward_velocity_mps"], state["baseline"])
            trial.report(ratio, offset + steps)
            if trial.should_prune():
                raise StopTraining("pruned", f"pruned at {steps} steps: evaluation ratio {ratio:.3f}")

        return on_evaluation

    def final_ratio(self, run_dir: Path) -> tuple[float, float, float]:
        """Deterministic episodes of the final model and of the baseline, same env, seeds 0, 1, ..."""
        s = self.settings
        config, env, loaded = open_policy(Path(run_dir) / runs.FINAL_MODEL)
        try:
            trained, _ = evaluate(
                env,
                None,
                s.objective_episodes,
                s.objective_seconds,
                first_seed=OBJECTIVE_FIRST_SEED,
                rows=loaded.act_rows,  # every episode a row of one batch
            )
            base = self.baselines.get(
                env, config["env"], s.objective_episodes, s.objective_seconds, OBJECTIVE_FIRST_SEED
            )
        finally:
            env.close()
        v, b = trained["forward_velocity_mps"], base["forward_velocity_mps"]
        return velocity_ratio(v, b), v, b


def validate_space(settings: SweepSettings, space: dict[str, Param], preset) -> None:
    """Every end of every range, each choice, and the pass-through flags through v2's own parser and
    checks, so a value v2 would refuse stops here, not in trial 7."""
    parser = v2_parser(preset)
    base = {
        name: (p.fixed if p.fixed is not None else p.choices[0] if p.kind in ("choice", "bool") else p.low)
        for name, p in space.items()
    }
    variants = [base]
    for name, p in space.items():
        on = {p.when: True} if p.when else {}
        if p.fixed is None:
            options = list(p.choices) if p.kind in ("choice", "bool") else [p.low, p.high]
            variants += [{**base, **on, name: v} for v in options]
        elif on:
            variants.append({**base, **on})
    steps = space["n_steps"]
    for n in [steps.fixed] if steps.fixed is not None else steps.choices:  # the largest rollout vs eval_freq
        variants.append({**base, "n_steps": n})
    for values in variants:
        values = {k: v for k, v in values.items() if active(space[k], values)}
        argv = trial_argv(settings, space, values, settings.seeds[0]) + ["--no-progress"]
        try:
            validate(job_from_args(preset, parse_trial_args(parser, argv), trial_command(argv)))
        except (FlagError, TrainingError) as exc:
            raise SpaceError(f"train_residual_ppo_v2.py refuses {exc}") from None
