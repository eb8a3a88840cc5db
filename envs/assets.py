"""Where the shared model files are: the terrain, the policies, and the scenes' terrain names.

Paths resolve from this package's own location, so scripts work from any directory. Each robot's
own files, names and physics settings (timestep, frame skip) are in its description,
``assets/robots/<name>/robot.json`` (``envs.robot``); ``tests/test_assets.py`` compiles the scenes.
"""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
ASSETS_DIR = REPO_ROOT / "assets"
DEFAULT_TERRAIN_PNG = ASSETS_DIR / "hfield.png"
POLICIES_DIR = ASSETS_DIR / "policies"
MAX_FRAME_PIXELS = 4096  # a rendered frame's width or height (the offscreen buffer grows to it)
FLAT_TERRAIN = "flat"  # terrain value that selects the flat floor scene instead of a heightfield

TERRAIN_GEOM_NAME = "terrain"
HFIELD_NAME = "terrain"
HFIELD_VISUAL_NAME = "terrain_visual"  # drawn-only copy of the terrain at lower resolution

LEGACY_PHYSICS_TIMESTEP = 0.002  # s, the physics step of runs whose config.json records none
