"""Observation history (EnvConfig.obs_history, envs.history): the last k observations and actions.

The slots hold exactly the previous observations (as observed, noise included) and the clipped
actions sent, newest first; a reset fills them with the first observation and zero actions; the
current part is the k = 0 observation, bit for bit; a batch row equals the single env under
autoreset; snapshots carry the history; a tiny v2 run with --obs-history 2 trains and its ONNX
export matches the SB3 policy. (Batch rows against single envs with a history are also cases of
tests/test_batched_vec_env.py and tests/test_gym_vector_env.py.)
"""

from __future__ import annotations

import numpy as np
import pytest
from gymnasium.vector import AutoresetMode

from envs.config import EnvConfig
from envs.fields import ConfigError
from envs.layout import current_observation_size, observation_size, observation_slices
from envs.residual_walk_env import ResidualWalkEnv
from envs.vector_env import ResidualWalkVectorEnv
from tests.conftest import run_script
from tests.test_gym_vector_env import FALLING, sync_env, walk_both
from walklab.presets import V2

K = 3
# noise on both streams (randomize's and the perturbations'), and a latency: the history holds the
# actions sent, not the delayed ones
NOISY = V2.env.replace(randomize=True, obs_noise_level=1.0, action_latency_max=2)


def slots(obs: np.ndarray, config: EnvConfig) -> tuple[np.ndarray, np.ndarray]:
    """(k, current size) observation slots and (k, n_actions) action slots of one observation."""
    at = observation_slices(config)
    k = config.obs_history
    return obs[at["observation_history"]].reshape(k, -1), obs[at["action_history"]].reshape(k, -1)


def test_the_setting_sizes_and_bounds():
    config = V2.env.replace(obs_history=2)
    current, n_actions = current_observation_size(config), 16
    assert current == observation_size(V2.env) == 82
    assert observation_size(config) == 82 + 2 * 82 + 2 * 16
    at = observation_slices(config)
    assert at["observation_history"] == slice(82, 246) and at["action_history"] == slice(246, 246 + 2 * n_actions)
    assert "observation_history" not in observation_slices(V2.env)
    assert ResidualWalkEnv(config).observation_space.shape == (observation_size(config),)
    for bad in (-1, 11, 1.5, True):
        with pytest.raises(ConfigError, match="obs_history"):
            V2.env.replace(obs_history=bad)


def test_the_slots_hold_the_previous_observations_and_actions_and_reset_refills_them():
    config = NOISY.replace(obs_history=K)
    env, plain = ResidualWalkEnv(config), ResidualWalkEnv(NOISY)
    c = current_observation_size(config)
    rng = np.random.default_rng(2)
    for episode, seed in enumerate((5, None)):  # the second reset: the stream goes on, the history starts anew
        obs, _ = env.reset(seed=seed)
        np.testing.assert_array_equal(obs[:c], plain.reset(seed=seed)[0])  # the current part is k = 0's
        seen, sent = [obs[:c]], []  # the observations o_0.. (oldest first), the clipped actions (newest first)
        observations, actions = slots(obs, config)
        assert (observations == obs[:c]).all() and (actions == 0).all()  # the first observation, zero actions
        for t in range(1, 9):
            action = rng.uniform(-1.6, 1.6, env.n_actions)  # some entries beyond [-1, 1]: clipped
            obs, reward, terminated, _, _ = env.step(action.astype(np.float32))
            expected, _, plain_terminated, _, _ = plain.step(action.astype(np.float32))
            np.testing.assert_array_equal(obs[:c], expected)  # noise and physics untouched by the history
            assert not terminated and not plain_terminated
            sent.insert(0, np.clip(action.astype(np.float32), -1, 1))
            observations, actions = slots(obs, config)
            for j in range(K):  # slot j: the observation of step t - 1 - j, the action sent at step t - 1 - j
                np.testing.assert_array_equal(observations[j], seen[max(0, t - 1 - j)], err_msg=f"{episode} {t} {j}")
                np.testing.assert_array_equal(actions[j], sent[j] if j < t else 0.0, err_msg=f"{episode} {t} {j}")
            seen.append(obs[:c])  # o_t, oldest first


@pytest.mark.parametrize("mode", [AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP], ids=lambda m: m.value)
def test_the_vector_env_equals_single_envs_through_autoresets(mode):
    config = FALLING.replace(obs_history=2, obs_noise_level=1.0)  # falls and 30-step cuts: many autoresets
    vec = ResidualWalkVectorEnv(config, num_envs=3, max_episode_steps=30, threads=1, autoreset_mode=mode)
    sync = sync_env(config, mode=mode)
    counts = walk_both(vec, sync, steps=90)
    assert counts["terminated"] and counts["truncated"]
    # a robot reset by the autoreset starts with its first observation in every slot
    core = vec.core
    c = core.current_obs_size
    vec.reset(seed=1, options={"reset_mask": np.array([False, True, False])})
    observations, actions = slots(core.last_obs[1], config)
    assert (observations == core.last_obs[1, :c]).all() and not actions.any()
    vec.close()
    sync.close()


def test_the_history_is_declared_per_robot_and_a_snapshot_carries_it():
    config = NOISY.replace(obs_history=2)
    env = ResidualWalkEnv(config)
    env.reset(seed=3)
    rng = np.random.default_rng(0)
    for action in rng.uniform(-1, 1, (6, env.n_actions)):
        env.step(action)
    vec = ResidualWalkVectorEnv(config, num_envs=2, threads=1)
    vec.reset(seed=0)
    declared = vec.core.rows.declared()
    history = vec.core.history
    assert declared["observation_history"] is history.observations and declared["action_history"] is history.actions
    vec.core.restore(1, env.core.snapshot(0))
    np.testing.assert_array_equal(vec.core.last_obs[1], env.core.last_obs[0])
    for action in rng.uniform(-1, 1, (5, env.n_actions)):
        single = env.step(action)[0]
        batch = vec.core.step(np.stack([action, action])).observation
        np.testing.assert_array_equal(batch[1], single)


def test_off_declares_empty_rows_and_observes_as_before():
    env = ResidualWalkEnv(V2.env)
    assert not env.core.history.on and env.core.history.observations.shape == (1, 0)
    assert env.core.obs_size == env.core.current_obs_size == observation_size(V2.env)


def test_a_tiny_v2_run_with_a_history_trains_and_its_onnx_export_matches_sb3(tmp_path):
    import onnxruntime

    from walklab.export import export_onnx, onnx_actions, sample_observations
    from walklab.policies import open_policy

    runs = tmp_path / "runs"
    proc = run_script(
        "train_residual_ppo_v2.py",
        *("--total-timesteps", "2048", "--n-envs", "2", "--n-steps", "256", "--batch-size", "128"),
        *("--eval-freq", "0", "--episode-steps", "100", "--no-progress", "--obs-history", "2"),
        *("--run-name", "history", "--runs-dir", str(runs)),
    )
    assert proc.returncode == 0, proc.stderr
    (run_dir,) = list(runs.iterdir())
    model = run_dir / "final_model.zip"
    out = tmp_path / "policy.onnx"
    result = run_script("scripts/export_policy.py", str(model), "--out", str(out), "--check-steps", "60")
    assert result.returncode == 0, result.stderr
    assert "max |difference|" in result.stdout
    _, env, loaded = open_policy(model)
    assert env.config.obs_history == 2
    n = observation_size(env.config)
    assert env.observation_space.shape == (n,) == (82 + 2 * (82 + 16),)
    session = onnxruntime.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    assert [(i.name, i.shape[1]) for i in session.get_inputs()] == [("observation", n)]
    meta = session.get_modelmeta().custom_metadata_map
    at = observation_slices(env.config)
    history = f"{at['observation_history'].start}:{at['action_history'].stop}"
    assert (meta["obs_dim"], meta["obs_history"], meta["history_slice"]) == (str(n), "2", history)
    observations = sample_observations(env, loaded, 60, seed=0)
    env.close()
    assert observations[5:, at["observation_history"]].any()  # the rollout's history slots are filled
    reference = np.stack([loaded.act(obs, deterministic=True) for obs in observations])
    np.testing.assert_allclose(onnx_actions(session, observations, None), reference, rtol=0, atol=1e-5)
    assert export_onnx(model, None, tmp_path / "again.onnx").is_file()
