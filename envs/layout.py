"""The action and observation layout of ResidualWalk-v0 as named slices.

Everything that reads an action or an observation by position (the env core, tests, export,
diagnosis) asks this module instead of writing ``obs[33:35]``. ``observation_structure(config)``
follows Gymnasium's ant_v5 ``observation_structure``: a dict from part name to its size, in order;
``observation_slices(config)`` turns it into slices.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

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
N_COMMAND_OBS = 2  # commanded forward speed (m/s) and yaw rate (rad/s): the LAST entries, with commands


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


def observation_structure(config: EnvConfig) -> dict[str, int]:
    """Observation part name -> size, in order (the env docstring's table)."""
    n_actions = action_size(config.gait_modulation, config.steering, config.swing_height)
    parts = {
        "gravity": 3,
        "gyro": 3,
        "linear_velocity": 3,
        "joint_positions": 12,
        "joint_velocities": 12,
        "phase": 2,
        "previous_action": n_actions,
        "filtered_action": n_actions,
    }
    if config.terrain_samples:
        parts["ground_samples"] = N_GROUND_SAMPLES
    if config.heading_observation:
        parts["heading"] = N_HEADING_OBS
    if config.commands:
        parts["command"] = N_COMMAND_OBS
    return parts


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
