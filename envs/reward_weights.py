"""The reward weights: one field per reward term of ResidualWalk-v0, the single source of its defaults.

The term list (``REWARD_TERMS``), the env's ``<term>_weight`` keywords, the training flags
``--<term>-weight`` and config.json's ``reward_weights`` all follow from ``RewardWeights``' fields
(``envs.config.EnvConfig`` holds one).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from envs.fields import setting, to_dict, validate

WEIGHT_SUFFIX = "_weight"
MAX_REWARD_WEIGHT = 1000.0  # far above any useful weight; keeps every reward finite


@dataclass(frozen=True)
class RewardWeights:
    """Weight of each reward term; the env pays ``weight x signed unscaled term`` per step.

    Adding a term is a field here plus a ``_reward_<term>`` method in ``envs/rewards.py``, whose one-line
    docstring ("(+) ..." or "(-) ...") is its row of the spec's reward table (``envs.spec``).
    """

    forward_velocity: float = setting(
        5.0, "reward weight of forward velocity (m/s along world x)", low=0, high=MAX_REWARD_WEIGHT
    )
    lateral_stability: float = setting(
        0.3, "cost weight of sideways speed and roll rate", low=0, high=MAX_REWARD_WEIGHT
    )
    energy: float = setting(
        0.05, "cost weight of the applied correction (mean squared residual)", low=0, high=MAX_REWARD_WEIGHT
    )
    smoothness: float = setting(
        0.05, "cost weight of action changes (mean squared difference)", low=0, high=MAX_REWARD_WEIGHT
    )
    alive: float = setting(0.1, "reward per step while standing", low=0, high=MAX_REWARD_WEIGHT)
    fall: float = setting(0.0, "cost of falling, paid once on the step that falls", low=0, high=MAX_REWARD_WEIGHT)
    height: float = setting(
        0.0,
        "cost weight of |body height - (gait body height + height_target_offset)| (m)",
        low=0,
        high=MAX_REWARD_WEIGHT,
    )
    orientation: float = setting(0.5, "cost weight of trunk tilt, 1 - cos(tilt)", low=0, high=MAX_REWARD_WEIGHT)
    heading: float = setting(0.0, "cost weight of heading error, 1 - cos(yaw)", low=0, high=MAX_REWARD_WEIGHT)
    centre_line: float = setting(
        0.0, "cost weight of the distance from the terrain's centre line, |y| (m)", low=0, high=MAX_REWARD_WEIGHT
    )
    tracking_velocity: float = setting(
        0.0,
        "reward weight of tracking the commanded forward speed, exp(-(v - v_cmd)^2 / sigma^2) (commands)",
        low=0,
        high=MAX_REWARD_WEIGHT,
    )
    tracking_yaw_rate: float = setting(
        0.0,
        "reward weight of tracking the commanded yaw rate, exp(-(w - w_cmd)^2 / sigma^2) (commands)",
        low=0,
        high=MAX_REWARD_WEIGHT,
    )

    def __post_init__(self) -> None:
        validate(self)

    def to_dict(self) -> dict[str, float]:
        return to_dict(self)

    @classmethod
    def terms(cls) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(cls))


REWARD_TERMS: tuple[str, ...] = RewardWeights.terms()
# The reference project's original weights (DIAGNOSIS.md compares them with the defaults).
ORIGINAL_REWARD_WEIGHTS = RewardWeights(
    forward_velocity=1.0,
    lateral_stability=0.5,
    energy=0.1,
    smoothness=0.2,
    alive=0.1,
    height=0.0,
    orientation=0.5,
    heading=0.0,
)
