"""Hyperparameter sweeps of v2 with Optuna: embedded SQLite by default, PostgreSQL for many machines.

Every trial is an ordinary v2 run: the sampled parameters become flags of
``train_residual_ppo_v2.py``, parsed by the script's own parser (``walklab.train_cli``) and
trained by ``walklab.training.train``, so each trial directory has its ``config.json`` and
works with ``debug_model.py`` and ``tests/compare_residual_vs_baseline.py``. The best trial's
reproduction command is that argv.

Objective: deterministic forward velocity of the trial's final model over the baseline trot's,
same env, same fixed seeds (maximised; with several ``--seeds`` the mean ratio). Each periodic
evaluation during training reports the same ratio (on the evaluation seeds) to Optuna, and the
median pruner stops trials that fall behind.

The search space is :data:`SEARCH_SPACE`, the one place it is declared; ``--fix``, ``--range``,
``--choices`` and ``--space FILE.yaml`` narrow it for one study. The space and the trial
settings are stored in the study's user attributes: a later worker with another space is refused.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import importlib.util
import io
import json
import math
import shlex
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from walklab.callbacks import EVAL_FIRST_SEED
from walklab.cli import OneLineErrorParser, fail
from walklab.files import atomic_write_bytes, atomic_write_text

REPO_ROOT = Path(__file__).resolve().parent.parent
TRAIN_SCRIPT = "train_residual_ppo_v2.py"
DEFAULT_SWEEPS_DIR = Path("runs") / "sweeps"
OBJECTIVE_FIRST_SEED = 0  # the comparison script's seeds: 0, 1, 2, ...
SPACE_ATTR, SETTINGS_ATTR = "search_space", "trial_settings"
HEARTBEAT_SECONDS, GRACE_SECONDS = 60, 300  # a worker silent for 5 min (machine died): its trial is failed


# ---------------------------------------------------------------------- the search space
@dataclass(frozen=True)
class Param:
    """One searched setting of v2: a float or int range (optionally log), choices, or a fixed value.

    `name` is the field name of the v2 flag (``learning_rate`` -> ``--learning-rate``).
    """

    name: str
    kind: str  # "float", "int", "choice" or "bool" (a choice of False, True)
    low: float | None = None
    high: float | None = None
    log: bool = False
    choices: tuple = ()
    fixed: Any = None  # not None: not searched, always this value
    when: str | None = None  # searched (and given to v2) only when this bool parameter is True

    def to_dict(self) -> dict:
        if self.fixed is not None:
            return {"fixed": self.fixed}
        if self.kind == "choice":
            return {"choices": list(self.choices)}
        return {"type": self.kind, "low": self.low, "high": self.high, "log": self.log}

    def describe(self) -> str:
        if self.fixed is not None:
            return f"fixed {self.fixed}"
        if self.kind in ("choice", "bool"):
            text = "one of " + " | ".join(map(str, self.choices))
        else:
            text = f"{self.low:g}..{self.high:g}{' (log)' if self.log else ''}"
        return text + (f" (when {self.when})" if self.when else "")

    def suggest(self, trial) -> Any:
        if self.fixed is not None:
            return self.fixed
        if self.kind in ("choice", "bool"):
            return trial.suggest_categorical(self.name, list(self.choices))
        if self.kind == "int":
            return trial.suggest_int(self.name, int(self.low), int(self.high), log=self.log)
        return trial.suggest_float(self.name, self.low, self.high, log=self.log)

    def parse_value(self, text: Any) -> Any:
        """A value from the command line or YAML in this parameter's type (net_arch as "64,64")."""
        if self.name == "net_arch":
            if isinstance(text, (list, tuple)):
                parts = [str(x) for x in text]
            else:
                parts = str(text).replace("x", ",").replace(" ", ",").split(",")
            try:
                return ",".join(str(int(p)) for p in parts if p != "")
            except ValueError:
                raise SpaceError(f"net_arch: expected layer sizes like 64,64, got {text!r}") from None
        if self.kind == "bool":
            if isinstance(text, bool):
                return text
            word = str(text).strip().lower()
            if word in ("true", "yes", "on", "1"):
                return True
            if word in ("false", "no", "off", "0"):
                return False
            raise SpaceError(f"{self.name}: expected true or false, got {text!r}")
        if self.kind == "choice":
            sample = self.choices[0]
            kind = type(sample)
        else:
            kind = int if self.kind == "int" else float
        if kind is int and isinstance(text, float) and not text.is_integer():
            raise SpaceError(f"{self.name}: expected an integer, got {text!r}")
        try:
            value = kind(text)
        except (TypeError, ValueError):
            raise SpaceError(
                f"{self.name}: expected {'an integer' if kind is int else 'a number'}, got {text!r}"
            ) from None
        if kind is float and not math.isfinite(value):
            raise SpaceError(f"{self.name}: expected a finite number, got {text!r}")
        return value

    def flag_argv(self, value: Any, default: Any = False) -> list[str]:
        flag = "--" + self.name.replace("_", "-")
        if self.name == "net_arch":
            return [flag, *str(value).split(",")]
        if self.kind == "bool":  # v2 has --name when its default is off, --no-name when it is on
            if bool(value) == bool(default):
                return []
            return [flag] if value else ["--no-" + flag[2:]]
        return [flag, repr(value) if isinstance(value, float) else str(value)]


# Ranges for this robot (DIAGNOSIS.md, TRAINING_FIXES.md): v2's defaults sit inside each one.
SEARCH_SPACE: dict[str, Param] = {
    p.name: p
    for p in (
        # PPO
        Param("learning_rate", "float", 1e-4, 1e-3, log=True),
        Param("n_steps", "choice", choices=(1024, 2048, 4096)),
        Param("batch_size", "choice", choices=(64, 128, 256, 512)),  # only those dividing every rollout stay
        Param("n_epochs", "int", 5, 20),
        Param("gamma", "float", 0.97, 0.999),
        Param("gae_lambda", "float", 0.9, 0.99),
        Param("clip_range", "float", 0.1, 0.3),
        Param("ent_coef", "float", 0.0, 0.01),
        # policy
        Param("log_std_init", "float", -2.5, -0.5),
        Param("net_arch", "choice", choices=("64,64", "128,128", "256,256", "64,64,64")),
        # residual
        Param("residual_scale", "float", 0.02, 0.06),  # m per unit action
        Param("action_filter", "float", 0.05, 0.5, log=True),  # low-pass coefficient (1 = none)
        # gait modulation (PMTG-style stride and frequency actions): on or off, and how far it may go
        Param("gait_modulation", "bool", choices=(False, True)),
        Param("stride_range", "float", 0.2, 0.8, when="gait_modulation"),  # fraction of the stride, either way
        Param("frequency_range", "float", 0.1, 0.6, when="gait_modulation"),  # fraction of the frequency
    )
}


class SpaceError(ValueError):
    """A search-space change from the command line or YAML that cannot be applied."""


def _range(param: Param, low: Any, high: Any) -> Param:
    if param.kind in ("choice", "bool"):
        raise SpaceError(f"{param.name} is a choice, not a range: use --choices {param.name} V1 V2 ... or --fix")
    low, high = param.parse_value(low), param.parse_value(high)
    if low > high:
        raise SpaceError(f"{param.name}: range {low}:{high} is empty (low > high)")
    if low == high:
        return dataclasses.replace(param, fixed=low)
    if param.log and low <= 0:
        raise SpaceError(f"{param.name} is searched on a log scale: its low end must be > 0, got {low}")
    return dataclasses.replace(param, low=low, high=high, fixed=None)


def _choices(param: Param, values: list) -> Param:
    if param.kind not in ("choice", "bool"):
        raise SpaceError(f"{param.name} is a range: use --range {param.name}=LOW:HIGH or --fix")
    parsed = tuple(dict.fromkeys(param.parse_value(v) for v in values))
    if not parsed:
        raise SpaceError(f"{param.name}: give at least one choice")
    if len(parsed) == 1:
        return dataclasses.replace(param, fixed=parsed[0])
    return dataclasses.replace(param, choices=parsed, fixed=None)


def _lookup(space: dict[str, Param], name: str) -> Param:
    key = name.strip().replace("-", "_")
    if key not in space:
        raise SpaceError(f"unknown parameter {name!r}; the search space has {', '.join(space)}")
    return space[key]


def apply_yaml(space: dict[str, Param], path: Path) -> dict[str, Param]:
    """Narrow `space` from a YAML mapping: ``name: VALUE`` fixes, ``name: [A, B]`` or
    ``{choices: [...]}`` sets choices, ``{low: L, high: H}`` sets a range, ``{fix: V}`` fixes."""
    import yaml

    try:
        data = yaml.safe_load(Path(path).read_text())
    except OSError as exc:
        raise SpaceError(f"cannot read --space {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise SpaceError(f"--space {path} is not valid YAML: {str(exc).splitlines()[0]}") from None
    if data is None:
        return space
    if not isinstance(data, dict):
        raise SpaceError(f"--space {path} must be a mapping of parameter names, got {type(data).__name__}")
    space = dict(space)
    for name, spec in data.items():
        param = _lookup(space, str(name))
        if isinstance(spec, dict):
            keys = set(spec)
            if keys == {"fix"}:
                param = dataclasses.replace(param, fixed=param.parse_value(spec["fix"]))
            elif keys == {"choices"} and isinstance(spec["choices"], list):
                param = _choices(param, spec["choices"])
            elif keys and keys <= {"low", "high"}:
                param = _range(param, spec.get("low", param.low), spec.get("high", param.high))
            else:
                raise SpaceError(
                    f"--space {path}: {name} takes a value, a list of choices, {{fix: V}}, "
                    f"{{choices: [...]}} or {{low: L, high: H}}; got {spec!r}"
                )
        elif isinstance(spec, list) and (param.name != "net_arch" or all(isinstance(x, (list, str)) for x in spec)):
            param = _choices(param, spec)  # (a net_arch list of numbers is one architecture)
        else:
            param = dataclasses.replace(param, fixed=param.parse_value(spec))
        space[param.name] = param
    return space


def apply_overrides(
    space: dict[str, Param], fixes: list[str], ranges: list[str], choices: list[list[str]]
) -> dict[str, Param]:
    """``--fix NAME=VALUE``, ``--range NAME=LOW:HIGH`` and ``--choices NAME V1 V2 ...``."""
    space = dict(space)
    for text in fixes:
        name, sep, value = text.partition("=")
        if not sep:
            raise SpaceError(f"--fix {text!r}: expected NAME=VALUE, e.g. --fix learning_rate=3e-4")
        param = _lookup(space, name)
        space[param.name] = dataclasses.replace(param, fixed=param.parse_value(value))
    for text in ranges:
        name, sep, bounds = text.partition("=")
        low, sep2, high = bounds.partition(":")
        if not sep or not sep2:
            raise SpaceError(f"--range {text!r}: expected NAME=LOW:HIGH, e.g. --range residual_scale=0.03:0.05")
        param = _lookup(space, name)
        space[param.name] = _range(param, low, high)
    for name, *values in choices:
        param = _lookup(space, name)
        space[param.name] = _choices(param, values)
    return space


def fit_batch_sizes(space: dict[str, Param], n_envs: int) -> dict[str, Param]:
    """Keep only batch sizes that divide every possible rollout (n_steps x n_envs)."""
    n_steps, batch = space["n_steps"], space["batch_size"]
    steps_options = [n_steps.fixed] if n_steps.fixed is not None else list(n_steps.choices)
    rollouts = sorted({s * n_envs for s in steps_options})
    if batch.fixed is not None:
        bad = [r for r in rollouts if r % batch.fixed]
        if bad:
            raise SpaceError(f"batch_size {batch.fixed} does not divide n_steps x n_envs = {bad[0]}")
        return space
    kept = tuple(b for b in batch.choices if all(r % b == 0 for r in rollouts))
    if not kept:
        raise SpaceError(
            f"no batch_size among {', '.join(map(str, batch.choices))} divides every "
            f"n_steps x n_envs ({', '.join(map(str, rollouts))}); fix batch_size"
        )
    return {
        **space,
        "batch_size": _choices(batch, list(kept)) if len(kept) > 1 else dataclasses.replace(batch, fixed=kept[0]),
    }


def active(param: Param, values: dict[str, Any]) -> bool:
    return param.when is None or bool(values.get(param.when))


def sample(space: dict[str, Param], trial) -> dict[str, Any]:
    """The trial's values; a conditional parameter only when its condition is on (else v2's default)."""
    values: dict[str, Any] = {}
    for name, param in space.items():
        if active(param, values):
            values[name] = param.suggest(trial)
    return values


def space_record(space: dict[str, Param]) -> dict:
    """JSON form stored in the study (compared when a worker joins)."""
    return json.loads(json.dumps({name: p.to_dict() for name, p in space.items()}))


# ---------------------------------------------------------------------- trials as v2 runs
def load_v2_preset():
    """The v2 script's own preset (its explicit gait included), so a trial is exactly that script."""
    spec = importlib.util.spec_from_file_location("_train_residual_ppo_v2", REPO_ROOT / TRAIN_SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # its main() runs only as __main__
    return module.PRESET


def v2_parser(preset):
    from walklab.train_cli import build_parser

    return build_parser(preset, f"{TRAIN_SCRIPT} (as a sweep trial)")


@dataclass
class SweepSettings:
    """Everything about a trial except the sampled parameters."""

    study_name: str
    trial_timesteps: int
    n_envs: int
    seeds: list[int]
    objective_episodes: int
    objective_seconds: float
    sweeps_dir: Path
    pass_through: list[str]  # flags (and values) given to every trial: --eval-freq, after "--"
    defaults: dict = dataclasses.field(default_factory=dict)  # v2's own values of on/off settings

    def record(self) -> dict:
        """What makes trials comparable; stored in the study and compared when a worker joins."""
        return {
            "trial_timesteps": self.trial_timesteps,
            "n_envs": self.n_envs,
            "seeds": list(self.seeds),
            "objective_episodes": self.objective_episodes,
            "objective_seconds": self.objective_seconds,
            "train_flags": list(self.pass_through),
        }

    @property
    def study_dir(self) -> Path:
        return self.sweeps_dir / self.study_name


def trial_argv(settings: SweepSettings, space: dict[str, Param], values: dict[str, Any], seed: int) -> list[str]:
    """The settings part of a trial's train_residual_ppo_v2.py command line."""
    argv = ["--total-timesteps", str(settings.trial_timesteps), "--n-envs", str(settings.n_envs), "--seed", str(seed)]
    for name, param in space.items():
        if name in values:
            argv += param.flag_argv(values[name], settings.defaults.get(name, False))
    return argv + list(settings.pass_through)


def placement_argv(settings: SweepSettings, trial_number: int, seed: int) -> list[str]:
    return ["--run-name", f"trial_{trial_number}_seed{seed}", "--runs-dir", str(settings.study_dir), "--no-progress"]


def reproduce_command(argv: list[str], run_name: str) -> str:
    return shlex.join(["python3", TRAIN_SCRIPT, *argv, "--run-name", run_name])


class _ParseFailed(Exception):
    pass


def parse_trial_args(parser, argv: list[str]) -> argparse.Namespace:
    """Parse with v2's parser; its one-line error (normally an exit) becomes an exception."""
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err):
            return parser.parse_args(argv)
    except SystemExit:
        message = err.getvalue().strip().removeprefix("error: ")
        message = message.split(" (see ")[0]
        raise _ParseFailed(message or f"v2 refuses {shlex.join(argv)}") from None


@contextlib.contextmanager
def _as_command(argv: list[str]):
    """config.json records sys.argv as the run's command: make it the trial's v2 command."""
    saved = sys.argv
    sys.argv = [TRAIN_SCRIPT, *argv]
    try:
        yield
    finally:
        sys.argv = saved


class Baselines:
    """The baseline trot's evaluation per env configuration and seeds, computed once per worker."""

    def __init__(self):
        self.cache: dict[str, dict] = {}

    def get(self, env, env_record: dict, episodes: int, seconds: float, first_seed: int) -> dict:
        from walklab.evaluation import evaluate, zero_rows

        key = json.dumps([env_record, episodes, seconds, first_seed], sort_keys=True, default=str)
        if key not in self.cache:  # every episode a row of one batch
            self.cache[key], _ = evaluate(env, None, episodes, seconds, first_seed=first_seed, rows=zero_rows)
        return self.cache[key]


def velocity_ratio(policy_mps: float, baseline_mps: float) -> float:
    from walklab.training import TrainingError

    if baseline_mps <= 1e-4:
        raise TrainingError(
            f"the baseline trot makes {baseline_mps:.4f} m/s on this env: the velocity "
            "ratio is undefined (use longer evaluation episodes or another terrain)"
        )
    return policy_mps / baseline_mps


class Objective:
    """Optuna objective: train one v2 run per seed, return the mean final velocity ratio."""

    def __init__(self, settings: SweepSettings, space: dict[str, Param], preset):
        self.settings, self.space, self.preset = settings, space, preset
        self.parser = v2_parser(preset)
        self.baselines = Baselines()
        self.current: int | None = None  # the trial being run, for the Ctrl-C message

    def __call__(self, trial) -> float:
        import optuna

        from walklab import runs
        from walklab.train_cli import job_from_args
        from walklab.training import StopTraining, TrainingError, train

        s = self.settings
        self.current = trial.number
        values = sample(self.space, trial)
        ratios = []
        for k, seed in enumerate(s.seeds):
            argv = trial_argv(s, self.space, values, seed)
            full = argv + placement_argv(s, trial.number, seed)
            try:
                args = parse_trial_args(self.parser, full)
                job = job_from_args(self.preset, args)
            except (_ParseFailed, SystemExit) as exc:
                raise TrainingError(f"trial {trial.number}: v2 refuses its settings: {exc}") from None
            if k == 0:
                trial.set_user_attr("command", reproduce_command(argv, f"{s.study_name}_best"))
            hook = self._hook(trial, job, k)
            print(
                f"\n[sweep {s.study_name}] trial {trial.number} seed {seed}: python3 {TRAIN_SCRIPT} {shlex.join(full)}",
                flush=True,
            )
            try:
                with _as_command(full):
                    run_dir = train(job, on_evaluation=hook)
            except StopTraining as stop:
                run_dirs = sorted(s.study_dir.glob(f"trial_{trial.number}_seed{seed}_*"))
                trial.set_user_attr(f"run_dir_seed{seed}", runs.portable_path(run_dirs[-1]) if run_dirs else None)
                raise optuna.TrialPruned(str(stop)) from None
            trial.set_user_attr(f"run_dir_seed{seed}", runs.portable_path(run_dir))
            ratio, policy_mps, baseline_mps = self.final_ratio(run_dir)
            trial.set_user_attr(f"velocity_seed{seed}", round(policy_mps, 5))
            trial.set_user_attr(f"baseline_velocity_seed{seed}", round(baseline_mps, 5))
            trial.set_user_attr(f"ratio_seed{seed}", round(ratio, 4))
            print(
                f"[sweep {s.study_name}] trial {trial.number} seed {seed}: {policy_mps:.3f} m/s vs baseline "
                f"{baseline_mps:.3f} m/s = {ratio:.3f}x",
                flush=True,
            )
            ratios.append(ratio)
        return float(sum(ratios) / len(ratios))

    def _hook(self, trial, job, seed_index: int):
        """on_evaluation: report the evaluation's velocity ratio; stop the run if Optuna prunes it."""
        from envs.assets import PHYSICS_TIMESTEP
        from walklab import runs
        from walklab.training import StopTraining

        state: dict[str, float] = {}
        offset = seed_index * self.settings.trial_timesteps  # later seeds report after earlier ones

        def on_evaluation(steps: int, summary: dict) -> None:
            if "baseline" not in state:
                seconds = min(job.run.eval_seconds, job.run.episode_steps * job.env.frame_skip * PHYSICS_TIMESTEP)
                env = runs.make_eval_env({"env": job.env.to_dict()})
                try:
                    base = self.baselines.get(env, job.env.to_dict(), job.run.eval_episodes, seconds, EVAL_FIRST_SEED)
                finally:
                    env.close()
                state["baseline"] = base["forward_velocity_mps"]
            ratio = velocity_ratio(summary["forward_velocity_mps"], state["baseline"])
            trial.report(ratio, offset + steps)
            if trial.should_prune():
                raise StopTraining("pruned", f"pruned at {steps} steps: evaluation ratio {ratio:.3f}")

        return on_evaluation

    def final_ratio(self, run_dir: Path) -> tuple[float, float, float]:
        """Deterministic episodes of the final model and of the baseline, same env, seeds 0, 1, ..."""
        from walklab import runs
        from walklab.evaluation import evaluate

        s = self.settings
        config, env, loaded = runs.open_policy(Path(run_dir) / runs.FINAL_MODEL)
        try:
            trained, _ = evaluate(
                env,
                None,
                s.objective_episodes,
                s.objective_seconds,
                first_seed=OBJECTIVE_FIRST_SEED,
                rows=loaded.act_rows,  # every episode a row of one batch
            )
            base = self.baselines.get(
                env, config["env"], s.objective_episodes, s.objective_seconds, OBJECTIVE_FIRST_SEED
            )
        finally:
            env.close()
        v, b = trained["forward_velocity_mps"], base["forward_velocity_mps"]
        return velocity_ratio(v, b), v, b


# ---------------------------------------------------------------------- storage and study
def _one_line(exc: BaseException) -> str:
    inner = getattr(exc, "orig", None) or exc
    text = str(inner).strip().splitlines()
    return (text[0] if text else type(inner).__name__).strip()


def _shown_url(url: str) -> str:
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url


def driver_url(url: str) -> str:
    """``postgresql://`` with the installed driver: SQLAlchemy 2.1 picks psycopg 3 for the plain
    scheme, this project installs psycopg2-binary (the driver 1.4 and 2.0 pick)."""
    scheme, sep, rest = url.partition("://")
    if sep and scheme in ("postgresql", "postgres") and importlib.util.find_spec("psycopg") is None:
        return f"postgresql+psycopg2://{rest}"
    return url


def open_storage(url: str):
    """An Optuna RDBStorage with heartbeats (a dead worker's trial is failed after GRACE_SECONDS)."""
    import optuna

    url = driver_url(url)
    if url.startswith("sqlite"):
        engine_kwargs = {"connect_args": {"timeout": 60}}
    elif url.startswith("postgresql"):
        engine_kwargs = {"connect_args": {"connect_timeout": 10}, "pool_pre_ping": True}
    else:
        engine_kwargs = {}
    import warnings

    def create():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)  # heartbeats are "experimental"
            return optuna.storages.RDBStorage(
                url, engine_kwargs=engine_kwargs, heartbeat_interval=HEARTBEAT_SECONDS, grace_period=GRACE_SECONDS
            )

    return _retry_races(create)


def _retry_races(action, attempts: int = 6):
    """Run `action`, again when another worker won a race to create the same rows or tables (two
    workers started together on a new database both create Optuna's schema and the study)."""
    import random

    from optuna.exceptions import StorageInternalError
    from sqlalchemy.exc import IntegrityError, InternalError, ProgrammingError

    for attempt in range(attempts):
        try:
            return action()
        except (IntegrityError, ProgrammingError, InternalError, StorageInternalError):
            if attempt == attempts - 1:
                raise
            time.sleep(0.3 + random.random())


def _differences(stored: dict, wanted: dict) -> list[str]:
    keys = list(dict.fromkeys([*stored, *wanted]))
    return [k for k in keys if stored.get(k) != wanted.get(k)]


def open_study(storage, settings: SweepSettings, space: dict[str, Param], sampler, pruner, shown_url: str):
    """Create the study or join it; a study made with another space or trial settings is refused."""
    import optuna

    wanted_space, wanted_settings = space_record(space), settings.record()
    names = optuna.study.get_all_study_names(storage)
    if settings.study_name in names:
        study = optuna.load_study(study_name=settings.study_name, storage=storage, sampler=sampler, pruner=pruner)
        attrs = study.user_attrs
        if SPACE_ATTR in attrs and attrs[SPACE_ATTR] != wanted_space:
            diff = _differences(attrs[SPACE_ATTR], wanted_space)
            fail(
                f"study {settings.study_name!r} in {shown_url} was created with another search space "
                f"(differs in {', '.join(diff)}); use the same space or another --study-name"
            )
        if SETTINGS_ATTR in attrs and attrs[SETTINGS_ATTR] != wanted_settings:
            diff = _differences(attrs[SETTINGS_ATTR], wanted_settings)
            there = ", ".join(f"{k}={attrs[SETTINGS_ATTR].get(k)}" for k in diff)
            fail(
                f"study {settings.study_name!r} in {shown_url} was created with other trial settings "
                f"(differs in {', '.join(diff)}: there {there}); use the same settings or another --study-name"
            )
        if study.direction != optuna.study.StudyDirection.MAXIMIZE:
            fail(f"study {settings.study_name!r} in {shown_url} is not a sweep of this script (it minimises)")
    else:
        study = _retry_races(
            lambda: optuna.create_study(
                study_name=settings.study_name,
                storage=storage,
                sampler=sampler,
                pruner=pruner,
                direction="maximize",
                load_if_exists=True,
            )
        )
    if SPACE_ATTR not in study.user_attrs:  # new study (or two workers racing to create it: same values)
        _retry_races(lambda: study.set_user_attr(SPACE_ATTR, wanted_space))
        _retry_races(lambda: study.set_user_attr(SETTINGS_ATTR, wanted_settings))
    return study


# ---------------------------------------------------------------------- results
def write_results(study, settings: SweepSettings, url: str) -> None:
    """trials.csv, the two plots, the best trial's command and the dashboard command."""
    import warnings

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import optuna
    from optuna.trial import TrialState

    out = settings.study_dir
    out.mkdir(parents=True, exist_ok=True)
    trials = study.get_trials(deepcopy=False)
    counts = {state: sum(t.state == state for t in trials) for state in TrialState}
    print(
        f"\nstudy {settings.study_name!r}: {len(trials)} trials: {counts[TrialState.COMPLETE]} complete, "
        f"{counts[TrialState.PRUNED]} pruned, {counts[TrialState.FAIL]} failed, "
        f"{counts[TrialState.RUNNING]} running"
    )
    if trials:
        csv = out / "trials.csv"
        # Several workers of one study write here at once: each goes through its own
        # per-process temporary name, so one worker's rename never steals another's file.
        atomic_write_text(csv, study.trials_dataframe().to_csv(index=False))
        print(f"all trials: {csv}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # optuna.visualization.matplotlib is "experimental"
        plots = [
            ("optimization_history.png", optuna.visualization.matplotlib.plot_optimization_history),
            ("param_importances.png", optuna.visualization.matplotlib.plot_param_importances),
        ]
        for name, plot in plots:
            try:
                ax = plot(study)
                fig = ax.figure if hasattr(ax, "figure") else ax.flat[0].figure
                fig.set_size_inches(8, 5)
                fig.tight_layout()
                png = io.BytesIO()
                fig.savefig(png, format="png", dpi=100)
                plt.close(fig)
                atomic_write_bytes(out / name, png.getvalue())
                print(f"plot: {out / name}")
            except Exception as exc:  # too few finished trials, or nothing varies
                plt.close("all")
                print(f"plot {name} skipped: {_one_line(exc)}")
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    if complete:
        best = max(complete, key=lambda t: t.value)
        seeds = " ".join(str(s) for s in settings.seeds)
        print(f"best: trial {best.number}, velocity ratio {best.value:.3f} over the baseline (mean over seeds {seeds})")
        for key in sorted(best.user_attrs):
            if key.startswith("run_dir_seed"):
                print(f"  run directory: {best.user_attrs[key]}")
        print("reproduce it with:")
        print(f"  {best.user_attrs.get('command', '(no command recorded)')}")
        if len(settings.seeds) > 1:
            print(f"  (and --seed {' / '.join(str(s) for s in settings.seeds[1:])} for the other seeds)")
    else:
        print("no trial has finished yet: no best trial")
    print("live view (pip install optuna-dashboard):")
    print(f"  optuna-dashboard {shlex.quote(_shown_url(driver_url(url)))}")


# ---------------------------------------------------------------------- command line
def positive_int(text: str) -> int:
    from walklab.cli import positive_int as parse

    return parse(text)


def build_parser() -> argparse.ArgumentParser:
    from walklab.cli import positive_float

    p = OneLineErrorParser(
        prog="sweep_residual_ppo.py",
        description="Search v2's hyperparameters with Optuna; every trial is a train_residual_ppo_v2.py run.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="search space (narrow it with --fix, --range, --choices or --space):\n"
        + "\n".join(f"  {name:15s} {param.describe()}" for name, param in SEARCH_SPACE.items())
        + "\n\nflags after -- go to every trial's train_residual_ppo_v2.py, e.g. -- --terrain T.png --randomize",
    )
    p.add_argument("--study-name", required=True, help="the study; also its folder runs/sweeps/<study-name>/")
    p.add_argument(
        "--n-trials",
        type=positive_int,
        default=20,
        help="trials this worker runs (every worker of a shared study runs its own)",
    )
    p.add_argument(
        "--study-trials",
        type=positive_int,
        default=None,
        help="stop once the study has this many complete or pruned trials, counting every worker's",
    )
    p.add_argument("--trial-timesteps", type=positive_int, default=300_000, help="training steps per trial and seed")
    p.add_argument("--n-envs", type=positive_int, default=4, help="parallel envs of each trial")
    p.add_argument(
        "--seeds",
        type=int,
        nargs="+",
        default=[0],
        help="training seeds per configuration; the objective is their mean ratio",
    )
    p.add_argument(
        "--storage",
        default=None,
        help="Optuna storage URL, e.g. postgresql://user:pw@host/db to share a study between "
        "machines (default: sqlite file runs/sweeps/<study-name>/study.db)",
    )
    p.add_argument(
        "--sweeps-dir",
        type=Path,
        default=DEFAULT_SWEEPS_DIR,
        help="where study folders (trial runs, CSV, plots, the SQLite file) go",
    )
    space = p.add_argument_group("search space")
    space.add_argument("--space", type=Path, default=None, help="YAML file narrowing or fixing parameters")
    space.add_argument(
        "--fix",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="fix a parameter, e.g. --fix learning_rate=3e-4 --fix net_arch=128,128",
    )
    space.add_argument(
        "--range",
        action="append",
        default=[],
        metavar="NAME=LOW:HIGH",
        help="narrow a numeric range, e.g. --range residual_scale=0.03:0.05",
    )
    space.add_argument(
        "--choices",
        action="append",
        nargs="+",
        default=[],
        metavar="NAME V",
        help="narrow a choice, e.g. --choices net_arch 64,64 128,128",
    )
    obj = p.add_argument_group("objective and pruning")
    obj.add_argument(
        "--objective-episodes",
        type=positive_int,
        default=5,
        help="deterministic episodes (seeds 0, 1, ...) of the final model and of the baseline",
    )
    obj.add_argument("--objective-seconds", type=positive_float, default=20.0, help="length of those episodes (s)")
    obj.add_argument(
        "--pruner-startup-trials", type=int, default=3, help="trials that finish before the median pruner stops any"
    )
    obj.add_argument(
        "--pruner-warmup", type=float, default=0.3, help="fraction of a trial's steps before it can be pruned"
    )
    obj.add_argument(
        "--sampler-seed",
        type=int,
        default=None,
        help="seed of the TPE sampler (leave unset when several workers share a study)",
    )
    passed = p.add_argument_group("given to every trial (v2 flags; default: v2's)")
    for flag, kind in (
        ("--eval-freq", int),
        ("--eval-episodes", int),
        ("--eval-seconds", float),
        ("--episode-steps", int),
        ("--checkpoint-freq", int),
    ):
        passed.add_argument(flag, type=kind, default=None, help=f"v2's {flag}")
    return p


RESERVED = {"total_timesteps", "n_envs", "seed", "run_name", "runs_dir", "no_progress", "resume"}


def split_argv(argv: list[str]) -> tuple[list[str], list[str]]:
    """The sweep's own flags, and v2 flags after ``--`` for every trial."""
    if "--" in argv:
        i = argv.index("--")
        return argv[:i], argv[i + 1 :]
    return argv, []


def check_pass_through(extra: list[str], space: dict[str, Param]) -> None:
    for token in extra:
        if not token.startswith("--"):
            continue
        name = token[2:].split("=")[0].replace("-", "_")
        if name in space:
            raise SpaceError(f"{token} after -- is a searched parameter: use --fix {name}=VALUE instead")
        if name in RESERVED:
            raise SpaceError(f"{token} after -- is set by the sweep (use the sweep's own flag)")


def validate_space(settings: SweepSettings, space: dict[str, Param], preset) -> None:
    """Every end of every range, each choice, and the pass-through flags through v2's own parser and
    checks, so a value v2 would refuse stops here, not in trial 7."""
    from walklab.train_cli import job_from_args
    from walklab.training import TrainingError, validate

    parser = v2_parser(preset)
    base = {
        name: (p.fixed if p.fixed is not None else p.choices[0] if p.kind in ("choice", "bool") else p.low)
        for name, p in space.items()
    }
    variants = [base]
    for name, p in space.items():
        on = {p.when: True} if p.when else {}
        if p.fixed is None:
            options = list(p.choices) if p.kind in ("choice", "bool") else [p.low, p.high]
            variants += [{**base, **on, name: v} for v in options]
        elif on:
            variants.append({**base, **on})
    steps = space["n_steps"]
    for n in [steps.fixed] if steps.fixed is not None else steps.choices:  # the largest rollout vs eval_freq
        variants.append({**base, "n_steps": n})
    for values in variants:
        values = {k: v for k, v in values.items() if active(space[k], values)}
        argv = trial_argv(settings, space, values, settings.seeds[0]) + ["--no-progress"]
        try:
            job = job_from_args(preset, parse_trial_args(parser, argv))
            validate(job)
        except _ParseFailed as exc:
            raise SpaceError(f"train_residual_ppo_v2.py refuses {exc}") from None
        except TrainingError as exc:
            raise SpaceError(f"train_residual_ppo_v2.py refuses {exc}") from None


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    own, extra = split_argv(argv)
    args = build_parser().parse_args(own)

    from walklab import runs

    if not runs.RUN_NAME_PATTERN.match(args.study_name):
        fail(f"--study-name {args.study_name!r} may use only letters, digits, '_', '-' and '.'")
    if not 0 <= args.pruner_warmup < 1:
        fail(f"--pruner-warmup must be in [0, 1), got {args.pruner_warmup}")
    if len(set(args.seeds)) != len(args.seeds) or min(args.seeds) < 0:
        fail(f"--seeds must be distinct and >= 0, got {' '.join(map(str, args.seeds))}")
    pass_through = []
    for flag in ("eval_freq", "eval_episodes", "eval_seconds", "episode_steps", "checkpoint_freq"):
        value = getattr(args, flag)
        if value is not None:
            pass_through += ["--" + flag.replace("_", "-"), str(value)]
    settings = SweepSettings(
        args.study_name,
        args.trial_timesteps,
        args.n_envs,
        list(args.seeds),
        args.objective_episodes,
        args.objective_seconds,
        args.sweeps_dir,
        pass_through + extra,
    )
    preset = load_v2_preset()
    settings.defaults = {
        name: getattr(preset.env, name, getattr(preset.ppo, name, False))
        for name, param in SEARCH_SPACE.items()
        if param.kind == "bool"
    }
    try:
        space = dict(SEARCH_SPACE)
        if args.space is not None:
            space = apply_yaml(space, args.space)
        space = apply_overrides(space, args.fix, args.range, args.choices)
        space = fit_batch_sizes(space, args.n_envs)
        check_pass_through(extra, space)
        validate_space(settings, space, preset)
    except SpaceError as exc:
        fail(str(exc))

    import optuna

    if args.storage is None:
        db = (settings.study_dir / "study.db").resolve()
        url = f"sqlite:///{db}"
    else:
        url = args.storage
    shown = _shown_url(url)
    try:
        if args.storage is None:
            settings.study_dir.mkdir(parents=True, exist_ok=True)
        storage = open_storage(url)
        sampler = optuna.samplers.TPESampler(seed=args.sampler_seed)
        pruner = optuna.pruners.MedianPruner(
            n_startup_trials=args.pruner_startup_trials, n_warmup_steps=int(args.pruner_warmup * args.trial_timesteps)
        )
        study = open_study(storage, settings, space, sampler, pruner, shown)
    except SystemExit:
        raise
    except Exception as exc:  # bad URL, unknown driver, unreachable server, refused login
        fail(f"cannot open the storage {shown}: {_one_line(exc)}")

    from walklab.training import TrainingError

    searched = [n for n, p in space.items() if p.fixed is None]
    print(
        f"study {args.study_name!r} in {shown}: {len(study.trials)} trials so far; this worker runs "
        f"{args.n_trials} of {args.trial_timesteps} steps x seeds {' '.join(map(str, args.seeds))}; "
        f"searching {', '.join(searched) or 'nothing (every parameter fixed)'}",
        flush=True,
    )
    callbacks = []
    if args.study_trials is not None:
        from optuna.study import MaxTrialsCallback
        from optuna.trial import TrialState

        done = sum(t.state in (TrialState.COMPLETE, TrialState.PRUNED) for t in study.trials)
        if done >= args.study_trials:
            print(f"the study already has {done} finished trials (--study-trials {args.study_trials}): nothing to run")
            write_results(study, settings, url)
            return
        callbacks.append(MaxTrialsCallback(args.study_trials, states=(TrialState.COMPLETE, TrialState.PRUNED)))
    started = time.time()
    objective = Objective(settings, space, preset)
    try:
        study.optimize(
            objective,
            n_trials=args.n_trials,
            callbacks=callbacks,
            catch=(TrainingError, runs.RunError),
            gc_after_trial=True,
        )
    except KeyboardInterrupt:
        last = f"trial {objective.current} " if objective.current is not None else "the running trial "
        print(
            f"\ninterrupted after {(time.time() - started) / 60:.1f} min: {last}is marked failed; the study "
            "continues when you run the same command again",
            file=sys.stderr,
        )
        raise SystemExit(130) from None
    print(f"\nthis worker: {args.n_trials} trials in {(time.time() - started) / 60:.1f} min")
    write_results(study, settings, url)
