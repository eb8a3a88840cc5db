"""Velocity commands for N robots: each episode's (forward speed, yaw rate) and the tracked speed.

``Commands`` belongs beside ``envs.walk_core.WalkCore``: the core asks it for the command rows,
feeds it each step's heading speed, and reads back ``tracked`` (the windowed mean speed that
``tracking_velocity`` compares with the command). With commands off every row stays (0, 0).
"""

from __future__ import annotations

import math

import numpy as np

from envs.config import EnvConfig
from envs.layout import N_COMMAND_OBS
from envs.rows import RobotRows

TURN_HORIZON = 20.0  # s: the episode length a turning robot's spawn is placed for (1000 steps)
SPAWN_Y_SHIFT_MAX = 1.0  # m: the largest sideways spawn shift (the terrain's usable half-width is 1.4 m)


class Commands:
    """Per-robot commands and speed windows (``command_speed_window``), declared in the core's `rows`."""

    def __init__(self, config: EnvConfig, n: int, dt: float, rows: RobotRows | None = None):
        self.config = config
        self.enabled = config.commands
        self.dt = dt
        rows = rows if rows is not None else RobotRows(n)
        self.values = rows.array("command", N_COMMAND_OBS)  # (forward m/s, yaw rate rad/s) per robot
        # the commanded heading (rad): 0 (+x) at the start, turning at the commanded yaw rate; the
        # heading cost and observation measure the trunk's yaw from it (0 for ever without a turn)
        self.heading = rows.array("command_heading")
        self.window_steps = max(1, int(round(config.command_speed_window / dt)))
        self.window = rows.array("speed_window", self.window_steps)  # the last heading speeds, a ring per robot
        self.count = rows.array("speed_count", dtype=np.int64)  # steps recorded this episode
        self.tracked = rows.array("tracked_speed")  # what tracking_velocity compares with the command, m/s

    def start(self, i: int, rng, options: dict | None) -> None:
        """Robot i's episode begins: clear its window and draw (or take) its command.

        Drawn from the robot's random stream after every other draw of the reset, so with
        commands off nothing, not even the stream, changes.
        """
        self.window[i] = 0.0
        self.count[i] = 0
        self.tracked[i] = 0.0
        self.heading[i] = 0.0
        if not self.enabled:
            return
        if options is not None and options.get("command") is not None:
            self.values[i] = parse_command(options["command"])
            return
        c = self.config
        speed = rng.uniform(*sorted((c.command_speed_min, c.command_speed_max)))
        yaw_rate = rng.uniform(*sorted((c.command_yaw_rate_min, c.command_yaw_rate_max)))
        if c.command_straight_share > 0.0 and rng.uniform() < c.command_straight_share:
            yaw_rate = 0.0  # one more draw only with a share, so share 0 leaves the stream alone
        self.values[i] = (speed, yaw_rate)

    def advance(self, rows: np.ndarray) -> None:
        """One control step of the commanded heading of the robots `rows`."""
        self.heading[rows] += self.values[rows, 1] * self.dt

    def spawn_y_shift(self, i: int) -> float:
        """How far sideways robot i's spawn moves so that its commanded turn stays on the terrain.

        A robot walking at v with yaw rate w from heading +x follows a circle of radius v / |w|
        towards the side it turns to; over a TURN_HORIZON episode it moves sideways by up to
        r (1 - cos(min(|w| T, pi))). The spawn moves against the turn by half of that, so the
        path is centred on the terrain's centre line (at most SPAWN_Y_SHIFT_MAX). 0 without a turn.
        """
        speed, yaw_rate = self.values[i]
        if not self.enabled or yaw_rate == 0.0:
            return 0.0
        radius = abs(speed) / abs(yaw_rate)
        excursion = radius * (1.0 - math.cos(min(abs(yaw_rate) * TURN_HORIZON, math.pi)))
        return -math.copysign(min(excursion / 2.0, SPAWN_Y_SHIFT_MAX), yaw_rate)

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
