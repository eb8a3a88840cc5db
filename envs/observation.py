"""ResidualWalk-v0's observation: what each robot's policy sees, part by part (envs/layout.py
names the parts and their order)."""

from __future__ import annotations

import math

import numpy as np

from envs import layout as L
from envs.randomization import observation_noise
from envs.rows import libm


class ObservationParts:
    """The observation of ``WalkCore`` (a mixin: it reads the core's per-robot arrays)."""

    def _ground(self, qpos: np.ndarray, rot: np.ndarray, ids) -> np.ndarray:
        """World z (m) of the 12 ground samples per robot; they turn with each trunk's heading."""
        turn = rot.reshape(-1, 3, 3)[:, :2, :2].transpose(0, 2, 1)
        world_xy = np.matmul(self._ground_points, turn) + qpos[:, None, 0:2]
        return self.ground.at_points(world_xy, ids)

    def _observation(self, ids: np.ndarray, ground: np.ndarray, rot: np.ndarray, yaw: np.ndarray | None) -> np.ndarray:
        """The observation rows of robots `ids`; `ground` is the world z of their 12 ground samples."""
        p, c = self.physics, self.config
        qpos, qvel, sensors = p.qpos[ids], p.qvel[ids], p.sensordata[ids]
        steps = self.step_count[ids]
        if self.phase_from_cycles:
            phase = 2 * np.pi * (steps * self.dt / self.gait.cycle_time + self.extra_cycles[ids])
        else:
            phase = 2 * np.pi * steps * self.dt / self.gait.cycle_time
        parts = [
            -rot[:, 6:9],  # world -z in the trunk frame (row 2 of the rotation matrix)
            sensors[:, self._sensor["gyro"]],
            sensors[:, self._sensor["linear_velocity"]],
            qpos[:, self._joint_qpos],  # the robot's addresses (envs.robot)
            qvel[:, self._joint_qvel],
            np.sin(phase)[:, None],
            np.cos(phase)[:, None],
            self.prev_action[ids],
            self.residual[ids],
        ]
        if c.terrain_samples:
            parts.append(ground - qpos[:, 2:3])
        if c.heading_observation:  # the yaw from the commanded heading (+x without a turn)
            relative = yaw - self.commands.heading[ids]
            parts += [libm(math.sin, relative)[:, None], libm(math.cos, relative)[:, None], qpos[:, 1:2]]
        if c.commands:
            parts.append(self.commands.values[ids])
        obs = np.concatenate(parts, axis=1, dtype=np.float32)
        if c.randomize:
            for k, i in enumerate(ids):
                obs[k] += observation_noise(self.rngs[i], self.obs_size)
        return obs
