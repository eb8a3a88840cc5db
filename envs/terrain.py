"""Heightfield terrain: generate terrain PNGs and look up ground height under a point.

Generators take heights in metres as if a pixel value of 1.0 were ``elevation`` (0.04 m).
MuJoCo, however, stretches every PNG so that its darkest pixel is height 0 and its brightest is
the hfield's ``size[2]``: a terrain whose tallest point is below ``elevation`` comes out taller
by ``elevation / tallest``. ``main`` prints that factor. The default terrain's tallest point
is 64 % of the elevation, so its real heights are 1.57 x the nominal ones: ridges 2.1 to 2.8 cm
on bumps of up to 1.25 cm, 4 cm from lowest to highest point.

    python -m envs.terrain --kind ridges --seed 3 --out assets/hfield.png

``generate(kind, difficulty, seed)`` makes terrains of every kind at a chosen difficulty and
pins one corner pixel to 0 and the next to 1, so MuJoCo's stretch is exactly 1 and the heights
are what they say (the corner is at the field's edge, where the robot never walks):

    python -m envs.terrain --kind steps --difficulty 0.6 --seed 11 --out runs/terrains/steps.png
"""

from __future__ import annotations

import argparse
from pathlib import Path

import mujoco
import numpy as np
from PIL import Image


def rough_heightmap(shape: tuple[int, int], seed: int, feature_px: float = 3.0) -> np.ndarray:
    """Smooth random bumps in [0, 1], shape (rows, cols); feature_px is the bump width in pixels."""
    rng = np.random.default_rng(seed)
    rows, cols = shape
    noise = rng.standard_normal(shape)
    fy = np.fft.fftfreq(rows)[:, None]
    fx = np.fft.fftfreq(cols)[None, :]
    kernel = np.exp(-2 * (np.pi * feature_px) ** 2 * (fx**2 + fy**2))  # Gaussian blur in Fourier space
    smooth = np.real(np.fft.ifft2(np.fft.fft2(noise) * kernel))
    lo, hi = np.percentile(smooth, [0.5, 99.5])
    return np.clip((smooth - lo) / (hi - lo), 0.0, 1.0)


DEFAULT_SHAPE = (320, 1024)  # pixels (rows along y, cols along x): 1 cm per pixel on the 10.24 x 3.2 m field
DEFAULT_PIXEL_SIZE = 0.01  # m
DEFAULT_ELEVATION = 0.04  # m, hfield size[2] in scene_rough.xml: a pixel value of 1.0 is this high


def ridged_heightmap(
    shape: tuple[int, int] = DEFAULT_SHAPE,
    seed: int = 3,
    spacing: float = 0.3,  # m, mean distance between ridges along x (jittered x0.7..1.3)
    ridge_height: float = 0.018,  # m, tallest ridge (each segment 0.75..1.0 of it)
    ridge_width: float = 0.02,  # m, flat top; each side ramps over 2 px
    base_roughness: float = 0.008,  # m, amplitude of the smooth bumps under everything
    pixel_size: float = DEFAULT_PIXEL_SIZE,
    elevation: float = DEFAULT_ELEVATION,
) -> np.ndarray:
    """Broken transverse ridges on gentle bumps, heights in [0, 1] of `elevation` (see the module doc
    for how MuJoCo rescales them)."""
    rng = np.random.default_rng(seed)
    rows, cols = shape
    h = rough_heightmap(shape, seed, feature_px=4.0) * base_roughness / elevation
    width_px = max(1, int(round(ridge_width / pixel_size)))
    profile = np.minimum(1.0, np.minimum(np.arange(width_px + 2) + 1, width_px + 2 - np.arange(width_px + 2)) / 2.0)
    x = rng.uniform(0, spacing)
    while x < cols * pixel_size:
        col = int(x / pixel_size)
        row = 0
        while row < rows:
            seg = int(rng.uniform(0.1, 0.4) / pixel_size)  # segment length along y
            height = ridge_height / elevation * rng.uniform(0.75, 1.0)
            for k, p in enumerate(profile):
                if col + k < cols:
                    h[row : row + seg, col + k] += height * p
            row += seg + int(rng.uniform(0.0, 0.06) / pixel_size)  # gaps between segments
        x += spacing * rng.uniform(0.7, 1.3)
    return np.clip(h, 0.0, 1.0)


KINDS = ("ridges", "rough", "slopes", "steps", "hills")


def generate(
    kind: str,
    difficulty: float = 0.5,
    seed: int = 0,
    shape: tuple[int, int] = DEFAULT_SHAPE,
    pixel_size: float = DEFAULT_PIXEL_SIZE,
    elevation: float = DEFAULT_ELEVATION,
) -> np.ndarray:
    """Heights in [0, 1] of `elevation` for a terrain `kind` at `difficulty` in [0, 1] (0 easy, 1 hard).

    ridges: transverse ridges 1 to 3.5 cm high every ~30 cm; rough: bumps of 1 to 4 cm, 4 cm wide;
    slopes: up-and-down ramps of 4 to 16 degrees; steps: stairs of 0.5 to 2.5 cm risers, 20 cm
    treads; hills: smooth swells of 1 to 4 cm, 40 cm wide.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown terrain kind {kind!r}; choose one of {', '.join(KINDS)}")
    if not 0.0 <= difficulty <= 1.0:
        raise ValueError(f"difficulty must be in [0, 1], got {difficulty}")
    rng = np.random.default_rng(seed)
    rows, cols = shape
    x = np.arange(cols) * pixel_size  # m along the walking direction
    if kind == "ridges":
        metres = (
            ridged_heightmap(
                shape,
                seed,
                ridge_height=0.01 + 0.025 * difficulty,
                base_roughness=0.004 + 0.006 * difficulty,
                pixel_size=pixel_size,
                elevation=elevation,
            )
            * elevation
        )
    elif kind == "rough":
        metres = rough_heightmap(shape, seed, feature_px=0.04 / pixel_size) * (0.01 + 0.03 * difficulty)
    elif kind == "hills":
        metres = rough_heightmap(shape, seed, feature_px=0.4 / pixel_size) * (0.01 + 0.03 * difficulty)
    elif kind == "slopes":
        grade = np.tan(np.radians(4.0 + 12.0 * difficulty))
        run = 0.9 * elevation / grade  # m of ramp from bottom to top
        phase = (x + rng.uniform(0, 2 * run)) % (2 * run)
        profile = grade * np.minimum(phase, 2 * run - phase)
        metres = np.broadcast_to(profile, shape).copy()
    else:  # steps
        riser = 0.005 + 0.02 * difficulty
        levels = int(0.9 * elevation // riser)
        tread = 0.2
        index = ((x + rng.uniform(0, tread)) // tread).astype(int) % (2 * levels)
        profile = riser * np.minimum(index, 2 * levels - index)
        metres = np.broadcast_to(profile, shape).copy()
    heights = np.clip(metres / elevation, 0.0, 1.0)
    heights[0, 0], heights[0, 1] = 0.0, 1.0  # pin MuJoCo's min-max stretch to exactly 1
    return heights


def write_heightmap_png(heights: np.ndarray, path: str | Path) -> Path:
    """Save heights in [0, 1] as a 16-bit greyscale PNG (row 0 = +y edge, as MuJoCo reads it)."""
    import io

    from walklab.files import atomic_write_bytes  # the toolkit's one atomic writer (a stdlib-only module)

    buffer = io.BytesIO()
    Image.fromarray(np.round(np.clip(heights, 0, 1) * 65535).astype(np.uint16)).save(buffer, format="PNG")
    return atomic_write_bytes(path, buffer.getvalue())


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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Write a heightfield PNG for scene_rough.xml.")
    parser.add_argument("--kind", choices=KINDS, default="ridges", help="terrain kind")
    parser.add_argument(
        "--difficulty",
        type=float,
        default=None,
        help="0 (easy) to 1 (hard): use generate(), true-to-scale heights; without it, "
        "ridges/rough are drawn as the default terrain was",
    )
    parser.add_argument("--seed", type=int, default=3, help="random seed")
    parser.add_argument("--out", type=Path, required=True, help="output PNG path")
    parser.add_argument("--ridge-height", type=float, default=0.018, help="ridges: tallest ridge (m)")
    parser.add_argument("--spacing", type=float, default=0.3, help="ridges: mean ridge spacing (m)")
    parser.add_argument("--feature-px", type=float, default=4.0, help="rough: bump width (pixels)")
    args = parser.parse_args(argv)
    if args.difficulty is not None or args.kind not in ("ridges", "rough"):
        try:
            heights = generate(args.kind, 0.5 if args.difficulty is None else args.difficulty, args.seed)
        except ValueError as exc:
            parser.error(str(exc))
        print(
            f"wrote {write_heightmap_png(heights, args.out)} ({args.kind}, true to scale at size[2] = "
            f"{DEFAULT_ELEVATION} m)"
        )
        return
    if args.kind == "ridges":
        heights = ridged_heightmap(seed=args.seed, ridge_height=args.ridge_height, spacing=args.spacing)
    else:
        heights = rough_heightmap(DEFAULT_SHAPE, args.seed, feature_px=args.feature_px)
    print(f"wrote {write_heightmap_png(heights, args.out)}")
    if heights.max() > 0:
        print(
            f"MuJoCo stretches it to the hfield's full elevation: heights x {1.0 / heights.max():.2f} "
            f"(x {DEFAULT_ELEVATION / heights.max() * 100:.2f} cm per unit at size[2] = {DEFAULT_ELEVATION} m)"
        )


if __name__ == "__main__":
    main()
