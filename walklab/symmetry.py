"""Left-right mirror symmetry of ResidualWalk's observation and action, and PPO's mirror loss.

Reflect the world in the trunk's sagittal plane (y -> -y): the right legs become the left ones
(FR <-> FL, RR <-> RL in the toolkit's leg order), every hip's abduction angle changes sign (the
hips turn about the trunk's x axis), lateral quantities change sign, and the trot's two diagonal
pairs trade places, which is the gait half a cycle on. A walk problem and its mirror image are the
same problem, so a good policy answers a mirrored observation with the mirrored action.

``--mirror-weight W`` adds W x mean |mu(mirror(o)) - mirror(mu(o))|^2 to PPO's loss, on every
minibatch (mu: the policy's mean action, o: the minibatch's observations). The policy itself stays a
plain MLP: nothing changes at inference, export or replay.
"""

from __future__ import annotations

import numpy as np
import torch

from envs.layout import action_structure, observation_structure

LEG_MIRROR = (1, 0, 3, 2)  # FR <-> FL, RR <-> RL
JOINT_SIGNS = (-1.0, 1.0, 1.0)  # hip abduction (about x) flips; thigh and calf (about y) do not
FOOT_SIGNS = (1.0, -1.0, 1.0)  # a foot offset's (x, y, z) in its hip frame


def _legs(per_leg: int, signs) -> tuple[list[int], list[float]]:
    index = [leg * per_leg + k for leg in LEG_MIRROR for k in range(per_leg)]
    return index, [float(s) for _ in range(4) for s in signs]


def _mirror_of_action(config) -> tuple[list[int], list[float]]:
    index, sign = [], []
    for name, size in action_structure(config).items():
        start = len(index)
        if name == "foot_offsets":
            legs, signs = _legs(3, FOOT_SIGNS)
            index += [start + i for i in legs]
            sign += signs
        else:  # stride, frequency and swing height are symmetric; steering is a turn: it flips
            index += [start + i for i in range(size)]
            sign += [-1.0 if name == "steering" else 1.0] * size
    return index, sign


# Per observation part: (index within the part, sign) of its mirror image, for the fixed-size parts.
_PART_MIRRORS = {
    "gravity": ([0, 1, 2], [1.0, -1.0, 1.0]),
    "gyro": ([0, 1, 2], [-1.0, 1.0, -1.0]),  # an angular velocity: roll and yaw rates flip
    "linear_velocity": ([0, 1, 2], [1.0, -1.0, 1.0]),
    "joint_positions": _legs(3, JOINT_SIGNS),
    "joint_velocities": _legs(3, JOINT_SIGNS),
    "phase": ([0, 1], [-1.0, -1.0]),  # half a cycle on: (sin, cos) change sign
    "ground_samples": _legs(3, (1.0, 1.0, 1.0)),
    "heading": ([0, 1, 2], [-1.0, 1.0, -1.0]),  # sin of the yaw, cos of it, the trunk's world y
    "command": ([0, 1], [1.0, -1.0]),  # forward speed, yaw rate
}


def mirror_maps(config) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(observation index, observation sign, action index, action sign): the mirror of a vector v
    is ``sign * v[index]``, for the observation and action of `config` (history included)."""
    action = _mirror_of_action(config)
    current = []  # the current observation's map, repeated by the history
    obs_index, obs_sign = [], []
    for name, size in observation_structure(config).items():
        start = len(obs_index)
        if name in _PART_MIRRORS:
            index, sign = _PART_MIRRORS[name]
        elif name in ("previous_action", "filtered_action", "action_history"):
            index = [k * len(action[0]) + i for k in range(size // len(action[0])) for i in action[0]]
            sign = action[1] * (size // len(action[0]))
        elif name == "observation_history":
            width = len(current)
            index = [k * width + i for k in range(size // width) for i, _ in current]
            sign = [s for _ in range(size // width) for _, s in current]
        else:
            raise ValueError(f"no mirror image known for the observation part {name!r}")
        obs_index += [start + i for i in index]
        obs_sign += sign
        if name not in ("observation_history", "action_history"):
            current = [(i, s) for i, s in zip(obs_index, obs_sign)]
    return (np.array(obs_index), np.array(obs_sign), np.array(action[0]), np.array(action[1]))


class MirrorLoss:
    """Adds the mirror loss to each of PPO's minibatch updates of `model` (an SB3 PPO on a
    VecNormalize): its policy's ``evaluate_actions`` keeps the minibatch's observations, and its
    optimizer's ``zero_grad`` then leaves the mirror loss's gradient in place, so PPO's own
    ``loss.backward()`` adds to it and the gradient clip and step see the sum."""

    def __init__(self, model, config, weight: float) -> None:
        obs_index, obs_sign, act_index, act_sign = mirror_maps(config)
        self.obs_index, self.obs_sign = torch.as_tensor(obs_index), torch.as_tensor(obs_sign, dtype=torch.float32)
        self.act_index, self.act_sign = torch.as_tensor(act_index), torch.as_tensor(act_sign, dtype=torch.float32)
        self.model, self.weight = model, weight
        self.policy = policy = model.policy
        self._pending = None
        self._evaluate_actions = policy.evaluate_actions
        self._zero_grad = policy.optimizer.zero_grad
        policy.evaluate_actions = self._keep_observations
        policy.optimizer.zero_grad = self._zero_grad_with_mirror

    def _keep_observations(self, obs, actions):
        self._pending = obs
        return self._evaluate_actions(obs, actions)

    def mean_action(self, obs: torch.Tensor) -> torch.Tensor:
        policy = self.policy
        latent = policy.mlp_extractor.forward_actor(policy.extract_features(obs, policy.pi_features_extractor))
        return policy.action_net(latent)

    def mirror_normalized(self, obs: torch.Tensor) -> torch.Tensor:
        """The mirror of normalized observations, normalized as VecNormalize would."""
        stats = self.model.get_vec_normalize_env()
        mean = torch.as_tensor(stats.obs_rms.mean, dtype=torch.float32)
        scale = torch.sqrt(torch.as_tensor(stats.obs_rms.var, dtype=torch.float32) + stats.epsilon)
        raw = obs * scale + mean
        mirrored = raw[:, self.obs_index] * self.obs_sign
        return torch.clamp((mirrored - mean) / scale, -stats.clip_obs, stats.clip_obs)

    def loss(self, obs: torch.Tensor) -> torch.Tensor:
        expected = self.mean_action(obs)[:, self.act_index] * self.act_sign
        return self.weight * ((self.mean_action(self.mirror_normalized(obs)) - expected) ** 2).sum(dim=1).mean()

    def _zero_grad_with_mirror(self, *args, **kwargs):
        self._zero_grad(*args, **kwargs)
        if self._pending is None:
            return
        loss = self.loss(self._pending)
        self._pending = None
        loss.backward()
        self.model.logger.record_mean("train/mirror_loss", loss.item())
