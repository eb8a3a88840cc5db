"""``sweep_residual_ppo.py``: the sweep's flags and ``main``."""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import optuna
from optuna.study import MaxTrialsCallback
from optuna.trial import TrialState

from envs.fields import field_kind
from walklab import runs
from walklab.cli import EPISODES, SECONDS, SEED, OneLineErrorParser, fail, input_file, number, number_for, output_dir
from walklab.config import RunSettings
from walklab.flags import add_env_setting_flags, preset_on_robot
from walklab.presets import V2
from walklab.sweep.objective import Objective, validate_space
from walklab.sweep.space import (
    SEARCH_SPACE,
    SpaceError,
    SweepSettings,
    apply_overrides,
    apply_yaml,
    check_pass_through,
    fit_batch_sizes,
)
from walklab.sweep.study import _one_line, _shown_url, open_storage, open_study, write_results
from walklab.training import TrainingError

DEFAULT_SWEEPS_DIR = Path("runs") / "sweeps"


TRIALS = number(int, low=1, high=100_000)
PASSED_TO_TRIALS = ("eval_freq", "eval_episodes", "eval_seconds", "episode_steps", "checkpoint_freq")


def _field_rule(owner, name: str):
    """The argparse type of a configuration field: its own rule (envs.fields.setting)."""
    field = next(f for f in dataclasses.fields(owner) if f.name == name)
    return number_for(field_kind(field), field.metadata)


# The cheapest complete run, from the repository root ({tmp}: a scratch folder); the fuzz suite
# (tests/test_cli_fuzz.py) starts every case from it.
SMOKE_ARGS = [
    "--study-name",
    "smoke",
    "--n-trials",
    "1",
    "--trial-timesteps",
    "1024",
    "--n-envs",
    "1",
    "--fix",
    "n_steps=1024",
    "--fix",
    "batch_size=512",
    "--objective-episodes",
    "1",
    "--objective-seconds",
    "0.5",
    "--eval-freq",
    "0",
    "--sweeps-dir",
    "{tmp}/sweeps",
]


def build_parser() -> argparse.ArgumentParser:
    p = OneLineErrorParser(
        prog="sweep_residual_ppo.py",
        description="Search v2's hyperparameters with Optuna; every trial is a train_residual_ppo_v2.py run.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="search space (narrow it with --fix, --range, --choices or --space):\n"
        + "\n".join(f"  {name:15s} {param.describe()}" for name, param in SEARCH_SPACE.items())
        + "\n\nflags after -- go to every trial's train_residual_ppo_v2.py, e.g. -- --terrain T.png --randomize"
        + "\n\n--robot NAME sweeps on that robot: every trial is v2 --robot NAME (its own trot and physics\n"
        "steps; lengths in the space, as residual_scale, are at the mini's size and scaled to the robot)",
    )
    p.add_argument("--study-name", required=True, help="the study; also its folder runs/sweeps/<study-name>/")
    p.add_argument(
        "--n-trials",
        type=TRIALS,
        default=20,
        help="trials this worker runs (every worker of a shared study runs its own)",
    )
    p.add_argument(
        "--study-trials",
        type=TRIALS,
        default=None,
        help="stop once the study has this many complete or pruned trials, counting every worker's",
    )
    p.add_argument(
        "--trial-timesteps",
        type=_field_rule(RunSettings, "total_timesteps"),
        default=300_000,
        help="training steps per trial and seed",
    )
    p.add_argument("--n-envs", type=_field_rule(RunSettings, "n_envs"), default=4, help="parallel envs of each trial")
    p.add_argument(
        "--seeds",
        type=SEED,
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
        type=output_dir,
        default=DEFAULT_SWEEPS_DIR,
        help="where study folders (trial runs, CSV, plots, the SQLite file) go",
    )
    space = p.add_argument_group("search space")
    space.add_argument(
        "--space", type=input_file(".yaml", ".yml"), default=None, help="YAML file narrowing or fixing parameters"
    )
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
        type=EPISODES,
        default=5,
        help="deterministic episodes (seeds 0, 1, ...) of the final model and of the baseline",
    )
    obj.add_argument("--objective-seconds", type=SECONDS, default=20.0, help="length of those episodes (s)")
    obj.add_argument(
        "--pruner-startup-trials",
        type=number(int, low=0, high=100_000),
        default=3,
        help="trials that finish before the median pruner stops any",
    )
    obj.add_argument(
        "--pruner-warmup",
        type=number(float, low=0, high=1, high_open=True),
        default=0.3,
        help="fraction of a trial's steps before it can be pruned",
    )
    obj.add_argument(
        "--sampler-seed",
        type=SEED,
        default=None,
        help="seed of the TPE sampler (leave unset when several workers share a study)",
    )
    passed = p.add_argument_group("given to every trial (v2 flags; default: v2's)")
    for name in PASSED_TO_TRIALS:
        flag = "--" + name.replace("_", "-")
        passed.add_argument(flag, type=_field_rule(RunSettings, name), default=None, help=f"v2's {flag}")
    add_env_setting_flags(p, V2.env, ("robot",))  # v2's own --robot: every trial walks that robot
    return p


def split_argv(argv: list[str]) -> tuple[list[str], list[str]]:
    """The sweep's own flags, and v2 flags after ``--`` for every trial."""
    if "--" in argv:
        i = argv.index("--")
        return argv[:i], argv[i + 1 :]
    return argv, []


def parse_args(argv: list[str] | None = None) -> tuple[argparse.Namespace, SweepSettings, dict]:
    """The sweep's flags, its settings and its search space, every rule checked (one line and exit 2
    otherwise); nothing is created."""
    argv = list(sys.argv[1:] if argv is None else argv)
    own, extra = split_argv(argv)
    args = build_parser().parse_args(own)

    if not runs.RUN_NAME_PATTERN.match(args.study_name):
        fail(f"--study-name {args.study_name!r} may use only letters, digits, '_', '-' and '.'")
    if len(set(args.seeds)) != len(args.seeds):
        fail(f"--seeds must be distinct, got {' '.join(map(str, args.seeds))}")
    preset = args.preset = preset_on_robot(V2, args)  # its own trot and physics steps
    pass_through = []
    if preset.env.robot != V2.env.robot:  # the mini's studies keep their recorded trial flags
        pass_through += ["--robot", preset.env.robot]
    for flag in PASSED_TO_TRIALS:
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
    return args, settings, space


def main(argv: list[str] | None = None) -> None:
    args, settings, space = parse_args(argv)
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

    searched = [n for n, p in space.items() if p.fixed is None]
    print(
        f"study {args.study_name!r} in {shown}: {len(study.trials)} trials so far; this worker runs "
        f"{args.n_trials} of {args.trial_timesteps} steps x seeds {' '.join(map(str, args.seeds))}; "
        f"searching {', '.join(searched) or 'nothing (every parameter fixed)'}",
        flush=True,
    )
    callbacks = []
    if args.study_trials is not None:
        done = sum(t.state in (TrialState.COMPLETE, TrialState.PRUNED) for t in study.trials)
        if done >= args.study_trials:
            print(f"the study already has {done} finished trials (--study-trials {args.study_trials}): nothing to run")
            write_results(study, settings, url)
            return
        callbacks.append(MaxTrialsCallback(args.study_trials, states=(TrialState.COMPLETE, TrialState.PRUNED)))
    started = time.time()
    objective = Objective(settings, space, args.preset)
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
