"""The capture-step reflex (EnvConfig.foot_placement_gain): a swinging foot lands gain x the trunk's
horizontal velocity off its recent mean (trunk frame) away from the trot's target; a standing foot
keeps where it landed and eases back to the trot's sweep by lift-off. Off (0) it changes nothing
(the golden walks); a batch row equals the single env (tests/test_batched_vec_env.py's cases)."""

from __future__ import annotations

import numpy as np
import pytest

from envs.residual_walk_env import ResidualWalkEnv
from walklab.presets import V2

GAIN = 0.05
SIDEWAYS = 0.4  # m/s along the trunk's own y axis
FR, FL, RR, RL = range(4)  # the toolkit's leg order; FR and RL swing together


def kicked_core(gain: float = GAIN):
    """A freshly reset core whose trunk moves SIDEWAYS m/s along its own y axis, its mean still 0."""
    env = ResidualWalkEnv(V2.env.replace(foot_placement_gain=gain))
    env.reset(seed=3)
    core = env.core
    rot = core.physics.trunk_xmat[0]
    core.physics.qvel[0, 0:3] = SIDEWAYS * np.array([rot[1], rot[4], rot[7]])  # the trunk's y axis in the world
    return core


def feet(offsets: np.ndarray) -> np.ndarray:
    """(4, 3) per-leg x, y, z of one robot's (1, 12) offsets."""
    return offsets.reshape(4, 3)


def test_a_swinging_foot_moves_towards_the_kick_by_its_swing_progress():
    core = kicked_core()
    # 0.75 cycles: FR and RL halfway through their swing (smoothstep 0.5), FL and RR a quarter into stance
    shift = feet(core._capture_step(slice(None), GAIN, np.array([0.75])))
    assert shift[FR, 1] == pytest.approx(GAIN * SIDEWAYS * 0.5) and shift[RL, 1] == pytest.approx(GAIN * SIDEWAYS * 0.5)
    assert shift[FL].tolist() == [0.0, 0.0, 0.0] and shift[RR].tolist() == [0.0, 0.0, 0.0]  # landed before the kick
    assert abs(shift[FR, 0]) < 1e-12 and not shift[:, 2].any()  # no forward change, never a height change


def test_a_landed_foot_keeps_its_offset_and_eases_back_by_lift_off():
    core = kicked_core()
    core._capture_step(slice(None), GAIN, np.array([0.999]))  # FR touches down
    landed = core.landing_offset[0].reshape(4, 2)[FR, 1]
    assert 0 < landed <= GAIN * SIDEWAYS
    halfway = feet(core._capture_step(slice(None), GAIN, np.array([1.25])))  # half its stance
    assert halfway[FR, 1] == pytest.approx(landed * 0.5)
    assert feet(core._capture_step(slice(None), GAIN, np.array([1.4999])))[FR, 1] == pytest.approx(0, abs=1e-3 * landed)


def test_the_mean_catches_up_so_a_steady_velocity_stops_moving_the_feet():
    core = kicked_core()
    for k in range(200):  # 4 s at 20 ms, eight time constants
        core._capture_step(slice(None), GAIN, np.array([0.5 + 0.01 * (k % 25)]))
    assert core.velocity_mean[0, 1] == pytest.approx(SIDEWAYS, rel=1e-3)
    assert abs(feet(core._capture_step(slice(None), GAIN, np.array([0.75])))[FR, 1]) < 1e-3 * GAIN * SIDEWAYS


def test_a_reset_forgets_the_last_episodes_velocity_and_landings():
    core = kicked_core()
    core._capture_step(slice(None), GAIN, np.array([0.999]))
    assert core.velocity_mean[0].any() and core.landing_offset[0].any()
    core.reset(0, seed=3)
    assert not core.velocity_mean[0].any() and not core.landing_offset[0].any()


def test_the_reflex_changes_the_walk_and_is_deterministic():
    def walk(gain):
        env = ResidualWalkEnv(V2.env.replace(foot_placement_gain=gain, push_velocity=0.5))
        env.reset(seed=5)
        for _ in range(150):
            env.step(np.zeros(env.n_actions))
        return env.data.qpos.copy()

    assert not np.array_equal(walk(GAIN), walk(0.0))
    assert np.array_equal(walk(GAIN), walk(GAIN))
