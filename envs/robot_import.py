"""A third-party quadruped MJCF in the toolkit's terms, through ``mujoco.MjSpec`` (no file is written).

A robot description without ``scenes`` (``envs.robot``) names an MJCF this module converts:

- **Legs found from the model**: the trunk (the body of the one free joint) has four children that
  start a chain of three hinges (abduction about x, hip pitch and knee about y); each leg is named
  by where its hip sits (FR, FL, RR, RL: the toolkit's order, whatever the file's), its foot is the
  lowest collision sphere under the knee, and its actuators are those whose transmission is its
  joints. Names, leg order and keyframes in the file do not matter.
- **Toolkit names** (``envs.robot.DEFAULT_NAMES``) are given to the trunk, joints, foot geoms and
  new foot sites; a name already taken is moved aside with a ``_file`` suffix.
- **Joint-axis signs kept**: a hinge turning about -x or -y (Mini Cheetah's thigh and knee) is
  turned about +x / +y with its range mirrored, the same mechanism, so the toolkit's angles mean
  the same on every robot; ``Robot.joint_signs`` maps them back (file angle = sign x toolkit angle).
- **Joint ranges** the file leaves out take ``FALLBACK_RANGES`` (or the description's ``ranges``).
- **Position servos**: every actuator is replaced by a MuJoCo position servo on its joint, in the
  toolkit's order, with the description's gains (default: kp = ``KP_PER_MGL`` x m g L, kv =
  ``KV_PER_KP`` x kp) and torque limits (default: each motor's own, the smaller of its force range
  and control range x gear; a description that knows the robot's real ones states them).
- **Physics options and foot contact are the description's**, never the file's: timestep,
  integrator, cone, impratio, and the feet's solref/solimp (MuJoCo's defaults unless stated).
- **IMU**: a gyro and a velocimeter at the trunk's origin; the file's sensors are dropped.
- **Stance**: a ``home`` keyframe with every foot at its trot's sweep centre, solved by the IK.

``scene_spec`` attaches ``assets/worlds/<flat|rough>.xml`` to the converted robot (a package MJCF
cannot be ``<include>``\\ d by the toolkit's scene files). Anything that cannot be used is refused
with one line (``envs.robot.RobotError``).
"""

from __future__ import annotations

import functools
import math
from typing import Any

import mujoco
import numpy as np

from envs.assets import ASSETS_DIR
from envs.robot_description import JOINT_AXES, LEG_PARTS, TOOLKIT_LEGS, RobotError, _read_description

WORLDS_DIR = ASSETS_DIR / "worlds"
_AXES = np.array(JOINT_AXES)
FALLBACK_RANGES = {"hip": (-0.8, 0.8), "thigh": (-1.5, 3.5), "calf": (-2.7, -0.6)}  # rad, Go1-like legs
KP_PER_MGL = 1.9  # servo stiffness per unit of m g L (N m / rad): kp 100 for Go1, stands all ten robots
KV_PER_KP = 0.02  # s: kv 2 for Go1's kp 100
DEFAULT_SOLREF = (0.02, 1.0)  # MuJoCo's default contact
DEFAULT_SOLIMP = (0.9, 0.95, 0.001, 0.5, 2.0)
CONES = {"elliptic": mujoco.mjtCone.mjCONE_ELLIPTIC, "pyramidal": mujoco.mjtCone.mjCONE_PYRAMIDAL}
INTEGRATORS = {
    "implicitfast": mujoco.mjtIntegrator.mjINT_IMPLICITFAST,
    "euler": mujoco.mjtIntegrator.mjINT_EULER,
    "rk4": mujoco.mjtIntegrator.mjINT_RK4,
    "implicit": mujoco.mjtIntegrator.mjINT_IMPLICIT,
}
IMU_SITE = "walklab_imu"


def _error(d, message: str) -> Exception:
    return RobotError(f"{d.file}: {d.mjcf.name}: {message}")


# ----------------------------------------------------------------------------- reading the model
def _name(model, kind, index: int) -> str:
    return mujoco.mj_id2name(model, kind, index) or f"#{index}"


def find_legs(model: mujoco.MjModel, d) -> tuple[int, list[dict[str, Any]]]:
    """The trunk's body id and its four legs in the toolkit's order, read from `model` at qpos0."""
    free = [j for j in range(model.njnt) if model.jnt_type[j] == mujoco.mjtJoint.mjJNT_FREE]
    if len(free) != 1:
        raise _error(d, f"a quadruped has one free joint (its trunk's), this model has {len(free)}")
    trunk = int(model.jnt_bodyid[free[0]])
    data = mujoco.MjData(model)
    mujoco.mj_kinematics(model, data)
    rot, origin = data.xmat[trunk].reshape(3, 3), data.xpos[trunk]

    def local(point):
        return rot.T @ (np.asarray(point) - origin)

    children = [b for b in range(model.nbody) if model.body_parentid[b] == trunk and b != trunk]
    legs = {}
    for child in children:
        chain, body = [], child
        while True:
            hinges = [
                j
                for j in range(model.body_jntadr[body], model.body_jntadr[body] + model.body_jntnum[body])
                if model.jnt_type[j] == mujoco.mjtJoint.mjJNT_HINGE
            ]
            if model.body_jntnum[body] != len(hinges) or len(hinges) > 1:
                break  # a slide or ball joint, or two hinges in a body: not a leg of ours
            if hinges:
                chain.append((body, hinges[0]))
            below = [b for b in range(model.nbody) if model.body_parentid[b] == body and b != body]
            jointed = [b for b in below if _subtree_has_joint(model, b)]
            if len(jointed) != 1:
                break
            body = jointed[0]
        if len(chain) != 3:
            continue
        joints = [j for _, j in chain]
        hip = local(data.xanchor[joints[0]])
        name = ("F" if hip[0] > 0 else "R") + ("L" if hip[1] > 0 else "R")
        if name in legs:
            raise _error(d, f"two legs have their hip at the {name} corner")
        axes = np.array([rot.T @ data.xaxis[j] for j in joints])
        dots = np.einsum("ij,ij->i", axes, _AXES)
        if not np.allclose(np.abs(dots), 1.0, atol=1e-6):
            raise _error(
                d, f"leg {name}: joint axes {np.round(axes, 3).tolist()} are not abduction x, hip pitch y, knee y"
            )
        calf_body = chain[2][0]
        subtree = [b for b in range(model.nbody) if _is_below(model, b, calf_body)]
        spheres = [
            g
            for g in range(model.ngeom)
            if model.geom_bodyid[g] in subtree
            and model.geom_type[g] == mujoco.mjtGeom.mjGEOM_SPHERE
            and (model.geom_contype[g] or model.geom_conaffinity[g])
        ]
        if not spheres:
            raise _error(d, f"leg {name} has no foot: no colliding sphere below {_name(model, 1, calf_body)!r}")
        foot = min(spheres, key=lambda g: data.geom_xpos[g][2])
        actuators = []
        for j in joints:
            driving = [
                a
                for a in range(model.nu)
                if model.actuator_trntype[a] == mujoco.mjtTrn.mjTRN_JOINT and model.actuator_trnid[a, 0] == j
            ]
            if len(driving) != 1:
                joint = _name(model, mujoco.mjtObj.mjOBJ_JOINT, j)
                raise _error(d, f"joint {joint!r} is driven by {len(driving)} actuators, not 1")
            actuators.append(driving[0])
        legs[name] = {
            "name": name,
            "joints": joints,
            "signs": np.sign(dots),
            "foot": foot,
            "actuators": actuators,
            "length": float(
                np.linalg.norm(data.xanchor[joints[2]] - data.xanchor[joints[1]])
                + np.linalg.norm(data.geom_xpos[foot] - data.xanchor[joints[2]])
            ),
        }
    missing = [n for n in TOOLKIT_LEGS if n not in legs]
    if missing:
        raise _error(
            d,
            f"found {len(legs)} legs of three hinges (abduction, hip pitch, knee) under trunk "
            f"{_name(model, 1, trunk)!r}, need 4 (missing {', '.join(missing)})",
        )
    used = {a for leg in legs.values() for a in leg["actuators"]}
    if model.nu != 12 or len(used) != 12:
        raise _error(d, f"a quadruped of 12 leg joints has 12 actuators, this model has {model.nu}")
    return trunk, [legs[n] for n in TOOLKIT_LEGS]


def _subtree_has_joint(model, body: int) -> bool:
    return any(model.body_jntnum[b] for b in range(model.nbody) if _is_below(model, b, body))


def _is_below(model, body: int, root: int) -> bool:
    while body > 0:
        if body == root:
            return True
        body = int(model.body_parentid[body])
    return root == 0


def motor_limits(model: mujoco.MjModel) -> np.ndarray:
    """Each actuator's torque limit as the file states it: force range, control range x gear (the smaller)."""
    limits = np.full(model.nu, np.inf)
    for a in range(model.nu):
        if model.actuator_forcelimited[a]:
            limits[a] = min(limits[a], np.abs(model.actuator_forcerange[a]).max())
        if model.actuator_ctrllimited[a] and model.actuator_gaintype[a] == mujoco.mjtGain.mjGAIN_FIXED:
            gain = abs(model.actuator_gear[a, 0] * model.actuator_gainprm[a, 0])
            limits[a] = min(limits[a], np.abs(model.actuator_ctrlrange[a]).max() * gain)
    return limits


# ----------------------------------------------------------------------------- the conversion
def robot_spec(d) -> mujoco.MjSpec:
    """Description `d`'s robot converted (a fresh copy: attaching it into a scene consumes it)."""
    return _converted(d.file).copy()


def import_facts(d) -> dict[str, Any]:
    """What the conversion read from the file: per toolkit joint its sign, file name and torque limit; kp, kv."""
    _converted(d.file)
    return _FACTS[d.file]


_FACTS: dict = {}


@functools.cache
def _converted(file) -> mujoco.MjSpec:
    d = _read_description(file)
    try:
        spec = mujoco.MjSpec.from_file(str(d.mjcf))
        model = spec.compile()
    except (ValueError, OSError) as exc:
        raise _error(d, f"cannot compile: {' '.join(str(exc).split())}") from None
    trunk, legs = find_legs(model, d)
    settings = {**d.physics, **d.importing}
    mass = float(mujoco.mj_getTotalmass(model))
    leg_length = float(np.mean([leg["length"] for leg in legs]))
    kp = float(d.servo.get("kp", round(KP_PER_MGL * mass * 9.81 * leg_length, 1)))
    kv = float(d.servo.get("kv", round(KV_PER_KP * kp, 3)))
    limits = motor_limits(model)
    stated = d.servo.get("torque_limit")
    ranges = {**FALLBACK_RANGES, **{k: tuple(v) for k, v in settings.get("ranges", {}).items()}}

    joint_names = [_name(model, mujoco.mjtObj.mjOBJ_JOINT, j) for leg in legs for j in leg["joints"]]
    names = {
        "joint": [
            (jn, f"{leg['name']}_{part}_joint") for leg in legs for jn, part in zip(leg_joints(leg, model), LEG_PARTS)
        ],
        "geom": [(_name(model, mujoco.mjtObj.mjOBJ_GEOM, leg["foot"]), leg["name"]) for leg in legs],
        "body": [(_name(model, mujoco.mjtObj.mjOBJ_BODY, trunk), "trunk")],
    }
    _rename(spec, names)
    _free(spec.sites, [leg["name"] for leg in legs] + [IMU_SITE])
    for sensor in list(spec.sensors):
        spec.delete(sensor)
    for key in list(spec.keys):
        spec.delete(key)
    for actuator in list(spec.actuators):
        spec.delete(actuator)

    signs, torque = [], []
    for leg in legs:
        for part, j, sign, a in zip(LEG_PARTS, leg["joints"], leg["signs"], leg["actuators"]):
            joint = spec.joint(f"{leg['name']}_{part}_joint")
            if model.jnt_limited[j]:
                low, high = (float(v) for v in model.jnt_range[j])
            else:
                low, high = (sign * v for v in ranges[part])
                low, high = min(low, high), max(low, high)
            if sign < 0:  # turn the hinge about +x / +y: the same mechanism, the toolkit's sign convention
                joint.axis = [-v for v in joint.axis]
                low, high = -high, -low
                joint.ref, joint.springref = -joint.ref, -joint.springref
            joint.range = [low, high]
            joint.limited = mujoco.mjtLimited.mjLIMITED_TRUE
            limit = float(stated[LEG_PARTS.index(part)]) if isinstance(stated, list) else stated
            limit = float(limits[a]) if limit is None else float(limit)
            actuator = spec.add_actuator()
            actuator.name, actuator.target = f"{leg['name']}_{part}", joint.name
            actuator.trntype = mujoco.mjtTrn.mjTRN_JOINT
            actuator.set_to_position(kp=kp, kv=kv)
            actuator.gear = [1.0, 0, 0, 0, 0, 0]
            actuator.ctrlrange, actuator.ctrllimited = [low, high], mujoco.mjtLimited.mjLIMITED_TRUE
            if math.isfinite(limit):
                actuator.forcerange, actuator.forcelimited = [-limit, limit], mujoco.mjtLimited.mjLIMITED_TRUE
            else:
                actuator.forcelimited = mujoco.mjtLimited.mjLIMITED_FALSE
            signs.append(float(sign))
            torque.append(limit)
        foot = spec.geom(leg["name"])
        site = foot.parent.add_site()  # the foot site at the foot sphere's centre
        site.name, site.pos, site.size = leg["name"], list(foot.pos), [float(model.geom_size[leg["foot"], 0])] * 3
        site.group = 5
        if settings.get("foot_contact", "default") == "default":
            foot.solref, foot.solimp = list(DEFAULT_SOLREF), list(DEFAULT_SOLIMP)
        condim = settings.get("foot_condim")
        if condim is not None:
            foot.condim = int(condim)
    imu = spec.body("trunk").add_site()
    imu.name, imu.size = IMU_SITE, [0.005, 0.005, 0.005]
    for kind, name in (
        (mujoco.mjtSensor.mjSENS_GYRO, "trunk_gyro"),
        (mujoco.mjtSensor.mjSENS_VELOCIMETER, "trunk_linvel"),
    ):
        sensor = spec.add_sensor()
        sensor.name, sensor.type, sensor.objtype, sensor.objname = name, kind, mujoco.mjtObj.mjOBJ_SITE, IMU_SITE
    set_options(spec, d)
    _add_stance(spec, d)
    _FACTS[file] = {
        "joint_signs": tuple(signs),
        "file_joints": tuple(joint_names),
        "torque_limit": tuple(torque),
        "kp": kp,
        "kv": kv,
        "mass": mass,
    }
    return spec


def leg_joints(leg: dict, model) -> list[str]:
    return [_name(model, mujoco.mjtObj.mjOBJ_JOINT, j) for j in leg["joints"]]


def _rename(spec: mujoco.MjSpec, names: dict[str, list[tuple[str, str]]]) -> None:
    """Give elements the toolkit's names in two passes (a target name may be another element's today)."""
    finders = {"joint": spec.joint, "geom": spec.geom, "body": spec.body}
    elements = {"joint": spec.joints, "geom": spec.geoms, "body": spec.bodies}
    for kind, pairs in names.items():
        items = [finders[kind](old) for old, _ in pairs]
        wanted = {new for _, new in pairs}
        moving = {id(item) for item in items}
        _free([e for e in elements[kind] if id(e) not in moving], wanted)
        for k, item in enumerate(items):
            item.name = f"__walklab_{kind}_{k}"
        for item, (_, new) in zip(items, pairs):
            item.name = new
    renamed = dict(names.get("body", []))  # what names a body: lights' and cameras' targets, contact excludes
    for element, attributes in (
        (spec.lights, ("targetbody",)),
        (spec.cameras, ("targetbody",)),
        (spec.excludes, ("bodyname1", "bodyname2")),
    ):
        for item in element:
            for attribute in attributes:
                if getattr(item, attribute) in renamed:
                    setattr(item, attribute, renamed[getattr(item, attribute)])


def _free(elements, names) -> None:
    """Move elements named one of `names` aside (suffix ``_file``), so the toolkit's can take them."""
    names = set(names)
    for element in elements:
        if element.name in names:
            element.name = f"{element.name}_file"


def set_options(spec: mujoco.MjSpec, d) -> None:
    """The description's physics options on `spec` (the robot's or its scene's)."""
    spec.option.timestep = d.timestep
    spec.option.integrator = INTEGRATORS[d.physics.get("integrator", "implicitfast")]
    spec.option.cone = CONES[d.physics.get("cone", "elliptic")]
    spec.option.impratio = float(d.physics.get("impratio", 1.0))


def _add_stance(spec: mujoco.MjSpec, d) -> None:
    """A ``home`` keyframe: every foot at its working trot's sweep centre (IK), the feet on z = 0."""
    from envs.robot_model import derive

    model = spec.compile()
    facts = derive(model, d, need_key=False)
    geometry = facts["geometry"]
    from gait.controller import BaselineTrotController

    try:
        trot = BaselineTrotController(d.gait, geometry, facts["joint_low"], facts["joint_high"])
    except ValueError as exc:
        raise _error(d, f"its working trot does not fit its legs: {exc}") from None
    q = trot.stance()
    data = mujoco.MjData(model)
    data.qpos[:] = model.qpos0
    root = facts["root_qpos"]
    data.qpos[root : root + 7] = (0, 0, 0, 1, 0, 0, 0)
    data.qpos[facts["joint_qpos"]] = q
    mujoco.mj_kinematics(model, data)
    feet = [model.geom(n).id for n in d.foot_geoms]
    data.qpos[root + 2] = -min(data.geom_xpos[g][2] - model.geom_size[g, 0] for g in feet)
    spec.add_key(name="home", qpos=data.qpos.tolist(), ctrl=q.tolist())


# ----------------------------------------------------------------------------- scenes
def scene_spec(d, flat: bool, size: float) -> mujoco.MjSpec:
    """The converted robot with the flat or rough world attached (its size x `size`).

    The world goes into the robot's spec under a prefix (an unprefixed attachment makes MuJoCo warn
    and log), then its terrain's names are given back: ``terrain``, ``terrain_visual``, ``floor``."""
    scene = robot_spec(d)
    world = mujoco.MjSpec.from_file(str(WORLDS_DIR / ("flat.xml" if flat else "rough.xml")))
    if flat:
        floor = world.geom("floor")
        floor.size = [v * size for v in floor.size[:2]] + [floor.size[2]]
    scene.attach(world, frame=scene.worldbody.add_frame(), prefix=_WORLD_PREFIX)
    for field in (scene.hfields, scene.geoms):
        for element in field:
            if element.name.startswith(_WORLD_PREFIX) and element.name[len(_WORLD_PREFIX) :] in _WORLD_NAMES:
                element.name = element.name[len(_WORLD_PREFIX) :]
    for geom in scene.geoms:
        if geom.hfieldname.startswith(_WORLD_PREFIX):
            geom.hfieldname = geom.hfieldname[len(_WORLD_PREFIX) :]
    scene.visual.headlight.diffuse = world.visual.headlight.diffuse
    scene.visual.headlight.ambient = world.visual.headlight.ambient
    scene.visual.headlight.specular = world.visual.headlight.specular
    for key in ("azimuth", "elevation", "offwidth", "offheight"):
        setattr(scene.visual.global_, key, getattr(world.visual.global_, key))
    return scene


_WORLD_PREFIX = "world/"
_WORLD_NAMES = ("terrain", "terrain_visual", "floor")
