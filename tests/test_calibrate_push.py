"""scripts/calibrate_push.py, run as a user would: the trot under the strong kick x each candidate push
scale, the suggestion, and a candidate past push_velocity's range refused in one line."""

from __future__ import annotations

import importlib.util
import json

from tests.conftest import REPO, run_script


def _module():
    spec = importlib.util.spec_from_file_location("calibrate_push", REPO / "scripts" / "calibrate_push.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_suggestion_is_the_largest_scale_below_the_first_fall():
    suggested = _module().suggested_scale
    rows = [{"push_scale": s, "falls": f} for s, f in ((1.0, 2), (0.5, 0), (0.75, 0), (1.5, 0))]
    assert suggested(rows) == 0.75  # 1.5 stood, but 1.0 fell before it
    assert suggested([{"push_scale": 0.5, "falls": 1}]) is None


def test_a_probe_on_the_mini_writes_each_candidates_kick_and_falls(tmp_path):
    out = tmp_path / "calibration.json"
    result = run_script(
        "scripts/calibrate_push.py", *("--scales", "1", "0.5", "--episodes", "2", "--seconds", "1", "--json", str(out))
    )
    assert result.returncode == 0, result.stderr
    record = json.loads(out.read_text())
    assert [row["push_scale"] for row in record["candidates"]] == [0.5, 1.0]
    assert [row["kick_mps"] for row in record["candidates"]] == [0.6, 1.2]  # the mini: size 1, push scale 1
    assert all(row["episodes"] == 2 and row["falls"] == 0 for row in record["candidates"])
    assert record["suggested_push_scale"] == 1.0 and 'suggested: "robustness": {"push_scale": 1}' in result.stdout


def test_the_gait_flags_probe_another_trot(tmp_path):
    out = tmp_path / "calibration.json"
    result = run_script(
        "scripts/calibrate_push.py",
        *("--scales", "1", "--step-length", "0.0786", "--cycle-time", "0.5634"),
        *("--episodes", "1", "--seconds", "0.5", "--json", str(out)),
    )
    assert result.returncode == 0, result.stderr
    gait = json.loads(out.read_text())["gait"]
    assert (gait["step_length"], gait["cycle_time"], gait["body_height"]) == (0.0786, 0.5634, 0.05)


def test_a_candidate_past_the_push_range_is_one_line_and_writes_nothing(tmp_path):
    out = tmp_path / "calibration.json"
    result = run_script("scripts/calibrate_push.py", "--robot", "go1", "--scales", "1.5", "--json", str(out))
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "error: --scales: at most 0.833 on go1 (push_velocity's limit, 2 m/s at the mini's size)"
    )
    assert not out.exists()
