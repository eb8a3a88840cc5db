"""The training core both training scripts call: run directory, vector envs, callbacks, PPO loop.

The scripts only parse their flags into a ``TrainSpec`` and call ``train(spec)``, so v1 and v2
share every line that builds envs, writes the run directory and saves models.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import re
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from envs import ENV_ID
from gait.parameters import GaitParameters
from walklab import runs
from walklab.files import atomic_write_json

CHECKPOINT_EVERY_STEPS = 100_000  # environment steps summed over all envs
RUN_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
MONITOR_INFO_KEYWORDS = ("x_position", "termination")
BEST_EVAL_NAME = "best_model_eval.json"


class TrainingError(Exception):
    """Bad training arguments or an unusable resume target; the message says what to do."""


@dataclass
class TrainSpec:
    """Everything one training run needs; written to config.json as it is."""

    script: str
    run_name: str
    total_timesteps: int
    n_envs: int
    seed: int
    gait: GaitParameters
    env_kwargs: dict[str, Any]
    ppo_kwargs: dict[str, Any]
    runs_dir: Path = Path("runs")
    checkpoint_every: int = CHECKPOINT_EVERY_STEPS
    episode_steps: int = 1000  # control steps before truncation (registration's max_episode_steps)
    eval_freq: int = 50_000  # environment steps summed over all envs; 0 disables evaluation
    eval_episodes: int = 3
    eval_seconds: float = 20.0
    resume: Path | None = None
    progress_bar: bool = True
    extra: dict[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------------- validation
def validate(spec: TrainSpec) -> None:
    """Refuse impossible settings before anything heavy starts."""
    if spec.total_timesteps <= 0:
        raise TrainingError(f"--total-timesteps must be > 0, got {spec.total_timesteps}")
    if spec.n_envs <= 0:
        raise TrainingError(f"--n-envs must be > 0, got {spec.n_envs}")
    if not RUN_NAME_PATTERN.match(spec.run_name):
        raise TrainingError(f"--run-name {spec.run_name!r} may use only letters, digits, '_', '-' and '.'")
    n_steps = spec.ppo_kwargs["n_steps"]
    batch = spec.ppo_kwargs["batch_size"]
    if n_steps <= 0 or batch <= 0:
        raise TrainingError(f"--n-steps and --batch-size must be > 0, got {n_steps} and {batch}")
    rollout = n_steps * spec.n_envs
    if rollout % batch != 0:
        raise TrainingError(f"--batch-size {batch} does not divide n_steps x n_envs = {n_steps} x {spec.n_envs} "
                            f"= {rollout}; pick a divisor of {rollout}")
    if spec.ppo_kwargs.get("n_epochs", 10) <= 0:
        raise TrainingError(f"--n-epochs must be > 0, got {spec.ppo_kwargs['n_epochs']}")
    if not 0 < spec.ppo_kwargs.get("gamma", 0.99) <= 1:
        raise TrainingError(f"--gamma must be in (0, 1], got {spec.ppo_kwargs['gamma']}")
    if any(size <= 0 for size in spec.ppo_kwargs.get("net_arch", [64])):
        raise TrainingError(f"--net-arch sizes must be > 0, got {spec.ppo_kwargs['net_arch']}")
    if spec.seed < 0:
        raise TrainingError(f"--seed must be >= 0, got {spec.seed}")
    if not 0 < spec.env_kwargs.get("action_filter", 0.1) <= 1:
        raise TrainingError(f"--action-filter must be in (0, 1], got {spec.env_kwargs['action_filter']}")
    if spec.ppo_kwargs["learning_rate"] <= 0:
        raise TrainingError(f"--learning-rate must be > 0, got {spec.ppo_kwargs['learning_rate']}")
    if not 0 < spec.ppo_kwargs["clip_range"] <= 1:
        raise TrainingError(f"--clip-range must be in (0, 1], got {spec.ppo_kwargs['clip_range']}")
    if spec.ppo_kwargs["ent_coef"] < 0:
        raise TrainingError(f"--ent-coef must be >= 0, got {spec.ppo_kwargs['ent_coef']}")
    if spec.episode_steps <= 0:
        raise TrainingError(f"--episode-steps must be > 0, got {spec.episode_steps}")
    if spec.checkpoint_every <= 0:
        raise TrainingError(f"--checkpoint-freq must be > 0, got {spec.checkpoint_every}")
    if spec.eval_freq < 0:
        raise TrainingError(f"--eval-freq must be >= 0, got {spec.eval_freq}")
    if spec.env_kwargs.get("residual_scale", 0.02) < 0:
        raise TrainingError(f"--residual-scale must be >= 0 m, got {spec.env_kwargs['residual_scale']}")
    terrain = spec.env_kwargs.get("terrain")
    if terrain is not None:
        from envs.robot_sim import TerrainFileError, load_model

        try:
            load_model(terrain)  # missing or unreadable PNGs fail here, not in a worker
        except TerrainFileError as exc:
            raise TrainingError(str(exc)) from exc
    if spec.resume is not None and not spec.resume.exists():
        raise TrainingError(f"--resume target not found: {spec.resume}")


# ---------------------------------------------------------------------- envs
def _ignore_sigint() -> None:
    """Workers leave Ctrl-C to the main process, which saves the model and closes them."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def make_env_fn(gait: GaitParameters, env_kwargs: dict, episode_steps: int, monitor_path: Path | None,
                worker: bool):
    """A picklable factory for one monitored ResidualWalk-v0."""

    def _init():
        import gymnasium as gym
        from stable_baselines3.common.monitor import Monitor

        import envs  # noqa: F401  (registers ResidualWalk-v0)

        if worker:
            _ignore_sigint()
        env = gym.make(envs.ENV_ID, gait=gait, max_episode_steps=episode_steps, **env_kwargs)
        if monitor_path is None:
            return env
        return Monitor(env, filename=str(monitor_path), info_keywords=MONITOR_INFO_KEYWORDS)

    return _init


def _monitor_suffix(run_dir: Path) -> str:
    """"" for a new run; "_part<k>" when resuming, so earlier monitor files stay as they were."""
    if not (run_dir / "monitor_0.csv.monitor.csv").exists():
        return ""
    part = 1
    while (run_dir / f"monitor_0_part{part}.csv.monitor.csv").exists():
        part += 1
    return f"_part{part}"


def make_vec_env(spec: TrainSpec, run_dir: Path):
    from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv

    subproc = spec.n_envs > 1
    suffix = _monitor_suffix(run_dir)
    fns = [make_env_fn(spec.gait, spec.env_kwargs, spec.episode_steps, run_dir / f"monitor_{i}{suffix}.csv",
                       worker=subproc) for i in range(spec.n_envs)]
    vec = SubprocVecEnv(fns, start_method="fork" if sys.platform.startswith("linux") else None) if subproc \
        else DummyVecEnv(fns)
    vec.seed(spec.seed)
    return vec


# ---------------------------------------------------------------------- saving
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
    finally:
        tmp_model.unlink(missing_ok=True)
        tmp_stats.unlink(missing_ok=True)


def make_run_dir(runs_dir: Path, run_name: str) -> Path:
    stamp = dt.datetime.now().strftime("%Y%m%d_%H%M%S")
    run_dir = runs_dir / f"{run_name}_{stamp}"
    if run_dir.exists():
        raise TrainingError(f"{run_dir} already exists; wait a second or pick another --run-name")
    run_dir.mkdir(parents=True)
    return run_dir


def find_resume_model(target: Path) -> Path:
    """A checkpoint .zip as given, or the newest saved model inside a run directory."""
    if target.is_file():
        return target
    candidates = [target / runs.INTERRUPTED_MODEL, target / runs.FINAL_MODEL,
                  *(target / runs.CHECKPOINT_DIR).glob("rl_model_*_steps.zip")]
    candidates = [c for c in candidates if c.is_file()]
    if not candidates:
        raise TrainingError(f"no model to resume in {target} (looked for {runs.INTERRUPTED_MODEL}, "
                            f"{runs.FINAL_MODEL} and {runs.CHECKPOINT_DIR}/rl_model_*_steps.zip)")
    return max(candidates, key=lambda p: p.stat().st_mtime)


def write_config(run_dir: Path, spec: TrainSpec, status: str, **extra) -> dict:
    config = {
        "status": status,
        "script": spec.script,
        "command": runs.command_line(),
        "run_name": spec.run_name,
        "run_dir": runs.portable_path(run_dir),
        "seed": spec.seed,
        "total_timesteps": spec.total_timesteps,
        "n_envs": spec.n_envs,
        "env_id": ENV_ID,
        "gait": spec.gait.to_dict(),
        "env_kwargs": {**runs.effective_env_kwargs(spec.env_kwargs),
                       "terrain": runs.portable_path(spec.env_kwargs.get("terrain"))},
        "ppo_kwargs": spec.ppo_kwargs,
        "checkpoint_every": spec.checkpoint_every,
        "max_episode_steps": spec.episode_steps,
        "eval_freq": spec.eval_freq,
        "args": spec.extra.get("args", {}),
        "versions": runs.library_versions(),
        "git_commit": runs.git_commit(),
        "written": dt.datetime.now().isoformat(timespec="seconds"),
        **extra,
    }
    atomic_write_json(run_dir / runs.CONFIG_NAME, config)
    return config


# ---------------------------------------------------------------------- callbacks
def _callbacks(spec: TrainSpec, run_dir: Path):
    from stable_baselines3.common.callbacks import BaseCallback

    from envs.residual_walk_env import REWARD_TERMS

    class EpisodeTermsCallback(BaseCallback):
        """Logs per-episode sums of every reward term, forward velocity and mean |action|."""

        def _on_training_start(self) -> None:
            n = self.training_env.num_envs
            self.sums = {k: np.zeros(n) for k in REWARD_TERMS}
            self.velocity = np.zeros(n)
            self.abs_action = np.zeros(n)
            self.steps = np.zeros(n)
            self.control_dt = float(self.training_env.get_attr("dt")[0])
            self.logger.record("config/hyperparameters", _hyperparameter_text(spec),
                               exclude=("stdout", "log", "json", "csv"))

        def _on_step(self) -> bool:
            for i, (info, done) in enumerate(zip(self.locals["infos"], self.locals["dones"])):
                for k in REWARD_TERMS:
                    self.sums[k][i] += info.get(f"reward_{k}", 0.0)
                self.velocity[i] += info.get("x_velocity", 0.0)
                self.abs_action[i] += info.get("mean_abs_action", 0.0)
                self.steps[i] += 1
                if done:
                    for k in REWARD_TERMS:
                        self.logger.record_mean(f"reward/{k}", self.sums[k][i])
                        self.sums[k][i] = 0.0
                    self.logger.record_mean("gait/forward_velocity", self.velocity[i] / self.steps[i])
                    self.logger.record_mean("gait/mean_abs_action", self.abs_action[i] / self.steps[i])
                    self.logger.record_mean("gait/episode_seconds", self.steps[i] * self.control_dt)
                    self.logger.record_mean("gait/fell", float(info.get("termination", "").startswith("fell")))
                    self.velocity[i] = self.abs_action[i] = self.steps[i] = 0.0
            return True

    class CheckpointWithStats(BaseCallback):
        """Every `every` environment steps (all envs together) save model + VecNormalize statistics."""

        def __init__(self, every: int):
            super().__init__()
            self.every = every
            self.next_at = None

        def _on_training_start(self) -> None:
            self.next_at = (self.num_timesteps // self.every + 1) * self.every

        def _on_step(self) -> bool:
            if self.num_timesteps >= self.next_at:
                folder = run_dir / runs.CHECKPOINT_DIR
                save_model_and_stats(self.model, self.model.get_vec_normalize_env(),
                                     folder / f"rl_model_{self.num_timesteps}_steps.zip",
                                     folder / f"rl_model_vecnormalize_{self.num_timesteps}_steps.pkl")
                self.next_at += self.every
            return True

    class EvalKeepBest(BaseCallback):
        """Deterministic episodes on a separate env; keeps best_model.zip with its own statistics."""

        def __init__(self, every: int):
            super().__init__()
            self.every = every
            self.next_at = None
            self.best = -np.inf
            self.env = None

        def _on_training_start(self) -> None:
            from walklab.runs import make_eval_env

            self.next_at = (self.num_timesteps // self.every + 1) * self.every
            self.env = make_eval_env({"gait": spec.gait.to_dict(), "env_kwargs": spec.env_kwargs})
            previous_best = run_dir / BEST_EVAL_NAME
            if previous_best.is_file():  # a resumed run keeps its best so far
                self.best = json.loads(previous_best.read_text()).get("mean_episode_reward", -np.inf)

        def _on_step(self) -> bool:
            if self.num_timesteps < self.next_at:
                return True
            self.next_at += self.every
            from walklab.evaluation import evaluate

            vec_normalize = self.model.get_vec_normalize_env()

            def policy(obs):
                action, _ = self.model.predict(vec_normalize.normalize_obs(obs), deterministic=True)
                return action

            seconds = min(spec.eval_seconds, spec.episode_steps * self.env.dt)
            summary, _ = evaluate(self.env, policy, spec.eval_episodes, seconds, first_seed=10_000)
            self.logger.record("eval/mean_reward", summary["mean_episode_reward"])
            self.logger.record("eval/forward_velocity", summary["forward_velocity_mps"])
            self.logger.record("eval/falls", summary["falls"])
            self.logger.record("eval/mean_abs_action", summary["mean_abs_action"])
            if summary["mean_episode_reward"] > self.best:
                self.best = summary["mean_episode_reward"]
                save_model_and_stats(self.model, vec_normalize, run_dir / runs.BEST_MODEL, run_dir / runs.BEST_STATS)
                atomic_write_json(run_dir / BEST_EVAL_NAME, {"num_timesteps": self.num_timesteps, **summary})
            return True

    callbacks = [EpisodeTermsCallback(), CheckpointWithStats(spec.checkpoint_every)]
    if spec.eval_freq > 0:
        callbacks.append(EvalKeepBest(spec.eval_freq))
    return callbacks


def _hyperparameter_text(spec: TrainSpec) -> str:
    rows = {"script": spec.script, "n_envs": spec.n_envs, "seed": spec.seed, **spec.ppo_kwargs,
            **{f"gait.{k}": v for k, v in spec.gait.to_dict().items()},
            **{f"env.{k}": v for k, v in spec.env_kwargs.items()}}
    return "| parameter | value |\n|---|---|\n" + "\n".join(f"| {k} | {v} |" for k, v in rows.items())


# ---------------------------------------------------------------------- main loop
def _load_for_resume(spec: TrainSpec, resume_model: Path, run_dir: Path, vec):
    """The saved model and statistics on `vec`; bad files become one TrainingError."""
    from stable_baselines3 import PPO
    from stable_baselines3.common.vec_env import VecNormalize

    stats = runs.stats_path_for(resume_model)
    if stats is None:
        raise TrainingError(f"no VecNormalize statistics beside {resume_model}: cannot resume faithfully")
    try:
        vec = VecNormalize.load(str(stats), vec)
        model = PPO.load(resume_model, env=vec, device="cpu", tensorboard_log=str(run_dir))
    except Exception as exc:  # BadZipFile, pickle errors, space mismatch (ValueError)
        raise TrainingError(f"cannot resume from {resume_model} ({type(exc).__name__}: {exc}); "
                            "pick another checkpoint") from exc
    vec.training = True
    if model.num_timesteps >= spec.total_timesteps:
        raise TrainingError(f"{resume_model} already has {model.num_timesteps} steps; "
                            f"give --total-timesteps above that")
    return vec, model


def _stop_workers(vec) -> None:
    """Close the vector env even when Ctrl-C left some workers' replies unread."""
    inner = getattr(vec, "venv", vec)
    if getattr(inner, "waiting", False):  # SubprocVecEnv mid-step: close() would wait forever
        for process in inner.processes:
            process.terminate()
        inner.waiting = False
        inner.closed = True
        return
    try:
        vec.close()
    except (EOFError, BrokenPipeError, OSError):  # workers already gone
        pass


def _interrupt(signum, frame):
    raise KeyboardInterrupt  # SIGTERM (kill, a job scheduler) saves like Ctrl-C


def train(spec: TrainSpec) -> Path:
    """Run PPO as `spec` says; returns the run directory. Ctrl-C or SIGTERM saves an interrupted model.

    With ``spec.resume`` the run's own env and PPO settings are kept (from its config.json);
    only the total number of steps comes from the new command.
    """
    validate(spec)
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.vec_env import VecNormalize

    torch.set_num_threads(1)  # more threads spin against the env workers on small MLPs
    resume_model, history = None, {}
    if spec.resume is not None:
        resume_model = find_resume_model(spec.resume)
        run_dir = runs.find_run_dir(resume_model)
        previous = runs.load_config(run_dir)
        env_kwargs = runs.env_kwargs_from_config(previous)
        gait = env_kwargs.pop("gait")
        history = {"original_command": previous.get("original_command", previous.get("command"))}
        spec = dataclasses.replace(spec, gait=gait, env_kwargs=env_kwargs, run_name=previous["run_name"],
                                   ppo_kwargs=previous.get("ppo_kwargs", spec.ppo_kwargs),
                                   episode_steps=previous.get("max_episode_steps", spec.episode_steps))
    else:
        run_dir = make_run_dir(spec.runs_dir, spec.run_name)

    vec = make_vec_env(spec, run_dir)
    try:
        if resume_model is not None:
            vec, model = _load_for_resume(spec, resume_model, run_dir, vec)
            print(f"resuming {resume_model} at {model.num_timesteps} steps; "
                  f"{spec.total_timesteps - model.num_timesteps} to go")
        else:
            vec = VecNormalize(vec, norm_obs=True, norm_reward=True, clip_obs=10.0, gamma=spec.ppo_kwargs["gamma"])
            model = PPO("MlpPolicy", vec, seed=spec.seed, device="cpu", tensorboard_log=str(run_dir), verbose=0,
                        **_ppo_constructor_kwargs(spec.ppo_kwargs))
    except BaseException:
        _stop_workers(vec)
        raise
    write_config(run_dir, spec, "running", resumed_from=runs.portable_path(resume_model), **history)
    signal.signal(signal.SIGTERM, _interrupt)

    started, start_steps = time.time(), model.num_timesteps
    status = "crashed"
    try:
        model.learn(total_timesteps=spec.total_timesteps - start_steps, callback=_callbacks(spec, run_dir),
                    progress_bar=spec.progress_bar, tb_log_name="tb", reset_num_timesteps=resume_model is None)
        save_model_and_stats(model, vec, run_dir / runs.FINAL_MODEL, run_dir / runs.FINAL_STATS)
        status = "finished"
    except KeyboardInterrupt:
        status = "interrupted"
        save_model_and_stats(model, vec, run_dir / runs.INTERRUPTED_MODEL, run_dir / runs.INTERRUPTED_STATS)
        print(f"\ninterrupted at {model.num_timesteps} steps: saved {run_dir / runs.INTERRUPTED_MODEL} "
              f"and {runs.INTERRUPTED_STATS}; continue with --resume {run_dir}")
    finally:
        _stop_workers(vec)
        wall = time.time() - started
        write_config(run_dir, spec, status, resumed_from=runs.portable_path(resume_model), **history,
                     trained_timesteps=int(model.num_timesteps), wall_seconds=round(wall, 1),
                     steps_per_second=round((model.num_timesteps - start_steps) / max(wall, 1e-9), 1))
    if status == "interrupted":
        raise KeyboardInterrupt
    _print_next_steps(run_dir, wall, model.num_timesteps - start_steps)
    return run_dir


def _ppo_constructor_kwargs(ppo_kwargs: dict) -> dict:
    kwargs = dict(ppo_kwargs)
    net = kwargs.pop("net_arch", None)
    log_std_init = kwargs.pop("log_std_init", None)
    policy_kwargs = {}
    if net is not None:
        policy_kwargs["net_arch"] = dict(pi=list(net), vf=list(net))
    if log_std_init is not None:
        policy_kwargs["log_std_init"] = log_std_init
    if policy_kwargs:
        kwargs["policy_kwargs"] = policy_kwargs
    return kwargs


def _print_next_steps(run_dir: Path, wall: float, steps: int) -> None:
    print(f"\ntraining finished: {steps} steps in {wall / 60:.1f} min ({steps / max(wall, 1e-9):.0f} steps/s)")
    print(f"run directory: {run_dir}")
    print("evaluate it with:")
    print(f"  python3 phases_test/phase4_viewer_play_policy.py --model {run_dir}/{runs.FINAL_MODEL} "
          f"--normalize {run_dir}/{runs.FINAL_STATS} --seconds 20 --deterministic")
    print(f"  python3 debug_model.py {run_dir}")
    print(f"  python3 tests/compare_residual_vs_baseline.py --model {run_dir}/{runs.FINAL_MODEL} "
          f"--normalize {run_dir}/{runs.FINAL_STATS} --episodes 10 --seconds 20")
