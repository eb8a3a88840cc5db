"""Display detection, offscreen set-up, video recording, and the live viewer.

``LiveViewer`` opens MuJoCo's passive viewer with the tracking camera of envs/camera.py and
``RealTimePacer`` keeps a loop at real-time pace and says when it could not.

Call ``prepare_rendering()`` before importing mujoco: MuJoCo reads MUJOCO_GL when imported.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

VIDEO_FPS = 25  # frames per second of every recorded video
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
    """Streams RGB frames to an MP4 or GIF, written atomically (temporary file, then rename).

    Each ``add`` hands the frame to the encoder at once (imageio ``get_writer`` /
    ``append_data``), so an MP4 recording keeps no frames in memory whatever its length
    (ffmpeg encodes as it goes). A GIF is encoded by Pillow, which needs every frame at the
    end: frames are kept palette-converted (1 byte per pixel, a third of RGB). The file is
    written under ``.NAME.tmp<pid>.EXT`` and renamed by ``save``; on any error, and when the
    recorder is dropped without ``save``, the temporary file is removed.
    """

    def __init__(self, path: str | Path, fps: int = VIDEO_FPS):
        import weakref

        self.path = check_video_path(path)
        self.fps = fps
        self.frames_written = 0
        self._tmp = self.path.with_name(f".{self.path.stem}.tmp{os.getpid()}{self.path.suffix}")
        self._gif = self.path.suffix.lower() == ".gif"
        self._gif_frames: list = []
        self._writer = None
        self._cleanup = weakref.finalize(self, VideoRecorder._discard, None, self._tmp)

    @staticmethod
    def _discard(writer, tmp: Path) -> None:
        if writer is not None:
            try:
                writer.close()
            except Exception:  # noqa: BLE001 - already failing; the file goes anyway
                pass
        try:
            tmp.unlink()
        except OSError:
            pass

    def _fail(self) -> None:
        writer, self._writer = self._writer, None
        self._gif_frames = []
        self._cleanup.detach()
        VideoRecorder._discard(writer, self._tmp)

    def add(self, frame) -> None:
        try:
            if self._gif:
                from PIL import Image

                self._gif_frames.append(Image.fromarray(frame).convert("P", palette=Image.Palette.ADAPTIVE))
            else:
                if self._writer is None:
                    import weakref

                    import imageio.v2 as imageio

                    self._writer = imageio.get_writer(self._tmp, fps=self.fps, macro_block_size=8)
                    self._cleanup.detach()  # from now on a dropped recorder also closes ffmpeg
                    self._cleanup = weakref.finalize(self, VideoRecorder._discard, self._writer, self._tmp)
                self._writer.append_data(frame)
        except BaseException:
            self._fail()
            raise
        self.frames_written += 1

    @property
    def frames(self) -> int:
        """How many frames were added (the frames themselves are not kept)."""
        return self.frames_written

    def save(self) -> Path:
        if not self.frames_written:
            raise RuntimeError("no frames recorded")
        try:
            if self._gif:
                first, *rest = self._gif_frames
                first.save(
                    self._tmp, format="GIF", save_all=True, append_images=rest, duration=1000.0 / self.fps, loop=0
                )
                self._gif_frames = []
            else:
                writer, self._writer = self._writer, None
                writer.close()
            os.replace(self._tmp, self.path)
        except BaseException:
            self._fail()
            raise
        self._cleanup.detach()
        return self.path


class RealTimePacer:
    """Keeps a loop at real-time pace and measures the pace it really kept.

    Call ``tick(sim_seconds)`` once per step with the simulated time advanced so far: it
    sleeps when the loop is ahead of the wall clock. ``factor`` is simulated seconds per wall
    second over the whole run (1.0 at real time; 0.1 means ten times slower), ``recent`` the
    same over about the last second, for a live display.
    """

    #: below this the overlay and the end-of-run line say the real-time factor
    SLOW = 0.95

    def __init__(self, window: float = 1.0):
        import time

        self._clock = time.perf_counter
        self._sleep = time.sleep
        self.window = window
        self.start = self._clock()
        self.sim_time = 0.0
        self._marks = [(self.start, 0.0)]

    def tick(self, sim_time: float) -> None:
        self.sim_time = sim_time
        ahead = (self.start + sim_time) - self._clock()
        if ahead > 0:
            self._sleep(ahead)
        now = self._clock()
        self._marks.append((now, sim_time))
        while len(self._marks) > 2 and now - self._marks[1][0] >= self.window:
            self._marks.pop(0)

    @property
    def wall_time(self) -> float:
        return self._clock() - self.start

    @property
    def factor(self) -> float:
        return self.sim_time / max(self._marks[-1][0] - self.start, 1e-9)

    @property
    def recent(self) -> float:
        (t0, s0), (t1, s1) = self._marks[0], self._marks[-1]
        return (s1 - s0) / max(t1 - t0, 1e-9)

    def overlay_line(self) -> str | None:
        """'real time 0.09x' while the recent pace is slow, else None."""
        return f"real time {self.recent:.2f}x" if len(self._marks) > 1 and self.recent < self.SLOW else None

    def summary(self) -> str:
        """The end-of-run phrase: 'ran at 1.00x real time', or when slow
        'ran at 0.09x real time (3.0 s simulated in 33.4 s: the computer could not keep up)'."""
        text = f"ran at {self.factor:.2f}x real time"
        if self.factor < self.SLOW:
            text += (
                f" ({self.sim_time:.1f} s simulated in {self._marks[-1][0] - self.start:.1f} s:"
                " the computer could not keep up)"
            )
        return text


class LiveViewer:
    """MuJoCo's passive viewer, opened with the camera following `track_body` (envs/camera.py).

    The camera is set once, at launch: the user can still move it with the mouse. ``show``
    updates the overlay text without stalling the caller (see there), ``close`` waits for the
    viewer's thread to finish so the interpreter does not exit under it.
    """

    def __init__(self, model, data, track_body: str | int = "trunk", key_callback=None, size: float = 1.0):
        import threading

        from mujoco import viewer as mj_viewer

        from envs.camera import track

        before = set(threading.enumerate())
        self.handle = mj_viewer.launch_passive(model, data, key_callback=key_callback)
        # launch_passive runs the window in a thread it does not return (on Linux): find it
        self._threads = [t for t in threading.enumerate() if t not in before]
        with self.handle.lock():
            track(self.handle.cam, model, track_body, data, size=size)  # size: the robot's (envs.robot)
        self._text_interval = 0.1  # s of wall time between overlay updates; grows while it would stall
        self._text_sent = float("-inf")

    def is_running(self) -> bool:
        return self.handle.is_running()

    def sync(self) -> None:
        self.handle.sync()

    def lock(self):
        return self.handle.lock()

    @property
    def user_scn(self):
        return self.handle.user_scn

    def show(self, lines: list[str]) -> None:
        """Overlay `lines` (top left). The viewer takes one text update per drawn frame and a
        second update waits for the next frame, a long wait with software rendering; so
        updates are spaced out, further each time one had to wait (at most 1 s apart)."""
        import time

        now = time.perf_counter()
        if now - self._text_sent < self._text_interval or not self.is_running():
            return
        self.handle.set_texts((None, None, "\n".join(lines), ""))
        waited = time.perf_counter() - now
        if waited > 0.005:
            self._text_interval = min(1.0, self._text_interval * 1.5)
        self._text_sent = time.perf_counter()

    @property
    def viewport(self):
        """The 3D view's rectangle in the window (left, bottom, width, height; pixels from the
        bottom left), or None before the first frame is drawn."""
        return self.handle.viewport

    def close(self, timeout: float = 10.0) -> None:
        self.handle.close()
        for thread in self._threads:
            thread.join(timeout)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
