"""The batched vector env equals N single envs in SB3's DummyVecEnv, step for step."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import envs
from tests.walk_cases import CASES, PERTURBED, assert_same_info
from walklab.vec_envs import make_vec_env
from walklab.vec_envs.batched import BatchedVecEnv, make_batched_vec_env

N_ENVS, EPISODE_STEPS, STEPS = 3, 70, 160


@pytest.mark.parametrize("case", ["v2", "commands", "randomize", "perturbed", "history"])
def test_batched_steps_equal_single_envs_with_the_same_seeds(case, tmp_path):
    perturbed = PERTURBED.replace(randomize=True)  # every perturbation
    config = {**CASES, "perturbed": perturbed, "history": perturbed.replace(obs_history=2)}[case]
    single_paths = [tmp_path / f"single_{i}.csv" for i in range(N_ENVS)]
    batch_paths = [tmp_path / f"batch_{i}.csv" for i in range(N_ENVS)]
    single = make_vec_env(config, N_ENVS, EPISODE_STEPS, seed=7, monitor_paths=single_paths, layout="in-process")
    batched = BatchedVecEnv(config, N_ENVS, EPISODE_STEPS, threads=2, monitor_paths=batch_paths)
    batched.seed(7)
    np.testing.assert_array_equal(batched.reset(), single.reset())
    rng = np.random.default_rng(3)
    ended = 0
    for step in range(STEPS):
        actions = rng.uniform(-1, 1, (N_ENVS, batched.action_space.shape[0])).astype(np.float32)
        o1, r1, d1, i1 = single.step(actions)
        o2, r2, d2, i2 = batched.step(actions)
        np.testing.assert_array_equal(o2, o1, err_msg=f"step {step}")
        np.testing.assert_array_equal(r2, r1, err_msg=f"step {step}")
        np.testing.assert_array_equal(d2, d1, err_msg=f"step {step}")
        for k in range(N_ENVS):
            a, b = dict(i2[k]), dict(i1[k])
            if "terminal_observation" in b:
                np.testing.assert_array_equal(a.pop("terminal_observation"), b.pop("terminal_observation"))
                ea, eb = a.pop("episode"), b.pop("episode")
                assert {k: v for k, v in ea.items() if k != "t"} == {k: v for k, v in eb.items() if k != "t"}
                ended += 1
            assert_same_info(a, b, f"step {step} env {k}")
    assert ended >= N_ENVS * 2  # the time limit cut every env at least twice
    single.close()
    batched.close()
    for s, b in zip(single_paths, batch_paths):
        rows_single = pd.read_csv(f"{s}.monitor.csv", skiprows=1).drop(columns="t")
        rows_batch = pd.read_csv(f"{b}.monitor.csv", skiprows=1).drop(columns="t")
        pd.testing.assert_frame_equal(rows_batch, rows_single)


def test_make_batched_vec_env_returns_the_batched_env():
    # gym.make_vec's vector entry point is now the Gymnasium VectorEnv (tests/test_gym_vector_env.py)
    vec = make_batched_vec_env(num_envs=4, threads=1)
    assert isinstance(vec, BatchedVecEnv) and vec.num_envs == 4 and vec.max_episode_steps == envs.MAX_EPISODE_STEPS
    obs = vec.reset()
    assert obs.shape == (4, *vec.observation_space.shape)
    start = vec.core.physics.qpos[:, :3].copy()
    for _ in range(25):
        obs, rewards, dones, infos = vec.step(np.zeros((4, vec.action_space.shape[0]), dtype=np.float32))
    assert np.isfinite(obs).all() and np.all(rewards != 0) and not dones.any()
    assert np.all(np.abs(vec.core.physics.qpos[:, :3] - start).max(axis=1) > 1e-3)  # the physics moved every robot
    vec.close()


def test_a_nan_action_ends_only_that_robots_episode():
    vec = BatchedVecEnv(CASES["v2"], 3, threads=1)
    vec.seed(0)
    vec.reset()
    actions = np.zeros((3, vec.action_space.shape[0]), dtype=np.float32)
    actions[1, 4] = np.nan
    obs, rewards, dones, infos = vec.step(actions)
    assert list(dones) == [False, True, False]
    assert infos[1]["termination"] == "invalid_action" and rewards[1] == 0.0
    assert np.isfinite(obs).all() and np.isfinite(infos[1]["terminal_observation"]).all()
    vec.close()


def test_the_curriculum_runs_per_robot_as_in_single_envs(tmp_path):
    from walklab import curriculum

    config = CASES["v2"].replace(curriculum=True, curriculum_levels=2, curriculum_promote=0.2)
    single = make_vec_env(config, 2, 40, seed=3, layout="in-process")
    batched = BatchedVecEnv(config, 2, 40, threads=1)
    batched.seed(3)
    for vec, name in ((single, "single"), (batched, "batched")):
        curriculum.install(vec, tmp_path / name, config, seed=3)
    np.testing.assert_array_equal(batched.reset(), single.reset())
    rng = np.random.default_rng(0)
    for step in range(130):
        actions = rng.uniform(-1, 1, (2, batched.action_space.shape[0])).astype(np.float32)
        o1, r1, d1, _ = single.step(actions)
        o2, r2, d2, _ = batched.step(actions)
        np.testing.assert_array_equal(o2, o1, err_msg=f"step {step}")
        np.testing.assert_array_equal(r2, r1, err_msg=f"step {step}")
    kinds = [(s.kind, s.level, s.episodes) for s in batched.get_attr("terrain_schedule")]
    assert kinds == [(s.kind, s.level, s.episodes) for s in single.get_attr("terrain_schedule")]
    assert all(episodes == 3 for _, _, episodes in kinds)  # three episodes ended, each on a scheduled terrain
    assert [p.endswith(".png") for p in batched.get_attr("terrain_path")] == [True, True]
