#!/usr/bin/env python3
"""Where one physics step's time goes (MuJoCo's own timers), and which geoms touch the terrain.

    python3 bench/physics_profile.py [--steps 2000] [--variant NAME ...]

Runs ResidualWalkEnv on seed 0 with a policy-sized residual (uniform +-0.1 actions, the same
walk as bench/env_step_overhead.py) and prints, per variant of the physics (see VARIANTS):
mj_step's timers in us per physics step, contacts per step, which robot geoms touched the
terrain (in % of physics steps), and the env.step time. Variants are built from the robot's
rough scene (the mini's assets/scene_rough.xml; an imported robot's built world) with MjSpec edits,
so the assets on disk are untouched; `--calibrate` also walks the working and legacy trots (5 seeds
x 20 s, as tests/compare_residual_vs_baseline.py --baseline-only) on each variant. ``--robot`` (v2's
flag) profiles another robot: its scene, physics steps and working trot (the legacy trot is the mini's).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import mujoco
import numpy as np

import envs.residual_walk_env as rwe
from envs import assets as A
from envs import robot_sim
from envs.config import EnvConfig
from envs.fields import ConfigError
from envs.robot import load_robot
from walklab.flags import add_env_setting_flags, env_settings_from_args

ROBOT_NAME = "mini"  # the robot profiled (a name or a robot folder): main() sets --robot's
ROBOT = load_robot(ROBOT_NAME)

T = mujoco.mjtTimer
TIMERS = (
    "STEP",
    "FORWARD",
    "POSITION",
    "POS_KINEMATICS",
    "POS_INERTIA",
    "POS_COLLISION",
    "COL_BROAD",
    "COL_NARROW",
    "POS_MAKE",
    "POS_PROJECT",
    "VELOCITY",
    "ACTUATION",
    "CONSTRAINT",
    "ADVANCE",
)


def _robot_geoms(spec):
    return [
        g for g in spec.geoms if g.type != mujoco.mjtGeom.mjGEOM_HFIELD and g.name not in ("terrain", "terrain_visual")
    ]


def feet_only(spec):
    """Only the four feet collide; trunk, battery, head, hips, thighs and calves never do."""
    for g in _robot_geoms(spec):
        if g.name not in ROBOT.description.foot_geoms:
            g.contype = 0
            g.conaffinity = 0


def no_upper(spec):
    """Trunk, battery, head, hips and thighs never collide; calves and feet still do."""
    for g in _robot_geoms(spec):
        body = g.parent.name
        if g.name not in ROBOT.description.foot_geoms and not body.endswith("_calf"):
            g.contype = 0
            g.conaffinity = 0


def sphere_feet(spec):
    for g in _robot_geoms(spec):
        if g.name in ROBOT.description.foot_geoms:
            g.type = mujoco.mjtGeom.mjGEOM_SPHERE
            g.size = [ROBOT.geometry.foot_radius, 0, 0]


def hfield_every(rows: int = 1, cols: int = 1):
    """Keep every rows-th row (y) and cols-th column (x) of the terrain PNG: a coarser collision grid."""

    def edit(spec):
        import tempfile

        from PIL import Image

        src = Path(spec.hfield(A.HFIELD_NAME).file)
        img = np.array(Image.open(src))[::rows, ::cols]
        out = Path(tempfile.gettempdir()) / f"hfield_r{rows}_c{cols}_{src.stem}.png"
        Image.fromarray(img).save(out)
        spec.hfield(A.HFIELD_NAME).file = str(out)

    return edit


def opt(**kw):
    def edit(spec):
        for k, v in kw.items():
            setattr(spec.option, k, v)

    return edit


def no_acc_sensors(spec):
    """Drop the accelerometer and touch sensors (the env reads only gyro and velocimeter)."""
    for s in list(spec.sensors):
        if s.type in (mujoco.mjtSensor.mjSENS_ACCELEROMETER, mujoco.mjtSensor.mjSENS_TOUCH):
            spec.delete(s)


def chain(*edits):
    def edit(spec):
        for e in edits:
            e(spec)

    return edit


VARIANTS = {
    "base": None,
    "feet_only": feet_only,
    "no_upper": no_upper,
    "sphere_feet": sphere_feet,
    "feet_only+sphere": chain(feet_only, sphere_feet),
    "iter20_ls10": opt(iterations=20, ls_iterations=10),
    "iter10_ls5": opt(iterations=10, ls_iterations=5),
    "tol1e-6": opt(tolerance=1e-6),
    "elliptic": opt(cone=mujoco.mjtCone.mjCONE_ELLIPTIC),
    "dense": opt(jacobian=mujoco.mjtJacobian.mjJAC_DENSE),
    "sparse": opt(jacobian=mujoco.mjtJacobian.mjJAC_SPARSE),
    "euler": opt(integrator=mujoco.mjtIntegrator.mjINT_EULER),
    "newton": opt(solver=mujoco.mjtSolver.mjSOL_NEWTON),
    "cg": opt(solver=mujoco.mjtSolver.mjSOL_CG),
    "pgs": opt(solver=mujoco.mjtSolver.mjSOL_PGS),
    "no_acc_sensors": no_acc_sensors,
    "hf_rows2": hfield_every(rows=2),
    "hf_rows4": hfield_every(rows=4),
    "hf_cols2": hfield_every(cols=2),
    "no_frictionloss": opt(disableflags=mujoco.mjtDisableBit.mjDSBL_FRICTIONLOSS),
}


def build(edit, terrain: str | None = None, timestep: float | None = None) -> mujoco.MjModel:
    if ROBOT.imported:  # a package MJCF's world is built around it (envs.robot_import), as robot_sim does
        from envs.robot_import import scene_spec

        spec = scene_spec(ROBOT.description, False, ROBOT.size)
    else:
        spec = mujoco.MjSpec.from_file(str(ROBOT.scene(flat=False)))
    spec.hfield(A.HFIELD_NAME).file = str(Path(terrain or A.DEFAULT_TERRAIN_PNG).resolve())
    if ROBOT.size != 1.0:  # the terrain at the robot's size, as robot_sim.load_model lays it out
        for name in (A.HFIELD_NAME, A.HFIELD_VISUAL_NAME):
            if spec.hfield(name) is not None:
                spec.hfield(name).size = [v * ROBOT.size for v in spec.hfield(name).size]
    if edit is not None:
        edit(spec)
    model = spec.compile()
    ROBOT.configure(model)  # the description's physics and servos (the mini's scene already holds them)
    if timestep is not None:
        model.opt.timestep = timestep
    robot_sim._fill_visual_hfield(model)
    return model


def make_env(model, frame_skip, **kw):
    return rwe.ResidualWalkEnv(frame_skip=frame_skip, model=model, robot=ROBOT_NAME, **kw)


def geom_names(m):
    return [
        mujoco.mj_id2name(m, mujoco.mjtObj.mjOBJ_GEOM, i)
        or f"{mujoco.mj_id2name(m, mujoco.mjtObj.mjOBJ_BODY, m.geom_bodyid[i])}#{i}"
        for i in range(m.ngeom)
    ]


def timed_walk(env, actions):
    """(env.step us, {timer: us per physics step}, termination or '') for the walk on seed 0."""
    d = env.data
    env.reset(seed=0)
    for t in range(len(d.timer)):
        d.timer[t].duration = 0.0
        d.timer[t].number = 0
    ended, n = "", 0
    start = time.perf_counter()
    for a in actions:
        out = env.step(a)
        n += 1
        if out[2]:
            ended = out[4]["termination"]
            break
    us = 1e6 * (time.perf_counter() - start) / n
    steps = max(1, d.timer[T.mjTIMER_STEP].number)
    return us, {k: 1e6 * d.timer[getattr(T, "mjTIMER_" + k)].duration / steps for k in TIMERS}, ended


def contact_audit(env, actions):
    """The same walk one physics step at a time: (contacts per step, {geom: % of steps touching terrain})."""
    m, d = env.model, env.data
    terrain = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_GEOM, "terrain")
    names = geom_names(m)
    touches = np.zeros(m.ngeom)
    ncon = nsub = 0
    env.reset(seed=0)
    core = env.core  # the walk's own per-robot arrays (row 0: the single env)
    for a in actions:
        residual = core.residual[0, :12]
        residual += env.action_filter * (np.clip(a[:12], -1, 1) - residual)
        d.ctrl[:] = env.controller.joint_targets(
            core.step_count[0] * env.dt, (env.residual_scale * residual).reshape(4, 3)
        )
        core.step_count[0] += 1
        for _ in range(env.frame_skip):
            mujoco.mj_step(m, d)
            nsub += 1
            ncon += d.ncon
            seen = (
                {int(c.geom[1] if c.geom[0] == terrain else c.geom[0]) for c in d.contact[: d.ncon]}
                if d.ncon
                else set()
            )
            for g in seen:
                touches[g] += 1
    return ncon / nsub, {names[g]: 100 * touches[g] / nsub for g in range(m.ngeom) if touches[g]}


def calibrate(model, frame_skip, gait_name, episodes=5, seconds=20.0):
    from gait.parameters import PRESETS
    from walklab.evaluation import evaluate, zero_policy

    gait = ROBOT.gait if gait_name == "working" else PRESETS[gait_name]  # the robot's own working trot
    env = make_env(model, frame_skip, gait=gait)
    summary, episodes_stats = evaluate(env, zero_policy, episodes, seconds)
    return summary, episodes_stats


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--variant", nargs="+", default=["base"], help=f"any of {', '.join(VARIANTS)}; join with '+'")
    p.add_argument("--timestep", type=float, help="physics timestep (s) for every variant")
    p.add_argument("--frame-skip", type=int, default=None, help="physics steps per control step (default: the robot's)")
    p.add_argument("--terrain", help="heightfield PNG instead of assets/hfield.png")
    p.add_argument("--calibrate", action="store_true")
    p.add_argument("--no-audit", action="store_true")
    p.add_argument("--episodes", type=int, default=5, help="calibration seeds")
    add_env_setting_flags(p, EnvConfig(), ("robot",))
    args = p.parse_args()
    global ROBOT, ROBOT_NAME
    try:
        ROBOT_NAME = env_settings_from_args(EnvConfig(), args, ("robot",)).robot
        ROBOT = load_robot(ROBOT_NAME)
    except ConfigError as exc:
        p.error(str(exc))
    if args.frame_skip is None:
        args.frame_skip = ROBOT.description.frame_skip
    actions = np.random.default_rng(0).uniform(-0.1, 0.1, (args.steps, 12)).astype(np.float32)
    envs_ = {}
    for name in args.variant:
        edits = [VARIANTS[part] for part in name.split(",")]
        model = build(chain(*[e for e in edits if e is not None]), args.terrain, args.timestep)
        envs_[name] = make_env(model, args.frame_skip)
    best = {}
    for _ in range(args.rounds):  # interleaved, so machine noise hits every variant alike
        for name, env in envs_.items():
            res = timed_walk(env, actions)
            if name not in best or res[0] < best[name][0]:
                best[name] = res
    for name, env in envs_.items():
        us, timers, ended = best[name]
        sub = " ".join(f"{k.lower()}={v:.1f}" for k, v in timers.items())
        print(
            f"== {name} (dt {env.model.opt.timestep} x {env.frame_skip}) env.step {us:.0f} us, "
            f"physics {timers['STEP'] * env.frame_skip:.0f} us{'  ENDED: ' + ended if ended else ''}"
        )
        print(f"   timers us/physics step: {sub}")
        if not args.no_audit:
            ncon, touch = contact_audit(env, actions)
            print(
                f"   contacts/physics step {ncon:.2f}; terrain touches (% of physics steps): "
                + ", ".join(f"{k} {v:.1f}" for k, v in touch.items())
            )
        if args.calibrate:
            for gait_name in ("working", "legacy") if ROBOT_NAME == "mini" else ("working",):
                s, eps = calibrate(env.model, env.frame_skip, gait_name, args.episodes)
                per = ", ".join(f"{e.forward_velocity:.3f}" for e in eps)
                print(f"   {gait_name}: {s['forward_velocity_mps']:.3f} m/s ({per}) falls {s['falls']}/{s['episodes']}")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
