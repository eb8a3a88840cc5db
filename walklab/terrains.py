"""Heightfield terrains: generate terrain PNGs of every kind and difficulty (``python -m walklab.terrains``).

Generators take heights in metres as if a pixel value of 1.0 were ``elevation`` (0.04 m).
MuJoCo, however, stretches every PNG so that its darkest pixel is height 0 and its brightest is
the hfield's ``size[2]``: a terrain whose tallest point is below ``elevation`` comes out taller
by ``elevation / tallest``. ``main`` prints that factor. The default terrain's tallest point
is 64 % of the elevation, so its real heights are 1.57 x the nominal ones: ridges 2.1 to 2.8 cm
on bumps of up to 1.25 cm, 4 cm from lowest to highest point.

    python -m walklab.terrains --kind ridges --seed 3 --out assets/hfield.png

``generate(kind, difficulty, seed)`` makes terrains of every kind at a chosen difficulty and
pins one corner pixel to 0 and the next to 1, so MuJoCo's stretch is exactly 1 and the heights
are what they say (the corner is at the field's edge, where the robot never walks):

    python -m walklab.terrains --kind steps --difficulty 0.6 --seed 11 --out runs/terrains/steps.png
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import numpy as np
from PIL import Image

from walklab.cli import SEED, OneLineErrorParser, number, output_file
from walklab.files import atomic_write_bytes


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
    if not hi > lo:  # bumps wider than the field blur to a constant: a flat floor
        return np.zeros(shape)
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
    buffer = io.BytesIO()
    Image.fromarray(np.round(np.clip(heights, 0, 1) * 65535).astype(np.uint16)).save(buffer, format="PNG")
    return atomic_write_bytes(path, buffer.getvalue())


# The cheapest complete run, from the repository root ({tmp}: a scratch folder); the fuzz suite
# (tests/test_cli_fuzz.py) starts every case from it.
SMOKE_ARGS = ["--out", "{tmp}/terrain.png"]


def build_parser() -> OneLineErrorParser:
    parser = OneLineErrorParser(
        prog="python -m walklab.terrains", description="Write a heightfield PNG for scene_rough.xml."
    )
    parser.add_argument("--kind", choices=KINDS, default="ridges", help="terrain kind")
    parser.add_argument(
        "--difficulty",
        type=number(float, low=0, high=1),
        default=None,
        help="0 (easy) to 1 (hard): use generate(), true-to-scale heights; without it, "
        "ridges/rough are drawn as the default terrain was",
    )
    parser.add_argument("--seed", type=SEED, default=3, help="random seed")
    parser.add_argument("--out", type=output_file(".png"), required=True, help="output PNG path")
    parser.add_argument(
        "--ridge-height",
        type=number(float, low=0, high=DEFAULT_ELEVATION),
        default=0.018,
        help="ridges: tallest ridge (m)",
    )
    parser.add_argument(
        "--spacing", type=number(float, low=0.05, high=10.0), default=0.3, help="ridges: mean ridge spacing (m)"
    )
    parser.add_argument(
        "--feature-px", type=number(float, low=0.5, high=200.0), default=4.0, help="rough: bump width (pixels)"
    )
    return parser


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    return build_parser().parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.difficulty is not None or args.kind not in ("ridges", "rough"):
        heights = generate(args.kind, 0.5 if args.difficulty is None else args.difficulty, args.seed)  # flags checked
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
