"""Gait modulation (stride and frequency as actions) and the heading the policy sees and pays for."""

import math

import numpy as np
import pytest

from envs import ResidualWalkEnv
from envs.layout import observation_slices
from envs.rollout import run_episode, zero_policy


def test_modulation_adds_two_actions_and_heading_three_observations():
    plain = ResidualWalkEnv()
    modulated = ResidualWalkEnv(gait_modulation=True, heading_observation=True)
    assert plain.action_space.shape == (12,) and modulated.action_space.shape == (14,)
    assert modulated.observation_space.shape[0] == plain.observation_space.shape[0] + 2 + 2 + 3
    obs, _ = modulated.reset(seed=0)
    assert modulated.observation_space.contains(obs)


def test_zero_modulation_is_the_plain_trot():
    plain, modulated = ResidualWalkEnv(), ResidualWalkEnv(gait_modulation=True)
    plain.reset(seed=2)
    modulated.reset(seed=2)
    for _ in range(50):
        plain.step(np.zeros(12))
        _, _, _, _, info = modulated.step(np.zeros(14))
        np.testing.assert_array_equal(modulated.data.ctrl, plain.data.ctrl)  # bit for bit
    assert info["stride_scale"] == 1.0 and info["frequency_scale"] == 1.0


def test_frequency_action_quickens_the_gait_and_stride_action_lengthens_the_step():
    env = ResidualWalkEnv(gait_modulation=True, frequency_range=0.4, stride_range=0.5)
    env.reset(seed=0)
    action = np.zeros(14)
    action[12], action[13] = 1.0, 1.0
    for _ in range(200):
        _, _, _, _, info = env.step(action)
    assert info["frequency_scale"] == pytest.approx(1.4, abs=1e-6)  # the filter has converged
    assert info["stride_scale"] == pytest.approx(1.5, abs=1e-6)
    plain_cycles = 200 * env.dt / env.gait.cycle_time
    assert env._cycles() > 1.3 * plain_cycles
    feet = env.controller.foot_targets_at(0.0, stride_scale=1.5)[:, 0] - env.controller.foot_targets_at(0.0)[:, 0]
    assert np.abs(feet).max() == pytest.approx(0.25 * env.gait.step_length)  # half the extra stride


def test_heading_is_observed_and_costs_when_turned():
    env = ResidualWalkEnv(heading_observation=True, heading_weight=1.0)
    obs, _ = env.reset(seed=0)
    yaw = env._yaw()
    sin_yaw, cos_yaw, y = obs[observation_slices(env.config)["heading"]]
    assert sin_yaw == pytest.approx(math.sin(yaw), abs=1e-6) and cos_yaw == pytest.approx(math.cos(yaw), abs=1e-6)
    assert y == pytest.approx(env.data.qpos[1], abs=1e-6)
    _, _, _, _, info = env.step(np.zeros(12))
    assert info["reward_heading"] == pytest.approx(-(1 - math.cos(env._yaw())))


def test_the_baseline_rollout_runs_on_a_modulated_env():
    env = ResidualWalkEnv(gait_modulation=True)
    episode = run_episode(env, zero_policy, seed=0, seconds=1.0)
    assert episode.duration == pytest.approx(1.0) and episode.forward_velocity > 0


def test_modulation_actions_start_with_their_own_exploration_noise():
    from stable_baselines3 import PPO

    from envs.config import EnvConfig
    from walklab.config import PPOConfig
    from walklab.training import set_modulation_exploration

    env_config, ppo = EnvConfig(gait_modulation=True), PPOConfig(log_std_init=-1.5, modulation_log_std_init=-0.5)
    model = PPO(
        "MlpPolicy",
        ResidualWalkEnv(env_config),
        device="cpu",
        n_steps=64,
        batch_size=64,
        **{k: v for k, v in ppo.constructor_kwargs().items() if k not in ("n_steps", "batch_size")},
    )
    set_modulation_exploration(model, env_config, ppo)
    log_std = model.policy.log_std.detach().numpy()
    assert log_std[:12] == pytest.approx(-1.5) and log_std[12:] == pytest.approx(-0.5)


def test_steering_adds_one_action_and_zero_steering_is_the_modulated_trot():
    modulated = ResidualWalkEnv(gait_modulation=True)
    steered = ResidualWalkEnv(gait_modulation=True, steering=True)
    assert steered.action_space.shape == (15,)
    assert steered.observation_space.shape[0] == modulated.observation_space.shape[0] + 2
    modulated.reset(seed=1)
    steered.reset(seed=1)
    rng = np.random.default_rng(0)
    for _ in range(100):
        action = rng.normal(0.0, 0.3, 14)
        modulated.step(action)
        _, _, _, _, info = steered.step(np.concatenate([action, [0.0]]))
    np.testing.assert_array_equal(steered.data.qpos, modulated.data.qpos)  # bit for bit
    assert info["turn"] == 0.0


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_steering_turns_the_robot_the_way_the_docstring_says(sign):
    """A positive steering action lengthens the right legs' strides and yaws the robot left (+yaw)."""
    feet = ResidualWalkEnv(steering=True).controller
    left, right = 1, 0  # leg order FR, FL, RR, RL
    plain = feet.foot_targets_at(0.0)[:, 0]
    turned = feet.foot_targets_at(0.0, turn=0.3)[:, 0]
    assert abs(turned[right] - feet._nominal[right, 0]) > abs(plain[right] - feet._nominal[right, 0])
    assert abs(turned[left] - feet._nominal[left, 0]) < abs(plain[left] - feet._nominal[left, 0])
    yaw_change = []
    for steer in (0.0, sign):
        env = ResidualWalkEnv(steering=True, terrain="flat")
        env.reset(seed=0)
        yaw0 = env._yaw()
        action = np.zeros(13)
        action[12] = steer
        for _ in range(250):  # 5 s
            env.step(action)
        yaw_change.append(env._yaw() - yaw0)
    assert sign * (yaw_change[1] - yaw_change[0]) > 0.3  # rad in 5 s, well beyond the plain trot's veer


def test_swing_height_action_lifts_the_swing_and_at_zero_is_the_plain_gait():
    from gait.kinematics import forward_kinematics
    from walklab.presets import V2

    plain, lifted = ResidualWalkEnv(V2.env.replace(swing_height=False)), ResidualWalkEnv(V2.env)  # v2 lifts by default
    assert lifted.action_space.shape == (plain.action_space.shape[0] + 1,)
    assert lifted.observation_structure["previous_action"] == 16
    plain.reset(seed=4)
    lifted.reset(seed=4)
    for _ in range(40):  # the swing entry at 0: the very same walk
        plain.step(np.zeros(15))
        lifted.step(np.zeros(16))
    np.testing.assert_array_equal(lifted.data.qpos, plain.data.qpos)

    def highest_swing(value: float) -> float:
        lifted.reset(seed=4)
        action = np.zeros(16)
        action[14] = value  # after the 12 offsets and the two gait actions, before steering
        top = -np.inf
        for _ in range(60):
            lifted.step(action)
            feet = forward_kinematics(lifted.data.ctrl.reshape(4, 3), lifted.core.robot.geometry)
            top = max(top, feet[:, 2].max())
        return top

    gain = highest_swing(1.0) - highest_swing(-1.0)
    expected = 2 * lifted.config.swing_height_range * lifted.config.gait.step_height
    assert 0.7 * expected < gain < 1.1 * expected, (gain, expected)
