"""Run directories: write and read config.json, rebuild the env, load a trained policy.

A run directory is self-describing: config.json records the env keywords and gait, so
replay, comparison and debugging rebuild exactly the env the policy was trained on.
"""
from __future__ import annotations

import json
import pickle
import platform
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from gait import constants as C
from gait.parameters import GaitParameterError, GaitParameters

CONFIG_NAME = "config.json"
FINAL_MODEL = "final_model.zip"
FINAL_STATS = "vec_normalize.pkl"
BEST_MODEL = "best_model.zip"
BEST_STATS = "best_vec_normalize.pkl"
INTERRUPTED_MODEL = "interrupted_model.zip"
INTERRUPTED_STATS = "interrupted_vec_normalize.pkl"
CHECKPOINT_DIR = "checkpoints"


class RunError(Exception):
    """A run directory, model or statistics file cannot be used; the message says why and what to do."""


# ---------------------------------------------------------------------- paths
def portable_path(path: str | Path | None) -> str | None:
    """Store a path relative to the repository when it lies inside it, else absolute."""
    if path is None:
        return None
    resolved = Path(path).resolve()
    try:
        return str(resolved.relative_to(C.REPO_ROOT))
    except ValueError:
        return str(resolved)


def resolve_path(path: str | None) -> Path | None:
    if path is None:
        return None
    p = Path(path)
    return p if p.is_absolute() else C.REPO_ROOT / p


# ---------------------------------------------------------------------- config
def library_versions() -> dict[str, str]:
    import gymnasium
    import mujoco
    import stable_baselines3
    import torch

    return {
        "python": platform.python_version(),
        "mujoco": mujoco.__version__,
        "gymnasium": gymnasium.__version__,
        "stable_baselines3": stable_baselines3.__version__,
        "torch": torch.__version__,
        "numpy": np.__version__,
    }


def git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=C.REPO_ROOT, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def load_config(run_dir: str | Path) -> dict[str, Any]:
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise RunError(f"run directory not found: {run_dir}")
    path = run_dir / CONFIG_NAME
    if not path.is_file():
        raise RunError(f"{run_dir} has no {CONFIG_NAME}: give a run directory written by train_residual_ppo*.py")
    try:
        config = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RunError(f"{path} is not valid JSON ({exc}); restore it from the training run") from exc
    if not isinstance(config, dict) or not isinstance(config.get("env_kwargs"), dict):
        raise RunError(f"{path} is not a run configuration (no env_kwargs object); restore it from the training run")
    for key in ("gait", "env_kwargs"):
        if key not in config:
            raise RunError(f"{path} lacks '{key}': it was not written by this toolkit's training scripts")
    return config


def find_run_dir(model_path: str | Path) -> Path:
    """The run directory holding a model: its folder or the nearest parent with config.json."""
    for folder in [Path(model_path).resolve().parent, *Path(model_path).resolve().parents]:
        if (folder / CONFIG_NAME).is_file():
            return folder
    raise RunError(f"no {CONFIG_NAME} beside {model_path} or in its parent folders: cannot rebuild the env")


# ---------------------------------------------------------------------- env
def gait_from_config(config: dict) -> GaitParameters:
    try:
        return GaitParameters.from_dict(config["gait"])
    except (GaitParameterError, TypeError) as exc:
        raise RunError(f"config.json has an invalid gait: {exc}") from exc


def effective_env_kwargs(env_kwargs: dict[str, Any]) -> dict[str, Any]:
    """`env_kwargs` completed with ResidualWalkEnv's defaults (every reward weight, filter, thresholds)."""
    import inspect

    from envs.residual_walk_env import ResidualWalkEnv

    skip = {"self", "gait", "render_mode", "width", "height"}
    defaults = {name: p.default for name, p in inspect.signature(ResidualWalkEnv.__init__).parameters.items()
                if name not in skip}
    return {**defaults, **env_kwargs}


def env_kwargs_from_config(config: dict, terrain: str | Path | None = None) -> dict[str, Any]:
    """Env keywords recorded at training time; `terrain` overrides the recorded terrain."""
    kwargs = dict(config["env_kwargs"])
    kwargs["terrain"] = str(terrain) if terrain is not None else (
        str(resolve_path(kwargs["terrain"])) if kwargs.get("terrain") else None)
    kwargs["gait"] = gait_from_config(config)
    return kwargs


def make_eval_env(config: dict, terrain: str | Path | None = None, render_mode: str | None = None, **overrides):
    """A single ResidualWalkEnv as configured for training (no time limit wrapper), but with nominal
    physics: domain randomisation is a training aid, so evaluations compare on the same robot
    unless `randomize=True` is passed."""
    from envs.residual_walk_env import ResidualWalkEnv

    from envs.robot_sim import TerrainFileError

    kwargs = env_kwargs_from_config(config, terrain)
    kwargs["randomize"] = False
    kwargs.update(overrides)
    try:
        return ResidualWalkEnv(render_mode=render_mode, **kwargs)
    except TerrainFileError:
        raise
    except (TypeError, ValueError) as exc:
        raise RunError(f"config.json's env settings do not build the env: {exc}") from exc


# ---------------------------------------------------------------------- policy
@dataclass
class LoadedPolicy:
    model: Any  # stable_baselines3 PPO
    vec_normalize: Any  # VecNormalize with the training statistics (no venv attached)
    model_path: Path
    stats_path: Path

    def act(self, obs: np.ndarray, deterministic: bool = True) -> np.ndarray:
        action, _ = self.model.predict(self.vec_normalize.normalize_obs(obs).astype(np.float32),
                                       deterministic=deterministic)
        return action

    def policy(self, deterministic: bool = True) -> Callable[[np.ndarray], np.ndarray]:
        return lambda obs: self.act(obs, deterministic)


def stats_path_for(model_path: Path) -> Path | None:
    """The statistics file saved beside a model by this toolkit, if present."""
    name = model_path.name
    candidates = {
        FINAL_MODEL: FINAL_STATS,
        BEST_MODEL: BEST_STATS,
        INTERRUPTED_MODEL: INTERRUPTED_STATS,
    }
    if name in candidates:
        p = model_path.with_name(candidates[name])
    elif name.endswith("_steps.zip"):  # checkpoints/rl_model_<n>_steps.zip
        p = model_path.with_name(name.replace("rl_model_", "rl_model_vecnormalize_").replace(".zip", ".pkl"))
    else:
        p = model_path.with_suffix(".pkl")
    return p if p.is_file() else None


def load_policy(model_path: str | Path, stats_path: str | Path | None, obs_dim: int) -> LoadedPolicy:
    """Load an SB3 PPO model and its VecNormalize statistics, checking they fit an env with obs_dim."""
    from stable_baselines3 import PPO

    model_path = Path(model_path)
    if not model_path.is_file():
        raise RunError(f"model file not found: {model_path}")
    if stats_path is None:
        raise RunError(f"no normalization statistics beside {model_path}: pass --normalize PATH.pkl "
                       "(the vec_normalize.pkl saved with this model)")
    try:
        model = PPO.load(model_path, device="cpu")
    except Exception as exc:  # zipfile.BadZipFile, pickle errors, KeyError ...
        raise RunError(f"cannot load model {model_path} ({type(exc).__name__}); "
                       "it is corrupt or not an SB3 PPO model: use another checkpoint") from exc
    model_dim = int(np.prod(model.observation_space.shape))
    if model_dim != obs_dim:
        raise RunError(f"model {model_path} expects {model_dim} observations but the env gives {obs_dim}: "
                       "it was trained on a different env configuration")
    stats_path = Path(stats_path)
    if not stats_path.is_file():
        raise RunError(f"normalization file not found: {stats_path}")
    try:
        with open(stats_path, "rb") as fh:
            vec_normalize = pickle.load(fh)
        shape = tuple(np.shape(vec_normalize.obs_rms.mean))
    except Exception as exc:
        raise RunError(f"cannot read normalization file {stats_path} ({type(exc).__name__}); "
                       "give the vec_normalize.pkl saved with this model") from exc
    if shape != (obs_dim,):
        raise RunError(f"normalization file {stats_path} is for observations of shape {shape}, but this env "
                       f"gives ({obs_dim},): it comes from a different env; use the vec_normalize.pkl of the same run")
    return LoadedPolicy(model, vec_normalize, model_path, stats_path)


def command_line() -> str:
    return " ".join([Path(sys.executable).name, *sys.argv])


def open_policy(model_path: str | Path, stats_path: str | Path | None = None, terrain: str | Path | None = None,
                render_mode: str | None = None, **env_overrides):
    """(config, env, policy) for a trained model: the env rebuilt from its run's config.json.

    Without `stats_path` the statistics saved beside the model are used (vec_normalize.pkl
    for final_model.zip, and so on).
    """
    model_path = Path(model_path)
    if not model_path.is_file():
        raise RunError(f"model file not found: {model_path}")
    config = load_config(find_run_dir(model_path))  # the model's own run, whatever folder was named
    env = make_eval_env(config, terrain=terrain, render_mode=render_mode, **env_overrides)
    if stats_path is None:
        stats_path = stats_path_for(model_path)
    policy = load_policy(model_path, stats_path, env.observation_space.shape[0])
    return config, env, policy
