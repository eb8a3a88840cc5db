"""The phase scripts and the baseline comparison, run as a user runs them (subprocesses, no display)."""

import json

import imageio.v2 as imageio


def test_phase1_renders_offscreen_without_a_display(script, tmp_path):
    out = tmp_path / "model.gif"
    proc = script("phases_test/phase1_view_model.py", "--seconds", "0.4", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "12 actuators" in proc.stdout
    assert len(imageio.mimread(out)) >= 5


def test_phase2_walks_and_reports_with_gait_flags(script, tmp_path):
    out = tmp_path / "walk.mp4"
    proc = script(
        "phases_test/phase2_baseline_gait.py",
        "--headless",
        "--seconds",
        "1.2",
        "--out",
        str(out),
        "--step-length",
        "0.05",
    )
    assert proc.returncode == 0, proc.stderr
    assert "step_length=0.05" in proc.stdout
    velocity = float(proc.stdout.split("forward velocity:")[1].split()[0])
    assert velocity > 0.0
    assert out.stat().st_size > 1000


def test_phase2_refuses_impossible_gait_in_one_line(script, tmp_path):
    proc = script("phases_test/phase2_baseline_gait.py", "--headless", "--no-video", "--cycle-time", "0")
    assert proc.returncode != 0
    assert proc.stderr.strip().splitlines() == ["error: GaitParameters.cycle_time must be in [0.1, 10.0] s, got 0.0"]


def test_compare_baseline_only_writes_json(script, tmp_path):
    out = tmp_path / "baseline.json"
    proc = script(
        "tests/compare_residual_vs_baseline.py",
        "--baseline-only",
        "--episodes",
        "2",
        "--seconds",
        "3",
        "--json",
        str(out),
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(out.read_text())
    base = result["baseline"]
    assert base["episodes"] == 2 and base["falls"] == 0
    assert base["forward_velocity_mps"] > 0.04
    assert "lateral_velocity_mps" in base
    legacy = script(
        "tests/compare_residual_vs_baseline.py",
        "--baseline-only",
        "--gait",
        "legacy",
        "--episodes",
        "1",
        "--seconds",
        "10",
    )
    assert legacy.returncode == 0
    assert float(legacy.stdout.splitlines()[2].split()[1]) < 0.03


def test_compare_with_missing_terrain_fails_cleanly(script, tmp_path):
    out = tmp_path / "never.json"
    proc = script(
        "tests/compare_residual_vs_baseline.py", "--baseline-only", "--terrain", "nope.png", "--json", str(out)
    )
    assert proc.returncode != 0
    assert len(proc.stderr.strip().splitlines()) == 1 and "nope.png" in proc.stderr
    assert not out.exists()
