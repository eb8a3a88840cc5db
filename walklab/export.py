"""Export a trained residual policy to one TorchScript or ONNX file that runs without SB3 or the .pkl.

The module maps a float32 batch of RAW observations (N, obs_dim) to the deterministic
action (N, n_actions), exactly as `LoadedPolicy.act(obs, deterministic=True)`:
VecNormalize observation normalisation, the SB3 actor network, then clipping to the
action bounds. Command line: `python scripts/export_policy.py MODEL --out policy.pt`;
in Python: `torch.jit.load("policy.pt")(torch.as_tensor(obs[None]))`.

ONNX (``--format onnx`` or an ``.onnx`` --out; :func:`export_onnx`, torch.onnx's
torch.export-based exporter, opset 18) computes the same, with a dynamic batch size:
- a policy trained without commands has one input, ``observation`` float32 (N, obs_dim);
- a policy trained with commands (``EnvConfig.commands``) has two: ``observation`` float32
  (N, obs_dim - 2), the env's observation WITHOUT its command entries, and ``command``
  float32 (N, 2) = (forward speed m/s, yaw rate rad/s), the env observation's
  ``observation_slices(config)["command"]`` (its last two entries without ``obs_history``). Inside,
  the command is put back at its slice to make the policy's observation, so a controller sets the
  command as an input of its own;
- one output, ``action`` float32 (N, n_actions).
A policy trained with ``obs_history`` k > 0 (``envs.history``) stays stateless: its observation
input is the env's whole observation, history included (obs_dim follows), and the controller keeps
the last k observations and actions itself (the past commands sit in the history's slots, in the
``observation`` input).
The model's metadata (``metadata_props``) records obs_dim, action_dim, command_slice ("" or
"start:stop" of the full observation), obs_history (k, "0" without) with history_slice ("" or
"start:stop": where the history parts sit in the full observation), the robot (its name or folder) and
the source model. Run it
with onnxruntime:
``ort.InferenceSession("policy.onnx").run(None, {"observation": obs, "command": cmd})``.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import torch
from torch import nn

from envs.layout import HISTORY_PARTS, observation_slices
from envs.rollout import run_episode
from walklab.files import atomic_write_bytes, describe_os_error
from walklab.policies import LoadedPolicy, open_policy
from walklab.runs import RunError


class ExportedPolicy(nn.Module):
    """Raw observations (N, obs_dim) -> deterministic actions (N, n_actions) clipped to the action bounds."""

    __constants__ = ["obs_dim", "action_dim", "norm_obs", "clip_obs"]

    def __init__(
        self,
        features_extractor: nn.Module,
        policy_net: nn.Module,
        action_net: nn.Module,
        obs_mean: np.ndarray,
        obs_std: np.ndarray,
        clip_obs: float,
        norm_obs: bool,
        action_low: np.ndarray,
        action_high: np.ndarray,
    ):
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
    if not (
        isinstance(policy, ActorCriticPolicy)
        and isinstance(policy.action_dist, DiagGaussianDistribution)
        and not policy.squash_output
        and isinstance(policy.observation_space, spaces.Box)
        and len(policy.observation_space.shape) == 1
        and isinstance(policy.action_space, spaces.Box)
        and isinstance(stats.obs_rms, RunningMeanStd)
    ):
        raise RunError(
            f"cannot export {loaded.model_path}: only PPO MlpPolicy models with Box observations "
            "and Gaussian actions (no gSDE, no dict observations) are supported"
        )
    policy.set_training_mode(False)
    obs_std = np.sqrt(stats.obs_rms.var + stats.epsilon)  # the same numpy expression as VecNormalize
    return ExportedPolicy(
        policy.pi_features_extractor,
        policy.mlp_extractor.policy_net,
        policy.action_net,
        np.asarray(stats.obs_rms.mean, dtype=np.float64),
        obs_std,
        stats.clip_obs,
        stats.norm_obs,
        policy.action_space.low.ravel(),
        policy.action_space.high.ravel(),
    ).eval()


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
        raise RunError(
            f"cannot write {out_path} ({describe_os_error(exc)}); choose a writable output path with free space"
        ) from exc
    return out_path


def sample_observations(env, loaded: LoadedPolicy, n: int = 200, seed: int = 0) -> np.ndarray:
    """`n` observations (n, obs_dim) from seeded deterministic rollouts, a new seed after each episode end."""
    observations: list[np.ndarray] = []
    while len(observations) < n:
        episode = run_episode(
            env,
            loaded.policy(deterministic=True),
            seed,
            seconds=(n - len(observations)) * env.dt,
            record_observations=True,
        )
        observations.extend(episode.observations)
        seed += 1
    return np.asarray(observations[:n], dtype=np.float32)


def max_difference(module, loaded: LoadedPolicy, observations: np.ndarray) -> float:
    """Largest |module action - LoadedPolicy.act action| over the observations, one call per observation."""
    with torch.no_grad():
        exported = module(torch.as_tensor(observations, dtype=torch.float32)).numpy()
    reference = np.stack([loaded.act(obs, deterministic=True) for obs in observations])
    return float(np.max(np.abs(exported - reference)))


ONNX_OPSET = 18


class CommandInputPolicy(nn.Module):
    """(observation without the command (N, obs_dim - k), command (N, k)) -> actions: the command as its own input.

    The command goes back in at its slice of the env's observation.
    """

    def __init__(self, policy: ExportedPolicy, command: slice):
        super().__init__()
        self.policy = policy
        self.command_start = command.start
        self.command_last = command.stop == policy.obs_dim  # nothing after the command

    def forward(self, observation: torch.Tensor, command: torch.Tensor) -> torch.Tensor:
        if self.command_last:
            return self.policy(torch.cat([observation, command], dim=1))
        head, tail = observation[:, : self.command_start], observation[:, self.command_start :]
        return self.policy(torch.cat([head, command, tail], dim=1))


def command_slice(env) -> slice | None:
    """Where the command sits in the env's observation (its named slice), or None without commands."""
    return observation_slices(env.config).get("command")


def history_slice(env) -> slice | None:
    """Where the observation history (obs_history) sits in the env's observation, or None without it."""
    slices = observation_slices(env.config)
    parts = [slices[part.name] for part in HISTORY_PARTS if part.name in slices]
    return slice(parts[0].start, parts[-1].stop) if parts else None


def without_command(observations: np.ndarray, commands: slice) -> np.ndarray:
    """Full env observations (N, obs_dim) without their command entries: the ONNX ``observation`` input."""
    return np.concatenate([observations[:, : commands.start], observations[:, commands.stop :]], axis=1)


def export_onnx(model_path: str | Path, stats_path: str | Path | None, out_path: str | Path) -> Path:
    """Write the ONNX policy (see the module doc for its inputs) for an SB3 model and its statistics."""
    import logging
    import warnings

    import onnx

    _, env, loaded = open_policy(model_path, stats_path)
    commands, history, k = command_slice(env), history_slice(env), env.config.obs_history
    env.close()
    module = policy_module(loaded)
    batch = torch.export.Dim("batch", min=1)
    if commands is None:
        wrapped, names = module, ["observation"]
        example = (torch.zeros(2, module.obs_dim),)
        shapes = {"obs": {0: batch}}
    else:
        wrapped, names = CommandInputPolicy(module, commands).eval(), ["observation", "command"]
        k = commands.stop - commands.start
        example = (torch.zeros(2, module.obs_dim - k), torch.zeros(2, k))
        shapes = {"observation": {0: batch}, "command": {0: batch}}
    quiet = logging.getLogger("torch.onnx._internal.exporter._registration")  # "torchvision is not installed"
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            program = torch.onnx.export(
                wrapped,
                example,
                dynamo=True,
                input_names=names,
                output_names=["action"],
                dynamic_shapes=shapes,
                opset_version=ONNX_OPSET,
                optimize=True,
                verbose=False,
            )
    except Exception as exc:  # torch.export / onnxscript failures
        raise RunError(f"cannot export {model_path} to ONNX ({type(exc).__name__}: {exc})") from exc
    finally:
        quiet.setLevel(level)
    proto = program.model_proto
    onnx.helper.set_model_props(
        proto,
        {
            "obs_dim": str(module.obs_dim),
            "action_dim": str(module.action_dim),
            "command_slice": "" if commands is None else f"{commands.start}:{commands.stop}",
            "obs_history": str(k),
            "robot": str(env.config.robot),
            "history_slice": "" if history is None else f"{history.start}:{history.stop}",
            "source_model": str(model_path),
        },
    )
    out_path = Path(out_path)
    try:
        atomic_write_bytes(out_path, proto.SerializeToString())
    except OSError as exc:
        raise RunError(
            f"cannot write {out_path} ({describe_os_error(exc)}); choose a writable output path with free space"
        ) from exc
    return out_path


def onnx_actions(session, observations: np.ndarray, commands: slice | None) -> np.ndarray:
    """Run an onnxruntime session on full env observations (N, obs_dim), splitting off the command."""
    observations = np.asarray(observations, dtype=np.float32)
    if commands is None:
        return session.run(None, {"observation": observations})[0]
    return session.run(
        None,
        {
            "observation": without_command(observations, commands),
            "command": np.ascontiguousarray(observations[:, commands]),
        },
    )[0]
