"""Parametric trot for any quadruped with three-joint legs: parameters, leg kinematics, baseline controller."""

from gait.controller import TROT_PHASE_OFFSETS, BaselineTrotController
from gait.kinematics import LegGeometry, forward_kinematics, inverse_kinematics, leg_solver
from gait.parameters import LEGACY_GAIT, PRESETS, WORKING_GAIT, GaitParameterError, GaitParameters

__all__ = [
    "TROT_PHASE_OFFSETS",
    "BaselineTrotController",
    "GaitParameterError",
    "GaitParameters",
    "LEGACY_GAIT",
    "LegGeometry",
    "PRESETS",
    "WORKING_GAIT",
    "forward_kinematics",
    "inverse_kinematics",
    "leg_solver",
]
