"""The terrain curriculum: its level rule and the env's terrain switching."""

import numpy as np
import pytest

from envs.residual_walk_env import ResidualWalkEnv
from walklab.curriculum import TerrainCurriculum, next_level, terrain_path, write_level_terrains


# ---------------------------------------------------------------------- curriculum
def outcome(distance, seconds=20.0, fell=False, command=None, nominal=0.15):
    return {
        "distance_m": distance,
        "seconds": seconds,
        "fell": fell,
        "termination": "fell_tilt" if fell else "",
        "command_mps": command,
        "nominal_mps": nominal,
    }


def test_curriculum_rule_rises_on_distance_and_falls_on_failure():
    promote, demote, n = 0.7, 0.35, 6
    # no command: the reference is the trot's no-slip speed, 0.15 m/s -> up at 0.105 m/s, down below 0.0525
    assert next_level(2, n, outcome(0.105 * 20), promote, demote) == 3
    assert next_level(2, n, outcome(0.104 * 20), promote, demote) == 2
    assert next_level(2, n, outcome(0.06 * 20), promote, demote) == 2
    assert next_level(2, n, outcome(0.05 * 20), promote, demote) == 1
    assert next_level(2, n, outcome(3.0, fell=True), promote, demote) == 1  # a fall always goes down
    assert next_level(5, n, outcome(3.0), promote, demote) == 5  # stays within 0..n-1
    assert next_level(0, n, outcome(0.0), promote, demote) == 0
    assert next_level(0, n, outcome(0.0, fell=True), promote, demote) == 0
    # with commands, promotion still needs 0.7 x the no-slip speed (0.105 m/s), whatever the command:
    # an env that tracks a slow command well stays where it is ...
    assert next_level(1, n, outcome(0.05 * 20, command=0.05), promote, demote) == 1
    assert next_level(1, n, outcome(0.11 * 20, command=0.25), promote, demote) == 2
    # ... and demotion is relative to the episode's command: below 0.35 x 0.20 = 0.07 m/s
    assert next_level(1, n, outcome(0.069 * 20, command=0.20), promote, demote) == 0
    assert next_level(1, n, outcome(0.069 * 20, command=0.10), promote, demote) == 1
    assert next_level(3, n, None, promote, demote) == 3  # before the first episode


def test_terrain_curriculum_switches_the_env_terrain_by_level(tmp_path):
    write_level_terrains(tmp_path, 2)
    env = ResidualWalkEnv()
    schedule = TerrainCurriculum(tmp_path, 2, 0.7, 0.35, level=0, seed=1)
    env.set_terrain_schedule(schedule)
    env.reset(seed=0)
    assert env.terrain_path == str(terrain_path(tmp_path, schedule.kind, 0))
    # the swapped heights are exactly what MuJoCo loads from that PNG, and the physics is the same
    fresh = ResidualWalkEnv(terrain=env.terrain_path)
    np.testing.assert_array_equal(env.model.hfield_data, fresh.model.hfield_data)
    a, _ = fresh.reset(seed=0)
    env.data.qpos[:], env.data.qvel[:] = fresh.data.qpos, fresh.data.qvel
    for _ in range(50):
        oa = fresh.step(np.full(12, 0.3))[0]
        ob = env.step(np.full(12, 0.3))[0]
    np.testing.assert_array_equal(oa, ob)
    # an episode that walks far promotes, a fall demotes
    env.data.qpos[0] = env._episode_x0 + 1.0  # 1 m in 50 steps = 1 m/s
    env.reset(seed=1)
    assert schedule.level == 1 and env.terrain_path.endswith(f"{schedule.kind}_L1.png")
    env.step(np.zeros(12))
    env._last_termination = "fell_height"
    env.reset(seed=2)
    assert schedule.level == 0 and (schedule.promotions, schedule.demotions) == (1, 1)


def test_curriculum_walks_the_own_terrain_at_its_fraction_and_keeps_the_level_there(tmp_path):
    from envs.assets import DEFAULT_TERRAIN_PNG
    from walklab.curriculum import OWN_KIND

    write_level_terrains(tmp_path, 2)
    own = str(DEFAULT_TERRAIN_PNG)
    schedule = TerrainCurriculum(tmp_path, 2, 0.7, 0.35, level=0, seed=3, own_terrain=own, own_fraction=0.3)
    far = outcome(1.0 * 20)  # 1 m/s: promotes from a level's terrain
    picks = []
    for _ in range(400):
        level_before, was_own = schedule.level, schedule.kind == OWN_KIND
        png = schedule.next_terrain(far if picks else None)
        if picks:  # the episode that just ended moved the level only when it was on a level's terrain
            assert schedule.level == (level_before if was_own else min(level_before + 1, 1))
        picks.append(png == own)
        assert (png == own) == (schedule.kind == OWN_KIND)
    assert 0.24 < np.mean(picks) < 0.36
    # at 0 the schedule draws exactly as without the option (same kinds from the same seed)
    plain = TerrainCurriculum(tmp_path, 2, 0.7, 0.35, seed=5)
    zero = TerrainCurriculum(tmp_path, 2, 0.7, 0.35, seed=5, own_terrain=own, own_fraction=0.0)
    assert [plain.next_terrain(None) for _ in range(20)] == [zero.next_terrain(None) for _ in range(20)]
    with pytest.raises(ValueError, match="own_terrain"):
        TerrainCurriculum(tmp_path, 2, 0.7, 0.35, own_fraction=0.5)
    # the env swaps the own terrain in like any other
    env = ResidualWalkEnv()
    env.set_terrain(own)
    np.testing.assert_array_equal(env.model.hfield_data, ResidualWalkEnv().model.hfield_data)


# ---------------------------------------------------------------------- tiny commanded curriculum run
