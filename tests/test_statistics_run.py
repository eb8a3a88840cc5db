"""A model is only ever used with the VecNormalize statistics of its own run (issue 33, item 2).

A run's fingerprint (``run_id`` in config.json, on every saved model and .pkl) says which run a file
belongs to; files saved before fingerprints are known by the run directory beside them.
"""

import json
import pickle
import shutil
import zipfile

import pytest

from tests.conftest import REPO, TINY_V2_ARGS, run_script

POLICIES = REPO / "assets/policies"
HEADLINE = POLICIES / "residual_walk"
COMMANDED = POLICIES / "commanded_walk"
SHIPPED = ["residual_walk", "commanded_walk", "turning_walk"]


def one_error_line(proc, *names) -> str:
    """The single stderr line of a refusal, which names every one of `names`."""
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    for name in names:
        assert str(name) in lines[0], (name, lines[0])
    return lines[0]


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """Two tiny v2 runs of the same env: the same observation size, different runs."""
    runs_dir = tmp_path_factory.mktemp("runs")
    found = []
    for name in ("first", "second"):
        proc = run_script(
            "train_residual_ppo_v2.py",
            "--total-timesteps", "256", "--run-name", name, "--runs-dir", str(runs_dir), *TINY_V2_ARGS,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        (run_dir,) = runs_dir.glob(f"{name}_*")
        found.append(run_dir)
    return found


def mixed_copy(run_dir, foreign_dir, where):
    """A copy of `run_dir` whose every statistics file is replaced by the same file of `foreign_dir`."""
    mixed = where / "mixed"
    shutil.copytree(run_dir, mixed, ignore=shutil.ignore_patterns(".lock"))
    for pkl in mixed.rglob("*.pkl"):
        shutil.copy(foreign_dir / pkl.relative_to(mixed), pkl)
    return mixed


def test_the_headline_model_with_the_commanded_statistics_is_refused(tmp_path):
    model, stats, out = HEADLINE / "final_model.zip", COMMANDED / "vec_normalize.pkl", tmp_path / "compare.json"
    proc = run_script(
        "tests/compare_residual_vs_baseline.py", "--model", str(model), "--normalize", str(stats),
        "--episodes", "1", "--seconds", "0.5", "--json", str(out),
    )  # fmt: skip
    line = one_error_line(proc, model, stats)
    assert "belong to run assets/policies/commanded_walk" in line  # names the runs, not a size
    assert str(HEADLINE / "vec_normalize.pkl") in line  # and the statistics to use instead
    assert not out.exists() and not any(tmp_path.iterdir())


# Every other script that loads a model and its statistics (all through walklab.policies.load_policy)
TURNING_MODEL, COMMANDED_STATS = POLICIES / "turning_walk/final_model.zip", COMMANDED / "vec_normalize.pkl"
LOADERS = {
    "export": [
        "scripts/export_policy.py", str(TURNING_MODEL), "--normalize", str(COMMANDED_STATS), "--out", "{tmp}/p.pt",
    ],
    "debug": ["debug_model.py", str(TURNING_MODEL.parent), "--normalize", str(COMMANDED_STATS), "--out", "{tmp}/debug"],
    "phase4 viewer": [
        "phases_test/phase4_viewer_play_policy.py", "--model", str(TURNING_MODEL), "--normalize", str(COMMANDED_STATS),
        "--seconds", "0.5", "--record", "{tmp}/walk.gif",
    ],
    "phase5": [
        "phases_test/phase5_unseen_terrain.py", "--model", str(TURNING_MODEL), "--normalize", str(COMMANDED_STATS),
        "--episodes", "1", "--seconds", "0.5", "--json", "{tmp}/unseen.json",
    ],
    "phase6": [
        "phases_test/phase6_command_tracking.py", "--model", str(TURNING_MODEL), "--normalize", str(COMMANDED_STATS),
        "--json", "{tmp}/tracking.json",
    ],
}  # fmt: skip


@pytest.mark.parametrize("loader", LOADERS)
def test_every_loader_refuses_another_runs_statistics_and_writes_nothing(loader, tmp_path):
    proc = run_script(*(a.replace("{tmp}", str(tmp_path)) for a in LOADERS[loader]), timeout=120)
    one_error_line(proc, TURNING_MODEL, COMMANDED_STATS)
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("model", SHIPPED)
@pytest.mark.parametrize("stats", SHIPPED)
def test_the_shipped_pairs_are_accepted_and_every_cross_pair_refused(model, stats):
    from walklab.policies import check_same_run
    from walklab.runs import RunError

    model_path, stats_path = POLICIES / model / "final_model.zip", POLICIES / stats / "vec_normalize.pkl"
    if model == stats:
        check_same_run(model_path, stats_path)
    else:
        with pytest.raises(RunError, match="belong to run assets/policies/" + stats) as refused:
            check_same_run(model_path, stats_path)
        assert str(model_path) in str(refused.value) and "\n" not in str(refused.value)


def test_loose_files_with_no_run_directory_are_accepted(tmp_path):
    """No config.json anywhere and no fingerprint: nothing tells the runs apart (documented)."""
    from walklab.policies import check_same_run

    shutil.copy(HEADLINE / "final_model.zip", tmp_path / "model.zip")
    shutil.copy(COMMANDED / "vec_normalize.pkl", tmp_path / "stats.pkl")
    check_same_run(tmp_path / "model.zip", tmp_path / "stats.pkl")


def test_a_new_run_fingerprints_config_models_and_statistics(two_runs):
    first, second = two_runs
    run_id = json.loads((first / "config.json").read_text())["run_id"]
    assert run_id and run_id != json.loads((second / "config.json").read_text())["run_id"]
    pkls = [first / "vec_normalize.pkl", first / "best_vec_normalize.pkl", *first.glob("checkpoints/*.pkl")]
    zips = [first / "final_model.zip", first / "best_model.zip", *first.glob("checkpoints/*.zip")]
    assert len(pkls) == len(zips) == 3
    for pkl in pkls:
        with open(pkl, "rb") as fh:
            assert vars(pickle.load(fh))["run_id"] == run_id, pkl
    for model in zips:
        assert json.loads(zipfile.ZipFile(model).read("data"))["run_id"] == run_id, model


def test_a_checkpoint_pair_and_a_checkpoint_with_the_final_model_are_accepted(two_runs):
    from walklab.policies import check_same_run
    from walklab.runs import RunError

    first, second = two_runs
    (checkpoint,) = first.glob("checkpoints/rl_model_*_steps.zip")
    (checkpoint_stats,) = first.glob("checkpoints/rl_model_vecnormalize_*_steps.pkl")
    check_same_run(checkpoint, checkpoint_stats)
    check_same_run(first / "final_model.zip", checkpoint_stats)
    check_same_run(checkpoint, first / "best_vec_normalize.pkl")
    with pytest.raises(RunError, match="belong to run"):
        check_same_run(checkpoint, next(second.glob("checkpoints/*.pkl")))


def test_the_compare_script_refuses_a_new_runs_model_with_another_new_runs_statistics(two_runs, tmp_path):
    first, second = two_runs
    model, stats, out = first / "final_model.zip", second / "vec_normalize.pkl", tmp_path / "compare.json"
    proc = run_script(
        "tests/compare_residual_vs_baseline.py", "--model", str(model), "--normalize", str(stats),
        "--episodes", "1", "--seconds", "0.5", "--json", str(out),
    )  # fmt: skip
    one_error_line(proc, model, stats)
    assert not out.exists()


def test_statistics_copied_in_from_another_run_are_refused_even_beside_the_model(two_runs, tmp_path):
    """The fingerprint, not the folder, decides for files saved with one."""
    from walklab.policies import check_same_run
    from walklab.runs import RunError

    mixed = mixed_copy(*two_runs, tmp_path)
    with pytest.raises(RunError, match="belong to run"):
        check_same_run(mixed / "final_model.zip", mixed / "vec_normalize.pkl")


def test_init_from_a_model_with_another_runs_statistics_is_refused(two_runs, tmp_path):
    mixed = mixed_copy(*two_runs, tmp_path)
    runs_dir = tmp_path / "runs"
    proc = run_script(
        "train_residual_ppo_v2.py", "--init-from", str(mixed), "--total-timesteps", "256",
        "--runs-dir", str(runs_dir), *TINY_V2_ARGS, timeout=120,
    )  # fmt: skip
    line = one_error_line(proc, mixed / "final_model.zip", mixed / "vec_normalize.pkl")
    assert line.startswith("error: --init-from: statistics")
    assert not runs_dir.exists() or not any(runs_dir.iterdir())


def test_resume_with_another_runs_statistics_is_refused_and_writes_nothing(two_runs, tmp_path):
    mixed = mixed_copy(*two_runs, tmp_path)
    before = {p: p.stat().st_mtime_ns for p in mixed.rglob("*")}
    proc = run_script(
        "train_residual_ppo_v2.py", "--resume", str(mixed), "--total-timesteps", "512", *TINY_V2_ARGS, timeout=120,
    )  # fmt: skip
    line = one_error_line(proc, mixed)
    assert line.startswith("error: --resume: statistics") and "vec_normalize" in line
    after = {p: p.stat().st_mtime_ns for p in mixed.rglob("*") if p.name != ".lock"}
    assert after == {p: t for p, t in before.items() if p.name != ".lock"}  # nothing written or changed


def test_resume_of_a_run_with_its_own_statistics_keeps_its_fingerprint(two_runs, tmp_path):
    first, _ = two_runs
    run = tmp_path / "again"
    shutil.copytree(first, run, ignore=shutil.ignore_patterns(".lock"))
    run_id = json.loads((run / "config.json").read_text())["run_id"]
    proc = run_script("train_residual_ppo_v2.py", "--resume", str(run), "--total-timesteps", "512", *TINY_V2_ARGS)
    assert proc.returncode == 0, proc.stderr
    assert json.loads((run / "config.json").read_text())["run_id"] == run_id
    with open(run / "vec_normalize.pkl", "rb") as fh:
        assert vars(pickle.load(fh))["run_id"] == run_id
