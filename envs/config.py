"""The env's configuration: one frozen, validated dataclass, the single source of its defaults.

``EnvConfig`` holds every env setting, gait included, and one ``RewardWeights``
(``envs.reward_weights``, re-exported here). Ranges are checked by ``envs.fields`` when an instance
is built.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from envs.assets import FLAT_TERRAIN
from envs.fields import ConfigError, setting, to_dict, validate
from envs.reward_weights import (  # noqa: F401 - also imported from here
    MAX_REWARD_WEIGHT,
    ORIGINAL_REWARD_WEIGHTS,
    REWARD_TERMS,
    WEIGHT_SUFFIX,
    RewardWeights,
)
from envs.robot import DEFAULT_ROBOT, check_robot_name, describe
from gait.parameters import GaitParameterError, GaitParameters

ROBOT_DEFAULTS = ("gait", "frame_skip")  # None: the robot's own (its description), also when the robot changes


@dataclass(frozen=True)
class EnvConfig:
    """Every setting of ResidualWalk-v0 (``envs.spec`` says what each does).

    Lengths (residual_scale, min_body_height) are written for the reference robot (the mini); the
    env scales them by its robot's size (``envs.robot``), so a config means the same on every robot.
    ``gait`` left out (None) is the robot's own working trot, from its description file.
    """

    gait: GaitParameters = dataclasses.field(default=None)  # type: ignore[assignment] - None: the robot's trot
    robot: str = setting(
        DEFAULT_ROBOT,
        "the quadruped: a robot name (a folder of assets/robots or of $WALKLAB_ROBOTS_PATH) or a robot folder",
    )
    residual_scale: float = setting(0.02, "metres of foot offset per unit action", "m", low=0, high=0.1)
    action_filter: float = setting(
        0.1, "low-pass coefficient of the residual (1 = no filter)", low=0, high=1, low_open=True
    )
    terrain: str | None = setting(None, "heightfield PNG (default assets/hfield.png)")
    frame_skip: int = setting(None, "physics steps per control step (default: the robot's)", low=1, high=100, kind=int)
    reward_weights: RewardWeights = dataclasses.field(default_factory=RewardWeights)
    min_body_height: float = setting(
        0.02,
        "trunk closer than this to the ground ends the episode as a fall (evaluations use the default)",
        "m",
        low=0,
        high=0.2,
    )
    height_target_offset: float = setting(
        0.0,
        "the height term pays towards the gait's body_height plus this (at the reference size; x robot size); "
        "the trot under the policy keeps its own height",
        "m",
        low=-0.03,
        high=0.03,
    )
    max_tilt: float = setting(
        1.0,
        "trunk tilt beyond this ends the episode as a fall (evaluations use the default)",
        "rad",
        low=0,
        high=math.pi,
        low_open=True,
    )
    terrain_samples: bool = setting(True, "observe 12 ground-height samples around the hips")
    randomize: bool = setting(
        False, "domain randomisation: friction, trunk mass, actuator strength, terrain height, observation noise"
    )
    # Perturbations (envs.perturbations: how each is drawn, per robot, from its own stream); all off by default
    push_velocity: float = setting(
        0.0,
        "pushes: velocity kick on the trunk, horizontal, random direction (at the reference size; "
        "x sqrt(robot size) x its description's push scale); 0 = no pushes",
        "m/s",
        low=0,
        high=2,
    )
    push_interval_min: float = setting(
        1.0, "pushes: shortest time between two pushes", "s", low=0, high=60, low_open=True
    )
    push_interval_max: float = setting(
        3.0, "pushes: longest time between two pushes", "s", low=0, high=60, low_open=True
    )
    action_latency_max: int = setting(
        0,
        "action latency: each episode delays the actions by 0..this many control steps (uniform)",
        "steps",
        low=0,
        high=10,
    )
    obs_noise_level: float = setting(
        0.0,
        "per-sensor observation noise: this x each part's scale (envs.layout.OBSERVATION_PARTS' noise), "
        "uniform either way; 0 = off",
        low=0,
        high=10,
    )
    actuator_strength_range: float = setting(
        0.0, "actuator force limits x U(1 +- this), per actuator and episode", low=0, high=0.9
    )
    actuator_kp_range: float = setting(
        0.0, "actuator position gains x U(1 +- this), per actuator and episode", low=0, high=0.9
    )
    actuator_kv_range: float = setting(
        0.0, "joint damping (servo kv and passive) x U(1 +- this), per actuator and episode", low=0, high=0.9
    )
    joint_offset_max: float = setting(
        0.0, "encoder bias per joint and episode, U(+- this): observed and servoed on", "rad", low=0, high=0.3
    )
    link_mass_range: float = setting(
        0.0, "every link's mass but the trunk's x U(1 +- this), per episode", low=0, high=0.9
    )
    com_offset_max: float = setting(
        0.0,
        "the trunk's centre of mass moves U(+- this) per axis and episode (at the reference size; x robot size)",
        "m",
        low=0,
        high=0.05,
    )
    gait_modulation: bool = setting(
        False,
        "two more action entries modulate the trot's stride length and "
        "frequency (Policies Modulating Trajectory Generators)",
    )
    stride_range: float = setting(
        0.6, "stride length may change by this fraction either way (gait_modulation)", low=0, high=0.9
    )
    frequency_range: float = setting(
        0.4, "gait frequency may change by this fraction either way (gait_modulation)", low=0, high=0.8
    )
    frequency_filter: float = setting(
        1.0,
        "low-pass coefficient of the frequency action (1 = no filter: the "
        "phase integrates the frequency, which smooths it)",
        low=0,
        high=1,
        low_open=True,
    )
    steering: bool = setting(
        False,
        "one more action entry steers: it lengthens the strides of one side and shortens the other's "
        "(left x (1 - steering_range x r), right x (1 + steering_range x r))",
    )
    steering_range: float = setting(
        0.3,
        "fraction by which the steering action shortens one side's stride and lengthens the other's",
        low=0,
        high=0.9,
    )
    swing_height: bool = setting(
        False,
        "one more action entry (before steering) scales the swing's apex: "
        "step_height x (1 + swing_height_range x r), to lift over steps and ridges",
    )
    swing_height_range: float = setting(
        0.5, "fraction by which the swing height action may raise or lower the apex", low=0, high=0.9
    )
    heading_observation: bool = setting(False, "observe the heading (sin, cos of yaw) and the lateral position")
    obs_history: int = setting(
        0,
        "observe the last k observations and actions besides the current ones, newest first (envs.history; 0 = off)",
        "steps",
        low=0,
        high=10,
    )
    commands: bool = setting(
        False,
        "velocity commands: each episode draws a forward speed and a yaw rate, "
        "observed as the last 2 entries (reward: tracking_velocity, tracking_yaw_rate)",
    )
    command_speed_min: float = setting(
        0.05, "commanded forward speed, lower end of the range drawn from (commands)", "m/s", low=-0.5, high=0.5
    )
    command_speed_max: float = setting(
        0.20, "commanded forward speed, upper end (commands; equal ends fix it)", "m/s", low=-0.5, high=0.5
    )
    command_yaw_rate_min: float = setting(
        0.0, "commanded yaw rate, lower end (commands; 0..0 = walk straight)", "rad/s", low=-2.0, high=2.0
    )
    command_yaw_rate_max: float = setting(0.0, "commanded yaw rate, upper end (commands)", "rad/s", low=-2.0, high=2.0)
    command_straight_share: float = setting(
        0.0,
        "share of episodes whose drawn yaw rate is replaced by 0 (commands with a yaw-rate range), "
        "so that walking straight keeps its practice",
        low=0,
        high=1,
    )
    command_feedforward: bool = setting(
        False,
        "commands with gait_modulation: each episode's stride and frequency scales start at "
        "sqrt(command / the trot's no-slip speed), so the plain gait already walks the command "
        "without slip; the gait actions adjust from there",
    )
    command_speed_sigma: float = setting(
        0.05, "speed error at which tracking_velocity falls to 1/e", "m/s", low=0, high=1, low_open=True
    )
    command_speed_kernel: str = setting(
        "gaussian",
        "shape of tracking_velocity: 'gaussian' exp(-(e/sigma)^2) (legged_gym's: flat near the command) "
        "or 'laplace' exp(-|e|/sigma) (pays for the last centimetres per second as much as the first)",
        choices=("gaussian", "laplace"),
    )
    command_speed_window: float = setting(
        0.0,
        "tracking_velocity compares the command with the heading speed averaged over the last this many "
        "seconds (0: each step's own speed, which swings within every stride and biases the kernel's "
        "optimum below the command)",
        "s",
        low=0,
        high=5,
    )
    command_yaw_rate_sigma: float = setting(
        0.3, "yaw-rate error at which tracking_yaw_rate falls to 1/e", "rad/s", low=0, high=5, low_open=True
    )
    curriculum: bool = setting(
        False,
        "training only: terrain curriculum over every kind of walklab.terrains, one "
        "difficulty level per env, up when it walks far enough, down when it fails",
    )
    curriculum_levels: int = setting(
        6, "difficulty levels of the curriculum (level k = difficulty k / (levels-1))", low=2, high=21
    )
    curriculum_promote: float = setting(
        0.7,
        "curriculum: up one level when an episode's speed reaches this "
        "fraction of the trot's no-slip speed (whatever the command)",
        low=0,
        high=2,
        low_open=True,
    )
    curriculum_own_terrain: float = setting(
        0.0,
        "curriculum: fraction of episodes walked on the run's own terrain (--terrain; default "
        "assets/hfield.png) instead of a level's; they leave the level as it is",
        low=0,
        high=1,
    )
    curriculum_demote: float = setting(
        0.35,
        "curriculum: down one level on a fall or below this fraction of the command (else of the no-slip speed)",
        low=0,
        high=2,
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "robot", check_robot_name(self.robot))  # a flag gives a Path
        if self.gait is None:
            object.__setattr__(self, "gait", describe(self.robot).gait)
        if self.frame_skip is None:  # the robot's physics steps per control step (the mini: 5 x 4 ms)
            object.__setattr__(self, "frame_skip", describe(self.robot).frame_skip)
        if not isinstance(self.gait, GaitParameters):
            raise ConfigError("EnvConfig.gait", "a GaitParameters", self.gait)
        if not isinstance(self.reward_weights, RewardWeights):
            raise ConfigError("EnvConfig.reward_weights", "a RewardWeights", self.reward_weights)
        if self.terrain is not None:
            if not isinstance(self.terrain, (str, Path)):
                raise ConfigError("EnvConfig.terrain", "a PNG path or None", self.terrain)
            object.__setattr__(self, "terrain", str(self.terrain))
        validate(self)
        if self.push_interval_min > self.push_interval_max:
            raise ConfigError(
                "EnvConfig.push_interval_max",
                f">= push_interval_min ({self.push_interval_min})",
                self.push_interval_max,
            )
        if self.command_feedforward and not (self.commands and self.gait_modulation):
            raise ConfigError("EnvConfig.command_feedforward", "used with commands and gait_modulation", True)

    # ------------------------------------------------------------------ conversions
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, as config.json's ``env`` holds it."""
        return to_dict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> EnvConfig:
        """From :meth:`to_dict`'s form; flat ``<term>_weight`` keys (older config.json) also work."""
        return cls().replace(**values)

    def replace(self, **changes: Any) -> EnvConfig:
        """A copy with `changes`: field names, ``<term>_weight`` keywords, a gait dict or GaitParameters."""
        weights = {}
        known = {f.name for f in dataclasses.fields(self)}
        fields_changes = {}
        for key, value in changes.items():
            if key.endswith(WEIGHT_SUFFIX) and key[: -len(WEIGHT_SUFFIX)] in type(self.reward_weights).terms():
                weights[key[: -len(WEIGHT_SUFFIX)]] = value
            elif key in known:
                fields_changes[key] = value
            else:
                raise ConfigError("env keyword", f"one of {', '.join(sorted(self.keywords()))}", key)
        gait = fields_changes.get("gait")
        if isinstance(gait, dict):
            try:
                fields_changes["gait"] = GaitParameters.from_dict(gait)
            except (GaitParameterError, TypeError) as exc:
                raise ConfigError("EnvConfig.gait", "valid gait parameters", f"{gait} ({exc})") from exc
        if "robot" in fields_changes:  # a flag gives a Path: compare names
            fields_changes["robot"] = check_robot_name(fields_changes["robot"])
            if fields_changes["robot"] != self.robot:  # another robot walks its own trot and steps its own
                for key in ROBOT_DEFAULTS:  # physics per control step, unless they are given
                    fields_changes.setdefault(key, None)
        rw = fields_changes.get("reward_weights", self.reward_weights)
        if isinstance(rw, dict):
            unknown = set(rw) - set(type(self.reward_weights).terms())
            if unknown:
                raise ConfigError("reward_weights", f"terms of {', '.join(REWARD_TERMS)}", sorted(unknown))
            rw = dataclasses.replace(self.reward_weights, **rw)
        if not isinstance(rw, RewardWeights):
            raise ConfigError("reward_weights", "RewardWeights or a dict of term weights", rw)
        if weights:
            rw = dataclasses.replace(rw, **weights)
        fields_changes["reward_weights"] = rw
        return dataclasses.replace(self, **fields_changes)

    def keywords(self) -> list[str]:
        """Every keyword :meth:`replace` (and the env's constructor) accepts."""
        names = [f.name for f in dataclasses.fields(self)]
        return names + [f"{t}{WEIGHT_SUFFIX}" for t in type(self.reward_weights).terms()]

    def with_terrain_resolved(self, resolve) -> EnvConfig:
        """A copy whose terrain path went through `resolve` (None and "flat" stay as they are)."""
        if self.terrain is None or self.terrain == FLAT_TERRAIN:
            return self
        return dataclasses.replace(self, terrain=str(resolve(self.terrain)))
