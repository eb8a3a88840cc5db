"""Failed writes and output places that cannot be written: the old file kept and no temporary file
left, strict JSON, refusals in one line before any work, phase 5's bad terrain, the run lock."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO, TINY_V2_ARGS, one_line, read_only_dir
from tests.conftest import run_script as run

TINY = [*TINY_V2_ARGS, "--vec-env", "subprocess"]
V2 = "train_residual_ppo_v2.py"


def test_a_failed_atomic_write_keeps_the_old_file_and_leaves_no_temp_file(tmp_path, monkeypatch):
    from walklab.files import atomic_write_json, atomic_write_text

    target = tmp_path / "config.json"
    atomic_write_text(target, "old\n")

    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OSError) as caught:
        atomic_write_json(target, {"status": "finished"})
    assert caught.value.errno == errno.ENOSPC
    monkeypatch.undo()
    assert target.read_text() == "old\n"
    (tmp_path / "a_dir").mkdir()
    with pytest.raises(IsADirectoryError):
        atomic_write_text(tmp_path / "a_dir", "x")  # --json pointed at a directory
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_dir", "config.json"]


def test_json_records_never_hold_nan_or_infinity(tmp_path):
    import numpy as np

    from walklab.files import atomic_write_json

    path = atomic_write_json(
        tmp_path / "r.json",
        {
            "a": float("nan"),
            "b": [float("inf"), np.float32("nan")],
            "c": np.float64(1.5),
            "d": {"e": -np.inf, "f": np.int64(3)},
        },
    )

    def refuse(name):
        raise AssertionError(f"{name} in JSON")

    assert json.loads(path.read_text(), parse_constant=refuse) == {
        "a": None,
        "b": [None, None],
        "c": 1.5,
        "d": {"e": None, "f": 3},
    }


def read_only_or_skip(tmp_path: Path) -> Path:
    folder = read_only_dir(tmp_path)
    if os.geteuid() != 0 and os.access(folder, os.W_OK):
        pytest.skip("cannot make a read-only folder here")
    return folder


def test_writable_output_refuses_without_creating_anything(tmp_path):
    from walklab.files import OutputError, writable_output

    (tmp_path / "file").write_text("x")
    (tmp_path / "folder").mkdir()
    ro = read_only_or_skip(tmp_path)
    for path, kind, words in [
        (tmp_path / "folder", "file", "is a directory"),
        (tmp_path / "file" / "out.json", "file", "is a file, not a directory"),
        (tmp_path / "file", "directory", "not a directory"),
        (ro / "walklab_out.json", "file", "not writable"),
        (ro / "walklab_sub" / "deeper", "directory", "not writable"),
    ]:
        with pytest.raises(OutputError, match=words):
            writable_output(path, kind, "--out")
    assert writable_output(tmp_path / "new" / "deeper" / "x.json") == tmp_path / "new" / "deeper" / "x.json"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "ro") == ["file", "folder"]


def test_video_recorder_streams_and_never_leaves_a_temp_file(tmp_path, monkeypatch):
    import gc

    import numpy as np

    from walklab.rendering import VideoRecorder

    frame = np.zeros((64, 96, 3), dtype=np.uint8)
    for suffix in (".mp4", ".gif"):
        recorder = VideoRecorder(tmp_path / f"ok{suffix}", fps=10)
        for _ in range(5):
            recorder.add(frame)
        assert recorder.frames == 5 and not hasattr(recorder, "frames_list")
        assert recorder.save().stat().st_size > 0
        # a failing rename (a full disk, a folder gone) removes the temporary file
        recorder = VideoRecorder(tmp_path / f"full{suffix}", fps=10)
        recorder.add(frame)

        def full(*args):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        monkeypatch.setattr(os, "replace", full)
        with pytest.raises(OSError):
            recorder.save()
        monkeypatch.undo()
        # a recording dropped half-way (the rollout raised) removes its temporary file too
        recorder = VideoRecorder(tmp_path / f"dropped{suffix}", fps=10)
        recorder.add(frame)
        del recorder
        gc.collect()
    # a bad frame mid-stream: the encoder's error, and nothing left behind
    recorder = VideoRecorder(tmp_path / "bad.mp4", fps=10)
    recorder.add(frame)
    with pytest.raises(Exception):  # noqa: B017 - whatever ffmpeg says
        recorder.add(np.zeros((10, 10, 3), dtype=np.uint8))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ok.gif", "ok.mp4"]


def test_export_on_a_full_disk_is_one_error_and_no_temp_file(tmp_path, monkeypatch):
    from walklab.export import export_torchscript
    from walklab.runs import RunError

    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(RunError, match="disk full"):
        export_torchscript(REPO / "assets/policies/residual_walk/final_model.zip", None, tmp_path / "policy.pt")
    assert not list(tmp_path.iterdir())


SHIPPED = [
    "--model",
    "assets/policies/residual_walk/final_model.zip",
    "--normalize",
    "assets/policies/residual_walk/vec_normalize.pkl",
]


@pytest.mark.parametrize(
    "command",
    [
        ["scripts/export_policy.py", "assets/policies/residual_walk/final_model.zip", "--out", "{ro}/policy.pt"],
        ["debug_model.py", "assets/policies/residual_walk", "--out", "{ro}/debug"],
        ["tests/compare_residual_vs_baseline.py", "--baseline-only", "--json", "{ro}/compare.json"],
        ["tests/compare_residual_vs_baseline.py", "--baseline-only", "--json", "{dir}"],
        ["phases_test/phase5_unseen_terrain.py", *SHIPPED, "--json", "{ro}/unseen.json"],
        ["scripts/calibrate_push.py", "--json", "{ro}/calibration.json"],
        ["phases_test/phase5_unseen_terrain.py", *SHIPPED, "--terrain-dir", "{file}/terrains"],
        ["phases_test/phase4_viewer_play_policy.py", *SHIPPED, "--record", "{ro}/walk.mp4"],
        [
            "phases_test/play_residual_policy.py",
            "assets/policies/residual_walk/final_model.zip",
            "--record",
            "{ro}/walk.gif",
        ],
    ],
)
def test_every_writing_script_refuses_an_unwritable_output_in_one_line(tmp_path, command):
    ro = read_only_or_skip(tmp_path)
    (tmp_path / "file").write_text("x")
    (tmp_path / "dir").mkdir()
    args = [a.format(ro=ro, file=tmp_path / "file", dir=tmp_path / "dir") for a in command]
    started = time.time()
    proc = run(*args, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert "cannot write" in one_line(proc.stderr) or "is a directory" in proc.stderr
    assert time.time() - started < 30  # refused before any rollout
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "ro") == ["dir", "file"]
    assert not list((tmp_path / "dir").iterdir())


def test_phase5_refuses_a_bad_terrain_among_good_ones_before_any_work(tmp_path):
    """A terrain file the user named that is not a heightfield PNG is the user's mistake: one line,
    exit 2, before the first terrain is evaluated (the table header is not printed, no JSON)."""
    from walklab.terrains import generate, write_heightmap_png

    good = write_heightmap_png(generate("hills", 0.5, seed=7, shape=(64, 1024)), tmp_path / "hills.png")
    bad = tmp_path / "broken.png"
    bad.write_text("not a png")
    out = tmp_path / "unseen.json"
    proc = run(
        "phases_test/phase5_unseen_terrain.py",
        *SHIPPED,
        "--episodes",
        "1",
        "--seconds",
        "1",
        "--terrains",
        str(good),
        str(bad),
        "--json",
        str(out),
        timeout=300,
    )
    assert proc.returncode == 2, proc.stderr
    assert "broken.png" in one_line(proc.stderr) and "cannot load terrain" in proc.stderr
    assert proc.stdout == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.png", "hills.png"]


def test_run_lock_is_exclusive_and_a_dead_owner_does_not_hold_it(tmp_path):
    from walklab import runs

    run_dir = tmp_path / "r"
    run_dir.mkdir()
    (run_dir / "config.json").write_text(json.dumps({"status": "running"}))
    with runs.RunLock(run_dir):
        assert runs.RunDir(run_dir).status() == f"running (pid {os.getpid()})"
        with pytest.raises(runs.RunError, match=f"being trained by pid {os.getpid()}"):
            runs.RunLock(run_dir)
    assert runs.RunDir(run_dir).status() == "killed"  # says running, nobody holds it
    # a process that took the lock and died (kill -9) leaves it free
    holder = subprocess.run(
        [
            sys.executable,
            "-c",
            "import os, signal, sys; sys.path.insert(0, sys.argv[1]);"
            "from walklab.runs import RunLock; RunLock(sys.argv[2]); os.kill(os.getpid(), 9)",
            str(REPO),
            str(run_dir),
        ],
        cwd=REPO,
    )
    assert holder.returncode == -9
    runs.RunLock(run_dir).release()
