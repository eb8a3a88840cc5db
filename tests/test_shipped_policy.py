"""Regression: the shipped policy in assets/policies/residual_walk still beats the baseline trot."""

import json

import numpy as np

from envs import assets as A
from walklab.evaluation import run_episode, zero_policy
from walklab.runs import open_policy

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
