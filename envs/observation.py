"""ResidualWalk-v0's observation: the parts of ``envs.layout.OBSERVATION_PARTS`` in the table's
order, each computed by its ``_obs_<part>`` method (``envs.layout.ObservationTerms``), then the
observation noise of ``randomize`` and the per-sensor noise of ``obs_noise_level`` (envs.perturbations)."""

from __future__ import annotations

import numpy as np

from envs.layout import ObservationState, ObservationTerms
from envs.randomization import observation_noise


class ObservationParts(ObservationTerms):
    """The observation of ``WalkCore`` (a mixin: it reads the core's per-robot arrays).

    ``_obs_terms`` holds the bound ``_obs_<part>`` methods of the configured parts, in order.
    """

    def _ground(self, qpos: np.ndarray, rot: np.ndarray, ids) -> np.ndarray:
        """World z (m) of the 12 ground samples per robot; they turn with each trunk's heading."""
        turn = rot.reshape(-1, 3, 3)[:, :2, :2].transpose(0, 2, 1)
        world_xy = np.matmul(self._ground_points, turn) + qpos[:, None, 0:2]
        return self.ground.at_points(world_xy, ids)

    def _observation(self, ids: np.ndarray, ground: np.ndarray, rot: np.ndarray, yaw: np.ndarray | None) -> np.ndarray:
        """The current observation rows of robots `ids` (without the history of obs_history, which
        ``WalkCore`` appends); `ground` is the world z of their 12 ground samples."""
        p = self.physics
        s = ObservationState(ids, p.qpos[ids], p.qvel[ids], p.sensordata[ids], rot, ground, yaw)
        obs = np.concatenate([part(s) for part in self._obs_terms], axis=1, dtype=np.float32)  # one cast per entry
        if self.config.randomize:
            for k, i in enumerate(ids):
                obs[k] += observation_noise(self.rngs[i], self.current_obs_size)
        if self.perturbations.noisy:  # per-sensor noise (obs_noise_level), from the perturbation stream
            self.perturbations.add_noise(ids, obs)
        return obs
