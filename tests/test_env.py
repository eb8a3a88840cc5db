"""ResidualWalk-v0: API checks, reward bookkeeping, exactness, determinism, robustness."""

import pickle

import gymnasium as gym
import mujoco
import numpy as np
import pytest

import envs
from envs import ENV_ID, ResidualWalkEnv
from envs.layout import observation_slices
from envs.robot_sim import load_model
from envs.rollout import run_baseline
from gait import GaitParameters


def test_gymnasium_and_sb3_env_checkers_pass():
    from gymnasium.utils.env_checker import check_env as gym_check
    from stable_baselines3.common.env_checker import check_env as sb3_check

    gym_check(ResidualWalkEnv(), skip_render_check=True)
    sb3_check(ResidualWalkEnv(), warn=True)


def test_registered_with_time_limit():
    env = gym.make(ENV_ID, residual_scale=0.04)
    assert env.spec.max_episode_steps == envs.MAX_EPISODE_STEPS
    assert env.unwrapped.residual_scale == 0.04
    short = gym.make(ENV_ID, max_episode_steps=5)
    short.reset(seed=0)
    for _ in range(4):
        assert not short.step(short.action_space.sample())[3]
    assert short.step(short.action_space.sample())[3]  # truncated at step 5


def test_observation_layout():
    env = ResidualWalkEnv()
    at = observation_slices(env.config)
    obs, _ = env.reset(seed=0)
    assert obs.shape == (71,) and obs.dtype == np.float32
    np.testing.assert_allclose(obs[at["gravity"]], [0, 0, -1], atol=0.05)  # gravity points down the trunk's z
    np.testing.assert_allclose(obs[at["phase"]], [0.0, 1.0])  # phase 0
    ground = obs[at["ground_samples"]]
    assert np.all(ground < 0) and np.all(ground > -0.15)  # ground below the trunk
    assert ResidualWalkEnv(terrain_samples=False).reset(seed=0)[0].shape == (59,)
    obs, *_ = env.step(np.ones(12))
    np.testing.assert_allclose(obs[at["previous_action"]], 1.0)
    np.testing.assert_allclose(obs[at["filtered_action"]], 0.1, rtol=1e-6)  # filtered residual after one step


def test_reward_is_exactly_the_sum_of_reported_terms():
    env = ResidualWalkEnv()
    env.reset(seed=1)
    rng = np.random.default_rng(0)
    for _ in range(50):
        _, reward, terminated, _, info = env.step(rng.uniform(-1, 1, 12))
        terms = [info[f"reward_{k}"] for k in env.reward_terms]
        assert reward == pytest.approx(sum(terms), abs=1e-12)
        assert info["reward_forward_velocity"] == pytest.approx(5.0 * info["x_velocity"])
        assert info["reward_energy"] <= 0 and info["reward_smoothness"] <= 0
        if terminated:
            break


def test_zero_weighted_terms_are_still_reported():
    env = ResidualWalkEnv(height_weight=0.0, energy_weight=0.0)
    env.reset(seed=0)
    _, _, _, _, info = env.step(np.ones(12))
    assert info["reward_height"] == 0.0 and info["reward_energy"] == 0.0
    assert "reward_orientation" in info and "body_height" in info


@pytest.mark.parametrize("offset", [0.0, -0.01, 0.02])
def test_height_term_pays_towards_the_target_offset(offset):
    env = ResidualWalkEnv(height_weight=2.0, height_target_offset=offset)
    env.reset(seed=0)
    target = env.unwrapped.config.gait.body_height + offset  # the mini: size 1
    for _ in range(5):
        _, _, _, _, info = env.step(np.zeros(12))
        assert info["reward_height"] == pytest.approx(-2.0 * abs(info["body_height"] - target), abs=1e-12)


def test_height_target_offset_is_in_robot_sizes():
    from envs.robot import load_robot

    env = ResidualWalkEnv(robot="go1", terrain="flat", height_weight=1.0, height_target_offset=-0.01)
    env.reset(seed=0)
    size = load_robot("go1").size
    target = env.unwrapped.config.gait.body_height - 0.01 * size
    _, _, _, _, info = env.step(np.zeros(12))
    assert info["reward_height"] == pytest.approx(-abs(info["body_height"] - target) / size, abs=1e-12)


def test_old_weights_are_reproducible_by_keywords():
    old = ResidualWalkEnv(
        forward_velocity_weight=1.0, lateral_stability_weight=0.5, energy_weight=0.1, smoothness_weight=0.2
    )
    assert old.weights["forward_velocity"] == 1.0 and old.weights["smoothness"] == 0.2
    old.reset(seed=0)
    _, _, _, _, info = old.step(np.ones(12))
    assert info["reward_energy"] == pytest.approx(-0.1 * 0.1**2)  # mean(r^2), r = 0.1 after one filtered step
    assert info["reward_smoothness"] == pytest.approx(-0.2)  # mean((a - a_prev)^2) = 1


def test_zero_action_reproduces_the_open_loop_trot():
    """A zero residual leaves the trot's own joint targets: the env equals a bare MuJoCo loop."""
    from envs.robot import load_robot
    from envs.robot_sim import RobotSim, spawn_pose

    seconds = 10.0
    env = ResidualWalkEnv()
    env.reset(seed=4)
    x0 = env.data.qpos[0]
    for _ in range(int(seconds / env.dt)):
        env.step(np.zeros(12))
    env_velocity = (env.data.qpos[0] - x0) / seconds

    sim, controller = RobotSim(load_model()), load_robot("mini").trot(GaitParameters())
    x, y, yaw = spawn_pose(np.random.default_rng(4))
    sim.place(x, y, yaw, controller.joint_targets(0.0))
    for i in range(int(seconds / env.dt)):
        sim.data.ctrl[:] = controller.joint_targets(i * env.dt)
        mujoco.mj_step(sim.model, sim.data, nstep=env.frame_skip)
    raw_velocity = (sim.data.qpos[0] - x) / seconds
    assert env_velocity == pytest.approx(raw_velocity, rel=1e-9)
    assert run_baseline(GaitParameters(), seconds, seed=4).forward_velocity == pytest.approx(env_velocity, rel=1e-9)


def test_reset_with_seed_is_deterministic():
    def rollout():
        env = ResidualWalkEnv()
        obs = [env.reset(seed=7)[0]]
        rng = np.random.default_rng(0)
        for _ in range(99):
            obs.append(env.step(rng.uniform(-1, 1, 12))[0])
        return np.array(obs)

    np.testing.assert_array_equal(rollout(), rollout())


def test_action_filter_smooths_the_residual():
    env = ResidualWalkEnv(action_filter=0.5)
    filtered = observation_slices(env.config)["filtered_action"]
    env.reset(seed=0)
    for expected in (0.5, 0.75, 0.875):
        obs = env.step(np.ones(12))[0]
        np.testing.assert_allclose(obs[filtered], expected, rtol=1e-6)
    unfiltered = ResidualWalkEnv(action_filter=1.0)
    unfiltered.reset(seed=0)
    np.testing.assert_allclose(unfiltered.step(-np.ones(12))[0][filtered], -1.0)
    with pytest.raises(ValueError, match="action_filter"):
        ResidualWalkEnv(action_filter=0.0)


def test_residuals_change_the_walk_and_scale_0_04_works():
    speeds = {}
    for scale in (0.02, 0.04):
        env = ResidualWalkEnv(residual_scale=scale)
        env.reset(seed=0)
        x0 = env.data.qpos[0]
        action = np.tile([-1.0, 0.0, 0.0], 4)  # feet 2 or 4 cm further back
        for _ in range(100):
            env.step(action)
        speeds[scale] = env.data.qpos[0] - x0
    assert speeds[0.02] != pytest.approx(speeds[0.04], abs=1e-3)


def test_physics_blow_up_ends_the_episode_with_a_flag_and_finite_observation():
    env = ResidualWalkEnv()
    env.reset(seed=0)
    env.data.qvel[:] = np.nan
    obs, reward, terminated, truncated, info = env.step(np.zeros(12))
    assert terminated and info["physics_error"] and info["termination"] == "physics_error"
    assert np.all(np.isfinite(obs)) and np.isfinite(reward)


def test_fall_terminates():
    env = ResidualWalkEnv()
    env.reset(seed=0)
    env.data.qpos[3:7] = [np.cos(0.8), np.sin(0.8), 0, 0]  # rolled 92 degrees
    mujoco.mj_forward(env.model, env.data)
    _, _, terminated, _, info = env.step(np.zeros(12))
    assert terminated and info["termination"] in ("fell_tilt", "fell_height")


def test_env_pickles_and_runs_in_subprocess_vector_env():
    env = ResidualWalkEnv(residual_scale=0.03)
    env.reset(seed=3)
    for _ in range(5):
        env.step(np.full(12, 0.5))
    clone = pickle.loads(pickle.dumps(env))
    a = env.step(np.zeros(12))[0]
    b = clone.step(np.zeros(12))[0]
    np.testing.assert_array_equal(a, b)

    from stable_baselines3.common.vec_env import SubprocVecEnv

    vec = SubprocVecEnv([lambda: ResidualWalkEnv() for _ in range(2)])
    try:
        vec.seed(0)
        obs = vec.reset()
        obs, rewards, dones, infos = vec.step(np.zeros((2, 12), dtype=np.float32))
        assert obs.shape == (2, 71) and np.all(np.isfinite(rewards))
    finally:
        vec.close()


def test_randomize_changes_physics_between_resets_and_adds_noise():
    env = ResidualWalkEnv(randomize=True)
    env.reset(seed=0)
    friction_a, kp_a, hfield_a = (
        env.model.geom_friction[0, 0],
        env.model.actuator_gainprm[0, 0],
        env.model.hfield_size[0, 2],
    )
    env.reset(seed=1)
    assert env.model.geom_friction[0, 0] != friction_a
    assert env.model.actuator_gainprm[0, 0] != kp_a
    assert env.model.hfield_size[0, 2] != hfield_a
    assert 0.7 <= env.model.geom_friction[0, 0] / env._nominal["friction"][0] <= 1.3
    plain = ResidualWalkEnv()
    phase = observation_slices(env.config)["phase"]
    assert plain.reset(seed=5)[0][phase] == pytest.approx([0, 1])
    noisy = env.reset(seed=5)[0]
    assert np.abs(noisy[phase] - [0, 1]).max() > 0  # observation noise


def test_rgb_array_render_returns_a_frame():
    env = ResidualWalkEnv(render_mode="rgb_array", width=160, height=120)
    env.reset(seed=0)
    frame = env.render()
    env.close()
    assert frame.shape == (120, 160, 3) and frame.std() > 0


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="residual_scale"):
        ResidualWalkEnv(residual_scale=-0.1)
    with pytest.raises(ValueError, match="render_mode"):
        ResidualWalkEnv(render_mode="window")
    from envs.robot_sim import TerrainFileError

    with pytest.raises(TerrainFileError, match="not found"):
        ResidualWalkEnv(terrain="/nonexistent/terrain.png")


def test_nan_action_ends_the_episode_instead_of_poisoning_it():
    """Issue 13, item 2: a[0] = nan then zeros used to keep the filtered residual NaN forever."""
    env = ResidualWalkEnv()
    obs, _ = env.reset(seed=0)
    action = np.zeros(12)
    action[0] = np.nan
    obs, reward, terminated, truncated, info = env.step(action)
    assert terminated and not truncated
    assert info["termination"] == "invalid_action" and info["physics_error"]
    assert np.isfinite(reward) and np.all(np.isfinite(obs))
    assert np.all(np.isfinite(env._residual))  # the filter state was not poisoned
    # the caller ignores `terminated` and keeps stepping with zeros: still no NaN gets through
    obs, reward, terminated, _, info = env.step(np.zeros(12))
    assert np.isfinite(reward) and np.all(np.isfinite(obs))
    # after a reset the episode is whole again
    env.reset(seed=0)
    for _ in range(5):
        obs, reward, terminated, _, info = env.step(np.zeros(12))
        assert np.isfinite(reward) and not info["physics_error"]
