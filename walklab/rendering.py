"""Display detection, offscreen set-up and video recording.

Call ``prepare_rendering()`` before importing mujoco: MuJoCo reads MUJOCO_GL when imported.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

VIDEO_SUFFIXES = (".mp4", ".gif")


def has_display() -> bool:
    """True when an interactive window can open (X11 or Wayland on Linux; always on macOS/Windows)."""
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


def prepare_rendering(headless: bool) -> bool:
    """Choose offscreen EGL rendering when asked or when there is no display; returns True if offscreen."""
    offscreen = headless or not has_display()
    if offscreen:
        os.environ.setdefault("MUJOCO_GL", "egl")
    return offscreen


def check_video_path(path: str | Path) -> Path:
    """Validate a video output path (.mp4 or .gif), creating its folder."""
    path = Path(path)
    if path.suffix.lower() not in VIDEO_SUFFIXES:
        raise ValueError(f"video path must end in .mp4 or .gif, got {path}")
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


class VideoRecorder:
    """Collects RGB frames and writes an MP4 or GIF atomically (temporary file, then rename)."""

    def __init__(self, path: str | Path, fps: int = 25):
        self.path = check_video_path(path)
        self.fps = fps
        self.frames: list = []

    def add(self, frame) -> None:
        self.frames.append(frame)

    def save(self) -> Path:
        import imageio.v2 as imageio

        if not self.frames:
            raise RuntimeError("no frames recorded")
        tmp = self.path.with_name(f".{self.path.stem}.tmp{self.path.suffix}")
        if self.path.suffix.lower() == ".gif":
            imageio.mimsave(tmp, self.frames, duration=1000.0 / self.fps, loop=0)
        else:
            imageio.mimsave(tmp, self.frames, fps=self.fps, macro_block_size=8)
        tmp.replace(self.path)
        return self.path
