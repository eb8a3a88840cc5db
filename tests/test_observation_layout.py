"""The observation is built from envs.layout's one table: each row's method, in the table's order; the action
entries the core reads by index are the named slices."""

import math

import numpy as np
import pytest

from envs import ResidualWalkEnv
from envs.config import EnvConfig
from envs.layout import (
    FREQUENCY_ACTION,
    N_ACTIONS,
    OBSERVATION_PARTS,
    STRIDE_ACTION,
    ObservationState,
    action_size,
    action_slices,
    observation_size,
    observation_slices,
    swing_height_index,
)
from envs.rows import libm
from envs.walk_core import WalkCore

OPTIONS = sorted({part.option for part in OBSERVATION_PARTS if part.option} | {"gait_modulation", "steering"})


def test_every_row_has_its_method_and_every_method_its_row():
    rows = [part.name for part in OBSERVATION_PARTS]
    assert len(set(rows)) == len(rows)
    methods = {name.removeprefix("_obs_") for name in dir(WalkCore) if name.startswith("_obs_")} - {"terms"}
    assert methods == set(rows)
    for part in OBSERVATION_PARTS:  # an option is a switch of EnvConfig
        assert part.option is None or isinstance(getattr(EnvConfig(), part.option), bool), part


@pytest.mark.parametrize(
    "switched", [(), tuple(OPTIONS)] + [(option,) for option in OPTIONS], ids=lambda s: "+".join(s) or "none"
)
def test_each_part_sits_at_its_named_slice(switched):
    config = EnvConfig().replace(**{option: option in switched for option in OPTIONS})
    env = ResidualWalkEnv(config)
    env.reset(seed=3)
    obs, *_ = env.step(np.random.default_rng(0).uniform(-1, 1, env.action_space.shape))
    assert obs.shape == (observation_size(config),) == env.observation_space.shape and obs.dtype == np.float32
    # each part again from its own method, against its named slice of what the env returned
    core, ids = env.core, np.arange(1)
    p = core.physics
    rot = p.trunk_xmat[ids]
    yaw = libm(math.atan2, rot[:, 3], rot[:, 0])
    state = ObservationState(ids, p.qpos[ids], p.qvel[ids], p.sensordata[ids], rot, core._ground(p.qpos, rot, ids), yaw)
    slices = observation_slices(config)
    methods = core._observation_terms()
    assert [m.__name__.removeprefix("_obs_") for m in methods] == list(slices)  # the table's order
    for method in methods:
        name = method.__name__.removeprefix("_obs_")
        value = method(state)
        assert value.shape == (1, slices[name].stop - slices[name].start), name
        np.testing.assert_array_equal(obs[slices[name]], value[0].astype(np.float32), err_msg=name)


ACTION_OPTIONS = ("gait_modulation", "swing_height", "steering")


@pytest.mark.parametrize("switched", [(), ACTION_OPTIONS, ("swing_height",), ("steering",)])
def test_the_action_entries_the_core_reads_sit_at_their_named_slices(switched):
    config = EnvConfig().replace(**{option: True for option in switched})
    at = action_slices(config)
    assert at["foot_offsets"] == slice(0, N_ACTIONS)
    assert sum(s.stop - s.start for s in at.values()) == action_size(
        config.gait_modulation, config.steering, config.swing_height
    )
    if config.gait_modulation:
        assert (at["stride"].start, at["frequency"].start) == (STRIDE_ACTION, FREQUENCY_ACTION)
    if config.swing_height:
        assert at["swing_height"].start == swing_height_index(config)
    if config.steering:  # the core reads steering as the last entry
        assert at["steering"].stop == action_size(config.gait_modulation, config.steering, config.swing_height)
