#!/usr/bin/env python3
"""Training throughput: PPO steps per second on ResidualWalk-v0 for 1, 2, 4 and 8 envs, and on
Gymnasium's Ant-v5 with the same PPO settings, in one run on this machine.

    python3 bench/train_speed.py [--updates 3] [--envs 4] [--json PATH]

Each case builds its vector env the way training does (`--vec-env`, as training's: in-process,
split or subprocess, walklab.vecenv; Ant-v5 gets the same), VecNormalize), runs one
warm-up PPO update, then times `--updates` more (collection and
gradient steps together, which is what a user waits for). Settings: train_residual_ppo_v2.py's
defaults (n_steps 2048, batch 512, 10 epochs, 64x64 MLP), one torch thread. `--json` writes
ours_sps, ant_sps, ratio and n_envs (the largest --envs, which Ant-v5 runs at).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import gymnasium as gym
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.vec_env import VecNormalize

from walklab.cli import add_vec_env_argument
from walklab.files import atomic_write_json
from walklab.presets import V2
from walklab.vecenv import local_env_count, make_env_fn, vec_env_from_fns


def ant_fn():
    return gym.make("Ant-v5")


def measure(fns, updates: int, layout: str) -> float:
    n = len(fns)
    vec = vec_env_from_fns(fns, layout)
    vec = VecNormalize(vec, gamma=V2.ppo.gamma)
    model = PPO("MlpPolicy", vec, seed=0, device="cpu", verbose=0, **V2.ppo.constructor_kwargs())
    per_update = V2.ppo.n_steps * n
    model.learn(per_update)  # warm-up: process start, first rollout
    start = time.perf_counter()
    model.learn(per_update * updates, reset_num_timesteps=False)
    elapsed = time.perf_counter() - start
    vec.close()
    return per_update * updates / elapsed


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--updates", type=int, default=3, help="timed PPO updates per case")
    p.add_argument("--envs", type=int, nargs="+", default=[1, 2, 4, 8], help="env counts to measure")
    p.add_argument("--json", type=Path, help="write ours_sps, ant_sps, ratio and n_envs here")
    add_vec_env_argument(p, "vector env of both sides (default: training's)")
    args = p.parse_args()
    torch.set_num_threads(1)

    results = {}
    for n in args.envs:
        here = local_env_count(args.vec_env, n)
        fns = [make_env_fn(V2.env, V2.run.episode_steps, None, worker=i >= here) for i in range(n)]
        results[f"ResidualWalk-v0 x{n}"] = measure(fns, args.updates, args.vec_env)
        print(f"ResidualWalk-v0, {n} env(s): {results[f'ResidualWalk-v0 x{n}']:7.0f} steps/s", flush=True)
    n_ant = max(args.envs)
    ant = measure([ant_fn] * n_ant, args.updates, args.vec_env)
    print(f"Ant-v5,          {n_ant} env(s): {ant:7.0f} steps/s")
    ours = results[f"ResidualWalk-v0 x{n_ant}"]
    print(f"ratio ResidualWalk-v0 / Ant-v5 at {n_ant} envs: {ours / ant:.2f}")
    print(f"1M steps at {n_ant} envs: {1e6 / ours / 60:.1f} min of PPO updates (no evaluation or logging)")
    if args.json:
        atomic_write_json(
            args.json,
            {
                "ours_sps": ours,
                "ant_sps": ant,
                "ratio": ours / ant,
                "n_envs": n_ant,
                "vec_env": args.vec_env,
                "updates": args.updates,
                "all": results,
            },
        )
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
