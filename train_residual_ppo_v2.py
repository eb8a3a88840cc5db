#!/usr/bin/env python3
"""Train a residual PPO policy on ResidualWalk-v0 (v2: the recommended script).

What differs from train_residual_ppo.py (v1):
- longer rollouts (--n-steps 2048) and larger minibatches, tuned for this env (DIAGNOSIS.md);
- a larger residual scale (0.04 m) and smaller initial exploration noise (log std -1.5);
- every PPO setting, the residual scale, the residual filter, the terrain, domain
  randomisation and the reward weights are flags;
- network size and initial exploration noise are flags (--net-arch, --log-std-init).
Both write the same run directory (config.json, monitors, TensorBoard, checkpoints every 100k
steps, best_model.zip, final_model.zip + vec_normalize.pkl) through walklab.training.

    python3 train_residual_ppo_v2.py --total-timesteps 1000000 --n-envs 4 --run-name quick_test
"""
from __future__ import annotations

import argparse
from pathlib import Path

from gait import GaitParameters
from walklab.train_cli import add_common_arguments, run, spec_from_args

# Explicit gait parameters of the working baseline (~0.09-0.1 m/s on the default terrain).
gait = GaitParameters(
    body_height=0.05,
    step_length=0.06,
    step_height=0.04,
    cycle_time=0.8,
)

DEFAULTS = {
    "n_steps": 2048,
    "batch_size": 512,
    "learning_rate": 3e-4,
    "n_epochs": 10,
    "gamma": 0.99,
    "gae_lambda": 0.95,
    "clip_range": 0.2,
    "ent_coef": 0.0,
    "log_std_init": -1.5,  # initial action std exp(-1.5) = 0.22: start close to the baseline
    "net_arch": (64, 64),
    "residual_scale": 0.04,  # m: the reference's suggested larger scale (DIAGNOSIS.md, exp3)
}
REWARD_WEIGHT_FLAGS = ("forward_velocity", "lateral_stability", "energy", "smoothness", "alive", "height",
                       "orientation")


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    add_common_arguments(p, default_run_name="residual_v2", default_timesteps=1_000_000, default_n_envs=4)
    ppo = p.add_argument_group("PPO")
    ppo.add_argument("--n-steps", type=int, default=DEFAULTS["n_steps"], help="rollout length per env per update")
    ppo.add_argument("--batch-size", type=int, default=DEFAULTS["batch_size"],
                     help="minibatch size; must divide n_steps x n_envs")
    ppo.add_argument("--learning-rate", type=float, default=DEFAULTS["learning_rate"], help="Adam learning rate")
    ppo.add_argument("--n-epochs", type=int, default=DEFAULTS["n_epochs"], help="passes over each rollout")
    ppo.add_argument("--gamma", type=float, default=DEFAULTS["gamma"], help="discount factor")
    ppo.add_argument("--ent-coef", type=float, default=DEFAULTS["ent_coef"], help="entropy bonus (try 0.01 to explore)")
    ppo.add_argument("--clip-range", type=float, default=DEFAULTS["clip_range"], help="PPO clip range")
    ppo.add_argument("--log-std-init", type=float, default=DEFAULTS["log_std_init"],
                     help="initial log standard deviation of the Gaussian policy")
    ppo.add_argument("--net-arch", type=int, nargs="+", default=list(DEFAULTS["net_arch"]),
                     help="hidden layer sizes of the policy and value networks")
    env = p.add_argument_group("environment")
    env.add_argument("--residual-scale", type=float, default=DEFAULTS["residual_scale"],
                     help=f"metres of foot offset per unit action (default {DEFAULTS['residual_scale']})")
    env.add_argument("--action-filter", type=float, default=None,
                     help="low-pass coefficient of the residual, in (0, 1] (default: the env's 0.1; 1 = off)")
    env.add_argument("--terrain", type=Path, default=None, help="heightfield PNG (default assets/hfield.png)")
    env.add_argument("--no-terrain-samples", action="store_true",
                     help="leave the 12 ground-height samples out of the observation (59 entries instead of 71)")
    env.add_argument("--randomize", action="store_true",
                     help="domain randomisation: friction, trunk mass, actuator strength, terrain height, obs noise")
    for term in REWARD_WEIGHT_FLAGS:
        env.add_argument(f"--{term.replace('_', '-')}-weight", type=float, default=None,
                         help=f"reward weight of {term} (default: the env's)")
    return p.parse_args(argv)


def build_spec(args: argparse.Namespace):
    env_kwargs = {"residual_scale": args.residual_scale,
                  "terrain": str(args.terrain.resolve()) if args.terrain else None,
                  "randomize": args.randomize}
    if args.action_filter is not None:
        env_kwargs["action_filter"] = args.action_filter
    if args.no_terrain_samples:
        env_kwargs["terrain_samples"] = False
    for term in REWARD_WEIGHT_FLAGS:
        value = getattr(args, f"{term}_weight")
        if value is not None:
            env_kwargs[f"{term}_weight"] = value
    ppo_kwargs = {"n_steps": args.n_steps, "batch_size": args.batch_size, "learning_rate": args.learning_rate,
                  "n_epochs": args.n_epochs, "gamma": args.gamma, "gae_lambda": DEFAULTS["gae_lambda"],
                  "clip_range": args.clip_range, "ent_coef": args.ent_coef, "log_std_init": args.log_std_init,
                  "net_arch": list(args.net_arch)}
    return spec_from_args(args, "train_residual_ppo_v2.py", gait, env_kwargs, ppo_kwargs)


if __name__ == "__main__":
    run(build_spec, parse_args())
