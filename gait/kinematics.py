"""Analytic leg kinematics for the 3-joint legs, vectorised over legs.

Foot positions are in the hip frame: origin at the hip joint centre, axes of the trunk
(x forward, y left, z up). Joint angles per leg: (abduction, hip pitch, knee).
"""

from __future__ import annotations

import math

import numpy as np

from gait import constants as C

L1 = C.THIGH_LENGTH
L2 = C.CALF_LENGTH


def forward_kinematics(q: np.ndarray) -> np.ndarray:
    """Joint angles (..., 3) -> foot centres (..., 3) in the hip frame."""
    q = np.asarray(q, dtype=float)
    abd, pitch, knee = q[..., 0], q[..., 1], q[..., 2]
    x = -L1 * np.sin(pitch) - L2 * np.sin(pitch + knee)
    z_leg = -L1 * np.cos(pitch) - L2 * np.cos(pitch + knee)
    return np.stack([x, -np.sin(abd) * z_leg, np.cos(abd) * z_leg], axis=-1)


def leg_inverse_kinematics(x: float, y: float, z: float) -> tuple[float, float, float]:
    """One foot centre (x, y, z) in the hip frame -> (abduction, pitch, knee), knee bent backwards.

    Scalar maths: a control step solves four legs, too few for numpy's per-call cost to pay.
    Targets beyond reach are pulled onto the reachable shell, so the result is always finite.
    """
    abd = math.atan2(y, -z)
    r = math.hypot(y, z)  # leg length in the sagittal plane of the abducted leg
    cos_knee = (x * x + r * r - L1 * L1 - L2 * L2) / (2 * L1 * L2)
    knee = -math.acos(min(1.0, max(-1.0, cos_knee)))
    pitch = math.atan2(-x, r) - math.atan2(L2 * math.sin(knee), L1 + L2 * math.cos(knee))
    return abd, pitch, knee


def inverse_kinematics(p: np.ndarray) -> np.ndarray:
    """Foot centres (..., 3) in the hip frame -> joint angles (..., 3); see leg_inverse_kinematics."""
    p = np.asarray(p, dtype=float)
    flat = p.reshape(-1, 3)
    q = np.array([leg_inverse_kinematics(*foot) for foot in flat.tolist()])
    return q.reshape(p.shape)
