"""``--robot`` on the scripts that build an env from flags, and the replaying scripts following a model's robot.

Scripts that build an env (the v1 trainer, scripts/gymnasium_ppo.py, the sweep, the benches) take v2's own
generated ``--robot``: another robot walks its own trot and physics steps. Scripts that replay a model take
the robot from its run's config.json; a tiny Go1 run trained here (v2 --robot go1 --commands, 1024 steps)
is replayed by phase 5, phase 6, debug_model.py and export_policy.py. Each subprocess is seeded and small.
"""

from __future__ import annotations

import json
import math

import pytest

from envs.robot import describe, known_robots
from tests.conftest import one_line, run_script

GO1_SIZE = 4.26  # Go1's leg length over the mini's (envs.robot), to two decimals


def go1():
    from envs.robot import describe, load_robot

    return describe("go1"), load_robot("go1")


# ----------------------------------------------------------------------------- scripts that build an env
def test_v1_trainer_keeps_its_defaults_and_takes_v2s_robot_flag():
    import train_residual_ppo as v1
    from walklab.presets import V1

    job = v1.parse_args(["--total-timesteps", "512", "--n-envs", "1"])
    assert job.env == V1.env and job.ppo == V1.ppo  # no --robot: the mini, exactly as before
    description, _ = go1()
    job = v1.parse_args(["--total-timesteps", "512", "--n-envs", "1", "--robot", "go1"])
    assert job.env.robot == "go1" and job.env.gait == description.gait
    assert job.env.frame_skip == description.frame_skip  # its own physics: 4 ms x 5
    assert job.env.residual_scale == V1.env.residual_scale and job.ppo == V1.ppo  # v1's own settings otherwise
    assert "--learning-rate" not in v1.build_parser().format_help()  # still only the run flags and --robot


def test_v1_trainer_trains_go1(tmp_path):
    proc = run_script(
        "train_residual_ppo.py", "--robot", "go1", "--total-timesteps", "256", "--n-envs", "1", "--eval-freq", "0",
        "--runs-dir", str(tmp_path), "--run-name", "v1go1", "--no-progress", timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    config = json.loads(next(tmp_path.iterdir()).joinpath("config.json").read_text())
    assert config["script"] == "train_residual_ppo.py" and config["status"] == "finished"
    assert config["env"]["robot"] == "go1" and config["env"]["frame_skip"] == go1()[0].frame_skip
    assert config["env"]["gait"]["body_height"] == go1()[0].gait.body_height


@pytest.mark.parametrize(
    "script, smoke",
    [
        ("train_residual_ppo.py", ["--total-timesteps", "256", "--n-envs", "1"]),
        ("scripts/gymnasium_ppo.py", ["--updates", "1"]),
        ("sweep_residual_ppo.py", ["--study-name", "s"]),
        ("bench/env_step_overhead.py", []),
    ],
)
def test_an_unknown_robot_is_one_line_and_exit_2(script, smoke):
    proc = run_script(script, *smoke, "--robot", "go9", timeout=60)
    assert proc.returncode == 2
    known = ", ".join(known_robots())
    assert one_line(proc.stderr) == f"error: --robot must be one of {known} (or a robot folder), got 'go9'"


def test_gymnasium_ppo_trains_on_go1_and_saves_its_env(tmp_path):
    import torch

    out = tmp_path / "agent.pt"
    proc = run_script(
        "scripts/gymnasium_ppo.py", "--robot", "go1", "--updates", "1", "--num-envs", "2", "--num-steps", "16",
        "--episode-steps", "20", "--minibatches", "2", "--epochs", "1", "--threads", "1", "--save", str(out),
        timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    saved = torch.load(out, weights_only=False)
    assert saved["env"]["robot"] == "go1" and saved["env"]["frame_skip"] == go1()[0].frame_skip
    assert saved["env"]["gait"]["body_height"] == go1()[0].gait.body_height


def test_sweep_trials_walk_the_sweeps_robot(tmp_path, capsys):
    from walklab.sweep.cli import parse_args
    from walklab.sweep.objective import parse_trial_args, v2_parser
    from walklab.sweep.space import trial_argv
    from walklab.train_cli import job_from_args

    own = ["--study-name", "g", "--n-envs", "1", "--fix", "n_steps=1024", "--fix", "batch_size=512"]
    args, settings, space = parse_args([*own, "--sweeps-dir", str(tmp_path), "--robot", "go2"])
    assert settings.pass_through == ["--robot", "go2"]  # in every trial's command and the study's record
    values = {n: p.fixed if p.fixed is not None else p.choices[0] if p.choices else p.low for n, p in space.items()}
    argv = trial_argv(settings, space, values, 0)
    job = job_from_args(args.preset, parse_trial_args(v2_parser(args.preset), argv), "x")
    assert job.env.robot == "go2" and job.env.frame_skip == 10  # its own physics steps (2 ms), not the mini's 5
    assert job.env.gait == describe("go2").gait
    _, mini, _ = parse_args([*own, "--sweeps-dir", str(tmp_path)])
    assert "--robot" not in mini.pass_through  # the mini's studies record the same trial flags as before
    with pytest.raises(SystemExit) as exit_:
        parse_args([*own, "--sweeps-dir", str(tmp_path), "--", "--robot", "go1"])
    assert exit_.value.code == 2
    assert "--robot after -- is set by the sweep" in one_line(capsys.readouterr().err)
    assert not any(tmp_path.iterdir())


def test_a_bench_measures_go1():
    proc = run_script("bench/command_curriculum_cost.py", "--robot", "go1", "--steps", "20", "--rounds", "1",
                      timeout=120)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("go1: 20 steps x 1 rounds") and "commanded + curriculum" in proc.stdout


def test_tracking_kernel_bias_walks_go1_at_its_scaled_commands():
    proc = run_script("scripts/tracking_kernel_bias.py", "--robot", "go1", "--windows", "0", "--episodes", "1",
                      "--seconds", "0.3", timeout=120)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("go1: feedforward trot")
    commands = [float(line.split()[0]) for line in proc.stdout.splitlines()[2:]]
    assert commands == [round(c * math.sqrt(go1()[1].size), 3) for c in (0.05, 0.10, 0.15, 0.20)]


def test_the_viewers_keys_step_at_the_robots_scale():
    from walklab.keyboard import KEY_LEFT, KEY_UP, KeyboardCommand

    scale = math.sqrt(go1()[1].size)
    mini = KeyboardCommand.for_env({"command_speed_max": 0.4, "command_yaw_rate_max": 0.6}, (0.2, 0.0))
    big = KeyboardCommand.for_env({"robot": "go1", "command_speed_max": 0.5, "command_yaw_rate_max": 0.6}, (0.2, 0.0))
    for keys in (mini, big):
        keys.press(KEY_UP)
        keys.press(KEY_LEFT)
    assert mini.command == (0.25, 0.25)  # the mini's steps, as before
    assert big.command == (round(0.2 + 0.05 * scale, 4), round(0.25 / scale, 4))


# ----------------------------------------------------------------------------- scripts that replay a model
@pytest.fixture(scope="module")
def go1_run(tmp_path_factory):
    """A tiny commanded Go1 run (v2 --robot go1 --commands, 1024 steps, seeded)."""
    root = tmp_path_factory.mktemp("go1_runs")
    proc = run_script(
        "train_residual_ppo_v2.py", "--robot", "go1", "--commands", "--total-timesteps", "1024", "--n-envs", "2",
        "--n-steps", "256", "--batch-size", "128", "--eval-freq", "0", "--episode-steps", "100", "--seed", "0",
        "--runs-dir", str(root), "--run-name", "go1tiny", "--no-progress", timeout=180,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    run = next(root.iterdir())
    assert json.loads((run / "config.json").read_text())["env"]["robot"] == "go1"
    return run


def test_phase5_walks_the_models_robot(go1_run, tmp_path):
    out = tmp_path / "p5.json"
    proc = run_script(
        "phases_test/phase5_unseen_terrain.py", "--model", str(go1_run / "final_model.zip"),
        "--terrains", "assets/hfield.png", "--episodes", "1", "--seconds", "0.5", "--json", str(out), timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("go1: 1 episodes")
    record = json.loads(out.read_text())
    assert record["robot"] == "go1" and record["terrains"][0]["trained"]["episodes"] == 1


def test_unseen_terrains_are_laid_out_at_the_robots_size(tmp_path):
    from envs.robot_sim import load_model
    from walklab.terrains import generate, write_heightmap_png

    png = write_heightmap_png(generate("steps", 0.5, 101), tmp_path / "steps.png")  # as phase 5's standard set
    for terrain in (None, png):  # the default terrain and an unseen one, alike
        mini, big = load_model(terrain, robot="mini").hfield_size[0], load_model(terrain, robot="go1").hfield_size[0]
        relief = [1.0, 1.0, go1()[1].description.relief, 1.0]  # its heights follow its lift (robot.json)
        assert big == pytest.approx(mini * go1()[1].size * relief)
        assert go1()[1].size == pytest.approx(GO1_SIZE, abs=0.005)


def test_phase6_scales_its_default_commands_to_the_models_robot(go1_run, tmp_path):
    out = tmp_path / "p6.json"
    proc = run_script(
        "phases_test/phase6_command_tracking.py", "--model", str(go1_run / "final_model.zip"), "--episodes", "1",
        "--seconds", "0.5", "--json", str(out), timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    record = json.loads(out.read_text())
    scale = math.sqrt(go1()[1].size)
    assert record["robot"] == "go1"
    assert [r["command_mps"] for r in record["commands"]] == [round(c * scale, 3) for c in (0.05, 0.10, 0.15, 0.20)]
    assert record["target_mps"] == pytest.approx(0.02 * scale)
    assert f"target (<= {0.02 * scale:.3g} m/s" in proc.stdout


def test_debug_model_judges_the_gait_against_the_robots_own_trot(go1_run, tmp_path):
    proc = run_script("debug_model.py", str(go1_run), "--episodes", "1", "--seconds", "0.5",
                      "--out", str(tmp_path / "debug"), timeout=120)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    verdicts = json.loads((tmp_path / "debug" / "report.json").read_text())["verdicts"]
    assert "OK gait: the run used the working gait parameters" in verdicts, verdicts


def test_export_checks_the_policy_on_its_own_robot(go1_run, tmp_path):
    proc = run_script("scripts/export_policy.py", str(go1_run / "final_model.zip"), "--out",
                      str(tmp_path / "go1.pt"), "--check-steps", "5", timeout=120)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "max |difference| vs SB3 on 5 observations" in proc.stdout


def test_compare_unseen_refuses_two_robots(tmp_path):
    row = {"terrain": "a.png", "trained": {"per_episode_forward_velocity_mps": [0.1], "falls": 0}}
    files = {}
    for robot in ("go1", None):  # no "robot": a file from before robots were recorded, the mini's
        files[robot] = tmp_path / f"{robot}.json"
        files[robot].write_text(json.dumps({"terrains": [row], **({"robot": robot} if robot else {})}))
    proc = run_script("scripts/compare_unseen.py", str(files["go1"]), str(files[None]), timeout=60)
    assert proc.returncode == 2
    message = one_line(proc.stderr)
    assert message.endswith(f"is of robot go1 but {files[None]} of mini: compare policies of one robot")
    proc = run_script("scripts/compare_unseen.py", str(files["go1"]), str(files["go1"]), timeout=60)
    assert proc.returncode == 0, proc.stderr
