"""A damaged monitor file (a run killed mid-write, a file edited by hand) is read as far as it is
valid: debug_model.py says in one line what it skipped and why, and writes the rest of its report."""

from __future__ import annotations

import json
import shutil

import pytest

from tests.conftest import REPO, run_script
from walklab.diagnosis import read_monitors

HEADER = '#{"t_start": 1000.0, "env_id": "ResidualWalk-v0"}\nr,l,t,x_position,termination\n'
GOOD = "10.5,100,1.0,0.3,\n20.25,100,2.0,0.6,fell_tilt\n"


def write(folder, name: str, text: str):
    (folder / name).write_text(text)


# (what a damaged file holds after the header, the reason in the note, rows skipped)
DAMAGE = {
    "cut short by a kill": ("30.0,10", "wrong number of fields", 1),
    "text for a number": ("abc,100,3.0,0.1,\n", "not a number", 1),
    "non-finite reward": ("nan,100,3.0,0.1,\ninf,100,3.5,0.1,\n", "impossible value", 2),
    "length not a whole step": ("5.0,-3,3.0,0.1,\n5.0,2.5,3.0,0.1,\n", "impossible value", 2),
    "binary garbage": ("\x00\x01\x02,\xff\n", "wrong number of fields", 1),
}


@pytest.mark.parametrize("case", sorted(DAMAGE))
def test_damaged_rows_are_skipped_and_counted(tmp_path, case):
    tail, reason, n = DAMAGE[case]
    write(tmp_path, "monitor_0.csv.monitor.csv", HEADER + GOOD)
    write(tmp_path, "monitor_1.csv.monitor.csv", HEADER + "40.0,100,1.5,0.9,\n" + tail)
    reading = read_monitors(tmp_path)
    assert reading.rows == 3
    assert list(reading.progress.rewards) == [10.5, 40.0, 20.25]  # merged in time order
    assert list(reading.progress.timesteps) == [100, 200, 300]
    assert sum(reading.skipped.values()) == n
    assert reason in reading.note and "\n" not in reading.note


@pytest.mark.parametrize(
    "text, reason",
    [
        ("", "JSON first line"),
        ("not json\nr,l,t\n1,2,3\n", "JSON first line"),
        ('#{"t_start": "soon"}\nr,l,t\n1,2,3\n', "JSON first line"),
        ('#{"t_start": 1.0}\na,b,c\n1,2,3\n', "r,l,t columns"),
    ],
)
def test_a_file_without_its_header_is_skipped_whole(tmp_path, text, reason):
    write(tmp_path, "monitor_0.csv.monitor.csv", HEADER + GOOD)
    write(tmp_path, "monitor_1.csv.monitor.csv", text)
    reading = read_monitors(tmp_path)
    assert reading.rows == 2 and reading.skipped == {next(k for k in reading.skipped if reason in k): 1}


def test_clean_files_have_no_note(tmp_path):
    write(tmp_path, "monitor_0.csv.monitor.csv", HEADER + GOOD)
    reading = read_monitors(tmp_path)
    assert reading.note is None and reading.skipped == {} and reading.rows == 2


def test_only_damaged_rows_give_no_progress_but_a_note(tmp_path):
    write(tmp_path, "monitor_0.csv.monitor.csv", HEADER + "1,2")
    reading = read_monitors(tmp_path)
    assert reading.progress is None and reading.rows == 0 and "wrong number of fields" in reading.note


def test_debug_model_reports_past_a_damaged_monitor(tmp_path):
    run = tmp_path / "run"
    shutil.copytree(REPO / "assets/policies/commanded_walk", run, ignore=shutil.ignore_patterns("debug", "*.json"))
    shutil.copy(REPO / "assets/policies/commanded_walk/config.json", run / "config.json")
    monitor = run / "monitor_3.csv.monitor.csv"
    monitor.write_text(monitor.read_text() + "17.5,10\nabc,12,1.0,0.0,\n")  # killed mid-row, edited by hand
    proc = run_script("debug_model.py", str(run), "--episodes", "1", "--seconds", "0.5")
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    notes = [line for line in proc.stdout.splitlines() if line.startswith("monitor CSVs: skipped")]
    assert len(notes) == 1 and "wrong number of fields" in notes[0] and "not a number" in notes[0]
    report = json.loads((run / "debug/report.json").read_text())
    assert sum(report["monitor_rows_skipped"].values()) == 2
    assert report["training_progress"]["episodes"] > 1000  # every valid row of 32 files still counted
    assert (run / "debug/report.md").read_text().count("Skipped (damaged monitor files)") == 1
