"""The vectorised core against the per-robot env it replaced, bit for bit.

``tests/oracle/legacy_residual_walk_env.py`` is ResidualWalkEnv as it was before the core (a
frozen copy kept as the oracle): the new env, and every robot of a batch, must give the same
observations, rewards, infos and qpos over 400 seeded steps, resets included.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from envs.config import EnvConfig
from envs.residual_walk_env import ResidualWalkEnv
from tests.oracle.legacy_residual_walk_env import ResidualWalkEnv as LegacyEnv
from walklab.curriculum import TerrainCurriculum, write_level_terrains
from walklab.presets import V2

STEPS = 400

# the old env knew neither the swing height action (now a v2 default) nor turning commands
# (a commanded heading that turns): the cases leave both out
V2_ENV = V2.env.replace(swing_height=False)
CASES = {
    "pure_residual": EnvConfig(),
    "v2": V2_ENV,
    "commands": V2_ENV.replace(
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
    ),
    "randomize": V2_ENV.replace(randomize=True),
    "curriculum": V2_ENV.replace(curriculum=True),
}


def _same(a, b) -> bool:
    """Equal values (the old env gave some as numpy floats, the core gives Python floats)."""
    if isinstance(a, (str, bool)) or isinstance(b, (str, bool)):
        return type(a) is type(b) and a == b
    a, b = float(a), float(b)
    return a == b or (math.isnan(a) and math.isnan(b))


NEW_INFO_KEYS = {"yaw", "command_heading"}  # added with turning commands: the old env has no such entries


def assert_same_info(new: dict, old: dict, where: str) -> None:
    assert new.keys() - NEW_INFO_KEYS == old.keys() - NEW_INFO_KEYS, where
    for key in old:
        assert _same(new[key], old[key]), f"{where}: info[{key!r}] {new[key]!r} != {old[key]!r}"


def walk_pairs(config: EnvConfig, make_new, tmp_path, seed: int = 0):
    """Step the legacy env and `make_new()` side by side with the same seeded actions."""
    old, new = LegacyEnv(config), make_new(config)
    if config.curriculum:
        write_level_terrains(tmp_path, 3)
        old.set_terrain_schedule(TerrainCurriculum(tmp_path, 3, 0.3, 0.1, seed=5))
        new.set_terrain_schedule(TerrainCurriculum(tmp_path, 3, 0.3, 0.1, seed=5))
    rng = np.random.default_rng(seed)
    o_old, i_old = old.reset(seed=seed)
    o_new, i_new = new.reset(seed=seed)
    yield "reset", (o_old, i_old), (o_new, i_new), old, new
    episode = 0
    for k in range(STEPS):
        action = rng.uniform(-1.0, 1.0, old.n_actions).astype(np.float32)
        r_old = old.step(action)
        r_new = new.step(action)
        yield f"step {k}", r_old, r_new, old, new
        if r_old[2] or k % 150 == 149:  # a fall, or a cut: resets are part of the walk
            episode += 1
            yield "reset", old.reset(), new.reset(), old, new


@pytest.mark.parametrize("case", list(CASES))
def test_the_env_is_bit_identical_to_the_per_robot_env(case, tmp_path):
    for where, r_old, r_new, old, new in walk_pairs(CASES[case], ResidualWalkEnv, tmp_path):
        np.testing.assert_array_equal(r_new[0], r_old[0], err_msg=f"{case} {where}: observation")
        np.testing.assert_array_equal(new.data.qpos, old.data.qpos, err_msg=f"{case} {where}: qpos")
        if where != "reset":
            assert r_new[1] == r_old[1], f"{case} {where}: reward"
            assert r_new[2:4] == r_old[2:4], f"{case} {where}: terminated/truncated"
        assert_same_info(r_new[-1], r_old[-1], f"{case} {where}")
