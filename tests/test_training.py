"""Both training scripts as subprocesses: run layout, resume, interrupt, argument checks."""

import json
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

from envs.config import REWARD_TERMS
from tests.conftest import REPO, TINY_V2_ARGS

TINY_V2 = TINY_V2_ARGS


def only_run_dir(root):
    dirs = [d for d in root.iterdir() if d.is_dir()]
    assert len(dirs) == 1, dirs
    return dirs[0]


def assert_full_layout(run_dir, n_envs, residual_scale):
    config = json.loads((run_dir / "config.json").read_text())
    assert config["status"] == "finished"
    assert config["env"]["gait"] == {
        "body_height": 0.05,
        "step_length": 0.06,
        "step_height": 0.04,
        "cycle_time": 0.8,
        "duty_factor": 0.5,
        "stance_width": 0.0,
        "stance_x_offset": 0.0,
    }
    assert config["env"]["residual_scale"] == residual_scale
    assert set(config["env"]["reward_weights"]) == set(REWARD_TERMS)
    assert "mujoco" in config["versions"] and config["command"]
    for name in ("final_model.zip", "vec_normalize.pkl", "best_model.zip", "best_vec_normalize.pkl"):
        assert (run_dir / name).is_file(), name
    checkpoints = sorted((run_dir / "checkpoints").glob("rl_model_*_steps.zip"))
    assert checkpoints
    for ckpt in checkpoints:
        assert ckpt.with_name(
            ckpt.name.replace("rl_model_", "rl_model_vecnormalize_").replace(".zip", ".pkl")
        ).is_file()
    for i in range(n_envs):
        df = pd.read_csv(run_dir / f"monitor_{i}.csv.monitor.csv", skiprows=1)  # the reference doc's snippet
        assert {"r", "l", "t"} <= set(df.columns)
    events = list(run_dir.glob("tb_*/events.out.tfevents.*"))
    assert events
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(events[0].parent))
    acc.Reload()
    scalars = set(acc.Tags()["scalars"])
    assert {
        "reward/forward_velocity",
        "reward/energy",
        "gait/forward_velocity",
        "gait/mean_abs_action",
        "eval/forward_velocity",
    } <= scalars
    assert not list(run_dir.rglob(".*tmp*")), "temporary files left behind"
    return config


def test_v2_tiny_run_writes_the_full_run_directory(script, tmp_path):
    proc = script(
        "train_residual_ppo_v2.py",
        "--total-timesteps",
        "1024",
        "--run-name",
        "tiny",
        "--runs-dir",
        str(tmp_path),
        *TINY_V2,
    )
    assert proc.returncode == 0, proc.stderr
    run_dir = only_run_dir(tmp_path)
    assert run_dir.name.startswith("tiny_")
    config = assert_full_layout(run_dir, n_envs=2, residual_scale=0.04)
    assert config["ppo"]["n_steps"] == 128 and config["trained_timesteps"] >= 1024
    assert f"debug_model.py {run_dir}" in proc.stdout
    assert f"phase4_viewer_play_policy.py --model {run_dir}/final_model.zip" in proc.stdout


def test_v1_tiny_run_writes_the_full_run_directory(script, tmp_path):
    proc = script(
        "train_residual_ppo.py",
        "--total-timesteps",
        "1024",
        "--n-envs",
        "1",
        "--run-name",
        "v1tiny",
        "--runs-dir",
        str(tmp_path),
        "--checkpoint-freq",
        "512",
        "--episode-steps",
        "200",
        "--eval-freq",
        "512",
        "--no-progress",
    )
    assert proc.returncode == 0, proc.stderr
    config = assert_full_layout(only_run_dir(tmp_path), n_envs=1, residual_scale=0.02)
    assert config["script"] == "train_residual_ppo.py" and config["ppo"]["n_steps"] == 512


def test_interrupt_saves_then_resume_keeps_counting(tmp_path):
    cmd = [
        sys.executable,
        "train_residual_ppo_v2.py",
        "--total-timesteps",
        "1000000",
        "--run-name",
        "stop",
        "--runs-dir",
        str(tmp_path),
        *TINY_V2,
    ]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while time.time() < deadline:  # wait until the first checkpoint exists: training is under way
        if list(tmp_path.glob("stop_*/checkpoints/rl_model_*_steps.zip")):
            break
        time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    run_dir = only_run_dir(tmp_path)
    config = json.loads((run_dir / "config.json").read_text())
    assert config["status"] == "interrupted"
    assert (run_dir / "interrupted_model.zip").is_file() and (run_dir / "interrupted_vec_normalize.pkl").is_file()
    stopped_at = config["trained_timesteps"]
    assert "--resume" in out

    target = stopped_at + 512
    resumed = subprocess.run(
        [
            sys.executable,
            "train_residual_ppo_v2.py",
            "--resume",
            str(run_dir),
            "--total-timesteps",
            str(target),
            *TINY_V2,
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert resumed.returncode == 0, resumed.stderr
    config = json.loads((run_dir / "config.json").read_text())
    assert config["status"] == "finished" and config["trained_timesteps"] >= target
    assert "--total-timesteps 1000000" in config["original_command"] and "--resume" in config["command"]
    from stable_baselines3 import PPO

    assert PPO.load(run_dir / "final_model.zip").num_timesteps >= target


@pytest.mark.parametrize(
    "args, message",
    [
        (["--total-timesteps", "0"], "--total-timesteps: must be an integer >= 1 and <= 100000000000, got 0"),
        (
            ["--n-steps", "100", "--batch-size", "64", "--n-envs", "2"],
            "--batch-size must be a divisor of n_steps x n_envs",
        ),
        (["--terrain", "missing.png"], "terrain file not found"),
        (["--n-envs", "-1"], "--n-envs: must be an integer >= 1"),
        (["--resume", "runs/does_not_exist"], "not found"),
        (["--action-filter", "1.5"], "--action-filter: must be a finite number > 0 and <= 1, got 1.5"),
        (["--seed", "-1"], "--seed: must be an integer >= 0"),
        (["--n-epochs", "0"], "--n-epochs: must be an integer >= 1"),
        (["--terrain", "README.md"], "cannot load terrain"),
        # NaN and infinities are refused by the same rules as every other value
        (["--residual-scale", "nan"], "--residual-scale: must be a finite number"),
        (["--residual-scale", "inf"], "--residual-scale: must be a finite number"),
        (["--learning-rate", "nan"], "--learning-rate: must be a finite number"),
        (["--ent-coef", "inf"], "--ent-coef: must be a finite number"),
        (["--log-std-init", "nan"], "--log-std-init: must be a finite number"),
        (["--energy-weight=-inf"], "--energy-weight: must be a finite number"),
        (["--eval-freq", "1"], "--eval-freq must be 0 (never) or at least one rollout"),
        (["--net-arch", "64", "0"], "--net-arch: must be an integer >= 1"),
    ],
)
def test_bad_arguments_are_refused_in_one_line(script, tmp_path, args, message):
    proc = script("train_residual_ppo_v2.py", "--runs-dir", str(tmp_path), "--no-progress", *args, timeout=60)
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and message in proc.stderr
    assert not any(tmp_path.iterdir())


def test_grep_shows_the_explicit_gait_and_the_presets_walk_it():
    import runpy

    from walklab.presets import V1, V2

    for script, preset in (("train_residual_ppo_v2.py", V2), ("train_residual_ppo.py", V1)):
        text = (REPO / script).read_text()
        block = text[text.index("gait = GaitParameters(") :]
        assert "body_height=0.05" in block and "step_length=0.06" in block and "step_height=0.04" in block
        assert runpy.run_path(str(REPO / script))["gait"] == preset.env.gait  # not run as __main__: no training


def test_resume_picks_the_model_with_the_most_steps_even_in_a_copied_run(tmp_path):
    import os
    import zipfile

    from walklab.runs import find_resume_model

    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    for steps in (100, 200):
        (run / "checkpoints" / f"rl_model_{steps}_steps.zip").write_bytes(b"checkpoint")
    with zipfile.ZipFile(run / "final_model.zip", "w") as archive:
        archive.writestr("data", json.dumps({"num_timesteps": 300}))
    # a copy gives every file a new time, in no particular order: the oldest checkpoint looks newest
    os.utime(run / "checkpoints" / "rl_model_100_steps.zip", (time.time() + 60, time.time() + 60))
    assert find_resume_model(run) == run / "final_model.zip"
    (run / "final_model.zip").write_bytes(b"not a zip")  # unreadable: ranks below every checkpoint
    assert find_resume_model(run) == run / "checkpoints" / "rl_model_200_steps.zip"
    assert find_resume_model(run / "checkpoints" / "rl_model_100_steps.zip").name == "rl_model_100_steps.zip"
