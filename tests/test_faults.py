"""Fault injection on real training processes (issue 13): kill -9, Ctrl-C twice, SIGTERM, a full
disk, a read-only target, a second writer. After each fault the run directory is resumable or
clearly marked, no temporary file is left, no process is left behind, no earlier checkpoint lost.

A full disk is injected (no root tricks): a ``sitecustomize`` on PYTHONPATH makes every model or
statistics write under the run fail with ``OSError(ENOSPC)`` once `N` checkpoints are complete.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO, TINY_V2_ARGS, one_line, read_only_dir

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc and flock")

TINY = [*TINY_V2_ARGS, "--vec-env", "subprocess"]  # worker processes: these tests kill and watch them
V2 = "train_residual_ppo_v2.py"

ENOSPC_SITECUSTOMIZE = '''
import builtins, errno, io, os
_ROOT = os.environ["WALKLAB_TEST_ENOSPC_ROOT"]
_LIMIT = int(os.environ["WALKLAB_TEST_ENOSPC_AFTER_CHECKPOINTS"])
_done = [0]
_open = io.open


class _Full(io.BufferedWriter):
    """A file whose writes fail as on a full disk (the file itself exists, as it would)."""
    def write(self, data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), self.name)


def _patched(file, mode="r", *args, **kwargs):
    fh = _open(file, mode, *args, **kwargs)
    name = os.fspath(file) if isinstance(file, (str, os.PathLike)) else ""
    base = os.path.basename(name)
    if any(c in mode for c in "wax") and os.path.abspath(name).startswith(_ROOT) and ".tmp" in base \\
            and ".json" not in base:
        if _done[0] >= _LIMIT and "b" in mode:
            fh.close()
            return _Full(io.FileIO(name, "w"))
        if "rl_model_vecnormalize_" in base:  # the second file of a checkpoint
            _done[0] += 1
    return fh


builtins.open = io.open = _patched
'''


# ---------------------------------------------------------------------- helpers
def start(*args, env_extra=None) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["MUJOCO_GL"] = "egl"
    env.update(env_extra or {})
    return subprocess.Popen(
        [sys.executable, *args], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )


def run(*args, env_extra=None, timeout=300) -> subprocess.CompletedProcess:
    proc = start(*args, env_extra=env_extra)
    out, err = proc.communicate(timeout=timeout)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def wait_for(predicate, timeout=120.0, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def checkpoints(run_dir: Path) -> list[Path]:
    return sorted((run_dir / "checkpoints").glob("rl_model_*_steps.zip"), key=lambda p: int(p.stem.split("_")[2]))


def children(pid: int) -> list[int]:
    """Live child processes of `pid`, from /proc (no psutil)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2 :].split()
            if int(fields[1]) == pid and fields[0] != "Z":
                found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"  # a zombie is dead, only not reaped yet


def assert_clean(run_dir: Path, worker_pids=(), killed: int | None = None):
    """No temporary file left; after a kill -9 of `killed`, only its own (a save it was in the
    middle of: never under a model's name), which the run's next owner removes."""
    allowed = f".tmp{killed}" if killed is not None else None
    left = [p for p in run_dir.rglob("*") if ".tmp" in p.name and not (allowed and allowed in p.name)]
    assert not left, f"temporary files left behind: {left}"
    for pid in worker_pids:
        wait_for(lambda pid=pid: not alive(pid), 10, f"worker {pid} to end")


def assert_loadable(*models: Path):
    from stable_baselines3 import PPO

    for model in models:
        assert model.is_file(), model
        PPO.load(model, device="cpu")


def config(run_dir: Path) -> dict:
    return json.loads((run_dir / "config.json").read_text())


def training_run(
    tmp_path: Path, name: str, env_extra=None, args=TINY, n_workers=2
) -> tuple[subprocess.Popen, Path, list[int]]:
    """A long tiny run, returned once its first checkpoint is written, with its worker pids."""
    proc = start(
        V2, "--total-timesteps", "1000000", "--run-name", name, "--runs-dir", str(tmp_path), *args, env_extra=env_extra
    )
    wait_for(
        lambda: list(tmp_path.glob(f"{name}_*/checkpoints/rl_model_*_steps.zip")) or proc.poll() is not None,
        what="the first checkpoint",
    )
    assert proc.poll() is None, proc.communicate()[1]
    (run_dir,) = tmp_path.glob(f"{name}_*")
    workers = wait_for(lambda: children(proc.pid) if len(children(proc.pid)) >= n_workers else None, 30, "workers")
    return proc, run_dir, workers


# ---------------------------------------------------------------------- the faults
def test_kill_9_takes_the_workers_along_marks_the_run_killed_and_resume_works(tmp_path):
    from walklab.runs import RunDir

    proc, run_dir, workers = training_run(tmp_path, "kill9")
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)
    assert_clean(run_dir, workers, killed=proc.pid)  # PR_SET_PDEATHSIG: the workers die with the trainer
    assert config(run_dir)["status"] == "running" and RunDir(run_dir).status() == "killed"
    before = checkpoints(run_dir)
    newest = int(before[-1].stem.split("_")[2])

    # a refused resume (too few steps) creates nothing, not even monitor part files
    files = sorted(p.name for p in run_dir.iterdir())
    refused = run(V2, "--resume", str(run_dir), "--total-timesteps", str(newest), *TINY)
    assert refused.returncode == 2 and "already has" in one_line(refused.stderr)
    assert sorted(p.name for p in run_dir.iterdir()) == files

    resumed = run(V2, "--resume", str(run_dir), "--total-timesteps", str(newest + 512), *TINY)
    assert resumed.returncode == 0, resumed.stderr
    assert "killed" in resumed.stdout
    assert config(run_dir)["status"] == "finished" and RunDir(run_dir).status() == "finished"
    assert_loadable(*before, run_dir / "final_model.zip")
    assert_clean(run_dir)


def test_split_layout_ctrl_c_saves_and_kill_9_takes_its_worker_along(tmp_path):
    split = [*TINY_V2_ARGS, "--vec-env", "split"]  # the default: one worker process with half the envs
    proc, run_dir, workers = training_run(tmp_path, "split", args=split, n_workers=1)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130 and "Traceback" not in err, err
    assert config(run_dir)["status"] == "interrupted"
    assert_loadable(run_dir / "interrupted_model.zip")
    assert_clean(run_dir, workers)

    proc, run_dir, workers = training_run(tmp_path, "split9", args=split, n_workers=1)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)
    assert_clean(run_dir, workers, killed=proc.pid)  # the worker dies with the trainer (PR_SET_PDEATHSIG)


def test_a_second_writer_is_refused_and_sigterm_saves(tmp_path):
    proc, run_dir, workers = training_run(tmp_path, "owner")
    second = run(V2, "--resume", str(run_dir), "--total-timesteps", "2000000", *TINY, timeout=120)
    assert second.returncode == 2
    assert f"is being trained by pid {proc.pid}" in one_line(second.stderr)
    assert not list(run_dir.glob("*_part*")), "the refused writer created monitor part files"
    assert proc.poll() is None

    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert config(run_dir)["status"] == "interrupted" and "--resume" in out
    assert_loadable(run_dir / "interrupted_model.zip", *checkpoints(run_dir))
    assert_clean(run_dir, workers)


@pytest.mark.parametrize("gaps", [(0.003,), (0.003, 0.02, 0.2)])
def test_ctrl_c_pressed_again_ms_later_still_saves_and_the_config_says_so(tmp_path, gaps):
    from stable_baselines3 import PPO

    proc, run_dir, workers = training_run(tmp_path, "twice")
    proc.send_signal(signal.SIGINT)
    for gap in gaps:
        time.sleep(gap)
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    record = config(run_dir)
    assert record["status"] == "interrupted"
    model = PPO.load(run_dir / "interrupted_model.zip", device="cpu")
    assert model.num_timesteps == record["trained_timesteps"]
    assert (run_dir / "interrupted_vec_normalize.pkl").is_file()
    assert "Traceback" not in err
    assert_clean(run_dir, workers)


def test_full_disk_fails_in_one_line_keeps_checkpoints_and_marks_the_run(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(ENOSPC_SITECUSTOMIZE)
    runs_dir = tmp_path / "runs"
    env = {
        "PYTHONPATH": str(site),
        "WALKLAB_TEST_ENOSPC_ROOT": str(runs_dir),
        "WALKLAB_TEST_ENOSPC_AFTER_CHECKPOINTS": "2",
    }
    proc = start(
        V2, "--total-timesteps", "100000", "--run-name", "full", "--runs-dir", str(runs_dir), *TINY, env_extra=env
    )
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 1, err
    line = one_line(err)
    assert "disk full" in line and "--resume" in line
    (run_dir,) = runs_dir.iterdir()
    assert config(run_dir)["status"] == "failed: disk full"
    kept = checkpoints(run_dir)
    assert len(kept) == 2
    assert_loadable(*kept)
    assert_clean(run_dir, children(proc.pid))
    # once there is space again the run continues from its newest checkpoint
    newest = int(kept[-1].stem.split("_")[2])
    resumed = run(V2, "--resume", str(run_dir), "--total-timesteps", str(newest + 256), *TINY)
    assert resumed.returncode == 0, resumed.stderr
    assert config(run_dir)["status"] == "finished"
    assert_clean(run_dir)


@pytest.mark.parametrize("where", ["read_only", "under_a_file"])
def test_unwritable_runs_dir_is_refused_before_anything_starts(tmp_path, where):
    if where == "read_only":
        target = read_only_dir(tmp_path) / "walklab_runs"
    else:
        (tmp_path / "file").write_text("x")
        target = tmp_path / "file" / "runs"
    proc = run(V2, "--runs-dir", str(target), "--total-timesteps", "1000", *TINY, timeout=60)
    assert proc.returncode == 2
    assert "--runs-dir" in one_line(proc.stderr) and "cannot write" in proc.stderr
    assert not target.exists()


def test_a_run_whose_terrain_file_is_gone_is_refused_in_one_line_on_resume_and_replay(tmp_path):
    """The run's own recorded terrain is checked, not the command line's."""
    from walklab.runs import RunDir

    source = REPO / "assets" / "policies" / "residual_walk"
    run_dir = tmp_path / "lost_terrain"
    run_dir.mkdir()
    for name in ("final_model.zip", "vec_normalize.pkl", "config.json"):
        (run_dir / name).write_bytes((source / name).read_bytes())
    record = RunDir(run_dir).config()  # the shipped record is in the older layout: migrated
    record["env"]["terrain"] = str(tmp_path / "gone.png")
    (run_dir / "config.json").write_text(json.dumps(record))
    files = sorted(p.name for p in run_dir.iterdir())

    resumed = run(V2, "--resume", str(run_dir), "--total-timesteps", "5000000", *TINY, timeout=120)
    assert resumed.returncode == 2
    assert "gone.png" in one_line(resumed.stderr) and "cannot resume" in resumed.stderr
    assert sorted(p.name for p in run_dir.iterdir()) == [".lock", *files]  # only the lock file
    assert RunDir(run_dir).status() == record["status"]

    for replay in (
        ["debug_model.py", str(run_dir), "--episodes", "1", "--seconds", "1"],
        [
            "phases_test/play_residual_policy.py",
            str(run_dir / "final_model.zip"),
            "--record",
            str(tmp_path / "walk.mp4"),
        ],
    ):
        proc = run(*replay, timeout=120)
        assert proc.returncode == 2 and "gone.png" in one_line(proc.stderr), replay
    assert not (tmp_path / "walk.mp4").exists()
