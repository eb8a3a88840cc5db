"""Export a trained residual policy to one TorchScript file that runs without SB3 or the .pkl.

The module maps a float32 batch of RAW observations (N, obs_dim) to the deterministic
action (N, n_actions), exactly as `LoadedPolicy.act(obs, deterministic=True)`:
VecNormalize observation normalisation, the SB3 actor network, then clipping to the
action bounds. Command line: `python scripts/export_policy.py MODEL --out policy.pt`;
in Python: `torch.jit.load("policy.pt")(torch.as_tensor(obs[None]))`.
"""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import torch
from torch import nn

from walklab.files import atomic_write_bytes, describe_os_error
from walklab.runs import LoadedPolicy, RunError, open_policy


class ExportedPolicy(nn.Module):
    """Raw observations (N, obs_dim) -> deterministic actions (N, n_actions) clipped to the action bounds."""

    __constants__ = ["obs_dim", "action_dim", "norm_obs", "clip_obs"]

    def __init__(self, features_extractor: nn.Module, policy_net: nn.Module, action_net: nn.Module,
                 obs_mean: np.ndarray, obs_std: np.ndarray, clip_obs: float, norm_obs: bool,
                 action_low: np.ndarray, action_high: np.ndarray):
        super().__init__()
        self.features_extractor = features_extractor
        self.policy_net = policy_net
        self.action_net = action_net
        self.obs_dim = int(obs_mean.shape[0])
        self.action_dim = int(action_low.shape[0])
        self.norm_obs = bool(norm_obs)
        self.clip_obs = float(clip_obs)
        # float64 like VecNormalize's numpy arithmetic, so the normalised input is bit-identical
        self.register_buffer("obs_mean", torch.as_tensor(obs_mean, dtype=torch.float64))
        self.register_buffer("obs_std", torch.as_tensor(obs_std, dtype=torch.float64))
        self.register_buffer("action_low", torch.as_tensor(action_low, dtype=torch.float32))
        self.register_buffer("action_high", torch.as_tensor(action_high, dtype=torch.float32))

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        if obs.dim() != 2 or obs.size(1) != self.obs_dim:
            raise ValueError("expected observations of shape (N, " + str(self.obs_dim) + ")")
        x = obs
        if self.norm_obs:
            x = torch.clamp((obs.double() - self.obs_mean) / self.obs_std, -self.clip_obs, self.clip_obs)
        mean_actions = self.action_net(self.policy_net(self.features_extractor(x.float())))
        return torch.minimum(torch.maximum(mean_actions, self.action_low), self.action_high)


def policy_module(loaded: LoadedPolicy) -> ExportedPolicy:
    """The export module for a loaded policy; RunError when the policy is not a plain MLP Box policy."""
    from gymnasium import spaces
    from stable_baselines3.common.distributions import DiagGaussianDistribution
    from stable_baselines3.common.policies import ActorCriticPolicy
    from stable_baselines3.common.running_mean_std import RunningMeanStd

    policy, stats = loaded.model.policy, loaded.vec_normalize
    if not (isinstance(policy, ActorCriticPolicy) and isinstance(policy.action_dist, DiagGaussianDistribution)
            and not policy.squash_output and isinstance(policy.observation_space, spaces.Box)
            and len(policy.observation_space.shape) == 1 and isinstance(policy.action_space, spaces.Box)
            and isinstance(stats.obs_rms, RunningMeanStd)):
        raise RunError(f"cannot export {loaded.model_path}: only PPO MlpPolicy models with Box observations "
                       "and Gaussian actions (no gSDE, no dict observations) are supported")
    policy.set_training_mode(False)
    obs_std = np.sqrt(stats.obs_rms.var + stats.epsilon)  # the same numpy expression as VecNormalize
    return ExportedPolicy(policy.pi_features_extractor, policy.mlp_extractor.policy_net, policy.action_net,
                          np.asarray(stats.obs_rms.mean, dtype=np.float64), obs_std, stats.clip_obs,
                          stats.norm_obs, policy.action_space.low.ravel(), policy.action_space.high.ravel()).eval()


def export_torchscript(model_path: str | Path, stats_path: str | Path | None, out_path: str | Path) -> Path:
    """Write the TorchScript policy for an SB3 model and its VecNormalize statistics; return the path."""
    _, env, loaded = open_policy(model_path, stats_path)  # validates model, statistics and observation sizes
    env.close()
    scripted = torch.jit.script(policy_module(loaded))
    out_path = Path(out_path)
    # Serialise in memory first: torch.jit.save straight to a file aborts the whole process
    # (a C++ exception, exit 134) when the disk fills. Python then writes the bytes atomically,
    # so a failed write is one OSError and leaves neither a partial file nor a temporary one.
    buffer = io.BytesIO()
    torch.jit.save(scripted, buffer)
    try:
        atomic_write_bytes(out_path, buffer.getvalue())
    except OSError as exc:
        raise RunError(f"cannot write {out_path} ({describe_os_error(exc)}); choose a writable output path "
                       "with free space") from exc
    return out_path


def sample_observations(env, loaded: LoadedPolicy, n: int = 200, seed: int = 0) -> np.ndarray:
    """`n` observations (n, obs_dim) from seeded deterministic rollouts, a new seed after each episode end."""
    from envs.rollout import run_episode

    observations: list[np.ndarray] = []
    while len(observations) < n:
        episode = run_episode(env, loaded.policy(deterministic=True), seed, seconds=(n - len(observations)) * env.dt,
                              record_observations=True)
        observations.extend(episode.observations)
        seed += 1
    return np.asarray(observations[:n], dtype=np.float32)


def max_difference(module, loaded: LoadedPolicy, observations: np.ndarray) -> float:
    """Largest |module action - LoadedPolicy.act action| over the observations, one call per observation."""
    with torch.no_grad():
        exported = module(torch.as_tensor(observations, dtype=torch.float32)).numpy()
    reference = np.stack([loaded.act(obs, deterministic=True) for obs in observations])
    return float(np.max(np.abs(exported - reference)))
