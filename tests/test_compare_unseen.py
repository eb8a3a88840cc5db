"""scripts/compare_unseen.py on the shipped policies' phase-5 files."""

from __future__ import annotations

import numpy as np

from envs import assets as A
from tests.conftest import phase5_trained, run_script

POLICIES = A.ASSETS_DIR / "policies"
HEADLINE_D09 = POLICIES / "residual_walk" / "unseen_d0.9_10.json"
COMMANDED_D09 = POLICIES / "commanded_walk" / "unseen_d0.9_10.json"


def test_ratios_per_terrain_and_overall_match_the_files():
    result = run_script("scripts/compare_unseen.py", str(COMMANDED_D09), str(HEADLINE_D09))
    assert result.returncode == 0, result.stderr
    lines = {line.split()[0]: line.split() for line in result.stdout.splitlines()[1:]}
    a, b = phase5_trained(COMMANDED_D09), phase5_trained(HEADLINE_D09)
    assert sorted(n for n in lines if n != "all") == sorted(a)
    for name in a:
        va, vb = a[name]["per_episode_forward_velocity_mps"], b[name]["per_episode_forward_velocity_mps"]
        ratio = float(lines[name][3].rstrip("x"))
        assert abs(ratio - np.mean(va) / np.mean(vb)) < 0.006, name
        low, high = (float(x) for x in lines[name][4].rstrip("x").split("-"))
        assert low <= ratio <= high
        assert lines[name][5] == f"{a[name]['falls']}/{b[name]['falls']}"
    everything_a = np.concatenate([a[n]["per_episode_forward_velocity_mps"] for n in a])
    everything_b = np.concatenate([b[n]["per_episode_forward_velocity_mps"] for n in a])
    assert abs(float(lines["all"][4].rstrip("x")) - everything_a.mean() / everything_b.mean()) < 0.006


def test_files_over_different_terrains_are_refused_in_one_line(tmp_path):
    standard_set = POLICIES / "commanded_walk" / "unseen.json"
    result = run_script("scripts/compare_unseen.py", str(standard_set), str(HEADLINE_D09))
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "different terrains" in result.stderr
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    result = run_script("scripts/compare_unseen.py", str(broken), str(HEADLINE_D09))
    assert result.returncode == 2 and "is not a phase-5 JSON" in result.stderr
