"""The scripts on a tiny commanded run: training with the curriculum and resume, phase 6, the comparison and
the replay at a fixed command, and the kernel-bias script."""

import json

import numpy as np
import pytest

from envs import assets as A
from tests.conftest import run_script

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
