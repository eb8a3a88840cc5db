"""The vector env layouts (--vec-env): the same transitions whichever process steps the envs."""

from __future__ import annotations

import numpy as np
import pytest

from envs.config import EnvConfig
from walklab.vec_envs import make_vec_env

CONFIG = EnvConfig(gait_modulation=True, steering=True, heading_observation=True)
EPISODE_STEPS = 60  # short episodes: the walk crosses several resets


def rollout(layout: str, steps: int = 150) -> list[np.ndarray]:
    vec = make_vec_env(CONFIG, 4, EPISODE_STEPS, seed=3, layout=layout)
    rng = np.random.default_rng(0)
    try:
        record = [vec.reset()]
        for _ in range(steps):
            actions = rng.uniform(-1, 1, (4, *vec.action_space.shape)).astype(np.float32)
            obs, rewards, dones, infos = vec.step(actions)
            record += [obs, rewards.astype(np.float64), dones, np.array([i["x_position"] for i in infos])]
            record += [info["terminal_observation"] for info in infos if "terminal_observation" in info]
        record.append(np.array(vec.get_attr("terrain_path", indices=[1, 3]), dtype=object))
    finally:
        vec.close()
    return record


def test_split_layout_gives_in_process_transitions_step_for_step():
    here, split = rollout("in-process"), rollout("split")
    assert len(here) == len(split) > 4 * 150  # includes the terminal observations of 4 x 2 resets
    for a, b in zip(here, split, strict=True):
        np.testing.assert_array_equal(a, b)


def test_split_layout_routes_attributes_and_methods_to_the_right_env():
    vec = make_vec_env(CONFIG, 4, EPISODE_STEPS, seed=0, layout="split")
    try:
        assert vec.n_local == 2 and vec.processes[0].is_alive()
        vec.reset()
        vec.set_attr("marker", 7, indices=[0, 3])
        assert vec.get_attr("marker", indices=[3, 0]) == [7, 7]
        assert vec.env_method("get_wrapper_attr", "marker", indices=[3]) == [7]
        with pytest.raises(AttributeError):
            vec.get_attr("marker", indices=[2])
        assert vec.env_method("get_wrapper_attr", "dt") == [0.02] * 4
    finally:
        vec.close()
    assert not vec.processes[0].is_alive()


def test_unknown_layout_is_refused():
    with pytest.raises(ValueError, match="split"):
        make_vec_env(CONFIG, 2, EPISODE_STEPS, seed=0, layout="threads")
