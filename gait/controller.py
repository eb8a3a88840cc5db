"""The baseline open-loop trot: time -> foot targets -> 12 joint targets."""
from __future__ import annotations

import numpy as np

from gait import constants as C
from gait.kinematics import inverse_kinematics
from gait.parameters import GaitParameters

_LATERAL_SIGN = np.sign(C.HIP_POSITIONS[:, 1])  # +1 for left legs, -1 for right legs
_JOINT_LOW = np.array([C.HIP_RANGE[0], C.THIGH_RANGE[0], C.CALF_RANGE[0]])
_JOINT_HIGH = np.array([C.HIP_RANGE[1], C.THIGH_RANGE[1], C.CALF_RANGE[1]])


class BaselineTrotController:
    """Diagonal-pair trot; foot targets in each hip's frame (trunk axes), metres.

    Stance: the foot sweeps backwards from +step_length/2 to -step_length/2 at constant speed.
    Swing: a cycloid forwards with apex step_height, zero velocity at lift-off and touch-down.
    """

    def __init__(self, gait: GaitParameters | None = None):
        self.gait = gait if gait is not None else GaitParameters()

    def leg_phases(self, t: float) -> np.ndarray:
        """Phase of each leg in [0, 1); stance while phase < duty_factor."""
        return (t / self.gait.cycle_time + C.TROT_PHASE_OFFSETS) % 1.0

    def foot_targets(self, t: float, offsets: np.ndarray | None = None) -> np.ndarray:
        """Foot targets (4, 3) at time t (s), plus optional per-foot offsets (4, 3) in metres."""
        g = self.gait
        phase = self.leg_phases(t)
        stance = phase < g.duty_factor
        s_stance = phase / g.duty_factor
        s_swing = (phase - g.duty_factor) / (1.0 - g.duty_factor)
        half = g.step_length / 2
        cycloid = s_swing - np.sin(2 * np.pi * s_swing) / (2 * np.pi)
        x = np.where(stance, half - g.step_length * s_stance, -half + g.step_length * cycloid)
        lift = np.where(stance, 0.0, g.step_height * 0.5 * (1 - np.cos(2 * np.pi * s_swing)))
        targets = np.empty((4, 3))
        targets[:, 0] = x + g.stance_x_offset
        targets[:, 1] = _LATERAL_SIGN * g.stance_width
        targets[:, 2] = -g.stance_foot_depth + lift
        if offsets is not None:
            targets += np.asarray(offsets, dtype=float).reshape(4, 3)
        return targets

    def joint_targets(self, t: float, offsets: np.ndarray | None = None) -> np.ndarray:
        """The 12 joint targets (rad) in actuator order, clipped to the joint ranges."""
        q = inverse_kinematics(self.foot_targets(t, offsets))
        return np.clip(q, _JOINT_LOW, _JOINT_HIGH).reshape(12)
