"""A terrain file checked without MuJoCo: is it a heightfield PNG MuJoCo can load?

Light on purpose (Pillow, no MuJoCo): the scripts check a terrain the user named while parsing
their flags, before MUJOCO_GL is chosen and MuJoCo loads. ``envs.robot_sim.load_model`` runs
the same check first, so the message is the same wherever a bad file is met.
"""

from __future__ import annotations

from pathlib import Path

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MIN_SIZE = 2  # MuJoCo: "hfield dimensions must be at least 2"
HINT = "give a greyscale heightfield PNG, e.g. assets/hfield.png"


class TerrainFileError(ValueError):
    """The terrain PNG is missing or unreadable."""


def check_terrain_file(path: str | Path) -> Path:
    """`path` when it is a PNG MuJoCo can read as a heightfield: the PNG signature, every chunk's
    CRC, the pixels decoded to the end, at least 2 x 2. Otherwise a one-line TerrainFileError."""
    png = Path(path)
    if not png.is_file():
        raise TerrainFileError(f"terrain file not found: {png} (give a greyscale PNG, e.g. assets/hfield.png)")
    try:
        with open(png, "rb") as fh:
            head = fh.read(len(PNG_SIGNATURE))
    except OSError as exc:
        raise TerrainFileError(f"cannot read terrain {png} ({exc.strerror or exc})") from exc
    if head != PNG_SIGNATURE:
        raise TerrainFileError(f"cannot load terrain {png}: it is not a PNG file; {HINT}")
    from PIL import Image  # here: importing this module stays cheap

    try:
        with Image.open(png) as image:
            image.verify()  # every chunk's CRC, up to IEND
        with Image.open(png) as image:
            image.load()  # the compressed pixels decode to the end
            size = image.size
    except Exception as exc:  # PIL raises OSError, SyntaxError, ValueError ... for a damaged file
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise TerrainFileError(f"cannot load terrain {png}: a damaged PNG ({reason}); {HINT}") from exc
    if min(size) < MIN_SIZE:
        raise TerrainFileError(
            f"cannot load terrain {png}: {size[0]} x {size[1]} pixels, a heightfield needs at least "
            f"{MIN_SIZE} x {MIN_SIZE}; {HINT}"
        )
    return png
