"""ResidualWalk-v0's reward terms: one ``_reward_<term>`` method per term of ``RewardWeights``,
signed (+ rewards, - costs), one value per robot stepped. ``WalkCore`` weights and sums them; a
term weighted 0 is not computed.

Lengths in a term are counted in the robot's own size (``Robot.size``: its leg length over the
mini's), like every length of a config: 0.4 m/s on Go1 (size 4.26) earns what 0.094 m/s earns on
the mini, so a weight means the same walk on every robot. On the mini (size 1) the unit is the metre.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from envs import layout as L
from envs.rows import libm, row_dot

ROLL_RATE_SCALE = 0.1  # robot sizes per rad (m on the mini): roll rate's share of the lateral_stability cost


class StepState(NamedTuple):
    """What the reward terms read about the step just taken, for the robots stepped (rows)."""

    x_velocity: np.ndarray  # m/s, world x
    y_velocity: np.ndarray  # m/s, world y
    body_height: np.ndarray  # m above the ground around the hips
    tilt: np.ndarray  # rad
    action: np.ndarray  # the clipped actions
    qpos: np.ndarray
    qvel: np.ndarray
    rot: np.ndarray  # trunk rotation matrices, (rows, 9)
    yaw: np.ndarray | None  # rad, when something reads it
    rows: Any  # index of these robots in the core (a slice for all of them)
    fell: np.ndarray  # bool: this step ends the episode as a fall (height or tilt; not the terrain's side)


class RewardTerms:
    """The reward terms of ``WalkCore`` (a mixin: they read the core's per-robot arrays)."""

    def _yaw_rate(self, s: StepState) -> np.ndarray:
        """Trunk angular velocity about world z (rad/s); the free joint's qvel[3:6] is in the trunk frame."""
        return row_dot(s.rot[:, 6:9], s.qvel[:, 3:6])

    def _reward_forward_velocity(self, s: StepState) -> np.ndarray:
        """(+) trunk velocity along world x, robot sizes per second (m/s on the mini)."""
        return s.x_velocity / self.length_unit

    def _reward_lateral_stability(self, s: StepState) -> np.ndarray:
        """(-) |trunk velocity along world y| + 0.1 m/rad x |roll rate|: sideways drift and roll, in robot sizes."""
        return -(np.abs(s.y_velocity) / self.length_unit + ROLL_RATE_SCALE * np.abs(s.qvel[:, 3]))

    def _reward_energy(self, s: StepState) -> np.ndarray:
        """(-) mean squared filtered foot residual r[0:12]: how much correction is applied."""
        feet = self.residual[s.rows, : L.N_ACTIONS]
        return -row_dot(feet, feet) / L.N_ACTIONS

    def _reward_smoothness(self, s: StepState) -> np.ndarray:
        """(-) mean squared change of the action since the last step."""
        delta = s.action - self.prev_action[s.rows]
        return -row_dot(delta, delta) / self.n_actions

    def _reward_alive(self, s: StepState) -> np.ndarray:
        """(+) 1 per step while not fallen."""
        return np.ones(len(s.tilt))

    def _reward_fall(self, s: StepState) -> np.ndarray:
        """(-) 1 on the step that ends the episode as a fall (too low or too tilted), else 0."""
        return -s.fell.astype(float)

    def _reward_heading(self, s: StepState) -> np.ndarray:
        """(-) 1 - cos(yaw - commanded heading): off the commanded heading (0 rad without a turn)."""
        return -(1.0 - libm(math.cos, s.yaw - self.commands.heading[s.rows]))

    def _reward_centre_line(self, s: StepState) -> np.ndarray:
        """(-) |world y of the trunk|: away from the terrain's long centre line, in robot sizes."""
        return -np.abs(s.qpos[:, 1]) / self.length_unit

    def _reward_height(self, s: StepState) -> np.ndarray:
        """(-) |trunk height above the ground - (gait.body_height + height_target_offset)|, in robot sizes."""
        return -np.abs(s.body_height - self._height_target) / self.length_unit

    def _reward_orientation(self, s: StepState) -> np.ndarray:
        """(-) 1 - cos(tilt), tilt = angle between the trunk's up axis and world up."""
        return -(1.0 - libm(math.cos, s.tilt))

    def _reward_tracking_velocity(self, s: StepState) -> np.ndarray:
        """(+) exp(-(speed error / command_speed_sigma)^2), laplace: exp(-|error| / sigma); 0 without commands."""
        if not self.config.commands:
            return np.zeros(len(s.tilt))
        error = (self.commands.tracked[s.rows] - self.commands.values[s.rows, 0]).tolist()
        sigma = self.config.command_speed_sigma
        if self.config.command_speed_kernel == "laplace":
            return np.array([math.exp(-abs(e) / sigma) for e in error])  # 1 on the command
        return np.array([math.exp(-((e / sigma) ** 2)) for e in error])

    def _reward_tracking_yaw_rate(self, s: StepState) -> np.ndarray:
        """(+) exp(-((yaw_rate - command_yaw_rate) / command_yaw_rate_sigma)^2); 0 without commands."""
        if not self.config.commands:
            return np.zeros(len(s.tilt))
        error = (self._yaw_rate(s) - self.commands.values[s.rows, 1]).tolist()
        sigma = self.config.command_yaw_rate_sigma
        return np.array([math.exp(-((e / sigma) ** 2)) for e in error])
