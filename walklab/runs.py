"""Run directories: ``RunDir`` owns one run's files, its lock, its status, its monitors, its saved
models and checkpoints. config.json's schema is ``walklab.run_config``; loading a policy and
rebuilding its evaluation env is ``walklab.policies``.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import re
import uuid
import zipfile
from pathlib import Path
from typing import Any

from walklab.files import remove_quietly
from walklab.run_config import (  # noqa: F401 - RunError and portable_path: what callers of runs use
    CONFIG_NAME,
    RunError,
    config_record,
    portable_path,
    read_config,
    write_config,
)

FINAL_MODEL = "final_model.zip"
FINAL_STATS = "vec_normalize.pkl"
BEST_MODEL = "best_model.zip"
BEST_STATS = "best_vec_normalize.pkl"
INTERRUPTED_MODEL = "interrupted_model.zip"
INTERRUPTED_STATS = "interrupted_vec_normalize.pkl"
CHECKPOINT_DIR = "checkpoints"
LOCK_NAME = ".lock"  # flock'ed by the process training the run; holds its pid
RUN_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
MONITOR_FIRST = "monitor_0.csv.monitor.csv"
# The scripts a finished run points its user to (relative to the repository).
PLAYER_SCRIPT = "phases_test/phase4_viewer_play_policy.py"
DEBUG_SCRIPT = "debug_model.py"
COMPARE_SCRIPT = "tests/compare_residual_vs_baseline.py"


class RunDir:
    """One run directory ``<runs_dir>/<run_name>_<YYYYMMDD_HHMMSS>/`` and everything in it."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def __fspath__(self) -> str:
        return str(self.path)

    def __str__(self) -> str:
        return str(self.path)

    # ------------------------------------------------------------------ finding and making
    @classmethod
    def create(cls, runs_dir: Path, run_name: str) -> RunDir:
        """A new ``<runs_dir>/<run_name>_<YYYYMMDD_HHMMSS>/``."""
        if not RUN_NAME_PATTERN.match(run_name):
            raise RunError(f"--run-name {run_name!r} may use only letters, digits, '_', '-' and '.'")
        stamp = dt.datetime.now().strftime("%Y%m%d_%H%M%S")
        run_dir = Path(runs_dir) / f"{run_name}_{stamp}"
        try:
            Path(runs_dir).mkdir(parents=True, exist_ok=True)
            run_dir.mkdir()
        except FileExistsError:
            raise RunError(f"{run_dir} already exists; wait a second or pick another --run-name") from None
        except OSError as exc:
            raise RunError(f"cannot create {run_dir} ({exc.strerror or exc}); give a writable --runs-dir") from exc
        return cls(run_dir)

    @classmethod
    def of_model(cls, model_path: str | Path) -> RunDir:
        """The run directory holding a model: its folder or the nearest parent with config.json."""
        for folder in [Path(model_path).resolve().parent, *Path(model_path).resolve().parents]:
            if (folder / CONFIG_NAME).is_file():
                return cls(folder)
        raise RunError(f"no {CONFIG_NAME} beside {model_path} or in its parent folders: cannot rebuild the env")

    # ------------------------------------------------------------------ config.json
    def config(self) -> dict[str, Any]:
        """config.json in the current layout, its env settings checked (walklab.run_config)."""
        return read_config(self.path)

    def write_config(self, record: dict[str, Any]) -> dict[str, Any]:
        return write_config(self.path, record)

    def run_id(self) -> str | None:
        """The run's fingerprint (config.json's ``run_id``), None for runs written before it existed."""
        try:
            run_id = json.loads((self.path / CONFIG_NAME).read_text()).get(RUN_ID_KEY)
        except (OSError, ValueError, AttributeError):
            return None
        return run_id if isinstance(run_id, str) and run_id else None

    # ------------------------------------------------------------------ ownership and status
    def lock(self) -> RunLock:
        """Become the run's one writer (RunLock); a second one is refused with one line."""
        return RunLock(self.path)

    def lock_owner(self) -> int | None:
        """The pid written in the run's lock file (the current or last owner), if readable."""
        try:
            return int((self.path / LOCK_NAME).read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def is_locked(self) -> bool:
        """True while a process holds the run's lock (is training it)."""
        try:
            fd = os.open(self.path / LOCK_NAME, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            return True
        finally:
            os.close(fd)
        return False

    def status(self) -> str:
        """What the run's state really is, from config.json's status and its lock.

        "running (pid N)" while its trainer holds the lock; "killed" when config.json still says
        running but nobody holds the lock (the trainer died without writing a status: kill -9,
        power loss, out of memory); otherwise config.json's status ("finished", "interrupted",
        "failed: disk full", ...), or "no config" when there is none.
        """
        try:
            status = json.loads((self.path / CONFIG_NAME).read_text()).get("status", "unknown")
        except (OSError, ValueError, AttributeError):
            status = "no config"
        if self.is_locked():
            owner = self.lock_owner()
            return f"running (pid {owner})" if owner else "running"
        if status == "running":
            return "killed"
        return str(status)

    def describe_status(self) -> str:
        """status() with what it means for the user, for messages."""
        status = self.status()
        if status == "killed":
            return "killed (its trainer ended without saving: the steps since its last checkpoint are lost)"
        return status

    def remove_stale_temporaries(self) -> list[Path]:
        """Delete the ``.NAME.tmp<pid>`` files a killed writer left (here and in checkpoints/).

        A kill -9 can land in the middle of a save; the half-written file never has the model's
        name, but it stays behind. Called by the next owner of the run, once it holds the lock and
        every refusal is past, so only files of dead writers go."""
        removed = []
        own = f".tmp{os.getpid()}"
        for folder in (self.path, self.path / CHECKPOINT_DIR):
            if not folder.is_dir():
                continue
            for path in folder.glob(".*.tmp*"):
                if own not in path.name and path.is_file():
                    path.unlink(missing_ok=True)
                    removed.append(path)
        return removed

    # ------------------------------------------------------------------ monitors, saves, checkpoints
    def monitor_paths(self, n_envs: int) -> list[Path]:
        """Monitor file names for a new run, or ``_part<k>`` ones when resuming, so earlier files stay."""
        suffix = ""
        if (self.path / MONITOR_FIRST).exists():
            part = 1
            while (self.path / f"monitor_0_part{part}.csv.monitor.csv").exists():
                part += 1
            suffix = f"_part{part}"
        return [self.path / f"monitor_{i}{suffix}.csv" for i in range(n_envs)]

    def save(self, model, vec_normalize, kind: str) -> Path:
        """Save as ``final``, ``best`` or ``interrupted`` (the model and its statistics); returns the model's path."""
        model_name, stats_name = SAVES[kind]
        save_model_and_stats(model, vec_normalize, self.path / model_name, self.path / stats_name, self.run_id())
        return self.path / model_name

    def save_checkpoint(self, model, vec_normalize, steps: int) -> Path:
        """``checkpoints/rl_model_<steps>_steps.zip`` with its statistics."""
        folder = self.path / CHECKPOINT_DIR
        path = folder / f"rl_model_{steps}_steps.zip"
        stats = folder / f"rl_model_vecnormalize_{steps}_steps.pkl"
        save_model_and_stats(model, vec_normalize, path, stats, self.run_id())
        return path

    def resume_model(self) -> Path:
        """The saved model with the most training steps (the newest file among equals): a copied
        run directory, whose files all have new times, still resumes from where it stopped."""
        candidates = [
            self.path / INTERRUPTED_MODEL,
            self.path / FINAL_MODEL,
            *(self.path / CHECKPOINT_DIR).glob("rl_model_*_steps.zip"),
        ]
        candidates = [c for c in candidates if c.is_file()]
        if not candidates:
            raise RunError(
                f"no model to resume in {self.path} (looked for {INTERRUPTED_MODEL}, "
                f"{FINAL_MODEL} and {CHECKPOINT_DIR}/rl_model_*_steps.zip)"
            )
        return max(candidates, key=lambda p: (saved_timesteps(p), p.stat().st_mtime))


SAVES = {
    "final": (FINAL_MODEL, FINAL_STATS),
    "best": (BEST_MODEL, BEST_STATS),
    "interrupted": (INTERRUPTED_MODEL, INTERRUPTED_STATS),
}


def find_resume_model(target: Path) -> Path:
    """A checkpoint .zip as given, or a run directory's RunDir.resume_model()."""
    return target if target.is_file() else RunDir(target).resume_model()


def saved_timesteps(model_path: Path) -> int:
    """Training steps a saved model holds: from a checkpoint's name, else from the zip's SB3 data
    (``num_timesteps``); -1 when unreadable."""
    match = re.fullmatch(r"rl_model_(\d+)_steps\.zip", model_path.name)
    if match:
        return int(match.group(1))
    try:
        with zipfile.ZipFile(model_path) as archive:
            return int(json.loads(archive.read("data"))["num_timesteps"])
    except (OSError, KeyError, ValueError, TypeError, zipfile.BadZipFile):
        return -1


def stats_path_for(model_path: Path) -> Path | None:
    """The statistics file saved beside a model by this toolkit, if present."""
    name = model_path.name
    candidates = {
        FINAL_MODEL: FINAL_STATS,
        BEST_MODEL: BEST_STATS,
        INTERRUPTED_MODEL: INTERRUPTED_STATS,
    }
    if name in candidates:
        p = model_path.with_name(candidates[name])
    elif name.endswith("_steps.zip"):  # checkpoints/rl_model_<n>_steps.zip
        p = model_path.with_name(name.replace("rl_model_", "rl_model_vecnormalize_").replace(".zip", ".pkl"))
    else:
        p = model_path.with_suffix(".pkl")
    return p if p.is_file() else None


def save_model_and_stats(model, vec_normalize, model_path: Path, stats_path: Path, run_id: str | None = None) -> None:
    """Write both under temporary names, then rename: a crash never leaves a half-written file.
    With `run_id` both carry the run's fingerprint (an attribute pickled with each), which
    :func:`check_same_run` reads."""
    if run_id is not None:
        vec_normalize.run_id = run_id
        model.run_id = run_id  # saved in the zip's "data"
    model_path.parent.mkdir(parents=True, exist_ok=True)
    tmp_model = model_path.with_name(f".{model_path.stem}.tmp{os.getpid()}.zip")
    tmp_stats = stats_path.with_name(f".{stats_path.name}.tmp{os.getpid()}")
    try:
        model.save(tmp_model)
        vec_normalize.save(str(tmp_stats))
        tmp_stats.replace(stats_path)  # statistics first: a model never sits beside older statistics
        tmp_model.replace(model_path)
    finally:  # on any error (a full disk, Ctrl-C) no temporary file stays behind
        remove_quietly(tmp_model)
        remove_quietly(tmp_stats)


# ------------------------------------------------------------ run fingerprints (walklab.policies.check_same_run)
RUN_ID_KEY = "run_id"  # in config.json, on a pickled VecNormalize and in a model zip's "data"


def new_run_id() -> str:
    return uuid.uuid4().hex


# ---------------------------------------------------------------------- the lock
_HELD_LOCKS: list[int] = []  # lock fds of this process, closed in forked env workers


class RunLock:
    """The owner of a run directory: an exclusive ``flock`` on ``<run_dir>/.lock``, which holds its pid.

    Only the training process holds it (``train`` for a new run and for ``--resume``), so a
    second writer is refused with one line. The kernel drops the lock when the owner dies,
    however it dies (kill -9 included), so a crashed owner never holds a run forever.
    """

    def __init__(self, run_dir: Path):
        self.run_dir = Path(run_dir)
        path = self.run_dir / LOCK_NAME
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise RunError(
                f"cannot lock {self.run_dir} ({exc.strerror or exc}): the run directory must be writable"
            ) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            owner = RunDir(self.run_dir).lock_owner()
            who = f"pid {owner}" if owner else "another process"
            raise RunError(
                f"run {self.run_dir} is being trained by {who}; wait for it to finish or stop it "
                f"(kill -INT {owner or 'PID'}), then resume it"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self.fd = fd
        _HELD_LOCKS.append(fd)

    def release(self) -> None:
        if self.fd is None:
            return
        _HELD_LOCKS.remove(self.fd)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
        finally:
            os.close(self.fd)
            self.fd = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.release()


def close_inherited_locks() -> None:
    """In a forked child: drop this copy of the parent's lock fds (the lock stays the parent's)."""
    while _HELD_LOCKS:
        try:
            os.close(_HELD_LOCKS.pop())
        except OSError:
            pass
