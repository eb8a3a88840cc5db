"""Parametric trot for the mini quadruped: parameters, leg kinematics, baseline controller."""

from gait.controller import BaselineTrotController
from gait.kinematics import forward_kinematics, inverse_kinematics, leg_inverse_kinematics
from gait.parameters import LEGACY_GAIT, PRESETS, WORKING_GAIT, GaitParameterError, GaitParameters

__all__ = [
    "BaselineTrotController",
    "GaitParameterError",
    "GaitParameters",
    "LEGACY_GAIT",
    "PRESETS",
    "WORKING_GAIT",
    "forward_kinematics",
    "inverse_kinematics",
    "leg_inverse_kinematics",
]
