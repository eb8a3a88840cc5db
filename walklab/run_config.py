"""config.json: what a run records (schema), how older records are read (migrations), and the
EnvConfig a record rebuilds.

A run directory is self-describing: config.json holds the configuration dataclasses as dicts
(``env``: EnvConfig with its gait and reward weights, ``ppo``: PPOConfig, ``training``:
RunSettings), so replay, comparison and debugging rebuild exactly the env the policy was
trained on. Records written before these dataclasses (``gait``, ``env_kwargs``,
``ppo_kwargs`` at the top level) are migrated when read: :func:`read_config` returns every
record in the current form. ``run_id`` is the run's fingerprint, given when the run is created and
kept by ``--resume``; every model and statistics file the run saves carries it
(``walklab.policies.check_same_run``). Records written before it have none.
"""

from __future__ import annotations

import datetime as dt
import json
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

import gymnasium
import mujoco
import numpy as np
import stable_baselines3
import torch

import envs
from envs import assets as A
from envs.config import EnvConfig
from envs.fields import ConfigError
from envs.perturbations import PERTURBATIONS_OFF
from envs.robot import DEFAULT_ROBOT, describe
from walklab.files import atomic_write_json

CONFIG_NAME = "config.json"


class RunError(Exception):
    """A run directory, model or statistics file cannot be used; the message says why and what to do."""


def portable_path(path: str | Path | None) -> str | None:
    """Store a path relative to the repository when it lies inside it, else absolute."""
    if path is None:
        return None
    resolved = Path(path).resolve()
    try:
        return str(resolved.relative_to(A.REPO_ROOT))
    except ValueError:
        return str(resolved)


def resolve_path(path: str | None) -> Path | None:
    if path is None:
        return None
    p = Path(path)
    return p if p.is_absolute() else A.REPO_ROOT / p


def library_versions() -> dict[str, str]:
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
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=A.REPO_ROOT, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def migrate_config(config: dict[str, Any]) -> dict[str, Any]:
    """A record in the current layout: older ones (top-level gait, env_kwargs, ppo_kwargs) converted."""
    if "env" in config:
        out = config
    else:
        out = _migrate_flat_layout(config)
    return _migrate_physics_timestep(out)


def _migrate_physics_timestep(config: dict[str, Any]) -> dict[str, Any]:
    """Runs trained with 2 ms physics steps recorded frame_skip for them: rescale it so the
    policy keeps the control rate it was trained at (10 x 2 ms = 5 x 4 ms = 50 Hz)."""
    recorded = config.get("physics_timestep", A.LEGACY_PHYSICS_TIMESTEP)
    frame_skip = config["env"].get("frame_skip")
    timestep = describe(config["env"].get("robot", DEFAULT_ROBOT)).timestep  # the robot's physics step today
    if frame_skip is None or recorded == timestep:
        return config
    env = {**config["env"], "frame_skip": max(1, int(round(frame_skip * recorded / timestep)))}
    return {**config, "env": env, "physics_timestep": timestep, "trained_physics_timestep": recorded}


def _migrate_flat_layout(config: dict[str, Any]) -> dict[str, Any]:
    """The record written before the configuration dataclasses (top-level gait, env_kwargs, ppo_kwargs)."""
    out = dict(config)
    out["env"] = {**config["env_kwargs"], "gait": config["gait"]}
    if "ppo_kwargs" in config:
        out["ppo"] = config["ppo_kwargs"]
    out["training"] = {k: config[k] for k in ("total_timesteps", "n_envs", "seed", "eval_freq") if k in config}
    if "checkpoint_every" in config:
        out["training"]["checkpoint_freq"] = config["checkpoint_every"]
    if "max_episode_steps" in config:
        out["training"]["episode_steps"] = config["max_episode_steps"]
    for key in ("gait", "env_kwargs", "ppo_kwargs", "checkpoint_every", "max_episode_steps"):
        out.pop(key, None)
    return out


def read_config(run_dir: str | Path) -> dict[str, Any]:
    """A run's config.json, in the current layout, with its env settings checked."""
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
    if not isinstance(config, dict) or not (
        isinstance(config.get("env"), dict)
        or (isinstance(config.get("env_kwargs"), dict) and isinstance(config.get("gait"), dict))
    ):
        raise RunError(
            f"{path} is not a run configuration (no env settings): it was not written by this "
            "toolkit's training scripts; restore it from the training run"
        )
    config = migrate_config(config)
    env_config_from_record(config)  # refuse an unusable record here, with one line
    return config


# What every evaluation fixes whatever the run trained with: nominal physics, no perturbations
# (phases_test/phase7_robustness.py adds them case by case), default fall thresholds.
EVALUATION_SETTINGS = {
    "randomize": False,
    **PERTURBATIONS_OFF,
    "max_tilt": EnvConfig().max_tilt,
    "min_body_height": EnvConfig().min_body_height,
}


def env_config_from_record(config: dict, terrain: str | Path | None = None) -> EnvConfig:
    """The EnvConfig a run recorded, its terrain path resolved; `terrain` overrides the recorded one."""
    try:
        env = EnvConfig.from_dict(config["env"])
    except (ConfigError, TypeError) as exc:
        raise RunError(f"config.json's env settings are invalid: {exc}") from exc
    if terrain is not None:
        return env.replace(terrain=str(terrain))
    return env.with_terrain_resolved(resolve_path)


def fixed_command(config: dict, command: float | None) -> dict[str, float]:
    """Env overrides that fix a commanded policy's command for evaluation: `command` m/s (default
    the run's command_speed_max, the fastest it was trained for) and yaw rate 0. Nothing for a run
    without commands; a `command` for such a run is a RunError."""
    env = config["env"]
    if not env.get("commands"):
        if command is not None:
            raise RunError("--command needs a policy trained with --commands; this run has no command input")
        return {}
    speed = float(env.get("command_speed_max", 0.2)) if command is None else float(command)
    return {
        "command_speed_min": speed,
        "command_speed_max": speed,
        "command_yaw_rate_min": 0.0,
        "command_yaw_rate_max": 0.0,
    }


def command_line() -> str:
    return " ".join([Path(sys.executable).name, *sys.argv])


def config_record(
    run_dir: Path,
    status: str,
    script: str,
    run_name: str,
    env: EnvConfig,
    ppo,
    training,
    args: dict | None = None,
    command: str | None = None,
    **extra,
) -> dict[str, Any]:
    """The config.json of a run: what ran (`command`, default this process's command line), the
    three configurations as dicts, versions, status."""
    env_dict = env.to_dict()
    env_dict["terrain"] = portable_path(env.terrain) if env.terrain not in (None, A.FLAT_TERRAIN) else env.terrain
    return {
        "status": status,
        "script": script,
        "command": command or command_line(),
        "run_name": run_name,
        "run_dir": portable_path(run_dir),
        "env_id": envs.ENV_ID,
        "physics_timestep": describe(env.robot).timestep,
        "env": env_dict,
        "ppo": ppo.to_dict(),
        "training": training.to_dict(),
        "args": args or {},
        "versions": library_versions(),
        "git_commit": git_commit(),
        "written": dt.datetime.now().isoformat(timespec="seconds"),
        **extra,
    }


def write_config(run_dir: Path, record: dict[str, Any]) -> dict[str, Any]:
    """Write config.json atomically; returns the record."""
    atomic_write_json(run_dir / CONFIG_NAME, record)
    return record
