"""The action and observation layout of ResidualWalk-v0: named slices, and the observation's parts.

Everything that reads an action or an observation by position (the env core, tests, export,
diagnosis) asks this module instead of writing ``obs[33:35]``. ``OBSERVATION_PARTS`` is the one
ordered table of the observation's parts (name, size, the ``EnvConfig`` option that adds it, unit,
meaning); ``ObservationTerms`` computes each part, one ``_obs_<part>`` method per row (as the
rewards are ``_reward_<term>``), and the core concatenates them in the table's order.
``observation_structure(config)`` follows Gymnasium's ant_v5 ``observation_structure``: a dict from
part name to its size, in order; ``observation_slices(config)`` turns it into slices.

A new observation part behind an option is its ``EnvConfig`` field, one row here and its method
here (after the row's neighbours); its slice, the observation size, the spec's table
(``envs.spec``) and docs/environment.md follow.

With ``obs_history`` k > 0 the observation ends with ``HISTORY_PARTS``: the last k observations
(each the parts of ``OBSERVATION_PARTS``, as observed) and the last k actions, newest first
(``envs.history`` keeps them, per robot).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from envs.rows import libm

if TYPE_CHECKING:
    from envs.config import EnvConfig

N_ACTIONS = 12  # 4 legs x (x, y, z) foot offsets: the residual part of every action
N_MODULATION = 2  # stride and frequency, with gait_modulation
N_SWING_HEIGHT = 1  # the swing apex scale, with swing_height (before steering)
N_STEERING = 1  # the differential stride, with steering (the last action entry)
STRIDE_ACTION = N_ACTIONS  # index of the stride action (gait_modulation)
FREQUENCY_ACTION = N_ACTIONS + 1  # index of the frequency action (gait_modulation)
JOINT_QPOS = slice(7, 19)  # the mini's 12 joint angles in qpos; a robot's own: envs.robot.Robot.joint_qpos
JOINT_QVEL = slice(6, 18)  # the mini's 12 joint velocities in qvel; a robot's own: Robot.joint_qvel
N_GROUND_SAMPLES = 12  # 3 per leg
N_HEADING_OBS = 3  # sin yaw, cos yaw, lateral position
N_COMMAND_OBS = 2  # commanded forward speed (m/s) and yaw rate (rad/s), with commands


def action_size(gait_modulation: bool, steering: bool, swing_height: bool = False) -> int:
    """12 foot offsets, + 2 gait actions with gait_modulation, + 1 swing height, + 1 steering action (the last)."""
    return (
        N_ACTIONS
        + (N_MODULATION if gait_modulation else 0)
        + (N_SWING_HEIGHT if swing_height else 0)
        + (N_STEERING if steering else 0)
    )


def swing_height_index(config: EnvConfig) -> int:
    """Index of the swing height action (swing_height): after the gait actions, before steering."""
    return N_ACTIONS + (N_MODULATION if config.gait_modulation else 0)


def action_structure(config: EnvConfig) -> dict[str, int]:
    """Action part name -> size, in order."""
    parts = {"foot_offsets": N_ACTIONS}
    if config.gait_modulation:
        parts.update(stride=1, frequency=1)
    if config.swing_height:
        parts["swing_height"] = 1
    if config.steering:
        parts["steering"] = 1
    return parts


ACTIONS = "A"  # the size of a part as long as the action (action_size)


class ObservationPart(NamedTuple):
    """One row of the observation table."""

    name: str  # observation_slices' key; ``ObservationTerms._obs_<name>`` computes it
    size: int | str  # entries, or ACTIONS
    option: str | None  # the EnvConfig switch that adds the part (None: always there)
    unit: str
    meaning: str
    noise: float = 0.0  # the sensor noise's half-width at obs_noise_level 1, in `unit` (envs.perturbations)


# The observation, in order: the one place its parts and their order are written.
OBSERVATION_PARTS = (
    ObservationPart("gravity", 3, None, "-", "gravity direction in the trunk frame (unit vector)", 0.05),
    ObservationPart("gyro", 3, None, "rad/s", "trunk angular velocity, trunk frame (gyro)", 0.2),
    ObservationPart("linear_velocity", 3, None, "m/s", "trunk linear velocity, trunk frame (velocimeter)", 0.05),
    ObservationPart("joint_positions", 12, None, "rad", "joint positions", 0.01),
    ObservationPart("joint_velocities", 12, None, "rad/s", "joint velocities", 1.5),
    ObservationPart(
        "phase", 2, None, "-", "gait phase as (sin, cos) of 2 pi x cycles walked (t / cycle_time for the plain trot)"
    ),
    ObservationPart("previous_action", ACTIONS, None, "-", "previous action, clipped to [-1, 1]"),
    ObservationPart("filtered_action", ACTIONS, None, "-", "filtered action r now applied (action units)"),
    ObservationPart(
        "ground_samples",
        N_GROUND_SAMPLES,
        "terrain_samples",
        "m",
        "ground minus trunk height, 3 points per hip: x -3, 0, +3 cm, turning with the trunk",
        0.005,
    ),
    ObservationPart(
        "heading",
        N_HEADING_OBS,
        "heading_observation",
        "-, -, m",
        "sin, cos of the yaw off the commanded heading; the trunk's world y",
    ),
    ObservationPart("command", N_COMMAND_OBS, "commands", "m/s, rad/s", "commanded forward speed and yaw rate"),
)


HISTORY_OBSERVATIONS = "k x O"  # the size of a history part: k (obs_history) x the current observation's parts
HISTORY_ACTIONS = "k x A"  # ... k x the action's size
# After the current observation's parts, with obs_history k > 0 (envs.history): the last k of them
# and the last k actions, newest first. No noise of their own: they hold what was observed.
HISTORY_PARTS = (
    ObservationPart(
        "observation_history",
        HISTORY_OBSERVATIONS,
        "obs_history",
        "as above",
        "the observations (the parts above, noise included) of the last k steps, newest first; "
        "the episode's first observation where the episode is younger than k steps",
    ),
    ObservationPart(
        "action_history",
        HISTORY_ACTIONS,
        "obs_history",
        "-",
        "the actions sent at the last k steps, clipped to [-1, 1], newest first (as sent: no "
        "observation noise); zeros where the episode is younger than k steps",
    ),
)


def observation_parts(config: EnvConfig) -> tuple[ObservationPart, ...]:
    """The rows of OBSERVATION_PARTS that `config` switches on, in order: the current observation,
    without the history (HISTORY_PARTS)."""
    return tuple(part for part in OBSERVATION_PARTS if part.option is None or getattr(config, part.option))


def history_parts(config: EnvConfig) -> tuple[ObservationPart, ...]:
    """The rows of HISTORY_PARTS when `config` observes a history (obs_history > 0), else none."""
    return HISTORY_PARTS if config.obs_history else ()


def current_observation_size(config: EnvConfig) -> int:
    """Entries of the current observation (OBSERVATION_PARTS under `config`), one history slot's size."""
    return sum(part_size(part, config) for part in observation_parts(config))


def part_size(part: ObservationPart, config: EnvConfig) -> int:
    """Entries of `part` under `config`."""
    if part.size == ACTIONS:
        return action_size(config.gait_modulation, config.steering, config.swing_height)
    if part.size == HISTORY_OBSERVATIONS:
        return config.obs_history * current_observation_size(config)
    if part.size == HISTORY_ACTIONS:
        return config.obs_history * action_size(config.gait_modulation, config.steering, config.swing_height)
    return part.size


def observation_structure(config: EnvConfig) -> dict[str, int]:
    """Observation part name -> size, in order (OBSERVATION_PARTS, then HISTORY_PARTS, under `config`)."""
    return {part.name: part_size(part, config) for part in observation_parts(config) + history_parts(config)}


def _slices(structure: dict[str, int]) -> dict[str, slice]:
    out, start = {}, 0
    for name, size in structure.items():
        out[name] = slice(start, start + size)
        start += size
    return out


def observation_slices(config: EnvConfig) -> dict[str, slice]:
    """Observation part name -> its slice."""
    return _slices(observation_structure(config))


def action_slices(config: EnvConfig) -> dict[str, slice]:
    """Action part name -> its slice."""
    return _slices(action_structure(config))


def observation_size(config: EnvConfig) -> int:
    """The observation's length: the sum of observation_structure's parts (the one description)."""
    return sum(observation_structure(config).values())


class ObservationState(NamedTuple):
    """What the ``_obs_<part>`` methods read about the robots observed (rows)."""

    ids: np.ndarray  # the robots' indices in the core
    qpos: np.ndarray
    qvel: np.ndarray
    sensors: np.ndarray  # sensordata rows
    rot: np.ndarray  # trunk rotation matrices, (rows, 9)
    ground: np.ndarray  # world z (m) of the 12 ground samples
    yaw: np.ndarray | None  # rad, when something reads it


class ObservationTerms:
    """One ``_obs_<part>`` method per row of OBSERVATION_PARTS: (rows, size) float64 each.

    A mixin of ``envs.walk_core.WalkCore`` (they read the core's per-robot arrays);
    ``envs.observation`` concatenates them in the table's order.
    """

    def _obs_gravity(self, s: ObservationState) -> np.ndarray:
        return -s.rot[:, 6:9]  # world -z in the trunk frame (row 2 of the rotation matrix)

    def _obs_gyro(self, s: ObservationState) -> np.ndarray:
        return s.sensors[:, self._sensor["gyro"]]

    def _obs_linear_velocity(self, s: ObservationState) -> np.ndarray:
        return s.sensors[:, self._sensor["linear_velocity"]]

    def _obs_joint_positions(self, s: ObservationState) -> np.ndarray:
        if self.perturbations.offsets:  # the encoders' bias (joint_offset_max)
            return s.qpos[:, self._joint_qpos] + self.perturbations.joint_offset[s.ids]
        return s.qpos[:, self._joint_qpos]  # the robot's addresses (envs.robot)

    def _obs_joint_velocities(self, s: ObservationState) -> np.ndarray:
        return s.qvel[:, self._joint_qvel]

    def _obs_phase(self, s: ObservationState) -> np.ndarray:
        steps = self.step_count[s.ids]
        if self.phase_from_cycles:
            phase = 2 * np.pi * (steps * self.dt / self.gait.cycle_time + self.extra_cycles[s.ids])
        else:
            phase = 2 * np.pi * steps * self.dt / self.gait.cycle_time
        return np.array((np.sin(phase), np.cos(phase))).T

    def _obs_previous_action(self, s: ObservationState) -> np.ndarray:
        return self.prev_action[s.ids]

    def _obs_filtered_action(self, s: ObservationState) -> np.ndarray:
        return self.residual[s.ids]

    def _obs_ground_samples(self, s: ObservationState) -> np.ndarray:
        return s.ground - s.qpos[:, 2:3]

    def _obs_heading(self, s: ObservationState) -> np.ndarray:
        relative = s.yaw - self.commands.heading[s.ids]  # the yaw from the commanded heading (+x without a turn)
        return np.array((libm(math.sin, relative), libm(math.cos, relative), s.qpos[:, 1])).T

    def _obs_command(self, s: ObservationState) -> np.ndarray:
        return self.commands.values[s.ids]

    def _observation_terms(self) -> list[Any]:
        """The bound ``_obs_<part>`` methods of the parts `self.config` switches on, in the table's order."""
        return [getattr(self, f"_obs_{part.name}") for part in observation_parts(self.config)]
