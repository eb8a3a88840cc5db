"""Flags shared by the two training scripts, and the glue from parsed flags to ``train``."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from walklab.cli import fail


def add_common_arguments(p: argparse.ArgumentParser, default_run_name: str, default_timesteps: int,
                         default_n_envs: int) -> None:
    p.add_argument("--total-timesteps", type=int, default=default_timesteps,
                   help=f"environment steps to train, summed over all envs (default {default_timesteps})")
    p.add_argument("--n-envs", type=int, default=default_n_envs,
                   help=f"parallel environments (subprocesses when > 1; default {default_n_envs})")
    p.add_argument("--run-name", default=default_run_name,
                   help="run directory prefix: runs/<run-name>_<YYYYMMDD_HHMMSS>/")
    p.add_argument("--seed", type=int, default=0, help="random seed for PPO and the environments")
    p.add_argument("--runs-dir", type=Path, default=Path("runs"), help="where run directories are created")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.add_argument("--resume", type=Path, default=None,
                   help="continue a run from a checkpoint .zip or a run directory (its newest model); the run's "
                        "env and PPO settings are kept, --total-timesteps is the new total")
    p.add_argument("--eval-freq", type=int, default=50_000,
                   help="evaluate every this many environment steps and keep best_model.zip (0: never)")
    p.add_argument("--episode-steps", type=int, default=1000,
                   help="control steps per training episode (1000 = 20 s at 50 Hz)")
    p.add_argument("--checkpoint-freq", type=int, default=100_000,
                   help="save model + statistics to checkpoints/ every this many environment steps (all envs)")


def spec_from_args(args: argparse.Namespace, script: str, gait, env_kwargs: dict, ppo_kwargs: dict):
    """The TrainSpec for the flags every training script shares plus its own env and PPO settings."""
    from walklab.training import TrainSpec

    return TrainSpec(
        script=script,
        run_name=args.run_name,
        total_timesteps=args.total_timesteps,
        n_envs=args.n_envs,
        seed=args.seed,
        gait=gait,
        env_kwargs=env_kwargs,
        ppo_kwargs=ppo_kwargs,
        runs_dir=args.runs_dir,
        checkpoint_every=args.checkpoint_freq,
        episode_steps=args.episode_steps,
        eval_freq=args.eval_freq,
        resume=args.resume,
        progress_bar=not args.no_progress,
        extra={"args": args_record(args)},
    )


def run(spec_factory, args: argparse.Namespace) -> None:
    """Build the spec, train, and turn known errors and Ctrl-C into one line and an exit code."""
    from walklab.runs import RunError
    from walklab.training import TrainingError, train

    try:
        spec = spec_factory(args)
        train(spec)
    except (TrainingError, RunError) as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        sys.exit(130)



def args_record(args: argparse.Namespace) -> dict:
    """Parsed flags as JSON-ready values, for config.json."""
    return {k: v if isinstance(v, (int, float, bool, str, type(None))) else str(v) for k, v in vars(args).items()}
