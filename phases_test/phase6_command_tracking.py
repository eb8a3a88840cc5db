#!/usr/bin/env python3
"""Phase 6: how closely a policy trained with commands (--commands) walks at commanded forward speeds.

For each commanded speed it runs --episodes deterministic episodes (seeds 0..K-1) with the
command fixed (and the yaw rate fixed to --yaw-rate, default 0) and reports:
- achieved speed: mean over episodes of the distance walked along x / time walked (m/s);
- mean absolute tracking error: mean over episodes of |achieved - command| (m/s); the
  per-step error, which also holds the trot's speed swing within each stride, is given too;
- falls (envs.residual_walk_env.is_fall);
- 95 % percentile-bootstrap intervals over episodes of each command's error and of the mean
  error over all commands (each command's episodes resampled on their own; fixed resampling
  seed, so the same episodes give the same interval).
The env is the model's own (its run's config.json), nominal physics, its terrain unless
--terrain is given. A model without a command input is refused (one line, exit 2).

The robot is the model's (its run's config.json; there is no --robot). The default commands and
targets are written for the mini and scaled to another robot as similar walks scale (Froude):
speeds x sqrt(robot size), yaw rates / sqrt(robot size); Go1 (size 4.26): 0.103 0.206 0.310
0.413 m/s, speed target 0.041 m/s, yaw-rate target 0.039 rad/s. Given --commands are used as given.

With --yaw-rates every (speed, yaw rate) pair is a command. Each entry then also gives the
achieved yaw rate (the unwrapped heading change over the time walked, rad/s) and its absolute
error, and the achieved speed is measured along the trunk's heading (a turning robot walks a
circle, not along x); the top level adds the mean absolute yaw-rate error with its interval.

    python3 phases_test/phase6_command_tracking.py --model RUN/final_model.zip --normalize RUN/vec_normalize.pkl \\
        --commands 0.05 0.10 0.15 0.20 --episodes 3 --json RUN/tracking.json
    python3 phases_test/phase6_command_tracking.py --model RUN/final_model.zip --normalize RUN/vec_normalize.pkl \
        --commands 0.10 0.20 --yaw-rates -0.5 -0.25 0 0.25 0.5 --json RUN/turning.json

JSON: {"model", "robot", "episodes", "seconds", "yaw_rate", "terrain", "mean_abs_error_mps",
"mean_abs_error_ci95_mps", "target_mps", "falls", "commands": [one entry per command with command_mps, achieved_mps,
abs_error_mps, falls, abs_error_ci95_mps, step_abs_error_mps, per_episode_mps, terminations]};
with --yaw-rates also "yaw_rates", "mean_abs_yaw_error", "mean_abs_yaw_error_ci95", "target_yaw_rate" and, per entry,
command_yaw_rate, achieved_yaw_rate, abs_yaw_error, abs_yaw_error_ci95, per_episode_yaw_rate.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys

from walklab.cli import (
    EPISODES,
    SECONDS,
    SPEED,
    YAW_RATE,
    OneLineErrorParser,
    add_model_arguments,
    fail,
    heightfield_file,
    output_file,
    output_or_fail,
    robot_speed_scale,
    write_json_or_fail,
)
from walklab.policy_inputs import policy_inputs_or_fail

DEFAULT_COMMANDS = (0.05, 0.10, 0.15, 0.20)  # m/s on the mini; x sqrt(robot size) on another robot
TARGET_ERROR_MPS = 0.02  # the target: mean absolute tracking error, no falls (mini; x sqrt(size))
TARGET_YAW_ERROR = 0.08  # rad/s: the turning target, mean absolute yaw-rate error, no falls (mini; / sqrt(size))

# The project's heavier modules are imported inside main(), after the flags are parsed: --help and
# a refused flag answer at once, and MUJOCO_GL is chosen before MuJoCo loads.


# The cheapest complete run, from the repository root ({tmp}: a scratch folder); the fuzz suite
# (tests/test_cli_fuzz.py) starts every case from it.
SMOKE_ARGS = [
    "--model",
    "assets/policies/commanded_walk/final_model.zip",
    "--normalize",
    "assets/policies/commanded_walk/vec_normalize.pkl",
    "--commands",
    "0.1",
    "--episodes",
    "1",
    "--seconds",
    "0.5",
    "--json",
    "{tmp}/phase6.json",
]


def build_parser() -> OneLineErrorParser:
    p = OneLineErrorParser.for_script(__doc__)
    add_model_arguments(p)
    p.add_argument(
        "--commands",
        type=SPEED,
        nargs="+",
        default=None,
        help="commanded forward speeds, m/s (default 0.05 0.10 0.15 0.20 on the mini, x sqrt(robot size) on "
        "the model's robot)",
    )
    turning = p.add_mutually_exclusive_group()
    turning.add_argument("--yaw-rate", type=YAW_RATE, default=0.0, help="commanded yaw rate for every episode, rad/s")
    turning.add_argument(
        "--yaw-rates",
        type=YAW_RATE,
        nargs="+",
        default=None,
        help="commanded yaw rates, rad/s: every (speed, yaw rate) pair is a command (e.g. -0.5 -0.25 0 0.25 0.5)",
    )
    p.add_argument("--episodes", type=EPISODES, default=3, help="episodes per command (seeds 0..K-1)")
    p.add_argument("--seconds", type=SECONDS, default=20.0, help="episode length (s)")
    p.add_argument(
        "--terrain", type=heightfield_file, default=None, help="heightfield PNG (default: the model's own terrain)"
    )
    p.add_argument("--json", type=output_file(".json"), default=None, help="write the table as JSON here")
    return p


def parse_args(argv=None) -> argparse.Namespace:
    """The flags, and what the run builds from them, checked before any work (one line and exit 2
    otherwise): the policy's files, run and env (``args.policy``), a policy with a command input,
    and one EnvConfig per (speed, yaw rate) command (``args.pairs``, ``args.env_configs``)."""
    from envs.fields import ConfigError

    args = build_parser().parse_args(argv)
    args.policy = policy_inputs_or_fail(args.model, args.normalize, terrain=args.terrain)
    base = args.env_config = args.policy.env_config
    if not base.commands:
        fail(
            f"{args.model} has no command input (its run was trained without --commands): "
            "train with --commands to evaluate command tracking"
        )
    scale = robot_speed_scale(base.robot)  # 1 on the mini
    args.target_mps, args.target_yaw_rate = TARGET_ERROR_MPS * scale, TARGET_YAW_ERROR / scale
    if args.commands is None:  # the mini's speeds scaled to the model's robot, within what a command may be
        top = next(f for f in dataclasses.fields(base) if f.name == "command_speed_max").metadata["high"]
        args.commands = [round(min(c * scale, top), 3) for c in DEFAULT_COMMANDS]
    yaw_rates = args.yaw_rates if args.yaw_rates is not None else [args.yaw_rate]
    args.pairs = [(c, w) for c in args.commands for w in yaw_rates]
    try:
        args.env_configs = [
            base.replace(command_speed_min=c, command_speed_max=c, command_yaw_rate_min=w, command_yaw_rate_max=w)
            for c, w in args.pairs
        ]
    except ConfigError as exc:
        fail(exc.for_label("--commands/--yaw-rate"))
    return args


def track(env, rows, command: float, yaw_rate: float | None, episodes: int, seconds: float) -> tuple[dict, list, list]:
    """One command's row (achieved speed, tracking errors, falls; with a `yaw_rate` the yaw-rate
    measures too) and its per-episode |speed errors| and |yaw-rate errors|; the episodes run as
    rows of one batch, with the row policy `rows`."""
    import numpy as np

    from walklab.evaluation import evaluate, mean_of_means_with_ci

    _, stats = evaluate(env, None, episodes, seconds, rows=rows)
    turning = yaw_rate is not None
    speeds = [e.mean_heading_speed if turning else e.forward_velocity for e in stats]
    errors = [abs(v - command) for v in speeds]
    row = {
        "command_mps": command,
        "achieved_mps": float(np.mean(speeds)),
        "abs_error_mps": float(np.mean(errors)),
        "falls": int(sum(e.fell for e in stats)),
        "abs_error_ci95_mps": mean_of_means_with_ci([errors])[1],
        "step_abs_error_mps": float(np.mean([np.mean(np.abs(np.asarray(e.velocity_trace) - command)) for e in stats])),
        "per_episode_mps": [round(v, 5) for v in speeds],
        "terminations": [e.termination for e in stats],
    }
    yaw_errors = []
    if turning:
        achieved = [e.heading_change / e.duration for e in stats]
        yaw_errors = [abs(w - yaw_rate) for w in achieved]
        row.update(
            command_yaw_rate=yaw_rate,
            achieved_yaw_rate=float(np.mean(achieved)),
            abs_yaw_error=float(np.mean(yaw_errors)),
            abs_yaw_error_ci95=mean_of_means_with_ci([yaw_errors])[1],
            per_episode_yaw_rate=[round(w, 5) for w in achieved],
        )
    return row, errors, yaw_errors


def main(argv=None) -> int:
    args = parse_args(argv)
    output_or_fail(args.json, "file", "--json")  # before any rollout
    from envs.residual_walk_env import ResidualWalkEnv
    from envs.robot_sim import TerrainFileError
    from walklab.policies import open_policy
    from walklab.runs import RunError

    try:
        _, env, loaded = open_policy(args.model, args.normalize, terrain=args.terrain)
    except (RunError, TerrainFileError) as exc:
        fail(str(exc))
    env.close()
    turning = args.yaw_rates is not None
    pairs = args.pairs
    envs = [ResidualWalkEnv(config) for config in args.env_configs]  # built and checked in parse_args
    policy = loaded.act_rows
    rows, per_episode_errors, per_episode_yaw_errors = [], [], []
    yaw_text = "yaw rates " + " ".join(f"{w:g}" for w in args.yaw_rates) if turning else f"yaw rate {args.yaw_rate:g}"
    print(f"{args.env_config.robot}: {args.episodes} episodes x {args.seconds:g} s per command, {yaw_text} rad/s")
    print(
        f"{'command m/s':>11s} {'achieved m/s':>12s} {'|error| m/s':>11s} {'95% interval':>15s} "
        f"{'per-step':>9s} {'falls':>5s}" + (f" {'yaw rad/s':>9s} {'achieved':>9s} {'|error|':>8s}" if turning else "")
    )
    for (command, yaw_rate), env in zip(pairs, envs):
        row, errors, yaw_errors = track(
            env, policy, command, yaw_rate if turning else None, args.episodes, args.seconds
        )
        env.close()
        rows.append(row)
        per_episode_errors.append(errors)
        per_episode_yaw_errors.append(yaw_errors)
        print(
            f"{command:11.3f} {row['achieved_mps']:12.4f} {row['abs_error_mps']:11.4f} "
            f"{'{:.4f}-{:.4f}'.format(*row['abs_error_ci95_mps']):>15s} {row['step_abs_error_mps']:9.4f} "
            f"{row['falls']:>5d}"
            + (f" {yaw_rate:9.3f} {row['achieved_yaw_rate']:9.4f} {row['abs_yaw_error']:8.4f}" if turning else "")
        )
    from walklab.evaluation import mean_of_means_with_ci

    mean_error, interval = mean_of_means_with_ci(per_episode_errors)
    falls = sum(r["falls"] for r in rows)
    met = mean_error <= args.target_mps and falls == 0
    print(
        f"mean |error| {mean_error:.4f} m/s (95% interval {interval[0]:.4f}-{interval[1]:.4f}), {falls} falls: "
        f"target (<= {args.target_mps:.3g} m/s, no falls) {'met' if met else 'not met'}"
    )
    if turning:
        yaw_error, yaw_interval = mean_of_means_with_ci(per_episode_yaw_errors)
        yaw_met = yaw_error <= args.target_yaw_rate and falls == 0
        print(
            f"mean |yaw-rate error| {yaw_error:.4f} rad/s (95% interval {yaw_interval[0]:.4f}-{yaw_interval[1]:.4f}): "
            f"target (<= {args.target_yaw_rate:.3g} rad/s, no falls) {'met' if yaw_met else 'not met'}"
        )
    if args.json:
        record = {
            "model": str(args.model),
            "robot": args.env_config.robot,
            "episodes": args.episodes,
            "seconds": args.seconds,
            "yaw_rate": args.yaw_rate,
            "terrain": str(args.terrain) if args.terrain else None,
            "mean_abs_error_mps": mean_error,
            "mean_abs_error_ci95_mps": interval,
            "target_mps": args.target_mps,
            "falls": falls,
            "commands": rows,
        }
        if turning:
            record.update(
                yaw_rates=args.yaw_rates,
                mean_abs_yaw_error=yaw_error,
                mean_abs_yaw_error_ci95=yaw_interval,
                target_yaw_rate=args.target_yaw_rate,
            )
        write_json_or_fail(args.json, record)
    return 0


if __name__ == "__main__":
    sys.exit(main())
