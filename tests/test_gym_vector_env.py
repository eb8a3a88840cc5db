"""ResidualWalkVectorEnv (gym.make_vec's vector entry point) equals SyncVectorEnv over N single envs.

Observations, rewards, terminations, truncations and infos (keys, masks, dtypes and values,
``final_obs``/``final_info`` included) must be equal step for step, in each autoreset mode, with
short episodes and with falls; Gymnasium's own vector wrappers must run on it; and nothing of it,
nor ``scripts/gymnasium_ppo.py``, may import Stable-Baselines3.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode, SyncVectorEnv
from gymnasium.wrappers import vector as vector_wrappers

import envs
from envs.layout import observation_slices
from envs.vector_env import ResidualWalkVectorEnv
from tests.conftest import REPO, run_script
from tests.walk_cases import CASES

N = 3
SHORT = 30  # steps per episode: every robot is cut several times
STEPS = 150
# residuals of 10 cm, unfiltered: random actions throw robots over (terminations)
FALLING = CASES["v2"].replace(residual_scale=0.1, action_filter=1.0)
CONFIGS = {
    "v2": CASES["v2"],
    "commands": CASES["commands"],
    "randomize": CASES["randomize"],
    "falling": FALLING,
    "history": FALLING.replace(obs_history=2, obs_noise_level=1.0),  # the last 2 observations and actions
}
MODES = (AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP)


def sync_env(config, n=N, max_episode_steps=SHORT, mode=AutoresetMode.NEXT_STEP) -> SyncVectorEnv:
    return SyncVectorEnv(
        [lambda: gym.make(envs.ENV_ID, config=config, max_episode_steps=max_episode_steps) for _ in range(n)],
        autoreset_mode=mode,
    )


def assert_same(a, b, where: str) -> None:
    """Equal values of equal types, through dicts, tuples and arrays (object arrays element-wise; NaN == NaN)."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), f"{where}: keys differ by {set(a) ^ set(b)}"
        for key in a:
            assert_same(a[key], b[key], f"{where}[{key!r}]")
    elif isinstance(a, tuple):
        assert isinstance(b, tuple) and len(a) == len(b), where
        for k, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{where}[{k}]")
    elif isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape, f"{where}: {a!r} vs {b!r}"
        if a.dtype == object:
            for k, (x, y) in enumerate(zip(a, b)):
                assert_same(x, y, f"{where}[{k}]")
        else:
            np.testing.assert_array_equal(a, b, err_msg=where)
    else:
        assert type(a) is type(b), f"{where}: {type(a).__name__} vs {type(b).__name__}"
        assert a == b or (a != a and b != b), f"{where}: {a!r} vs {b!r}"


def walk_both(vec, sync, steps: int = STEPS, seed: int = 5, scale: float = 1.0, rng_seed: int = 1) -> dict:
    """Reset both with `seed` and step them with the same random actions; returns what ended."""
    assert_same(vec.reset(seed=seed), sync.reset(seed=seed), "reset")
    rng = np.random.default_rng(rng_seed)
    counts = {"terminated": 0, "truncated": 0}
    for step in range(steps):
        actions = (scale * rng.uniform(-1.0, 1.0, vec.action_space.shape)).astype(np.float32)
        expected = sync.step(actions)
        assert_same(vec.step(actions), expected, f"step {step}")
        counts["terminated"] += int(expected[2].sum())
        counts["truncated"] += int(expected[3].sum())
    return counts


@pytest.mark.parametrize("mode", MODES, ids=lambda m: m.value)
@pytest.mark.parametrize("case", list(CONFIGS))
def test_steps_equal_sync_vector_env(case, mode):
    config = CONFIGS[case]
    falling = case == "falling"
    steps = 60 if falling else SHORT  # falling robots get the time to fall
    vec = ResidualWalkVectorEnv(config, N, steps, threads=1, autoreset_mode=mode)
    sync = sync_env(config, max_episode_steps=steps, mode=mode)
    assert vec.metadata["autoreset_mode"] == mode == sync.metadata["autoreset_mode"]
    counts = walk_both(vec, sync, steps=250 if falling else STEPS)
    if falling:
        assert counts["terminated"] >= 2 * N and counts["truncated"] >= 1
    else:
        assert counts["truncated"] >= N * 3  # every robot cut by the time limit several times
    vec.close()
    sync.close()


class LoggedCurriculum:
    """A TerrainCurriculum that also keeps every episode outcome it was told."""

    def __init__(self, folder, seed: int):
        from walklab.curriculum import TerrainCurriculum

        self.curriculum = TerrainCurriculum(folder, 2, 0.2, 0.1, seed=seed)
        self.outcomes = []

    def next_terrain(self, outcome):
        self.outcomes.append(outcome)
        return self.curriculum.next_terrain(outcome)


@pytest.mark.parametrize("mode", MODES, ids=lambda m: m.value)
def test_the_curriculum_sees_the_same_episodes(mode, tmp_path):
    from walklab.curriculum import write_level_terrains

    write_level_terrains(tmp_path, 2)
    config = CASES["v2"].replace(curriculum=True, residual_scale=0.06, action_filter=1.0)
    vec = ResidualWalkVectorEnv(config, N, 40, threads=1, autoreset_mode=mode)
    sync = sync_env(config, max_episode_steps=40, mode=mode)
    for i in range(N):
        vec.views[i].set_terrain_schedule(LoggedCurriculum(tmp_path, seed=i))
        sync.envs[i].unwrapped.set_terrain_schedule(LoggedCurriculum(tmp_path, seed=i))
    counts = walk_both(vec, sync, steps=200)
    assert counts["terminated"] >= 1 and counts["truncated"] >= 1
    logs = [s.outcomes for s in vec.get_attr("terrain_schedule")]
    assert logs == [s.outcomes for s in sync.get_attr("terrain_schedule")]
    # episodes cut by the time limit while other robots walked on (the NEXT_STEP wait must not
    # report them as "invalid_action") and falls
    endings = [o["termination"] for log in logs for o in log if o is not None]
    assert "" in endings and any(e.startswith("fell") for e in endings), endings
    states = [(s.curriculum.kind, s.curriculum.level, s.curriculum.episodes) for s in vec.get_attr("terrain_schedule")]
    assert states == [
        (s.curriculum.kind, s.curriculum.level, s.curriculum.episodes) for s in sync.get_attr("terrain_schedule")
    ]
    assert vec.get_attr("terrain_path") == sync.get_attr("terrain_path")


def test_disabled_autoreset_with_a_reset_mask():
    mode = AutoresetMode.DISABLED
    vec = ResidualWalkVectorEnv(FALLING, N, 20, threads=1, autoreset_mode=mode)
    sync = sync_env(FALLING, max_episode_steps=20, mode=mode)
    assert_same(vec.reset(seed=2), sync.reset(seed=2), "reset")
    rng = np.random.default_rng(0)
    resets = 0
    for step in range(90):
        actions = rng.uniform(-1.0, 1.0, vec.action_space.shape)
        out = sync.step(actions)
        assert_same(vec.step(actions), out, f"step {step}")
        ended = out[2] | out[3]
        if ended.any():
            with pytest.raises(RuntimeError, match="DISABLED"):
                vec.step(actions)
            assert_same(
                vec.reset(options={"reset_mask": ended.copy()}),
                sync.reset(options={"reset_mask": ended.copy()}),
                f"reset after step {step}",
            )
            resets += 1
    assert resets >= 4


def test_seeds_as_an_int_a_list_or_none():
    vec = ResidualWalkVectorEnv(CASES["v2"], N, SHORT, threads=1)
    sync = sync_env(CASES["v2"])
    obs, _ = vec.reset(seed=[11, 12, 13])
    np.testing.assert_array_equal(obs, vec.reset(seed=11)[0])  # an int s gives robot i the seed s + i
    assert vec.np_random_seed == (11, 12, 13)
    walk_both(vec, sync, steps=10, seed=11)
    # None keeps a robot's own stream: robot 1 goes on from where it was, the others start anew
    assert_same(vec.reset(seed=[4, None, 9]), sync.reset(seed=[4, None, 9]), "reset with a None seed")
    with pytest.raises(ValueError, match="num_envs=3"):
        vec.reset(seed=[1, 2])
    a, b = vec.reset(seed=0)[0], vec.reset(seed=1)[0]
    assert not np.array_equal(a, b)


def test_options_reach_every_robot_and_the_reset_mask_resets_some():
    config = CASES["commands"]
    vec = ResidualWalkVectorEnv(config, N, SHORT, threads=1)
    sync = sync_env(config)
    options = {"command": (0.12, 0.3)}
    obs, infos = vec.reset(seed=3, options=options)
    assert_same((obs, infos), sync.reset(seed=3, options=options), "reset with options")
    np.testing.assert_allclose(obs[:, observation_slices(config)["command"]], np.float32([[0.12, 0.3]] * N))
    np.testing.assert_allclose(np.array(vec.get_attr("command")), [[0.12, 0.3]] * N)
    actions = np.zeros(vec.action_space.shape, dtype=np.float32)
    for _ in range(5):
        assert_same(vec.step(actions), sync.step(actions), "step")
    mask = np.array([False, True, False])
    options = {"reset_mask": mask, "command": (0.05, 0.0)}
    out = vec.reset(seed=[None, 8, None], options=options)
    assert "reset_mask" in options  # the caller's dict is left whole
    assert_same(out, sync.reset(seed=[None, 8, None], options=dict(options)), "reset of robot 1")
    assert list(out[1]["_x_position"]) == [False, True, False]
    for _ in range(5):
        assert_same(vec.step(actions), sync.step(actions), "step after the masked reset")
    for bad, error in (
        (np.array([1, 0, 0]), TypeError),
        (np.zeros(3, dtype=bool), ValueError),
        ([True] * 3, TypeError),
    ):
        with pytest.raises(error):
            vec.reset(options={"reset_mask": bad})


def test_gymnasium_vector_wrappers_run_on_it():
    def wrap(env):
        env = vector_wrappers.RecordEpisodeStatistics(env)
        if env.metadata["autoreset_mode"] == AutoresetMode.NEXT_STEP:  # Gymnasium's observation
            env = vector_wrappers.NormalizeObservation(env)  # wrappers refuse SAME_STEP
        return vector_wrappers.ClipAction(env)

    for mode in MODES:
        vec = wrap(ResidualWalkVectorEnv(FALLING, N, SHORT, threads=1, autoreset_mode=mode))
        sync = wrap(sync_env(FALLING, mode=mode))
        assert_same(vec.reset(seed=1), sync.reset(seed=1), "reset")
        rng = np.random.default_rng(2)
        episodes = 0
        for step in range(100):
            actions = rng.uniform(-3.0, 3.0, vec.action_space.shape)  # ClipAction brings them to [-1, 1]
            out, expected = vec.step(actions), sync.step(actions)
            for info in (out[4], expected[4]):  # wall-clock seconds differ
                info.get("episode", {}).pop("t", None)
            assert_same(out, expected, f"{mode.value} step {step}")
            if "episode" in out[4]:
                episodes += int(out[4]["_episode"].sum())
                assert (out[4]["episode"]["l"][out[4]["_episode"]] >= 1).all()
        assert episodes >= N * 2
        if mode == AutoresetMode.NEXT_STEP:
            assert vec.env.obs_rms.count > 100  # NormalizeObservation's running statistics
        statistics = vec.env.env if mode == AutoresetMode.NEXT_STEP else vec.env
        assert len(statistics.return_queue) == episodes  # RecordEpisodeStatistics' own record
        vec.close()
        sync.close()


def test_make_vec_builds_it_with_the_spaces_of_the_single_env():
    single = gym.make(envs.ENV_ID, config=CASES["v2"])
    vec = gym.make_vec(envs.ENV_ID, num_envs=4, vectorization_mode="vector_entry_point", config=CASES["v2"], threads=1)
    assert isinstance(vec, ResidualWalkVectorEnv) and isinstance(vec, gym.vector.VectorEnv)
    assert vec.num_envs == 4 and vec.max_episode_steps == envs.MAX_EPISODE_STEPS and vec.threads == 1
    assert vec.single_observation_space == single.observation_space
    assert vec.single_action_space == single.action_space
    assert vec.observation_space.shape == (4, *single.observation_space.shape)
    assert vec.action_space.shape == (4, *single.action_space.shape)
    assert vec.observation_space.dtype == vec.action_space.dtype == np.float32
    assert vec.render_mode is None and vec.render() is None
    assert vec.metadata["autoreset_mode"] == AutoresetMode.NEXT_STEP
    assert vec.spec.id == envs.ENV_ID and vec.spec.kwargs["num_envs"] == 4
    assert vec.spec.kwargs["vectorization_mode"] == "vector_entry_point"
    assert repr(vec) == f"ResidualWalkVectorEnv({envs.ENV_ID}, num_envs=4)"
    obs, infos = vec.reset(seed=0)
    assert obs.shape == vec.observation_space.shape and obs.dtype == np.float32
    assert set(infos) == {"x_position", "_x_position", "body_height", "_body_height"}
    obs, rewards, terminations, truncations, infos = vec.step(vec.action_space.sample())
    assert rewards.dtype == np.float64 and terminations.dtype == truncations.dtype == np.bool_
    assert infos["termination"].dtype == object and infos["_reward_alive"].all()
    vec.close()
    assert vec.closed
    short = gym.make_vec(envs.ENV_ID, num_envs=2, vectorization_mode="vector_entry_point", max_episode_steps=7)
    short.reset(seed=0)
    for _ in range(7):
        truncations = short.step(np.zeros(short.action_space.shape))[3]
    assert truncations.all() and short.spec.kwargs["max_episode_steps"] == 7
    same_step = gym.make_vec(
        envs.ENV_ID, num_envs=2, vectorization_mode="vector_entry_point", autoreset_mode="SameStep"
    )
    assert same_step.metadata["autoreset_mode"] == AutoresetMode.SAME_STEP


def test_step_wants_a_reset_first_and_a_batch_does_not_render():
    vec = ResidualWalkVectorEnv(CASES["v2"], 2, threads=1)
    with pytest.raises(gym.error.ResetNeeded):
        vec.step(np.zeros(vec.action_space.shape))
    with pytest.raises(gym.error.ResetNeeded):
        vec.reset(options={"reset_mask": np.array([True, False])})
    vec.reset(seed=0)
    vec.step(np.zeros(vec.action_space.shape))
    with pytest.raises(ValueError, match="render_mode must be None"):
        gym.make_vec(envs.ENV_ID, num_envs=2, vectorization_mode="vector_entry_point", render_mode="rgb_array")


def test_robot_views_through_call_get_attr_and_set_attr():
    vec = ResidualWalkVectorEnv(CASES["commands"], 2, threads=1)
    vec.reset(seed=0)
    assert vec.get_attr("dt") == (vec.core.dt, vec.core.dt)
    assert vec.call("set_terrain_schedule", None) == (None, None)
    vec.set_attr("command", [(0.1, 0.0), (0.2, 0.5)])
    np.testing.assert_array_equal(np.array(vec.get_attr("command")), [[0.1, 0.0], [0.2, 0.5]])
    vec.set_attr("command", np.array([0.15, 0.0]))  # one value for every robot (a list or tuple: one each)
    np.testing.assert_array_equal(vec.core.commands.values, [[0.15, 0.0], [0.15, 0.0]])
    with pytest.raises(ValueError, match="num_envs=2"):
        vec.set_attr("command", [(0.1, 0.0)])
    with pytest.raises(ValueError, match="set_terrain on a batch needs per-robot models"):
        vec.call("set_terrain", None)


def test_actions_of_the_wrong_shape_are_refused_and_residuals_alone_accepted():
    vec = ResidualWalkVectorEnv(CASES["v2"], 2, threads=1)  # v2 modulates the gait: more than 12 actions
    vec.reset(seed=0)
    na = vec.single_action_space.shape[0]
    assert na > 12
    for bad in (np.zeros((3, na)), np.zeros(na), np.zeros((2, na - 1)), "left"):
        with pytest.raises(ValueError, match="actions must"):
            vec.step(bad)
    vec.step(np.zeros((2, 12)))  # the residuals alone: the gait's own stride and frequency


def test_nothing_imports_stable_baselines3():
    code = textwrap.dedent(
        """
        import sys
        import gymnasium as gym
        import numpy as np
        import envs
        from gymnasium.wrappers import vector
        vec = vector.RecordEpisodeStatistics(gym.make_vec(envs.ENV_ID, num_envs=2, max_episode_steps=5, threads=1))
        vec.reset(seed=0)
        for _ in range(12):
            vec.step(np.zeros(vec.action_space.shape))
        assert "stable_baselines3" not in sys.modules, "stable_baselines3 imported"
        print("ok")
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr


def test_gymnasium_ppo_script_trains_without_stable_baselines3(tmp_path):
    """scripts/gymnasium_ppo.py: a few PPO updates on gym.make_vec, printing one line per update."""
    code = textwrap.dedent(
        f"""
        import runpy, sys
        sys.argv = ["scripts/gymnasium_ppo.py", "--updates", "2", "--num-steps", "32", "--num-envs", "2",
                    "--episode-steps", "40", "--minibatches", "2", "--epochs", "2", "--seed", "3",
                    "--threads", "1", "--save", {str(tmp_path / "agent.pt")!r}]
        runpy.run_path("scripts/gymnasium_ppo.py", run_name="__main__")
        assert "stable_baselines3" not in sys.modules, "stable_baselines3 imported"
        print("no stable_baselines3")
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.strip().splitlines()
    updates = [line for line in lines if line.startswith("update ")]
    assert len(updates) == 2, proc.stdout
    assert all("steps/s" in line and "loss" in line for line in updates), proc.stdout
    assert lines[-1] == "no stable_baselines3"
    assert (tmp_path / "agent.pt").is_file()


def test_gymnasium_ppo_script_refuses_a_bad_flag_in_one_line():
    proc = run_script("scripts/gymnasium_ppo.py", "--updates", "0", timeout=60)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1
    assert proc.stderr.startswith("error: ") and "--updates" in proc.stderr
