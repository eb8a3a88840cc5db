"""Run directories: write and read config.json, rebuild the env, load a trained policy.

A run directory is self-describing: config.json holds the configuration dataclasses as dicts
(``env``: EnvConfig with its gait and reward weights, ``ppo``: PPOConfig, ``training``:
RunSettings), so replay, comparison and debugging rebuild exactly the env the policy was
trained on. Records written before these dataclasses (``gait``, ``env_kwargs``,
``ppo_kwargs`` at the top level) are migrated when read: :func:`load_config` returns every
record in the current form.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
import pickle
import platform
import re
import subprocess
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from envs import assets as A
from envs.config import EnvConfig
from envs.fields import ConfigError
from walklab.files import atomic_write_json, remove_quietly

CONFIG_NAME = "config.json"
FINAL_MODEL = "final_model.zip"
FINAL_STATS = "vec_normalize.pkl"
BEST_MODEL = "best_model.zip"
BEST_STATS = "best_vec_normalize.pkl"
INTERRUPTED_MODEL = "interrupted_model.zip"
INTERRUPTED_STATS = "interrupted_vec_normalize.pkl"
CHECKPOINT_DIR = "checkpoints"
LOCK_NAME = ".lock"  # flock'ed by the process training the run; holds its pid
RUN_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
MONITOR_FIRST = "monitor_0.csv.monitor.csv"
# The scripts a finished run points its user to (relative to the repository).
PLAYER_SCRIPT = "phases_test/phase4_viewer_play_policy.py"
DEBUG_SCRIPT = "debug_model.py"
COMPARE_SCRIPT = "tests/compare_residual_vs_baseline.py"


class RunError(Exception):
    """A run directory, model or statistics file cannot be used; the message says why and what to do."""


@functools.cache
def _terrain_error_type():
    from envs.robot_sim import TerrainFileError

    class RunTerrainError(RunError, TerrainFileError):
        """A run's terrain PNG is missing or unreadable: both a RunError and a TerrainFileError,
        so every script that catches either gives one line."""

    return RunTerrainError


# ---------------------------------------------------------------------- paths
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
    if frame_skip is None or recorded == A.PHYSICS_TIMESTEP:
        return config
    env = {**config["env"], "frame_skip": max(1, int(round(frame_skip * recorded / A.PHYSICS_TIMESTEP)))}
    return {**config, "env": env, "physics_timestep": A.PHYSICS_TIMESTEP, "trained_physics_timestep": recorded}


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


def load_config(run_dir: str | Path) -> dict[str, Any]:
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


def find_run_dir(model_path: str | Path) -> Path:
    """The run directory holding a model: its folder or the nearest parent with config.json."""
    for folder in [Path(model_path).resolve().parent, *Path(model_path).resolve().parents]:
        if (folder / CONFIG_NAME).is_file():
            return folder
    raise RunError(f"no {CONFIG_NAME} beside {model_path} or in its parent folders: cannot rebuild the env")


# ---------------------------------------------------------------------- env
# What every evaluation fixes whatever the run trained with: nominal physics, default fall thresholds.
EVALUATION_SETTINGS = {
    "randomize": False,
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


def make_eval_env(config: dict, terrain: str | Path | None = None, render_mode: str | None = None, **overrides):
    """A single ResidualWalkEnv as configured for training (no time limit wrapper), but with nominal
    physics and the default fall thresholds: domain randomisation and a stricter (or looser)
    ``max_tilt`` / ``min_body_height`` are training aids, so evaluations compare every policy on
    the same robot with one definition of a fall, unless the overrides say otherwise."""
    from envs.residual_walk_env import ResidualWalkEnv
    from envs.robot_sim import TerrainFileError

    env_config = env_config_from_record(config, terrain)
    try:
        return ResidualWalkEnv(env_config, render_mode=render_mode, **{**EVALUATION_SETTINGS, **overrides})
    except TerrainFileError as exc:
        if terrain is not None:
            raise
        raise _terrain_error_type()(f"the run's recorded terrain does not load: {exc}") from exc
    except (TypeError, ValueError) as exc:
        raise RunError(f"config.json's env settings do not build the env: {exc}") from exc


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


# ---------------------------------------------------------------------- policy
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
        import torch

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
    if not stats_path.is_file():
        raise RunError(f"normalization file not found: {stats_path}")
    try:
        with open(stats_path, "rb") as fh:
            vec_normalize = pickle.load(fh)
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
    return LoadedPolicy(model, vec_normalize, model_path, stats_path)


def command_line() -> str:
    return " ".join([Path(sys.executable).name, *sys.argv])


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
    config = load_config(find_run_dir(model_path))  # the model's own run, whatever folder was named
    env_overrides = {**fixed_command(config, command), **env_overrides}
    env = make_eval_env(config, terrain=terrain, render_mode=render_mode, **env_overrides)
    if stats_path is None:
        stats_path = stats_path_for(model_path)
    policy = load_policy(model_path, stats_path, env.observation_space.shape[0])
    return config, env, policy


# ---------------------------------------------------------------------- writing a run directory
def make_run_dir(runs_dir: Path, run_name: str) -> Path:
    """A new ``<runs_dir>/<run_name>_<YYYYMMDD_HHMMSS>/``."""
    if not RUN_NAME_PATTERN.match(run_name):
        raise RunError(f"--run-name {run_name!r} may use only letters, digits, '_', '-' and '.'")
    stamp = dt.datetime.now().strftime("%Y%m%d_%H%M%S")
    run_dir = Path(runs_dir) / f"{run_name}_{stamp}"
    try:
        Path(runs_dir).mkdir(parents=True, exist_ok=True)
        run_dir.mkdir()
    except FileExistsError:
        raise RunError(f"{run_dir} already exists; wait a second or pick another --run-name") from None
    except OSError as exc:
        raise RunError(f"cannot create {run_dir} ({exc.strerror or exc}); give a writable --runs-dir") from exc
    return run_dir


# ---------------------------------------------------------------------- ownership
_HELD_LOCKS: list[int] = []  # lock fds of this process, closed in forked env workers


def remove_stale_temporaries(run_dir: Path) -> list[Path]:
    """Delete the ``.NAME.tmp<pid>`` files a killed writer left in `run_dir` (and its checkpoints).

    A kill -9 can land in the middle of a save; the half-written file never has the model's name,
    but it stays behind. Called by the next owner of the run, once it holds the lock and every
    refusal is past, so only files of dead writers go."""
    removed = []
    own = f".tmp{os.getpid()}"
    for folder in (Path(run_dir), Path(run_dir) / CHECKPOINT_DIR):
        if not folder.is_dir():
            continue
        for path in folder.glob(".*.tmp*"):
            if own not in path.name and path.is_file():
                path.unlink(missing_ok=True)
                removed.append(path)
    return removed


class RunLock:
    """The owner of a run directory: an exclusive ``flock`` on ``<run_dir>/.lock``, which holds its pid.

    Only the training process holds it (``train`` for a new run and for ``--resume``), so a
    second writer is refused with one line. The kernel drops the lock when the owner dies,
    however it dies (kill -9 included), so a crashed owner never holds a run forever.
    """

    def __init__(self, run_dir: Path):
        import fcntl

        self.run_dir = Path(run_dir)
        path = self.run_dir / LOCK_NAME
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise RunError(
                f"cannot lock {self.run_dir} ({exc.strerror or exc}): the run directory must be writable"
            ) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            owner = lock_owner(self.run_dir)
            who = f"pid {owner}" if owner else "another process"
            raise RunError(
                f"run {self.run_dir} is being trained by {who}; wait for it to finish or stop it "
                f"(kill -INT {owner or 'PID'}), then resume it"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self.fd = fd
        _HELD_LOCKS.append(fd)

    def release(self) -> None:
        import fcntl

        if self.fd is None:
            return
        _HELD_LOCKS.remove(self.fd)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
        finally:
            os.close(self.fd)
            self.fd = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.release()


def close_inherited_locks() -> None:
    """In a forked child: drop this copy of the parent's lock fds (the lock stays the parent's)."""
    while _HELD_LOCKS:
        try:
            os.close(_HELD_LOCKS.pop())
        except OSError:
            pass


def lock_owner(run_dir: Path) -> int | None:
    """The pid written in the run's lock file (the current or last owner), if readable."""
    try:
        return int((Path(run_dir) / LOCK_NAME).read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def is_locked(run_dir: Path) -> bool:
    """True while a process holds the run's lock (is training it)."""
    import fcntl

    try:
        fd = os.open(Path(run_dir) / LOCK_NAME, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)
    return False


def run_status(run_dir: str | Path) -> str:
    """What a run directory's state really is, from config.json's status and its lock.

    "running (pid N)" while its trainer holds the lock; "killed" when config.json still says
    running but nobody holds the lock (the trainer died without writing a status: kill -9,
    power loss, out of memory); otherwise config.json's status ("finished", "interrupted",
    "failed: disk full", ...), or "no config" when there is none.
    """
    run_dir = Path(run_dir)
    try:
        status = json.loads((run_dir / CONFIG_NAME).read_text()).get("status", "unknown")
    except (OSError, ValueError, AttributeError):
        status = "no config"
    if is_locked(run_dir):
        owner = lock_owner(run_dir)
        return f"running (pid {owner})" if owner else "running"
    if status == "running":
        return "killed"
    return str(status)


def describe_status(run_dir: str | Path) -> str:
    """run_status with what it means for the user, for messages."""
    status = run_status(run_dir)
    if status == "killed":
        return "killed (its trainer ended without saving: the steps since its last checkpoint are lost)"
    return status


def monitor_paths(run_dir: Path, n_envs: int) -> list[Path]:
    """Monitor file names for a new run, or ``_part<k>`` ones when resuming, so earlier files stay."""
    suffix = ""
    if (run_dir / MONITOR_FIRST).exists():
        part = 1
        while (run_dir / f"monitor_0_part{part}.csv.monitor.csv").exists():
            part += 1
        suffix = f"_part{part}"
    return [run_dir / f"monitor_{i}{suffix}.csv" for i in range(n_envs)]


def saved_timesteps(model_path: Path) -> int:
    """Training steps a saved model holds: from a checkpoint's name, else from the zip's SB3 data
    (``num_timesteps``); -1 when unreadable."""
    match = re.fullmatch(r"rl_model_(\d+)_steps\.zip", model_path.name)
    if match:
        return int(match.group(1))
    try:
        with zipfile.ZipFile(model_path) as archive:
            return int(json.loads(archive.read("data"))["num_timesteps"])
    except (OSError, KeyError, ValueError, TypeError, zipfile.BadZipFile):
        return -1


def find_resume_model(target: Path) -> Path:
    """A checkpoint .zip as given, or the saved model inside a run directory with the most
    training steps (the newest file among equals): a copied run directory, whose files all have
    new times, still resumes from where it stopped."""
    if target.is_file():
        return target
    candidates = [
        target / INTERRUPTED_MODEL,
        target / FINAL_MODEL,
        *(target / CHECKPOINT_DIR).glob("rl_model_*_steps.zip"),
    ]
    candidates = [c for c in candidates if c.is_file()]
    if not candidates:
        raise RunError(
            f"no model to resume in {target} (looked for {INTERRUPTED_MODEL}, "
            f"{FINAL_MODEL} and {CHECKPOINT_DIR}/rl_model_*_steps.zip)"
        )
    return max(candidates, key=lambda p: (saved_timesteps(p), p.stat().st_mtime))


def save_model_and_stats(model, vec_normalize, model_path: Path, stats_path: Path) -> None:
    """Write both under temporary names, then rename: a crash never leaves a half-written file."""
    model_path.parent.mkdir(parents=True, exist_ok=True)
    tmp_model = model_path.with_name(f".{model_path.stem}.tmp{os.getpid()}.zip")
    tmp_stats = stats_path.with_name(f".{stats_path.name}.tmp{os.getpid()}")
    try:
        model.save(tmp_model)
        vec_normalize.save(str(tmp_stats))
        tmp_stats.replace(stats_path)  # statistics first: a model never sits beside older statistics
        tmp_model.replace(model_path)
    finally:  # on any error (a full disk, Ctrl-C) no temporary file stays behind
        remove_quietly(tmp_model)
        remove_quietly(tmp_stats)


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
    import envs

    env_dict = env.to_dict()
    env_dict["terrain"] = portable_path(env.terrain) if env.terrain not in (None, A.FLAT_TERRAIN) else env.terrain
    return {
        "status": status,
        "script": script,
        "command": command or command_line(),
        "run_name": run_name,
        "run_dir": portable_path(run_dir),
        "env_id": envs.ENV_ID,
        "physics_timestep": A.PHYSICS_TIMESTEP,
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
    atomic_write_json(run_dir / CONFIG_NAME, record)
    return record
