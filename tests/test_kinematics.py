"""Analytic leg kinematics against each other and against MuJoCo's own foot positions."""

import mujoco
import numpy as np

from envs import assets as A
from envs.robot_sim import load_model
from gait import constants as C
from gait.kinematics import forward_kinematics, inverse_kinematics


def random_joint_angles(rng, n):
    return np.stack(
        [
            rng.uniform(-0.5, 0.5, n),  # abduction
            rng.uniform(-0.5, 1.5, n),  # hip pitch
            rng.uniform(-2.5, -0.2, n),  # knee, bent backwards
        ],
        axis=-1,
    )


def test_ik_inverts_fk():
    q = random_joint_angles(np.random.default_rng(0), 2000)
    q = q[forward_kinematics(q)[:, 2] < -0.02]  # feet below the hip: the IK's branch
    assert len(q) > 500
    np.testing.assert_allclose(inverse_kinematics(forward_kinematics(q)), q, atol=1e-9)


def test_fk_inverts_ik_for_reachable_targets():
    rng = np.random.default_rng(1)
    p = np.stack([rng.uniform(-0.04, 0.04, 300), rng.uniform(-0.02, 0.02, 300), rng.uniform(-0.09, -0.03, 300)], -1)
    np.testing.assert_allclose(forward_kinematics(inverse_kinematics(p)), p, atol=1e-9)


def test_ik_of_unreachable_target_is_finite_and_fully_extended():
    q = inverse_kinematics(np.array([0.0, 0.0, -0.5]))
    assert np.all(np.isfinite(q))
    assert abs(q[2]) < 1e-6


def test_fk_matches_mujoco_foot_sites():
    model = load_model(flat=True)
    data = mujoco.MjData(model)
    rng = np.random.default_rng(2)
    trunk = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, A.TRUNK_BODY_NAME)
    for _ in range(20):
        q = random_joint_angles(rng, 4)
        data.qpos[:] = 0
        data.qpos[3] = 1.0
        data.qpos[0:3] = rng.uniform(-1, 1, 3)
        data.qpos[7:19] = q.ravel()
        mujoco.mj_kinematics(model, data)
        rot = data.xmat[trunk].reshape(3, 3)
        for leg in range(4):
            site = data.site_xpos[mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_SITE, C.FOOT_SITE_NAMES[leg])]
            in_hip_frame = rot.T @ (site - data.xpos[trunk]) - C.HIP_POSITIONS[leg]
            np.testing.assert_allclose(forward_kinematics(q[leg]), in_hip_frame, atol=1e-9)
