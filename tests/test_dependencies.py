"""What the project declares it needs, against what it really needs, and one test command.

``bash scripts/check_floors.sh`` installs every dependency at the floor pyproject.toml declares,
in a scratch venv, and runs this file with the env, batch, training, export and debug tests on
them. Here: the installed versions satisfy the declared ranges, the shipped models load whole,
an old MuJoCo is refused with a message that says what to do, and the README's test command is
the one CI runs.
"""

from __future__ import annotations

import re
import subprocess
import sys
from importlib import metadata

import pytest

from tests.conftest import REPO

tomllib = pytest.importorskip("tomllib")
version = pytest.importorskip("packaging.version")
requirements = pytest.importorskip("packaging.requirements")


def declared() -> list:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    return [requirements.Requirement(r) for r in project["dependencies"] + project["optional-dependencies"]["test"]]


def test_every_declared_dependency_has_a_floor_and_the_installed_version_meets_it():
    for req in declared():
        floors = [s for s in req.specifier if s.operator in (">=", "==")]
        assert floors, f"{req} declares no floor"
        installed = metadata.version(req.name)
        assert req.specifier.contains(installed, prereleases=True), f"{req.name} {installed} is outside {req}"


def test_the_floors_are_what_the_code_needs():
    # mujoco.batch came with MuJoCo 4; gymnasium.vector.AutoresetMode with Gymnasium 1.1; the
    # shipped models' schedules are stable-baselines3 2.7 objects
    floors = {r.name: min(version.Version(s.version) for s in r.specifier if s.operator == ">=") for r in declared()}
    assert floors["mujoco"] >= version.Version("4.0")
    assert floors["gymnasium"] >= version.Version("1.1")
    assert floors["stable-baselines3"] >= version.Version("2.7")


@pytest.mark.parametrize("policy", ["residual_walk", "commanded_walk", "turning_walk"])
def test_the_shipped_models_load_whole(policy):
    # an older stable-baselines3 loads them but drops what it cannot unpickle, with a warning
    import warnings

    from stable_baselines3 import PPO

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        PPO.load(REPO / "assets/policies" / policy / "final_model.zip", device="cpu")


def test_a_mujoco_without_batch_is_refused_with_what_to_do():
    # MuJoCo 3.x has no mujoco.batch: blocking the submodule is what importing on 3.x meets
    code = "import sys; sys.modules['mujoco.batch'] = None\nimport envs.physics"
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("ImportError: ResidualWalk needs MuJoCo 4.0 or newer (mujoco.batch)")
    assert "pip install 'mujoco>=4.0'" in last


def test_the_readme_test_command_is_what_ci_runs():
    readme = (REPO / "README.md").read_text()
    block = re.search(r"## Set up and run.*?```bash\n(.*?)```", readme, re.S).group(1)
    commands = [line for line in block.splitlines() if line and not line.startswith("#")]
    assert len(commands) == 2, commands
    ci = [
        line
        for line in (REPO / ".ci/run").read_text().splitlines()
        if line and not line.startswith(("#", "set ", "cd "))
    ]
    assert ci == [commands[1]]
    script = (REPO / commands[1].split()[-1]).read_text()
    # it installs what the window and PostgreSQL tests need, the venv, lints and runs every test
    for step in ("xvfb", "xdotool", "postgresql", "bash scripts/install.sh", "ruff check", "ruff format --check"):
        assert step in script, step
    assert script.rstrip().endswith('.venv/bin/python -m pytest "$@"')
