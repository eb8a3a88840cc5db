"""Read a real window back from an X display, for the viewer tests (tests/test_viewer.py).

The window is found by its title with Debian's ``xdotool`` and its pixels are grabbed with
``mss`` (a maintained screen-capture library), so parts off the screen come back black.
"""

from __future__ import annotations

import subprocess

import mss
import numpy as np


def window_geometry(display: str, title: str = "MuJoCo") -> tuple[int, int, int, int]:
    """(left, top, width, height) on the screen of the largest visible window whose title holds `title`."""
    env = {"DISPLAY": display, "PATH": "/usr/bin:/bin"}
    found = subprocess.run(
        ["xdotool", "search", "--onlyvisible", "--name", title], capture_output=True, text=True, env=env, timeout=10
    )
    best = None
    for window in found.stdout.split():
        shell = subprocess.run(
            ["xdotool", "getwindowgeometry", "--shell", window], capture_output=True, text=True, env=env, timeout=10
        ).stdout
        geometry = dict(line.split("=", 1) for line in shell.split() if "=" in line)
        rect = tuple(int(geometry[k]) for k in ("X", "Y", "WIDTH", "HEIGHT"))
        if best is None or rect[2] * rect[3] > best[2] * best[3]:
            best = rect
    if best is None:
        raise RuntimeError(f"no visible window titled {title!r} on {display}")
    return best


def window_image(display: str, title: str = "MuJoCo", viewport: tuple[int, int, int, int] | None = None) -> np.ndarray:
    """RGB pixels (H, W, 3 uint8) of the window, cropped to `viewport` (left, bottom, width,
    height in pixels from the window's bottom left, as MuJoCo gives it) when one is given."""
    left, top, width, height = window_geometry(display, title)
    with mss.mss(display=display) as screen:
        shot = screen.grab({"left": left, "top": top, "width": width, "height": height})
    rgb = np.asarray(shot)[..., 2::-1]  # BGRA -> RGB
    if viewport is not None:
        v_left, v_bottom, v_width, v_height = viewport
        rgb = rgb[max(0, height - v_bottom - v_height) : height - v_bottom, v_left : v_left + v_width]
    return np.ascontiguousarray(rgb)


def wait_for_window(display: str, title: str = "MuJoCo", timeout: float = 60.0) -> tuple[int, int, int, int]:
    """window_geometry once the window is up (polled), or RuntimeError after `timeout` s."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        try:
            return window_geometry(display, title)
        except RuntimeError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def press_keys(display: str, *keys: str, title: str = "MuJoCo", gap: float = 0.3) -> None:
    """Focus the window titled `title` and press `keys` (X keysym names: Up, Left, space) as real
    key events (XTEST), `gap` s apart."""
    env = {"DISPLAY": display, "PATH": "/usr/bin:/bin"}
    found = subprocess.run(
        ["xdotool", "search", "--onlyvisible", "--name", title], capture_output=True, text=True, env=env, timeout=10
    ).stdout.split()
    if not found:
        raise RuntimeError(f"no visible window titled {title!r} on {display}")
    subprocess.run(["xdotool", "windowfocus", "--sync", found[-1]], env=env, timeout=10, check=True)
    for key in keys:
        subprocess.run(["xdotool", "key", "--delay", str(int(gap * 1000)), key], env=env, timeout=10, check=True)
