#!/usr/bin/env python3
"""Join two recorded walks (e.g. trained policy and baseline) into one side-by-side GIF.

python3 scripts/side_by_side.py trained.gif baseline.gif --out assets/policies/residual_walk/walk.gif
"""

from __future__ import annotations

import argparse
import io

import imageio.v2 as imageio
import numpy as np

from walklab.cli import OneLineErrorParser, fail, input_file, number, output_file
from walklab.files import atomic_write_bytes

# The cheapest complete run, from the repository root ({tmp}: a scratch folder); the fuzz suite
# (tests/test_cli_fuzz.py) starts every case from it.
SMOKE_ARGS = [
    "assets/policies/residual_walk/walk.gif",
    "assets/policies/residual_walk/walk.gif",
    "--out",
    "{tmp}/side_by_side.gif",
    "--every",
    "40",
]


def build_parser() -> OneLineErrorParser:
    p = OneLineErrorParser(description=__doc__.splitlines()[0])
    p.add_argument("left", type=input_file(".gif", ".mp4"), help="first video (.gif or .mp4)")
    p.add_argument("right", type=input_file(".gif", ".mp4"), help="second video (.gif or .mp4)")
    p.add_argument("--out", type=output_file(".gif"), required=True, help="output .gif")
    p.add_argument(
        "--every",
        type=number(int, low=1, high=1000),
        default=2,
        help="keep every n-th frame (the output plays at input fps / n)",
    )
    p.add_argument(
        "--input-fps", type=number(int, low=1, high=1000), default=25, help="frame rate the inputs were recorded at"
    )
    return p


def parse_args(argv=None) -> argparse.Namespace:
    return build_parser().parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    try:
        left = [np.asarray(f)[..., :3] for f in imageio.mimread(args.left, memtest=False)]
        right = [np.asarray(f)[..., :3] for f in imageio.mimread(args.right, memtest=False)]
    except (OSError, ValueError, RuntimeError) as exc:
        fail(f"cannot read the input videos ({exc})")
    n = min(len(left), len(right))
    frames = [np.concatenate([left[i], right[i]], axis=1) for i in range(0, n, args.every)]
    buffer = io.BytesIO()
    imageio.mimsave(buffer, frames, format="GIF", duration=1000.0 * args.every / args.input_fps, loop=0)
    atomic_write_bytes(args.out, buffer.getvalue())
    print(f"saved {args.out} ({len(frames)} frames, {args.out.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
