"""Terrain curriculum for training (``--curriculum``), after legged_gym's: per env a difficulty level
that rises when the env walks far enough in an episode and falls when it fails.

The terrains are generated once into the run directory, ``<run_dir>/terrains/<kind>_L<k>.png``
for every kind of ``walklab.terrains.KINDS`` and levels ``k = 0 .. curriculum_levels - 1``
(difficulty ``k / (levels - 1)``, seed ``CURRICULUM_SEED + k``: none of them is in the standard
unseen set of phase 5, seed 101). Each training env gets a :class:`TerrainCurriculum`
(``ResidualWalkEnv.set_terrain_schedule``); at every reset it updates the env's level from the
episode that just ended (:func:`next_level`), draws a kind at random and swaps that level's
heights into the env's model in place (``ResidualWalkEnv.set_terrain``: compiled once per PNG
and worker, about 70 ms, then a memory copy per switch; no recompilation per episode).

The rule, after legged_gym's (promotion on distance walked, demotion relative to the command),
with ``nominal`` the trot's no-slip speed (2 x step_length / cycle_time, 0.15 m/s for the default
gait), ``reference`` the episode's commanded speed (commands on) or else ``nominal``, and
``speed`` the distance walked along x divided by the episode's duration:
- a fall (``envs.residual_walk_env.is_fall``): down one level;
- else ``speed >= curriculum_promote x nominal`` (0.7): up one level. The bar is the same for
  every command, so an env told to walk slowly is not promoted for doing so (DIAGNOSIS.md: a
  bar relative to each episode's own command sent every env to the top level within 200k steps);
- else ``speed < curriculum_demote x reference`` (0.35): down one level;
- else the level stays. Levels stay within 0 .. levels - 1; every env starts at level 0.
Without commands ``reference`` is ``nominal`` and both bars are fractions of the trot's speed.

With ``curriculum_own_terrain`` p > 0, each episode walks the run's own terrain (``--terrain``,
default ``assets/hfield.png``, the one evaluation uses) with probability p instead of a level's
kind (``kind`` is then ``"own"``), and such an episode leaves the level as it is: the levels
still measure the generated terrains only. At p = 0 nothing changes, not even the random stream.

The levels go to TensorBoard after every rollout (``curriculum/level_mean``,
``curriculum/level_<i>``) and to ``<run_dir>/curriculum.json`` (``walklab.callbacks.
CurriculumCallback``); ``--resume`` reads that file and starts each env at its saved level.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import mujoco
import numpy as np

from envs import assets as A
from envs.assets import DEFAULT_TERRAIN_PNG
from envs.robot_sim import load_model
from walklab.files import atomic_write_json
from walklab.terrains import KINDS, generate, write_heightmap_png

TERRAIN_DIR = "terrains"  # under the run directory
STATE_NAME = "curriculum.json"  # in the run directory
OWN_KIND = "own"  # TerrainCurriculum.kind of an episode on the run's own terrain
CURRICULUM_SEED = 202  # level k's terrains use seed 202 + k (the default terrain is 3, the unseen set 101)


def level_difficulty(level: int, n_levels: int) -> float:
    """walklab.terrains difficulty in [0, 1] of a level."""
    return level / (n_levels - 1)


def terrain_path(folder: Path, kind: str, level: int) -> Path:
    return Path(folder) / f"{kind}_L{level}.png"


def write_level_terrains(folder: Path, n_levels: int, terrain: str | None = None) -> list[Path]:
    """Every kind at every level as PNGs in `folder`, sized like the heightfield of `terrain`
    (None: the default terrain); files already there are kept. Returns the paths."""
    model = load_model(terrain)
    hid = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_HFIELD, A.HFIELD_NAME)
    shape = (int(model.hfield_nrow[hid]), int(model.hfield_ncol[hid]))
    size = model.hfield_size[hid]
    pixel_size, elevation = 2.0 * float(size[0]) / shape[1], float(size[2])
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for level in range(n_levels):
        for kind in KINDS:
            path = terrain_path(folder, kind, level)
            if not path.is_file():
                heights = generate(
                    kind,
                    level_difficulty(level, n_levels),
                    CURRICULUM_SEED + level,
                    shape=shape,
                    pixel_size=pixel_size,
                    elevation=elevation,
                )
                write_heightmap_png(heights, path)
            paths.append(path)
    return paths


def next_level(level: int, n_levels: int, outcome: dict[str, Any] | None, promote: float, demote: float) -> int:
    """The level after an episode with `outcome` (see ``ResidualWalkEnv.set_terrain_schedule``)."""
    if outcome is None or outcome["seconds"] <= 0:
        return level
    if outcome["fell"]:
        return max(level - 1, 0)
    nominal = abs(outcome["nominal_mps"])
    reference = abs(outcome["command_mps"]) if outcome.get("command_mps") is not None else nominal
    speed = outcome["distance_m"] / outcome["seconds"]
    if speed >= promote * nominal:
        return min(level + 1, n_levels - 1)
    if speed < demote * reference:
        return max(level - 1, 0)
    return level


class TerrainCurriculum:
    """One env's curriculum: its level, and the terrain it walks next (a ResidualWalkEnv terrain schedule)."""

    def __init__(
        self,
        folder: str | Path,
        n_levels: int,
        promote: float,
        demote: float,
        level: int = 0,
        seed: int = 0,
        kinds: tuple[str, ...] = KINDS,
        own_terrain: str | Path | None = None,
        own_fraction: float = 0.0,
    ):
        if own_fraction > 0 and own_terrain is None:
            raise ValueError("TerrainCurriculum: own_fraction > 0 needs own_terrain, the run's terrain PNG")
        self.folder = str(folder)
        self.own_terrain = None if own_terrain is None else str(own_terrain)
        self.own_fraction = float(own_fraction)
        self.n_levels, self.promote, self.demote = int(n_levels), float(promote), float(demote)
        self.level = int(min(max(level, 0), n_levels - 1))
        self.kinds = tuple(kinds)
        self.kind = self.kinds[0]
        self.rng = np.random.default_rng(seed)
        self.episodes = self.promotions = self.demotions = 0

    def next_terrain(self, outcome: dict[str, Any] | None) -> str:
        if outcome is not None and self.kind == OWN_KIND:
            self.episodes += 1  # an episode on the run's own terrain: the level stays
        elif outcome is not None:
            self.episodes += 1
            new = next_level(self.level, self.n_levels, outcome, self.promote, self.demote)
            self.promotions += new > self.level
            self.demotions += new < self.level
            self.level = new
        if self.own_fraction > 0 and self.rng.random() < self.own_fraction:
            self.kind = OWN_KIND
            return self.own_terrain
        self.kind = self.kinds[int(self.rng.integers(len(self.kinds)))]
        return str(terrain_path(Path(self.folder), self.kind, self.level))


def load_state(run_dir: Path) -> dict | None:
    """The saved curriculum of a run (``curriculum.json``), or None when there is none or it is unreadable."""
    path = Path(run_dir) / STATE_NAME
    try:
        state = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return state if isinstance(state, dict) and isinstance(state.get("levels"), list) else None


def save_state(run_dir: Path, levels: list[int], n_levels: int, num_timesteps: int) -> Path:
    return atomic_write_json(
        Path(run_dir) / STATE_NAME,
        {
            "levels": [int(v) for v in levels],
            "n_levels": int(n_levels),
            "level_mean": float(np.mean(levels)) if levels else 0.0,
            "num_timesteps": int(num_timesteps),
        },
    )


def install(vec, run_dir: Path, env_config, seed: int) -> list[int]:
    """Write the level terrains into the run directory (once) and give every env of `vec` its
    TerrainCurriculum, at the levels saved in curriculum.json when the run is resumed; returns them."""
    n_levels = env_config.curriculum_levels
    folder = Path(run_dir) / TERRAIN_DIR
    write_level_terrains(folder, n_levels, env_config.terrain)
    saved = load_state(run_dir)
    levels = [0] * vec.num_envs
    if saved is not None and saved.get("n_levels") == n_levels:
        for i in range(vec.num_envs):
            if saved["levels"]:
                levels[i] = int(saved["levels"][i % len(saved["levels"])])
        print(f"curriculum: resumed at levels {levels} (of 0..{n_levels - 1}) from {Path(run_dir) / STATE_NAME}")
    own_terrain = Path(env_config.terrain) if env_config.terrain else DEFAULT_TERRAIN_PNG
    for i, level in enumerate(levels):
        schedule = TerrainCurriculum(
            folder.resolve(),
            n_levels,
            env_config.curriculum_promote,
            env_config.curriculum_demote,
            level=level,
            seed=seed * 1000 + i,
            own_terrain=own_terrain.resolve(),
            own_fraction=env_config.curriculum_own_terrain,
        )
        vec.env_method("set_terrain_schedule", schedule, indices=[i])
    return levels
