"""The training scripts' command line: flags generated from a preset's configurations, then ``train``.

A preset is the script's own defaults (its gait, EnvConfig, PPOConfig and RunSettings) and which
groups of flags it exposes. v1 shows only the run flags; v2 adds every PPO and env setting.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from envs.fields import ConfigError
from walklab.cli import (
    FlagError,
    OneLineErrorParser,
    fail,
)
from walklab.flags import (
    add_dataclass_flags,
    add_env_flags,
    add_env_setting_flags,
    env_from_args,
    env_settings_from_args,
    label_for,
    values_from_args,
)
from walklab.input_files import InputFileError, check_model_archive, check_statistics_file
from walklab.presets import Preset
from walklab.run_config import command_line


def build_parser(preset: Preset, description: str, epilog: str = "") -> argparse.ArgumentParser:
    p = OneLineErrorParser(description=description, epilog=epilog, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_dataclass_flags(p, preset.run)
    p.add_argument(
        "--run-name", default=preset.run_name, help="run directory prefix: runs/<run-name>_<YYYYMMDD_HHMMSS>/"
    )
    p.add_argument("--runs-dir", type=Path, default=Path("runs"), help="where run directories are created")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.add_argument(
        "--resume",
        type=Path,
        default=None,
        help="continue a run from a checkpoint .zip or a run directory (its newest model); the run's "
        "env and PPO settings are kept, --total-timesteps is the new total",
    )
    p.add_argument(
        "--init-from",
        type=Path,
        default=None,
        help="start a new run from a trained model's weights and normalization statistics (a .zip, or a "
        "run directory: its final model): fine-tune it under this command's settings; its observations "
        "and actions must match",
    )
    if preset.ppo_flags:
        add_dataclass_flags(p.add_argument_group("PPO"), preset.ppo)
    if preset.env_flags:
        add_env_flags(p, preset.env)
    elif preset.env_fields:  # a few env settings, through the same generated flags as v2's
        add_env_setting_flags(p, preset.env, preset.env_fields)
    return p


def job_from_args(preset: Preset, args: argparse.Namespace, command: str | None = None):
    """The TrainJob for parsed flags, recording `command` (default: this process's command line)
    in config.json; a combination the dataclasses refuse is a FlagError (one line)."""
    from walklab.training import TrainJob  # torch and SB3 load after the flags: --help answers at once

    try:
        run = dataclasses.replace(preset.run, **values_from_args(preset.run, args))
        ppo = dataclasses.replace(preset.ppo, **values_from_args(preset.ppo, args)) if preset.ppo_flags else preset.ppo
        if preset.env_flags:
            env = env_from_args(preset.env, args)
        else:
            env = env_settings_from_args(preset.env, args, preset.env_fields)
    except ConfigError as exc:
        raise FlagError(exc.for_label(label_for(exc))) from None
    return TrainJob(
        script=preset.script,
        run_name=args.run_name,
        env=env,
        ppo=ppo,
        run=run,
        runs_dir=args.runs_dir,
        resume=args.resume,
        init_from=args.init_from,
        progress_bar=not args.no_progress,
        args=args_record(args),
        command=command if command is not None else command_line(),
    )


def entry_points(preset: Preset, doc: str):
    """A training script's ``build_parser()`` and ``parse_args(argv)`` (the fuzz suite and ``main``
    use them), for `preset` and the script's docstring `doc`."""
    description = doc.splitlines()[0]

    def build() -> argparse.ArgumentParser:
        return build_parser(preset, description, doc)

    def parse(argv=None):
        """The training job the flags describe, every rule checked; one line and exit 2 otherwise."""
        return parse_job(preset, description, doc, argv)

    return build, parse


def parse_job(preset: Preset, description: str, epilog: str = "", argv=None):
    """The TrainJob the flags describe with every rule checked, single and across flags (one line
    and exit 2 otherwise); nothing is created."""
    from walklab.training import TrainingError, validate

    try:
        preset = preset_for_argv(preset, argv)
        job = job_from_args(preset, build_parser(preset, description, epilog).parse_or_raise(argv))
        validate(job)
        if job.resume is not None:
            check_resume_target(job.resume)
    except FlagError as exc:
        fail(str(exc))
    except TrainingError as exc:
        fail(str(exc), code=exc.exit_code)
    return job


def preset_for_argv(preset: Preset, argv=None) -> Preset:
    """`preset` on the robot ``--robot`` names in `argv` (its own trot and frame skip become the defaults
    the flags start from); the preset itself when there is none (or it is refused by the full parse)."""
    if not (preset.env_flags or "robot" in preset.env_fields):
        return preset
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--robot")
    known, _ = pre.parse_known_args(sys.argv[1:] if argv is None else argv)
    if not known.robot:
        return preset
    try:
        return preset.for_robot(known.robot)
    except ConfigError:
        return preset  # the full parser names the problem in one line


def check_resume_target(target: Path) -> None:
    """--resume's model (a checkpoint .zip, or a run directory's newest), its run's config.json and
    statistics, checked cheaply (walklab.cli's archive and pickle checks); a FlagError otherwise.
    What needs the model loaded (its step count, its env) is checked by ``train`` before any worker."""
    from walklab.runs import RunDir, RunError, find_resume_model, stats_path_for

    try:
        if target.is_dir():
            RunDir(target).config()
        model = find_resume_model(target)
        if not target.is_dir():
            RunDir.of_model(model).config()
        check_model_archive(model)
        stats = stats_path_for(model)
        if stats is None:
            raise RunError(f"no VecNormalize statistics beside {model}")
        check_statistics_file(stats)
    except (InputFileError, RunError) as exc:
        raise FlagError(f"cannot resume from {target}: {exc}") from None


def main(preset: Preset, description: str, epilog: str = "", argv=None) -> None:
    """Parse, build the job, train; known errors and Ctrl-C become one line and an exit code."""
    from walklab.runs import RunError
    from walklab.training import TrainingError, train

    job = dataclasses.replace(parse_job(preset, description, epilog, argv), exiting_after=True)
    # exiting_after: a late Ctrl-C cannot cut the exit short
    try:
        train(job)
    except TrainingError as exc:
        fail(str(exc), code=exc.exit_code)
    except RunError as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        sys.exit(130)


def args_record(args: argparse.Namespace) -> dict:
    """Parsed flags as JSON-ready values, for config.json."""
    return {k: v if isinstance(v, (int, float, bool, str, type(None))) else str(v) for k, v in vars(args).items()}
