"""Robot kinematics constants in one place: leg order, joint names and leg geometry.

File paths, scene names and physics settings live beside the env, in ``envs/assets.py``.

Every number here must agree with ``assets/quadruped.xml``; ``tests/test_kinematics.py``
checks the analytic kinematics against MuJoCo's own foot positions, so a mismatch fails CI.
"""

from __future__ import annotations

import numpy as np

# Leg order used everywhere (foot-target rows, joint blocks, contact flags).
LEG_NAMES: tuple[str, ...] = ("FR", "FL", "RR", "RL")
JOINT_KINDS: tuple[str, ...] = ("hip", "thigh", "calf")  # abduction, hip pitch, knee
JOINT_NAMES: tuple[str, ...] = tuple(f"{leg}_{kind}_joint" for leg in LEG_NAMES for kind in JOINT_KINDS)
ACTUATOR_NAMES: tuple[str, ...] = tuple(f"{leg}_{kind}" for leg in LEG_NAMES for kind in JOINT_KINDS)
FOOT_SITE_NAMES: tuple[str, ...] = LEG_NAMES  # a site named after its leg sits at each foot centre
FOOT_GEOM_NAMES: tuple[str, ...] = LEG_NAMES

# Trot pairs: legs that swing together (indices into LEG_NAMES).
TROT_PHASE_OFFSETS = np.array([0.0, 0.5, 0.5, 0.0])  # FR+RL together, FL+RR half a cycle later

# Geometry (m). The trunk frame's origin is the trunk's underside (so body height = belly
# clearance); the hip axes sit on the trunk's top corners.
HIP_POSITIONS = np.array(  # hip joint centres in the trunk frame
    [
        [0.08, -0.065, 0.03],  # FR
        [0.08, 0.065, 0.03],  # FL
        [-0.08, -0.065, 0.03],  # RR
        [-0.08, 0.065, 0.03],  # RL
    ]
)
HIP_HEIGHT_ABOVE_TRUNK = 0.03  # m, trunk underside to hip axes
THIGH_LENGTH = 0.05  # m, hip pitch axis to knee axis
CALF_LENGTH = 0.05  # m, knee axis to foot centre
FOOT_RADIUS = 0.008  # m, sphere foot

# Joint limits (rad), same numbers as the default classes in quadruped.xml.
HIP_RANGE = (-0.6, 0.6)
THIGH_RANGE = (-1.6, 2.6)
CALF_RANGE = (-2.8, -0.05)
# Largest fraction of full leg extension a foot target may ask for (keeps the knee off its stop).
MAX_REACH_FRACTION = 0.98
