#!/usr/bin/env python3
"""Phase 4: replay a trained residual policy in the MuJoCo viewer (or record it offscreen).

The env (gait, residual scale, terrain, reward weights) is rebuilt from the config.json of
the run the model belongs to. The viewer opens with the camera following the robot (the same
framing as recorded videos; the mouse can still move it) and runs at real-time pace with an
overlay of time, forward speed and distance. When the computer cannot keep real time the
overlay shows the real-time factor and the last line says it ("ran at 0.09x real time").
--side-by-side also runs the baseline trot from the same spawn and draws it in the same view
as a translucent blue robot. A policy trained with --commands is steered from the keyboard
while it plays: up and down change the speed, left and right the yaw rate, space stops.
--record renders offscreen to .mp4/.gif and needs no display. The robot is the model's (its run's
config.json; there is no --robot): a Go1 model walks Go1 on its terrain, the camera at its size.

    python3 phases_test/phase4_viewer_play_policy.py --model runs/RUN/final_model.zip \\
        --normalize runs/RUN/vec_normalize.pkl --seconds 20 --deterministic
    python3 phases_test/phase4_viewer_play_policy.py --model runs/RUN/final_model.zip \\
        --normalize runs/RUN/vec_normalize.pkl --record runs/RUN/walk.mp4
    python3 phases_test/phase4_viewer_play_policy.py --model runs/RUN/final_model.zip \\
        --normalize runs/RUN/vec_normalize.pkl --deterministic --seed 3 --side-by-side
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from walklab.cli import (
    FRAME_PIXELS,
    SECONDS,
    SEED,
    OneLineErrorParser,
    add_command_argument,
    add_model_arguments,
    fail,
    heightfield_file,
    prepare_playback_or_fail,
)
from walklab.policy_inputs import policy_inputs_or_fail
from walklab.rendering import prepare_rendering

# The project's heavier modules are imported inside main(), after the flags are parsed: --help and
# a refused flag answer at once, and MUJOCO_GL is chosen before MuJoCo loads.


# The cheapest complete run, from the repository root ({tmp}: a scratch folder); the fuzz suite
# (tests/test_cli_fuzz.py) starts every case from it.
SMOKE_ARGS = [
    "--model",
    "assets/policies/residual_walk/final_model.zip",
    "--normalize",
    "assets/policies/residual_walk/vec_normalize.pkl",
    "--seconds",
    "0.3",
    "--record",
    "{tmp}/phase4.gif",
    "--width",
    "64",
    "--height",
    "64",
]


def build_parser() -> OneLineErrorParser:
    p = OneLineErrorParser.for_script(__doc__)
    add_model_arguments(p)
    p.add_argument("--seconds", type=SECONDS, default=20.0, help="how long to play (s)")
    p.add_argument("--deterministic", action="store_true", help="use the policy's mean action instead of sampling")
    p.add_argument("--record", type=Path, default=None, help="render offscreen to this .mp4 or .gif instead")
    p.add_argument(
        "--terrain", type=heightfield_file, default=None, help="play on this heightfield PNG instead of the run's"
    )
    p.add_argument("--seed", type=SEED, default=0, help="spawn seed")
    p.add_argument("--baseline", action="store_true", help="play the plain trot (zero residual) in the same env")
    p.add_argument(
        "--side-by-side",
        action="store_true",
        help="viewer: also show the baseline trot from the same spawn (translucent blue robot)",
    )
    add_command_argument(p)
    p.add_argument("--no-overlay", action="store_true", help="hide the time/speed/distance overlay")
    p.add_argument("--width", type=FRAME_PIXELS, default=640, help="recorded frame width (pixels)")
    p.add_argument("--height", type=FRAME_PIXELS, default=360, help="recorded frame height (pixels)")
    # for tests: keep the window open at the end, say where its 3D view is, and wait for a line on stdin
    p.add_argument("--hold-at-end", action="store_true", help=argparse.SUPPRESS)
    return p


def parse_args(argv=None) -> argparse.Namespace:
    p = build_parser()
    args = p.parse_args(argv)
    if args.record is not None and (args.side_by_side or args.hold_at_end):
        p.error("--side-by-side and --hold-at-end are for the viewer; leave out --record")
    # the policy's files, its run and env checked here (one line, exit 2), after MUJOCO_GL is chosen
    prepare_rendering(headless=args.record is not None)
    args.policy = policy_inputs_or_fail(args.model, args.normalize, terrain=args.terrain, command=args.command)
    args.env_config = args.policy.env_config
    return args


def hold_window(viewport) -> None:
    """Say where the open window's 3D view is (pixels from its bottom left) and wait for a line on stdin."""
    rect = (viewport.left, viewport.bottom, viewport.width, viewport.height) if viewport is not None else ()
    print("holding the window; viewport", *rect, flush=True)
    sys.stdin.readline()


def main(argv=None) -> None:
    args = parse_args(argv)
    prepare_playback_or_fail(args.record)

    from envs.robot_sim import TerrainFileError
    from walklab.playback import play
    from walklab.runs import RunError

    try:
        result = play(
            args.model,
            args.normalize,
            args.seconds,
            deterministic=args.deterministic,
            record=args.record,
            terrain=args.terrain,
            seed=args.seed,
            baseline=args.baseline,
            overlay=not args.no_overlay,
            width=args.width,
            height=args.height,
            side_by_side=args.side_by_side,
            at_end=hold_window if args.hold_at_end else None,
            command=args.command,
        )
    except (RunError, TerrainFileError) as exc:
        fail(str(exc))
    print(
        f"walked {result.seconds:.1f} s: {result.distance:.2f} m at {result.forward_velocity:.3f} m/s"
        + (f" (ended: {result.termination})" if result.termination else "")
        + (
            f"; baseline trot from the same spawn: {result.baseline_distance:.2f} m"
            if result.baseline_distance is not None
            else ""
        )
        + (f"; {result.pace}" if result.pace else "")
    )
    if result.heading_change is not None:
        print(f"heading turned {result.heading_change:+.2f} rad ({result.heading_change / result.seconds:+.3f} rad/s)")
    if result.video is not None:
        print(f"saved {result.video}")


if __name__ == "__main__":
    main()
