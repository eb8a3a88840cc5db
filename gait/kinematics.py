"""Analytic leg kinematics for the 3-joint legs, vectorised over legs.

Foot positions are in the hip frame: origin at the hip joint centre, axes of the trunk
(x forward, y left, z up). Joint angles per leg: (abduction, hip pitch, knee).
"""
from __future__ import annotations

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


def inverse_kinematics(p: np.ndarray) -> np.ndarray:
    """Foot centres (..., 3) in the hip frame -> joint angles (..., 3), knee bent backwards.

    Targets beyond reach are pulled onto the reachable shell, so the result is always finite.
    """
    p = np.asarray(p, dtype=float)
    x, y, z = p[..., 0], p[..., 1], p[..., 2]
    abd = np.arctan2(y, -z)
    r = np.hypot(y, z)  # leg length in the sagittal plane of the abducted leg
    d2 = x * x + r * r
    cos_knee = np.clip((d2 - L1 * L1 - L2 * L2) / (2 * L1 * L2), -1.0, 1.0)
    knee = -np.arccos(cos_knee)
    pitch = np.arctan2(-x, r) - np.arctan2(L2 * np.sin(knee), L1 + L2 * np.cos(knee))
    return np.stack([abd, pitch, knee], axis=-1)
