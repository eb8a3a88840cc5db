"""The sweep's search space: the parameters, narrowing them for one study, and a trial's v2 flags."""

from __future__ import annotations

import dataclasses
import json
import math
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TRAIN_SCRIPT = "train_residual_ppo_v2.py"


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


RESERVED = {"total_timesteps", "n_envs", "seed", "run_name", "runs_dir", "no_progress", "resume", "robot"}


def check_pass_through(extra: list[str], space: dict[str, Param]) -> None:
    for token in extra:
        if not token.startswith("--"):
            continue
        name = token[2:].split("=")[0].replace("-", "_")
        if name in space:
            raise SpaceError(f"{token} after -- is a searched parameter: use --fix {name}=VALUE instead")
        if name in RESERVED:
            raise SpaceError(f"{token} after -- is set by the sweep (use the sweep's own flag)")
