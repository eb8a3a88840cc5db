"""Finding robots and reading their description files (``<robots>/<name>/robot.json``), without
MuJoCo: what ``envs.robot`` (the compiled Robot), ``envs.robot_model`` (facts read from the
compiled model) and ``envs.robot_import`` (third-party MJCFs) build on. The format is in
``envs.robot``'s docstring."""

from __future__ import annotations

import functools
import importlib.resources
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from envs.assets import ASSETS_DIR
from envs.fields import ConfigError
from gait.parameters import GaitParameterError, GaitParameters

DEFAULT_ROBOT = "mini"
ROBOTS_DIR = ASSETS_DIR / "robots"
ROBOTS_PATH_VARIABLE = "WALKLAB_ROBOTS_PATH"
DESCRIPTION_FILE = "robot.json"
PACKAGE_PREFIX = "package:"  # an MJCF inside an installed Python package (importlib.resources)
REFERENCE_LEG_LENGTH = 0.1  # m, thigh + calf of the mini: the length for which shared lengths are written
TOOLKIT_LEGS = ("FR", "FL", "RR", "RL")  # the toolkit's leg order (foot rows, joint blocks, trot pairs)
LEG_PARTS = ("hip", "thigh", "calf")  # abduction (x axis), hip pitch (y axis), knee (y axis)
JOINT_AXES = ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 1.0, 0.0))  # LEG_PARTS' axes in the trunk frame
DEFAULT_NAMES = {
    "trunk": "trunk",
    "joint": "{leg}_{part}_joint",
    "actuator": "{leg}_{part}",
    "foot_site": "{leg}",
    "foot_geom": "{leg}",
    "gyro": "trunk_gyro",
    "linear_velocity": "trunk_linvel",
    "home_key": "home",
}
KNOWN_KEYS = {"about", "mjcf", "scenes", "legs", "names", "physics", "servo", "gait", "import", "terrain", "robustness"}
TERRAIN_KEYS = {"relief"}
ROBUSTNESS_KEYS = {"push_scale"}
PHYSICS_KEYS = {"timestep", "frame_skip", "integrator", "cone", "impratio", "foot_contact", "foot_condim"}


class RobotError(ConfigError):
    """A robot that cannot be found or used; the message is one line naming the file."""

    def __init__(self, message: str):
        ValueError.__init__(self, message)
        self.field, self.requirement, self.value = "robot", message, None

    def for_label(self, label: str) -> str:
        return f"{label}: {self.requirement}"


# ----------------------------------------------------------------------------- finding robots
def robot_dirs() -> list[Path]:
    """The folders searched for robots, first match wins: $WALKLAB_ROBOTS_PATH's, then assets/robots."""
    extra = [Path(p) for p in os.environ.get(ROBOTS_PATH_VARIABLE, "").split(os.pathsep) if p]
    return [*extra, ROBOTS_DIR]


def known_robots() -> list[str]:
    """Every robot name found in robot_dirs(), sorted."""
    names = set()
    for folder in robot_dirs():
        if folder.is_dir():
            names.update(p.parent.name for p in folder.glob(f"*/{DESCRIPTION_FILE}"))
    return sorted(names)


def description_file(name: str | os.PathLike) -> Path:
    """The robot.json of robot `name` (a name in robot_dirs(), a robot folder or a robot.json), or RobotError."""
    text = str(name)
    path = Path(text)
    if text.endswith(".json") and path.is_file():
        return path.resolve()
    if (os.sep in text or text.startswith(".")) and (path / DESCRIPTION_FILE).is_file():
        return (path / DESCRIPTION_FILE).resolve()
    if text and os.sep not in text:
        for folder in robot_dirs():
            if (folder / text / DESCRIPTION_FILE).is_file():
                return (folder / text / DESCRIPTION_FILE).resolve()
    raise ConfigError("EnvConfig.robot", f"one of {', '.join(known_robots())} (or a robot folder)", text)


def check_robot_name(name: Any) -> str:
    """`name` as a string when it names a robot (EnvConfig.robot's rule), else RobotError."""
    if not isinstance(name, (str, os.PathLike)) or not str(name):
        raise ConfigError("EnvConfig.robot", f"one of {', '.join(known_robots())} (or a robot folder)", name)
    description_file(name)
    return str(name)


def resolve_file(spec: str, folder: Path) -> Path:
    """A file named in a description: relative to its folder, absolute, or ``package:pkg/path``."""
    if spec.startswith(PACKAGE_PREFIX):
        package, _, inner = spec[len(PACKAGE_PREFIX) :].partition("/")
        try:
            root = importlib.resources.files(package)
        except ModuleNotFoundError:
            raise RobotError(f"{spec}: the Python package {package!r} is not installed") from None
        return Path(str(root.joinpath(inner)))
    return (folder / spec).resolve()


# ----------------------------------------------------------------------------- the description
@dataclass(frozen=True)
class RobotDescription:
    """What a robot.json says, read without MuJoCo (EnvConfig uses it while parsing flags)."""

    name: str
    file: Path
    mjcf: Path
    scenes: dict[str, Path]
    legs: tuple[str, ...]
    names: dict[str, str]
    timestep: float  # s
    frame_skip: int
    servo: dict[str, Any]  # kp (N m/rad), kv (N m s/rad), torque_limit (N m, or [hip, thigh, calf]); empty: the MJCF's
    gait: GaitParameters  # its working trot
    physics: dict[str, Any] = field(default_factory=dict)  # every physics key as written (envs.robot_import)
    importing: dict[str, Any] = field(default_factory=dict)  # "import": e.g. {"ranges": {"thigh": [lo, hi]}}
    relief: float = 1.0  # "terrain": {"relief": r}: its fields' heights x r beyond the size scaling (envs.robot)
    push_scale: float = 1.0  # "robustness": {"push_scale": s}: its pushes x s beyond the speed scaling

    @property
    def imported(self) -> bool:
        """A third-party MJCF converted through MjSpec (envs.robot_import): a description without scenes."""
        return not self.scenes

    def name_of(self, kind: str, leg: str = "", part: str = "") -> str:
        return self.names[kind].format(leg=leg, part=part)

    @property
    def joint_names(self) -> tuple[str, ...]:
        return tuple(self.name_of("joint", leg, part) for leg in self.legs for part in LEG_PARTS)

    @property
    def actuator_names(self) -> tuple[str, ...]:
        return tuple(self.name_of("actuator", leg, part) for leg in self.legs for part in LEG_PARTS)

    @property
    def foot_sites(self) -> tuple[str, ...]:
        return tuple(self.name_of("foot_site", leg) for leg in self.legs)

    @property
    def foot_geoms(self) -> tuple[str, ...]:
        return tuple(self.name_of("foot_geom", leg) for leg in self.legs)


@functools.cache
def _read_description(file: Path) -> RobotDescription:
    try:
        raw = json.loads(file.read_text())
    except (OSError, ValueError) as exc:
        raise RobotError(f"cannot read {file}: {' '.join(str(exc).split())}") from None
    if not isinstance(raw, dict) or "mjcf" not in raw or "gait" not in raw:
        raise RobotError(f"{file}: a robot description is a JSON object with at least 'mjcf' and 'gait'")
    unknown = set(raw) - KNOWN_KEYS
    if unknown:
        raise RobotError(f"{file}: unknown key(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(KNOWN_KEYS))}")
    folder = file.parent
    names = {**DEFAULT_NAMES, **raw.get("names", {})}
    legs = tuple(raw.get("legs", TOOLKIT_LEGS))
    physics = raw.get("physics", {})
    try:
        gait = GaitParameters.from_dict(raw["gait"])
    except (GaitParameterError, TypeError) as exc:
        raise RobotError(f"{file}: gait: {exc}") from None
    if len(legs) != 4 or set(names) != set(DEFAULT_NAMES):
        raise RobotError(f"{file}: 'legs' must name 4 legs and 'names' only these keys: {', '.join(DEFAULT_NAMES)}")
    unknown = set(physics) - PHYSICS_KEYS
    if unknown:
        raise RobotError(
            f"{file}: unknown physics key(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(PHYSICS_KEYS))}"
        )
    relief = _group_factor(file, raw, "terrain", "relief", TERRAIN_KEYS)
    push_scale = _group_factor(file, raw, "robustness", "push_scale", ROBUSTNESS_KEYS)
    if "scenes" not in raw and ("names" in raw or "legs" in raw):
        raise RobotError(
            f"{file}: an imported robot (no 'scenes') is read by its structure: leave out 'names' and 'legs'"
        )
    return RobotDescription(
        name=folder.name,
        file=file,
        mjcf=resolve_file(raw["mjcf"], folder),
        scenes={kind: resolve_file(path, folder) for kind, path in raw.get("scenes", {}).items()},
        legs=legs,
        names=names,
        timestep=float(physics.get("timestep", 0.002)),
        frame_skip=int(physics.get("frame_skip", 10)),
        servo={k: [float(x) for x in v] if isinstance(v, list) else float(v) for k, v in raw.get("servo", {}).items()},
        gait=gait,
        physics=dict(physics),
        importing=dict(raw.get("import", {})),
        relief=relief,
        push_scale=push_scale,
    )


def _group_factor(file: Path, raw: dict, group: str, key: str, keys: set[str]) -> float:
    """`raw[group][key]`: a factor in (0, 2], 1 when absent; RobotError when the group or the value is not one."""
    values = raw.get(group, {})
    if not isinstance(values, dict) or set(values) - keys:
        raise RobotError(f"{file}: '{group}' is an object with only these keys: {', '.join(sorted(keys))}")
    value = values.get(key, 1.0)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 < value <= 2.0:
        raise RobotError(f"{file}: {group}.{key} must be a number in (0, 2], got {value!r}")
    return float(value)


def describe(name: str | os.PathLike = DEFAULT_ROBOT) -> RobotDescription:
    """Robot `name`'s description file, read (cached), without compiling anything."""
    return _read_description(description_file(name))


# ----------------------------------------------------------------------------- the compiled robot
