"""Where a training run starts from: ``--resume`` (a saved model of the same run, its statistics and
its recorded settings) or ``--init-from`` (another run's policy and statistics for a new run).

Every refusal of a resume or init-from target is here, as a TrainingError with one line, before a
run directory is written; ``walklab.training`` calls these while validating and building.
"""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path

from stable_baselines3 import PPO
from stable_baselines3.common.vec_env import VecNormalize

from envs.config import EnvConfig
from envs.layout import action_size, observation_size
from envs.robot_sim import TerrainFileError, load_model
from walklab import run_config, runs
from walklab.config import PPOConfig, RunSettings
from walklab.policies import LoadedPolicy, check_same_run, load_policy
from walklab.train_job import TrainingError, TrainJob


def load_resume_model(job: TrainJob, resume_model: Path, vec=None, run_dir: Path | None = None):
    """The saved model (on `vec` with its statistics, when given); every refusal of a resume target
    is here: no statistics, statistics of another run, an unreadable file, or already as many steps
    as asked for."""
    stats = runs.stats_path_for(resume_model)
    if stats is None:
        raise TrainingError(f"no VecNormalize statistics beside {resume_model}: cannot resume faithfully")
    try:
        check_same_run(resume_model, stats)
    except runs.RunError as exc:
        raise TrainingError(f"--resume: {exc}") from exc
    try:
        if vec is not None:
            vec = VecNormalize.load(str(stats), vec)
            vec.training = True
        model = PPO.load(resume_model, env=vec, device="cpu", tensorboard_log=None if run_dir is None else str(run_dir))
    except Exception as exc:  # BadZipFile, pickle errors, space mismatch (ValueError)
        raise TrainingError(
            f"cannot resume from {resume_model} ({type(exc).__name__}: {exc}); pick another checkpoint"
        ) from exc
    if model.num_timesteps >= job.run.total_timesteps:
        raise TrainingError(
            f"{resume_model} already has {model.num_timesteps} steps; give --total-timesteps above that"
        )
    return vec, model


def job_for_resume(job: TrainJob, resume_model: Path) -> tuple[TrainJob, Path, dict]:
    """The job with the resumed run's own env, PPO and run settings; only the total steps are new.
    Also the run's recorded history (its command, where it started, its fingerprint: a run
    written before fingerprints gets one now)."""
    run_dir = runs.RunDir.of_model(resume_model).path
    previous = runs.RunDir(run_dir).config()
    env = run_config.env_config_from_record(previous)
    ppo = PPOConfig.from_dict(previous["ppo"]) if "ppo" in previous else job.ppo
    run = dataclasses.replace(
        RunSettings.from_dict({**job.run.to_dict(), **previous.get("training", {})}),
        total_timesteps=job.run.total_timesteps,
    )
    history = {
        runs.RUN_ID_KEY: runs.RunDir(run_dir).run_id() or runs.new_run_id(),
        "original_command": previous.get("original_command", previous.get("command")),
    }
    if previous.get("initialised_from"):
        history["initialised_from"] = previous["initialised_from"]
    return dataclasses.replace(job, env=env, ppo=ppo, run=run, run_name=previous["run_name"]), run_dir, history


def check_terrain(env: EnvConfig, prefix: str = "") -> None:
    """The env's terrain PNG loads here, in this process, not later in a worker."""
    if env.terrain is None:
        return
    try:
        load_model(env.terrain)
    except TerrainFileError as exc:
        raise TrainingError(f"{prefix}{exc}") from exc


def initial_model_path(target: Path) -> Path:
    """The model file ``--init-from`` names: the .zip given, or a run directory's final model."""
    if not target.exists():
        raise TrainingError(f"--init-from target not found: {target}")
    model_path = target / runs.FINAL_MODEL if target.is_dir() else target
    if not model_path.is_file():
        raise TrainingError(f"--init-from {target}: no {runs.FINAL_MODEL} in that folder; give a model .zip")
    return model_path


def initial_policy(job: TrainJob) -> LoadedPolicy:
    """The model and statistics ``--init-from`` names, checked against the job's env and network:
    the same observations, actions and layer sizes, and statistics of the model's own run, or a
    TrainingError saying which differs."""
    model_path = initial_model_path(job.init_from)
    n_actions = action_size(job.env.gait_modulation, job.env.steering, job.env.swing_height)
    stats_path = runs.stats_path_for(model_path)
    if stats_path is None:
        raise TrainingError(
            f"--init-from: no VecNormalize statistics beside {model_path}: give a model this toolkit saved "
            "(final_model.zip with vec_normalize.pkl, or a checkpoint with its .pkl)"
        )
    try:
        source = load_policy(model_path, stats_path, observation_size(job.env))
    except runs.RunError as exc:
        raise TrainingError(f"--init-from: {exc}") from exc
    if source.model.action_space.shape != (n_actions,):
        raise TrainingError(
            f"--init-from: {model_path} acts with {source.model.action_space.shape[0]} actions but this run's env "
            f"takes {n_actions}: match its gait modulation, swing height and steering flags"
        )
    net, layers = list(job.ppo.net_arch), source.model.policy.net_arch
    if layers != dict(pi=net, vf=net):
        raise TrainingError(
            f"--init-from: {model_path} has layers {layers['pi']}, this run {net}: "
            f"give --net-arch {' '.join(map(str, layers['pi']))}"
        )
    return source


def start_from(model, vec: VecNormalize, source: LoadedPolicy) -> None:
    """A new run's policy and normalization statistics set to `source`'s: its weights, its action
    noise and its running observation and return statistics, which keep updating from here."""
    model.policy.load_state_dict(source.model.policy.state_dict())
    vec.obs_rms = copy.deepcopy(source.vec_normalize.obs_rms)
    vec.ret_rms = copy.deepcopy(source.vec_normalize.ret_rms)
