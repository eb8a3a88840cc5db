"""GaitParameters validation, presets, and the baseline controller's targets."""

import numpy as np
import pytest

from envs.robot import load_robot
from gait import LEGACY_GAIT, GaitParameterError, GaitParameters, forward_kinematics

MINI = load_robot("mini")
GEOMETRY = MINI.geometry


def test_defaults_are_the_working_gait_from_the_reference():
    g = GaitParameters()
    assert (g.body_height, g.step_length, g.step_height, g.cycle_time) == (0.05, 0.06, 0.04, 0.8)


def test_legacy_preset_is_the_old_broken_default():
    assert (LEGACY_GAIT.body_height, LEGACY_GAIT.step_length, LEGACY_GAIT.step_height) == (0.07, 0.05, 0.015)


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"cycle_time": 0.0}, "cycle_time"),
        ({"cycle_time": -1.0}, "cycle_time"),
        ({"step_height": 0.05}, "step_height"),
        ({"body_height": 0.0}, "body_height"),
        ({"duty_factor": 1.0}, "duty_factor"),
        ({"step_length": 0.2}, "step_length"),  # stance ends out of reach
        ({"body_height": 0.09}, "body_height"),  # leg too short to stand this high
        ({"stance_width": 0.07}, "step_length"),  # feet splayed beyond reach
        ({"step_length": float("nan")}, "step_length"),
    ],
)
def test_impossible_values_raise_an_error_naming_the_field(kwargs, field):
    with pytest.raises(GaitParameterError, match=field):
        GaitParameters(**kwargs).check_fits(GEOMETRY)  # the reach checks need the robot's legs
    with pytest.raises(GaitParameterError, match=field):
        MINI.trot(GaitParameters(**kwargs))


def test_round_trip_through_dict():
    g = GaitParameters(step_length=0.07, cycle_time=0.7)
    assert GaitParameters.from_dict(g.to_dict()) == g
    with pytest.raises(GaitParameterError, match="unknown"):
        GaitParameters.from_dict({"speed": 1.0})


def test_stance_and_swing_shape():
    g = GaitParameters()
    ctrl = MINI.trot(g)
    depth = g.stance_foot_depth(GEOMETRY)
    t0 = ctrl.foot_targets(0.0)  # FR/RL touch down at +L/2; FL/RR lift off at -L/2
    np.testing.assert_allclose(t0[:, 2], -depth)
    np.testing.assert_allclose(t0[[0, 3], 0], g.step_length / 2)
    np.testing.assert_allclose(t0[[1, 2], 0], -g.step_length / 2)
    mid_swing = ctrl.foot_targets(0.2)  # FL/RR at mid swing: apex above the hip
    np.testing.assert_allclose(mid_swing[[1, 2], 2], -depth + g.step_height)
    np.testing.assert_allclose(mid_swing[[1, 2], 0], 0.0, atol=1e-12)
    np.testing.assert_allclose(mid_swing[[0, 3], 2], -depth)  # the diagonal pair is on the ground


def test_stance_foot_moves_backwards_at_constant_speed():
    g = GaitParameters()
    ctrl = MINI.trot(g)
    xs = [ctrl.foot_targets(t)[0, 0] for t in np.linspace(0, 0.39, 40)]
    speeds = np.diff(xs) / 0.01
    np.testing.assert_allclose(speeds, -g.step_length / (g.duty_factor * g.cycle_time), rtol=1e-9)


def test_offsets_are_added_and_joint_targets_reach_them():
    ctrl = MINI.trot()
    offsets = np.random.default_rng(0).uniform(-0.02, 0.02, (4, 3))
    np.testing.assert_allclose(ctrl.foot_targets(0.3, offsets) - ctrl.foot_targets(0.3), offsets)
    q = ctrl.joint_targets(0.3, offsets).reshape(4, 3)
    np.testing.assert_allclose(forward_kinematics(q, GEOMETRY), ctrl.foot_targets(0.3, offsets), atol=1e-9)


def test_joint_targets_stay_in_range_over_a_cycle():
    ctrl = MINI.trot()
    low = np.array([-0.6, -1.6, -2.8] * 4)  # rad, the mini's joint ranges (assets/quadruped.xml)
    high = np.array([0.6, 2.6, -0.05] * 4)
    np.testing.assert_array_equal(MINI.joint_low, low)
    np.testing.assert_array_equal(MINI.joint_high, high)
    for t in np.linspace(0, 0.8, 81):
        q = ctrl.joint_targets(t, np.full((4, 3), 0.02))
        assert np.all(q >= low) and np.all(q <= high)


def test_the_mini_description_states_the_default_working_trot():
    assert MINI.gait == GaitParameters()
