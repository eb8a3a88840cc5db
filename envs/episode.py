"""Each robot's whole episode, owned by ``envs.walk_core.WalkCore``.

Every per-robot value is declared once, where it is made, in the core's ``RobotRows``
(``envs.rows``): the core's arrays, the command and its heading and speed window
(``envs.commands``), the random stream and its seed, the terrain and its schedule; a ``WalkCore``
subclass declares its own there too. With the randomised physics (the model fields of
``envs.randomization.RANDOMIZED_FIELDS``) and MuJoCo's integration state they are the whole robot:
``WalkCore.snapshot(i)`` copies them out (a ``RobotSnapshot``) and ``WalkCore.restore(i, snapshot)``
puts them back, into the same robot or another, so the robot continues bit for bit. Pickling and
deep copies of the envs are built on the two.

``WalkCore.reset(i, seed, options)`` starts robot i's episode, and ``set_terrain(i, png)`` and
``set_terrain_schedule(i, schedule)`` switch its terrain: the Gymnasium env, the vector env, its
per-robot views and the rollout loops all call these.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from gymnasium.utils import seeding

from envs.randomization import physics_values, randomize_physics, same_physics, set_physics_values
from envs.robot_sim import SPAWN_Y_LIMIT, spawn_pose

# How an episode can end, and which endings are falls (the one definition every report uses).
TERMINATIONS = ("fell_height", "fell_tilt", "off_terrain", "physics_error", "invalid_action")
FALL_TERMINATIONS = frozenset({"fell_height", "fell_tilt", "physics_error", "invalid_action"})


def is_fall(termination: str) -> bool:
    """True when an episode ended because the robot fell or the simulation (or the action) broke."""
    return termination in FALL_TERMINATIONS


@dataclass(frozen=True)
class RobotSnapshot:
    """One robot of a ``WalkCore``, exactly: what ``restore`` needs for it to continue bit for bit."""

    rows: dict[str, Any]  # every RobotRows value: the core's arrays, command, random stream, terrain, schedule
    physics: dict[str, np.ndarray]  # its model's randomised fields (envs.randomization.RANDOMIZED_FIELDS)
    state: np.ndarray  # MuJoCo's mjSTATE_INTEGRATION: time, qpos, qvel, act, warm start, ctrl, ...
    warnings: np.ndarray  # MuJoCo's (lastinfo, number) per warning: an instability ends the episode


class RobotEpisodes:
    """Robot i's reset, terrain, snapshot and restore (a mixin of ``WalkCore``, which declares the rows)."""

    def reset(self, i: int, seed: int | None = None, options: dict | None = None) -> dict[str, float]:
        """Start robot i's next episode, as ``ResidualWalkEnv.reset(seed=seed, options=options)``.

        A seed makes a fresh random stream (None keeps the robot's own, as ``gymnasium.Env.reset``);
        then the terrain schedule, the physics draws, the spawn and the command; returns the reset
        info, the observation is in ``last_obs[i]``.
        """
        if seed is not None or self.rngs[i] is None:
            self.rngs[i], self.seeds[i] = seeding.np_random(seed)
            self.perturbations.seed(i, self.seeds[i])  # its own stream: the main one's draws stay as they were
        rng = self.rngs[i]
        changed = False
        schedule = self.terrain_schedule[i]
        if schedule is not None:
            png = schedule.next_terrain(self._outcome(i))
            if png is not None and str(png) != self.terrain_path[i]:
                self._load_terrain(i, png)
                changed = True
        if self.config.randomize:
            randomize_physics(self.physics.models()[i], self._nominal_physics[i], self.physics.trunk_id, rng)
            changed = True
        model = self.physics.models()[i]
        if self.perturbations.start(i, model, self._nominal_physics[i], self.physics.trunk_id, self.config.randomize):
            changed = True
        if changed:
            self._models_changed(i)
        x, y, yaw = spawn_pose(rng, self.robot.size)
        self.physics.place(i, x, y, yaw, self.controller.joint_targets(0.0))
        self.step_count[i] = 0
        self.extra_cycles[i] = 0.0
        self.prev_action[i] = 0.0
        self.residual[i] = 0.0
        self.episode_x0[i] = float(self.physics.qpos[i, 0])
        self.episode_started[i] = True
        self.last_termination[i] = ""
        self.commands.start(i, rng, options)  # after every other draw: with commands off the stream is untouched
        shift = self.commands.spawn_y_shift(i)  # a turning robot starts off-centre, against its turn
        if shift:
            y = min(SPAWN_Y_LIMIT, max(-SPAWN_Y_LIMIT, y + shift))
            self.physics.place(i, x, y, yaw, self.controller.joint_targets(0.0))
        return self.observe(np.array([i]))[0]

    def _outcome(self, i: int) -> dict | None:
        """How robot i's last episode went, for its terrain schedule (None before the first)."""
        if self.terrain_schedule[i] is None or not (self.episode_started[i] and self.step_count[i] > 0):
            return None
        x_end = float(self.physics.qpos[i, 0])
        termination = self.last_termination[i]
        return {
            "distance_m": x_end - self.episode_x0[i] if np.isfinite(x_end) else 0.0,
            "seconds": int(self.step_count[i]) * self.dt,
            "termination": termination,
            "fell": is_fall(termination),
            "command_mps": float(self.commands.values[i, 0]) if self.config.commands else None,
            "nominal_mps": self.nominal_speed,
        }

    # ------------------------------------------------------------------ terrain
    def set_terrain(self, i: int, png: str | None) -> None:
        """Robot i walks on heightfield `png` from its next step on (None: the configured terrain).

        The heights are swapped into its model in place (each PNG compiled once, by MuJoCo's own
        loader, and cached), so nothing is recompiled per switch; the PNG must have the configured
        terrain's size in pixels.
        """
        if not self.physics.own_models:
            raise ValueError("set_terrain on a batch needs per-robot models (randomize or curriculum)")
        self._load_terrain(i, png)
        self._models_changed(i)

    def set_terrain_schedule(self, i: int, schedule) -> None:
        """Let `schedule` choose robot i's terrain at every reset (None: stop switching).

        ``schedule.next_terrain(outcome)`` is called at the start of each reset and returns a PNG
        path (or None to keep the current terrain); `outcome` describes the episode that just ended,
        or is None before the first one: ``distance_m`` (along world x), ``seconds``,
        ``termination``, ``fell`` (``is_fall``), ``command_mps`` (None without commands) and
        ``nominal_mps`` (the trot's no-slip speed, 2 x step_length / cycle_time).
        """
        self.terrain_schedule[i] = schedule
        self.episode_started[i] = False

    def _load_terrain(self, i: int, png: str | None) -> None:
        model = self.physics.models()[i]
        model.hfield_data[:] = self.terrain_files.heights(png, model)  # the ground lookup reads this memory
        self.terrain_path[i] = None if png is None else str(png)

    def _models_changed(self, i: int) -> None:
        self.physics.models_changed()
        self.ground.refresh(i)

    # ------------------------------------------------------------------ snapshot and restore
    def snapshot(self, i: int) -> RobotSnapshot:
        """Robot i, copied out: restore it (into any robot of a core with this config) to continue it."""
        state, warnings = self.physics.get_state(i)
        return RobotSnapshot(self.rows.take(i), physics_values(self.physics.models()[i]), state, warnings)

    def restore(self, i: int, snapshot: RobotSnapshot) -> None:
        """Make robot i the robot `snapshot` was taken of: from here on it steps as that one did."""
        model, shared = self.physics.models()[i], not self.physics.own_models
        path = snapshot.rows["terrain_path"]
        terrain = path != self.terrain_path[i]
        physics = not same_physics(model, snapshot.physics)
        if shared and (terrain or physics):
            raise ValueError("restoring another terrain or randomised physics on a batch needs per-robot models")
        if terrain:
            self._load_terrain(i, path)
        if physics:
            set_physics_values(model, snapshot.physics)
        if terrain or physics:
            self._models_changed(i)
        self.rows.put(i, snapshot.rows)
        self.physics.set_state(i, snapshot.state, snapshot.warnings)
