#!/usr/bin/env python3
"""Play a trained residual policy: the minimal form of phase4_viewer_play_policy.py.

The viewer's camera follows the robot; the last line says the real-time factor when the
computer could not keep real time. The robot, its env and terrain are the model's (its run's
config.json; there is no --robot).

    python3 phases_test/play_residual_policy.py runs/RUN/final_model.zip [--record walk.gif]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from walklab.cli import SECONDS, OneLineErrorParser, fail, model_file, prepare_playback_or_fail
from walklab.policy_inputs import policy_inputs_or_fail
from walklab.rendering import prepare_rendering

# The project's heavier modules are imported inside main(), after the flags are parsed: --help and
# a refused flag answer at once, and MUJOCO_GL is chosen before MuJoCo loads.


# The cheapest complete run, from the repository root ({tmp}: a scratch folder); the fuzz suite
# (tests/test_cli_fuzz.py) starts every case from it.
SMOKE_ARGS = ["assets/policies/residual_walk/final_model.zip", "--seconds", "0.3", "--record", "{tmp}/play.gif"]


def build_parser() -> OneLineErrorParser:
    p = OneLineErrorParser.for_script(__doc__)
    p.add_argument("model", type=model_file, help="trained model .zip (statistics and config are found beside it)")
    p.add_argument("--seconds", type=SECONDS, default=20.0, help="how long to play (s)")
    p.add_argument("--record", type=Path, default=None, help="render offscreen to this .mp4 or .gif")
    return p


def parse_args(argv=None) -> argparse.Namespace:
    """The flags, and the policy's files, run and env checked (``args.policy``, ``args.env_config``):
    a mistake is one line and exit 2 here, after MUJOCO_GL is chosen."""
    args = build_parser().parse_args(argv)
    prepare_rendering(headless=args.record is not None)
    args.policy = policy_inputs_or_fail(args.model)
    args.env_config = args.policy.env_config
    return args


def main(argv=None) -> None:
    args = parse_args(argv)
    prepare_playback_or_fail(args.record)

    from walklab.playback import play
    from walklab.runs import RunError

    try:
        result = play(args.model, None, args.seconds, deterministic=True, record=args.record)
    except RunError as exc:
        fail(str(exc))
    print(
        f"{result.forward_velocity:.3f} m/s over {result.seconds:.1f} s" + (f"; {result.pace}" if result.pace else "")
    )


if __name__ == "__main__":
    main()
