"""Commanded speeds and the terrain curriculum (issue 15).

.venv/bin/python -m pytest tests/test_commands.py
"""

import json
import math
import pickle

import numpy as np
import pytest

from envs import assets as A
from envs.config import EnvConfig
from envs.layout import observation_slices
from envs.residual_walk_env import N_COMMAND_OBS, ResidualWalkEnv
from tests.conftest import run_script
from walklab.curriculum import TerrainCurriculum, next_level, terrain_path, write_level_terrains

SHIPPED = A.ASSETS_DIR / "policies" / "residual_walk"
TINY = [
    "--n-envs",
    "2",
    "--n-steps",
    "128",
    "--batch-size",
    "64",
    "--checkpoint-freq",
    "100000",
    "--eval-freq",
    "0",
    "--episode-steps",
    "40",
    "--no-progress",
]
COMMANDED = ["--commands", "--gait-modulation", "--forward-velocity-weight", "0", "--tracking-velocity-weight", "1"]


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


# ---------------------------------------------------------------------- curriculum
def outcome(distance, seconds=20.0, fell=False, command=None, nominal=0.15):
    return {
        "distance_m": distance,
        "seconds": seconds,
        "fell": fell,
        "termination": "fell_tilt" if fell else "",
        "command_mps": command,
        "nominal_mps": nominal,
    }


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


def test_curriculum_rule_rises_on_distance_and_falls_on_failure():
    promote, demote, n = 0.7, 0.35, 6
    # no command: the reference is the trot's no-slip speed, 0.15 m/s -> up at 0.105 m/s, down below 0.0525
    assert next_level(2, n, outcome(0.105 * 20), promote, demote) == 3
    assert next_level(2, n, outcome(0.104 * 20), promote, demote) == 2
    assert next_level(2, n, outcome(0.06 * 20), promote, demote) == 2
    assert next_level(2, n, outcome(0.05 * 20), promote, demote) == 1
    assert next_level(2, n, outcome(3.0, fell=True), promote, demote) == 1  # a fall always goes down
    assert next_level(5, n, outcome(3.0), promote, demote) == 5  # stays within 0..n-1
    assert next_level(0, n, outcome(0.0), promote, demote) == 0
    assert next_level(0, n, outcome(0.0, fell=True), promote, demote) == 0
    # with commands, promotion still needs 0.7 x the no-slip speed (0.105 m/s), whatever the command:
    # an env that tracks a slow command well stays where it is ...
    assert next_level(1, n, outcome(0.05 * 20, command=0.05), promote, demote) == 1
    assert next_level(1, n, outcome(0.11 * 20, command=0.25), promote, demote) == 2
    # ... and demotion is relative to the episode's command: below 0.35 x 0.20 = 0.07 m/s
    assert next_level(1, n, outcome(0.069 * 20, command=0.20), promote, demote) == 0
    assert next_level(1, n, outcome(0.069 * 20, command=0.10), promote, demote) == 1
    assert next_level(3, n, None, promote, demote) == 3  # before the first episode


def test_terrain_curriculum_switches_the_env_terrain_by_level(tmp_path):
    write_level_terrains(tmp_path, 2)
    env = ResidualWalkEnv()
    schedule = TerrainCurriculum(tmp_path, 2, 0.7, 0.35, level=0, seed=1)
    env.set_terrain_schedule(schedule)
    env.reset(seed=0)
    assert env.terrain_path == str(terrain_path(tmp_path, schedule.kind, 0))
    # the swapped heights are exactly what MuJoCo loads from that PNG, and the physics is the same
    fresh = ResidualWalkEnv(terrain=env.terrain_path)
    np.testing.assert_array_equal(env.model.hfield_data, fresh.model.hfield_data)
    a, _ = fresh.reset(seed=0)
    env.data.qpos[:], env.data.qvel[:] = fresh.data.qpos, fresh.data.qvel
    for _ in range(50):
        oa = fresh.step(np.full(12, 0.3))[0]
        ob = env.step(np.full(12, 0.3))[0]
    np.testing.assert_array_equal(oa, ob)
    # an episode that walks far promotes, a fall demotes
    env.data.qpos[0] = env._episode_x0 + 1.0  # 1 m in 50 steps = 1 m/s
    env.reset(seed=1)
    assert schedule.level == 1 and env.terrain_path.endswith(f"{schedule.kind}_L1.png")
    env.step(np.zeros(12))
    env._last_termination = "fell_height"
    env.reset(seed=2)
    assert schedule.level == 0 and (schedule.promotions, schedule.demotions) == (1, 1)


def test_curriculum_walks_the_own_terrain_at_its_fraction_and_keeps_the_level_there(tmp_path):
    from envs.assets import DEFAULT_TERRAIN_PNG
    from walklab.curriculum import OWN_KIND

    write_level_terrains(tmp_path, 2)
    own = str(DEFAULT_TERRAIN_PNG)
    schedule = TerrainCurriculum(tmp_path, 2, 0.7, 0.35, level=0, seed=3, own_terrain=own, own_fraction=0.3)
    far = outcome(1.0 * 20)  # 1 m/s: promotes from a level's terrain
    picks = []
    for _ in range(400):
        level_before, was_own = schedule.level, schedule.kind == OWN_KIND
        png = schedule.next_terrain(far if picks else None)
        if picks:  # the episode that just ended moved the level only when it was on a level's terrain
            assert schedule.level == (level_before if was_own else min(level_before + 1, 1))
        picks.append(png == own)
        assert (png == own) == (schedule.kind == OWN_KIND)
    assert 0.24 < np.mean(picks) < 0.36
    # at 0 the schedule draws exactly as without the option (same kinds from the same seed)
    plain = TerrainCurriculum(tmp_path, 2, 0.7, 0.35, seed=5)
    zero = TerrainCurriculum(tmp_path, 2, 0.7, 0.35, seed=5, own_terrain=own, own_fraction=0.0)
    assert [plain.next_terrain(None) for _ in range(20)] == [zero.next_terrain(None) for _ in range(20)]
    with pytest.raises(ValueError, match="own_terrain"):
        TerrainCurriculum(tmp_path, 2, 0.7, 0.35, own_fraction=0.5)
    # the env swaps the own terrain in like any other
    env = ResidualWalkEnv()
    env.set_terrain(own)
    np.testing.assert_array_equal(env.model.hfield_data, ResidualWalkEnv().model.hfield_data)


# ---------------------------------------------------------------------- tiny commanded curriculum run
@pytest.fixture(scope="module")
def commanded_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    proc = run_script(
        "train_residual_ppo_v2.py",
        "--total-timesteps",
        "256",
        "--run-name",
        "cmd",
        "--runs-dir",
        str(root),
        "--curriculum",
        *COMMANDED,
        *TINY,
    )
    assert proc.returncode == 0, proc.stderr
    (run_dir,) = [d for d in root.iterdir() if d.is_dir()]
    return run_dir


def curriculum_scalars(run_dir):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    values = {}
    for folder in sorted({p.parent for p in run_dir.glob("tb_*/events.out.tfevents.*")}):
        acc = EventAccumulator(str(folder))
        acc.Reload()
        for tag in acc.Tags()["scalars"]:
            if tag.startswith("curriculum/"):
                values.setdefault(tag, []).extend((e.step, e.value) for e in acc.Scalars(tag))
    return values


def test_curriculum_run_logs_levels_and_survives_resume(commanded_run):
    run_dir = commanded_run
    config = json.loads((run_dir / "config.json").read_text())
    assert config["env"]["curriculum"] is True and config["env"]["commands"] is True
    levels = config["env"]["curriculum_levels"]
    assert len(list((run_dir / "terrains").glob("*_L*.png"))) == 5 * levels
    scalars = curriculum_scalars(run_dir)
    assert {"curriculum/level_mean", "curriculum/level_0", "curriculum/level_1"} <= set(scalars)
    state = json.loads((run_dir / "curriculum.json").read_text())
    assert len(state["levels"]) == 2 and state["num_timesteps"] == 256
    # resume: each env starts at its saved level (set high here, so a fresh start at 0 would show)
    state["levels"] = [levels - 1, levels - 1]
    (run_dir / "curriculum.json").write_text(json.dumps(state))
    proc = run_script("train_residual_ppo_v2.py", "--resume", str(run_dir), "--total-timesteps", "512", "--no-progress")
    assert proc.returncode == 0, proc.stderr
    assert f"curriculum: resumed at levels [{levels - 1}, {levels - 1}]" in proc.stdout
    after = curriculum_scalars(run_dir)
    resumed = [v for step, v in after["curriculum/level_mean"] if step > 256]
    assert resumed and resumed[0] >= levels - 2  # one rollout moves a level by at most its episodes
    assert json.loads((run_dir / "curriculum.json").read_text())["num_timesteps"] == 512


def test_phase6_reports_every_command_as_json(commanded_run, tmp_path):
    out = tmp_path / "tracking.json"
    proc = run_script(
        "phases_test/phase6_command_tracking.py",
        "--model",
        str(commanded_run / "final_model.zip"),
        "--commands",
        "0.05",
        "0.15",
        "--episodes",
        "2",
        "--seconds",
        "1",
        "--json",
        str(out),
    )
    assert proc.returncode == 0, proc.stderr
    record = json.loads(out.read_text())
    assert [r["command_mps"] for r in record["commands"]] == [0.05, 0.15]
    for row in record["commands"]:
        assert {"command_mps", "achieved_mps", "abs_error_mps", "falls"} <= set(row)
        errors = [abs(v - row["command_mps"]) for v in row["per_episode_mps"]]
        assert row["abs_error_mps"] == pytest.approx(np.mean(errors), abs=1e-5)
        low, high = row["abs_error_ci95_mps"]
        assert min(errors) - 1e-5 <= low <= row["abs_error_mps"] <= high <= max(errors) + 1e-5
    mean = np.mean([r["abs_error_mps"] for r in record["commands"]])
    assert record["mean_abs_error_mps"] == pytest.approx(mean)
    assert record["mean_abs_error_ci95_mps"][0] <= mean <= record["mean_abs_error_ci95_mps"][1]
    assert "target (<= 0.02 m/s, no falls)" in proc.stdout


def test_mean_of_means_interval_resamples_each_group_on_its_own():
    from walklab.evaluation import mean_of_means_with_ci

    one, (low, high) = mean_of_means_with_ci([[0.01, 0.02, 0.03, 0.04]])
    assert one == pytest.approx(0.025) and 0.01 < low < one < high < 0.04
    # a constant group adds no width; the mean weighs groups equally whatever their sizes
    mean, (lo2, hi2) = mean_of_means_with_ci([[0.01, 0.02, 0.03, 0.04], [0.1] * 9])
    assert mean == pytest.approx((0.025 + 0.1) / 2)
    assert (hi2 - lo2) == pytest.approx((high - low) / 2, rel=0.05)
    assert mean_of_means_with_ci([[0.01, 0.02, 0.03, 0.04]]) == (one, [low, high])  # fixed seed
    with pytest.raises(ValueError):
        mean_of_means_with_ci([[0.1], []])


def test_phase6_refuses_a_model_without_a_command_input():
    proc = run_script(
        "phases_test/phase6_command_tracking.py",
        "--model",
        str(SHIPPED / "final_model.zip"),
        "--normalize",
        str(SHIPPED / "vec_normalize.pkl"),
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "has no command input" in lines[0], proc.stderr


def test_comparison_fixes_a_commanded_policy_to_one_command(commanded_run, tmp_path):
    out = tmp_path / "compare.json"
    proc = run_script(
        "tests/compare_residual_vs_baseline.py",
        "--model",
        str(commanded_run / "final_model.zip"),
        "--command",
        "0.12",
        "--episodes",
        "2",
        "--seconds",
        "0.5",
        "--json",
        str(out),
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(out.read_text())["command_mps"] == 0.12
    from walklab.policies import open_policy

    _, env, _ = open_policy(commanded_run / "final_model.zip")  # default: the top of the training range
    env.reset(seed=5)
    assert tuple(env.command) == (env.config.command_speed_max, 0.0)


def test_command_is_refused_for_a_policy_without_commands():
    proc = run_script(
        "tests/compare_residual_vs_baseline.py",
        "--model",
        str(SHIPPED / "final_model.zip"),
        "--command",
        "0.1",
        "--episodes",
        "1",
        "--seconds",
        "0.2",
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "--command needs a policy trained with --commands" in lines[0], proc.stderr


def test_replay_walks_a_commanded_policy_at_the_given_command(commanded_run, tmp_path):
    from walklab.playback import play

    slow = play(
        commanded_run / "final_model.zip", None, 2.0, deterministic=True, record=tmp_path / "a.gif", command=0.05
    )
    fast = play(
        commanded_run / "final_model.zip", None, 2.0, deterministic=True, record=tmp_path / "b.gif", command=0.3
    )
    assert slow.forward_velocity != fast.forward_velocity  # the command reaches the policy and the gait
    proc = run_script(
        "phases_test/phase4_viewer_play_policy.py",
        "--model",
        str(SHIPPED / "final_model.zip"),
        "--command",
        "0.1",
        "--record",
        str(tmp_path / "c.gif"),
        "--seconds",
        "0.2",
    )
    assert proc.returncode == 2 and not (tmp_path / "c.gif").exists()
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "--command needs a policy trained with --commands" in lines[0], proc.stderr


def test_kernel_bias_script_shows_the_window_smoothing_the_tracked_speed():
    result = run_script(
        "scripts/tracking_kernel_bias.py",
        "--commands",
        "0.1",
        "--windows",
        "0",
        "0.8",
        "--episodes",
        "1",
        "--seconds",
        "4",
    )
    assert result.returncode == 0, result.stderr
    row = result.stdout.strip().splitlines()[-1].replace("/", " ").split()
    command, mean, optimum_step, sd_step, optimum_window, sd_window = map(float, row)
    assert command == 0.1 and 0.03 < mean < 0.15
    assert sd_window < 0.5 * sd_step  # averaging over a stride removes most of the swing
    assert optimum_step < command - 0.01  # per step, the kernel pays most for a walk slower than told ...
    assert abs(optimum_window - command) < abs(optimum_step - command)  # ... over the window, nearer the command
    bad = run_script("scripts/tracking_kernel_bias.py", "--windows", "-1")
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1
