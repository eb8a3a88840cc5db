#!/usr/bin/env python3
"""Training throughput: PPO steps per second for several vector-env layouts, and Ant-v5, in one run.

    python3 bench/train_speed.py --layouts split:4,batched:32 [--updates 2] [--json PATH]
    python3 bench/train_speed.py --robots mini,go1 --layouts batched:32 --ant-layouts ""

A layout is ``<vec env>:<envs>`` (``in-process``, ``split``, ``subprocess`` or ``batched``;
``batched:32:1`` gives the batch one physics thread instead of every CPU); the ratio to the first
layout is measured in the same run (``split:4`` is the layout the batch replaced). Every case trains
with train_residual_ppo_v2.py's settings and the same samples per update, ``--samples``
(default 8192 = v2's 2048 steps x 4 envs), so n_steps = samples / envs; it builds its vector
env as training does (walklab.vec_envs.make_vec_env, VecNormalize on top), runs one warm-up
update, then times ``--updates`` more (collection and gradient steps: what a user waits for).
Ant-v5 runs with the same PPO settings at each of ``--ant-layouts`` and its best counts.

Prints steps/s per layout and the ratio to the first; ``--json`` writes ``layouts`` (name ->
steps/s), ``ratio_to_first`` (name -> ratio), ``ant_sps`` (the best), ``ant_layouts`` and the settings.

``--robots mini,go1`` measures every layout for each robot (v2's settings on that robot: its own trot and
physics steps, ``Preset.for_robot``), in one run; ``layouts`` and ``ratio_to_first`` are the first robot's,
``robots`` (robot -> layout -> steps/s) and ``robot_ratio_to_first`` (robot -> layout -> ratio to the first
robot) hold them all.

``--perturbations`` measures every robot and layout twice more, alternating: with every perturbation off
and with every perturbation class of the robustness report on at once (walklab.robustness.ALL_PERTURBATIONS:
the strong pushes, latency, sensor noise, actuators and masses), and prints the cost ratio; ``--json``
gains ``perturbations`` (robot -> layout -> {"off", "on", "ratio"}).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import gymnasium as gym
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.vec_env import VecNormalize

from envs.config import EnvConfig
from walklab.config import VEC_ENV_LAYOUTS
from walklab.files import atomic_write_json
from walklab.presets import V2
from walklab.robustness import ALL_PERTURBATIONS
from walklab.vec_envs import make_vec_env, stop_workers, vec_env_from_fns


def parse_layout(text: str) -> tuple[str, int, int]:
    """'batched:32' -> ('batched', 32, 0); 'batched:32:1' -> ('batched', 32, 1)."""
    parts = text.split(":")
    known = VEC_ENV_LAYOUTS
    if len(parts) not in (2, 3) or parts[0] not in known or not all(p.isdigit() for p in parts[1:]):
        raise argparse.ArgumentTypeError(
            f"layout {text!r} must be <vec env>:<envs>[:<threads>] with vec env one of {', '.join(known)}"
        )
    n = int(parts[1])
    if n < 1:
        raise argparse.ArgumentTypeError(f"layout {text!r}: envs must be at least 1")
    return parts[0], n, int(parts[2]) if len(parts) == 3 else 0


def layouts_argument(text: str) -> list[str]:
    names = [t for t in text.split(",") if t]
    for name in names:
        parse_layout(name)
    return names


def measure(vec, n_envs: int, samples: int, updates: int) -> float:
    vec = VecNormalize(vec, gamma=V2.ppo.gamma)
    kwargs = dict(V2.ppo.constructor_kwargs(), n_steps=samples // n_envs)
    model = PPO("MlpPolicy", vec, seed=0, device="cpu", verbose=0, **kwargs)
    try:
        model.learn(samples)  # warm-up: worker start, first rollout
        start = time.perf_counter()
        model.learn(samples * updates, reset_num_timesteps=False)
        return samples * updates / (time.perf_counter() - start)
    finally:
        stop_workers(vec)


def ours(name: str, samples: int, updates: int, robot: str = "mini", settings: dict | None = None) -> float:
    layout, n, threads = parse_layout(name)
    env = V2.for_robot(robot).env.replace(**(settings or {}))
    vec = make_vec_env(env, n, V2.run.episode_steps, seed=0, layout=layout, threads=threads)
    return measure(vec, n, samples, updates)


def ant(name: str, samples: int, updates: int) -> float:
    layout, n, _ = parse_layout(name)
    if layout == "batched":
        raise SystemExit("error: Ant-v5 runs only in-process, split or subprocess")
    return measure(vec_env_from_fns([lambda: gym.make("Ant-v5")] * n, layout), n, samples, updates)


def perturbation_costs(robots: list[str], layouts: list[str], samples: int, updates: int) -> dict:
    """Per robot and layout: steps/s with every perturbation off and with all on, two alternating runs each."""
    defaults = EnvConfig()  # every perturbation off
    off = {key: getattr(defaults, key) for key in ALL_PERTURBATIONS}
    costs: dict[str, dict[str, dict[str, float]]] = {}
    for robot in robots:
        costs[robot] = {}
        for name in layouts:
            runs = {"off": [], "on": []}
            for _ in range(2):
                for label, settings in (("off", off), ("on", ALL_PERTURBATIONS)):
                    runs[label].append(ours(name, samples, updates, robot, settings))
            sps = {label: sum(v) / len(v) for label, v in runs.items()}
            costs[robot][name] = {**sps, "ratio": sps["off"] / sps["on"]}
            print(
                f"{robot:>6s} {name:16s} perturbations off {sps['off']:7.0f}, all on {sps['on']:7.0f} steps/s: "
                f"training takes {costs[robot][name]['ratio']:.3f}x as long",
                flush=True,
            )
    return costs


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--layouts", type=layouts_argument, default=["split:4", "batched:32"], help="layouts to measure")
    p.add_argument("--ant-layouts", type=layouts_argument, default=["in-process:4", "subprocess:4"])
    p.add_argument("--robots", default="mini", help="robots to measure, comma-separated (first: the reference)")
    p.add_argument("--updates", type=int, default=2, help="timed PPO updates per case")
    p.add_argument("--samples", type=int, default=8192, help="samples per PPO update (n_steps x envs)")
    p.add_argument("--json", type=Path, help="write layouts, ratio_to_first and ant_sps here")
    p.add_argument(
        "--perturbations", action="store_true", help="also time every perturbation off against all on, alternating"
    )
    args = p.parse_args(argv)
    for name in args.layouts + args.ant_layouts:
        _, n, _ = parse_layout(name)
        if args.samples % n or (args.samples // n * n) % V2.ppo.batch_size:
            p.error(f"--samples {args.samples} must split into whole rollouts and minibatches at {name}")
    torch.set_num_threads(1)
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; {args.samples} samples per update")
    robots = [r for r in args.robots.split(",") if r]
    per_robot: dict[str, dict[str, float]] = {}
    for robot in robots:
        per_robot[robot] = {}
        for name in args.layouts:
            per_robot[robot][name] = ours(name, args.samples, args.updates, robot)
            label = "ResidualWalk-v0" if len(robots) == 1 else f"{robot:>6s}"
            print(f"{label} {name:16s} {per_robot[robot][name]:7.0f} steps/s", flush=True)
    results = per_robot[robots[0]]
    robot_ratios = {r: {n: sps / results[n] for n, sps in v.items()} for r, v in per_robot.items()}
    for robot in robots[1:]:
        shown = ", ".join(f"{n} {r:.2f}x" for n, r in robot_ratios[robot].items())
        print(f"{robot} to {robots[0]}: {shown}")
    perturbed = perturbation_costs(robots, args.layouts, args.samples, args.updates) if args.perturbations else {}
    ant_results = {}
    for name in args.ant_layouts:
        ant_results[name] = ant(name, args.samples, args.updates)
        print(f"Ant-v5          {name:16s} {ant_results[name]:7.0f} steps/s", flush=True)
    first = args.layouts[0]
    ratios = {name: sps / results[first] for name, sps in results.items()}
    ant_best = max(ant_results.values()) if ant_results else None
    print("ratio to " + first + ": " + ", ".join(f"{n} {r:.2f}x" for n, r in ratios.items()))
    best = max(results, key=results.get)
    if ant_best is not None:
        ant_name = max(ant_results, key=ant_results.get)
        print(f"best {best}: {results[best] / ant_best:.2f}x Ant-v5's best ({ant_name})")
    print(f"1M steps at {best}: {1e6 / results[best] / 60:.1f} min of PPO (no evaluation or logging)")
    if args.json:
        atomic_write_json(
            args.json,
            {
                "layouts": results,
                "ratio_to_first": ratios,
                "ant_sps": ant_best,
                "ant_layouts": ant_results,
                "robots": per_robot,
                "robot_ratio_to_first": robot_ratios,
                "perturbations": perturbed,
                "samples_per_update": args.samples,
                "updates": args.updates,
            },
        )
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
