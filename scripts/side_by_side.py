#!/usr/bin/env python3
"""Join two recorded walks (e.g. trained policy and baseline) into one side-by-side GIF.

    python3 scripts/side_by_side.py trained.gif baseline.gif --out assets/policies/residual_walk/walk.gif
"""
from __future__ import annotations

import argparse
from pathlib import Path

import imageio.v2 as imageio
import numpy as np


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("left", type=Path, help="first video (.gif or .mp4)")
    p.add_argument("right", type=Path, help="second video (.gif or .mp4)")
    p.add_argument("--out", type=Path, required=True, help="output .gif")
    p.add_argument("--fps", type=int, default=20, help="frames per second of the output")
    args = p.parse_args()
    left = [np.asarray(f)[..., :3] for f in imageio.mimread(args.left, memtest=False)]
    right = [np.asarray(f)[..., :3] for f in imageio.mimread(args.right, memtest=False)]
    n = min(len(left), len(right))
    frames = [np.concatenate([left[i], right[i]], axis=1) for i in range(n)]
    tmp = args.out.with_name(f".{args.out.stem}.tmp.gif")
    imageio.mimsave(tmp, frames, duration=1000.0 / args.fps, loop=0)
    tmp.replace(args.out)
    print(f"saved {args.out} ({n} frames)")


if __name__ == "__main__":
    main()
