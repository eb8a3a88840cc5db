"""A trained policy and the env it is evaluated on, rebuilt from its run's config.json."""

from __future__ import annotations

import functools
import json
import pickle
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from stable_baselines3 import PPO

from envs.residual_walk_env import ResidualWalkEnv
from envs.robot_sim import TerrainFileError
from walklab.run_config import EVALUATION_SETTINGS, RunError, env_config_from_record, fixed_command, portable_path
from walklab.runs import RUN_ID_KEY, RunDir, stats_path_for


@functools.cache
def _terrain_error_type():
    class RunTerrainError(RunError, TerrainFileError):
        """A run's terrain PNG is missing or unreadable: both a RunError and a TerrainFileError,
        so every script that catches either gives one line."""

    return RunTerrainError


def make_eval_env(config: dict, terrain: str | Path | None = None, render_mode: str | None = None, **overrides):
    """A single ResidualWalkEnv as configured for training (no time limit wrapper), but with nominal
    physics and the default fall thresholds: domain randomisation and a stricter (or looser)
    ``max_tilt`` / ``min_body_height`` are training aids, so evaluations compare every policy on
    the same robot with one definition of a fall, unless the overrides say otherwise."""
    env_config = env_config_from_record(config, terrain)
    try:
        return ResidualWalkEnv(env_config, render_mode=render_mode, **{**EVALUATION_SETTINGS, **overrides})
    except TerrainFileError as exc:
        if terrain is not None:
            raise
        raise _terrain_error_type()(f"the run's recorded terrain does not load: {exc}") from exc
    except (TypeError, ValueError) as exc:
        raise RunError(f"config.json's env settings do not build the env: {exc}") from exc


@dataclass
class LoadedPolicy:
    model: Any  # stable_baselines3 PPO
    vec_normalize: Any  # VecNormalize with the training statistics (no venv attached)
    model_path: Path
    stats_path: Path

    def act(self, obs: np.ndarray, deterministic: bool = True) -> np.ndarray:
        action, _ = self.model.predict(
            self.vec_normalize.normalize_obs(obs).astype(np.float32), deterministic=deterministic
        )
        return action

    def policy(self, deterministic: bool = True) -> Callable[[np.ndarray], np.ndarray]:
        return lambda obs: self.act(obs, deterministic)

    def act_rows(self, obs: np.ndarray) -> np.ndarray:
        """Deterministic actions for the observation rows `obs` (n, obs_dim), each bit for bit
        what :meth:`act` gives for that row alone.

        A batch through torch's ``Linear`` is not: a matrix product of n rows sums in another
        order than one row's. Each row goes through its own (1 x k) product here (``baddbmm``
        over the rows), which is the one-row kernel, then SB3's clip to the action space.
        """
        policy = self.model.policy
        x = torch.as_tensor(self.vec_normalize.normalize_obs(obs).astype(np.float32))[:, None, :]

        def linear(layer, h):
            n = h.shape[0]
            return torch.baddbmm(layer.bias.expand(n, 1, -1), h, layer.weight.T.unsqueeze(0).expand(n, -1, -1))

        with torch.no_grad():
            h = policy.pi_features_extractor(x[:, 0, :])[:, None, :]  # Flatten
            for layer in policy.mlp_extractor.policy_net:
                h = linear(layer, h) if isinstance(layer, torch.nn.Linear) else layer(h)
            actions = linear(policy.action_net, h)[:, 0, :].numpy()
        space = self.model.action_space
        return np.clip(actions, space.low, space.high)


def read_statistics(stats_path: str | Path):
    """The VecNormalize pickled in `stats_path` (no venv attached); RunError when missing or unreadable."""
    stats_path = Path(stats_path)
    if not stats_path.is_file():
        raise RunError(f"normalization file not found: {stats_path}")
    try:
        with open(stats_path, "rb") as fh:
            return pickle.load(fh)
    except Exception as exc:
        raise RunError(
            f"cannot read normalization file {stats_path} ({type(exc).__name__}); "
            "give the vec_normalize.pkl saved with this model"
        ) from exc


def _model_run_id(model_path: Path) -> str | None:
    try:
        with zipfile.ZipFile(model_path) as archive:
            run_id = json.loads(archive.read("data")).get(RUN_ID_KEY)
    except (OSError, KeyError, ValueError, AttributeError, zipfile.BadZipFile):
        return None
    return run_id if isinstance(run_id, str) and run_id else None


def _run_of(path: Path, embedded: str | None) -> tuple[str | None, Path | None, str]:
    """(fingerprint, run directory, name for messages) of a saved file: the fingerprint it carries,
    else its run directory's (config.json beside it or in a parent: checkpoints/ -> the run)."""
    try:
        run = RunDir.of_model(path)
    except RunError:
        run = None
    own = run.run_id() if run is not None else None
    run_id = embedded or own
    if run is not None and run_id == own:
        return run_id, run.path, f"run {portable_path(run.path)}"
    return run_id, run.path if run is not None else None, f"run {run_id or 'unknown'}"


def check_same_run(model_path: str | Path, stats_path: str | Path, statistics: Any = None) -> None:
    """RunError (one line naming both files) when the statistics come from another run than the model.

    A run is known by its fingerprint (``run_id``: written to config.json when the run is created,
    carried by every model and statistics file it saves), or for files saved before fingerprints,
    by the run directory whose config.json lies beside the file (or above it: checkpoints/). Files
    with no way to tell (loose files, no config.json above them) are accepted. `statistics`: the
    already unpickled VecNormalize, to save reading `stats_path` again."""
    model_path, stats_path = Path(model_path), Path(stats_path)
    if not model_path.is_file():
        raise RunError(f"model file not found: {model_path}")
    if statistics is None:
        statistics = read_statistics(stats_path)
    stats_embedded = getattr(statistics, "__dict__", {}).get(RUN_ID_KEY)  # not getattr: VecNormalize forwards it
    model_id, model_dir, model_run = _run_of(model_path, _model_run_id(model_path))
    stats_id, stats_dir, stats_run = _run_of(stats_path, stats_embedded if isinstance(stats_embedded, str) else None)
    if model_id and stats_id:
        same = model_id == stats_id
    elif model_dir is not None and stats_dir is not None:
        same = model_dir.resolve() == stats_dir.resolve()
    else:
        return
    if same:
        return
    own = stats_path_for(model_path)
    if own is not None and own.resolve() != stats_path.resolve():
        hint = f"use the statistics saved with that model ({own})"
    else:
        hint = "use the statistics saved with that model, from its own run"
    raise RunError(f"statistics {stats_path} belong to {stats_run} but model {model_path} to {model_run}: {hint}")


def load_policy(model_path: str | Path, stats_path: str | Path | None, obs_dim: int) -> LoadedPolicy:
    """Load an SB3 PPO model and its VecNormalize statistics, checking they fit an env with obs_dim."""
    model_path = Path(model_path)
    if not model_path.is_file():
        raise RunError(f"model file not found: {model_path}")
    if stats_path is None:
        raise RunError(
            f"no normalization statistics beside {model_path}: pass --normalize PATH.pkl "
            "(the vec_normalize.pkl saved with this model)"
        )
    try:
        model = PPO.load(model_path, device="cpu")
    except Exception as exc:  # zipfile.BadZipFile, pickle errors, KeyError ...
        raise RunError(
            f"cannot load model {model_path} ({type(exc).__name__}); "
            "it is corrupt or not an SB3 PPO model: use another checkpoint"
        ) from exc
    model_dim = int(np.prod(model.observation_space.shape))
    if model_dim != obs_dim:
        raise RunError(
            f"model {model_path} expects {model_dim} observations but the env gives {obs_dim}: "
            "it was trained on a different env configuration"
        )
    stats_path = Path(stats_path)
    vec_normalize = read_statistics(stats_path)
    try:
        shape = tuple(np.shape(vec_normalize.obs_rms.mean))
    except Exception as exc:
        raise RunError(
            f"cannot read normalization file {stats_path} ({type(exc).__name__}); "
            "give the vec_normalize.pkl saved with this model"
        ) from exc
    if shape != (obs_dim,):
        raise RunError(
            f"normalization file {stats_path} is for observations of shape {shape}, but this env "
            f"gives ({obs_dim},): it comes from a different env; use the vec_normalize.pkl of the same run"
        )
    check_same_run(model_path, stats_path, vec_normalize)
    return LoadedPolicy(model, vec_normalize, model_path, stats_path)


def open_policy(
    model_path: str | Path,
    stats_path: str | Path | None = None,
    terrain: str | Path | None = None,
    render_mode: str | None = None,
    command: float | None = None,
    **env_overrides,
):
    """(config, env, policy) for a trained model: the env rebuilt from its run's config.json.

    Without `stats_path` the statistics saved beside the model are used (vec_normalize.pkl
    for final_model.zip, and so on). A policy trained with commands walks at `command` m/s
    straight ahead in every episode (default: the top of its training range; see fixed_command).
    """
    model_path = Path(model_path)
    if not model_path.is_file():
        raise RunError(f"model file not found: {model_path}")
    config = RunDir.of_model(model_path).config()  # the model's own run, whatever folder was named
    env_overrides = {**fixed_command(config, command), **env_overrides}
    env = make_eval_env(config, terrain=terrain, render_mode=render_mode, **env_overrides)
    if stats_path is None:
        stats_path = stats_path_for(model_path)
    policy = load_policy(model_path, stats_path, env.observation_space.shape[0])
    return config, env, policy
