"""What a replaying script builds from --model, --normalize, --terrain and --command (and debug_model's
run directory), every input checked while its flags are parsed: one line and exit 2 otherwise."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from envs.fields import ConfigError
from envs.terrain_file import TerrainFileError, check_terrain_file
from walklab.cli import fail
from walklab.input_files import InputFileError, check_model_archive, check_statistics_file, model_observation_size


@dataclasses.dataclass(frozen=True)
class PolicyInputs:
    """What a replaying script builds from --model, --normalize, --terrain and --command, checked
    while its flags are parsed (policy_inputs_or_fail)."""

    model: Path
    stats: Path  # --normalize, or the statistics saved beside the model
    run_config: dict  # the model's run's config.json (current layout)
    env_config: object  # the EnvConfig the evaluation builds: the run's, with the terrain, command and
    # evaluation settings (walklab.run_config.EVALUATION_SETTINGS) applied
    env_overrides: dict  # the fixed command (walklab.run_config.fixed_command)


def policy_inputs_or_fail(model, normalize=None, terrain=None, command=None) -> PolicyInputs:
    """Every input of a trained policy, checked without loading it, or one line and exit 2: the
    model archive, its run's config.json and the env it describes, the run's recorded terrain (when
    no `terrain` replaces it), the statistics (given or saved beside the model), a --command for a
    policy without commands, and the model's observation size against the env's.

    Imports MuJoCo (walklab.run_config): a script that renders chooses MUJOCO_GL first."""
    from envs.assets import FLAT_TERRAIN
    from envs.layout import observation_size
    from walklab.run_config import EVALUATION_SETTINGS, RunError, env_config_from_record, fixed_command
    from walklab.runs import RunDir, stats_path_for

    model = Path(model)
    try:
        data = check_model_archive(model)
        config = RunDir.of_model(model).config()
        env_config = env_config_from_record(config, terrain)
        overrides = fixed_command(config, command)
        if terrain is None and env_config.terrain not in (None, FLAT_TERRAIN):
            try:
                check_terrain_file(env_config.terrain)
            except TerrainFileError as exc:
                raise RunError(f"the run's recorded terrain does not load: {exc}") from None
        try:
            env_config = env_config.replace(**{**EVALUATION_SETTINGS, **overrides})
        except ConfigError as exc:
            raise RunError(f"config.json's env settings do not build the env: {exc}") from None
        stats = Path(normalize) if normalize is not None else stats_path_for(model)
        if stats is None:
            raise RunError(
                f"no normalization statistics beside {model}: pass --normalize PATH.pkl "
                "(the vec_normalize.pkl saved with this model)"
            )
        check_statistics_file(stats)
        expected, given = model_observation_size(data), observation_size(env_config)
        if expected is not None and expected != given:
            raise RunError(
                f"model {model} expects {expected} observations but the env gives {given}: "
                "it was trained on a different env configuration"
            )
        # the statistics unpickled (SB3's VecNormalize): they must come from the model's run and env
        from walklab.policies import check_same_run, read_statistics

        statistics = read_statistics(stats)
        check_same_run(model, stats, statistics)
        try:
            shape = tuple(int(n) for n in statistics.obs_rms.mean.shape)
        except (AttributeError, TypeError, ValueError):
            raise RunError(
                f"cannot read normalization file {stats} (no observation statistics inside); "
                "give the vec_normalize.pkl saved with this model"
            ) from None
        if shape != (given,):
            raise RunError(
                f"normalization file {stats} is for observations of shape {shape}, but this env "
                f"gives ({given},): it comes from a different env; use the vec_normalize.pkl of the same run"
            )
    except (InputFileError, RunError, TerrainFileError) as exc:
        fail(str(exc))
    return PolicyInputs(model, stats, config, env_config, overrides)


def run_config_or_fail(run_dir) -> dict:
    """A run directory's config.json (walklab.runs.RunDir.config), or one line and exit 2."""
    from walklab.runs import RunDir, RunError

    try:
        return RunDir(run_dir).config()
    except RunError as exc:
        fail(str(exc))
