"""Where the model files are and the physics settings they are compiled with.

Paths resolve from this package's own location, so scripts work from any directory. Every name
here must match ``assets/*.xml``; ``tests/test_assets.py`` compiles the scenes and checks.
"""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
ASSETS_DIR = REPO_ROOT / "assets"
ROBOT_XML = ASSETS_DIR / "quadruped.xml"
SCENE_ROUGH_XML = ASSETS_DIR / "scene_rough.xml"
SCENE_FLAT_XML = ASSETS_DIR / "scene_flat.xml"
DEFAULT_TERRAIN_PNG = ASSETS_DIR / "hfield.png"
POLICIES_DIR = ASSETS_DIR / "policies"
MAX_FRAME_PIXELS = 4096  # a rendered frame's width or height (the offscreen buffer grows to it)
FLAT_TERRAIN = "flat"  # terrain value that selects the flat floor scene instead of a heightfield

TRUNK_BODY_NAME = "trunk"
TERRAIN_GEOM_NAME = "terrain"
HFIELD_NAME = "terrain"
HFIELD_VISUAL_NAME = "terrain_visual"  # drawn-only copy of the terrain at lower resolution

PHYSICS_TIMESTEP = 0.004  # s, must equal <option timestep> in quadruped.xml (bench/THROUGHPUT_NOTES.md)
CONTROL_FRAME_SKIP = 5  # physics steps per control step: 0.004 s x 5 = 50 Hz control
LEGACY_PHYSICS_TIMESTEP = 0.002  # s, the physics step of runs whose config.json records none
