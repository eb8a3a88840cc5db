#!/usr/bin/env python3
"""Compare two policies' phase-5 results terrain by terrain: speed ratio with a 95 % interval.

Phase 5 (``phases_test/phase5_unseen_terrain.py --json``) seeds episode i of every policy the
same way on a terrain, so the two files' episodes are paired: the ratio of mean speeds on each
terrain gets a paired bootstrap interval over episodes (``walklab.evaluation.ratio_with_ci``),
and so does the ratio over all terrains together. Falls are shown beside, since a faster policy
that falls is not better. Both files must be of one robot (their "robot", the mini for files
from before robots were recorded): a Go1 policy is compared with a Go1 policy.

    python3 scripts/compare_unseen.py runs/d09/candidate.json assets/policies/residual_walk/unseen_d0.9_10.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from walklab.cli import OneLineErrorParser, fail
from walklab.evaluation import ratio_with_ci

DEFAULT_ROBOT = "mini"  # envs.robot's: a phase-5 JSON without "robot" is from before robots were recorded


def load_phase5(path: str) -> tuple[str, dict[str, dict]]:
    """(robot, {terrain file name: the trained side's summary}) from a phase-5 JSON, or one line and exit 2."""
    try:
        data = json.loads(Path(path).read_text())
        robot = data.get("robot", DEFAULT_ROBOT)
        if not isinstance(robot, str):
            raise TypeError(f"robot is {robot!r}")
        rows = {Path(t["terrain"]).name: t["trained"] for t in data["terrains"]}
        for name, row in rows.items():
            if not row.get("per_episode_forward_velocity_mps"):
                raise KeyError(f"per_episode_forward_velocity_mps for {name}")
    except FileNotFoundError:
        fail(f"{path} does not exist: give a JSON written by phases_test/phase5_unseen_terrain.py --json")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        reason = f"{type(exc).__name__}: {exc}"
        fail(f"{path} is not a phase-5 JSON ({reason}): write one with phase5_unseen_terrain.py --json")
    return robot, rows


# The cheapest complete run, from the repository root ({tmp}: a scratch folder); the fuzz suite
# (tests/test_cli_fuzz.py) starts every case from it.
SMOKE_ARGS = ["assets/policies/commanded_walk/unseen.json", "assets/policies/commanded_walk/unseen.json"]


def build_parser() -> OneLineErrorParser:
    p = OneLineErrorParser(description=__doc__.splitlines()[0], epilog=__doc__)
    p.add_argument("candidate", help="phase-5 JSON of the policy to judge")
    p.add_argument("reference", help="phase-5 JSON of the policy to compare it with (same terrains and episodes)")
    return p


def parse_args(argv=None) -> argparse.Namespace:
    """The flags, with both files read and checked (``args.candidate_rows``, ``args.reference_rows``):
    one line and exit 2 otherwise."""
    args = build_parser().parse_args(argv)
    robot_a, args.candidate_rows = load_phase5(args.candidate)
    robot_b, args.reference_rows = load_phase5(args.reference)
    if robot_a != robot_b:
        fail(f"{args.candidate} is of robot {robot_a} but {args.reference} of {robot_b}: compare policies of one robot")
    args.robot = robot_a
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    a, b = args.candidate_rows, args.reference_rows
    if sorted(a) != sorted(b):
        fail(f"the files cover different terrains ({', '.join(sorted(a))} against {', '.join(sorted(b))})")
    all_a: list[float] = []
    all_b: list[float] = []
    print(f"{'terrain':<24} {'candidate':>10} {'reference':>10} {'ratio':>7}  {'95 % interval':<13} falls c/r")
    for name in sorted(a):
        va, vb = a[name]["per_episode_forward_velocity_mps"], b[name]["per_episode_forward_velocity_mps"]
        if len(va) != len(vb):
            fail(f"{name}: {len(va)} episodes against {len(vb)}: run both with the same --episodes")
        ratio, (low, high) = ratio_with_ci(va, vb)
        all_a += va
        all_b += vb
        print(
            f"{name:<24} {sum(va) / len(va):>10.3f} {sum(vb) / len(vb):>10.3f} {ratio:>6.2f}x  "
            f"{low:.2f}-{high:.2f}x    {a[name]['falls']}/{b[name]['falls']}"
        )
    ratio, (low, high) = ratio_with_ci(all_a, all_b)
    falls_a = sum(r["falls"] for r in a.values())
    falls_b = sum(r["falls"] for r in b.values())
    print(
        f"{'all terrains':<24} {sum(all_a) / len(all_a):>10.3f} {sum(all_b) / len(all_b):>10.3f} {ratio:>6.2f}x  "
        f"{low:.2f}-{high:.2f}x    {falls_a}/{falls_b} of {len(all_a)}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
