"""Replay a trained policy: in the interactive viewer at real-time pace, or recorded offscreen.

The viewer's camera follows the trunk (envs/camera.py, the same framing as the recordings);
when the computer cannot keep real time the overlay and ``PlaybackResult.pace`` say how slow.

Both playback scripts (phase4_viewer_play_policy.py and play_residual_policy.py) call
``play``; call ``walklab.rendering.prepare_rendering`` before importing this module.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from envs.rollout import heading_step
from walklab.evaluation import run_episode, zero_policy
from walklab.keyboard import KeyboardCommand
from walklab.policies import open_policy
from walklab.rendering import VIDEO_FPS, VideoRecorder


@dataclass
class PlaybackResult:
    seconds: float
    distance: float  # m along x
    forward_velocity: float  # m/s
    termination: str
    video: Path | None
    real_time_factor: float | None = None  # viewer only: simulated s per wall s over the run
    pace: str = ""  # viewer only: "ran at real time" or "ran at 0.09x real time (...)"
    baseline_distance: float | None = None  # side by side only: the baseline trot's distance (m)
    heading_change: float | None = None  # commanded policies: how far the trunk turned (rad, unwrapped)


GHOST_RGBA = (0.25, 0.55, 1.0, 0.55)  # the baseline robot drawn beside the policy: translucent blue


def overlay_lines(t: float, speed: float, distance: float, label: str) -> list[str]:
    return [label, f"t {t:5.1f} s", f"speed {speed:5.3f} m/s", f"distance {distance:5.2f} m"]


def _draw_overlay(frame: np.ndarray, lines: list[str]) -> np.ndarray:
    from PIL import Image, ImageDraw

    image = Image.fromarray(frame)
    draw = ImageDraw.Draw(image)
    draw.rectangle([4, 4, 190, 8 + 14 * len(lines)], fill=(0, 0, 0))
    for i, line in enumerate(lines):
        draw.text((10, 6 + 14 * i), line, fill=(255, 255, 255))
    return np.asarray(image)


def play(
    model: Path,
    normalize: Path | None,
    seconds: float,
    deterministic: bool = True,
    record: Path | None = None,
    terrain: Path | None = None,
    seed: int = 0,
    baseline: bool = False,
    overlay: bool = True,
    width: int = 640,
    height: int = 360,
    side_by_side: bool = False,
    at_end: Callable | None = None,
    command: float | None = None,
) -> PlaybackResult:
    """Play `model` (or, with baseline=True, the plain trot in the same env) for `seconds`.

    Without `record` it opens the MuJoCo viewer with the camera following the trunk
    (envs/camera.py) and keeps real-time pace; when the computer cannot, the overlay shows the
    real-time factor and ``result.pace`` says it. With `side_by_side` the baseline trot runs in
    a second env from the same spawn and is drawn in the same view as a translucent blue robot.
    `at_end(viewport)` is called once the walk ends while the viewer window is still open (the
    tests read the window back from the X display then).
    A policy trained with commands walks at `command` m/s (default: the top of its range), and
    so does the side-by-side trot (whose gait, with command feedforward, follows the command).
    In the viewer its command follows the keyboard (walklab.keyboard): up and down the speed,
    left and right the yaw rate, space stops; each change is printed, and the overlay shows the
    command and what the robot achieves.
    """
    render_mode = "rgb_array" if record is not None else None
    config, env, loaded = open_policy(
        model, normalize, terrain=terrain, render_mode=render_mode, command=command, width=width, height=height
    )
    policy = zero_policy if baseline else loaded.policy(deterministic)
    label = "baseline trot" if baseline else f"policy: {Path(model).name}"
    env.reset(seed=seed)  # the spawn, for x0; run_episode resets to the same seed
    x0 = float(env.data.qpos[0])
    ghost = _Ghost(config, terrain, seed, command) if side_by_side and record is None else None
    recorder = VideoRecorder(record, fps=VIDEO_FPS) if record is not None else None
    every = max(1, int(round(1.0 / (VIDEO_FPS * env.dt))))
    viewer = pacer = keyboard = None
    commanded = bool(config["env"].get("commands")) and not baseline
    if record is None:
        from walklab.rendering import LiveViewer, RealTimePacer

        keyboard = KeyboardCommand.for_env(config["env"], env.command) if commanded else None
        viewer = LiveViewer(env.model, env.data, key_callback=keyboard.press if keyboard is not None else None)
        pacer = RealTimePacer()
    state = {"speed": 0.0, "steps": 0, "yaw_rate": 0.0, "yaw": None, "turned": 0.0}

    def show(env, info) -> bool:
        """Draw one control step (video frame, viewer, overlay); True stops the walk (window closed)."""
        state["steps"] += 1
        steps = state["steps"]
        state["speed"] = 0.9 * state["speed"] + 0.1 * info.get("heading_speed", info["x_velocity"])  # smoothed
        lines = overlay_lines(steps * env.dt, state["speed"], float(env.data.qpos[0]) - x0, label)
        if "yaw" in info:  # a commanded policy: what it is asked for and what it does
            if state["yaw"] is not None:
                state["turned"] += heading_step(info["yaw"], state["yaw"])
            state["yaw"] = info["yaw"]
            state["yaw_rate"] = 0.9 * state["yaw_rate"] + 0.1 * info["yaw_rate"]
            lines += [
                f"command {env.command[0]:4.2f} m/s {env.command[1]:+5.2f} rad/s",
                f"achieved {state['speed']:4.2f} m/s {state['yaw_rate']:+5.2f} rad/s",
            ]
        changed = keyboard.take() if keyboard is not None else None
        if changed is not None:
            env.command = changed
            print(f"command {changed[0]:.2f} m/s, {changed[1]:+.2f} rad/s at t {steps * env.dt:.1f} s", flush=True)
        if recorder is not None and (steps == 1 or steps % every == 0):
            frame = env.render()
            recorder.add(_draw_overlay(frame, lines) if overlay else frame)
        if viewer is None:
            return False
        if not viewer.is_running():
            return True
        if ghost is not None:
            ghost.step()
            ghost.draw(viewer)
            lines.append(f"baseline {ghost.distance:5.2f} m (blue)")
        pace = pacer.overlay_line()
        if pace is not None:
            lines.append(pace)
        if overlay:
            viewer.show(lines[1:])
        viewer.sync()
        pacer.tick(steps * env.dt)
        return False

    try:
        episode = run_episode(env, policy, seed, seconds, on_step=show)
        termination = episode.termination
        if viewer is not None and at_end is not None and viewer.is_running():
            at_end(viewer.viewport)
    finally:
        if viewer is not None:
            viewer.close()
        if ghost is not None:
            ghost.close()
        env.close()
    walked = state["steps"] * env.dt
    distance = float(env.data.qpos[0]) - x0
    video = recorder.save() if recorder is not None else None
    return PlaybackResult(
        walked,
        distance,
        distance / max(walked, 1e-9),
        termination,
        video,
        real_time_factor=pacer.factor if pacer is not None else None,
        pace=pacer.summary() if pacer is not None else "",
        baseline_distance=ghost.distance if ghost is not None else None,
        heading_change=state["turned"] if state["yaw"] is not None else None,
    )


class _Ghost:
    """The baseline trot in its own env, from the same spawn, drawn into a viewer's user scene."""

    def __init__(self, config: dict, terrain: Path | None, seed: int, command: float | None = None):
        import mujoco

        # MuJoCo loads here, after prepare_rendering chose its GL backend (MUJOCO_GL)
        from walklab.policies import make_eval_env
        from walklab.run_config import fixed_command

        self._mujoco = mujoco
        self.env = make_eval_env(config, terrain=terrain, **fixed_command(config, command))
        self.obs, _ = self.env.reset(seed=seed)
        self.x0 = float(self.env.data.qpos[0])
        self.done = False
        self._opt = mujoco.MjvOption()
        self._pert = mujoco.MjvPerturb()

    @property
    def distance(self) -> float:
        return float(self.env.data.qpos[0]) - self.x0

    def step(self) -> None:
        if not self.done:  # after a fall or leaving the terrain it stays where it ended
            self.obs, _, terminated, _, _ = self.env.step(zero_policy(self.obs))
            self.done = bool(terminated)

    def draw(self, viewer) -> None:
        """Replace the viewer's user geoms with this robot's (its moving bodies only, not the terrain)."""
        mj = self._mujoco
        scn = viewer.user_scn
        if scn is None:
            return
        with viewer.lock():
            scn.ngeom = 0
            mj.mjv_addGeoms(self.env.model, self.env.data, self._opt, self._pert, mj.mjtCatBit.mjCAT_DYNAMIC, scn)
            for i in range(scn.ngeom):
                scn.geoms[i].rgba[:] = GHOST_RGBA

    def close(self) -> None:
        self.env.close()
