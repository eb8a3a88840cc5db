#!/usr/bin/env python3
"""Compare a trained residual policy with the baseline trot on the same seeds and terrain.

Baseline only (gait flags choose the trot; the env is ResidualWalk-v0 with zero residual):
    python3 tests/compare_residual_vs_baseline.py --baseline-only --episodes 5 --seconds 20
    python3 tests/compare_residual_vs_baseline.py --baseline-only --gait legacy --json runs/legacy.json
    python3 tests/compare_residual_vs_baseline.py --baseline-only --robot go1 --episodes 50 --seconds 20

Trained vs baseline (env, gait and reward rebuilt from the run's config.json):
    python3 tests/compare_residual_vs_baseline.py --model runs/RUN/final_model.zip \\
        --normalize runs/RUN/vec_normalize.pkl --episodes 10 --seconds 20 --json runs/RUN/compare.json

The headline measurement, 50 episodes (seeds 0-49), every episode a row of one batch:
    python3 tests/compare_residual_vs_baseline.py --model ... --normalize ... --episodes 50

Episode i of both sides starts from the same seeded spawn. The speed ratio is the ratio of
mean forward velocities, with a 95 % paired bootstrap interval over episodes (fixed resampling
seed, so the same episodes always give the same interval). The episodes run as rows of one
mujoco.batch simulation on --threads physics threads; --one-by-one runs them one after another
(in --workers N processes), with identical results. A --stochastic policy always runs one by one.
"""

from __future__ import annotations

import argparse
import sys

from walklab.cli import (
    EPISODES,
    GAIT_FLAGS,
    SECONDS,
    THREADS,
    WORKERS,
    OneLineErrorParser,
    add_command_argument,
    add_gait_arguments,
    add_robot_argument,
    fail,
    gait_fits_or_fail,
    gait_from_args,
    heightfield_file,
    model_file,
    output_file,
    output_or_fail,
    statistics_file,
    write_json_or_fail,
)
from walklab.policy_inputs import policy_inputs_or_fail

DEFAULT_ROBOT = "mini"  # envs.robot's (not imported here: --help answers before the project loads)

# The project's heavier modules are imported inside main(), after the flags are parsed: --help and
# a refused flag answer at once, and MUJOCO_GL is chosen before MuJoCo loads.


# The cheapest complete run, from the repository root ({tmp}: a scratch folder); the fuzz suite
# (tests/test_cli_fuzz.py) starts every case from it.
SMOKE_ARGS = [
    "--model",
    "assets/policies/residual_walk/final_model.zip",
    "--normalize",
    "assets/policies/residual_walk/vec_normalize.pkl",
    "--episodes",
    "1",
    "--seconds",
    "0.5",
    "--json",
    "{tmp}/compare.json",
]


def build_parser() -> OneLineErrorParser:
    p = OneLineErrorParser.for_script(__doc__)
    p.add_argument("--baseline-only", action="store_true", help="evaluate only the baseline trot")
    p.add_argument("--model", type=model_file, help="trained model .zip (its run's config.json rebuilds the env)")
    p.add_argument("--normalize", type=statistics_file, help="VecNormalize statistics saved with the model (.pkl)")
    p.add_argument("--episodes", type=EPISODES, default=10, help="episodes per side (seeds 0..K-1)")
    p.add_argument("--seconds", type=SECONDS, default=20.0, help="episode length (s)")
    p.add_argument("--terrain", type=heightfield_file, help="evaluate both sides on this heightfield PNG instead")
    p.add_argument("--stochastic", action="store_true", help="sample actions instead of the deterministic mean")
    p.add_argument(
        "--workers",
        type=WORKERS,
        default=1,
        help="with --one-by-one: run the episodes in this many processes (same results as one)",
    )
    p.add_argument(
        "--one-by-one", action="store_true", help="run the episodes one after another instead of as rows of one batch"
    )
    p.add_argument(
        "--threads",
        type=THREADS,
        default=None,
        help="physics threads of the batch (default: every CPU)",
    )
    p.add_argument("--json", type=output_file(".json"), help="write the results as JSON here")
    add_command_argument(p)
    add_robot_argument(p)
    p.add_argument("--flat", action="store_true", help="--baseline-only: on the flat floor instead of the terrain")
    add_gait_arguments(p)
    return p


def parse_args(argv=None) -> argparse.Namespace:
    p = build_parser()
    args = p.parse_args(argv)
    if not args.baseline_only and args.model is None:
        p.error("give --model (and --normalize) or --baseline-only")
    if args.baseline_only and args.model is not None:
        p.error("--baseline-only and --model exclude each other")
    if args.model is not None and (args.robot != DEFAULT_ROBOT or args.flat):
        p.error("--robot and --flat go with --baseline-only: a model walks the robot it was trained on")
    if args.flat and args.terrain is not None:
        p.error("--flat and --terrain exclude each other")
    if args.command is not None and args.model is None:
        p.error("--command needs --model (a policy trained with --commands)")
    if args.model is not None:
        given = [f"--{n.replace('_', '-')}" for n in GAIT_FLAGS if getattr(args, n) is not None]
        if given or args.gait != "working":
            p.error(
                f"{', '.join(given) or '--gait'} cannot be combined with --model: the gait is the one the "
                "model was trained with (its config.json)"
            )
    # what the run builds, checked here: the policy's files, run and env, or the baseline's gait
    if args.model is not None:
        args.policy = policy_inputs_or_fail(args.model, args.normalize, terrain=args.terrain, command=args.command)
        args.env_config = args.policy.env_config
    else:
        from envs.config import EnvConfig

        args.policy = None
        args.gait = gait_fits_or_fail(gait_from_args(args, args.robot), args.robot)
        terrain = "flat" if args.flat else str(args.terrain) if args.terrain else None
        args.env_config = EnvConfig(gait=args.gait, robot=args.robot, terrain=terrain)
    return args


def main(argv=None) -> int:
    args = parse_args(argv)

    output_or_fail(args.json, "file", "--json")  # before any rollout
    from envs.config import EnvConfig
    from envs.robot_sim import TerrainFileError
    from walklab.evaluation import PolicySource, improvement_pct, ratio_with_ci, run_episodes, summarize
    from walklab.runs import RunError

    terrain = "flat" if args.flat else str(args.terrain) if args.terrain else None
    result: dict = {
        "episodes": args.episodes,
        "seconds": args.seconds,
        "seeds": [0, args.episodes - 1],
        "terrain": terrain,
    }
    if args.baseline_only:
        gait = args.gait
        baseline_source = PolicySource(env=EnvConfig(gait=gait, robot=args.robot).to_dict(), terrain=terrain)
        trained_source = None
        result["gait"] = gait.to_dict()
        result["robot"] = args.robot
    else:
        trained_source = PolicySource(
            model=str(args.model),
            normalize=str(args.normalize) if args.normalize else None,
            terrain=terrain,
            deterministic=not args.stochastic,
            command=args.command,
        )
        baseline_source = PolicySource(
            model=trained_source.model,
            normalize=trained_source.normalize,
            terrain=terrain,
            baseline=True,
            command=args.command,
        )
        result["model"] = str(args.model)
    seeds = list(range(args.episodes))
    try:
        check_env, _ = (trained_source or baseline_source).build()  # bad files fail here, in one line
        if trained_source is not None:
            from walklab.runs import RunDir

            record = RunDir.of_model(args.model).config()
            result["gait"] = record["env"]["gait"]
            result["robot"] = check_env.config.robot  # the run's (runs from before robots: the mini)
            if record["env"].get("commands"):
                result["command_mps"] = check_env.config.command_speed_max  # fixed for every episode
        check_env.close()
        batched = not args.one_by_one
        baseline_eps = run_episodes(
            baseline_source, seeds, args.seconds, args.workers, batched, args.threads, progress="baseline"
        )
        trained_eps = (
            run_episodes(trained_source, seeds, args.seconds, args.workers, batched, args.threads, progress="trained")
            if trained_source
            else None
        )
    except (RunError, TerrainFileError) as exc:
        fail(str(exc))

    baseline = summarize(baseline_eps)
    result["baseline"] = baseline
    rows = [("baseline", baseline)]
    if trained_eps is not None:
        trained = summarize(trained_eps)
        result["trained"] = trained
        result["improvement_pct"] = improvement_pct(trained, baseline)
        if baseline["forward_velocity_mps"] > 0:
            ratio, ci = ratio_with_ci(
                [e.forward_velocity for e in trained_eps], [e.forward_velocity for e in baseline_eps]
            )
            result["ratio"], result["ratio_ci95"] = ratio, ci
        else:
            result["ratio"], result["ratio_ci95"] = None, None
        result["speed_ratio"] = result["ratio"]  # the earlier name of the same figure
        rows.append(("trained", trained))

    print(f"{args.episodes} episodes x {args.seconds:g} s, seeds 0..{args.episodes - 1}")
    header = (
        f"{'':10s} {'fwd m/s':>9s} {'lat m/s':>9s} {'drift m':>8s} {'height m':>9s} {'tilt rad':>9s} "
        f"{'|a|':>6s} {'falls':>6s} {'off-terrain':>12s}"
    )
    print(header)
    for name, s in rows:
        print(
            f"{name:10s} {s['forward_velocity_mps']:9.4f} {s['lateral_velocity_mps']:+9.4f} "
            f"{s['lateral_drift_m']:8.3f} {s['body_height_m']:9.4f} {s['mean_tilt_rad']:9.3f} "
            f"{s['mean_abs_action']:6.3f} {s['falls']:>3d}/{s['episodes']} {s['off_terrain']:>8d}/{s['episodes']}"
        )
    if result.get("ratio") is not None:
        low, high = result["ratio_ci95"]
        print(
            f"speed ratio: {result['ratio']:.2f}x baseline (95% CI {low:.2f}-{high:.2f}x), "
            f"{result['improvement_pct']:+.1f}% forward velocity"
        )
    if args.json:
        write_json_or_fail(args.json, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
