"""The seeded walk configurations the suite checks the env with: the golden digests
(tests/test_golden_walks.py), a batch row against N = 1 (tests/test_batched_vec_env.py) and the
Gymnasium vector env against SyncVectorEnv (tests/test_gym_vector_env.py)."""

from __future__ import annotations

import math

from envs.config import EnvConfig
from walklab.presets import V2

COMMANDS = V2.env.replace(
    commands=True,
    command_feedforward=True,
    command_speed_max=0.4,
    command_speed_kernel="laplace",
    command_speed_sigma=0.1,
    command_speed_window=0.8,
    forward_velocity_weight=0.0,
    tracking_velocity_weight=3.0,
    tracking_yaw_rate_weight=0.5,
    heading_weight=0.2,
    centre_line_weight=0.1,
    height_weight=0.5,
)
CASES: dict[str, EnvConfig] = {
    "pure_residual": EnvConfig(),
    "v2": V2.env,  # swing height on (a v2 default)
    "v2_no_swing_height": V2.env.replace(swing_height=False),
    "commands": COMMANDS.replace(swing_height=False),
    "turning": COMMANDS.replace(
        swing_height=False, command_yaw_rate_min=-0.6, command_yaw_rate_max=0.6, command_straight_share=0.3
    ),
    "randomize": V2.env.replace(randomize=True),
    "curriculum": V2.env.replace(curriculum=True),
}


def _same(a, b) -> bool:
    """Equal values (floats compared exactly, NaN equal to NaN; strings and flags by type too)."""
    if isinstance(a, (str, bool)) or isinstance(b, (str, bool)):
        return type(a) is type(b) and a == b
    a, b = float(a), float(b)
    return a == b or (math.isnan(a) and math.isnan(b))


def assert_same_info(new: dict, old: dict, where: str) -> None:
    """Two step infos with the same keys and exactly the same values."""
    assert new.keys() == old.keys(), where
    for key in old:
        assert _same(new[key], old[key]), f"{where}: info[{key!r}] {new[key]!r} != {old[key]!r}"


# Every perturbation of envs.perturbations on, strong enough to show (not in CASES: no golden digests)
PERTURBED_SETTINGS = {
    "push_velocity": 0.3,
    "push_interval_min": 0.3,
    "push_interval_max": 0.8,
    "action_latency_max": 2,
    "obs_noise_level": 1.0,
    "actuator_strength_range": 0.2,
    "actuator_kp_range": 0.2,
    "actuator_kv_range": 0.3,
    "joint_offset_max": 0.03,
    "link_mass_range": 0.2,
    "com_offset_max": 0.005,
}
PERTURBED = V2.env.replace(**PERTURBED_SETTINGS)
