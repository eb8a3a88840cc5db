"""The interactive viewer as users meet it: a real window under Xvfb, the camera on the robot.

The player script runs as a subprocess on a virtual X display (MUJOCO_GL=glfw, the passive
viewer), plays the shipped policy for a second and saves the viewer's 3D view as the X server
shows it (the hidden --hold-at-end flag keeps the window open while tests/x11_window.py reads it
back with xdotool and mss). The robot is in
view when its orange trunk covers a fair part of that picture, around the middle. Xvfb comes
from Debian's `xvfb` package and xdotool from `xdotool` (scripts/test.sh installs both); without them these
tests are skipped.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest

from tests.conftest import REPO
from tests.x11_window import press_keys, wait_for_window, window_image

POLICY = REPO / "assets" / "policies" / "residual_walk"
TURNING = REPO / "assets" / "policies" / "turning_walk"  # the commanded policy that turns
PLAYER = "phases_test/phase4_viewer_play_policy.py"


@pytest.fixture(scope="module")
def xvfb_display():
    """A fresh Xvfb server on a free display number (Xvfb picks it: -displayfd)."""
    for tool, package in (("Xvfb", "xvfb"), ("xdotool", "xdotool")):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed (Debian package `{package}`; scripts/test.sh installs it)")
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", "1280x720x24", "-nolisten", "tcp"],
        pass_fds=(write_fd,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_fd)
    try:
        with os.fdopen(read_fd) as pipe:
            number = pipe.readline().strip()  # written once the server accepts connections
        if not number:
            pytest.fail(f"Xvfb did not start (exit code {proc.poll()})")
        yield f":{number}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def play_in_window(display: str, *extra: str, settle: float = 0.5):
    """Play the shipped policy for a second in the real window; returns (the finished process,
    the 3D view's RGB pixels as the X server showed them once the walk ended)."""
    env = {k: v for k, v in os.environ.items() if k != "WAYLAND_DISPLAY"}
    env.update(DISPLAY=display, MUJOCO_GL="glfw")
    args = ["--model", str(POLICY / "final_model.zip"), "--normalize", str(POLICY / "vec_normalize.pkl")]
    args += ["--seconds", "1", "--deterministic", "--hold-at-end", *extra]
    proc = subprocess.Popen(
        [sys.executable, PLAYER, *args],
        cwd=REPO,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    image, lines = None, []
    try:
        for line in proc.stdout:  # the player says where its 3D view is, then waits for a line
            lines.append(line)
            if line.startswith("holding the window; viewport"):
                time.sleep(settle)  # the viewer draws the last synced state
                viewport = tuple(int(v) for v in line.split()[4:]) or None
                image = window_image(display, viewport=viewport)
                proc.stdin.write("\n")
                proc.stdin.flush()
                break
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    return subprocess.CompletedProcess(proc.args, proc.returncode, "".join(lines) + out, err), image


def colour_masks(image: np.ndarray):
    rgb = image.astype(int)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    orange = (r >= 90) & (r > 1.5 * g) & (g > 1.5 * b + 5)  # the trunk, rgba 0.85 0.45 0.1, lit or shaded
    blue = (b >= 120) & (b > 1.4 * r) & (b > 1.1 * g)  # the side-by-side baseline robot
    return rgb, orange, blue


def test_viewer_window_shows_the_robot_and_says_its_pace(xvfb_display):
    proc, shot = play_in_window(xvfb_display)
    assert proc.returncode == 0, proc.stderr[-2000:]
    pace = re.search(r"ran at (\d+\.\d+)x real time", proc.stdout)
    assert pace, proc.stdout
    assert 0.0 < float(pace.group(1)) <= 1.05
    assert shot is not None, proc.stdout

    rgb, orange, _ = colour_masks(shot)
    height, width, _ = rgb.shape
    assert height >= 200 and width >= 200, rgb.shape  # the 3D view, not a sliver
    assert rgb.std() > 10, "the screenshot is blank"
    # the robot fills a sensible part of the view: the trunk alone is several percent of it
    # (the viewer's default free camera on the whole 3.2 m terrain shows it as a few pixels)
    assert orange.mean() > 0.02, f"robot not in view: {orange.mean():.4f} of the pixels are trunk-orange"
    ys, xs = np.nonzero(orange)
    assert 0.3 < xs.mean() / width < 0.7 and 0.3 < ys.mean() / height < 0.7, (
        f"robot off-centre: trunk at ({xs.mean() / width:.2f}, {ys.mean() / height:.2f}) of the view"
    )


def test_side_by_side_draws_the_baseline_robot_in_the_same_view(xvfb_display):
    proc, shot = play_in_window(xvfb_display, "--side-by-side")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert re.search(r"baseline trot from the same spawn: -?\d+\.\d+ m", proc.stdout), proc.stdout
    _, orange, blue = colour_masks(shot)
    assert orange.mean() > 0.01, f"policy robot not in view ({orange.mean():.4f})"
    assert blue.mean() > 0.01, f"baseline robot not in view ({blue.mean():.4f})"


def test_keys_steer_a_commanded_policy_in_the_window(xvfb_display):
    """Left twice asks for +0.5 rad/s, down slows it by 0.05 m/s, and the robot turns left."""
    env = {k: v for k, v in os.environ.items() if k != "WAYLAND_DISPLAY"}
    env.update(DISPLAY=xvfb_display, MUJOCO_GL="glfw")
    args = ["--model", str(TURNING / "final_model.zip"), "--normalize", str(TURNING / "vec_normalize.pkl")]
    proc = subprocess.Popen(
        [sys.executable, PLAYER, *args, "--seconds", "6", "--deterministic"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for_window(xvfb_display)
        press_keys(xvfb_display, "Left", "Left", "Down")
        out, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err[-2000:]
    changes = re.findall(r"command (\d\.\d\d) m/s, ([+-]\d\.\d\d) rad/s", out)
    # presses between two control steps arrive together: the last printed command is all three
    assert changes and changes[-1] == ("0.35", "+0.50"), out
    turned = re.search(r"heading turned ([+-]\d+\.\d+) rad", out)
    # the heading followed the command, to the left: +0.5 rad/s for 6 s asks for 3 rad (2.4 seen)
    assert turned and float(turned.group(1)) > 1.2, out


def test_pacer_reports_slow_playback():
    from walklab.rendering import RealTimePacer

    pacer = RealTimePacer()
    now = [pacer.start]
    pacer._clock = lambda: now[0]
    pacer._sleep = lambda s: now.__setitem__(0, now[0] + s)
    for step in range(1, 101):  # each 0.02 s step takes 0.2 s of wall time: 0.1x real time
        now[0] += 0.2
        pacer.tick(step * 0.02)
    assert pacer.factor == pytest.approx(0.1)
    assert pacer.overlay_line() == "real time 0.10x"
    assert pacer.summary().startswith("ran at 0.10x real time (2.0 s simulated in 20.0 s")

    fast = RealTimePacer()
    now = [fast.start]
    fast._clock = lambda: now[0]
    fast._sleep = lambda s: now.__setitem__(0, now[0] + s)
    for step in range(1, 101):  # faster than real time: the pacer sleeps to hold 1x
        now[0] += 0.001
        fast.tick(step * 0.02)
    assert fast.factor == pytest.approx(1.0)
    assert fast.overlay_line() is None
    assert fast.summary() == "ran at 1.00x real time"


def test_recordings_and_viewer_share_one_camera():
    from envs import camera
    from envs.residual_walk_env import ResidualWalkEnv

    env = ResidualWalkEnv()
    try:
        cam = env.tracking_camera()
        assert (cam.distance, cam.azimuth, cam.elevation) == (camera.DISTANCE, camera.AZIMUTH, camera.ELEVATION)
        assert cam.trackbodyid == camera.body_id(env.model, camera.TRACK_BODY)
    finally:
        env.close()
