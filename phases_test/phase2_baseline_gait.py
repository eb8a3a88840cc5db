#!/usr/bin/env python3
"""Phase 2: run the baseline trot on the rough terrain and report how it walks.

Gait parameters are flags (start from --gait working|legacy and override any field). With a
display the walk plays in the MuJoCo viewer at real-time pace, the camera following the trunk
(the overlay and the last line say the real-time factor when the computer cannot keep up);
with --headless, or when there is no display, it is rendered offscreen to --out (.mp4 or .gif).

    python3 phases_test/phase2_baseline_gait.py --headless
    python3 phases_test/phase2_baseline_gait.py --gait legacy --seconds 10 --headless --out runs/videos/legacy.gif
    python3 phases_test/phase2_baseline_gait.py --step-length 0.08 --cycle-time 0.7
    python3 phases_test/phase2_baseline_gait.py --robot go1 --flat --headless   # Unitree Go1, its own trot
"""

from __future__ import annotations

import argparse
from pathlib import Path

from walklab.cli import (
    SECONDS,
    SEED,
    OneLineErrorParser,
    add_gait_arguments,
    add_robot_argument,
    gait_fits_or_fail,
    gait_from_args,
    heightfield_file,
    model_or_fail,
    video_path_or_fail,
)
from walklab.rendering import prepare_rendering

# The project's heavier modules are imported inside main(), after the flags are parsed: --help and
# a refused flag answer at once, and MUJOCO_GL is chosen before MuJoCo loads.


# The cheapest complete run, from the repository root ({tmp}: a scratch folder); the fuzz suite
# (tests/test_cli_fuzz.py) starts every case from it.
SMOKE_ARGS = ["--headless", "--no-video", "--seconds", "0.5"]


def build_parser() -> OneLineErrorParser:
    p = OneLineErrorParser(description=__doc__.splitlines()[0])
    add_robot_argument(p)
    add_gait_arguments(p)
    p.add_argument("--seconds", type=SECONDS, default=20.0, help="walk duration (s)")
    p.add_argument("--seed", type=SEED, default=0, help="spawn seed (position and heading on the terrain)")
    p.add_argument("--terrain", type=heightfield_file, default=None, help="heightfield PNG (default assets/hfield.png)")
    p.add_argument("--flat", action="store_true", help="walk on the flat floor instead")
    p.add_argument("--headless", action="store_true", help="render offscreen to --out instead of opening the viewer")
    p.add_argument("--no-video", action="store_true", help="headless: only print the metrics, render nothing")
    p.add_argument(
        "--out", type=Path, default=Path("runs/videos/phase2_baseline.mp4"), help="video path (.mp4 or .gif)"
    )
    return p


def parse_args(argv=None) -> argparse.Namespace:
    """The flags, and what the run builds from them: ``args.gait`` (GaitParameters, every derived
    quantity checked); a bad value or terrain file is one line and exit 2."""
    args = build_parser().parse_args(argv)
    args.gait = gait_from_args(args, args.robot)
    return args


def main(argv=None) -> None:
    args = parse_args(argv)
    offscreen = prepare_rendering(args.headless)
    gait = gait_fits_or_fail(args.gait, args.robot)  # loads MuJoCo: after MUJOCO_GL is chosen
    if offscreen and not args.no_video:
        video_path_or_fail(args.out)

    from envs.config import EnvConfig
    from envs.robot import load_robot
    from envs.rollout import run_baseline

    model = model_or_fail(args.terrain, flat=args.flat, robot=args.robot)
    size = load_robot(args.robot).size
    control_dt = model.opt.timestep * EnvConfig(robot=args.robot).frame_skip
    print(f"gait: {gait}")
    print(f"ideal speed (no slip): {gait.ideal_speed:.3f} m/s")

    if offscreen:
        on_step, finish = _recorder(model, args, control_dt, size)
    else:
        on_step, finish = _viewer(model, control_dt, size)
    metrics = run_baseline(gait, args.seconds, args.seed, model=model, on_step=on_step, robot=args.robot)
    finish()

    print(f"forward velocity: {metrics.forward_velocity:.4f} m/s")
    print(f"lateral velocity: {metrics.lateral_velocity:+.4f} m/s (drift {metrics.lateral_drift:.3f} m)")
    print(f"body height:      {metrics.mean_height:.4f} m (mean above ground)")
    print(f"max tilt:         {metrics.max_tilt:.3f} rad")
    print(f"fell:             {'yes' if metrics.fell else 'no'} after {metrics.duration:.1f} s")


def _recorder(model, args, control_dt, size):
    """on_step that grabs frames at VIDEO_FPS, and a finish() that writes the video."""
    import mujoco

    from envs.camera import tracking_camera
    from walklab.rendering import VIDEO_FPS, VideoRecorder

    if args.no_video:
        return None, lambda: None
    recorder = VideoRecorder(args.out, fps=VIDEO_FPS)
    renderer = mujoco.Renderer(model, 360, 640)
    camera = tracking_camera(model, size=size)
    every = max(1, int(round(1.0 / (VIDEO_FPS * control_dt))))
    count = [0]

    def on_step(sim):
        if count[0] % every == 0:
            renderer.update_scene(sim.data, camera)
            recorder.add(renderer.render())
        count[0] += 1

    def finish():
        renderer.close()
        print(f"saved {recorder.save()}")

    return on_step, finish


def _viewer(model, control_dt, size):
    """on_step that shows each control step in the passive viewer (camera on the trunk) at
    real-time pace, and a finish() that closes it and says the pace it kept."""
    from walklab.rendering import LiveViewer, RealTimePacer

    state = {"viewer": None, "pacer": None, "steps": 0}

    def on_step(sim):
        if state["viewer"] is None:
            state["viewer"] = LiveViewer(sim.model, sim.data, size=size)
            state["pacer"] = RealTimePacer()
        viewer, pacer = state["viewer"], state["pacer"]
        state["steps"] += 1
        t = state["steps"] * control_dt
        pace = pacer.overlay_line()  # shown only while the computer cannot keep real time
        viewer.show([f"t {t:5.1f} s"] + ([pace] if pace else []))
        viewer.sync()
        pacer.tick(t)

    def finish():
        if state["viewer"] is not None:
            state["viewer"].close()
            print(f"viewer: {state['pacer'].summary()}")

    return on_step, finish


if __name__ == "__main__":
    main()
