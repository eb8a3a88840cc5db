#!/usr/bin/env python3
"""Which mean speed tracking_velocity pays most for, per step or over a window (the kernel's bias).

The trot's speed swings within every stride and its per-step distribution is skewed (short
stalls and slips pull a tail below the mean). A kernel on the per-step speed then peaks where
the *typical* step is on the command, not the mean, so a policy that maximises it walks slower
than it is told. This walks the feedforward trot (zero actions, v2's env with --commands
--command-feedforward) on the default terrain at each command and, for each averaging window
(the env's own ``command_speed_window``, read back as ``info["tracked_speed"]``), prints the mean
speed at which the kernel's expected value is highest if the walk's speed distribution kept its
shape and only moved ("optimum"), and the spread of the tracked speed.

``--robot`` (v2's flag) walks another robot's own feedforward trot; its default commands and the
span searched for the optimum are the mini's x sqrt(robot size) (walklab.cli.robot_speed_scale).

    python3 scripts/tracking_kernel_bias.py --commands 0.05 0.10 0.15 0.20 --windows 0 0.4 0.8 1.2
    python3 scripts/tracking_kernel_bias.py --robot go1 --windows 0 0.4
"""

from __future__ import annotations

import argparse

import numpy as np

from walklab.cli import EPISODES, SECONDS, SPEED, OneLineErrorParser, number
from walklab.flags import add_env_setting_flags, preset_on_robot
from walklab.presets import V2

DEFAULT_COMMANDS = (0.05, 0.10, 0.15, 0.20)  # m/s on the mini; x sqrt(robot size) on another robot
SHIFT_SPAN = 0.15  # m/s either side of the walk's mean searched for the kernel's optimum (mini; x sqrt(size))

# The project's heavier modules are imported inside main(), after the flags are parsed: --help and
# a refused flag answer at once, and MUJOCO_GL is chosen before MuJoCo loads.


def kernel_optimum(tracked: np.ndarray, command: float, sigma: float, kernel: str, span: float = SHIFT_SPAN) -> float:
    """The mean of `tracked` shifted (by up to +-`span` m/s) to where the kernel's average over it is largest."""
    shifts = np.linspace(-span, span, 601)
    errors = tracked[None, :] + shifts[:, None] - command
    values = np.exp(-np.abs(errors) / sigma) if kernel == "laplace" else np.exp(-((errors / sigma) ** 2))
    return float(tracked.mean() + shifts[int(np.argmax(values.mean(axis=1)))])


# The cheapest complete run, from the repository root ({tmp}: a scratch folder); the fuzz suite
# (tests/test_cli_fuzz.py) starts every case from it.
SMOKE_ARGS = ["--commands", "0.1", "--windows", "0", "--episodes", "1", "--seconds", "0.5"]


def build_parser() -> OneLineErrorParser:
    p = OneLineErrorParser(
        description=__doc__.splitlines()[0], epilog=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--commands",
        type=SPEED,
        nargs="+",
        default=None,
        help="m/s (default 0.05 0.10 0.15 0.20 on the mini, x sqrt(robot size) on another)",
    )
    p.add_argument(
        "--windows", type=number(float, low=0, high=60), nargs="+", default=[0.0, 0.4, 0.8, 1.2], help="s (0: per step)"
    )
    p.add_argument("--episodes", type=EPISODES, default=3, help="episodes per command (seeds 0..K-1)")
    p.add_argument("--seconds", type=SECONDS, default=10.0, help="episode length (s)")
    p.add_argument("--sigma", type=number(float, low=0, low_open=True, high=10), default=0.10, help="kernel width, m/s")
    p.add_argument("--kernel", choices=("laplace", "gaussian"), default="laplace")
    add_env_setting_flags(p, V2.env, ("robot",))
    return p


def parse_args(argv=None) -> argparse.Namespace:
    """The flags, with v2's env on --robot's robot (``args.env_config``): one line and exit 2 otherwise."""
    args = build_parser().parse_args(argv)
    args.env_config = preset_on_robot(V2, args).env  # its own trot and physics steps
    return args


def main(argv=None) -> int:
    args = parse_args(argv)

    from envs.residual_walk_env import ResidualWalkEnv
    from envs.rollout import run_episode, zero_policy
    from walklab.cli import robot_speed_scale

    scale = robot_speed_scale(args.env_config.robot)  # 1 on the mini
    commands = args.commands if args.commands is not None else [round(c * scale, 3) for c in DEFAULT_COMMANDS]
    what = f"{args.episodes} x {args.seconds:g} s per command, {args.kernel} sigma {args.sigma}"
    print(f"{args.env_config.robot}: feedforward trot, zero actions, {what}")
    print(f"{'command':>8s} {'mean':>7s}  " + "  ".join(f"{f'W={w:g}s optimum / sd':>20s}" for w in args.windows))
    for command in commands:
        cells, mean = [], 0.0
        for window in args.windows:  # the walk is the same for every window: only the tracked speed differs
            env = ResidualWalkEnv(
                args.env_config.replace(
                    commands=True,
                    command_feedforward=True,
                    command_speed_min=command,
                    command_speed_max=command,
                    command_speed_window=window,
                )
            )
            infos: list[dict] = []
            for seed in range(args.episodes):
                run_episode(
                    env, zero_policy, seed, args.seconds, on_step=lambda _env, info, out=infos: out.append(info)
                )
            env.close()
            tracked = np.array([info["tracked_speed"] for info in infos])  # the env's own window
            mean = float(np.mean([info["heading_speed"] for info in infos]))
            optimum = kernel_optimum(tracked, command, args.sigma, args.kernel, SHIFT_SPAN * scale)
            cells.append(f"{optimum:13.3f} / {tracked.std():.3f}")
        print(f"{command:8.3f} {mean:7.3f}  " + "  ".join(f"{c:>20s}" for c in cells))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
