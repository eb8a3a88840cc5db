"""The 4 ms x 5 physics: 50 Hz control, and runs recorded with 2 ms x 10 replay at their own rate."""

import json

import pytest

from envs.residual_walk_env import ResidualWalkEnv
from envs.robot import describe
from walklab import run_config


def test_default_env_steps_4_ms_physics_five_times_per_50_hz_control_step():
    env = ResidualWalkEnv()
    assert env.model.opt.timestep == pytest.approx(0.004) == describe("mini").timestep
    assert env.frame_skip == 5 and env.dt == pytest.approx(0.02)


def test_runs_recorded_with_2_ms_physics_keep_their_control_rate(tmp_path):
    old = {  # a record of the 2 ms era: no physics_timestep, frame_skip 10 (x 2 ms = 50 Hz)
        "status": "finished",
        "run_name": "old",
        "gait": {"body_height": 0.05, "step_length": 0.06, "step_height": 0.04, "cycle_time": 0.8},
        "env_kwargs": {"residual_scale": 0.04, "terrain": None, "frame_skip": 10},
    }
    (tmp_path / "config.json").write_text(json.dumps(old))
    assert run_config.env_config_from_record(run_config.read_config(tmp_path)).frame_skip == 5  # 5 x 4 ms: still 50 Hz
    new = run_config.migrate_config({"env": {"frame_skip": 5}, "physics_timestep": 0.004})
    assert new["env"]["frame_skip"] == 5
