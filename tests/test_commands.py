"""Commanded speeds and yaw rates in the env: drawn, observed, tracked, rewarded and carried by a clone."""

import math
import pickle

import numpy as np
import pytest

from envs import assets as A
from envs.config import EnvConfig
from envs.layout import observation_slices
from envs.residual_walk_env import N_COMMAND_OBS, ResidualWalkEnv

SHIPPED = A.ASSETS_DIR / "policies" / "residual_walk"


# ---------------------------------------------------------------------- commands in the env
def test_command_is_drawn_within_the_range_and_observed_last():
    env = ResidualWalkEnv(
        commands=True,
        command_speed_min=0.05,
        command_speed_max=0.20,
        command_yaw_rate_min=-0.3,
        command_yaw_rate_max=0.3,
    )
    assert env.observation_space.shape == (71 + N_COMMAND_OBS,)
    command = observation_slices(env.config)["command"]
    drawn = []
    for seed in range(20):
        obs, _ = env.reset(seed=seed)
        v, w = env.command
        assert 0.05 <= v <= 0.20 and -0.3 <= w <= 0.3
        np.testing.assert_array_equal(obs[command], np.float32(env.command))
        obs, _, _, _, info = env.step(np.zeros(12))
        np.testing.assert_array_equal(obs[command], np.float32(env.command))
        assert (info["command_speed"], info["command_yaw_rate"]) == (v, w)
        drawn.append(v)
    assert np.ptp(drawn) > 0.05  # really drawn, not fixed
    env.reset(seed=3)
    again = env.command.copy()
    env.reset(seed=3)
    np.testing.assert_array_equal(env.command, again)  # from the env's seeded np_random


def test_straight_share_walks_that_share_of_episodes_at_yaw_rate_zero():
    turning = dict(commands=True, command_yaw_rate_min=-0.6, command_yaw_rate_max=0.6)
    shared = ResidualWalkEnv(**turning, command_straight_share=0.4)
    plain = ResidualWalkEnv(**turning)
    straight, speeds, plain_speeds = 0, [], []
    for seed in range(200):
        shared.reset(seed=seed)
        plain.reset(seed=seed)
        straight += shared.command[1] == 0.0
        assert plain.command[1] != 0.0
        speeds.append(shared.command[0])
        plain_speeds.append(plain.command[0])
    assert 0.3 * 200 < straight < 0.5 * 200  # binomial(200, 0.4): 80 +- 7
    np.testing.assert_array_equal(speeds, plain_speeds)  # the speed draw is untouched


def test_reset_option_and_equal_range_ends_fix_the_command():
    env = ResidualWalkEnv(commands=True)
    obs, _ = env.reset(seed=0, options={"command": (0.12, 0.1)})
    np.testing.assert_allclose(env.command, [0.12, 0.1])
    np.testing.assert_allclose(obs[observation_slices(env.config)["command"]], [0.12, 0.1], rtol=1e-6)
    with pytest.raises(ValueError, match="command"):
        env.reset(seed=0, options={"command": (0.1, float("nan"))})
    fixed = ResidualWalkEnv(commands=True, command_speed_min=0.1, command_speed_max=0.1)
    for seed in range(3):
        fixed.reset(seed=seed)
        assert tuple(fixed.command) == (0.1, 0.0)


def test_command_feedforward_starts_the_gait_at_the_commanded_speed():
    from envs.fields import ConfigError

    with pytest.raises(ConfigError, match="commands and gait_modulation"):
        EnvConfig(commands=True, command_feedforward=True)
    speeds = {}
    for command in (0.05, 0.30):
        env = ResidualWalkEnv(commands=True, gait_modulation=True, command_feedforward=True)
        env.reset(seed=0, options={"command": (command, 0.0)})
        x0 = env.data.qpos[0]
        for _ in range(250):  # 5 s of the plain (zero-action) modulated trot
            _, _, terminated, _, info = env.step(np.zeros(env.action_space.shape))
            assert not terminated
        speeds[command] = (env.data.qpos[0] - x0) / 5.0
        base = math.sqrt(command / env.nominal_speed)  # 0.577 and 1.414 for the default gait
        assert info["stride_scale"] == pytest.approx(base)
        assert info["frequency_scale"] == pytest.approx(min(max(base, 0.6), 1.4))  # the usual bounds, 1 -/+ 0.4
    assert speeds[0.30] > 2 * speeds[0.05] > 0  # the plain gait now follows the command
    plain = ResidualWalkEnv(commands=True, gait_modulation=True)
    plain.reset(seed=0, options={"command": (0.30, 0.0)})
    assert plain.step(np.zeros(plain.action_space.shape))[4]["stride_scale"] == 1.0  # off: the gait starts at 1


def test_tracking_rewards_follow_their_formulas_and_are_in_info():
    env = ResidualWalkEnv(
        commands=True,
        command_yaw_rate_min=0.2,
        command_yaw_rate_max=0.2,
        tracking_velocity_weight=2.0,
        tracking_yaw_rate_weight=0.5,
        forward_velocity_weight=0.0,
    )
    env.reset(seed=1, options={"command": (0.1, 0.2)})
    config = env.config
    for _ in range(30):
        _, reward, _, _, info = env.step(np.zeros(12))
        speed_term = math.exp(-(((info["heading_speed"] - 0.1) / config.command_speed_sigma) ** 2))
        yaw_term = math.exp(-(((info["yaw_rate"] - 0.2) / config.command_yaw_rate_sigma) ** 2))
        assert info["reward_tracking_velocity"] == pytest.approx(2.0 * speed_term, rel=1e-9)
        assert info["reward_tracking_yaw_rate"] == pytest.approx(0.5 * yaw_term, rel=1e-9)
        assert info["reward_forward_velocity"] == 0.0
        assert reward == pytest.approx(sum(v for k, v in info.items() if k.startswith("reward_")), abs=1e-12)
        yaw = env._yaw()
        assert info["heading_speed"] == pytest.approx(
            info["x_velocity"] * math.cos(yaw) + info["y_velocity"] * math.sin(yaw)
        )
    # the reward is largest on the command: 1 (before its weight) when the tracked speed equals it
    env.command = np.array([env.core.commands.tracked[0], info["yaw_rate"]])
    s = type("S", (), {"rows": slice(None), "tilt": np.zeros(1)})()
    assert env.core._reward_tracking_velocity(s)[0] == pytest.approx(1.0)
    # the Laplace kernel: exp(-|error| / sigma)
    laplace = ResidualWalkEnv(
        commands=True, command_speed_kernel="laplace", command_speed_sigma=0.1, tracking_velocity_weight=1.0
    )
    laplace.reset(seed=1, options={"command": (0.1, 0.0)})
    for _ in range(10):
        info = laplace.step(np.zeros(12))[4]
        expected = math.exp(-abs(info["heading_speed"] - 0.1) / 0.1)
        assert info["reward_tracking_velocity"] == pytest.approx(expected, rel=1e-9)


def test_speed_window_tracks_the_mean_of_the_last_steps_and_survives_a_clone():
    window_s = 0.2  # 10 steps of 20 ms
    env = ResidualWalkEnv(
        commands=True,
        command_speed_kernel="laplace",
        command_speed_sigma=0.1,
        command_speed_window=window_s,
        tracking_velocity_weight=1.0,
    )
    n = int(round(window_s / env.dt))
    assert n == 10
    for episode in range(2):  # the window starts empty in every episode
        env.reset(seed=episode, options={"command": (0.1, 0.0)})
        speeds = []
        for _ in range(3 * n):
            info = env.step(np.zeros(12))[4]
            speeds.append(info["heading_speed"])
            expected = float(np.mean(speeds[-n:]))
            assert info["tracked_speed"] == pytest.approx(expected, abs=1e-12)
            assert info["reward_tracking_velocity"] == pytest.approx(math.exp(-abs(expected - 0.1) / 0.1), rel=1e-9)
    assert np.std(speeds) > 2 * np.std([np.mean(speeds[i - n : i]) for i in range(n, len(speeds))])  # it smooths
    clone = pickle.loads(pickle.dumps(env))
    for _ in range(n):
        a, b = env.step(np.zeros(12))[4], clone.step(np.zeros(12))[4]
        assert a["tracked_speed"] == pytest.approx(b["tracked_speed"], abs=1e-9)  # the clone's window is full too
    # W = 0 (the default): each step's own heading speed, as before the window existed
    plain = ResidualWalkEnv(commands=True, tracking_velocity_weight=1.0)
    plain.reset(seed=0, options={"command": (0.1, 0.0)})
    for _ in range(5):
        info = plain.step(np.zeros(12))[4]
        assert info["tracked_speed"] == info["heading_speed"]


def test_commands_off_leave_the_env_and_its_random_stream_unchanged():
    plain = ResidualWalkEnv()
    assert plain.observation_space.shape == (71,)  # the env's own default: the reference's pure residual
    assert EnvConfig().commands is False and EnvConfig().reward_weights.tracking_velocity == 0.0
    commanded = ResidualWalkEnv(commands=True)
    for seed in (0, 7):
        a, _ = plain.reset(seed=seed)
        b, _ = commanded.reset(seed=seed)
        np.testing.assert_array_equal(a, b[:71])  # same spawn: the command is drawn after everything else
    _, _, _, _, info = plain.step(np.zeros(12))
    assert info["reward_tracking_velocity"] == 0.0 and info["reward_tracking_yaw_rate"] == 0.0
    assert "command_speed" not in info
    from walklab.policies import open_policy

    _, env, loaded = open_policy(SHIPPED / "final_model.zip", SHIPPED / "vec_normalize.pkl")
    assert env.observation_space.shape == loaded.model.observation_space.shape and not env.config.commands
    env.close()


def test_a_turn_command_turns_the_commanded_heading_and_the_heading_terms_follow_it():
    config = EnvConfig().replace(commands=True, heading_observation=True, heading_weight=1.0, gait_modulation=True)
    straight = ResidualWalkEnv(config)
    straight.reset(seed=4, options={"command": (0.15, 0.0)})
    env = ResidualWalkEnv(config)
    obs, _ = env.reset(seed=4, options={"command": (0.15, 0.5)})
    # a left turn on a circle of radius 0.3 m starts 0.3 m to the right: the circle is centred where
    # the straight walk would have started
    assert env.data.qpos[1] == pytest.approx(straight.data.qpos[1] - 0.3)
    heading_at = observation_slices(config)["heading"]
    yaw = 0.0
    for step in range(1, 51):
        obs, _, terminated, _, info = env.step(np.zeros(env.action_space.shape))
        assert not terminated
        assert info["command_heading"] == pytest.approx(0.5 * env.dt * step)
        yaw = info["yaw"]
        sin_cos = obs[heading_at][:2]
        relative = yaw - info["command_heading"]
        assert sin_cos == pytest.approx([math.sin(relative), math.cos(relative)], abs=1e-6)
        assert info["reward_heading"] == pytest.approx(-(1 - math.cos(relative)))
    # a straight command keeps the heading at 0 and the spawn where the random draw put it
    plain = ResidualWalkEnv(config.replace(commands=False))
    plain.reset(seed=4)
    assert straight.data.qpos[1] == plain.data.qpos[1]
    for e in (env, straight, plain):
        e.close()
