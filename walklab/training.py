"""The training core both training scripts call: one ``TrainJob`` in, one run directory out.

The scripts are presets: they fill a ``TrainJob`` from their generated flags and call
``train(job)``, so v1 and v2 share every line that builds envs, writes the run directory and
saves models. Callbacks live in ``walklab.callbacks``, vector envs in ``walklab.vec_envs``,
run-directory files in ``walklab.runs`` and the ``--resume`` / ``--init-from`` starts in
``walklab.train_start``.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

import torch
from stable_baselines3 import PPO
from stable_baselines3.common.vec_env import VecNormalize

from envs.config import EnvConfig
from envs.fields import ConfigError
from envs.layout import N_ACTIONS
from envs.robot import RobotError, describe, load_robot
from gait.parameters import GaitParameterError
from walklab import curriculum, run_config, runs
from walklab.callbacks import (
    CheckpointWithStats,
    CurriculumCallback,
    EpisodeTermsCallback,
    EvalKeepBest,
    WholeRolloutsProgressBar,
    steps_that_run,
)
from walklab.config import PPOConfig, check_combination
from walklab.files import OutputError, describe_os_error, writable_output
from walklab.flags import label_for
from walklab.train_job import StopTraining, TrainingError, TrainingFailed, TrainJob  # noqa: F401 - callers import them here
from walklab.train_start import (
    check_terrain,
    initial_model_path,
    initial_policy,
    job_for_resume,
    load_resume_model,
    start_from,
)
from walklab.vec_envs import make_vec_env, stop_workers


def validate(job: TrainJob) -> None:
    """Refuse impossible combinations before anything heavy starts (single values are checked
    by the configuration dataclasses themselves)."""
    try:
        check_combination(job.ppo, job.run)
    except ConfigError as exc:
        raise TrainingError(exc.for_label(label_for(exc))) from exc
    if not runs.RUN_NAME_PATTERN.match(job.run_name):
        raise TrainingError(f"--run-name {job.run_name!r} may use only letters, digits, '_', '-' and '.'")
    if job.env.curriculum and job.env.terrain == "flat":
        raise TrainingError("--curriculum needs a heightfield terrain, not --terrain flat")
    check_terrain(job.env)  # missing or unreadable PNGs fail here, not in a worker
    try:  # a robot that cannot be built, or a trot beyond its legs, fails here too
        job.env.gait.check_fits(load_robot(job.env.robot).geometry)
    except (RobotError, GaitParameterError) as exc:
        raise TrainingError(str(exc)) from exc
    if job.resume is not None and not job.resume.exists():
        raise TrainingError(f"--resume target not found: {job.resume}")
    if job.init_from is not None:
        if job.resume is not None:
            raise TrainingError("--init-from starts a new run and --resume continues one: give only one")
        initial_policy(job)  # refused here, before a run directory exists
    if job.resume is None:
        try:
            writable_output(job.runs_dir, "directory", "--runs-dir")
        except OutputError as exc:
            raise TrainingError(str(exc)) from exc


def hyperparameter_text(job: TrainJob) -> str:
    """Markdown table of every setting, for TensorBoard's text tab."""
    rows = {
        "script": job.script,
        **{f"training.{k}": v for k, v in job.run.to_dict().items()},
        **{f"ppo.{k}": v for k, v in job.ppo.to_dict().items()},
        **{f"env.{k}": v for k, v in job.env.to_dict().items()},
    }
    return "| parameter | value |\n|---|---|\n" + "\n".join(f"| {k} | {v} |" for k, v in rows.items())


_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def set_modulation_exploration(model, env: EnvConfig, ppo: PPOConfig) -> None:
    """With gait modulation, swing height or steering, start those actions (after the 12 foot offsets)
    at their own noise."""
    if not (env.gait_modulation or env.steering or env.swing_height):
        return
    with torch.no_grad():
        model.policy.log_std[N_ACTIONS:] = ppo.modulation_log_std_init


def _interrupt(signum, frame):
    # The first Ctrl-C or SIGTERM stops training; from here on both are ignored so that a
    # second press a few milliseconds later cannot cut the save or the config write short.
    _ignore_signals()
    raise KeyboardInterrupt  # SIGTERM (kill, a job scheduler) saves like Ctrl-C


def _ignore_signals() -> None:
    if threading.current_thread() is threading.main_thread():
        for sig in _SIGNALS:
            signal.signal(sig, signal.SIG_IGN)


def train(job: TrainJob, on_evaluation: Callable[[int, dict], None] | None = None) -> Path:
    """Run PPO as `job` says; returns the run directory. Ctrl-C or SIGTERM saves an interrupted model.

    With ``job.resume`` the run's own env and PPO settings are kept (from its config.json);
    only the total number of steps comes from the new command. `on_evaluation(steps, summary)`
    hears every periodic evaluation.

    The run directory is locked (``runs.RunLock``) from before anything is written in it until
    its final status is in config.json: a second writer gets a TrainingError. A failed write
    (a full disk) ends the run with ``TrainingFailed`` and the status "failed: disk full".
    """
    validate(job)
    torch.set_num_threads(1)  # more threads spin against the env workers on small MLPs
    resume_model, history, lock, previous_status = None, {}, None, None
    try:
        if job.resume is not None:
            resume_model = runs.find_resume_model(job.resume)
            run_dir = runs.RunDir.of_model(resume_model).path
            previous_status = runs.RunDir(run_dir).describe_status()
            lock = runs.RunDir(run_dir).lock()
            job, run_dir, history = job_for_resume(job, resume_model)
            check_terrain(job.env, f"cannot resume {run_dir}: its recorded terrain does not load: ")
            load_resume_model(job, resume_model)  # refused before workers start or monitors exist
        else:
            run_dir = runs.RunDir.create(job.runs_dir, job.run_name).path
            lock = runs.RunDir(run_dir).lock()
            history = {runs.RUN_ID_KEY: runs.new_run_id()}  # the run's fingerprint, on every file it saves
            if job.init_from is not None:
                history["initialised_from"] = run_config.portable_path(initial_model_path(job.init_from))
    except runs.RunError as exc:
        if lock is not None:
            lock.release()
        raise TrainingError(str(exc)) from exc
    except BaseException:
        if lock is not None:
            lock.release()
        raise
    with lock:
        return _train_locked(job, run_dir, resume_model, history, previous_status, on_evaluation)


def _record(job: TrainJob, run_dir: Path, resume_model: Path | None, history: dict, status: str, **extra) -> dict:
    """Record phase: write config.json with the run's `status`; returns the record."""
    return runs.RunDir(run_dir).write_config(
        run_config.config_record(
            run_dir,
            status,
            job.script,
            job.run_name,
            job.env,
            job.ppo,
            job.run,
            job.args,
            command=job.command,
            resumed_from=run_config.portable_path(resume_model),
            **history,
            **extra,
        ),
    )


def _build(job: TrainJob, run_dir: Path, resume_model: Path | None, previous_status: str | None):
    """Build phase: the vector env (monitors, curriculum) with VecNormalize, and the PPO model,
    new or resumed."""
    vec = make_vec_env(
        job.env,
        job.run.n_envs,
        job.run.episode_steps,
        job.run.seed,
        runs.RunDir(run_dir).monitor_paths(job.run.n_envs),
        layout=job.run.vec_env,
        threads=job.run.threads,
    )
    try:
        if job.env.curriculum:  # terrains into run_dir/terrains, levels from curriculum.json on resume
            curriculum.install(vec, run_dir, job.env, job.run.seed)
        if resume_model is not None:
            vec, model = load_resume_model(job, resume_model, vec, run_dir)
            print(
                f"resuming {resume_model} at {model.num_timesteps} steps; "
                f"{job.run.total_timesteps - model.num_timesteps} to go; the run was {previous_status}"
            )
            return vec, model
        vec = VecNormalize(vec, norm_obs=True, norm_reward=True, clip_obs=10.0, gamma=job.ppo.gamma)
        model = PPO(
            "MlpPolicy",
            vec,
            seed=job.run.seed,
            device="cpu",
            tensorboard_log=str(run_dir),
            verbose=0,
            **job.ppo.constructor_kwargs(),
        )
        if job.init_from is not None:
            source = initial_policy(job)
            start_from(model, vec, source)
            print(f"starting from {source.model_path} ({source.model.num_timesteps} steps) and {source.stats_path}")
            return vec, model
    except BaseException:
        stop_workers(vec)
        raise
    set_modulation_exploration(model, job.env, job.ppo)
    return vec, model


def evaluation_seconds(job: TrainJob) -> float:
    """The length of the training's evaluation episodes: --eval-seconds, at most one training episode."""
    return min(job.run.eval_seconds, job.run.episode_steps * job.env.frame_skip * describe(job.env.robot).timestep)


def _callbacks(job: TrainJob, run_dir: Path, config: dict, on_evaluation) -> list:
    """Callbacks phase: reward terms to TensorBoard, checkpoints, the curriculum's levels, evaluations."""
    callbacks = [
        EpisodeTermsCallback(job.env.reward_weights.terms(), hyperparameter_text(job)),
        CheckpointWithStats(run_dir, job.run.checkpoint_freq),
    ]
    if job.env.curriculum:
        callbacks.append(CurriculumCallback(run_dir, job.env.curriculum_levels))
    if job.run.eval_freq > 0:
        callbacks.append(
            EvalKeepBest(
                run_dir, config, job.run.eval_freq, job.run.eval_episodes, evaluation_seconds(job), on_evaluation
            )
        )
    return callbacks


def _learn(job: TrainJob, model, callbacks: list, resumed: bool) -> str | StopTraining:
    """Learn phase: PPO until the total steps, Ctrl-C/SIGTERM ("interrupted") or a StopTraining."""
    remaining = job.run.total_timesteps - model.num_timesteps
    rollout = model.n_steps * model.n_envs
    running = steps_that_run(remaining, rollout)
    if running != remaining:
        print(f"{remaining:,} steps run as {running:,}: whole rollouts of n_steps x n_envs = {rollout:,}", flush=True)
    try:
        model.learn(
            total_timesteps=remaining,
            callback=[*callbacks, WholeRolloutsProgressBar()] if job.progress_bar else callbacks,
            progress_bar=False,
            tb_log_name="tb",
            reset_num_timesteps=not resumed,
        )
        return "finished"
    except KeyboardInterrupt:
        return "interrupted"
    except StopTraining as stop:
        return stop


def _train_locked(
    job: TrainJob, run_dir: Path, resume_model: Path | None, history: dict, previous_status: str | None, on_evaluation
) -> Path:
    def record(status: str, **extra) -> dict:
        return _record(job, run_dir, resume_model, history, status, **extra)

    runs.RunDir(run_dir).remove_stale_temporaries()  # a killed writer's half-written saves (never a model's name)
    main_thread = threading.current_thread() is threading.main_thread()
    handlers = {sig: signal.getsignal(sig) for sig in _SIGNALS} if main_thread else {}
    for sig in handlers:
        signal.signal(sig, _interrupt)
    vec = model = None
    wrote_config = False
    started, start_steps = time.time(), 0
    status, outcome = "crashed", None
    try:
        try:
            if resume_model is None:
                record("running")  # from the start a new run says what it is
                wrote_config = True
            vec, model = _build(job, run_dir, resume_model, previous_status)
            config = record("running")
            wrote_config = True
        except KeyboardInterrupt:
            _ignore_signals()
            status = "interrupted before training started (nothing saved)"
            outcome = KeyboardInterrupt()
            raise
        callbacks = _callbacks(job, run_dir, config, on_evaluation)
        started, start_steps = time.time(), model.num_timesteps
        ended = _learn(job, model, callbacks, resumed=resume_model is not None)
        _ignore_signals()  # the save and the config write below run to the end
        if ended == "finished":
            runs.RunDir(run_dir).save(model, vec, "final")
            status = "finished"
        else:
            runs.RunDir(run_dir).save(model, vec, "interrupted")
            if isinstance(ended, StopTraining):
                status, outcome = ended.status, ended
            else:
                status, outcome = "interrupted", KeyboardInterrupt()
                print(
                    f"\ninterrupted at {model.num_timesteps} steps: saved {run_dir / runs.INTERRUPTED_MODEL} "
                    f"and {runs.INTERRUPTED_STATS}; continue with --resume {run_dir}"
                )
    except (EOFError, BrokenPipeError, ConnectionResetError):  # a worker died (its error is above)
        _ignore_signals()
        status = "failed: an env worker process died"
        outcome = TrainingFailed(
            f"an env worker process died (see its error above); earlier checkpoints are "
            f"kept: continue with --resume {run_dir}"
        )
    except OSError as exc:  # a full disk, a folder gone read-only: one line, the run marked
        _ignore_signals()
        status = f"failed: {describe_os_error(exc)}"
        steps = model.num_timesteps if model is not None else 0
        where = exc.filename or run_dir
        outcome = TrainingFailed(
            f"training stopped at {steps} steps: cannot write {where} "
            f"({describe_os_error(exc)}); earlier checkpoints are kept: free space, then "
            f"continue with --resume {run_dir}"
        )
    finally:
        _ignore_signals()
        if vec is not None:
            stop_workers(vec)
        if wrote_config:
            wall = time.time() - started
            steps = model.num_timesteps if model is not None else 0
            try:
                record(
                    status,
                    trained_timesteps=int(steps),
                    wall_seconds=round(wall, 1),
                    steps_per_second=round((steps - start_steps) / max(wall, 1e-9), 1),
                )
            except OSError as exc:
                note = f"config.json could not be updated to {status!r} ({describe_os_error(exc)})"
                if isinstance(outcome, TrainingFailed):
                    outcome = TrainingFailed(f"{outcome}; {note}")
                elif outcome is None or isinstance(outcome, KeyboardInterrupt):
                    outcome = TrainingFailed(f"{note}; the saved models are complete")
        if not (job.exiting_after and isinstance(outcome, KeyboardInterrupt)):
            for sig, handler in handlers.items():
                signal.signal(sig, handler)
    if outcome is not None:
        raise outcome
    _print_next_steps(run_dir, time.time() - started, model.num_timesteps - start_steps)
    return run_dir


def _print_next_steps(run_dir: Path, wall: float, steps: int) -> None:
    print(f"\ntraining finished: {steps} steps in {wall / 60:.1f} min ({steps / max(wall, 1e-9):.0f} steps/s)")
    print(f"run directory: {run_dir}")
    print("evaluate it with:")
    print(
        f"  python3 {runs.PLAYER_SCRIPT} --model {run_dir}/{runs.FINAL_MODEL} "
        f"--normalize {run_dir}/{runs.FINAL_STATS} --seconds 20 --deterministic"
    )
    print(f"  python3 {runs.DEBUG_SCRIPT} {run_dir}")
    print(
        f"  python3 {runs.COMPARE_SCRIPT} --model {run_dir}/{runs.FINAL_MODEL} "
        f"--normalize {run_dir}/{runs.FINAL_STATS} --episodes 10 --seconds 20"
    )
