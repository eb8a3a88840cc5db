"""Load the scene and place the robot on the terrain.

This is the physics layer shared by the env, the phase scripts and the calibration: it knows
the model's names and addresses but nothing about rewards or policies (the plain trot's
rollout, ``run_baseline``, is in ``envs.rollout``).
"""

from __future__ import annotations

import math
from pathlib import Path

import mujoco
import numpy as np

from envs import assets as A
from envs.assets import FLAT_TERRAIN
from envs.robot import DEFAULT_ROBOT, Robot, load_robot
from envs.terrain import TerrainHeight
from envs.terrain_file import TerrainFileError, check_terrain_file  # noqa: F401 - TerrainFileError: callers import it here

SPAWN_X_RANGE = (-4.0, -3.6)  # m, spawn fore-aft band: leaves ~8 m of terrain ahead
SPAWN_Y_RANGE = (-0.8, 0.8)  # m
SPAWN_Y_LIMIT = 1.2  # m: how far from the centre line a spawn may move (a turning robot's, envs.commands)
SPAWN_YAW_RANGE = (-0.05, 0.05)  # rad
SPAWN_CLEARANCE = 0.004  # m at the reference size (envs.robot), gap between the lowest foot and the ground at spawn


def as_robot(robot: Robot | str | None) -> Robot:
    """A Robot, a robot's name, or None for the default robot (the mini) -> the Robot."""
    return robot if isinstance(robot, Robot) else load_robot(robot if robot is not None else DEFAULT_ROBOT)


def load_model(
    terrain: str | Path | None = None, flat: bool = False, robot: Robot | str | None = None
) -> mujoco.MjModel:
    """Compile `robot`'s rough scene with `terrain` (a PNG path; default assets/hfield.png), or its flat
    scene (`flat=True` or terrain "flat"); the robot's physics settings and servos imposed.

    The heightfield's size and heights (metres for the reference size) scale with the robot; its heights
    also by the description's terrain relief (1 unless its robot.json says otherwise)."""
    robot = as_robot(robot)
    flat = flat or (terrain is not None and str(terrain) == FLAT_TERRAIN)
    if robot.imported:  # a package MJCF cannot be <include>d: the world is built around it (envs.robot_import)
        from envs.robot_import import scene_spec

        spec = scene_spec(robot.description, flat, robot.size)
        if flat:
            model = spec.compile()
            robot.configure(model)
            return model
    elif flat:
        model = mujoco.MjModel.from_xml_path(str(robot.scene(flat=True)))
        robot.configure(model)
        return model
    else:
        spec = mujoco.MjSpec.from_file(str(robot.scene(flat=False)))
    png = check_terrain_file(terrain if terrain is not None else A.DEFAULT_TERRAIN_PNG)  # cheap, MuJoCo-free
    spec.hfield(A.HFIELD_NAME).file = str(png.resolve())
    if robot.size != 1.0 or robot.description.relief != 1.0:
        for name in (A.HFIELD_NAME, A.HFIELD_VISUAL_NAME):
            field = spec.hfield(name)
            if field is not None:
                x, y, top, base = (v * robot.size for v in field.size)
                field.size = [x, y, top * robot.description.relief, base]
    try:
        model = spec.compile()
    except Exception as exc:  # mujoco raises ValueError with its own message
        reason = " ".join(str(exc).split())  # MuJoCo's message spans lines
        raise TerrainFileError(f"cannot load terrain {png}: {reason}") from exc
    robot.configure(model)
    _fill_visual_hfield(model)
    return model


def _fill_visual_hfield(model: mujoco.MjModel) -> None:
    """Copy the collision heights, resampled (nearest), into the coarser visual heightfield."""
    src = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_HFIELD, A.HFIELD_NAME)
    dst = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_HFIELD, A.HFIELD_VISUAL_NAME)
    if dst < 0:
        return
    sr, sc, dr, dc = (
        int(v) for v in (model.hfield_nrow[src], model.hfield_ncol[src], model.hfield_nrow[dst], model.hfield_ncol[dst])
    )
    heights = model.hfield_data[model.hfield_adr[src] : model.hfield_adr[src] + sr * sc].reshape(sr, sc)
    rows = np.round(np.linspace(0, sr - 1, dr)).astype(int)
    cols = np.round(np.linspace(0, sc - 1, dc)).astype(int)
    model.hfield_data[model.hfield_adr[dst] : model.hfield_adr[dst] + dr * dc] = heights[np.ix_(rows, cols)].ravel()


class RobotSim:
    """The quadruped's model and data with named accessors; `robot` (default the mini) names its parts."""

    def __init__(self, model: mujoco.MjModel, robot: Robot | str | None = None):
        self.model = model
        self.robot = robot = as_robot(robot)
        d = robot.description
        self.data = mujoco.MjData(model)
        self.terrain_height = TerrainHeight(model, A.TERRAIN_GEOM_NAME)
        self.trunk_id = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, d.name_of("trunk"))
        self.foot_site_ids = np.array([mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_SITE, n) for n in d.foot_sites])
        home = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_KEY, d.name_of("home_key"))
        self.home_qpos = model.key_qpos[home].copy()
        self.ground_sample_points = robot.ground_sample_points  # (12, 2) trunk-frame xy, 3 per leg
        self._joints = robot.joint_qpos
        self._root = robot.root_qpos
        self._foot_radius = robot.geometry.foot_radius
        self._clearance = robot.scaled(SPAWN_CLEARANCE)

    def place(self, x: float, y: float, yaw: float, joint_angles: np.ndarray) -> None:
        """Put the trunk at (x, y, yaw) with the given 12 joint angles, lowest foot just above ground."""
        m, d = self.model, self.data
        mujoco.mj_resetData(m, d)
        d.qpos[:] = self.home_qpos
        root = self._root
        d.qpos[root : root + 2] = (x, y)
        d.qpos[root + 3 : root + 7] = (np.cos(yaw / 2), 0.0, 0.0, np.sin(yaw / 2))
        d.qpos[self._joints] = joint_angles
        d.ctrl[:] = joint_angles
        mujoco.mj_kinematics(m, d)
        feet = d.site_xpos[self.foot_site_ids]
        gap = feet[:, 2] - self._foot_radius - self.terrain_height(feet[:, 0], feet[:, 1])
        d.qpos[root + 2] += self._clearance - gap.min()
        mujoco.mj_forward(m, d)

    def ground_samples(self) -> np.ndarray:
        """World z of the ground (m) at the robot's ground sample points, which turn with the trunk's heading."""
        rot = self.data.xmat[self.trunk_id]
        world_xy = self.ground_sample_points @ rot.reshape(3, 3)[:2, :2].T + self.data.qpos[0:2]
        return self.terrain_height.at_points(world_xy)

    def trunk_height_above_ground(self, ground: np.ndarray | None = None) -> float:
        """Trunk frame height (m) above the mean ground around the hips (one ridge does not count)."""
        if ground is None:
            ground = self.ground_samples()
        return float(self.data.qpos[2] - ground.sum() / ground.size)  # ground.mean(), at half its call cost

    def trunk_tilt(self) -> float:
        """Angle (rad) between the trunk's up-axis and world up."""
        zz = self.data.xmat[self.trunk_id][8]
        return math.acos(min(1.0, max(-1.0, float(zz))))  # the C library's, as envs/walk_core.py's


def spawn_pose(rng: np.random.Generator, size: float = 1.0) -> tuple[float, float, float]:
    """Random (x, y, yaw) spawn on the terrain, the x and y bands scaled by the robot's `size` (as its terrain)."""
    return (
        float(rng.uniform(SPAWN_X_RANGE[0] * size, SPAWN_X_RANGE[1] * size)),
        float(rng.uniform(SPAWN_Y_RANGE[0] * size, SPAWN_Y_RANGE[1] * size)),
        float(rng.uniform(*SPAWN_YAW_RANGE)),
    )
