"""The env's API, fuzzed: a bad keyword is one clear configuration error, a bad action does what
the spec (envs/spec.py) says (NaN or inf: the step ends the episode as "invalid_action"; anything
else that is not a finite array of the action's size: a ValueError naming the expected shape)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import envs  # noqa: F401 - registers ResidualWalk-v0
from envs.config import EnvConfig
from envs.fields import ConfigError
from envs.residual_walk_env import ResidualWalkEnv
from envs.robot_sim import TerrainFileError
from gait.parameters import GaitParameterError

BAD = [float("nan"), float("inf"), float("-inf"), 0, -1, 1e300, "abc", None, True, [1, 2], {}]
CLEAR_ERRORS = (ConfigError, TerrainFileError, GaitParameterError)


def make_or_error(**keywords):
    """The env (reset and stepped once with zeros), or the configuration error it raised."""
    try:
        env = gym.make("ResidualWalk-v0", **keywords)
    except CLEAR_ERRORS as exc:
        message = str(exc)
        assert message and "\n" not in message, f"{keywords}: not one line: {message!r}"
        return exc
    try:
        obs, _ = env.reset(seed=0)
        assert env.observation_space.contains(obs.astype(np.float32)) or np.all(np.isfinite(obs)), keywords
        obs, reward, *_ = env.step(np.zeros(env.action_space.shape, dtype=np.float32))
        assert np.all(np.isfinite(obs)) and np.isfinite(reward), keywords
    finally:
        env.close()
    return env


@pytest.mark.parametrize("keyword", sorted(EnvConfig().keywords()) + ["width", "height"])
def test_every_keyword_takes_a_value_or_refuses_it_clearly(keyword):
    for value in BAD:
        make_or_error(**{keyword: value})


@settings(max_examples=60, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    keywords=st.dictionaries(
        st.sampled_from(sorted(EnvConfig().keywords())),
        st.one_of(st.floats(), st.integers(-(10**6), 10**6), st.booleans(), st.text(max_size=5), st.none()),
        max_size=3,
    )
)
def test_random_keyword_sets(keywords):
    make_or_error(**keywords)


def test_reward_weights_that_are_not_weights_are_refused_beside_a_weight_keyword():
    # found by the random sets: a weight keyword used to be applied to whatever reward_weights was
    with pytest.raises(ConfigError, match="reward_weights must be RewardWeights or a dict"):
        gym.make("ResidualWalk-v0", reward_weights=False, energy_weight=0.1)


def test_unknown_keyword_is_named():
    with pytest.raises(ConfigError, match="env keyword must be one of"):
        gym.make("ResidualWalk-v0", no_such_setting=1)


@pytest.fixture(scope="module")
def env():
    env = ResidualWalkEnv(EnvConfig(gait_modulation=True, steering=True))
    yield env
    env.close()


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_action_ends_the_episode_without_being_applied(env, bad):
    env.reset(seed=1)
    before = env.data.qpos.copy()
    action = np.zeros(env.action_space.shape)
    action[3] = bad
    obs, reward, terminated, truncated, info = env.step(action)
    assert terminated and info["termination"] == "invalid_action" and reward == 0.0
    assert np.all(np.isfinite(obs))
    assert np.array_equal(env.data.qpos, before)  # not applied


def test_huge_actions_are_clipped(env):
    env.reset(seed=1)
    obs_huge, reward_huge, *_ = env.step(np.full(env.action_space.shape, 1e30))
    env.reset(seed=1)
    obs_one, reward_one, *_ = env.step(np.ones(env.action_space.shape))
    assert np.array_equal(obs_huge, obs_one) and reward_huge == reward_one


@pytest.mark.parametrize(
    "action",
    [np.zeros(5), np.zeros(40), np.zeros((2, 15)), np.zeros(0), np.array(["a"] * 15), "abc", {"a": 1}],
    ids=["short", "long", "2d", "empty", "text", "string", "dict"],
)
def test_wrong_shape_or_dtype_is_one_clear_error(env, action):
    env.reset(seed=1)
    with pytest.raises(ValueError) as caught:
        env.step(action)
    message = str(caught.value)
    assert "\n" not in message and "action" in message, message


@settings(max_examples=40, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    action=hnp.arrays(np.float64, st.integers(0, 20), elements=st.floats(allow_nan=True, allow_infinity=True, width=64))
)
def test_random_actions(env, action):
    env.reset(seed=2)
    n = env.action_space.shape[0]
    if action.size not in (12, n):
        with pytest.raises(ValueError):
            env.step(action)
        return
    obs, reward, terminated, _, info = env.step(action)
    assert np.all(np.isfinite(obs)) and np.isfinite(reward)
    if not np.all(np.isfinite(action)):
        assert terminated and info["termination"] == "invalid_action"


def test_render_size_larger_than_the_default_buffer_grows_it():
    env = ResidualWalkEnv(render_mode="rgb_array", width=1920, height=1080)
    try:
        env.reset(seed=0)
        frame = env.render()
        assert frame.shape == (1080, 1920, 3) and frame.std() > 5
    finally:
        env.close()
