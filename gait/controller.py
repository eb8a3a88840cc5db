"""The baseline open-loop trot: time -> foot targets -> 12 joint targets."""

from __future__ import annotations

import math

import numpy as np

from gait.kinematics import LegGeometry, leg_solver
from gait.parameters import GaitParameters

# Trot pairs, in the toolkit's leg order FR, FL, RR, RL: FR+RL together, FL+RR half a cycle later.
TROT_PHASE_OFFSETS = np.array([0.0, 0.5, 0.5, 0.0])
_PHASE_OFFSETS = tuple(float(v) for v in TROT_PHASE_OFFSETS)


class BaselineTrotController:
    """Diagonal-pair trot; foot targets in each hip's frame (trunk axes), metres.

    Stance: the foot sweeps backwards from +step_length/2 to -step_length/2 at constant speed.
    Swing: a cycloid forwards with apex step_height, zero velocity at lift-off and touch-down.
    """

    def __init__(
        self, gait: GaitParameters, geometry: LegGeometry, joint_low: np.ndarray, joint_high: np.ndarray
    ) -> None:
        """`gait` on legs of `geometry`; joint targets are clipped to [joint_low, joint_high] (12, rad)."""
        self.gait = g = gait.check_fits(geometry)
        self.geometry = geometry
        self.solve = leg_solver(geometry)
        self.leg_offsets = geometry.leg_offsets
        self.joint_low, self.joint_high = np.asarray(joint_low, dtype=float), np.asarray(joint_high, dtype=float)
        self._side = geometry.sides  # +1 for left legs, -1 for right legs, Python floats for the scalar loop
        self._half_step = g.step_length / 2
        self._nominal = np.zeros((4, 3))  # sweep centre of each foot in its hip frame
        self._nominal[:, 0] = g.stance_x_offset
        self._nominal[:, 1] = np.array(self._side) * g.stance_width
        if geometry.hip_offset:  # the foot under its thigh, which sits hip_offset outward of the hip
            self._nominal[:, 1] += self.leg_offsets
        self._nominal[:, 2] = -g.stance_foot_depth(geometry)

    def stance(self) -> np.ndarray:
        """The 12 joint angles (rad) with every foot at the centre of its sweep: the robot standing."""
        q = [angle for foot, d in zip(self._nominal.tolist(), self.leg_offsets) for angle in self.solve(*foot, d)]
        return np.minimum(np.maximum(np.array(q), self.joint_low), self.joint_high)

    def foot_targets(self, t: float, offsets: np.ndarray | None = None) -> np.ndarray:
        """Foot targets (4, 3) at time t (s), plus optional per-foot offsets (4, 3) in metres."""
        return self.foot_targets_at(t / self.gait.cycle_time, offsets)

    def foot_targets_at(
        self, cycles: float, offsets: np.ndarray | None = None, stride_scale: float = 1.0, turn: float = 0.0
    ) -> np.ndarray:
        """Foot targets (4, 3) after `cycles` gait cycles, the stride scaled by `stride_scale`.

        A policy that modulates the gait advances `cycles` at its own rate (frequency) and
        lengthens or shortens the stride; stride_scale 1 is the plain trot. `turn` makes the
        strides differ between the sides: left legs stride x (1 - turn), right legs x (1 + turn),
        so a positive turn yaws the robot to the left (counter-clockwise seen from above).
        """
        g = self.gait
        targets = self._nominal.copy()
        for leg, offset in enumerate(_PHASE_OFFSETS):  # scalar maths: 4 legs are too few for numpy to pay
            scale = stride_scale if turn == 0.0 else stride_scale * (1.0 - turn * self._side[leg])
            step_length = g.step_length * scale
            half_step = self._half_step * scale
            phase = (cycles + offset) % 1.0
            if phase < g.duty_factor:
                targets[leg, 0] += half_step - step_length * phase / g.duty_factor
            else:
                s = (phase - g.duty_factor) / (1.0 - g.duty_factor)
                angle = 2.0 * math.pi * s
                targets[leg, 0] += step_length * (s - math.sin(angle) / (2.0 * math.pi)) - half_step
                targets[leg, 2] += g.step_height * 0.5 * (1.0 - math.cos(angle))
        if offsets is not None:
            targets += np.asarray(offsets, dtype=float).reshape(4, 3)
        return targets

    def joint_targets(self, t: float, offsets: np.ndarray | None = None) -> np.ndarray:
        """The 12 joint targets (rad) in actuator order, clipped to the joint ranges."""
        return self.joint_targets_at(t / self.gait.cycle_time, offsets)

    def joint_targets_at(
        self, cycles: float, offsets: np.ndarray | None = None, stride_scale: float = 1.0, turn: float = 0.0
    ) -> np.ndarray:
        """The 12 joint targets after `cycles` gait cycles (see foot_targets_at), clipped to the ranges."""
        feet = self.foot_targets_at(cycles, offsets, stride_scale, turn).tolist()
        q = np.array([angle for foot, d in zip(feet, self.leg_offsets) for angle in self.solve(*foot, d)])
        return np.minimum(np.maximum(q, self.joint_low), self.joint_high)  # np.clip at half its call cost
