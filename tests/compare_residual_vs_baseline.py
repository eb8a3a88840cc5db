#!/usr/bin/env python3
"""Compare a trained residual policy with the baseline trot on the same seeds and terrain.

Baseline only (gait flags choose the trot; the env is ResidualWalk-v0 with zero residual):
    python3 tests/compare_residual_vs_baseline.py --baseline-only --episodes 5 --seconds 20
    python3 tests/compare_residual_vs_baseline.py --baseline-only --gait legacy --json runs/legacy.json

Trained vs baseline (env, gait and reward rebuilt from the run's config.json):
    python3 tests/compare_residual_vs_baseline.py --model runs/RUN/final_model.zip \\
        --normalize runs/RUN/vec_normalize.pkl --episodes 10 --seconds 20 --json runs/RUN/compare.json
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from walklab.cli import add_gait_arguments, fail, gait_from_args, positive_float, positive_int  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument("--baseline-only", action="store_true", help="evaluate only the baseline trot")
    p.add_argument("--model", type=Path, help="trained model .zip (its run's config.json rebuilds the env)")
    p.add_argument("--normalize", type=Path, help="VecNormalize statistics saved with the model (.pkl)")
    p.add_argument("--episodes", type=positive_int, default=10, help="episodes per side (seeds 0..K-1)")
    p.add_argument("--seconds", type=positive_float, default=20.0, help="episode length (s)")
    p.add_argument("--terrain", type=Path, help="evaluate both sides on this heightfield PNG instead")
    p.add_argument("--stochastic", action="store_true", help="sample actions instead of the deterministic mean")
    p.add_argument("--json", type=Path, help="write the results as JSON here")
    add_gait_arguments(p)
    args = p.parse_args(argv)
    if not args.baseline_only and args.model is None:
        p.error("give --model (and --normalize) or --baseline-only")
    if args.baseline_only and args.model is not None:
        p.error("--baseline-only and --model exclude each other")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.terrain is not None and not args.terrain.is_file():
        fail(f"terrain file not found: {args.terrain}")

    from envs.residual_walk_env import ResidualWalkEnv
    from envs.robot_sim import TerrainFileError
    from walklab.evaluation import evaluate, improvement_pct, zero_policy
    from walklab.files import atomic_write_json
    from walklab.runs import RunError, open_policy

    result: dict = {"episodes": args.episodes, "seconds": args.seconds,
                    "terrain": str(args.terrain) if args.terrain else None}
    try:
        if args.baseline_only:
            gait = gait_from_args(args)
            env = ResidualWalkEnv(gait=gait, terrain=args.terrain)
            result["gait"] = gait.to_dict()
            policy = None
        else:
            config, env, loaded = open_policy(args.model, args.normalize, terrain=args.terrain)
            policy = loaded.policy(deterministic=not args.stochastic)
            result["gait"] = config["env"]["gait"]
            result["model"] = str(args.model)
    except (RunError, TerrainFileError) as exc:
        fail(str(exc))

    baseline, _ = evaluate(env, zero_policy, args.episodes, args.seconds)
    result["baseline"] = baseline
    rows = [("baseline", baseline)]
    if policy is not None:
        trained, _ = evaluate(env, policy, args.episodes, args.seconds)
        result["trained"] = trained
        base_v = baseline["forward_velocity_mps"]
        result["improvement_pct"] = improvement_pct(trained, baseline)
        result["speed_ratio"] = trained["forward_velocity_mps"] / base_v if base_v else None
        rows.append(("trained", trained))

    print(f"{args.episodes} episodes x {args.seconds:g} s, seeds 0..{args.episodes - 1}")
    header = f"{'':10s} {'fwd m/s':>9s} {'lat m/s':>9s} {'drift m':>8s} {'height m':>9s} {'tilt rad':>9s} {'|a|':>6s} {'falls':>6s}"
    print(header)
    for name, s in rows:
        print(f"{name:10s} {s['forward_velocity_mps']:9.4f} {s['lateral_velocity_mps']:+9.4f} {s['lateral_drift_m']:8.3f} "
              f"{s['body_height_m']:9.4f} {s['mean_tilt_rad']:9.3f} {s['mean_abs_action']:6.3f} {s['falls']:>3d}/{s['episodes']}")
    if result.get("improvement_pct") is not None:
        print(f"improvement: {result['improvement_pct']:+.1f}% forward velocity ({result['speed_ratio']:.2f}x baseline)")
    if args.json:
        print(f"wrote {atomic_write_json(args.json, result)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
