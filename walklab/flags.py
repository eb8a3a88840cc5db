"""Command-line flags generated from the configuration dataclasses' fields.

Each field declared with ``envs.fields.setting`` becomes ``--field-name`` (reward weights
``--<term>-weight``) with the field's help, unit and the preset's value as default. The flag's
parser applies the field's own rule, so a bad value (NaN, inf, out of range, wrong type) stops
the script in argparse, with one line, before anything heavy starts.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from envs.assets import FLAT_TERRAIN
from envs.config import WEIGHT_SUFFIX, EnvConfig
from envs.fields import ConfigError, field_kind
from walklab.cli import fail, number_for

ENV_FLAG_EXCLUDE = ("gait", "reward_weights")  # the gait is spelled out by each script; weights get their own


def flag_name(field_name: str, suffix: str = "") -> str:
    return "--" + (field_name + suffix).replace("_", "-")


def _help(meta: dict, default: Any) -> str:
    unit = f" ({meta['unit']})" if meta.get("unit") else ""
    shown = list(default) if isinstance(default, tuple) else default
    return f"{meta['help']}{unit} (default {shown})"


def add_dataclass_flags(group, instance: Any, *, exclude: Iterable[str] = (), suffix: str = "") -> list[str]:
    """Add one flag per setting field of `instance` (its values are the defaults); returns the dests."""
    dests = []
    for f in dataclasses.fields(instance):
        if f.name in exclude or "help" not in f.metadata or not f.metadata.get("flag", True):
            continue
        default = getattr(instance, f.name)
        flag, dest = flag_name(f.name, suffix), f.name + suffix
        kind = field_kind(f)
        if kind is bool:  # --name and --no-name, whatever the preset's default
            group.add_argument(
                flag, dest=dest, action=argparse.BooleanOptionalAction, default=default, help=f.metadata["help"]
            )
        elif kind is tuple:
            group.add_argument(
                flag,
                dest=dest,
                type=number_for(int, f.metadata),
                nargs="+",
                default=list(default),
                help=_help(f.metadata, default),
            )
        elif kind in (int, float):
            group.add_argument(
                flag,
                dest=dest,
                type=number_for(kind, f.metadata),
                default=default,
                help=_help(f.metadata, default),
            )
        elif f.metadata.get("choices") is not None:  # one of a few names
            group.add_argument(
                flag, dest=dest, choices=f.metadata["choices"], default=default, help=_help(f.metadata, default)
            )
        else:  # paths
            group.add_argument(flag, dest=dest, type=Path, default=default, help=_help(f.metadata, default))
        dests.append(dest)
    return dests


def values_from_args(instance: Any, args: argparse.Namespace, *, suffix: str = "") -> dict[str, Any]:
    """The flags' values for `instance`'s fields that were added as flags."""
    out = {}
    for f in dataclasses.fields(instance):
        dest = f.name + suffix
        if hasattr(args, dest):
            value = getattr(args, dest)
            out[f.name] = tuple(value) if isinstance(value, list) else value
    return out


def add_env_flags(parser: argparse.ArgumentParser, env: EnvConfig) -> None:
    """Every EnvConfig setting but the gait, and one ``--<term>-weight`` per reward term."""
    group = parser.add_argument_group("environment")
    add_dataclass_flags(group, env, exclude=ENV_FLAG_EXCLUDE)
    weights = parser.add_argument_group("reward weights")
    add_dataclass_flags(weights, env.reward_weights, suffix=WEIGHT_SUFFIX)


def add_env_setting_flags(parser: argparse.ArgumentParser, env: EnvConfig, names: Iterable[str]) -> None:
    """Only the EnvConfig settings `names` as flags, the very flags v2 generates for them (a script
    that builds an env from a preset takes ``--robot`` this way: ``names=("robot",)``)."""
    names = set(names)
    others = [f.name for f in dataclasses.fields(env) if f.name not in names]
    add_dataclass_flags(parser.add_argument_group("environment"), env, exclude=others)


def env_settings_from_args(env: EnvConfig, args: argparse.Namespace, names: Iterable[str]) -> EnvConfig:
    """`env` with the settings `names` the flags give (add_env_setting_flags); another robot walks its
    own trot and physics steps (EnvConfig.replace). ConfigError when a value is refused."""
    names = set(names)
    return env.replace(**{k: v for k, v in values_from_args(env, args).items() if k in names})


def preset_on_robot(preset, args: argparse.Namespace):
    """`preset` (a walklab.presets.Preset) on the robot the parsed ``--robot`` names (add_env_setting_flags):
    its own trot and physics steps, every other default the preset's; one line and exit 2 when refused."""
    try:
        return preset.for_robot(env_settings_from_args(preset.env, args, ("robot",)).robot)
    except ConfigError as exc:
        fail(exc.for_label(label_for(exc)))


def env_from_args(env: EnvConfig, args: argparse.Namespace) -> EnvConfig:
    changes = {k: v for k, v in values_from_args(env, args).items() if k not in ENV_FLAG_EXCLUDE}
    if changes.get("terrain") is not None and str(changes["terrain"]) != FLAT_TERRAIN:
        changes["terrain"] = str(Path(changes["terrain"]).resolve())
    elif changes.get("terrain") is not None:
        changes["terrain"] = FLAT_TERRAIN
    weights = values_from_args(env.reward_weights, args, suffix=WEIGHT_SUFFIX)
    return env.replace(**changes, reward_weights=dataclasses.replace(env.reward_weights, **weights))


def label_for(error: ConfigError) -> str:
    """The flag a configuration error is about: "PPOConfig.batch_size" -> "--batch-size"."""
    owner, _, name = error.field.partition(".")
    if not name:
        return error.field
    return flag_name(name, WEIGHT_SUFFIX if owner == "RewardWeights" else "")
