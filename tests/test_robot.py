"""A robot is data: a second robot from an MJCF and a description file alone, with no Python edited."""

import json
import re
import shutil

import mujoco
import numpy as np
import pytest

from envs import assets as A
from envs.config import EnvConfig
from envs.fields import ConfigError
from envs.robot import ROBOTS_PATH_VARIABLE, known_robots, load_robot
from gait.kinematics import forward_kinematics

SCALE = 1.5
MINI = load_robot("mini")


def _scaled(match: re.Match) -> str:
    numbers = " ".join(f"{float(v) * SCALE:.12g}" for v in match.group(2).split())
    return f'{match.group(1)}="{numbers}"'


@pytest.fixture
def big_robot(tmp_path, monkeypatch):
    """The mini with every length x 1.5 (its MJCF by text edit), its scenes and robot.json, in a tmp folder."""
    folder = tmp_path / "robots" / "big"
    folder.mkdir(parents=True)
    text = MINI.description.mjcf.read_text()
    text = re.sub(r'\b(pos|size|fromto)="([^"]*)"', _scaled, text)
    text = text.replace('qpos="0 0 0.05 ', f'qpos="0 0 {0.05 * SCALE:g} ')
    (folder / "robot.xml").write_text(text)
    for kind in ("flat", "rough"):
        scene = MINI.scene(flat=kind == "flat").read_text().replace('file="quadruped.xml"', 'file="robot.xml"')
        (folder / f"scene_{kind}.xml").write_text(scene)
    shutil.copy(A.DEFAULT_TERRAIN_PNG, folder / "hfield.png")  # the rough scene names it; load_model sets its own
    description = {
        "about": "the mini, every length x 1.5",
        "mjcf": "robot.xml",
        "scenes": {"rough": "scene_rough.xml", "flat": "scene_flat.xml"},
        "physics": {"timestep": 0.004, "frame_skip": 5},
        "servo": {"kp": 12.0, "kv": 0.0, "torque_limit": 1.2},
        "gait": {"body_height": 0.075, "step_length": 0.09, "step_height": 0.06, "cycle_time": 0.98},
    }
    (folder / "robot.json").write_text(json.dumps(description, indent=2))
    monkeypatch.setenv(ROBOTS_PATH_VARIABLE, str(folder.parent))
    return "big"


def test_the_second_robot_is_found_and_its_geometry_is_derived_from_its_model(big_robot):
    assert {"big", "go1", "mini"} <= set(known_robots())  # found through $WALKLAB_ROBOTS_PATH too
    big = load_robot(big_robot)
    g, m = big.geometry, MINI.geometry
    np.testing.assert_allclose(g.hip_positions, np.array(m.hip_positions) * SCALE, atol=1e-12)
    assert (g.thigh_length, g.calf_length, g.foot_radius, g.hip_offset) == (0.075, 0.075, 0.012, 0.0)
    assert big.size == pytest.approx(SCALE) and big.joint_qpos == slice(7, 19)
    np.testing.assert_allclose(big.ground_sample_points[:3, 0], g.hip_positions[0][0] + np.array([-0.045, 0, 0.045]))


def test_the_second_robots_feet_are_where_mujoco_puts_them(big_robot):
    big = load_robot(big_robot)
    model = mujoco.MjModel.from_xml_path(str(big.description.mjcf))
    data = mujoco.MjData(model)
    rng = np.random.default_rng(0)
    for _ in range(10):
        q = rng.uniform(big.joint_low, big.joint_high)
        data.qpos[:] = model.qpos0
        data.qpos[big.joint_qpos] = q
        mujoco.mj_kinematics(model, data)
        trunk = model.body("trunk").id
        rot = data.xmat[trunk].reshape(3, 3)
        for leg, site in enumerate(big.description.foot_sites):
            foot = rot.T @ (data.site_xpos[model.site(site).id] - data.xpos[trunk]) - big.geometry.hip_positions[leg]
            np.testing.assert_allclose(forward_kinematics(q[3 * leg : 3 * leg + 3], big.geometry), foot, atol=1e-9)


def test_the_second_robot_walks_a_seeded_episode(big_robot):
    from envs.residual_walk_env import ResidualWalkEnv

    env = ResidualWalkEnv(robot=big_robot)
    assert env.config.gait.body_height == 0.075  # its own working trot, from its description
    assert env.model.actuator_gainprm[0, 0] == 12.0 and env.model.actuator_forcerange[0, 1] == 1.2
    hid = env.model.hfield(A.HFIELD_NAME).id
    np.testing.assert_allclose(env.model.hfield_size[hid], np.array([5.12, 1.6, 0.04, 0.02]) * SCALE)
    obs, info = env.reset(seed=3)
    x0 = info["x_position"]
    for _ in range(100):
        obs, reward, terminated, truncated, info = env.step(np.zeros(env.action_space.shape))
        assert np.all(np.isfinite(obs)) and np.isfinite(reward)
        assert not terminated
    assert info["x_position"] > x0  # the plain trot carries it forwards
    assert env.config.to_dict()["robot"] == big_robot


def test_an_unknown_robot_is_one_line_listing_the_known_ones():
    with pytest.raises(ConfigError) as error:
        EnvConfig(robot="go9")
    known = ", ".join(known_robots())
    assert str(error.value) == f"EnvConfig.robot must be one of {known} (or a robot folder), got 'go9'"


def test_configs_without_a_robot_read_as_the_mini():
    config = EnvConfig.from_dict({"gait": {"body_height": 0.05}, "residual_scale": 0.04})
    assert config.robot == "mini" and EnvConfig().to_dict()["robot"] == "mini"


def test_terrain_relief_scales_only_the_fields_heights(big_robot, tmp_path):
    from envs.robot_sim import load_model

    folder = tmp_path / "robots" / "big"
    plain = load_model(robot="big").hfield_size[0].copy()
    description = json.loads((folder / "robot.json").read_text())
    low = tmp_path / "robots" / "low"
    shutil.copytree(folder, low)
    (low / "robot.json").write_text(json.dumps({**description, "terrain": {"relief": 0.5}}))
    relieved = load_model(robot="low").hfield_size[0]
    np.testing.assert_allclose(relieved, plain * [1.0, 1.0, 0.5, 1.0])  # x, y and the base as its size says


@pytest.mark.parametrize(
    "group, values, message",
    [
        ("terrain", {"relief": 0}, "terrain.relief must be a number in (0, 2], got 0"),
        ("terrain", {"relief": "low"}, "terrain.relief must be a number in (0, 2], got 'low'"),
        ("terrain", {"height": 1}, "'terrain' is an object with only these keys: relief"),
        ("terrain", [1], "'terrain' is an object with only these keys: relief"),
        ("robustness", {"push_scale": 2.5}, "robustness.push_scale must be a number in (0, 2], got 2.5"),
        ("robustness", {"push_scale": True}, "robustness.push_scale must be a number in (0, 2], got True"),
        ("robustness", {"pushes": 1}, "'robustness' is an object with only these keys: push_scale"),
    ],
)
def test_an_impossible_terrain_relief_or_push_scale_is_refused_in_one_line(big_robot, tmp_path, group, values, message):
    folder = tmp_path / "robots" / "big"
    description = json.loads((folder / "robot.json").read_text())
    (folder / "robot.json").write_text(json.dumps({**description, group: values}))
    with pytest.raises(ConfigError) as error:
        load_robot(folder / "robot.json")
    assert str(error.value).endswith(message) and "\n" not in str(error.value)


def test_a_trot_beyond_the_robots_legs_is_refused_in_one_line_before_training(big_robot, tmp_path):
    from envs.robot import RobotError
    from tests.conftest import run_script

    folder = tmp_path / "robots" / "big"
    description = json.loads((folder / "robot.json").read_text())
    description["gait"]["body_height"] = 0.3  # the big mini's legs reach 0.147 m
    (folder / "robot.json").write_text(json.dumps(description))
    refusal = r"its working trot does not fit its legs: GaitParameters.step_length: .* reach \(0.1470 m\)"
    with pytest.raises(RobotError, match=refusal):
        load_robot(folder / "robot.json")
    runs_dir = tmp_path / "runs"
    proc = run_script(
        "train_residual_ppo_v2.py", "--robot", str(folder), "--total-timesteps", "10", "--runs-dir", str(runs_dir)
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "does not fit its legs" in proc.stderr
    assert not runs_dir.exists()  # refused before a run directory
