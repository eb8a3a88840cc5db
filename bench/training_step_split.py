#!/usr/bin/env python3
"""Where a PPO training step goes: the envs, the gradient updates, and the rest of the learner.

    python3 bench/training_step_split.py [--updates 3] [--n-epochs 10] [--batch-size 512] [--ant] [--robot go1]

Builds the vector env as training does (`--vec-env`, VecNormalize, v2's PPO settings, 4 envs, one
torch thread), runs one warm-up update, then times `--updates` more and splits their wall time,
per environment step, into:
- envs: the vector env's step_wait (physics, the env's Python, wrappers, resets);
- train: PPO's gradient updates (``model.train``: n_epochs passes over the rollout);
- rest: everything else in collection (the policy's forward pass per vector step, VecNormalize,
  the rollout buffer, GAE).
`--ant` measures Gymnasium's Ant-v5 the same way, for comparison. ``--robot`` (v2's flag) measures
another robot: v2's settings on its own trot and physics steps.
"""

from __future__ import annotations

import argparse
import time

import gymnasium as gym
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.vec_env import VecNormalize

from walklab.cli import add_vec_env_argument
from walklab.flags import add_env_setting_flags, preset_on_robot
from walklab.presets import V2
from walklab.vec_envs import local_env_count, make_env_fn, vec_env_from_fns

N_ENVS = 4


def split(fns, updates: int, ppo_kwargs: dict, layout: str) -> dict[str, float]:
    inner = vec_env_from_fns(fns, layout)
    vec = VecNormalize(inner, gamma=V2.ppo.gamma)
    model = PPO("MlpPolicy", vec, seed=0, device="cpu", verbose=0, **ppo_kwargs)
    spent = {"envs": 0.0, "train": 0.0}

    def timed(key, fn):
        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[key] += time.perf_counter() - start

        return wrapper

    model.train = timed("train", model.train)
    vec.venv.step_wait = timed("envs", vec.venv.step_wait)
    per_update = ppo_kwargs["n_steps"] * len(fns)
    model.learn(per_update)  # warm-up
    spent.update(envs=0.0, train=0.0)
    start = time.perf_counter()
    model.learn(per_update * updates, reset_num_timesteps=False)
    total = time.perf_counter() - start
    vec.close()
    steps = per_update * updates
    us = {key: value / steps * 1e6 for key, value in spent.items()}
    us["total"] = total / steps * 1e6
    us["rest"] = us["total"] - us["envs"] - us["train"]
    return us


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--updates", type=int, default=3, help="timed PPO updates")
    p.add_argument("--n-epochs", type=int, default=V2.ppo.n_epochs, help="PPO epochs (v2: %(default)s)")
    p.add_argument("--batch-size", type=int, default=V2.ppo.batch_size, help="PPO minibatch (v2: %(default)s)")
    p.add_argument("--ant", action="store_true", help="also measure Ant-v5 with the same settings")
    add_vec_env_argument(p, "where the envs step (default: training's)")
    add_env_setting_flags(p, V2.env, ("robot",))
    args = p.parse_args()
    preset = preset_on_robot(V2, args)  # v2's settings on the robot's own trot and physics steps
    torch.set_num_threads(1)
    kwargs = dict(V2.ppo.constructor_kwargs(), n_epochs=args.n_epochs, batch_size=args.batch_size)
    here = local_env_count(args.vec_env, N_ENVS)
    cases = {
        "ResidualWalk-v0": [
            make_env_fn(preset.env, preset.run.episode_steps, None, worker=i >= here) for i in range(N_ENVS)
        ]
    }
    if args.ant:
        cases["Ant-v5"] = [lambda: gym.make("Ant-v5")] * N_ENVS
    print(
        f"{preset.env.robot}: {N_ENVS} envs ({args.vec_env}), n_epochs {args.n_epochs}, batch {args.batch_size}: "
        "us per environment step"
    )
    for name, fns in cases.items():
        us = split(fns, args.updates, kwargs, args.vec_env)
        print(
            f"{name:16s} total {us['total']:5.0f} = envs {us['envs']:5.0f} + train {us['train']:4.0f}"
            f" + rest {us['rest']:4.0f}   ({1e6 / us['total']:.0f} steps/s, 1M in {us['total'] / 60:.1f} min)"
        )


if __name__ == "__main__":
    main()
