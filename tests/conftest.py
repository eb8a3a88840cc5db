"""Shared test set-up: offscreen rendering and a helper to run the repository's scripts.

The packages are installed (``pip install -e .``); pytest's ``pythonpath`` setting in
pyproject.toml makes ``tests`` importable.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
os.environ.setdefault("MUJOCO_GL", "egl")

# A v2 run of a few hundred steps that still writes every file of a run directory.
TINY_V2_ARGS = [
    "--n-envs", "2", "--n-steps", "128", "--batch-size", "64", "--checkpoint-freq", "256",
    "--eval-freq", "256", "--episode-steps", "100", "--no-progress",
]  # fmt: skip


def run_script(*args: str, timeout: float = 300, env_extra: dict | None = None) -> subprocess.CompletedProcess:
    """Run a repository script with this interpreter, headless, and capture its output."""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["MUJOCO_GL"] = "egl"
    env.update(env_extra or {})
    return subprocess.run([sys.executable, *args], cwd=REPO, capture_output=True, text=True, timeout=timeout, env=env)


def one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


def read_only_dir(tmp_path: Path) -> Path:
    """A folder this process cannot create files in (for root, whom permission bits do not stop: /sys)."""
    if os.geteuid() == 0:
        return Path("/sys")
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    return folder


def phase5_trained(path: Path) -> dict[str, dict]:
    """{terrain file name: the trained side's summary} from a phase-5 JSON."""
    return {Path(t["terrain"]).name: t["trained"] for t in json.loads(Path(path).read_text())["terrains"]}


@pytest.fixture
def script():
    return run_script
