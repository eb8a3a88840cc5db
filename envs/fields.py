"""Validated dataclass fields: one set of rules for every number the toolkit accepts.

A field declared with :func:`setting` carries its range, unit and help text. The frozen
configuration dataclasses (``EnvConfig``, ``RewardWeights``, ``PPOConfig``, ``RunSettings``) call
:func:`validate` in ``__post_init__``, and ``walklab.flags`` builds command-line flags whose
parsers apply the very same :func:`check` — so the env, every script and config.json share one
rule set, and NaN, infinities and wrong types are refused everywhere.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any


class ConfigError(ValueError):
    """A configuration value breaks its field's rule; ``field`` names it, the message says why."""

    def __init__(self, field: str, requirement: str, value: Any):
        self.field, self.requirement, self.value = field, requirement, value
        super().__init__(f"{field} must be {requirement}, got {value!r}")

    def for_label(self, label: str) -> str:
        """The same message worded for a flag or keyword named `label`."""
        return f"{label} must be {self.requirement}, got {self.value!r}"


def setting(
    default: Any,
    help: str,
    unit: str = "",
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    choices: tuple | None = None,
    flag: bool = True,
    kind: type | None = None,
) -> Any:
    """A dataclass field with its rule: [low, high] (open ends when *_open), or one of `choices`.

    Tuples and lists as defaults are fine (frozen dataclasses hold tuples). `kind`: the scalar type
    when the default (None: filled in later) does not show it.
    """
    meta = {
        "help": help,
        "unit": unit,
        "low": low,
        "high": high,
        "low_open": low_open,
        "high_open": high_open,
        "choices": choices,
        "flag": flag,
        "kind": kind,
    }
    return dataclasses.field(default=default, metadata=meta)


def _requirement(meta: dict, integer: bool) -> str:
    kind = "an integer" if integer else "a finite number"
    low, high = meta.get("low"), meta.get("high")
    parts = []
    if low is not None:
        parts.append(f"{'>' if meta.get('low_open') else '>='} {_shown(low)}")
    if high is not None:
        parts.append(f"{'<' if meta.get('high_open') else '<='} {_shown(high)}")
    return kind + (" " + " and ".join(parts) if parts else "")


def _shown(bound: float) -> str:
    """A bound as written: integers in full (1048576, not 1.04858e+06), other numbers short."""
    return str(int(bound)) if float(bound).is_integer() and abs(bound) < 1e15 else f"{bound:g}"


def check(name: str, value: Any, meta: dict, kind: type) -> Any:
    """`value` converted to `kind` and checked against the field's rule, or ConfigError."""
    if meta.get("choices") is not None:
        if value not in meta["choices"]:
            raise ConfigError(name, f"one of {', '.join(map(str, meta['choices']))}", value)
        return value
    if kind is bool:
        if not isinstance(value, bool):
            raise ConfigError(name, "true or false", value)
        return value
    if kind in (int, float):
        integer = kind is int
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(name, _requirement(meta, integer), value)
        if integer and (isinstance(value, float) and not value.is_integer()):
            raise ConfigError(name, _requirement(meta, integer), value)
        if not math.isfinite(value):
            raise ConfigError(name, _requirement(meta, integer), value)
        value = kind(value)
        low, high = meta.get("low"), meta.get("high")
        too_low = low is not None and (value <= low if meta.get("low_open") else value < low)
        too_high = high is not None and (value >= high if meta.get("high_open") else value > high)
        if too_low or too_high:
            raise ConfigError(name, _requirement(meta, integer), value)
        return value
    return value


def field_kind(field: dataclasses.Field) -> type:
    """The scalar type a field holds: int, float, bool or str (declared, or from its default)."""
    if field.metadata.get("kind") is not None:
        return field.metadata["kind"]
    default = field.default
    if isinstance(default, bool):
        return bool
    if isinstance(default, int):
        return int
    if isinstance(default, float):
        return float
    return type(default)


def validate(obj: Any) -> None:
    """Check every `setting` field of a dataclass instance; converts ints given for floats."""
    owner = type(obj).__name__
    for f in dataclasses.fields(obj):
        if "help" not in f.metadata:
            continue
        value = getattr(obj, f.name)
        kind = field_kind(f)
        if kind is tuple:
            if not isinstance(value, (tuple, list)) or not value:
                raise ConfigError(f"{owner}.{f.name}", "a non-empty list", value)
            items = tuple(check(f"{owner}.{f.name}", v, f.metadata, int) for v in value)
            object.__setattr__(obj, f.name, items)
            continue
        if value is None and f.default is None:  # an optional setting left unset
            continue
        if value is None:
            raise ConfigError(
                f"{owner}.{f.name}", _requirement(f.metadata, kind is int) if kind in (int, float) else "set", value
            )
        object.__setattr__(obj, f.name, check(f"{owner}.{f.name}", value, f.metadata, kind))


def to_dict(obj: Any) -> dict[str, Any]:
    """A dataclass as JSON-ready values (tuples as lists, nested dataclasses as dicts)."""
    out = {}
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if dataclasses.is_dataclass(value):
            value = value.to_dict() if hasattr(value, "to_dict") else to_dict(value)
        elif isinstance(value, tuple):
            value = list(value)
        out[f.name] = value
    return out
