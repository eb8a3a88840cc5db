"""What a compiled MJCF says about a described quadruped: addresses, limits and leg geometry.

``derive(model, description)`` reads, by name, the free joint and the 12 leg joints' addresses,
the joint and actuator limits, and the leg geometry of ``gait.kinematics.LegGeometry`` (hip
points, sideways hip-link offset, thigh and calf lengths, foot radius); ``envs.robot.check_geometry``
then checks that geometry against MuJoCo's own foot positions. A model the toolkit's legs cannot
describe (a wrong axis, a link bent out of the leg's plane, a missing name) is refused in one line.
"""

from __future__ import annotations

import math
from typing import Any

import mujoco
import numpy as np

from envs.robot_description import JOINT_AXES, RobotError
from gait.kinematics import LegGeometry

DECIMALS = 9  # derived lengths to 1 nm: the mini's hip is at 0.08 m, never 0.08000000000000002
_TOLERANCE = 1e-9  # m or unit-axis components


def _error(d, message: str) -> Exception:
    return RobotError(f"{d.file}: {message}")


def _id(model: mujoco.MjModel, kind: mujoco.mjtObj, name: str, what: str, d) -> int:
    index = mujoco.mj_name2id(model, kind, name)
    if index < 0:
        raise _error(d, f"{d.mjcf.name} has no {what} named {name!r}")
    return index


def _addresses(values: list[int]) -> Any:
    """A slice when the addresses are contiguous and ascending (reads stay views), else an index array."""
    if values == list(range(values[0], values[0] + len(values))):
        return slice(values[0], values[0] + len(values))
    return np.array(values, dtype=np.intp)


def derive(model: mujoco.MjModel, d, need_key: bool = True) -> dict[str, Any]:
    """The facts of ``envs.robot.Robot`` that come from `model` (the robot's MJCF, compiled alone)."""
    trunk = _id(model, mujoco.mjtObj.mjOBJ_BODY, d.name_of("trunk"), "body", d)
    free = [j for j in range(model.njnt) if model.jnt_type[j] == mujoco.mjtJoint.mjJNT_FREE]
    if len(free) != 1 or model.jnt_bodyid[free[0]] != trunk:
        raise _error(d, f"the trunk {d.name_of('trunk')!r} must carry the model's one free joint")
    joints = [_id(model, mujoco.mjtObj.mjOBJ_JOINT, n, "joint", d) for n in d.joint_names]
    actuators = [_id(model, mujoco.mjtObj.mjOBJ_ACTUATOR, n, "actuator", d) for n in d.actuator_names]
    if actuators != list(range(12)) or model.nu != 12:
        raise _error(d, "the 12 leg actuators must be the model's only ones, in the toolkit's order FR FL RR RL")
    for j, a in zip(joints, actuators):
        if model.jnt_type[j] != mujoco.mjtJoint.mjJNT_HINGE or model.actuator_trnid[a, 0] != j:
            raise _error(d, f"actuator {model.actuator(a).name!r} must drive hinge {model.joint(j).name!r}")
        if not model.jnt_limited[j]:
            raise _error(d, f"joint {model.joint(j).name!r} has no range")
    for n in d.foot_sites:
        _id(model, mujoco.mjtObj.mjOBJ_SITE, n, "site", d)
    for n in (d.name_of("gyro"), d.name_of("linear_velocity")):
        _id(model, mujoco.mjtObj.mjOBJ_SENSOR, n, "sensor", d)
    if need_key:
        _id(model, mujoco.mjtObj.mjOBJ_KEY, d.name_of("home_key"), "keyframe", d)
    return {
        "root_qpos": int(model.jnt_qposadr[free[0]]),
        "root_qvel": int(model.jnt_dofadr[free[0]]),
        "joint_qpos": _addresses([int(model.jnt_qposadr[j]) for j in joints]),
        "joint_qvel": _addresses([int(model.jnt_dofadr[j]) for j in joints]),
        "joint_low": model.jnt_range[joints, 0].copy(),
        "joint_high": model.jnt_range[joints, 1].copy(),
        "torque_limit": np.where(
            model.actuator_forcelimited[actuators] != 0, model.actuator_forcerange[actuators, 1], np.inf
        ),
        "geometry": _geometry(model, d, trunk, joints),
    }


def _geometry(model: mujoco.MjModel, d, trunk: int, joints: list[int]) -> LegGeometry:
    """Leg geometry with every joint at 0 and the trunk at the origin, in the trunk frame."""
    data = mujoco.MjData(model)
    data.qpos[:] = model.qpos0
    adr = model.jnt_qposadr[model.body_jntadr[trunk]]
    data.qpos[adr : adr + 7] = (0, 0, 0, 1, 0, 0, 0)
    for j in joints:
        data.qpos[model.jnt_qposadr[j]] = 0.0
    mujoco.mj_kinematics(model, data)
    rot, origin = data.xmat[trunk].reshape(3, 3), data.xpos[trunk]

    def local(point: np.ndarray) -> np.ndarray:
        return np.round(rot.T @ (point - origin), DECIMALS)

    hips, offsets, thighs, calves = [], [], [], []
    for leg in range(4):
        hip, thigh, calf = joints[3 * leg : 3 * leg + 3]
        for j, axis in zip((hip, thigh, calf), JOINT_AXES):
            if not np.allclose(rot.T @ data.xaxis[j], axis, atol=_TOLERANCE):
                raise _error(
                    d,
                    f"joint {model.joint(j).name!r} turns about {np.round(rot.T @ data.xaxis[j], 4).tolist()}, "
                    f"not {list(axis)} (reversed or tilted axes are not supported yet)",
                )
        a_hip, a_thigh, a_knee = (local(data.xanchor[j]) for j in (hip, thigh, calf))
        foot = local(data.site_xpos[model.site(d.foot_sites[leg]).id])
        link, upper, lower = a_thigh - a_hip, a_knee - a_thigh, foot - a_knee
        if abs(link[2]) > _TOLERANCE:
            raise _error(d, f"leg {d.legs[leg]}: the thigh's axis must sit level with the hip's, not {link.tolist()} m")
        if abs(link[0]) > _TOLERANCE:  # a fore-aft hip link: the leg's frame starts where its pitch axis is
            a_hip = a_hip + np.array([link[0], 0.0, 0.0])  # (along the abduction axis: nothing else moves)
        hips.append(tuple(float(v) for v in a_hip))
        offsets.append(float(link[1] + upper[1] + lower[1]))  # signed: a link's sideways part stays sideways
        thighs.append(_link(upper))
        calves.append(_link(lower))
    sides = np.sign([hip[1] for hip in hips])
    if not np.all(sides * offsets >= 0):
        raise _error(
            d, f"every leg's pitch plane must sit outward of its hip, not at {np.round(offsets, 6).tolist()} m"
        )
    magnitudes = np.abs(offsets)
    side_offsets = None
    if np.ptp(magnitudes) > _TOLERANCE:  # legs that are not mirror images: each its own offset
        side_offsets = tuple(round(v, DECIMALS) for v in offsets)
        if np.ptp(magnitudes) > 0.01 * magnitudes.max():
            raise _error(
                d, f"the four legs' sideways offsets differ by more than 1 %: {np.round(offsets, 6).tolist()} m"
            )
    offsets = [float(v) for v in magnitudes]
    for what, values in (("thigh", thighs), ("calf", calves)):
        if np.ptp(np.array(values), axis=0).max() > _TOLERANCE:
            raise _error(d, f"the four legs' {what}s differ: {np.round(values, 6).tolist()}")
    knee_low, knee_high = model.jnt_range[joints[2]]
    foot_geom = _id(model, mujoco.mjtObj.mjOBJ_GEOM, d.foot_geoms[0], "geom", d)
    return LegGeometry(
        hip_positions=tuple(hips),
        hip_offset=offsets[0],
        thigh_length=thighs[0][0],
        calf_length=calves[0][0],
        foot_radius=round(float(model.geom_size[foot_geom, 0]), DECIMALS),
        knee_fold=float(max(abs(knee_low), abs(knee_high))),
        thigh_angle=thighs[0][1],
        calf_angle=calves[0][1],
        side_offsets=side_offsets,
    )


def _link(vector: np.ndarray) -> tuple[float, float]:
    """A link's (length, angle from straight down, + backwards) in the leg's plane, from joint to joint.

    A straight link (no fore-aft part) keeps its exact length and angle 0 (the mini's numbers)."""
    x, z = float(vector[0]), float(vector[2])
    if abs(x) <= _TOLERANCE:
        return -z, 0.0
    return round(math.hypot(x, z), DECIMALS), math.atan2(-x, -z)
