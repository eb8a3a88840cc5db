"""Velocity commands for N robots: each episode's (forward speed, yaw rate) and the tracked speed.

``Commands`` belongs beside ``envs.walk_core.WalkCore``: the core asks it for the command rows,
feeds it each step's heading speed, and reads back ``tracked`` (the windowed mean speed that
``tracking_velocity`` compares with the command). With commands off every row stays (0, 0).
"""

from __future__ import annotations

import numpy as np

from envs.config import EnvConfig
from envs.layout import N_COMMAND_OBS


class Commands:
    """Per-robot commands and speed windows (``command_speed_window``)."""

    def __init__(self, config: EnvConfig, n: int, dt: float):
        self.config = config
        self.enabled = config.commands
        self.values = np.zeros((n, N_COMMAND_OBS))  # (forward m/s, yaw rate rad/s) per robot
        self.window_steps = max(1, int(round(config.command_speed_window / dt)))
        self.window = np.zeros((n, self.window_steps))  # the last heading speeds, a ring per robot
        self.count = np.zeros(n, dtype=np.int64)  # steps recorded this episode
        self.tracked = np.zeros(n)  # what tracking_velocity compares with the command, m/s

    def start(self, i: int, rng, options: dict | None) -> None:
        """Robot i's episode begins: clear its window and draw (or take) its command.

        Drawn from the robot's random stream after every other draw of the reset, so with
        commands off nothing, not even the stream, changes.
        """
        self.window[i] = 0.0
        self.count[i] = 0
        self.tracked[i] = 0.0
        if not self.enabled:
            return
        if options is not None and options.get("command") is not None:
            self.values[i] = parse_command(options["command"])
            return
        c = self.config
        speed = rng.uniform(*sorted((c.command_speed_min, c.command_speed_max)))
        yaw_rate = rng.uniform(*sorted((c.command_yaw_rate_min, c.command_yaw_rate_max)))
        self.values[i] = (speed, yaw_rate)

    def track(self, heading_speed: np.ndarray, rows: np.ndarray) -> None:
        """Record this step's heading speed of the robots `rows`; ``tracked`` becomes the mean of
        each window's filled part (the speed itself with a one-step window)."""
        if self.window_steps == 1:
            self.tracked[rows] = heading_speed
            return
        slot = self.count[rows] % self.window_steps
        self.window[rows, slot] = heading_speed
        self.count[rows] += 1
        self.tracked[rows] = self.window[rows].sum(axis=1) / np.minimum(self.count[rows], self.window_steps)


def parse_command(value) -> np.ndarray:
    """``options["command"]``: (forward m/s, yaw rad/s), or a forward speed alone (yaw 0)."""
    command = np.asarray(value, dtype=np.float64).reshape(-1)
    if command.size == 1:
        command = np.array([command[0], 0.0])
    if command.size != N_COMMAND_OBS or not np.isfinite(command).all():
        raise ValueError(f"options['command'] must be (forward m/s, yaw rad/s), got {value!r}")
    return command
