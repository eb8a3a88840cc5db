#!/usr/bin/env python3
"""Train a residual PPO policy on ResidualWalk-v0 (v1: the original script with the gait fix).

v1 keeps the original, simpler set-up: fixed PPO settings with short rollouts (n_steps 512,
batch 64, SB3's initial log std 0), the env's default residual scale (0.02 m), and only the
flags every training script shares (steps, envs, run name, seed, resume, evaluation and
checkpoint intervals), and --robot (default mini; another robot walks its own working trot and
physics steps, its lengths scaled to its legs, as with v2). It writes the same run directory as
v2 through the same code (walklab.training). For real training use train_residual_ppo_v2.py.

    python3 train_residual_ppo.py --total-timesteps 200000 --n-envs 4 --run-name v1_test
    python3 train_residual_ppo.py --robot go1 --total-timesteps 200000 --n-envs 4 --run-name v1_go1
"""

from __future__ import annotations

from gait import GaitParameters
from walklab import presets, train_cli

# The fix: explicit gait parameters of the working baseline. The old defaults (body_height 0.07,
# step_length 0.05, step_height 0.015) stall on the ridged terrain (see DIAGNOSIS.md).
gait = GaitParameters(
    body_height=0.05,
    step_length=0.06,
    step_height=0.04,
    cycle_time=0.8,
)

# presets.V1 walks this very gait (tests/test_training.py checks that the two agree)
PRESET = presets.V1.with_gait(gait)


# The cheapest complete run, from the repository root ({tmp}: a scratch folder); the fuzz suite
# (tests/test_cli_fuzz.py) starts every case from it.
SMOKE_ARGS = [
    "--total-timesteps",
    "512",
    "--n-envs",
    "1",
    "--eval-freq",
    "0",
    "--runs-dir",
    "{tmp}/runs",
    "--run-name",
    "smoke",
    "--no-progress",
]


build_parser, parse_args = train_cli.entry_points(PRESET, __doc__)


if __name__ == "__main__":
    train_cli.main(PRESET, __doc__.splitlines()[0], __doc__)
