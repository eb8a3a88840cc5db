"""Regression: the shipped policy in assets/policies/residual_walk still beats the baseline trot."""

import json

import numpy as np

from envs import assets as A
from tests.conftest import phase5_trained
from walklab.evaluation import run_episode, zero_policy
from walklab.policies import open_policy

SHIPPED = A.ASSETS_DIR / "policies" / "residual_walk"


def test_shipped_run_directory_is_complete():
    for name in ("final_model.zip", "vec_normalize.pkl", "config.json", "debug/report.md", "debug/report.json"):
        assert (SHIPPED / name).is_file(), name
    config = json.loads((SHIPPED / "config.json").read_text())
    assert config["script"] == "train_residual_ppo_v2.py" and config["status"] == "finished"


def test_shipped_policy_beats_the_baseline_on_a_short_seeded_rollout():
    _, env, policy = open_policy(SHIPPED / "final_model.zip", SHIPPED / "vec_normalize.pkl")
    trained = [run_episode(env, policy.policy(deterministic=True), seed, 10.0) for seed in (0, 1, 2)]
    baseline = [run_episode(env, zero_policy, seed, 10.0) for seed in (0, 1, 2)]
    v_trained = np.mean([e.forward_velocity for e in trained])
    v_baseline = np.mean([e.forward_velocity for e in baseline])
    assert not any(e.fell for e in trained)
    assert v_trained > 1.5 * v_baseline, (v_trained, v_baseline)


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


def test_shipped_commanded_policy_recorded_faster_than_the_headline_on_the_hardest_terrains():
    """The files the README quotes: at 0.33 m/s, 10 seeded episodes per difficulty-0.9 terrain."""
    commanded = phase5_trained(COMMANDED / "unseen_d0.9_10.json")
    headline = phase5_trained(SHIPPED / "unseen_d0.9_10.json")
    assert sorted(commanded) == sorted(headline) and len(commanded) == 5
    assert sum(t["falls"] for t in commanded.values()) <= sum(t["falls"] for t in headline.values())
    for name in commanded:
        assert commanded[name]["forward_velocity_mps"] > headline[name]["forward_velocity_mps"], name


def test_shipped_commanded_policy_outwalks_the_headline_on_hard_steps(tmp_path):
    from walklab.terrains import generate, write_heightmap_png

    steps = tmp_path / "steps_d0.9_s101.png"
    write_heightmap_png(generate("steps", 0.9, 101), steps)
    _, env, commanded = open_policy(
        COMMANDED / "final_model.zip", COMMANDED / "vec_normalize.pkl", terrain=steps, command=0.33
    )
    fast = [run_episode(env, commanded.policy(deterministic=True), seed, 10.0) for seed in (0, 1)]
    _, env, headline = open_policy(SHIPPED / "final_model.zip", SHIPPED / "vec_normalize.pkl", terrain=steps)
    reference = [run_episode(env, headline.policy(deterministic=True), seed, 10.0) for seed in (0, 1)]
    assert not any(e.fell for e in fast + reference)
    v_fast, v_reference = (np.mean([e.forward_velocity for e in side]) for side in (fast, reference))
    assert v_fast > 1.2 * v_reference, (v_fast, v_reference)
