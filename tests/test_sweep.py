"""sweep_residual_ppo.py as subprocesses: a tiny SQLite study, Ctrl-C, bad input, and two workers
sharing one study on a real PostgreSQL server started here in a temporary directory."""

from __future__ import annotations

import glob
import hashlib
import json
import os
import pwd
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tests.conftest import REPO

optuna = pytest.importorskip("optuna")
optuna.logging.set_verbosity(optuna.logging.WARNING)
from optuna.trial import TrialState  # noqa: E402

# A trial of 1024 steps, one env, tiny rollouts and evaluations: seconds each.
TINY = [
    "--trial-timesteps",
    "1024",
    "--n-envs",
    "1",
    "--fix",
    "n_steps=256",
    "--fix",
    "batch_size=64",
    "--eval-freq",
    "512",
    "--eval-episodes",
    "1",
    "--eval-seconds",
    "1",
    "--checkpoint-freq",
    "100000",
    "--objective-episodes",
    "1",
    "--objective-seconds",
    "2",
]


def sweep(*args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "sweep_residual_ppo.py", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "MUJOCO_GL": "egl"},
    )


def load(name: str, url: str):
    from walklab.sweep.study import driver_url

    return optuna.load_study(study_name=name, storage=driver_url(url))


def trial_dir(study_dir: Path, number: int) -> Path:
    dirs = sorted(study_dir.glob(f"trial_{number}_seed0_*"))
    assert len(dirs) == 1, (number, dirs)
    assert (dirs[0] / "config.json").is_file()
    return dirs[0]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_tiny_sqlite_sweep_writes_trials_csv_plots_and_the_command(tmp_path):
    proc = sweep("--study-name", "tiny", "--n-trials", "2", "--sweeps-dir", str(tmp_path), *TINY)
    assert proc.returncode == 0, proc.stderr[-3000:]
    study_dir = tmp_path / "tiny"
    url = f"sqlite:///{(study_dir / 'study.db').resolve()}"
    study = load("tiny", url)
    assert len(study.trials) == 2
    assert all(t.state in (TrialState.COMPLETE, TrialState.PRUNED) for t in study.trials)
    for t in study.trials:
        config = json.loads((trial_dir(study_dir, t.number) / "config.json").read_text())
        assert config["script"] == "train_residual_ppo_v2.py"
        assert config["command"].split()[1] == "train_residual_ppo_v2.py"  # the trial's own v2 command
        assert len(t.intermediate_values) == 2  # evaluations at 512 and 1024 steps reached Optuna
    csv = (study_dir / "trials.csv").read_text().splitlines()
    assert len(csv) == 3 and "params_learning_rate" in csv[0]
    assert (study_dir / "optimization_history.png").stat().st_size > 1000
    assert f"optuna-dashboard {url}" in proc.stdout

    # the printed command is v2's, with the best trial's sampled values
    line = next(s.strip() for s in proc.stdout.splitlines() if s.strip().startswith("python3 train_residual_ppo_v2.py"))
    from walklab.sweep.objective import v2_parser

    args = v2_parser().parse_args(shlex.split(line)[2:])
    best = study.best_trial
    assert args.learning_rate == best.params["learning_rate"]
    assert args.residual_scale == best.params["residual_scale"]
    assert args.n_steps == 256 and args.total_timesteps == 1024

    # any trial works with the comparison script, unchanged
    run = trial_dir(study_dir, best.number)
    compare = subprocess.run(
        [
            sys.executable,
            "tests/compare_residual_vs_baseline.py",
            "--model",
            str(run / "final_model.zip"),
            "--normalize",
            str(run / "vec_normalize.pkl"),
            "--episodes",
            "1",
            "--seconds",
            "1",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert compare.returncode == 0, compare.stderr[-2000:]

    # bad input: one line, exit 2, the study untouched
    before = digest(study_dir / "study.db")
    for bad, says in [
        (["--fix", "learning_rate=5e-4"], "another search space"),
        (["--storage", "nosuchdb://x"], "cannot open the storage"),
        (["--storage", "postgresql://u:secret@127.0.0.1:1/db"], "cannot open the storage"),
        (["--range", "residual_scale=0.06:0.03"], "empty"),
    ]:
        proc = sweep("--study-name", "tiny", "--n-trials", "1", "--sweeps-dir", str(tmp_path), *TINY, *bad, timeout=60)
        assert proc.returncode == 2, (bad, proc.stderr)
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and says in lines[0], (bad, lines)
        assert "secret" not in lines[0]
    assert digest(study_dir / "study.db") == before

    # the same command again continues the study
    proc = sweep("--study-name", "tiny", "--n-trials", "1", "--sweeps-dir", str(tmp_path), *TINY)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert [t.number for t in load("tiny", url).trials] == [0, 1, 2]
    assert len((study_dir / "trials.csv").read_text().splitlines()) == 4


def test_ctrl_c_marks_the_running_trial_failed_and_exits_130(tmp_path):
    args = [a if a != "1024" else "200000" for a in TINY]  # a trial far too long to finish
    proc = subprocess.Popen(
        [
            sys.executable,
            "sweep_residual_ppo.py",
            "--study-name",
            "stop",
            "--n-trials",
            "2",
            "--sweeps-dir",
            str(tmp_path),
            *args,
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "MUJOCO_GL": "egl"},
    )
    deadline = time.time() + 120
    while not list(tmp_path.glob("stop/trial_0_seed0_*/tb_*")) and time.time() < deadline:
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.5)
    time.sleep(1)  # training has started (SB3 made its TensorBoard folder)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err[-3000:]
    assert "trial 0 is marked failed" in err
    study = load("stop", f"sqlite:///{(tmp_path / 'stop' / 'study.db').resolve()}")
    assert [t.state for t in study.trials] == [TrialState.FAIL]
    config = json.loads((trial_dir(tmp_path / "stop", 0) / "config.json").read_text())
    assert config["status"].startswith("interrupted")


# ---------------------------------------------------------------------- PostgreSQL
def postgres_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def postgres_url():
    """A throw-away PostgreSQL server in a temporary directory (initdb refuses root: run as postgres)."""
    bindir = postgres_bin()
    if bindir is None or not (bindir / "pg_ctl").exists():
        pytest.skip(
            "PostgreSQL server binaries (initdb, pg_ctl) not installed: "
            "apt-get install postgresql (scripts/test.sh does)"
        )
    root = Path(tempfile.mkdtemp(prefix="walklab-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        try:
            user = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no 'postgres' user to run initdb as")
        os.chown(root, user.pw_uid, user.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    data, port = root / "data", free_port()
    pg_ctl = [*as_user, str(bindir / "pg_ctl"), "-D", str(data)]
    try:
        subprocess.run(
            [*as_user, str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "--no-sync"],
            check=True,
            capture_output=True,
            timeout=120,
        )
        subprocess.run(
            [
                *pg_ctl,
                "-l",
                str(root / "server.log"),
                "-w",
                "-t",
                "60",
                "-o",
                f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off",
                "start",
            ],
            check=True,
            capture_output=True,
            timeout=90,
        )
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*pg_ctl, "-m", "immediate", "stop"], capture_output=True, timeout=60)
        shutil.rmtree(root, ignore_errors=True)


def test_two_workers_share_one_postgresql_study(postgres_url, tmp_path):
    cmd = [
        sys.executable,
        "sweep_residual_ppo.py",
        "--study-name",
        "shared",
        "--n-trials",
        "2",
        "--storage",
        postgres_url,
        "--sweeps-dir",
        str(tmp_path),
        *TINY,
    ]
    env = {**os.environ, "MUJOCO_GL": "egl"}
    workers = [
        subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        for _ in range(2)
    ]
    results = [w.communicate(timeout=300) for w in workers]
    for w, (_, err) in zip(workers, results):
        assert w.returncode == 0, err[-3000:]
    study = load("shared", postgres_url)
    numbers = sorted(t.number for t in study.trials)
    assert numbers == [0, 1, 2, 3]  # every trial recorded exactly once, none lost
    assert all(t.state in (TrialState.COMPLETE, TrialState.PRUNED) for t in study.trials), [
        t.state for t in study.trials
    ]
    for t in study.trials:
        run = trial_dir(tmp_path / "shared", t.number)  # one run directory per trial
        assert t.user_attrs["run_dir_seed0"].endswith(run.name)
    assert study.user_attrs["search_space"]["n_steps"] == {"fixed": 256}
