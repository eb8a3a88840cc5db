"""Observation history (issue 36): each robot's last k observations and actions, ``EnvConfig.obs_history``.

With ``obs_history`` k > 0 the observation is the current one (the parts of
``envs.layout.OBSERVATION_PARTS``, sensor noise included) followed by ``envs.layout.HISTORY_PARTS``.
Writing o_t for the current observation after t steps of the episode (o_0 at reset) and a_t for the
action the policy sent in answer to o_t (clipped to [-1, 1], as ``previous_action``: the action
sent, not the one an action latency lets through), the observation after t steps is

    o_t, o_{t-1}, o_{t-2}, ..., o_{t-k}, a_{t-1}, a_{t-2}, ..., a_{t-k}

newest first: slot 0 is the last step's. Each o is exactly what the policy was given then, noise
included (no noise is added again). Before the episode is k steps old the missing observations are
its first, o_0 (the robot stood still before it), and the missing actions zeros (the plain trot's,
as ``previous_action`` at reset). The actions are as sent, without the observation noise of
``randomize`` (which the ``previous_action`` part gets). a_{t-1} is the current ``previous_action``
and each o_j holds a_{j-1}: the action history is the issue's "last k actions" as a block of its
own, noise-free.

Each robot's history is two rows of the core's ``RobotRows`` (declared once, here; snapshots,
restores, pickles and copies carry them); a reset fills them (``start``), each step of a robot
that stepped pushes the last observation and action into them (``push``). A robot whose step
did not happen (a non-finite action, a waiting robot of the vector env's next-step autoreset)
or failed (a physics error: its episode ends) keeps its history. With k = 0 (the default) the
rows are empty and the core does nothing per step.
"""

from __future__ import annotations

import numpy as np


class ObservationHistory:
    """The last k observations and actions of a core's N robots (rows declared in `rows`)."""

    def __init__(self, k: int, obs_size: int, n_actions: int, rows):
        self.k, self.on = k, bool(k)
        self.obs_size, self.n_actions = obs_size, n_actions  # one slot of each: the current observation, an action
        self.observations = rows.array("observation_history", k * obs_size, dtype=np.float32)  # newest first
        self.actions = rows.array("action_history", k * n_actions)  # newest first

    def start(self, ids: np.ndarray, first: np.ndarray) -> None:
        """Robots `ids` start an episode whose first (current) observations are `first` (m, obs_size)."""
        self.observations[ids] = np.tile(first, self.k)
        self.actions[ids] = 0.0

    def push(self, ids: np.ndarray, last: np.ndarray, action: np.ndarray) -> None:
        """Robots `ids` stepped: `last` (m, obs_size) is the current observation they were given before,
        `action` (m, n_actions) the clipped action they sent in answer; both become slot 0."""
        o, a = self.obs_size, self.n_actions
        self.observations[ids] = np.concatenate([last, self.observations[ids, : (self.k - 1) * o]], axis=1)
        self.actions[ids] = np.concatenate([action, self.actions[ids, : (self.k - 1) * a]], axis=1)

    def observation(self, ids: np.ndarray, current: np.ndarray) -> np.ndarray:
        """The observations of robots `ids`: their `current` ones (m, obs_size) and their histories."""
        return np.concatenate([current, self.observations[ids], self.actions[ids]], axis=1, dtype=np.float32)
