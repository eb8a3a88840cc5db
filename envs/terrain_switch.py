"""Terrain switching for one robot: another heightfield PNG swapped into its model in place.

``TerrainSwitch.set_terrain(png)`` copies the PNG's heights (compiled once per PNG by MuJoCo's
own loader, cached in a dict the robots of a batch share) into the model's heightfield, so
nothing is recompiled per episode. A ``schedule`` (the training's curriculum) picks the terrain
at every reset from how the last episode went (see ``ResidualWalkEnv.set_terrain_schedule``).
"""

from __future__ import annotations

import mujoco
import numpy as np

from envs.robot_sim import load_model


class TerrainSwitch:
    """The terrain robot i walks on, and the schedule that chooses it."""

    def __init__(self, model: mujoco.MjModel, configured: str | None, flat: bool, cache: dict[str, np.ndarray]):
        self.model = model
        self.configured = configured
        self.flat = flat
        self.cache = cache
        self.path: str | None = None  # the PNG last loaded by set_terrain (None: the configured one)
        self.schedule = None

    def set_terrain(self, png: str | None) -> None:
        """Walk on `png` from the next step on (None: the configured terrain); same pixel size only."""
        key = str(png) if png is not None else (self.configured or "")
        if key not in self.cache:
            if self.flat:
                raise ValueError("set_terrain needs a heightfield scene, not the flat floor")
            source = load_model(png if png is not None else self.configured)
            m = self.model
            if (
                source.hfield_data.shape != m.hfield_data.shape
                or not np.array_equal(source.hfield_nrow, m.hfield_nrow)
                or not np.array_equal(source.hfield_ncol, m.hfield_ncol)
            ):
                raise ValueError(
                    f"terrain {png} has {source.hfield_nrow[0]}x{source.hfield_ncol[0]} pixels; "
                    f"the env's has {m.hfield_nrow[0]}x{m.hfield_ncol[0]}"
                )
            self.cache[key] = np.array(source.hfield_data, copy=True)
        self.model.hfield_data[:] = self.cache[key]  # the terrain lookup reads the same memory
        self.path = None if png is None else str(png)

    def before_episode(self, outcome: dict | None) -> bool:
        """Ask the schedule for the next terrain; True when the heights changed."""
        if self.schedule is None:
            return False
        png = self.schedule.next_terrain(outcome)
        if png is not None and str(png) != self.path:
            self.set_terrain(png)
            return True
        return False
