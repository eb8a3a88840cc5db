"""Command-line pieces every script shares: the one-line parser, the flags' rules, gait flags, error exits."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import NoReturn

from envs.assets import MAX_FRAME_PIXELS
from envs.fields import ConfigError, check
from envs.terrain_file import TerrainFileError, check_terrain_file
from gait.parameters import PRESETS, GaitParameterError, GaitParameters
from walklab.files import OutputError, atomic_write_json, writable_output
from walklab.input_files import InputFileError, check_model_archive, check_statistics_file

GAIT_FLAGS = ("body_height", "step_length", "step_height", "cycle_time", "duty_factor")


class FlagError(ValueError):
    """A command line the parser refuses; the message is one line."""


class OneLineErrorParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line (no usage block) and exit 2.

    ``parse_or_raise`` raises ``FlagError`` instead, for a caller that is not a script's
    ``main`` (the sweep builds its trials with v2's parser); only ``main`` turns it into an exit.
    """

    _raising = False

    @classmethod
    def for_script(cls, doc: str) -> OneLineErrorParser:
        """A script's parser: the first line of its docstring `doc` as description, the whole as epilog."""
        return cls(description=doc.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter, epilog=doc)

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
    parser.add_argument("--model", type=model_file, required=True, help="trained model .zip inside a run directory")
    parser.add_argument(
        "--normalize",
        type=statistics_file,
        default=None,
        help="VecNormalize statistics .pkl (default: saved beside the model)",
    )


def add_command_argument(parser: argparse.ArgumentParser) -> None:
    """--command: the forward speed a policy trained with --commands is asked for in every episode."""
    parser.add_argument(
        "--command",
        type=SPEED,
        default=None,
        metavar="M_PER_S",
        help="commanded forward speed for a policy trained with --commands (default: the top of its "
        "training range, command_speed_max); refused for a policy without commands",
    )


def add_vec_env_argument(parser: argparse.ArgumentParser, help: str) -> None:
    """--vec-env, one of the training's layouts (walklab.vec_envs), defaulting to the training's own."""
    from walklab.config import VEC_ENV_LAYOUTS, RunSettings

    parser.add_argument("--vec-env", choices=VEC_ENV_LAYOUTS, default=RunSettings().vec_env, help=help)


# What str.splitlines() breaks a line at: a file name the user typed may hold any of them.
LINE_BREAKS = {
    ord(c): f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}" for c in "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"
}


def one_line(message: str) -> str:
    """`message` with every line break escaped (a path holding "\\n" stays on its line)."""
    return message.translate(LINE_BREAKS)


def fail(message: str, code: int = 2) -> NoReturn:
    """Print one clear line to stderr and exit non-zero."""
    print(f"error: {one_line(message)}", file=sys.stderr)
    raise SystemExit(code)


def output_or_fail(path, kind: str = "file", label: str | None = None):
    """`path` when it can be written (see walklab.files.writable_output), else one line and exit 2.

    Every script that writes calls this for each output place before any heavy work."""
    if path is None:
        return None
    try:
        return writable_output(path, kind, label)
    except OutputError as exc:
        fail(str(exc))


def write_json_or_fail(path, record, label: str = "--json") -> None:
    """Write `record` to `path` (under a temporary name, then renamed) and print where; one line and
    exit 1 when the write fails (the place was checked by output_or_fail before any work)."""
    try:
        print(f"wrote {atomic_write_json(path, record)}")
    except OSError as exc:
        fail(f"cannot write {label} {path} ({exc.strerror or exc})", code=1)


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


def model_or_fail(terrain=None, flat: bool = False, robot: str | None = None):
    """The compiled scene of `robot` (default the mini), or one error line and exit when the terrain PNG
    is missing or unreadable or the robot cannot be used."""
    from envs.robot import RobotError
    from envs.robot_sim import TerrainFileError, load_model  # MuJoCo after MUJOCO_GL is chosen

    try:
        return load_model(terrain, flat=flat, robot=robot)
    except RobotError as exc:
        fail(str(exc))
    except TerrainFileError as exc:
        fail(str(exc))


# ----------------------------------------------------------------------------- the flags' rules
# Every script flag that takes a number or a path declares its rule here, once: its type, range
# and finiteness through envs.fields.check (the very rule the configuration fields use), or what a
# path must be. A value that breaks it is refused by argparse with one line before any work starts.


def number(kind: type = float, *, low=None, high=None, low_open: bool = False, high_open: bool = False):
    """An argparse type: `kind` (int or float), finite, within [low, high] (open ends when *_open)."""
    return number_for(kind, {"low": low, "high": high, "low_open": low_open, "high_open": high_open})


def number_for(kind: type, meta: dict):
    """The argparse type of a number field declared with envs.fields.setting (its metadata `meta`)."""

    def parse(text: str):
        try:
            value = float(text) if kind is float else int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected {'an integer' if kind is int else 'a number'}, got {text!r}"
            ) from None
        try:
            return check("", value, meta, kind)
        except ConfigError as exc:
            raise argparse.ArgumentTypeError(f"must be {exc.requirement}, got {text}") from None

    parse.__name__ = kind.__name__  # argparse names the type in its messages
    parse.rule = {"kind": kind, **meta}  # what tests/test_cli_fuzz.py reads
    return parse


FINITE = number(float)
SECONDS = number(float, low=0, low_open=True, high=3600)  # an episode's or a playback's length (s)
EPISODES = number(int, low=1, high=1000)  # episodes per side, terrain or command
SEED = number(int, low=0, high=2**31 - 1)  # numpy and Gymnasium take seeds >= 0
FRAME_PIXELS = number(int, low=16, high=MAX_FRAME_PIXELS)  # a recorded frame's width or height
SPEED = number(float, low=-1.0, high=1.0)  # a commanded forward speed (m/s)
YAW_RATE = number(float, low=-3.0, high=3.0)  # a commanded yaw rate (rad/s)
THREADS = number(int, low=1, high=256)  # physics threads of a batch
WORKERS = number(int, low=1, high=64)  # worker processes


def input_file(*suffixes: str, content=None):
    """An argparse type: an existing file (not a folder), ending in one of `suffixes` if given, and
    when `content` is given, a file `content(path)` accepts (it raises InputFileError otherwise)."""

    def parse(text: str) -> Path:
        path = Path(text)
        if not text:
            raise argparse.ArgumentTypeError("expected a file name, got ''")
        if path.is_dir():
            raise argparse.ArgumentTypeError(f"{path} is a directory: give a file")
        if not path.is_file():
            raise argparse.ArgumentTypeError(f"{path} not found")
        if suffixes and path.suffix.lower() not in suffixes:
            raise argparse.ArgumentTypeError(f"{path} is not a {' or '.join(suffixes)} file")
        if content is not None:
            try:
                content(path)
            except (InputFileError, TerrainFileError) as exc:
                raise argparse.ArgumentTypeError(str(exc)) from None
        return path

    parse.__name__ = "file"
    parse.rule = {"path": "input file", "suffixes": suffixes}
    return parse


def _heightfield(path: Path) -> None:
    check_terrain_file(path)


heightfield_file = input_file(".png", content=_heightfield)  # a terrain PNG MuJoCo can read
model_file = input_file(".zip", content=check_model_archive)  # an SB3 model archive
statistics_file = input_file(".pkl", content=check_statistics_file)  # VecNormalize statistics


def _output(kind: str, suffixes: tuple[str, ...]):
    def parse(text: str) -> Path:
        if not text:
            raise argparse.ArgumentTypeError(f"expected a {kind} name, got ''")
        path = Path(text)
        try:
            writable_output(path, kind)
        except OutputError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
        if suffixes and path.suffix.lower() not in suffixes:
            raise argparse.ArgumentTypeError(f"{path} must end in {' or '.join(suffixes)}")
        return path

    parse.__name__ = kind
    parse.rule = {"path": f"output {kind}", "suffixes": suffixes}
    return parse


def output_file(*suffixes: str):
    """An argparse type: a file that can be written (see walklab.files.writable_output); nothing is created."""
    return _output("file", suffixes)


output_dir = _output("directory", ())
output_dir.__doc__ = "An argparse type: a folder that can be created or written into; nothing is created."


def robot_name(text: str) -> str:
    """An argparse type: a robot's name (assets/robots or $WALKLAB_ROBOTS_PATH) or folder (envs.robot)."""
    from envs.robot import check_robot_name, describe

    try:
        check_robot_name(text)
        describe(text)  # its description file read: a missing package or a bad key is refused here
    except ConfigError as exc:
        if exc.field == "EnvConfig.robot":  # an unknown name
            raise argparse.ArgumentTypeError(f"must be {exc.requirement}, got {text!r}") from None
        raise argparse.ArgumentTypeError(exc.requirement if exc.field == "robot" else str(exc)) from None
    return text


robot_name.rule = {"path": "robot"}  # what tests/test_cli_fuzz.py reads


def add_robot_argument(parser: argparse.ArgumentParser) -> None:
    """--robot: the quadruped (default the mini); its own working trot, physics and scale come with it."""
    from envs.robot import DEFAULT_ROBOT

    parser.add_argument(
        "--robot",
        type=robot_name,
        default=DEFAULT_ROBOT,
        help="the quadruped: a name in assets/robots (mini, go1, ...) or a robot folder (default mini)",
    )


def robot_speed_scale(robot: str) -> float:
    """``Robot.speed_scale`` of robot `robot` (sqrt(size), 1 on the mini), as envs.perturbations scales its
    pushes. Loads the robot (MuJoCo): call it after the flags are parsed."""
    from envs.robot import load_robot

    return load_robot(robot).speed_scale


def add_gait_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("gait (defaults: the robot's working trot)")
    group.add_argument(
        "--gait",
        choices=sorted(PRESETS),
        default="working",
        help="gait preset to start from: 'working' (the robot's own working trot, from its description) or "
        "'legacy' (the mini's broken original)",
    )
    defaults = GaitParameters()
    units = {"duty_factor": ""}
    for name in GAIT_FLAGS:
        unit = units.get(name, " (s)" if name == "cycle_time" else " (m)")
        group.add_argument(
            f"--{name.replace('_', '-')}",
            type=FINITE,
            default=None,
            help=f"override {name}{unit}; the mini's working default {getattr(defaults, name)}",
        )


def gait_from_args(args: argparse.Namespace, robot: str | None = None) -> GaitParameters:
    """The preset named by --gait ('working': `robot`'s own trot, default the mini's) with any per-field
    overrides; exits with one line if impossible. MuJoCo-free: :func:`gait_fits_or_fail` then checks it
    on the robot's legs."""
    overrides = {name: getattr(args, name) for name in GAIT_FLAGS if getattr(args, name, None) is not None}
    base = PRESETS[args.gait]
    if args.gait == "working" and robot is not None:
        from envs.robot import describe

        base = describe(robot).gait
    try:
        return dataclasses.replace(base, **overrides)
    except GaitParameterError as exc:
        fail(str(exc))


def gait_fits_or_fail(gait: GaitParameters, robot: str | None = None) -> GaitParameters:
    """`gait`, or one line and exit 2 when `robot`'s legs (default the mini's) cannot reach its feet's
    targets. It loads the robot's model, so MuJoCo: call it after MUJOCO_GL is chosen, before any rollout."""
    from envs.robot import DEFAULT_ROBOT, RobotError, load_robot

    try:
        return gait.check_fits(load_robot(robot or DEFAULT_ROBOT).geometry)
    except (GaitParameterError, RobotError) as exc:
        fail(str(exc))
