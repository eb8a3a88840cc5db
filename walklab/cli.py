"""Command-line pieces several scripts share: gait flags, error exits, positive-number types."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import NoReturn

from gait.parameters import PRESETS, GaitParameterError, GaitParameters

GAIT_FLAGS = ("body_height", "step_length", "step_height", "cycle_time", "duty_factor")


class FlagError(ValueError):
    """A command line the parser refuses; the message is one line."""


class OneLineErrorParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line (no usage block) and exit 2.

    ``parse_or_raise`` raises ``FlagError`` instead, for a caller that is not a script's
    ``main`` (the sweep builds its trials with v2's parser); only ``main`` turns it into an exit.
    """

    _raising = False

    def error(self, message: str) -> NoReturn:
        text = f"{message} (see {self.prog} --help)"
        if self._raising:
            raise FlagError(text)
        fail(text)

    def parse_or_raise(self, args=None, namespace=None) -> argparse.Namespace:
        self._raising = True
        try:
            return super().parse_args(args, namespace)
        finally:
            self._raising = False


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """--model (required) and --normalize, as every script that replays a trained policy takes them."""
    parser.add_argument("--model", type=Path, required=True, help="trained model .zip inside a run directory")
    parser.add_argument(
        "--normalize", type=Path, default=None, help="VecNormalize statistics .pkl (default: saved beside the model)"
    )


def add_command_argument(parser: argparse.ArgumentParser) -> None:
    """--command: the forward speed a policy trained with --commands is asked for in every episode."""
    parser.add_argument(
        "--command",
        type=finite_float,
        default=None,
        metavar="M_PER_S",
        help="commanded forward speed for a policy trained with --commands (default: the top of its "
        "training range, command_speed_max); refused for a policy without commands",
    )


def add_vec_env_argument(parser: argparse.ArgumentParser, help: str) -> None:
    """--vec-env, one of the training's layouts (walklab.vec_envs), defaulting to the training's own."""
    from walklab.config import VEC_ENV_LAYOUTS, RunSettings

    parser.add_argument("--vec-env", choices=VEC_ENV_LAYOUTS, default=RunSettings().vec_env, help=help)


def fail(message: str, code: int = 2) -> NoReturn:
    """Print one clear line to stderr and exit non-zero."""
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(code)


def output_or_fail(path, kind: str = "file", label: str | None = None):
    """`path` when it can be written (see walklab.files.writable_output), else one line and exit 2.

    Every script that writes calls this for each output place before any heavy work."""
    from walklab.files import OutputError, writable_output

    if path is None:
        return None
    try:
        return writable_output(path, kind, label)
    except OutputError as exc:
        fail(str(exc))


def video_path_or_fail(path, label: str | None = None):
    """The validated, writable .mp4/.gif output path (folder created), or one error line and exit."""
    from walklab.rendering import check_video_path  # here: this module stays light for --help

    output_or_fail(path, "file", label)
    try:
        return check_video_path(path)
    except ValueError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"cannot write {path} ({exc.strerror or exc})")


def prepare_playback_or_fail(record) -> None:
    """Viewer or offscreen recording for a policy player: one clear line when neither can work."""
    # here, not at the top: the scripts parse their flags before MuJoCo (and its GL backend) loads
    from walklab.rendering import has_display, prepare_rendering

    if record is None and not has_display():
        fail("no display found: add --record OUT.mp4 (or .gif) to render offscreen")
    if record is not None:
        video_path_or_fail(record, "--record")
    prepare_rendering(headless=record is not None)


def model_or_fail(terrain=None, flat: bool = False):
    """The compiled scene, or one error line and exit when the terrain PNG is missing or unreadable."""
    from envs.robot_sim import TerrainFileError, load_model  # MuJoCo after MUJOCO_GL is chosen

    try:
        return load_model(terrain, flat=flat)
    except TerrainFileError as exc:
        fail(str(exc))


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {value}")
    return value


def finite_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {value}")
    return value


def add_gait_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("gait (defaults: the working trot)")
    group.add_argument(
        "--gait",
        choices=sorted(PRESETS),
        default="working",
        help="gait preset to start from: 'working' (the fixed default) or 'legacy' (the broken original)",
    )
    defaults = GaitParameters()
    units = {"duty_factor": ""}
    for name in GAIT_FLAGS:
        unit = units.get(name, " (s)" if name == "cycle_time" else " (m)")
        group.add_argument(
            f"--{name.replace('_', '-')}",
            type=float,
            default=None,
            help=f"override {name}{unit}; working default {getattr(defaults, name)}",
        )


def gait_from_args(args: argparse.Namespace) -> GaitParameters:
    """The preset named by --gait with any per-field overrides; exits with one line if impossible."""
    overrides = {name: getattr(args, name) for name in GAIT_FLAGS if getattr(args, name, None) is not None}
    try:
        return dataclasses.replace(PRESETS[args.gait], **overrides)
    except GaitParameterError as exc:
        fail(str(exc))
