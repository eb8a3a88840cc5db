#!/usr/bin/env python3
"""Cost of one ResidualWalkEnv step against the raw physics it runs (frame_skip x mj_step).

    python3 bench/env_step_overhead.py [--steps 2000]

Both loops run the same walk (the raw loop replays the env's joint targets), interleaved, so
machine noise hits both alike; the ratio is the figure to quote (target <= 1.3).
"""

from __future__ import annotations

import argparse
import time

import mujoco
import numpy as np

from envs.residual_walk_env import ResidualWalkEnv


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--steps", type=int, default=2000, help="control steps per round (40 s of walking: stays on the terrain)"
    )
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds; the best of each is kept")
    p.add_argument(
        "--no-terrain-samples", action="store_true", help="benchmark the 59-entry observation (no terrain samples)"
    )
    args = p.parse_args()

    env = ResidualWalkEnv(terrain_samples=not args.no_terrain_samples)
    rng = np.random.default_rng(0)
    actions = rng.uniform(-0.1, 0.1, (args.steps, 12)).astype(np.float32)  # a policy-sized residual
    # Record the joint targets the env sends, so the raw loop replays the very same walk.
    env.reset(seed=0)
    ctrls = []
    for a in actions:
        if env.step(a)[2]:
            raise SystemExit("the benchmark walk fell; pick another seed so both loops run the same physics")
        ctrls.append(env.data.ctrl.copy())
    env_times, raw_times = [], []
    for _ in range(args.rounds):
        env.reset(seed=0)
        start = time.perf_counter()
        for a in actions:
            env.step(a)
        env_times.append(time.perf_counter() - start)

        env.reset(seed=0)
        start = time.perf_counter()
        for ctrl in ctrls:
            env.data.ctrl[:] = ctrl
            for _ in range(env.frame_skip):
                mujoco.mj_step(env.model, env.data)
        raw_times.append(time.perf_counter() - start)

    env_us = 1e6 * min(env_times) / args.steps
    raw_us = 1e6 * min(raw_times) / args.steps
    print(f"env.step:                  {env_us:8.1f} us  ({1e6 / env_us:7.0f} steps/s)")
    print(f"raw physics ({env.frame_skip} x mj_step): {raw_us:8.1f} us  ({1e6 / raw_us:7.0f} steps/s)")
    print(f"ratio env/raw:             {env_us / raw_us:8.3f}  (target <= 1.3)")


if __name__ == "__main__":
    main()
