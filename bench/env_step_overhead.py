#!/usr/bin/env python3
"""Cost of an env step against the raw physics it runs, for the single env and the batch.

    python3 bench/env_step_overhead.py [--steps 1500] [--batch 32] [--threads 1] [--robot go1]

1. The N = 1 view (ResidualWalkEnv on the core) against raw physics (frame_skip x mj_step
   replaying the same joint targets), interleaved rounds, best of each.
2. The batched env: ``BatchedVecEnv.step`` of `--batch` robots against ``Batch.step`` alone on
   the same batch, per robot, at `--threads` physics threads.

The ratios are the figures to quote (target: batched / raw <= 1.15). ``--robot`` (v2's flag) measures
another robot: v2's settings on its own trot and physics steps.
"""

from __future__ import annotations

import argparse
import time

import mujoco
import numpy as np

from envs.residual_walk_env import ResidualWalkEnv
from walklab.flags import add_env_setting_flags, preset_on_robot
from walklab.presets import V2
from walklab.vec_envs.batched import BatchedVecEnv


def single(config, steps: int, rounds: int) -> tuple[float, float]:
    env = ResidualWalkEnv(config)
    rng = np.random.default_rng(0)
    actions = rng.uniform(-0.3, 0.3, (steps, env.n_actions)).astype(np.float32)  # a policy-sized action
    env.reset(seed=0)
    ctrls = []
    for a in actions:
        if env.step(a)[2]:
            raise SystemExit("the benchmark walk ended early; pick another seed so every loop runs the same physics")
        ctrls.append(env.data.ctrl.copy())
    times = {"view": [], "raw": []}
    for _ in range(rounds):
        env.reset(seed=0)
        start = time.perf_counter()
        for a in actions:
            env.step(a)
        times["view"].append(time.perf_counter() - start)
        env.reset(seed=0)
        start = time.perf_counter()
        for ctrl in ctrls:
            env.data.ctrl[:] = ctrl
            mujoco.mj_step(env.model, env.data, nstep=env.frame_skip)
        times["raw"].append(time.perf_counter() - start)
    return tuple(1e6 * min(times[k]) / steps for k in ("view", "raw"))


def batched(config, n: int, threads: int, steps: int, rounds: int) -> tuple[float, float]:
    vec = BatchedVecEnv(config, n, max_episode_steps=10**9, threads=threads)
    rng = np.random.default_rng(0)
    actions = rng.uniform(-0.3, 0.3, (steps, n, vec.action_space.shape[0])).astype(np.float32)
    env_t, raw_t = [], []
    batch = vec.physics.batch
    for _ in range(rounds):
        vec.seed(0)
        vec.reset()
        start = time.perf_counter()
        for a in actions:
            vec.step(a)
        env_t.append(time.perf_counter() - start)
        start = time.perf_counter()
        for _ in range(steps):
            batch.step(nstep=config.frame_skip)
        raw_t.append(time.perf_counter() - start)
    vec.close()
    return 1e6 * min(env_t) / (steps * n), 1e6 * min(raw_t) / (steps * n)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=1500, help="control steps per round of the single env")
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds; the best of each is kept")
    p.add_argument("--batch", type=int, default=32, help="robots of the batched measurement")
    p.add_argument("--threads", type=int, default=1, help="physics threads of the batch")
    add_env_setting_flags(p, V2.env, ("robot",))
    args = p.parse_args()
    config = preset_on_robot(V2, args).env  # v2's settings on the robot's own trot and physics steps
    view, raw = single(config, args.steps, args.rounds)
    print(f"single env, v2 settings on {config.robot}, us per step (best of rounds):")
    print(f"  N = 1 view of the core:      {view:8.1f}")
    print(f"  {f'raw physics ({config.frame_skip} x mj_step):':<29s}{raw:8.1f}")
    print(f"  view / raw:                  {view / raw:8.3f}")
    env_us, raw_us = batched(config, args.batch, args.threads, max(100, 6400 // args.batch), args.rounds)
    print(f"batched env, {args.batch} robots on {args.threads} thread(s), us per robot step:")
    print(f"  BatchedVecEnv.step:          {env_us:8.1f}")
    print(f"  Batch.step alone:            {raw_us:8.1f}")
    print(f"  batched / raw:               {env_us / raw_us:8.3f}  (target <= 1.15)")


if __name__ == "__main__":
    main()
