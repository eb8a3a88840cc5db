#!/usr/bin/env python3
"""Phase 5: evaluate a policy and the baseline trot on terrains it was not trained on.

Without --terrains it writes a standard unseen set (every kind of walklab.terrains at difficulty
0.5 and 0.9, seeds never used for the default terrain) to runs/terrains/ and uses that. For
each terrain it prints trained vs baseline velocity, falls and improvement.

The robot is the model's (its run's config.json; there is no --robot). A terrain PNG holds heights
relative to its field: every one, the standard set included, is laid out at the robot's size as its
default terrain is (the field's length, width and height x robot size), so one set serves every
robot. The JSON records the robot; scripts/compare_unseen.py refuses to pair two robots.

    python3 phases_test/phase5_unseen_terrain.py --model assets/policies/residual_walk/final_model.zip \\
        --normalize assets/policies/residual_walk/vec_normalize.pkl --episodes 3 --json runs/unseen.json
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from envs.terrain_file import TerrainFileError, check_terrain_file
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

UNSEEN_DIFFICULTIES = (0.5, 0.9)
UNSEEN_SEED = 101  # the default terrain is seed 3

# The project's heavier modules are imported inside main(), after the flags are parsed: --help and
# a refused flag answer at once, and MUJOCO_GL is chosen before MuJoCo loads.


# The cheapest complete run, from the repository root ({tmp}: a scratch folder); the fuzz suite
# (tests/test_cli_fuzz.py) starts every case from it.
SMOKE_ARGS = [
    "--model",
    "assets/policies/residual_walk/final_model.zip",
    "--normalize",
    "assets/policies/residual_walk/vec_normalize.pkl",
    "--terrains",
    "assets/hfield.png",
    "--episodes",
    "1",
    "--seconds",
    "0.5",
    "--json",
    "{tmp}/phase5.json",
]


def terrain_path(text: str) -> Path:
    """An argparse type for one of --terrains; parse_args checks them all together (one line)."""
    return Path(text)


terrain_path.rule = {"path": "input file", "suffixes": (".png",)}  # what tests/test_cli_fuzz.py reads


def build_parser() -> OneLineErrorParser:
    p = OneLineErrorParser.for_script(__doc__)
    add_model_arguments(p)
    p.add_argument(
        "--terrains",
        type=terrain_path,
        nargs="+",
        default=None,
        help="heightfield PNGs to evaluate on (default: the standard unseen set)",
    )
    p.add_argument("--terrain-dir", type=Path, default=Path("runs/terrains"), help="where the standard set is written")
    p.add_argument("--episodes", type=EPISODES, default=3, help="episodes per terrain and side (seeds 0..K-1)")
    p.add_argument("--seconds", type=SECONDS, default=20.0, help="episode length (s)")
    p.add_argument("--json", type=output_file(".json"), default=None, help="write the table as JSON here")
    add_command_argument(p)
    return p


def parse_args(argv=None) -> argparse.Namespace:
    """The flags with every input checked before any work (one line and exit 2 otherwise): each
    --terrains file a heightfield PNG, the policy's files, run and env (``args.policy``,
    ``args.env_config``)."""
    args = build_parser().parse_args(argv)
    missing = [str(t) for t in args.terrains or () if not t.is_file()]
    if missing:
        fail(f"terrain file(s) not found: {', '.join(missing)}")
    for terrain in args.terrains or ():
        try:
            check_terrain_file(terrain)  # a heightfield PNG MuJoCo can read, checked cheaply
        except TerrainFileError as exc:
            fail(str(exc))
    args.policy = policy_inputs_or_fail(args.model, args.normalize, command=args.command)
    args.env_config = args.policy.env_config
    return args


def standard_unseen_set(folder: Path) -> list[Path]:
    """Every terrain kind at each unseen difficulty, written once and reused."""
    from walklab.terrains import KINDS, generate, write_heightmap_png

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for kind in KINDS:
        for difficulty in UNSEEN_DIFFICULTIES:
            path = folder / f"{kind}_d{difficulty:.1f}_s{UNSEEN_SEED}.png"
            if not path.is_file():
                write_heightmap_png(generate(kind, difficulty, UNSEEN_SEED), path)
            paths.append(path)
    return paths


def main(argv=None) -> int:
    """Exit 0 when every terrain was evaluated; 1 when one failed (the others are still reported)."""
    args = parse_args(argv)
    output_or_fail(args.json, "file", "--json")  # before any rollout
    if args.terrains is None:
        output_or_fail(args.terrain_dir, "directory", "--terrain-dir")
    from envs.robot_sim import TerrainFileError
    from walklab.evaluation import evaluate, improvement_pct, zero_rows
    from walklab.policies import open_policy
    from walklab.runs import RunError

    try:
        # a bad model (or a --command it cannot take) fails once, here, before any terrain
        open_policy(args.model, args.normalize, command=args.command)[1].close()
    except (RunError, TerrainFileError) as exc:
        fail(str(exc))
    try:
        terrains = args.terrains or standard_unseen_set(args.terrain_dir)
    except OSError as exc:
        fail(f"cannot write the unseen terrains to {args.terrain_dir} ({exc.strerror or exc})")
    missing = [str(t) for t in terrains if not t.is_file()]
    if missing:
        fail(f"terrain file(s) not found: {', '.join(missing)}")
    rows, failed = [], []
    print(f"{args.env_config.robot}: {args.episodes} episodes x {args.seconds:g} s per side and terrain")
    print(f"{'terrain':28s} {'trained m/s':>11s} {'baseline m/s':>12s} {'improve':>8s} {'falls t/b':>9s}")
    for terrain in terrains:
        # a bad terrain is reported and skipped: the finished ones are kept and written
        try:
            _, env, loaded = open_policy(args.model, args.normalize, terrain=terrain, command=args.command)
        except (RunError, TerrainFileError) as exc:
            rows.append({"terrain": str(terrain), "error": str(exc)})
            failed.append(terrain)
            print(f"{terrain.stem:28s} error: {exc}")
            continue
        trained, _ = evaluate(env, None, args.episodes, args.seconds, rows=loaded.act_rows)  # rows of one batch
        baseline, _ = evaluate(env, None, args.episodes, args.seconds, rows=zero_rows)
        env.close()
        v_t, v_b = trained["forward_velocity_mps"], baseline["forward_velocity_mps"]
        improvement = improvement_pct(trained, baseline)
        rows.append({"terrain": str(terrain), "trained": trained, "baseline": baseline, "improvement_pct": improvement})
        shown = "n/a" if improvement is None else f"{improvement:+.0f}%"
        print(f"{terrain.stem:28s} {v_t:11.4f} {v_b:12.4f} {shown:>8s} {trained['falls']:>4d}/{baseline['falls']}")
    done = [r for r in rows if "error" not in r]
    better = sum(1 for r in done if r["trained"]["forward_velocity_mps"] > r["baseline"]["forward_velocity_mps"])
    print(f"trained faster on {better}/{len(done)} terrains")
    if args.json:
        record = {
            "model": str(args.model),
            "robot": args.env_config.robot,
            "episodes": args.episodes,
            "seconds": args.seconds,
            "terrains": rows,
        }
        write_json_or_fail(args.json, record)
    if failed:
        print(
            f"error: {len(failed)} of {len(terrains)} terrains could not be evaluated: "
            f"{', '.join(str(t) for t in failed)}",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
