"""Regression: the shipped policy in assets/policies/residual_walk still beats the baseline trot."""

import json

from envs import assets as A
from walklab.evaluation import evaluate, run_episode, zero_rows
from walklab.policies import open_policy

SHIPPED = A.ASSETS_DIR / "policies" / "residual_walk"


def test_shipped_run_directory_is_complete():
    for name in ("final_model.zip", "vec_normalize.pkl", "config.json", "debug/report.md", "debug/report.json"):
        assert (SHIPPED / name).is_file(), name
    config = json.loads((SHIPPED / "config.json").read_text())
    assert config["script"] == "train_residual_ppo_v2.py" and config["status"] == "finished"


def test_shipped_policy_walks_three_times_the_baseline_measured_live():
    """Measured now, no stored number read: 8 seeded 20 s episodes per side, rows of one batch."""
    _, env, loaded = open_policy(SHIPPED / "final_model.zip", SHIPPED / "vec_normalize.pkl")
    trained, _ = evaluate(env, None, 8, 20.0, rows=loaded.act_rows)
    baseline, _ = evaluate(env, None, 8, 20.0, rows=zero_rows)
    env.close()
    ratio = trained["forward_velocity_mps"] / baseline["forward_velocity_mps"]
    assert trained["falls"] == 0 and trained["off_terrain"] == 0
    assert ratio >= 2.7, (trained["forward_velocity_mps"], baseline["forward_velocity_mps"])
    # the healthy band: a fall is 1.0 rad of tilt
    assert 0.04 < trained["body_height_m"] < 0.06 and trained["max_tilt_rad"] < 0.9


def test_shipped_policy_clears_the_hard_steps_measured_live(tmp_path):
    """The unseen set's weak spot (steps at difficulty 0.9): faster than the trot, no fall."""
    from walklab.terrains import generate, write_heightmap_png

    steps = tmp_path / "steps_d0.9_s101.png"
    write_heightmap_png(generate("steps", 0.9, 101), steps)
    _, env, loaded = open_policy(SHIPPED / "final_model.zip", SHIPPED / "vec_normalize.pkl", terrain=steps)
    trained, _ = evaluate(env, None, 4, 20.0, rows=loaded.act_rows)
    baseline, _ = evaluate(env, None, 4, 20.0, rows=zero_rows)
    env.close()
    assert trained["falls"] == 0
    assert trained["forward_velocity_mps"] > 1.3 * baseline["forward_velocity_mps"], (trained, baseline)


COMMANDED = A.ASSETS_DIR / "policies" / "commanded_walk"


def test_shipped_commanded_run_directory_is_complete():
    for name in ("final_model.zip", "vec_normalize.pkl", "config.json", "curriculum.json", "tracking.json"):
        assert (COMMANDED / name).is_file(), name
    config = json.loads((COMMANDED / "config.json").read_text())
    assert config["env"]["commands"] and config["env"]["curriculum"] and config["status"] == "finished"
    tracking = json.loads((COMMANDED / "tracking.json").read_text())
    assert [r["command_mps"] for r in tracking["commands"]] == [0.05, 0.10, 0.15, 0.20]
    assert tracking["mean_abs_error_mps"] <= 0.02 and tracking["falls"] == 0


def test_shipped_commanded_policy_walks_near_each_command_on_a_short_seeded_rollout():
    for command in (0.05, 0.15):
        _, env, policy = open_policy(COMMANDED / "final_model.zip", COMMANDED / "vec_normalize.pkl", command=command)
        episode = run_episode(env, policy.policy(deterministic=True), 0, 10.0)
        assert not episode.fell
        assert abs(episode.forward_velocity - command) < 0.03, (command, episode.forward_velocity)


TURNING = A.ASSETS_DIR / "policies" / "turning_walk"


def test_shipped_turning_run_directory_is_complete():
    for name in ("final_model.zip", "vec_normalize.pkl", "config.json", "policy.onnx", "debug/report.md"):
        assert (TURNING / name).is_file(), name
    config = json.loads((TURNING / "config.json").read_text())
    assert config["env"]["command_yaw_rate_min"] < 0 < config["env"]["command_yaw_rate_max"]
    assert config["status"] == "finished"
    turning = json.loads((TURNING / "turning.json").read_text())
    assert sorted({r["command_yaw_rate"] for r in turning["commands"]}) == [-0.5, -0.25, 0.0, 0.25, 0.5]
    assert turning["mean_abs_yaw_error"] <= 0.08 and turning["falls"] == 0
    tracking = json.loads((TURNING / "tracking.json").read_text())
    assert [r["command_mps"] for r in tracking["commands"]] == [0.05, 0.10, 0.15, 0.20]
    assert tracking["mean_abs_error_mps"] <= 0.02 and tracking["falls"] == 0


def test_shipped_turning_policy_follows_a_yaw_rate_command_measured_live():
    """20 s seeded rollouts, measured now: it turns each way at the commanded rate and keeps the speed."""
    for speed, yaw_rate in ((0.20, 0.5), (0.10, -0.25), (0.15, 0.0)):
        _, env, policy = open_policy(
            TURNING / "final_model.zip",
            TURNING / "vec_normalize.pkl",
            command=speed,
            command_yaw_rate_min=yaw_rate,
            command_yaw_rate_max=yaw_rate,
        )
        episode = run_episode(env, policy.policy(deterministic=True), 0, 20.0)
        env.close()
        assert not episode.fell
        achieved = episode.heading_change / episode.duration
        assert abs(achieved - yaw_rate) < 0.08, (speed, yaw_rate, achieved)  # 0.026 at most, seen
        assert abs(episode.mean_heading_speed - speed) < 0.04, (speed, yaw_rate, episode.mean_heading_speed)


GO1 = A.ASSETS_DIR / "policies" / "go1_walk"


def test_shipped_go1_run_directory_is_complete():
    names = ("final_model.zip", "vec_normalize.pkl", "config.json", "compare_50.json", "unseen.json", "policy.onnx")
    for name in (*names, "robustness.json", "walk.gif", "debug/report.md", "debug/report.json"):
        assert (GO1 / name).is_file(), name
    config = json.loads((GO1 / "config.json").read_text())
    assert config["script"] == "train_residual_ppo_v2.py" and config["status"] == "finished"
    assert config["env"]["robot"] == "go1"
    compare = json.loads((GO1 / "compare_50.json").read_text())
    assert compare["robot"] == "go1" and compare["trained"]["episodes"] == 50 and compare["trained"]["falls"] == 0


def test_shipped_go1_policy_walks_faster_than_its_trot_measured_live():
    """Measured now: 4 seeded 20 s episodes per side on Go1's rough field, rows of one batch."""
    config, env, loaded = open_policy(GO1 / "final_model.zip", GO1 / "vec_normalize.pkl")
    assert config["env"]["robot"] == "go1" and env.config.robot == "go1"
    trained, _ = evaluate(env, None, 4, 20.0, rows=loaded.act_rows)
    baseline, _ = evaluate(env, None, 4, 20.0, rows=zero_rows)
    env.close()
    assert trained["falls"] == 0 and trained["off_terrain"] == 0
    assert trained["forward_velocity_mps"] >= 2.5 * baseline["forward_velocity_mps"], (trained, baseline)
