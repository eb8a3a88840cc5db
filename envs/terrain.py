"""Ground height under a point of a model's heightfield, for one robot or many.

The per-step lookup the env needs (``TerrainHeight``, ``TerrainTable``). Terrain generation,
``python -m walklab.terrains``, belongs to the toolkit (``walklab/terrains.py``).
"""

from __future__ import annotations

import sys

import mujoco
import numpy as np


class TerrainHeight:
    """Ground height (m, world z) of a model's heightfield geom at world (x, y), bilinear."""

    def __init__(self, model: mujoco.MjModel, geom_name: str):
        geom_id = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_GEOM, geom_name)
        if geom_id < 0 or model.geom_type[geom_id] != mujoco.mjtGeom.mjGEOM_HFIELD:
            self.flat = True
            self.base_z = 0.0
            self.half_length = self.half_width = float("inf")
            return
        self.flat = False
        hid = model.geom_dataid[geom_id]
        self.nrow = int(model.hfield_nrow[hid])
        self.ncol = int(model.hfield_ncol[hid])
        adr = int(model.hfield_adr[hid])
        self.data = np.asarray(model.hfield_data[adr : adr + self.nrow * self.ncol]).reshape(self.nrow, self.ncol)
        self.size = model.hfield_size[hid]  # (radius_x, radius_y, elevation_z, base_z)
        self.center = model.geom_pos[geom_id][:2].copy()
        self.base_z = float(model.geom_pos[geom_id][2])
        self.half_length = float(self.size[0])  # m, terrain spans [-half_length, half_length] in x
        self.half_width = float(self.size[1])  # m
        self._flat = self.data.ravel()
        # (x, y) world pairs -> (column, row) cell pairs
        self._origin = np.array([self.center[0] - self.size[0], self.center[1] - self.size[1]])
        self._cells_per_m = np.array([(self.ncol - 1) / (2 * self.size[0]), (self.nrow - 1) / (2 * self.size[1])])
        self._max_cell = np.array([float(self.ncol - 1), float(self.nrow - 1)])
        self._max_corner = np.array([self.ncol - 2, self.nrow - 2])
        self._corners = np.array([0, 1, self.ncol, self.ncol + 1])  # flat offsets of a cell's 4 corners

    def at_points(self, xy: np.ndarray) -> np.ndarray:
        """Heights (N,) at the (N, 2) world points `xy`, bilinear between the heightfield's samples
        (x and y go through each numpy operation together: the env calls this every step)."""
        if self.flat:
            return np.zeros(len(xy))
        # MuJoCo: column index along +x, row index along +y, (0, 0) at (-rx, -ry).
        uv = np.minimum(np.maximum((xy - self._origin) * self._cells_per_m, 0.0), self._max_cell)
        corner = np.minimum(uv.astype(np.intp), self._max_corner)
        f = uv - corner
        i00 = corner[:, 1] * self.ncol + corner[:, 0]
        h = self._flat[i00[:, None] + self._corners]  # (N, 4): (c, r), (c+1, r), (c, r+1), (c+1, r+1)
        fu = f[:, 0]
        h0 = h[:, 0] + fu * (h[:, 1] - h[:, 0])
        h1 = h[:, 2] + fu * (h[:, 3] - h[:, 2])
        return self.base_z + self.size[2] * (h0 + f[:, 1] * (h1 - h0))

    def __call__(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Heights at world points (x, y) of any broadcastable shapes (see at_points)."""
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        shape = np.broadcast(x, y).shape
        if self.flat:
            return np.zeros(shape)
        xy = np.stack(np.broadcast_arrays(x, y), axis=-1).reshape(-1, 2)
        return self.at_points(xy).reshape(shape)


class TerrainTable:
    """Ground heights for N robots at once, each on its own heightfield (``TerrainHeight`` per robot).

    Robots that share one ``TerrainHeight`` are looked up together; robots on their own models
    read a stacked copy of their heights, refreshed per robot by :meth:`refresh` after a terrain
    switch or a randomised elevation. Every value equals ``TerrainHeight.at_points``' bit for bit.
    """

    def __init__(self, terrains: list[TerrainHeight]):
        self.terrains = list(terrains)
        self.shared = all(t is self.terrains[0] for t in self.terrains)
        first = self.terrains[0]
        self.flat = first.flat
        if self.shared or self.flat:
            return
        self._heights = np.stack([t._flat for t in self.terrains])  # (N, cells)
        self._scale = np.array([float(t.size[2]) for t in self.terrains])
        self._row_offset = (np.arange(len(self.terrains)) * self._heights.shape[1])[:, None, None]
        self._all = self._heights.reshape(-1)

    def refresh(self, i: int) -> None:
        """Robot i's heights or elevation changed in its model."""
        if not (self.shared or self.flat):
            self._heights[i] = self.terrains[i]._flat
            self._scale[i] = float(self.terrains[i].size[2])

    def at_points(self, xy: np.ndarray, ids=slice(None)) -> np.ndarray:
        """Heights (n, P) at the world points `xy` (n, P, 2) of the robots `ids`, each on its own terrain."""
        n, p = xy.shape[:2]
        if self.flat:
            return np.zeros((n, p))
        if self.shared:
            return self.terrains[0].at_points(xy.reshape(-1, 2)).reshape(n, p)
        t = self.terrains[0]  # the same grid for every robot (Batch needs equal sizes)
        uv = np.minimum(np.maximum((xy - t._origin) * t._cells_per_m, 0.0), t._max_cell)
        corner = np.minimum(uv.astype(np.intp), t._max_corner)
        f = uv - corner
        i00 = corner[..., 1] * t.ncol + corner[..., 0]
        h = self._all[self._row_offset[ids] + i00[..., None] + t._corners]  # (N, P, 4)
        fu = f[..., 0]
        h0 = h[..., 0] + fu * (h[..., 1] - h[..., 0])
        h1 = h[..., 2] + fu * (h[..., 3] - h[..., 2])
        return t.base_z + self._scale[ids, None] * (h0 + f[..., 1] * (h1 - h0))


if __name__ == "__main__":
    print(
        "error: the terrain generator moved: run python -m walklab.terrains with the same flags "
        "(e.g. python -m walklab.terrains --kind steps --difficulty 0.6 --seed 11 --out runs/terrains/steps.png)",
        file=sys.stderr,
    )
    sys.exit(2)
