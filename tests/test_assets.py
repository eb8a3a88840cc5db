"""Every scene compiles, agrees with the mini's description (assets/robots/mini), and steps without MuJoCo warnings."""

import mujoco
import numpy as np
import pytest

from envs import assets as A
from envs.robot import load_robot
from envs.robot_sim import load_model

MINI = load_robot("mini")


@pytest.mark.parametrize("flat", [False, True], ids=["rough", "flat"])
def test_scene_steps_one_second_with_random_controls_without_warnings(flat):
    model = load_model(flat=flat)
    data = mujoco.MjData(model)
    mujoco.mj_resetDataKeyframe(model, data, 0)
    rng = np.random.default_rng(0)
    lo, hi = model.actuator_ctrlrange[:, 0], model.actuator_ctrlrange[:, 1]
    for _ in range(int(1.0 / model.opt.timestep)):
        data.ctrl[:] = rng.uniform(lo, hi)
        mujoco.mj_step(model, data)
    assert all(w.number == 0 for w in data.warning), [w.number for w in data.warning]
    assert np.all(np.isfinite(data.qpos))


def test_robot_file_compiles_alone_and_has_home_keyframe():
    model = mujoco.MjModel.from_xml_path(str(MINI.description.mjcf))
    assert model.nu == 12 and model.njnt == 13
    assert mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_KEY, "home") >= 0


def test_names_and_geometry_match_the_description():
    model = load_model()
    d, g = MINI.description, MINI.geometry
    for name in d.joint_names:
        assert mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_JOINT, name) >= 0, name
    assert tuple(model.actuator(i).name for i in range(model.nu)) == d.actuator_names
    for leg, hip in zip(d.legs, g.hip_positions):
        np.testing.assert_allclose(model.body(f"{leg}_hip").pos, hip)
        np.testing.assert_allclose(model.body(f"{leg}_calf").pos, [0, 0, -g.thigh_length])
        np.testing.assert_allclose(model.site(leg).pos, [0, 0, -g.calf_length])
    for k, kind in enumerate(("hip", "thigh", "calf")):
        rng = (MINI.joint_low[k], MINI.joint_high[k])
        np.testing.assert_allclose(model.joint(f"FR_{kind}_joint").range, rng)
        np.testing.assert_allclose(model.actuator(f"FR_{kind}").ctrlrange, rng)
    assert model.opt.timestep == d.timestep == 0.004
    assert tuple(model.actuator_gainprm[:, 0]) == (d.servo["kp"],) * 12
    np.testing.assert_array_equal(MINI.torque_limit, d.servo["torque_limit"])


def test_heightfield_comes_from_png_and_bumps_are_centimetres():
    model = load_model()
    hid = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_HFIELD, A.HFIELD_NAME)
    n = model.hfield_nrow[hid] * model.hfield_ncol[hid]
    heights = model.hfield_data[model.hfield_adr[hid] : model.hfield_adr[hid] + n] * model.hfield_size[hid][2]
    assert 0.015 < np.percentile(heights, 99.9) - np.percentile(heights, 0.1) < 0.04  # m


def test_terrain_lookup_matches_mujoco_ray_casts():
    from envs.robot_sim import RobotSim

    sim = RobotSim(load_model())
    mujoco.mj_forward(sim.model, sim.data)
    rng = np.random.default_rng(1)
    geom = np.zeros(1, dtype=np.int32)
    terrain_id = mujoco.mj_name2id(sim.model, mujoco.mjtObj.mjOBJ_GEOM, A.TERRAIN_GEOM_NAME)
    collision_group_only = np.array([0, 0, 0, 1, 0, 0], dtype=np.uint8)  # the collision terrain is group 3
    for _ in range(50):
        x, y = rng.uniform(-4.5, 4.5), rng.uniform(-1.4, 1.4)
        dist = mujoco.mj_ray(
            sim.model, sim.data, np.array([x, y, 1.0]), np.array([0, 0, -1.0]), collision_group_only, 1, -1, geom
        )
        assert geom[0] == terrain_id
        assert abs((1.0 - dist) - sim.terrain_height(x, y)) < 1e-3
