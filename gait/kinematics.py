"""Analytic leg kinematics for 3-joint legs (abduction, hip pitch, knee), for any leg geometry.

Foot positions are in the hip frame: origin at the abduction axis's hip point, axes of the trunk
(x forward, y left, z up). Joint angles per leg: (abduction, hip pitch, knee). A robot's
``LegGeometry`` is derived from its compiled model (``envs.robot``) and passed in here.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

# Largest fraction of full leg extension a foot target may ask for (keeps the knee off its stop).
MAX_REACH_FRACTION = 0.98


@dataclass(frozen=True)
class LegGeometry:
    """The leg geometry the trot and the IK need (m, rad); legs in the toolkit's order FR, FL, RR, RL.

    hip_positions: abduction axis points in the trunk frame, one (x, y, z) per leg
    hip_offset:    sideways distance from the abduction axis point to the leg's pitch plane,
                   outward from the body (Unitree's hip link; 0 when the thigh hangs under the hip)
    thigh_length:  hip pitch axis to knee axis
    calf_length:   knee axis to foot centre
    foot_radius:   the foot's radius (its centre sits this far above the ground in stance)
    knee_fold:     the knee's most-bent angle's magnitude (rad), its joint limit
    thigh_angle:   a bent thigh: the angle (rad) of the pitch-axis-to-knee line from straight down at
                   zero joint angles, + when it points backwards (0 for a straight leg)
    calf_angle:    the same for the knee-to-foot line (Go2's foot sits 2 mm behind its knee)
    side_offsets:  each leg's own signed sideways offset (m, + left) where the legs are not mirror
                   images (B2's links lean 0.1 mm one way on every leg); None: +-hip_offset
    """

    hip_positions: tuple[tuple[float, float, float], ...]
    hip_offset: float
    thigh_length: float
    calf_length: float
    foot_radius: float
    knee_fold: float
    thigh_angle: float = 0.0
    calf_angle: float = 0.0
    side_offsets: tuple[float, ...] | None = None

    @property
    def sides(self) -> tuple[float, ...]:
        """+1 for left legs, -1 for right legs (the sign of each hip's y)."""
        return tuple(1.0 if hip[1] > 0 else -1.0 for hip in self.hip_positions)

    @property
    def hip_height(self) -> float:
        """Height of the hips above the trunk frame's origin (m): the mean of the four."""
        return sum(hip[2] for hip in self.hip_positions) / len(self.hip_positions)

    @property
    def leg_length(self) -> float:
        """Thigh plus calf (m): the robot's characteristic length."""
        return self.thigh_length + self.calf_length

    @property
    def leg_offsets(self) -> tuple[float, ...]:
        """Each leg's signed sideways offset in its hip frame (m): + for left legs."""
        if self.side_offsets is not None:
            return self.side_offsets
        return tuple(side * self.hip_offset for side in self.sides)

    @property
    def bent(self) -> bool:
        """Whether a link leaves the straight line down from its joint at zero angles."""
        return self.thigh_angle != 0.0 or self.calf_angle != 0.0


def forward_kinematics(q: np.ndarray, geometry: LegGeometry, offset: float | np.ndarray = 0.0) -> np.ndarray:
    """Joint angles (..., 3) -> foot centres (..., 3) in the hip frame; `offset` is the leg's signed
    sideways offset (``geometry.leg_offsets``; 0 for a leg without a hip link)."""
    q = np.asarray(q, dtype=float)
    l1, l2 = geometry.thigh_length, geometry.calf_length
    abd, pitch, knee = q[..., 0], q[..., 1], q[..., 2]
    if geometry.bent:  # each link turns from its own zero-angle direction
        pitch, knee = pitch + geometry.thigh_angle, knee + geometry.calf_angle - geometry.thigh_angle
    x = -l1 * np.sin(pitch) - l2 * np.sin(pitch + knee)
    z_leg = -l1 * np.cos(pitch) - l2 * np.cos(pitch + knee)
    if np.all(np.asarray(offset) == 0):
        return np.stack([x, -np.sin(abd) * z_leg, np.cos(abd) * z_leg], axis=-1)
    y = offset * np.cos(abd) - z_leg * np.sin(abd)
    z = offset * np.sin(abd) + z_leg * np.cos(abd)
    return np.stack([x, y, z], axis=-1)


def leg_solver(geometry: LegGeometry) -> Callable[..., tuple[float, float, float]]:
    """The IK of one leg of `geometry`: ``solve(x, y, z, offset=0.0) -> (abduction, pitch, knee)``.

    The foot centre (x, y, z) is in the hip frame; the knee bends backwards; `offset` is the leg's
    signed sideways offset (``geometry.leg_offsets``). Scalar maths: a control step solves four
    legs, too few for numpy's per-call cost to pay; the link lengths are bound once, here.
    Targets beyond reach are pulled onto the reachable shell, so the result is always finite.
    """
    l1, l2 = geometry.thigh_length, geometry.calf_length
    l1_sq, l2_sq, l_prod = l1 * l1, l2 * l2, 2 * l1 * l2
    if geometry.bent:
        return _bent_solver(geometry)

    def solve(x: float, y: float, z: float, offset: float = 0.0) -> tuple[float, float, float]:
        if offset == 0.0:
            abd = math.atan2(y, -z)
            r = math.hypot(y, z)  # leg length in the sagittal plane of the abducted leg
        else:  # the pitch plane sits `offset` beside the abduction axis
            r = math.sqrt(max(0.0, y * y + z * z - offset * offset))
            abd = (math.atan2(z, y) - math.atan2(-r, offset) + math.pi) % (2 * math.pi) - math.pi
        cos_knee = (x * x + r * r - l1_sq - l2_sq) / l_prod
        knee = -math.acos(min(1.0, max(-1.0, cos_knee)))
        pitch = math.atan2(-x, r) - math.atan2(l2 * math.sin(knee), l1 + l2 * math.cos(knee))
        return abd, pitch, knee

    return solve


def _bent_solver(geometry: LegGeometry) -> Callable[..., tuple[float, float, float]]:
    """leg_solver for bent links: the straight legs' solution between the joints' lines, turned back
    by each link's zero-angle direction (thigh_angle, calf_angle)."""
    straight = leg_solver(dataclasses.replace(geometry, thigh_angle=0.0, calf_angle=0.0))
    thigh, calf = geometry.thigh_angle, geometry.calf_angle

    def solve(x: float, y: float, z: float, offset: float = 0.0) -> tuple[float, float, float]:
        abd, pitch, knee = straight(x, y, z, offset)
        return abd, pitch - thigh, knee + thigh - calf

    return solve


def inverse_kinematics(p: np.ndarray, geometry: LegGeometry, offset: float = 0.0) -> np.ndarray:
    """Foot centres (..., 3) in the hip frame -> joint angles (..., 3); see leg_solver."""
    p = np.asarray(p, dtype=float)
    solve = leg_solver(geometry)
    q = np.array([solve(*foot, offset) for foot in p.reshape(-1, 3).tolist()])
    return q.reshape(p.shape)
