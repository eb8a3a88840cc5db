"""Every user mistake a script can meet is found while it parses its flags: one line, exit 2, before any work.

``parse_args`` builds what the script builds from its flags (gait parameters, env configurations)
and checks every input file cheaply (terrain PNGs, model archives, statistics pickles, run
directories), so ``main`` meets no user mistake. Each class is run here as a real process
(nothing on stdout, one ``error:`` line on stderr, no traceback, nothing written) and, for every
replaying script, in process through ``parse_args``.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
from pathlib import Path

import pytest

from gait.parameters import GaitParameterError, GaitParameters
from tests.conftest import REPO, run_script

POLICY = REPO / "assets" / "policies" / "residual_walk"
COMMANDED = REPO / "assets" / "policies" / "commanded_walk"
HFIELD = REPO / "assets" / "hfield.png"


def refused_first(proc, *needles: str) -> str:
    """Exit 2 with one `error:` line naming `needles`, before any output or traceback."""
    shown = f"exit {proc.returncode}\nstdout: {proc.stdout}\nstderr: {proc.stderr}"
    assert proc.returncode == 2, shown
    assert "Traceback" not in proc.stderr, shown
    assert proc.stdout == "", shown  # refused before any work: no table header, no progress
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), shown
    for needle in needles:
        assert needle in lines[0], shown
    return lines[0]


def tree(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))


# ----------------------------------------------------------------------------- damaged inputs
@pytest.fixture(scope="module")
def bad(tmp_path_factory) -> dict[str, Path]:
    """Damaged copies of the shipped policy's files, each in a run directory of its own."""
    root = tmp_path_factory.mktemp("bad_inputs")

    def run_copy(name: str) -> Path:
        folder = root / name
        folder.mkdir()
        for f in ("final_model.zip", "vec_normalize.pkl", "config.json"):
            shutil.copy(POLICY / f, folder / f)
        return folder

    out = {}
    out["text_png"] = root / "x.png"
    out["text_png"].write_text("this is a text file, not a heightfield\n")
    data = HFIELD.read_bytes()
    out["truncated_png"] = root / "truncated.png"
    out["truncated_png"].write_bytes(data[: len(data) // 2])
    flipped = bytearray(data)
    flipped[len(flipped) // 2] ^= 0xFF
    out["crc_png"] = root / "bad_crc.png"
    out["crc_png"].write_bytes(bytes(flipped))

    out["zip_run"] = run_copy("corrupt_zip")
    model = out["zip_run"] / "final_model.zip"
    model.write_bytes(model.read_bytes()[:4000])  # cut short: no central directory
    out["pkl_run"] = run_copy("corrupt_pkl")
    stats = out["pkl_run"] / "vec_normalize.pkl"
    stats.write_bytes(stats.read_bytes()[:300])  # a pickle cut short
    out["no_config_run"] = run_copy("no_config")
    (out["no_config_run"] / "config.json").unlink()
    return out


# ----------------------------------------------------------------------------- the gait's own arithmetic
@pytest.mark.parametrize(
    "fields",
    [
        {"step_length": 1e300},  # (x + 5e299) ** 2 overflowed before
        {"body_height": 1e300},
        {"step_length": 1e308, "duty_factor": 1e-3},
        {"stance_width": 1e308, "stance_x_offset": -1e308},
        {"duty_factor": 1e-320},  # stance 1e-321 s, ideal speed inf
        {"duty_factor": 1 - 1e-16},  # swing 1e-16 s
    ],
)
def test_gait_parameters_refuse_what_would_overflow(fields):
    with pytest.raises(GaitParameterError) as info:
        GaitParameters(**fields)
    assert "\n" not in str(info.value) and len(str(info.value)) < 300


@pytest.mark.parametrize(
    "flags",
    [["--step-length", "1e300"], ["--body-height", "1e300"], ["--duty-factor", "1e-320"]],
)
def test_phase2_gait_overflow_is_one_line(flags):
    proc = run_script("phases_test/phase2_baseline_gait.py", "--headless", "--no-video", "--seconds", "0.5", *flags)
    refused_first(proc, "GaitParameters.")


def test_baseline_comparison_gait_overflow_is_one_line(tmp_path):
    proc = run_script(
        "tests/compare_residual_vs_baseline.py", "--baseline-only", "--episodes", "1", "--seconds", "0.5",
        "--step-length", "1e300", "--json", str(tmp_path / "c.json"),
    )  # fmt: skip
    refused_first(proc, "GaitParameters.step_length")
    assert tree(tmp_path) == []


GAIT_SCRIPTS = {
    "phases_test/phase2_baseline_gait.py": ["--headless", "--no-video", "--seconds", "0.5"],
    "tests/compare_residual_vs_baseline.py": ["--baseline-only", "--episodes", "1", "--seconds", "0.5"],
    "scripts/calibrate_push.py": ["--scales", "1", "--episodes", "1", "--seconds", "0.5"],
}


@pytest.mark.parametrize("script", sorted(GAIT_SCRIPTS))
def test_a_trot_beyond_the_legs_reach_is_one_line(script, tmp_path):
    # 1.5 m is a valid number for the gait's own arithmetic; only the mini's 0.1 m legs refuse it
    output = [] if "phase2" in script else ["--json", str(tmp_path / "out.json")]
    proc = run_script(script, *GAIT_SCRIPTS[script], *output, "--body-height", "1.5")
    refused_first(proc, "beyond the leg's reach (0.0980 m)")
    assert tree(tmp_path) == []


def test_the_reach_is_the_chosen_robots():
    # 0.2 m of trunk height is beyond the mini's legs and within Go1's (0.43 m of thigh and calf)
    flags = [*GAIT_SCRIPTS["tests/compare_residual_vs_baseline.py"], "--body-height", "0.2"]
    refused_first(run_script("tests/compare_residual_vs_baseline.py", *flags), "beyond the leg's reach")
    proc = run_script("tests/compare_residual_vs_baseline.py", *flags, "--robot", "go1")
    assert proc.returncode == 0, proc.stderr


# ----------------------------------------------------------------------------- terrains
@pytest.mark.parametrize("kind", ["text_png", "truncated_png"])
def test_phase5_refuses_a_terrain_that_is_not_a_heightfield_before_any_output(kind, bad, tmp_path):
    proc = run_script(
        "phases_test/phase5_unseen_terrain.py", "--model", str(POLICY / "final_model.zip"),
        "--normalize", str(POLICY / "vec_normalize.pkl"), "--terrains", str(HFIELD), str(bad[kind]),
        "--episodes", "1", "--seconds", "0.5", "--json", str(tmp_path / "unseen.json"),
    )  # fmt: skip
    refused_first(proc, "cannot load terrain", bad[kind].name)
    assert tree(tmp_path) == []


def load(rel: str):
    spec = importlib.util.spec_from_file_location("checked_" + re.sub(r"\W", "_", rel[:-3]), REPO / rel)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def refused_in_process(rel: str, argv: list[str], capsys, *needles: str) -> str:
    capsys.readouterr()
    with pytest.raises(SystemExit) as info:
        load(rel).parse_args(argv)
    captured = capsys.readouterr()
    assert info.value.code == 2, captured.err
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), captured.err
    assert captured.out == ""
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


TERRAIN_FLAGS = [
    ("phases_test/phase1_view_model.py", ["--headless", "--seconds", "0.2", "--out", "{tmp}/p1.gif", "--terrain"]),
    ("phases_test/phase2_baseline_gait.py", ["--headless", "--no-video", "--seconds", "0.5", "--terrain"]),
    (
        "phases_test/phase4_viewer_play_policy.py",
        ["--model", f"{POLICY}/final_model.zip", "--record", "{tmp}/p4.gif", "--terrain"],
    ),
    ("phases_test/phase6_command_tracking.py", ["--model", f"{COMMANDED}/final_model.zip", "--terrain"]),
    ("debug_model.py", [str(POLICY), "--out", "{tmp}/debug", "--terrain"]),
    ("tests/compare_residual_vs_baseline.py", ["--baseline-only", "--terrain"]),
]


@pytest.mark.parametrize("kind", ["text_png", "truncated_png", "crc_png"])
@pytest.mark.parametrize(("rel", "argv"), TERRAIN_FLAGS, ids=[r for r, _ in TERRAIN_FLAGS])
def test_every_terrain_flag_refuses_a_damaged_png_while_parsing(rel, argv, kind, bad, capsys, tmp_path):
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv] + [str(bad[kind])]
    refused_in_process(rel, argv, capsys, "--terrain", "cannot load terrain")
    assert tree(tmp_path) == []


# ----------------------------------------------------------------------------- models and statistics
REPLAYERS = {
    "phases_test/phase4_viewer_play_policy.py": lambda m, s, t: ["--model", m, *s, "--record", f"{t}/p4.gif"],
    "phases_test/play_residual_policy.py": lambda m, s, t: [m, "--record", f"{t}/play.gif"],
    "phases_test/phase5_unseen_terrain.py": lambda m, s, t: ["--model", m, *s, "--terrains", str(HFIELD)],
    "tests/compare_residual_vs_baseline.py": lambda m, s, t: ["--model", m, *s],
    "scripts/export_policy.py": lambda m, s, t: [m, *s, "--out", f"{t}/policy.pt"],
    "debug_model.py": lambda m, s, t: [str(Path(m).parent), *s, "--out", f"{t}/debug"],
}


@pytest.mark.parametrize("rel", sorted(REPLAYERS))
def test_a_corrupt_model_zip_is_refused_while_parsing(rel, bad, capsys, tmp_path):
    model = str(bad["zip_run"] / "final_model.zip")
    stats = ["--normalize", str(bad["zip_run"] / "vec_normalize.pkl")]
    line = refused_in_process(rel, REPLAYERS[rel](model, stats, tmp_path), capsys, "cannot load model")
    assert "final_model.zip" in line
    assert tree(tmp_path) == []


@pytest.mark.parametrize("rel", sorted(REPLAYERS))
def test_a_corrupt_statistics_pickle_is_refused_while_parsing(rel, bad, capsys, tmp_path):
    model = str(bad["pkl_run"] / "final_model.zip")
    stats = (
        [] if rel.endswith("play_residual_policy.py") else ["--normalize", str(bad["pkl_run"] / "vec_normalize.pkl")]
    )
    line = refused_in_process(rel, REPLAYERS[rel](model, stats, tmp_path), capsys, "normalization file")
    assert "vec_normalize.pkl" in line
    assert tree(tmp_path) == []


def test_phase4_corrupt_model_zip_as_a_process(bad, tmp_path):
    proc = run_script(
        "phases_test/phase4_viewer_play_policy.py", "--model", str(bad["zip_run"] / "final_model.zip"),
        "--normalize", str(bad["zip_run"] / "vec_normalize.pkl"), "--seconds", "0.3",
        "--record", str(tmp_path / "w.gif"),
    )  # fmt: skip
    refused_first(proc, "--model", "cannot load model")
    assert tree(tmp_path) == []


def test_phase5_corrupt_statistics_as_a_process(bad, tmp_path):
    proc = run_script(
        "phases_test/phase5_unseen_terrain.py", "--model", str(bad["pkl_run"] / "final_model.zip"),
        "--normalize", str(bad["pkl_run"] / "vec_normalize.pkl"), "--terrains", str(HFIELD),
        "--episodes", "1", "--seconds", "0.5", "--json", str(tmp_path / "unseen.json"),
    )  # fmt: skip
    refused_first(proc, "--normalize", "normalization file")
    assert tree(tmp_path) == []


def test_play_corrupt_statistics_beside_the_model_as_a_process(bad, tmp_path):
    proc = run_script(
        "phases_test/play_residual_policy.py", str(bad["pkl_run"] / "final_model.zip"), "--seconds", "0.3",
        "--record", str(tmp_path / "w.gif"),
    )  # fmt: skip
    refused_first(proc, "normalization file", "vec_normalize.pkl")
    assert tree(tmp_path) == []


def test_resume_from_a_corrupt_model_is_refused_while_parsing(bad, tmp_path):
    before = tree(bad["zip_run"])
    proc = run_script(
        "train_residual_ppo_v2.py", "--resume", str(bad["zip_run"]), "--total-timesteps", "5000000", "--no-progress"
    )
    refused_first(proc, "cannot resume", "cannot load model")
    assert tree(bad["zip_run"]) == before  # not even a lock


# ----------------------------------------------------------------------------- run directories
def test_debug_model_refuses_a_run_directory_without_config_json(bad, tmp_path):
    proc = run_script("debug_model.py", str(bad["no_config_run"]), "--episodes", "1", "--seconds", "0.5")
    refused_first(proc, "config.json")
    assert "debug" not in tree(bad["no_config_run"])


def test_debug_model_refuses_a_folder_that_does_not_exist_in_process(capsys, tmp_path):
    refused_in_process("debug_model.py", [str(tmp_path / "nothing")], capsys, "not found")


# ----------------------------------------------------------------------------- what parse_args builds
def test_parse_args_builds_what_main_uses(tmp_path):
    args = load("phases_test/phase2_baseline_gait.py").parse_args(["--step-length", "0.05", "--headless"])
    assert isinstance(args.gait, GaitParameters) and args.gait.step_length == 0.05
    args = load("phases_test/phase6_command_tracking.py").parse_args(
        ["--model", str(COMMANDED / "final_model.zip"), "--commands", "0.05", "0.1", "--yaw-rates", "0", "0.3"]
    )
    assert [(c.command_speed_max, c.command_yaw_rate_max) for c in args.env_configs] == [
        (0.05, 0.0), (0.05, 0.3), (0.1, 0.0), (0.1, 0.3),
    ]  # fmt: skip
    args = load("phases_test/phase5_unseen_terrain.py").parse_args(["--model", str(POLICY / "final_model.zip")])
    assert args.policy.stats == POLICY / "vec_normalize.pkl" and args.env_config.randomize is False


def test_statistics_of_another_run_are_refused_while_parsing(capsys):
    """walklab.policies.check_same_run (the run fingerprint) is called from the parse step too."""
    argv = ["--model", str(POLICY / "final_model.zip"), "--normalize", str(COMMANDED / "vec_normalize.pkl")]
    line = refused_in_process("phases_test/phase5_unseen_terrain.py", argv, capsys, "belong to")
    assert "commanded_walk" in line and "residual_walk" in line
