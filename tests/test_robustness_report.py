"""phases_test/phase7_robustness.py, run as a user would on the shipped policy with a tiny budget:
every case's record in the JSON, the trained and baseline summaries with the comparison's keys."""

from __future__ import annotations

import json

import pytest

from tests.conftest import run_script
from walklab.robustness import ROBUSTNESS_CASES

POLICY = "assets/policies/residual_walk"
COMPARISON_KEYS = {"episodes", "forward_velocity_mps", "falls", "off_terrain", "per_episode_forward_velocity_mps"}


def test_the_report_writes_every_case_for_the_policy_and_the_baseline(tmp_path):
    out = tmp_path / "robustness.json"
    result = run_script(
        "phases_test/phase7_robustness.py",
        *("--model", f"{POLICY}/final_model.zip", "--normalize", f"{POLICY}/vec_normalize.pkl"),
        *("--episodes", "2", "--seconds", "1", "--json", str(out)),
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(out.read_text())
    assert [case["name"] for case in report["cases"]] == list(ROBUSTNESS_CASES)
    assert report["episodes"] == 2 and report["seconds"] == 1.0
    for case in report["cases"]:
        assert case["settings"] == ROBUSTNESS_CASES[case["name"]]
        for side in ("trained", "baseline"):
            assert COMPARISON_KEYS <= set(case[side]) and case[side]["episodes"] == 2
        low, high = case["ratio_ci95"]
        assert low <= case["ratio"] <= high
        assert case["ratio"] == pytest.approx(
            case["trained"]["forward_velocity_mps"] / case["baseline"]["forward_velocity_mps"]
        )
        assert case["name"] in result.stdout
    nominal = report["cases"][0]
    assert all(case["baseline"] != nominal["baseline"] for case in report["cases"] if case["name"] == "masses")


def test_an_unknown_case_is_refused_in_one_line():
    result = run_script(
        "phases_test/phase7_robustness.py",
        *("--model", f"{POLICY}/final_model.zip", "--cases", "earthquake"),
    )
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1


def test_debug_model_adds_the_cases_on_request(tmp_path):
    out = tmp_path / "debug"
    result = run_script(
        "debug_model.py", POLICY, "--episodes", "1", "--seconds", "0.5", "--out", str(out), "--robustness"
    )
    assert result.returncode == 0, result.stderr
    report = json.loads((out / "report.json").read_text())
    assert [case["name"] for case in report["robustness"]] == list(ROBUSTNESS_CASES)
    assert "## Robustness" in (out / "report.md").read_text()
