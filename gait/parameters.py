"""Trot parameters, validated when built; whether a robot's legs can walk them, by ``check_fits``.

The fields are metres and seconds of one robot. Each robot's working trot is in its description
file (``assets/robots/<name>/robot.json``, read by ``envs.robot``); ``GaitParameters()`` is the
seed robot's (the mini's), which every config.json without a gait has walked.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from gait.kinematics import MAX_REACH_FRACTION, LegGeometry

MIN_CYCLE_TIME, MAX_CYCLE_TIME = 0.1, 10.0  # s: at least 5 control steps per cycle, at most a slow crawl
MAX_LENGTH = 100.0  # m: no field of any legged robot's trot is longer (refuses 1e300 before any arithmetic)
LENGTH_FIELDS = ("body_height", "step_length", "step_height", "stance_width", "stance_x_offset")
MIN_PHASE_TIME = 1e-3  # s: the shortest stance or swing (a 1 ms phase is already far below a control step)


class GaitParameterError(ValueError):
    """A gait parameter is impossible; the message names the field."""


@dataclass(frozen=True)
class GaitParameters:
    """A parametric trot.

    body_height:     height of the trunk underside above the ground in stance (m)
    step_length:     fore-aft distance a foot sweeps in one stance (m); ideal speed is
                     step_length / (duty_factor * cycle_time)
    step_height:     swing-foot apex above the stance foot (m); must stay below body_height
    cycle_time:      one full gait cycle (s)
    duty_factor:     fraction of the cycle each foot spends on the ground (0.5 = pure trot)
    stance_width:    extra lateral offset of each foot, outward from its hip (m)
    stance_x_offset: fore-aft shift of every foot's sweep centre (m), + is forward
    """

    body_height: float = 0.05  # m
    step_length: float = 0.06  # m
    step_height: float = 0.04  # m
    cycle_time: float = 0.8  # s
    duty_factor: float = 0.5
    stance_width: float = 0.0  # m
    stance_x_offset: float = 0.0  # m

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if not isinstance(value, (int, float)) or not math.isfinite(value):
                raise GaitParameterError(f"GaitParameters.{field.name} must be a finite number, got {value!r}")
        if not MIN_CYCLE_TIME <= self.cycle_time <= MAX_CYCLE_TIME:
            raise GaitParameterError(
                f"GaitParameters.cycle_time must be in [{MIN_CYCLE_TIME}, {MAX_CYCLE_TIME}] s, got {self.cycle_time}"
            )
        if self.body_height <= 0:
            raise GaitParameterError(f"GaitParameters.body_height must be > 0 m, got {self.body_height}")
        if self.step_length < 0:
            raise GaitParameterError(f"GaitParameters.step_length must be >= 0 m, got {self.step_length}")
        if self.step_height < 0:
            raise GaitParameterError(f"GaitParameters.step_height must be >= 0 m, got {self.step_height}")
        if self.step_height >= self.body_height:
            raise GaitParameterError(
                f"GaitParameters.step_height ({self.step_height} m) must be below body_height ({self.body_height} m)"
            )
        if not 0.0 < self.duty_factor < 1.0:
            raise GaitParameterError(f"GaitParameters.duty_factor must be in (0, 1), got {self.duty_factor}")
        for name in LENGTH_FIELDS:
            value = getattr(self, name)
            if abs(value) > MAX_LENGTH:
                raise GaitParameterError(f"GaitParameters.{name} must be within {MAX_LENGTH:g} m, got {value}")
        self._check_derived()

    def stance_foot_depth(self, geometry: LegGeometry) -> float:
        """Vertical distance from the hip axis down to the foot centre in stance (m), on `geometry`'s legs."""
        return self.body_height + geometry.hip_height - geometry.foot_radius

    def check_fits(self, geometry: LegGeometry) -> GaitParameters:
        """This gait, or GaitParameterError naming the field when `geometry`'s legs cannot walk it."""
        self._check_reach(geometry)
        return self

    @property
    def ideal_speed(self) -> float:
        """Body speed if no foot slipped (m/s)."""
        return self.step_length / (self.duty_factor * self.cycle_time)

    def _check_reach(self, geometry: LegGeometry) -> None:
        # math.hypot, never x**2: a huge field gives an infinite distance, refused below,
        # instead of an OverflowError out of the arithmetic
        max_reach = MAX_REACH_FRACTION * (geometry.thigh_length + geometry.calf_length)
        min_reach = _min_reach(geometry)
        depth = self.stance_foot_depth(geometry)
        half = self.step_length / 2
        lateral = self.stance_width  # outward of the leg's plane, which sits hip_offset beside the hip
        if geometry.hip_offset:
            lateral = math.sqrt(max(0.0, (lateral + geometry.hip_offset) ** 2 - geometry.hip_offset**2))
        extremes = {
            "step_length": math.hypot(abs(self.stance_x_offset) + half, depth, lateral),
            "body_height": math.hypot(self.stance_x_offset, depth, lateral),
        }
        for name, reach in extremes.items():
            if not reach <= max_reach:  # also inf and NaN
                raise GaitParameterError(
                    f"GaitParameters.{name}: foot target {reach:.4g} m from the hip is beyond the leg's reach "
                    f"({max_reach:.4f} m); lower body_height or step_length"
                )
        apex = math.hypot(self.stance_x_offset, depth - self.step_height, lateral)
        if not apex >= min_reach:  # also NaN
            raise GaitParameterError(
                f"GaitParameters.step_height: swing apex {apex:.4f} m from the hip is closer than the folded "
                f"leg allows ({min_reach:.4f} m); lower step_height or raise body_height"
            )

    def _check_derived(self) -> None:
        """Every quantity computed from the fields must be finite: a duty factor of 1e-320 passes
        (0, 1) but makes the stance last 1e-321 s and the ideal speed infinite."""
        phases = (
            ("stance", self.duty_factor * self.cycle_time, "duty_factor x cycle_time", "raise"),
            ("swing", (1.0 - self.duty_factor) * self.cycle_time, "(1 - duty_factor) x cycle_time", "lower"),
        )
        for phase, seconds, formula, fix in phases:
            if not (math.isfinite(seconds) and seconds >= MIN_PHASE_TIME):
                raise GaitParameterError(
                    f"GaitParameters.duty_factor: the {phase} lasts {seconds:.3g} s ({formula}), below "
                    f"{MIN_PHASE_TIME} s; {fix} duty_factor"
                )
        try:
            speed = self.ideal_speed
        except (OverflowError, ZeroDivisionError):
            speed = math.inf
        if not math.isfinite(speed):
            raise GaitParameterError(f"GaitParameters.step_length: the ideal speed {speed} m/s is not finite")

    def to_dict(self) -> dict[str, float]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> GaitParameters:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise GaitParameterError(f"unknown gait parameter(s): {', '.join(sorted(unknown))}")
        return cls(**values)


def _min_reach(geometry: LegGeometry) -> float:
    """Hip-to-foot distance with the knee at its fold limit (m)."""
    inner = math.pi - abs(geometry.knee_fold)  # angle between thigh and calf when fully folded
    l1, l2 = geometry.thigh_length, geometry.calf_length
    return math.sqrt(l1**2 + l2**2 - 2 * l1 * l2 * math.cos(inner))


WORKING_GAIT = GaitParameters()  # the mini's working trot (assets/robots/mini/robot.json states the same)
# The original default that walked backwards in the reference project: nearly straight legs and a
# 1.5 cm swing that scuffs on bumps. Kept so DIAGNOSIS.md can show why it fails.
LEGACY_GAIT = GaitParameters(body_height=0.07, step_length=0.05, step_height=0.015, cycle_time=0.8)

PRESETS: dict[str, GaitParameters] = {"working": WORKING_GAIT, "legacy": LEGACY_GAIT}
