"""Replay a trained policy: in the interactive viewer at real-time pace, or recorded offscreen.

Both playback scripts (phase4_viewer_play_policy.py and play_residual_policy.py) call
``play``; call ``walklab.rendering.prepare_rendering`` before importing this module.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from walklab.evaluation import zero_policy
from walklab.rendering import VideoRecorder
from walklab.runs import open_policy

VIDEO_FPS = 25


@dataclass
class PlaybackResult:
    seconds: float
    distance: float  # m along x
    forward_velocity: float  # m/s
    termination: str
    video: Path | None


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


def play(model: Path, normalize: Path | None, seconds: float, deterministic: bool = True,
         record: Path | None = None, terrain: Path | None = None, seed: int = 0, baseline: bool = False,
         overlay: bool = True, width: int = 640, height: int = 360) -> PlaybackResult:
    """Play `model` (or, with baseline=True, the plain trot in the same env) for `seconds`."""
    render_mode = "rgb_array" if record is not None else None
    _, env, loaded = open_policy(model, normalize, terrain=terrain, render_mode=render_mode,
                                 width=width, height=height)
    policy = zero_policy if baseline else loaded.policy(deterministic)
    label = "baseline trot" if baseline else f"policy: {Path(model).name}"
    obs, _ = env.reset(seed=seed)
    x0 = float(env.data.qpos[0])
    recorder = VideoRecorder(record, fps=VIDEO_FPS) if record is not None else None
    every = max(1, int(round(1.0 / (VIDEO_FPS * env.dt))))
    viewer = None
    if record is None:
        from mujoco import viewer as mj_viewer

        viewer = mj_viewer.launch_passive(env.model, env.data)
    termination, steps, speed = "", 0, 0.0
    try:
        for steps in range(1, max(1, int(round(seconds / env.dt))) + 1):
            tick = time.perf_counter()
            obs, _, terminated, _, info = env.step(policy(obs))
            speed = 0.9 * speed + 0.1 * info["x_velocity"]  # smoothed for display
            lines = overlay_lines(steps * env.dt, speed, float(env.data.qpos[0]) - x0, label)
            if recorder is not None and (steps == 1 or steps % every == 0):
                frame = env.render()
                recorder.add(_draw_overlay(frame, lines) if overlay else frame)
            if viewer is not None:
                if not viewer.is_running():
                    break
                if overlay:
                    viewer.set_texts((None, None, "\n".join(lines[1:]), ""))
                viewer.sync()
                time.sleep(max(0.0, env.dt - (time.perf_counter() - tick)))
            if terminated:
                termination = info["termination"]
                break
    finally:
        if viewer is not None:
            viewer.close()
        env.close()
    walked = steps * env.dt
    distance = float(env.data.qpos[0]) - x0
    video = recorder.save() if recorder is not None else None
    return PlaybackResult(walked, distance, distance / max(walked, 1e-9), termination, video)
