#!/usr/bin/env python3
"""Phase 7: a policy and the baseline trot under each perturbation, on the same seeds: the robustness report.

Each case (walklab.robustness.ROBUSTNESS_CASES: nominal, push, push_strong, latency, sensor_noise,
actuators, masses; the settings are envs.perturbations' and are written into the JSON) runs the policy's own
env with that case's settings, every episode a row of one batch, for the policy and for the
baseline trot on seeds 0..K-1. Per case it prints and writes the mean forward speeds, the ratio
with its 95 % paired bootstrap interval, the falls and the episodes that ended at the terrain's side.
The robot is the model's (its run's config.json; there is no --robot); each case's sizes are at the
mini's scale and scaled to it (envs.perturbations: lengths x robot size, speeds x sqrt(robot size),
pushes also x the robot's push scale, its description's "robustness" key).

    python3 phases_test/phase7_robustness.py --model assets/policies/residual_walk/final_model.zip \\
        --normalize assets/policies/residual_walk/vec_normalize.pkl --episodes 10 --seconds 20 \\
        --json runs/robustness.json
"""

from __future__ import annotations

import argparse
import sys

from walklab.cli import (
    EPISODES,
    SECONDS,
    OneLineErrorParser,
    add_command_argument,
    add_model_arguments,
    fail,
    output_file,
    output_or_fail,
    write_json_or_fail,
)
from walklab.policy_inputs import policy_inputs_or_fail
from walklab.robustness import ROBUSTNESS_CASES

# The project's heavier modules are imported inside main(), after the flags are parsed: --help and
# a refused flag answer at once.


# The cheapest complete run, from the repository root ({tmp}: a scratch folder); the fuzz suite
# (tests/test_cli_fuzz.py) starts every case from it.
SMOKE_ARGS = [
    "--model",
    "assets/policies/residual_walk/final_model.zip",
    "--normalize",
    "assets/policies/residual_walk/vec_normalize.pkl",
    "--cases",
    "nominal",
    "push",
    "--episodes",
    "1",
    "--seconds",
    "0.5",
    "--json",
    "{tmp}/phase7.json",
]


def build_parser() -> OneLineErrorParser:
    p = OneLineErrorParser.for_script(__doc__)
    add_model_arguments(p)
    p.add_argument(
        "--cases",
        nargs="+",
        choices=list(ROBUSTNESS_CASES),
        default=list(ROBUSTNESS_CASES),
        help="the cases to run, in the report's order (default: all)",
    )
    p.add_argument("--episodes", type=EPISODES, default=10, help="episodes per case and side (seeds 0..K-1)")
    p.add_argument("--seconds", type=SECONDS, default=20.0, help="episode length (s)")
    p.add_argument("--json", type=output_file(".json"), default=None, help="write the report as JSON here")
    add_command_argument(p)
    return p


def parse_args(argv=None) -> argparse.Namespace:
    """The flags with every input checked before any work (one line and exit 2 otherwise): the
    policy's files, run and env (``args.policy``, ``args.env_config``), and each case's settings
    over that env (``args.case_configs``)."""
    from envs.fields import ConfigError

    args = build_parser().parse_args(argv)
    args.policy = policy_inputs_or_fail(args.model, args.normalize, command=args.command)
    args.env_config = args.policy.env_config
    args.cases = list(dict.fromkeys(args.cases))  # each case once, in the order given
    try:
        args.case_configs = {name: args.env_config.replace(**ROBUSTNESS_CASES[name]) for name in args.cases}
    except ConfigError as exc:
        fail(f"a robustness case does not build on this policy's env: {exc}")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    output_or_fail(args.json, "file", "--json")  # before any rollout
    from envs.robot_sim import TerrainFileError
    from walklab.policies import open_policy
    from walklab.robustness import HEADER, case_line, evaluate_case
    from walklab.runs import RunError

    try:
        _, env, loaded = open_policy(args.model, args.normalize, command=args.command)
    except (RunError, TerrainFileError) as exc:
        fail(str(exc))
    seeds = list(range(args.episodes))
    print(f"{args.episodes} episodes x {args.seconds:g} s per case and side (seeds 0..{args.episodes - 1})")
    print(HEADER)
    cases = []
    try:
        for name in args.cases:
            settings = ROBUSTNESS_CASES[name]
            case = evaluate_case(env.config, env.model, loaded.act_rows, settings, seeds, args.seconds)
            cases.append({"name": name, **case})
            print(case_line(name, case), flush=True)
    finally:
        env.close()
    if args.json:
        record = {
            "model": str(args.model),
            "normalize": str(args.policy.stats),
            "episodes": args.episodes,
            "seconds": args.seconds,
            "command": args.command,
            "cases": cases,
        }
        write_json_or_fail(args.json, record)
    return 0


if __name__ == "__main__":
    sys.exit(main())
