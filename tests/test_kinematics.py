"""Analytic leg kinematics against each other and against MuJoCo's own foot positions."""

import dataclasses

import mujoco
import numpy as np
import pytest

from envs.robot import load_robot
from envs.robot_sim import load_model
from gait.kinematics import forward_kinematics, inverse_kinematics, leg_solver

MINI = load_robot("mini")
GEOMETRY = MINI.geometry
# A Unitree-style leg: the thigh's plane 3 cm outward of the abduction axis (zero for the mini).
OFFSET_GEOMETRY = dataclasses.replace(GEOMETRY, hip_offset=0.03)


def random_joint_angles(rng, n):
    return np.stack(
        [
            rng.uniform(-0.5, 0.5, n),  # abduction
            rng.uniform(-0.5, 1.5, n),  # hip pitch
            rng.uniform(-2.5, -0.2, n),  # knee, bent backwards
        ],
        axis=-1,
    )


def test_the_mini_geometry_is_derived_exactly():
    assert GEOMETRY.hip_positions == (
        (0.08, -0.065, 0.03),
        (0.08, 0.065, 0.03),
        (-0.08, -0.065, 0.03),
        (-0.08, 0.065, 0.03),
    )
    assert (GEOMETRY.hip_offset, GEOMETRY.thigh_length, GEOMETRY.calf_length) == (0.0, 0.05, 0.05)
    assert (GEOMETRY.foot_radius, GEOMETRY.knee_fold, GEOMETRY.hip_height) == (0.008, 2.8, 0.03)
    assert MINI.size == 1.0 and MINI.joint_qpos == slice(7, 19) and MINI.joint_qvel == slice(6, 18)


def test_ik_inverts_fk():
    q = random_joint_angles(np.random.default_rng(0), 2000)
    q = q[forward_kinematics(q, GEOMETRY)[:, 2] < -0.02]  # feet below the hip: the IK's branch
    assert len(q) > 500
    np.testing.assert_allclose(inverse_kinematics(forward_kinematics(q, GEOMETRY), GEOMETRY), q, atol=1e-9)


@pytest.mark.parametrize("side", [1.0, -1.0], ids=["left", "right"])
def test_ik_inverts_fk_with_a_sideways_hip_link(side):
    offset = side * OFFSET_GEOMETRY.hip_offset
    q = random_joint_angles(np.random.default_rng(3), 2000)
    q = q[forward_kinematics(q, OFFSET_GEOMETRY, 0.0)[:, 2] < -0.02]  # the leg below the hip in its plane
    feet = forward_kinematics(q, OFFSET_GEOMETRY, offset)
    np.testing.assert_allclose(inverse_kinematics(feet, OFFSET_GEOMETRY, offset), q, atol=1e-9)


def test_fk_inverts_ik_for_reachable_targets():
    rng = np.random.default_rng(1)
    p = np.stack([rng.uniform(-0.04, 0.04, 300), rng.uniform(-0.02, 0.02, 300), rng.uniform(-0.09, -0.03, 300)], -1)
    np.testing.assert_allclose(forward_kinematics(inverse_kinematics(p, GEOMETRY), GEOMETRY), p, atol=1e-9)


def test_ik_of_unreachable_target_is_finite_and_fully_extended():
    q = inverse_kinematics(np.array([0.0, 0.0, -0.5]), GEOMETRY)
    assert np.all(np.isfinite(q))
    assert abs(q[2]) < 1e-6
    assert all(np.isfinite(leg_solver(OFFSET_GEOMETRY)(0.0, 0.0, -0.5, 0.03)))


def test_fk_matches_mujoco_foot_sites():
    model = load_model(flat=True)
    data = mujoco.MjData(model)
    rng = np.random.default_rng(2)
    trunk = model.body(MINI.description.name_of("trunk")).id
    for _ in range(20):
        q = random_joint_angles(rng, 4)
        data.qpos[:] = 0
        data.qpos[3] = 1.0
        data.qpos[0:3] = rng.uniform(-1, 1, 3)
        data.qpos[MINI.joint_qpos] = q.ravel()
        mujoco.mj_kinematics(model, data)
        rot = data.xmat[trunk].reshape(3, 3)
        for leg in range(4):
            site = data.site_xpos[model.site(MINI.description.foot_sites[leg]).id]
            in_hip_frame = rot.T @ (site - data.xpos[trunk]) - GEOMETRY.hip_positions[leg]
            np.testing.assert_allclose(forward_kinematics(q[leg], GEOMETRY), in_hip_frame, atol=1e-9)
