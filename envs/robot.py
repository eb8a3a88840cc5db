"""A quadruped as data: its MJCF plus one short description file, ``<robots>/<name>/robot.json``.

``load_robot(name)`` returns a frozen :class:`Robot`: the description's names (defaults below,
Menagerie's: ``FR_hip_joint``, foot site ``FR``, ...), and what the compiled model says about
them: joint addresses, ranges, actuator limits and the leg geometry, derived from the model and
checked against MuJoCo's own foot positions. Adding a robot adds a folder; it edits no Python.

Where robots are found: the folders of ``$WALKLAB_ROBOTS_PATH`` (``os.pathsep``-separated), then
``assets/robots/``. A name may also be a path to a robot folder or to its ``robot.json``.

The description (JSON; every key but ``mjcf`` and ``gait`` optional)::

    {
      "mjcf": "robot.xml",                      # relative to the file, or "package:pkg/path/robot.xml"
      "scenes": {"rough": "scene_rough.xml", "flat": "scene_flat.xml"},  # each includes the robot
      "legs": ["FR", "FL", "RR", "RL"],         # the model's leg names in the toolkit's order:
                                                # front-right, front-left, rear-right, rear-left
      "names": {"trunk": "trunk", "joint": "{leg}_{part}_joint", "actuator": "{leg}_{part}",
                "foot_site": "{leg}", "foot_geom": "{leg}", "gyro": "trunk_gyro",
                "linear_velocity": "trunk_linvel", "home_key": "home"},   # parts: hip, thigh, calf
      "physics": {"timestep": 0.004, "frame_skip": 5},   # s; physics steps per control step
      "servo": {"kp": 8.0, "kv": 0.0, "torque_limit": 0.6},  # N m/rad, N m s/rad, N m
      "gait": {"body_height": 0.05, ...},        # its working trot (gait.GaitParameters, m and s)
      "terrain": {"relief": 1.0},                # its fields' heights x this beyond the size scaling
      "robustness": {"push_scale": 1.0}          # its pushes x this beyond the speed scaling
    }

Its size: lengths written once for every robot (a config's residual scale and fall height, the
spawn clearance, the ground samples, the camera distance, the terrain) are stated for legs of
``REFERENCE_LEG_LENGTH`` (the mini's) and multiplied by ``Robot.size``, its leg length over that.
"""

from __future__ import annotations

import functools
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from envs.robot_description import (  # noqa: F401 - where callers import them
    DEFAULT_NAMES,
    DEFAULT_ROBOT,
    DESCRIPTION_FILE,
    KNOWN_KEYS,
    LEG_PARTS,
    PACKAGE_PREFIX,
    PHYSICS_KEYS,
    REFERENCE_LEG_LENGTH,
    ROBOTS_DIR,
    ROBOTS_PATH_VARIABLE,
    TOOLKIT_LEGS,
    RobotDescription,
    RobotError,
    _read_description,
    check_robot_name,
    describe,
    description_file,
    known_robots,
    resolve_file,
    robot_dirs,
)
from gait.controller import BaselineTrotController
from gait.kinematics import LegGeometry, forward_kinematics
from gait.parameters import GaitParameterError, GaitParameters


@dataclass(frozen=True)
class Robot:
    """One quadruped: its description and the facts its compiled model gives (read once, cached).

    Arrays are in the toolkit's order (legs FR, FL, RR, RL; per leg hip, thigh, calf).
    """

    description: RobotDescription
    root_qpos: int  # qpos address of the free joint (position 3, quaternion 4)
    root_qvel: int  # qvel address of the free joint (linear 3, angular 3)
    joint_qpos: Any  # the 12 leg joints' qpos addresses: a slice when contiguous, else an index array
    joint_qvel: Any  # the same in qvel
    joint_low: np.ndarray  # (12,) rad, the joints' lower limits
    joint_high: np.ndarray  # (12,) rad
    torque_limit: np.ndarray  # (12,) N m, the actuators' force limits
    geometry: LegGeometry
    size: float  # leg length / REFERENCE_LEG_LENGTH: 1 for the mini
    ground_sample_points: np.ndarray = field(repr=False)  # (12, 2) trunk-frame xy, 3 per leg along x
    # an imported robot's joints as its file has them: file angle = sign x toolkit angle (envs.robot_import)
    joint_signs: tuple[float, ...] = (1.0,) * 12
    file_joints: tuple[str, ...] = ()  # the file's joint names in the toolkit's order (empty: the toolkit's own)

    @property
    def name(self) -> str:
        return self.description.name

    @property
    def gait(self) -> GaitParameters:
        return self.description.gait

    @property
    def imported(self) -> bool:
        return self.description.imported

    def scene(self, flat: bool) -> Path:
        """The scene file that includes this robot: the flat floor or the rough heightfield."""
        kind = "flat" if flat else "rough"
        if self.imported:
            raise RobotError(f"{self.description.file}: an imported robot's scenes are built (envs.robot_import)")
        if kind not in self.description.scenes:
            raise RobotError(f"{self.description.file}: no '{kind}' scene")
        return self.description.scenes[kind]

    def trot(self, gait: GaitParameters | None = None) -> BaselineTrotController:
        """The baseline trot `gait` (default: this robot's working trot) on this robot's legs."""
        return BaselineTrotController(gait or self.gait, self.geometry, self.joint_low, self.joint_high)

    def scaled(self, length: float) -> float:
        """A length written for the reference robot (the mini), for this robot (m)."""
        return length * self.size

    @property
    def speed_scale(self) -> float:
        """What a speed written for the reference robot becomes here, as a factor: sqrt(size), 1 on the
        mini. Speeds of similar walks scale with sqrt(g x leg length) (Froude); yaw rates with 1 / this."""
        return math.sqrt(self.size)

    @property
    def push_speed_scale(self) -> float:
        """What a push written for the reference robot becomes here: speed_scale x the description's
        push scale (its "robustness" key, calibrated so the strongest push case is the strongest its trot
        survives; 1 when absent)."""
        return self.speed_scale * self.description.push_scale

    def configure(self, model) -> None:
        """Impose the description's physics settings and servos on a compiled scene (in place)."""
        d = self.description
        model.opt.timestep = d.timestep
        if d.imported:  # its servos, options and contacts were set on its MjSpec
            return
        servo = d.servo
        if servo:
            ids = [model.actuator(n).id for n in d.actuator_names]
            if "kp" in servo:
                model.actuator_gainprm[ids, 0] = servo["kp"]
                model.actuator_biasprm[ids, 1] = -servo["kp"]
            if "kv" in servo:
                model.actuator_biasprm[ids, 2] = -servo["kv"]
            if "torque_limit" in servo:
                limit = (
                    np.tile(servo["torque_limit"], 4)
                    if isinstance(servo["torque_limit"], list)
                    else servo["torque_limit"]
                )
                model.actuator_forcerange[ids, 0], model.actuator_forcerange[ids, 1] = -limit, limit
                model.actuator_forcelimited[ids] = 1


def load_robot(name: str | os.PathLike = DEFAULT_ROBOT) -> Robot:
    """Robot `name` with its model's facts (cached per description file); RobotError when unusable."""
    return _load(description_file(name))


@functools.cache
def _load(file: Path) -> Robot:
    import mujoco  # here: reading descriptions (EnvConfig, flags) must not load MuJoCo

    from envs.robot_model import derive

    d = _read_description(file)
    extra = {}
    if d.imported:
        from envs import robot_import

        model = robot_import.robot_spec(d).compile()
        known = robot_import.import_facts(d)
        extra = {"joint_signs": known["joint_signs"], "file_joints": known["file_joints"]}
    else:
        try:
            model = mujoco.MjModel.from_xml_path(str(d.mjcf))
        except (ValueError, OSError) as exc:
            raise RobotError(f"cannot compile {d.mjcf}: {' '.join(str(exc).split())}") from None
    facts = derive(model, d)
    geometry = facts.pop("geometry")
    size = geometry.leg_length / REFERENCE_LEG_LENGTH
    points = np.array([(hip[0] + dx * size, hip[1]) for hip in geometry.hip_positions for dx in GROUND_SAMPLE_DX])
    robot = Robot(description=d, geometry=geometry, size=size, ground_sample_points=points, **facts, **extra)
    check_geometry(robot, model)
    try:
        d.gait.check_fits(geometry)
    except GaitParameterError as exc:
        raise RobotError(f"{d.file}: its working trot does not fit its legs: {exc}") from None
    return robot


GROUND_SAMPLE_DX = (-0.03, 0.0, 0.03)  # m at the reference size: three ground samples along x around each hip


def check_geometry(robot: Robot, model, poses: int = 8, tolerance: float = 1e-9) -> None:
    """RobotError unless the analytic leg kinematics puts every foot where MuJoCo does."""
    import mujoco

    data = mujoco.MjData(model)
    rng = np.random.default_rng(0)
    g, d = robot.geometry, robot.description
    trunk = model.body(d.name_of("trunk")).id
    sites = [model.site(n).id for n in d.foot_sites]
    low, high = robot.joint_low, robot.joint_high
    for _ in range(poses):
        q = rng.uniform(low, high)
        data.qpos[:] = model.qpos0
        data.qpos[robot.joint_qpos] = q
        mujoco.mj_kinematics(model, data)
        rot = data.xmat[trunk].reshape(3, 3)
        for leg in range(4):
            foot = rot.T @ (data.site_xpos[sites[leg]] - data.xpos[trunk]) - np.array(g.hip_positions[leg])
            expected = forward_kinematics(q[3 * leg : 3 * leg + 3], g, g.leg_offsets[leg])
            if not np.allclose(foot, expected, rtol=0, atol=tolerance):
                raise RobotError(
                    f"{d.file}: the leg geometry read from {d.mjcf.name} puts foot {d.foot_sites[leg]} at "
                    f"{np.round(expected, 6).tolist()} m, MuJoCo at {np.round(foot, 6).tolist()} m"
                )
