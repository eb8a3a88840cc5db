"""Command-line pieces every script shares: the one-line parser, the flags' rules, gait flags, error exits."""

from __future__ import annotations

import argparse
import dataclasses
import json
import pickletools
import sys
import zipfile
from pathlib import Path
from typing import NoReturn

from envs.assets import MAX_FRAME_PIXELS
from envs.fields import ConfigError, check
from envs.terrain_file import TerrainFileError, check_terrain_file
from gait.parameters import PRESETS, GaitParameterError, GaitParameters
from walklab.files import OutputError, writable_output

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


# ----------------------------------------------------------------------------- input files' contents
# Checked while the flags are parsed, cheaply (no MuJoCo, torch or SB3: the file's structure, not
# its meaning), so a file the user named that cannot be what it should is one line and exit 2
# before any work; what only loading can tell (a model's weights) is still checked where it loads.


class InputFileError(ValueError):
    """An input file that is not what its flag needs; the message is one line."""


SB3_MODEL_MEMBERS = ("data", "policy.pth")  # what stable_baselines3's load reads first


def check_model_archive(path: str | Path) -> dict:
    """The `data` record of an SB3 model .zip: a zip whose members are intact (CRC), with SB3's
    `data` (JSON) and `policy.pth`; an InputFileError otherwise."""
    hint = "it is corrupt or not an SB3 PPO model: use another checkpoint"
    try:
        with zipfile.ZipFile(path) as archive:
            missing = [m for m in SB3_MODEL_MEMBERS if m not in archive.namelist()]
            if missing:
                raise InputFileError(f"cannot load model {path} (no {', '.join(missing)} inside); {hint}")
            damaged = archive.testzip()
            if damaged is not None:
                raise InputFileError(f"cannot load model {path} ({damaged} inside fails its CRC); {hint}")
            data = json.loads(archive.read("data"))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError, RuntimeError) as exc:
        if isinstance(exc, InputFileError):
            raise
        raise InputFileError(f"cannot load model {path} ({type(exc).__name__}); {hint}") from None
    if not isinstance(data, dict) or not isinstance(data.get("observation_space"), dict):
        raise InputFileError(f"cannot load model {path} (its data record has no observation space); {hint}")
    return data


def model_observation_size(data: dict) -> int | None:
    """The observation size an SB3 model's `data` record declares (None when it does not say)."""
    shape = data["observation_space"].get("_shape")
    if not isinstance(shape, list) or not all(isinstance(n, int) for n in shape):
        return None
    size = 1
    for n in shape:
        size *= n
    return size


def check_statistics_file(path: str | Path) -> None:
    """A VecNormalize statistics .pkl: a complete pickle (read opcode by opcode, nothing executed)
    that names VecNormalize; an InputFileError otherwise."""
    hint = "give the vec_normalize.pkl saved with this model"
    try:
        raw = Path(path).read_bytes()
        names = [arg for op, arg, _ in pickletools.genops(raw) if isinstance(arg, str)]
    except OSError as exc:
        raise InputFileError(f"cannot read normalization file {path} ({exc.strerror or exc}); {hint}") from None
    except Exception as exc:  # pickletools: ValueError for a truncated or foreign stream, and others
        reason = type(exc).__name__
        raise InputFileError(
            f"cannot read normalization file {path} ({reason}: not a complete pickle); {hint}"
        ) from None
    if not any("VecNormalize" in name for name in names):
        raise InputFileError(f"normalization file {path} holds no VecNormalize statistics; {hint}")


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
            type=FINITE,
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


# ----------------------------------------------------------------------------- a trained policy's inputs
@dataclasses.dataclass(frozen=True)
class PolicyInputs:
    """What a replaying script builds from --model, --normalize, --terrain and --command, checked
    while its flags are parsed (policy_inputs_or_fail)."""

    model: Path
    stats: Path  # --normalize, or the statistics saved beside the model
    run_config: dict  # the model's run's config.json (current layout)
    env_config: object  # the EnvConfig the evaluation builds: the run's, with the terrain, command and
    # evaluation settings (walklab.run_config.EVALUATION_SETTINGS) applied
    env_overrides: dict  # the fixed command (walklab.run_config.fixed_command)


def policy_inputs_or_fail(model, normalize=None, terrain=None, command=None) -> PolicyInputs:
    """Every input of a trained policy, checked without loading it, or one line and exit 2: the
    model archive, its run's config.json and the env it describes, the run's recorded terrain (when
    no `terrain` replaces it), the statistics (given or saved beside the model), a --command for a
    policy without commands, and the model's observation size against the env's.

    Imports MuJoCo (walklab.run_config): a script that renders chooses MUJOCO_GL first."""
    from envs.assets import FLAT_TERRAIN
    from envs.layout import observation_size
    from walklab.run_config import EVALUATION_SETTINGS, RunError, env_config_from_record, fixed_command
    from walklab.runs import RunDir, stats_path_for

    model = Path(model)
    try:
        data = check_model_archive(model)
        config = RunDir.of_model(model).config()
        env_config = env_config_from_record(config, terrain)
        overrides = fixed_command(config, command)
        if terrain is None and env_config.terrain not in (None, FLAT_TERRAIN):
            try:
                check_terrain_file(env_config.terrain)
            except TerrainFileError as exc:
                raise RunError(f"the run's recorded terrain does not load: {exc}") from None
        try:
            env_config = env_config.replace(**{**EVALUATION_SETTINGS, **overrides})
        except ConfigError as exc:
            raise RunError(f"config.json's env settings do not build the env: {exc}") from None
        stats = Path(normalize) if normalize is not None else stats_path_for(model)
        if stats is None:
            raise RunError(
                f"no normalization statistics beside {model}: pass --normalize PATH.pkl "
                "(the vec_normalize.pkl saved with this model)"
            )
        check_statistics_file(stats)
        expected, given = model_observation_size(data), observation_size(env_config)
        if expected is not None and expected != given:
            raise RunError(
                f"model {model} expects {expected} observations but the env gives {given}: "
                "it was trained on a different env configuration"
            )
        # the statistics unpickled (SB3's VecNormalize): they must come from the model's run and env
        from walklab.policies import check_same_run, read_statistics

        statistics = read_statistics(stats)
        check_same_run(model, stats, statistics)
        try:
            shape = tuple(int(n) for n in statistics.obs_rms.mean.shape)
        except (AttributeError, TypeError, ValueError):
            raise RunError(
                f"cannot read normalization file {stats} (no observation statistics inside); "
                "give the vec_normalize.pkl saved with this model"
            ) from None
        if shape != (given,):
            raise RunError(
                f"normalization file {stats} is for observations of shape {shape}, but this env "
                f"gives ({given},): it comes from a different env; use the vec_normalize.pkl of the same run"
            )
    except (InputFileError, RunError, TerrainFileError) as exc:
        fail(str(exc))
    return PolicyInputs(model, stats, config, env_config, overrides)


def run_config_or_fail(run_dir) -> dict:
    """A run directory's config.json (walklab.runs.RunDir.config), or one line and exit 2."""
    from walklab.runs import RunDir, RunError

    try:
        return RunDir(run_dir).config()
    except RunError as exc:
        fail(str(exc))
