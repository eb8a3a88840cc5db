"""--init-from: a new run that starts from a trained policy's weights and statistics."""

import json

import numpy as np
import pytest
import torch

from tests.conftest import REPO, TINY_V2_ARGS

COMMANDED = REPO / "assets/policies/commanded_walk"
HEADLINE = REPO / "assets/policies/residual_walk"
# The shipped commanded policy's env (no swing height), turned: what a turning fine-tune runs
TURNING_FROM_COMMANDED = [
    "--commands", "--command-feedforward", "--no-swing-height",
    "--command-yaw-rate-min", "-0.6", "--command-yaw-rate-max", "0.6",
]  # fmt: skip


def test_a_new_run_starts_with_the_given_policy_and_statistics(tmp_path):
    from walklab import runs
    from walklab.presets import V2
    from walklab.train_cli import entry_points
    from walklab.train_start import initial_policy
    from walklab.training import _build
    from walklab.vec_envs import stop_workers

    _, parse = entry_points(V2, "v2\n")
    job = parse(["--init-from", str(COMMANDED), "--runs-dir", str(tmp_path), *TINY_V2_ARGS, *TURNING_FROM_COMMANDED])
    source = initial_policy(job)
    run_dir = runs.RunDir.create(tmp_path, "warm").path
    vec, model = _build(job, run_dir, None, None)
    try:
        expected = source.model.policy.state_dict()
        for name, tensor in model.policy.state_dict().items():
            assert torch.equal(tensor, expected[name]), name
        np.testing.assert_array_equal(vec.obs_rms.mean, source.vec_normalize.obs_rms.mean)
        np.testing.assert_array_equal(vec.ret_rms.var, source.vec_normalize.ret_rms.var)
        assert vec.obs_rms is not source.vec_normalize.obs_rms  # a copy: the source is never written
    finally:
        stop_workers(vec)


def test_a_tiny_fine_tune_records_where_it_started(script, tmp_path):
    proc = script(
        "train_residual_ppo_v2.py",
        "--init-from", str(COMMANDED / "final_model.zip"), "--total-timesteps", "256",
        "--runs-dir", str(tmp_path), "--run-name", "fine", *TINY_V2_ARGS, *TURNING_FROM_COMMANDED,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    (run_dir,) = [d for d in tmp_path.iterdir() if d.is_dir()]
    config = json.loads((run_dir / "config.json").read_text())
    assert config["status"] == "finished"
    assert config["initialised_from"] == "assets/policies/commanded_walk/final_model.zip"
    assert config["env"]["command_yaw_rate_max"] == 0.6 and (run_dir / "final_model.zip").is_file()
    assert f"starting from {COMMANDED / 'final_model.zip'}" in proc.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        # v2's default swing height adds an action (and its observations) the commanded policy lacks
        (["--commands", "--command-feedforward"], "expects 82 observations but the env gives 84"),
        # the headline policy lifts its feet (a 16th action) and sees no command
        (["--init-from", str(HEADLINE), *TURNING_FROM_COMMANDED], "acts with 16 actions but this run's env takes 15"),
        (["--init-from", str(HEADLINE), "--commands"], "expects 82 observations but the env gives 84"),
        (["--net-arch", "32", "32", *TURNING_FROM_COMMANDED], "has layers [64, 64], this run [32, 32]"),
        (["--resume", str(COMMANDED), *TURNING_FROM_COMMANDED], "give only one"),
        (["--init-from", str(REPO / "README.md")], "no VecNormalize statistics beside"),
        (["--init-from", str(REPO / "assets")], "no final_model.zip in that folder"),
    ],
)
def test_a_policy_that_does_not_fit_is_refused_before_anything_is_written(script, tmp_path, args, message):
    first = [] if "--init-from" in args else ["--init-from", str(COMMANDED)]
    proc = script("train_residual_ppo_v2.py", *first, *args, "--runs-dir", str(tmp_path), *TINY_V2_ARGS, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and message in proc.stderr, proc.stderr
    assert not any(tmp_path.iterdir())
