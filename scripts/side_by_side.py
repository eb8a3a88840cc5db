#!/usr/bin/env python3
"""Join two recorded walks (e.g. trained policy and baseline) into one side-by-side GIF.

python3 scripts/side_by_side.py trained.gif baseline.gif --out assets/policies/residual_walk/walk.gif
"""

from __future__ import annotations

import io
from pathlib import Path

import imageio.v2 as imageio
import numpy as np

from walklab.cli import OneLineErrorParser, fail
from walklab.files import OutputError, atomic_write_bytes, writable_output


def main() -> None:
    p = OneLineErrorParser(description=__doc__.splitlines()[0])
    p.add_argument("left", type=Path, help="first video (.gif or .mp4)")
    p.add_argument("right", type=Path, help="second video (.gif or .mp4)")
    p.add_argument("--out", type=Path, required=True, help="output .gif")
    p.add_argument("--every", type=int, default=2, help="keep every n-th frame (the output plays at input fps / n)")
    p.add_argument("--input-fps", type=int, default=25, help="frame rate the inputs were recorded at")
    args = p.parse_args()
    try:
        writable_output(args.out, label="--out")
    except OutputError as exc:
        fail(str(exc))
    try:
        left = [np.asarray(f)[..., :3] for f in imageio.mimread(args.left, memtest=False)]
        right = [np.asarray(f)[..., :3] for f in imageio.mimread(args.right, memtest=False)]
    except (OSError, ValueError) as exc:
        fail(f"cannot read the input videos ({exc})")
    n = min(len(left), len(right))
    frames = [np.concatenate([left[i], right[i]], axis=1) for i in range(0, n, args.every)]
    buffer = io.BytesIO()
    imageio.mimsave(buffer, frames, format="GIF", duration=1000.0 * args.every / args.input_fps, loop=0)
    atomic_write_bytes(args.out, buffer.getvalue())
    print(f"saved {args.out} ({len(frames)} frames, {args.out.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
