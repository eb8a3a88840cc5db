"""Terrain generator kinds, difficulty, true-to-scale heights, and the unseen-terrain command."""

import json

import mujoco
import numpy as np
import pytest

from envs import assets as A
from envs.robot_sim import load_model
from walklab.terrains import KINDS, generate, write_heightmap_png


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_is_deterministic_and_harder_with_difficulty(kind):
    easy, hard = generate(kind, 0.1, seed=5), generate(kind, 0.9, seed=5)
    np.testing.assert_array_equal(easy, generate(kind, 0.1, seed=5))
    assert easy.shape == hard.shape and easy.min() >= 0 and hard.max() <= 1
    steepest = [np.abs(np.diff(h[1:], axis=1)).max() for h in (easy, hard)]  # skip the pinned corner row
    assert steepest[1] > steepest[0]


def test_generated_heights_are_true_to_scale_in_mujoco(tmp_path):
    heights = generate("steps", 0.5, seed=1)
    model = load_model(write_heightmap_png(heights, tmp_path / "steps.png"))
    hid = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_HFIELD, A.HFIELD_NAME)
    n = model.hfield_nrow[hid] * model.hfield_ncol[hid]
    data = model.hfield_data[model.hfield_adr[hid] : model.hfield_adr[hid] + n].reshape(heights.shape)
    # MuJoCo reads the PNG at 8 bits (0.16 mm steps at 4 cm); row 0 of the image is the +y edge
    np.testing.assert_allclose(data, heights[::-1], atol=0.5 / 255 + 1e-6)


def test_bad_kind_or_difficulty_is_refused():
    with pytest.raises(ValueError, match="unknown terrain kind"):
        generate("lava")
    with pytest.raises(ValueError, match="difficulty"):
        generate("rough", 1.5)


def test_unseen_terrain_command_prints_a_row_per_terrain(script, tmp_path):
    pngs = [
        write_heightmap_png(generate(k, 0.5, seed=7, shape=(64, 1024)), tmp_path / f"{k}.png")
        for k in ("hills", "steps")
    ]
    out = tmp_path / "unseen.json"
    proc = script(
        "phases_test/phase5_unseen_terrain.py",
        "--model",
        str(A.ASSETS_DIR / "policies/residual_walk/final_model.zip"),
        "--episodes",
        "1",
        "--seconds",
        "2",
        "--terrains",
        *map(str, pngs),
        "--json",
        str(out),
    )
    assert proc.returncode == 0, proc.stderr
    assert "hills" in proc.stdout and "steps" in proc.stdout and "terrains" in proc.stdout
    rows = json.loads(out.read_text())["terrains"]
    assert len(rows) == 2 and all("improvement_pct" in r for r in rows)


def test_unseen_terrain_command_refuses_missing_terrain(script, tmp_path):
    proc = script(
        "phases_test/phase5_unseen_terrain.py",
        "--model",
        str(A.ASSETS_DIR / "policies/residual_walk/final_model.zip"),
        "--terrains",
        "nope.png",
    )
    assert proc.returncode == 2 and proc.stderr.strip() == "error: terrain file(s) not found: nope.png"


def test_at_points_matches_the_pointwise_lookup_bit_for_bit():
    """The env's one-pass ground sampler equals TerrainHeight(x, y), including off the edges, and
    both interpolate the heightfield: its samples at the nodes, their mean half-way between."""
    from envs.terrain import TerrainHeight

    height = TerrainHeight(load_model(None), "terrain")
    xy = np.random.default_rng(0).uniform(-6.0, 6.0, (20_000, 2))
    np.testing.assert_array_equal(height.at_points(xy), height(xy[:, 0], xy[:, 1]))
    rows, cols = np.random.default_rng(1).integers(0, [height.nrow - 1, height.ncol - 1], (500, 2)).T
    x0, y0 = height.center[0] - height.size[0], height.center[1] - height.size[1]
    dx, dy = 2 * height.size[0] / (height.ncol - 1), 2 * height.size[1] / (height.nrow - 1)
    nodes = np.stack([x0 + cols * dx, y0 + rows * dy], axis=1)
    expected = height.base_z + height.size[2] * height.data[rows, cols]
    np.testing.assert_allclose(height.at_points(nodes), expected, atol=1e-9)
    between = height.at_points(nodes + [dx / 2, 0.0])
    right = height.base_z + height.size[2] * height.data[rows, cols + 1]
    np.testing.assert_allclose(between, (expected + right) / 2, atol=1e-9)
