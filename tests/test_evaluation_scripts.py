"""debug_model.py, compare_residual_vs_baseline.py and the playback scripts on a tiny run made here."""

import json
import shutil

import imageio.v2 as imageio
import pytest

from tests.conftest import REPO, run_script


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    proc = run_script(
        "train_residual_ppo_v2.py",
        "--total-timesteps",
        "512",
        "--n-envs",
        "1",
        "--n-steps",
        "256",
        "--batch-size",
        "64",
        "--episode-steps",
        "100",
        "--eval-freq",
        "256",
        "--checkpoint-freq",
        "256",
        "--run-name",
        "tiny",
        "--runs-dir",
        str(root),
        "--no-progress",
    )
    assert proc.returncode == 0, proc.stderr
    return next(root.iterdir())


def test_debug_model_writes_report_and_plots(tiny_run):
    proc = run_script("debug_model.py", str(tiny_run), "--episodes", "2", "--seconds", "2")
    assert proc.returncode == 0, proc.stderr
    debug = tiny_run / "debug"
    report = json.loads((debug / "report.json").read_text())
    assert report["trained"]["episodes"] == 2 and report["baseline"]["episodes"] == 2
    assert report["training_progress"]["episodes"] >= 1
    assert set(report["trained"]["reward_terms_per_step"]) >= {"forward_velocity", "energy", "smoothness"}
    assert any(v.startswith(("OK gait", "GAIT MISMATCH")) for v in report["verdicts"])
    assert any("residuals" in v.lower() for v in report["verdicts"])
    for png in ("learning_curve.png", "velocity.png", "action_histogram.png"):
        assert (debug / png).stat().st_size > 5000
    assert "| forward velocity (m/s) |" in (debug / "report.md").read_text()
    assert "Verdicts" in proc.stdout


def test_debug_model_on_an_interrupted_run_uses_the_interrupted_model(tiny_run, tmp_path):
    run = tmp_path / "stopped"
    shutil.copytree(tiny_run, run)
    (run / "final_model.zip").rename(run / "interrupted_model.zip")
    (run / "vec_normalize.pkl").rename(run / "interrupted_vec_normalize.pkl")
    proc = run_script("debug_model.py", str(run), "--episodes", "1", "--seconds", "1")
    assert proc.returncode == 0, proc.stderr
    assert "interrupted_model.zip" in proc.stdout


def test_debug_model_best_model(tiny_run):
    proc = run_script(
        "debug_model.py",
        str(tiny_run),
        "--model",
        "best",
        "--episodes",
        "1",
        "--seconds",
        "1",
        "--out",
        str(tiny_run / "debug_best"),
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads((tiny_run / "debug_best" / "report.json").read_text())["model"].endswith("best_model.zip")


def test_compare_trained_vs_baseline_json(tiny_run, tmp_path):
    out = tmp_path / "compare.json"
    proc = run_script(
        "tests/compare_residual_vs_baseline.py",
        "--model",
        str(tiny_run / "final_model.zip"),
        "--normalize",
        str(tiny_run / "vec_normalize.pkl"),
        "--episodes",
        "2",
        "--seconds",
        "2",
        "--json",
        str(out),
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(out.read_text())
    for key in ("forward_velocity_mps", "lateral_velocity_mps", "falls", "mean_abs_action", "episodes"):
        assert key in result["trained"]
    for key in ("forward_velocity_mps", "lateral_velocity_mps", "falls", "episodes"):
        assert key in result["baseline"]
    assert isinstance(result["improvement_pct"], float) and result["robot"] == "mini"  # the run's robot
    for side in ("trained", "baseline"):
        assert isinstance(result[side]["falls"], int) and isinstance(result[side]["off_terrain"], int)
    low, high = result["ratio_ci95"]
    assert low <= result["ratio"] <= high
    assert "speed ratio:" in proc.stdout and "95% CI" in proc.stdout


def test_compare_with_workers_gives_the_same_json(tmp_path):
    shipped = REPO / "assets/policies/residual_walk"
    outputs = []
    for workers in ("1", "2"):
        out = tmp_path / f"w{workers}.json"
        proc = run_script(
            "tests/compare_residual_vs_baseline.py",
            "--model",
            str(shipped / "final_model.zip"),
            "--normalize",
            str(shipped / "vec_normalize.pkl"),
            "--episodes",
            "3",
            "--seconds",
            "2",
            "--workers",
            workers,
            "--json",
            str(out),
        )
        assert proc.returncode == 0, proc.stderr
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]


def test_compare_refuses_gait_flags_with_a_model(tiny_run):
    line = one_line_error(
        run_script(
            "tests/compare_residual_vs_baseline.py",
            "--model",
            str(tiny_run / "final_model.zip"),
            "--step-length",
            "0.08",
        )
    )
    assert "--step-length cannot be combined with --model" in line


def test_ratio_confidence_interval_is_paired_and_reproducible():
    from walklab.evaluation import ratio_with_ci

    baseline = [0.10, 0.05, 0.12, 0.09]
    ratio, ci = ratio_with_ci([2 * v for v in baseline], baseline)
    assert ratio == pytest.approx(2.0) and ci == pytest.approx([2.0, 2.0])  # paired: no spread at all
    noisy = [0.2, 0.08, 0.3, 0.15]
    r1, ci1 = ratio_with_ci(noisy, baseline)
    assert ci1[0] < r1 < ci1[1] and ratio_with_ci(noisy, baseline) == (r1, ci1)


def test_compare_on_another_terrain(tiny_run, tmp_path):
    from walklab.terrains import rough_heightmap, write_heightmap_png

    png = write_heightmap_png(rough_heightmap((64, 256), seed=1), tmp_path / "other.png")
    proc = run_script(
        "tests/compare_residual_vs_baseline.py",
        "--model",
        str(tiny_run / "final_model.zip"),
        "--normalize",
        str(tiny_run / "vec_normalize.pkl"),
        "--episodes",
        "1",
        "--seconds",
        "1",
        "--terrain",
        str(png),
        "--json",
        str(tmp_path / "o.json"),
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads((tmp_path / "o.json").read_text())["terrain"] == str(png)


def test_phase4_records_without_a_display(tiny_run, tmp_path):
    out = tmp_path / "play.gif"
    proc = run_script(
        "phases_test/phase4_viewer_play_policy.py",
        "--model",
        str(tiny_run / "final_model.zip"),
        "--normalize",
        str(tiny_run / "vec_normalize.pkl"),
        "--seconds",
        "0.6",
        "--deterministic",
        "--record",
        str(out),
    )
    assert proc.returncode == 0, proc.stderr
    assert len(imageio.mimread(out)) >= 10
    assert "m/s" in proc.stdout


def test_phase4_without_display_or_record_says_what_to_do(tiny_run):
    proc = run_script("phases_test/phase4_viewer_play_policy.py", "--model", str(tiny_run / "final_model.zip"))
    assert proc.returncode == 2
    assert proc.stderr.strip() == "error: no display found: add --record OUT.mp4 (or .gif) to render offscreen"


def test_play_residual_policy_minimal(tiny_run, tmp_path):
    out = tmp_path / "p.mp4"
    proc = run_script(
        "phases_test/play_residual_policy.py",
        str(tiny_run / "final_model.zip"),
        "--seconds",
        "0.5",
        "--record",
        str(out),
    )
    assert proc.returncode == 0, proc.stderr
    assert out.stat().st_size > 1000


def one_line_error(proc):
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    return lines[0]


def test_corrupt_model_is_one_clear_line(tiny_run, tmp_path):
    run = tmp_path / "corrupt"
    shutil.copytree(tiny_run, run, ignore=shutil.ignore_patterns("debug*"))
    (run / "final_model.zip").write_bytes(b"not a zip file")
    before = (run / "config.json").read_text()
    line = one_line_error(run_script("debug_model.py", str(run), "--episodes", "1", "--seconds", "1"))
    assert "corrupt" in line and "final_model.zip" in line
    assert not (run / "debug").exists() and (run / "config.json").read_text() == before


def test_normalization_from_another_env_is_refused(tiny_run, tmp_path):
    import gymnasium as gym
    from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

    bad = tmp_path / "pendulum_vec_normalize.pkl"
    VecNormalize(DummyVecEnv([lambda: gym.make("Pendulum-v1")])).save(str(bad))  # statistics of another env
    out = tmp_path / "never.json"
    line = one_line_error(
        run_script(
            "tests/compare_residual_vs_baseline.py",
            "--model",
            str(tiny_run / "final_model.zip"),
            "--normalize",
            str(bad),
            "--json",
            str(out),
        )
    )
    assert "(3,)" in line and "different env" in line
    assert not out.exists()


def test_run_without_config_is_refused(tiny_run, tmp_path):
    run = tmp_path / "noconfig"
    shutil.copytree(tiny_run, run)
    (run / "config.json").unlink()
    line = one_line_error(run_script("debug_model.py", str(run)))
    assert "config.json" in line
    line = one_line_error(
        run_script(
            "phases_test/phase4_viewer_play_policy.py",
            "--model",
            str(run / "final_model.zip"),
            "--record",
            str(tmp_path / "x.gif"),
        )
    )
    assert "config.json" in line


def test_evaluation_env_uses_nominal_physics_even_for_randomized_runs():
    from walklab.policies import make_eval_env

    config = {"env": {"gait": {}, "randomize": True, "residual_scale": 0.03}}
    assert make_eval_env(config).config.randomize is False
    assert make_eval_env(config, randomize=True).config.randomize is True
    assert make_eval_env(config).residual_scale == 0.03


def test_evaluation_env_counts_falls_by_the_default_thresholds_whatever_the_training_used():
    from envs.config import EnvConfig
    from walklab.policies import make_eval_env

    config = {"env": {"gait": {}, "max_tilt": 0.8, "min_body_height": 0.03}}
    env = make_eval_env(config)
    assert (env.config.max_tilt, env.config.min_body_height) == (EnvConfig().max_tilt, EnvConfig().min_body_height)
    assert make_eval_env(config, max_tilt=0.8).config.max_tilt == 0.8
