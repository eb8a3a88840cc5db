"""A robot's whole episode is the core's: copies of it continue bit for bit.

Hypothesis draws the options (commands with turning, randomised physics, a terrain curriculum,
swing height), the seed and how long to walk before copying; a deep copy or a pickle of the env
then takes the same actions as the original, across a reset, and must agree with it in every
observation, reward, ending, info and qpos. ``WalkCore.snapshot(i)`` and ``restore(i, ...)`` do
the same for one robot of a batch, restored into its own row or another.
"""

from __future__ import annotations

import copy
import json
import pickle

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from envs.config import EnvConfig
from envs.residual_walk_env import ResidualWalkEnv
from envs.vector_env import ResidualWalkVectorEnv
from tests.walk_cases import COMMANDS, PERTURBED_SETTINGS
from walklab.curriculum import TerrainCurriculum, write_level_terrains
from walklab.presets import V2

LEVELS = 3
OPTIONS = st.fixed_dictionaries(
    {
        "commands": st.booleans(),
        "turning": st.booleans(),
        "randomize": st.booleans(),
        "curriculum": st.booleans(),
        "swing_height": st.booleans(),
        "perturbed": st.booleans(),
    }
)
COPIES = {"deepcopy": copy.deepcopy, "pickle": lambda env: pickle.loads(pickle.dumps(env))}


@pytest.fixture(scope="module")
def levels(tmp_path_factory):
    folder = tmp_path_factory.mktemp("levels")
    write_level_terrains(folder, LEVELS)
    return folder


def config_of(options: dict) -> EnvConfig:
    base = COMMANDS if options["commands"] else V2.env
    config = base.replace(
        swing_height=options["swing_height"], randomize=options["randomize"], curriculum=options["curriculum"]
    )
    if options.get("perturbed"):  # every perturbation (envs.perturbations): pushes, latency, noise, actuators, masses
        config = config.replace(**PERTURBED_SETTINGS)
    if options["commands"] and options["turning"]:
        config = config.replace(command_yaw_rate_min=-0.6, command_yaw_rate_max=0.6, command_straight_share=0.3)
    return config


def record(env, obs, reward, terminated, truncated, info) -> tuple:
    """One step's numbers as exact bytes and reprs."""
    plain = json.dumps(info, sort_keys=True, default=lambda v: repr(v.item() if isinstance(v, np.generic) else v))
    return np.asarray(obs).tobytes(), repr(float(reward)), bool(terminated), plain, env.data.qpos.tobytes()


def walk(env, actions: np.ndarray, reset_at: int) -> list[tuple]:
    """Step `env` through `actions`, resetting it before step `reset_at` and after every ending."""
    out = []
    for k, action in enumerate(actions):
        if k == reset_at:
            obs, info = env.reset()
            out.append(record(env, obs, 0.0, False, False, info))
        result = env.step(action)
        out.append(record(env, *result))
        if result[2]:
            obs, info = env.reset()
            out.append(record(env, obs, 0.0, False, False, info))
    return out


@settings(max_examples=40, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    options=OPTIONS,
    seed=st.integers(0, 2**16),
    before=st.integers(0, 120),
    after=st.integers(1, 60),
    reset_fraction=st.floats(0.0, 1.0),
    how=st.sampled_from(sorted(COPIES)),
)
def test_a_copied_env_steps_as_the_original(levels, options, seed, before, after, reset_fraction, how):
    env = ResidualWalkEnv(config_of(options))
    if options["curriculum"]:
        env.set_terrain_schedule(TerrainCurriculum(levels, LEVELS, 0.3, 0.1, seed=seed))
    rng = np.random.default_rng(seed)
    env.reset(seed=seed)
    walk(env, rng.uniform(-1.0, 1.0, (before, env.n_actions)), reset_at=-1)
    clone = COPIES[how](env)
    actions = rng.uniform(-1.0, 1.0, (after, env.n_actions))
    reset_at = int(reset_fraction * after)
    original = walk(env, actions, reset_at)  # the original first, all the way: the copy shares nothing
    copied = walk(clone, actions, reset_at)
    for k, (a, b) in enumerate(zip(original, copied)):
        assert a == b, f"{how}: record {k} of {len(original)} differs"
    assert len(original) == len(copied)


def test_a_copy_keeps_the_commanded_heading_and_the_randomised_physics():
    env = ResidualWalkEnv(COMMANDS.replace(randomize=True, swing_height=False))
    env.reset(seed=3, options={"command": (0.1, 0.5)})
    for _ in range(50):
        env.step(np.zeros(env.n_actions))
    clone = copy.deepcopy(env)
    assert clone.core.commands.heading[0] == env.core.commands.heading[0] == pytest.approx(0.5)
    assert clone.model.geom_friction[0, 0] == env.model.geom_friction[0, 0] != env._nominal["friction"][0]
    assert clone.np_random is not env.np_random and clone.np_random_seed == env.np_random_seed == 3
    assert env.step(np.zeros(env.n_actions))[1] == clone.step(np.zeros(env.n_actions))[1]


def drive(core, actions: np.ndarray, rows: list[int], reset_at: int = -1) -> list[list[tuple]]:
    """Step every robot of `core` with the same action each step (resetting those that end, and
    every robot before step `reset_at`); each of `rows` gets its list of records."""
    out = [[] for _ in rows]
    for step, action in enumerate(actions):
        if step == reset_at:
            for k, i in enumerate(rows):
                out[k].append(json.dumps(core.reset(i)) + core.last_obs[i].tobytes().hex())
        result = core.step(np.tile(action, (core.n, 1)))
        for k, i in enumerate(rows):
            info = json.dumps(result.infos[i], sort_keys=True, default=repr)
            qpos = core.physics.qpos[i].tobytes()
            out[k].append((result.observation[i].tobytes(), repr(result.reward[i]), result.terminated[i], info, qpos))
        for i in np.flatnonzero(result.terminated):
            core.reset(int(i))
    return out


@pytest.mark.parametrize(
    "options",
    [
        "commands turning randomize curriculum swing_height",
        "commands swing_height",
        "randomize",
        "perturbed",
        "perturbed commands",
    ],
)
def test_snapshot_restores_a_batch_row_in_place_and_in_another_row(levels, options):
    config = config_of(
        {
            key: key in options.split()
            for key in ("commands", "turning", "randomize", "curriculum", "swing_height", "perturbed")
        }
    )
    vec = ResidualWalkVectorEnv(config, num_envs=3)  # own models with randomize or curriculum, else shared
    core = vec.core
    if config.curriculum:
        for i in range(3):
            core.set_terrain_schedule(i, TerrainCurriculum(levels, LEVELS, 0.3, 0.1, seed=i))
    vec.reset(seed=11)
    rng = np.random.default_rng(0)
    drive(core, rng.uniform(-1.0, 1.0, (80, core.n_actions)), [])
    snapshot = core.snapshot(1)
    actions = rng.uniform(-1.0, 1.0, (120, core.n_actions))
    (first,) = drive(core, actions, [1], reset_at=70)
    core.restore(1, snapshot)
    (again,) = drive(core, actions, [1], reset_at=70)
    assert again == first
    core.restore(1, snapshot)
    core.restore(2, snapshot)  # robot 1, moved into row 2
    row_1, row_2 = drive(core, actions, [1, 2], reset_at=70)
    assert row_1 == first
    assert [r[:4] for r in row_2] == [r[:4] for r in first]
    assert [r[4] for r in row_2] == [r[4] for r in first]


def vector_record(vec, obs, rewards, terminated, truncated, infos) -> tuple:
    """One vector step's numbers as exact bytes and reprs."""
    exact = {key: value.tobytes() if value.dtype != object else repr(value.tolist()) for key, value in infos.items()}
    ended = tuple(terminated.tolist()), tuple(truncated.tolist())
    return obs.tobytes(), rewards.tobytes(), ended, exact, vec.physics.qpos.tobytes()


@pytest.mark.parametrize("how", sorted(COPIES))
def test_a_copied_vector_env_steps_as_the_original(levels, how):
    config = config_of(dict(commands=True, turning=True, randomize=True, curriculum=True, swing_height=True))
    vec = ResidualWalkVectorEnv(config, num_envs=3)
    for i, view in enumerate(vec.views):
        view.set_terrain_schedule(TerrainCurriculum(levels, LEVELS, 0.3, 0.1, seed=i))
    vec.reset(seed=5)
    rng = np.random.default_rng(1)
    for action in rng.uniform(-1.0, 1.0, (60, 3, vec.core.n_actions)):
        vec.step(action)
    clone = COPIES[how](vec)
    actions = rng.uniform(-1.0, 1.0, (100, 3, vec.core.n_actions))
    runs = [[vector_record(env, *env.step(action)) for action in actions] for env in (vec, clone)]
    assert any(any(r[2][0]) for r in runs[0]), "the walk should cross a reset"
    assert runs[0] == runs[1]
    assert [s.level for s in clone.get_attr("terrain_schedule")] == [s.level for s in vec.get_attr("terrain_schedule")]


def test_every_per_robot_array_is_declared():
    n = 13  # no other array of the core has 13 rows
    core = ResidualWalkVectorEnv(COMMANDS, num_envs=n).core
    declared = core.rows.declared()
    constant = {"_nominal_physics"}  # each robot model's nominal values: the model's, not the episode's
    for owner in (core, core.commands, core.perturbations):
        for name, value in vars(owner).items():
            if isinstance(value, (np.ndarray, list)) and len(value) == n and name not in constant:
                assert any(value is rows for rows in declared.values()), f"{type(owner).__name__}.{name} undeclared"


@pytest.mark.parametrize("perturbed", [False, True])
def test_a_single_env_robot_restored_into_a_batch_row_walks_on_there(levels, perturbed):
    config = config_of(
        dict(commands=True, turning=True, randomize=True, curriculum=True, swing_height=True, perturbed=perturbed)
    )
    env = ResidualWalkEnv(config)
    env.set_terrain_schedule(TerrainCurriculum(levels, LEVELS, 0.3, 0.1, seed=2))
    env.reset(seed=4)
    rng = np.random.default_rng(4)
    walk(env, rng.uniform(-1.0, 1.0, (40, env.n_actions)), reset_at=-1)
    vec = ResidualWalkVectorEnv(config, num_envs=3)
    vec.reset(seed=0)
    core = vec.core
    core.restore(1, env.core.snapshot(0))
    actions = rng.uniform(-1.0, 1.0, (80, env.n_actions))
    (row,) = drive(core, actions, [1], reset_at=50)
    single = []
    for step, action in enumerate(actions):
        if step == 50:
            single.append(json.dumps(env.reset()[1]) + env.core.last_obs[0].tobytes().hex())
        obs, reward, terminated, _, info = env.step(action)
        info = json.dumps(info, sort_keys=True, default=repr)
        single.append((obs.tobytes(), repr(np.float64(reward)), np.bool_(terminated), info, env.data.qpos.tobytes()))
        if terminated:
            env.reset()
    assert row == single
