"""Steer a commanded policy from the viewer's keyboard: up and down change the forward speed,
left and right the yaw rate (left turns left), space stops.

``KeyboardCommand.press`` is the MuJoCo viewer's ``key_callback`` (it runs on the viewer's
thread, with GLFW key codes); the playback loop calls ``take`` once per control step and gives
a changed command to the env. The steps are the mini's; on another robot (its run's ``robot``) a
speed step is x sqrt(robot size) and a yaw-rate step / sqrt(robot size), as similar walks scale
(walklab.cli.robot_speed_scale): a press means the same change of gait on every robot.
"""

from __future__ import annotations

import threading

from walklab.cli import robot_speed_scale

# GLFW key codes, as MuJoCo's viewer passes them to key_callback
KEY_RIGHT, KEY_LEFT, KEY_DOWN, KEY_UP, KEY_SPACE = 262, 263, 264, 265, 32
SPEED_STEP = 0.05  # m/s per press of up or down (the mini's; x sqrt(robot size))
YAW_RATE_STEP = 0.25  # rad/s per press of left or right (the mini's; / sqrt(robot size))
DEFAULT_YAW_RATE_LIMIT = 0.5  # rad/s, for a policy trained to walk straight (the mini's; / sqrt(robot size))


class KeyboardCommand:
    """A (forward speed, yaw rate) command within [0, speed_max] x [-yaw_rate_max, yaw_rate_max]."""

    def __init__(self, speed: float, yaw_rate: float, speed_max: float, yaw_rate_max: float, scale: float = 1.0):
        """`scale`: the robot's speed scale (walklab.cli.robot_speed_scale, 1 on the mini) for the key steps."""
        self.speed_step, self.yaw_rate_step = SPEED_STEP * scale, YAW_RATE_STEP / scale
        self.speed_max = max(speed_max, self.speed_step)
        self.yaw_rate_max = yaw_rate_max if yaw_rate_max > 0 else DEFAULT_YAW_RATE_LIMIT / scale
        self._command = (self._speed(speed), self._yaw_rate(yaw_rate))
        self._changed = False
        self._lock = threading.Lock()

    @classmethod
    def for_env(cls, env_config: dict, command) -> KeyboardCommand:
        """Starting at the env's command, bounded by the run's training ranges, stepping at its robot's scale."""
        yaw_limit = max(
            abs(env_config.get("command_yaw_rate_min", 0.0)), abs(env_config.get("command_yaw_rate_max", 0.0))
        )
        robot = env_config.get("robot", "mini")  # runs from before robots walked the mini
        scale = robot_speed_scale(robot)
        speed_max = float(env_config.get("command_speed_max", 0.2))
        return cls(float(command[0]), float(command[1]), speed_max, yaw_limit, scale)

    def _speed(self, value: float) -> float:
        return round(min(self.speed_max, max(0.0, value)), 4)

    def _yaw_rate(self, value: float) -> float:
        return round(min(self.yaw_rate_max, max(-self.yaw_rate_max, value)), 4)

    @property
    def command(self) -> tuple[float, float]:
        return self._command

    def press(self, keycode: int) -> None:
        """The viewer's key callback: arrows step the command, space stops; other keys do nothing."""
        speed, yaw_rate = self._command
        if keycode == KEY_UP:
            speed += self.speed_step
        elif keycode == KEY_DOWN:
            speed -= self.speed_step
        elif keycode == KEY_LEFT:
            yaw_rate += self.yaw_rate_step
        elif keycode == KEY_RIGHT:
            yaw_rate -= self.yaw_rate_step
        elif keycode == KEY_SPACE:
            speed, yaw_rate = 0.0, 0.0
        else:
            return
        with self._lock:
            self._command = (self._speed(speed), self._yaw_rate(yaw_rate))
            self._changed = True

    def take(self) -> tuple[float, float] | None:
        """The command if a key changed it since the last call, else None."""
        with self._lock:
            if not self._changed:
                return None
            self._changed = False
            return self._command
