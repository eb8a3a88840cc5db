"""Physics for N robots behind one interface: one MjData (``SingleSim``, N = 1) or ``mujoco.batch``.

``envs.walk_core.WalkCore`` computes the walk over (N, ...) arrays and never calls MuJoCo
itself; it reads and writes these live rows:

- ``qpos`` (N, nq), ``qvel`` (N, nv), ``ctrl`` (N, nu): the state, written by resets and controls;
- ``trunk_xmat`` (N, 9) and ``sensordata`` (N, nsensordata): derived, as after ``mj_step``.

``step(ids, nstep)`` advances the robots `ids` (None: all) and returns the ids MuJoCo raised
in; ``unstable()`` flags robots with an instability warning since their reset. ``place(i, ...)``
puts robot i on its own terrain; ``get_state(i)`` and ``set_state(i, ...)`` copy its MuJoCo state
(the integration state and the warning counters) out and back, for ``WalkCore.snapshot``.
``SingleSim`` keeps a real ``MjData`` (viewer, renderer and every script read ``env.data``);
``BatchSim`` steps on ``mujoco.batch.Batch``'s C threads, whose results are bit-identical to
``mj_step`` on one MjData per robot (``tests/test_batched_vec_env.py``).
"""

from __future__ import annotations

import copy
import os

import mujoco
import numpy as np

try:
    from mujoco import batch as mj_batch
except ImportError as exc:  # MuJoCo 3.x: every env here steps through mujoco.batch's types
    raise ImportError(
        f"ResidualWalk needs MuJoCo 4.0 or newer (mujoco.batch); this Python has mujoco {mujoco.__version__}: "
        "pip install 'mujoco>=4.0' (or rerun bash scripts/install.sh)"
    ) from exc

from envs.robot_sim import RobotSim
from envs.terrain import TerrainHeight

INSTABILITY_WARNINGS = tuple(
    int(w)
    for w in (mujoco.mjtWarning.mjWARN_BADQPOS, mujoco.mjtWarning.mjWARN_BADQVEL, mujoco.mjtWarning.mjWARN_BADQACC)
)
_STATE = mujoco.mjtState.mjSTATE_INTEGRATION


def default_threads() -> int:
    """The physics threads a batch uses by default: the CPUs this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


class SingleSim:
    """One robot on one MjData (the Gymnasium env's physics)."""

    n = 1
    own_models = True  # the one robot's model is its own: terrain and physics can change

    def __init__(self, model: mujoco.MjModel, robot=None):
        self.robot = RobotSim(model, robot)  # robot: an envs.robot.Robot or name (None: the mini)
        self.model, self.data = self.robot.model, self.robot.data
        self.trunk_id = self.robot.trunk_id
        d = self.data
        self.qpos, self.qvel, self.ctrl = d.qpos[None], d.qvel[None], d.ctrl[None]
        self.trunk_xmat = d.xmat[self.trunk_id][None]
        self.sensordata = d.sensordata[None]
        self._warnings = tuple(d.warning[w] for w in INSTABILITY_WARNINGS)  # cleared by every reset

    def models(self) -> list[mujoco.MjModel]:
        return [self.model]

    def robot_sim(self, i: int) -> RobotSim:
        return self.robot

    def terrain(self, i: int) -> TerrainHeight:
        return self.robot.terrain_height

    def place(self, i: int, x: float, y: float, yaw: float, joint_angles: np.ndarray) -> None:
        self.robot.place(x, y, yaw, joint_angles)

    def models_changed(self) -> None:
        """Nothing to do: the data reads its model directly."""

    def get_state(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """(mjSTATE_INTEGRATION row, (lastinfo, number) per warning) of the robot."""
        row = np.empty(mujoco.mj_stateSize(self.model, _STATE))
        mujoco.mj_getState(self.model, self.data, row, _STATE)
        return row, np.array([(w.lastinfo, w.number) for w in self.data.warning], dtype=np.int32)

    def set_state(self, i: int, row: np.ndarray, warnings: np.ndarray) -> None:
        """Put a ``get_state`` back; derived quantities follow the state (as after a reset's forward)."""
        m, d = self.model, self.data
        mujoco.mj_setState(m, d, row, _STATE)
        mujoco.mj_forward(m, d)
        mujoco.mj_setState(m, d, row, _STATE)  # the warm start as it was, not mj_forward's
        for stat, (lastinfo, number) in zip(d.warning, warnings.tolist()):
            stat.lastinfo, stat.number = lastinfo, number

    def step(self, ids: np.ndarray | None, nstep: int) -> np.ndarray:
        if ids is None or len(ids):
            mujoco.mj_step(self.model, self.data, nstep=nstep)
        return np.zeros(0, dtype=np.intp)

    def unstable(self) -> np.ndarray:
        return np.array([any(stat.number for stat in self._warnings)])

    def clear(self, ids: np.ndarray) -> None:
        """After a broken step: finite state behind, as MuJoCo's own reset leaves it."""
        mujoco.mj_resetData(self.model, self.data)

    def close(self) -> None:
        pass


class BatchSim:
    """N robots on one ``mujoco.batch.Batch``, stepped on `threads` C threads.

    With ``own_models`` every robot runs on its own copy of the model (randomised physics, its
    own terrain: ``Batch.set_models``); otherwise all share the batch's model.
    """

    def __init__(self, model: mujoco.MjModel, n: int, threads: int | None = None, own_models: bool = False, robot=None):
        self._robot = robot  # an envs.robot.Robot or name (None: the mini)
        self.n = int(n)
        self.model = model
        self.own_models = bool(own_models)
        self.batch = mj_batch.Batch(model, nsim=self.n, nthread=threads or default_threads())
        self._models = [copy.copy(model) for _ in range(self.n)] if own_models else [model] * self.n
        if own_models:
            self.batch.set_models(self._models)
        self._robots: dict[int, RobotSim] = {}  # scratch MjData per model, for placing robots
        b = self.batch
        self.qpos, self.qvel, self.ctrl = b.bind("qpos"), b.bind("qvel"), b.bind("ctrl")
        self._time = b.bind("time")
        self.trunk_id = self.robot_sim(0).trunk_id
        self.trunk_xmat = b.bind("xmat")[:, self.trunk_id]
        self.sensordata = b.bind("sensordata")
        self._warnings = list(INSTABILITY_WARNINGS)

    def models(self) -> list[mujoco.MjModel]:
        return self._models

    def robot_sim(self, i: int) -> RobotSim:
        """A scratch RobotSim on robot i's model (its MjData is not the robot's state)."""
        key = id(self._models[i])
        if key not in self._robots:
            self._robots[key] = RobotSim(self._models[i], self._robot)
        return self._robots[key]

    def terrain(self, i: int) -> TerrainHeight:
        return self.robot_sim(i).terrain_height

    def place(self, i: int, x: float, y: float, yaw: float, joint_angles: np.ndarray) -> None:
        """Robot i at (x, y, yaw), exactly as ``RobotSim.place`` leaves an MjData."""
        robot = self.robot_sim(i)
        robot.place(x, y, yaw, joint_angles)
        row = np.empty(self.batch.nstate)
        mujoco.mj_getState(robot.model, robot.data, row, _STATE)
        self.batch.state[i] = row
        self.batch.warning[i] = 0
        self.batch.forward(ids=np.array([i], dtype=np.int32))

    def models_changed(self) -> None:
        """Tell the batch that some robot's model was edited (randomised, terrain switched)."""
        if self._models[0] is not self.model:
            self.batch.set_models(self._models)

    def get_state(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """(mjSTATE_INTEGRATION row, (lastinfo, number) per warning) of robot i."""
        return self.batch.state[i].copy(), self.batch.warning[i].copy()

    def set_state(self, i: int, row: np.ndarray, warnings: np.ndarray) -> None:
        """Put a ``get_state`` back into robot i; its derived quantities follow the state."""
        self.batch.state[i] = row
        self.batch.forward(ids=np.array([i], dtype=np.int32))
        self.batch.state[i] = row  # the warm start as it was, not the forward's
        self.batch.warning[i] = warnings

    def step(self, ids: np.ndarray | None, nstep: int) -> np.ndarray:
        if ids is not None and len(ids) == 0:
            return np.zeros(0, dtype=np.intp)
        run = None if ids is None else np.asarray(ids, dtype=np.int32)
        try:
            self.batch.step(ids=run, nstep=nstep)
        except mj_batch.SimulationError as error:
            return np.asarray(error.ids, dtype=np.intp)
        return np.zeros(0, dtype=np.intp)

    def unstable(self) -> np.ndarray:
        return (self.batch.warning[:, self._warnings, 1] != 0).any(axis=1)

    def clear(self, ids: np.ndarray) -> None:
        if len(ids):
            self.batch.reset(ids=np.asarray(ids, dtype=np.int32))

    def close(self) -> None:
        self._robots.clear()
