"""TorchScript export of the shipped policy: same actions as SB3, working CLI, clean failure on bad input.

    .venv/bin/python -m pytest tests/test_export.py
"""
import shutil

import numpy as np
import pytest
import torch

from envs import assets as A
from tests.conftest import run_script
from walklab.export import export_torchscript
from walklab.runs import open_policy

SHIPPED = A.ASSETS_DIR / "policies" / "residual_walk"
MODEL, STATS = SHIPPED / "final_model.zip", SHIPPED / "vec_normalize.pkl"


def test_exported_module_matches_the_sb3_policy_on_a_seeded_rollout(tmp_path):
    out = export_torchscript(MODEL, STATS, tmp_path / "policy.pt")
    assert out == tmp_path / "policy.pt" and sorted(p.name for p in tmp_path.iterdir()) == ["policy.pt"]
    module = torch.jit.load(str(out))
    _, env, loaded = open_policy(MODEL, STATS)
    assert module.obs_dim == env.observation_space.shape[0] == 71 and module.action_dim == 12
    obs, _ = env.reset(seed=0)
    observations, reference = [], []
    for _ in range(200):
        action = loaded.act(obs, deterministic=True)
        observations.append(obs)
        reference.append(action)
        with torch.no_grad():  # one observation at a time, as a controller would call it
            single = module(torch.as_tensor(obs[None], dtype=torch.float32))[0].numpy()
        np.testing.assert_allclose(single, action, rtol=0, atol=1e-5)
        obs, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            obs, _ = env.reset(seed=len(observations))
    env.close()
    with torch.no_grad():  # and the whole rollout as one batch
        batch = module(torch.as_tensor(np.asarray(observations), dtype=torch.float32)).numpy()
    assert batch.shape == (200, 12) and batch.dtype == np.float32
    np.testing.assert_allclose(batch, np.asarray(reference), rtol=0, atol=1e-5)
    with pytest.raises(Exception, match="expected observations of shape"):
        module(torch.zeros(1, 70))


def test_cli_writes_a_loadable_file_and_reports_the_check(tmp_path):
    out = tmp_path / "policy.pt"
    result = run_script("scripts/export_policy.py", str(MODEL), "--normalize", str(STATS), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert f"wrote {out}" in result.stdout and "max |difference|" in result.stdout
    assert torch.jit.load(str(out))(torch.zeros(3, 71)).shape == (3, 12)


def test_cli_rejects_a_corrupt_model_with_one_line_and_no_output(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    shutil.copy(SHIPPED / "config.json", run / "config.json")
    shutil.copy(STATS, run / "vec_normalize.pkl")
    (run / "final_model.zip").write_bytes(b"this is not a zip archive")
    out = tmp_path / "policy.pt"
    result = run_script("scripts/export_policy.py", str(run / "final_model.zip"), "--out", str(out))
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: cannot load model"), result.stderr
    assert not out.exists() and not list(tmp_path.glob("*.pt*")) and not list(tmp_path.glob(".*tmp"))
