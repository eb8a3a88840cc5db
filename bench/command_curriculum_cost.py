#!/usr/bin/env python3
"""What commands and the terrain curriculum cost per env step, against v2's uncommanded env.

    python3 bench/command_curriculum_cost.py [--steps 3000] [--rounds 3] [--robot go1]

Three envs walk the same random-residual actions, interleaved in rounds in one process so that
machine noise hits them alike, timed with the thread's CPU clock (resets included: an episode
ends at 1000 steps, as in training, or on termination):
- v2: train_residual_ppo_v2.py's env;
- commanded: v2 with cmdL's command settings (--commands --command-feedforward, Laplace kernel,
  0.8 s speed window);
- commanded + curriculum: the same, switching terrains by level at every reset
  (walklab.curriculum.TerrainCurriculum, 30 % of episodes on the run's own terrain).
The ratios to v2 are the figures to quote; the best round of each is kept. ``--robot`` (v2's flag)
measures another robot: v2's settings on its own trot and physics steps (the command speeds stay in m/s).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from walklab.flags import add_env_setting_flags, preset_on_robot
from walklab.presets import V2

EPISODE_STEPS = 1000  # the registration's max_episode_steps


def walk(env, actions: np.ndarray, seed: int) -> float:
    """CPU seconds to step `env` through `actions`, resetting at episode ends."""
    env.reset(seed=seed)
    steps_in_episode = 0
    start = time.thread_time()
    for action in actions:
        terminated = env.step(action)[2]
        steps_in_episode += 1
        if terminated or steps_in_episode == EPISODE_STEPS:
            env.reset()
            steps_in_episode = 0
    return time.thread_time() - start


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=3000, help="control steps per env and round")
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds; the best of each is kept")
    add_env_setting_flags(p, V2.env, ("robot",))
    args = p.parse_args()
    if args.steps < 1 or args.rounds < 1:
        p.error("--steps and --rounds must be at least 1")
    v2 = preset_on_robot(V2, args).env  # v2's settings on the robot's own trot and physics steps

    from envs.assets import DEFAULT_TERRAIN_PNG
    from envs.residual_walk_env import ResidualWalkEnv
    from walklab.curriculum import TerrainCurriculum, write_level_terrains

    commanded = v2.replace(
        commands=True,
        command_feedforward=True,
        command_speed_max=0.35,
        command_speed_kernel="laplace",
        command_speed_sigma=0.10,
        command_speed_window=0.8,
        forward_velocity_weight=0.0,
        tracking_velocity_weight=3.0,
        tracking_yaw_rate_weight=0.5,
    )
    envs = {"v2": ResidualWalkEnv(v2), "commanded": ResidualWalkEnv(commanded)}
    with tempfile.TemporaryDirectory() as folder:
        levels = commanded.curriculum_levels
        write_level_terrains(Path(folder), levels)
        curriculum_env = ResidualWalkEnv(commanded)
        curriculum_env.set_terrain_schedule(
            TerrainCurriculum(folder, levels, 1.0, 0.6, level=3, own_terrain=DEFAULT_TERRAIN_PNG, own_fraction=0.3)
        )
        envs["commanded + curriculum"] = curriculum_env
        n_actions = {name: env.action_space.shape[0] for name, env in envs.items()}
        rng = np.random.default_rng(0)
        actions = rng.uniform(-0.3, 0.3, (args.steps, max(n_actions.values()))).astype(np.float32)
        best = {name: float("inf") for name in envs}
        for round_ in range(args.rounds):
            for name, env in envs.items():
                seconds = walk(env, actions[:, : n_actions[name]], seed=round_)
                best[name] = min(best[name], seconds)
    base = best["v2"] / args.steps
    print(f"{v2.robot}: {args.steps} steps x {args.rounds} rounds, CPU time per env step (best round), resets included")
    for name, seconds in best.items():
        per_step = seconds / args.steps
        print(f"{name:>24s}: {per_step * 1e6:7.1f} us   {per_step / base:5.3f}x v2")


if __name__ == "__main__":
    main()
