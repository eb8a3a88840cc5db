"""Terrain switching: another heightfield PNG's heights, swapped into a robot's model in place.

``TerrainFiles.heights(png, model)`` compiles each PNG once, by MuJoCo's own loader, and caches
its heights (one cache for the robots of a core), so nothing is recompiled per episode.
``WalkCore.set_terrain(i, png)`` copies them into robot i's model, and a terrain schedule (the
training's curriculum) picks the terrain at every reset (``WalkCore.set_terrain_schedule``).
"""

from __future__ import annotations

import mujoco
import numpy as np

from envs.robot_sim import load_model


class TerrainFiles:
    """The heights of every terrain PNG the robots of a core walked on, each loaded once."""

    def __init__(self, configured: str | None, flat: bool):
        self.configured = configured  # the config's terrain: what png None means
        self.flat = flat
        self.cache: dict[str, np.ndarray] = {}

    def heights(self, png: str | None, model: mujoco.MjModel) -> np.ndarray:
        """`png`'s heights (None: the configured terrain's) for `model`'s heightfield; same pixel size only."""
        key = str(png) if png is not None else (self.configured or "")
        if key not in self.cache:
            if self.flat:
                raise ValueError("set_terrain needs a heightfield scene, not the flat floor")
            source = load_model(png if png is not None else self.configured)
            m = model
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
        return self.cache[key]
