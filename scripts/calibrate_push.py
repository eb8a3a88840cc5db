#!/usr/bin/env python3
"""Calibrate a robot's push scale: the strongest kick its baseline trot survives without a fall.

The robustness report's strong kick (``walklab.robustness.ROBUSTNESS_CASES["push_strong"]``, 1.2 m/s
every 1-3 s) is stated for the mini and scaled by sqrt(robot size) and by the robot's push scale, its
description's ``"robustness": {"push_scale": s}`` (docs/robots.md). This runs the robot's working
trot on its rough field under that kick as each candidate push scale would make it, on seeds
0..K-1, and prints per candidate the kick in m/s, the falls, the episodes that ended at the
terrain's side and the speed. The suggestion is the largest candidate with no fall at which no
smaller candidate fell either: write it into the robot's robot.json. The gait flags probe another
trot under the same kick (the mini's at 1.31x its stride and 1.42x its pace, say).

    python3 scripts/calibrate_push.py --robot go1 --scales 0.5 0.58 0.67 0.83 --episodes 20 --seconds 20
    python3 scripts/calibrate_push.py --scales 1 --step-length 0.0786 --cycle-time 0.5634 --episodes 20
"""

from __future__ import annotations

import argparse
import dataclasses
import sys

from walklab.cli import (
    EPISODES,
    SECONDS,
    OneLineErrorParser,
    add_gait_arguments,
    add_robot_argument,
    fail,
    gait_fits_or_fail,
    gait_from_args,
    model_or_fail,
    number,
    output_file,
    output_or_fail,
    write_json_or_fail,
)
from walklab.robustness import ROBUSTNESS_CASES

# The project's heavier modules are imported inside main(), after the flags are parsed: --help and
# a refused flag answer at once.

STRONG_PUSH = ROBUSTNESS_CASES["push_strong"]
PUSH_SCALE = number(float, low=0, low_open=True, high=2)  # robot.json's "robustness": {"push_scale": s}

# The cheapest complete run, from the repository root ({tmp}: a scratch folder); the fuzz suite
# (tests/test_cli_fuzz.py) starts every case from it.
SMOKE_ARGS = ["--scales", "0.5", "1", "--episodes", "1", "--seconds", "0.5", "--json", "{tmp}/calibration.json"]


def build_parser() -> OneLineErrorParser:
    p = OneLineErrorParser.for_script(__doc__)
    add_robot_argument(p)
    p.add_argument(
        "--scales",
        nargs="+",
        type=PUSH_SCALE,
        default=[0.5, 0.75, 1.0, 1.25, 1.5],
        help="candidate push scales, each in (0, 2] (default 0.5 0.75 1 1.25 1.5)",
    )
    p.add_argument("--episodes", type=EPISODES, default=20, help="episodes per candidate (seeds 0..K-1)")
    p.add_argument("--seconds", type=SECONDS, default=20.0, help="episode length (s)")
    p.add_argument("--json", type=output_file(".json"), default=None, help="write the probe as JSON here")
    add_gait_arguments(p)
    return p


def suggested_scale(rows: list[dict]) -> float | None:
    """The largest candidate without a fall whose smaller candidates fell in none either (None: all fell)."""
    best = None
    for row in sorted(rows, key=lambda r: r["push_scale"]):
        if row["falls"]:
            break
        best = row["push_scale"]
    return best


def parse_args(argv=None) -> argparse.Namespace:
    """The flags, checked before any work (one line and exit 2 otherwise); ``args.velocity``: each
    candidate's kick as the push_velocity it takes over the robot's own push scale."""
    from envs.config import EnvConfig
    from envs.robot import describe

    args = build_parser().parse_args(argv)
    args.gait = gait_fits_or_fail(gait_from_args(args, args.robot), args.robot)
    args.scales = sorted(set(args.scales))
    push_scale = describe(args.robot).push_scale
    args.velocity = {s: STRONG_PUSH["push_velocity"] * s / push_scale for s in args.scales}
    limit = {f.name: f.metadata for f in dataclasses.fields(EnvConfig)}["push_velocity"]["high"]
    if max(args.velocity.values()) > limit:
        most = limit * push_scale / STRONG_PUSH["push_velocity"]
        fail(f"--scales: at most {most:.3g} on {args.robot} (push_velocity's limit, {limit:g} m/s at the mini's size)")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    output_or_fail(args.json, "file", "--json")  # before any rollout
    from envs.config import EnvConfig
    from envs.robot import load_robot
    from envs.rollout import run_batch, zero_rows
    from walklab.evaluation import summarize

    robot = load_robot(args.robot)
    model = model_or_fail(robot=args.robot)
    seeds = list(range(args.episodes))
    reference = STRONG_PUSH["push_velocity"] * robot.speed_scale  # m/s at push scale 1
    every = f"{STRONG_PUSH['push_interval_min']:g}-{STRONG_PUSH['push_interval_max']:g} s"
    print(
        f"{args.robot}'s trot under the strong kick x each push scale, every {every}; "
        f"{args.episodes} episodes x {args.seconds:g} s (seeds 0..{args.episodes - 1})"
    )
    print(f"{'push scale':>10} {'kick m/s':>9} {'falls':>6} {'side':>5} {'speed m/s':>10}")
    rows = []
    for s in args.scales:
        config = EnvConfig(gait=args.gait, robot=args.robot, **{**STRONG_PUSH, "push_velocity": args.velocity[s]})
        summary = summarize(run_batch(config, model, zero_rows, seeds, args.seconds))
        row = {"push_scale": s, "kick_mps": reference * s, **summary}
        rows.append(row)
        print(
            f"{s:>10.3g} {row['kick_mps']:>9.3f} {row['falls']:>6d} {row['off_terrain']:>5d} "
            f"{row['forward_velocity_mps']:>10.4f}",
            flush=True,
        )
    best = suggested_scale(rows)
    if best is None:
        print("every candidate fell: try smaller push scales")
    else:
        print(f'suggested: "robustness": {{"push_scale": {best:g}}} (now {robot.description.push_scale:g})')
    if args.json:
        record = {
            "robot": args.robot,
            "gait": args.gait.to_dict(),
            "episodes": args.episodes,
            "seconds": args.seconds,
            "strong_push": STRONG_PUSH,
            "candidates": rows,
            "suggested_push_scale": best,
        }
        write_json_or_fail(args.json, record)
    return 0


if __name__ == "__main__":
    sys.exit(main())
