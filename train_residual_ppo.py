#!/usr/bin/env python3
"""Train a residual PPO policy on ResidualWalk-v0 (v1: the original script with the gait fix).

v1 keeps the original, simpler set-up: fixed PPO settings with short rollouts (n_steps 512,
batch 64), the env's default residual scale (0.02 m), and only the flags every training script
shares (steps, envs, run name, seed, resume, evaluation and checkpoint intervals). It writes the
same run directory as v2 through the same code (walklab.training). For real training use
train_residual_ppo_v2.py.

    python3 train_residual_ppo.py --total-timesteps 200000 --n-envs 4 --run-name v1_test
"""
from __future__ import annotations

import argparse

from gait import GaitParameters
from walklab.train_cli import add_common_arguments, run, spec_from_args

# The fix: explicit gait parameters of the working baseline. The old defaults (body_height 0.07,
# step_length 0.05, step_height 0.015) stall on the ridged terrain (see DIAGNOSIS.md).
gait = GaitParameters(
    body_height=0.05,
    step_length=0.06,
    step_height=0.04,
    cycle_time=0.8,
)

PPO_SETTINGS = {
    "n_steps": 512,
    "batch_size": 64,
    "learning_rate": 3e-4,
    "n_epochs": 10,
    "gamma": 0.99,
    "gae_lambda": 0.95,
    "clip_range": 0.2,
    "ent_coef": 0.0,
}


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    add_common_arguments(p, default_run_name="residual_v1", default_timesteps=1_000_000, default_n_envs=4)
    return p.parse_args(argv)


def build_spec(args: argparse.Namespace):
    return spec_from_args(args, "train_residual_ppo.py", gait, {"residual_scale": 0.02, "terrain": None},
                          dict(PPO_SETTINGS))


if __name__ == "__main__":
    run(build_spec, parse_args())
