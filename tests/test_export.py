"""TorchScript export of the shipped policy: same actions as SB3, working CLI, clean failure on bad input.

.venv/bin/python -m pytest tests/test_export.py
"""

import shutil

import numpy as np
import pytest
import torch

from envs import assets as A
from envs.layout import observation_slices
from tests.conftest import run_script
from walklab.export import export_torchscript
from walklab.policies import open_policy

SHIPPED = A.ASSETS_DIR / "policies" / "residual_walk"
_, _SHIPPED_ENV, _ = open_policy(SHIPPED / "final_model.zip")
SHIPPED_OBS, SHIPPED_ACTIONS = _SHIPPED_ENV.observation_space.shape[0], _SHIPPED_ENV.action_space.shape[0]
_SHIPPED_ENV.close()
MODEL, STATS = SHIPPED / "final_model.zip", SHIPPED / "vec_normalize.pkl"


def test_exported_module_matches_the_sb3_policy_on_a_seeded_rollout(tmp_path):
    out = export_torchscript(MODEL, STATS, tmp_path / "policy.pt")
    assert out == tmp_path / "policy.pt" and sorted(p.name for p in tmp_path.iterdir()) == ["policy.pt"]
    module = torch.jit.load(str(out))
    _, env, loaded = open_policy(MODEL, STATS)
    assert module.obs_dim == env.observation_space.shape[0] and module.action_dim == env.action_space.shape[0]
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
    assert batch.shape == (200, SHIPPED_ACTIONS) and batch.dtype == np.float32
    np.testing.assert_allclose(batch, np.asarray(reference), rtol=0, atol=1e-5)
    with pytest.raises(Exception, match="expected observations of shape"):
        module(torch.zeros(1, 70))


def test_cli_writes_a_loadable_file_and_reports_the_check(tmp_path):
    out = tmp_path / "policy.pt"
    result = run_script("scripts/export_policy.py", str(MODEL), "--normalize", str(STATS), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert f"wrote {out}" in result.stdout and "max |difference|" in result.stdout
    assert torch.jit.load(str(out))(torch.zeros(3, SHIPPED_OBS)).shape == (3, SHIPPED_ACTIONS)


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


# ---------------------------------------------------------------------- ONNX (issue 15)
def test_onnx_export_matches_the_sb3_policy_on_recorded_observations(tmp_path):
    import onnxruntime

    from walklab.export import export_onnx, sample_observations

    out = export_onnx(MODEL, STATS, tmp_path / "policy.onnx")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["policy.onnx"]  # one self-contained file
    session = onnxruntime.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["observation"]
    assert session.get_inputs()[0].shape[1] == SHIPPED_OBS and session.get_outputs()[0].shape[1] == SHIPPED_ACTIONS
    meta = session.get_modelmeta().custom_metadata_map
    assert meta["obs_dim"] == str(SHIPPED_OBS) and meta["command_slice"] == "" and meta["robot"] == "mini"
    _, env, loaded = open_policy(MODEL, STATS)
    observations = sample_observations(env, loaded, 200, seed=0)
    env.close()
    reference = np.stack([loaded.act(obs, deterministic=True) for obs in observations])
    batch = session.run(None, {"observation": observations})[0]
    assert batch.shape == (200, SHIPPED_ACTIONS) and batch.dtype == np.float32
    np.testing.assert_allclose(batch, reference, rtol=0, atol=1e-5)
    for obs, action in zip(observations[:20], reference[:20]):  # one at a time, as a controller calls it
        np.testing.assert_allclose(session.run(None, {"observation": obs[None]})[0][0], action, rtol=0, atol=1e-5)


def test_onnx_export_of_a_commanded_policy_takes_the_command_as_an_input(tmp_path):
    import onnxruntime

    from walklab.export import command_slice, export_onnx, onnx_actions, sample_observations

    proc = run_script(
        "train_residual_ppo_v2.py",
        "--total-timesteps",
        "128",
        "--n-envs",
        "1",
        "--n-steps",
        "128",
        "--batch-size",
        "64",
        "--eval-freq",
        "0",
        "--episode-steps",
        "50",
        "--no-progress",
        "--commands",
        "--gait-modulation",
        "--forward-velocity-weight",
        "0",
        "--tracking-velocity-weight",
        "1",
        "--run-name",
        "cmd",
        "--runs-dir",
        str(tmp_path / "runs"),
    )
    assert proc.returncode == 0, proc.stderr
    (run_dir,) = list((tmp_path / "runs").iterdir())
    model = run_dir / "final_model.zip"
    out = tmp_path / "policy.onnx"
    result = run_script("scripts/export_policy.py", str(model), "--out", str(out), "--check-steps", "50")
    assert result.returncode == 0, result.stderr
    _, env, loaded = open_policy(model)
    n = env.observation_space.shape[0]
    named = observation_slices(env.config)["command"]  # the last two entries today
    assert f"command = observation[{named.start}:{named.stop}]" in result.stdout and "onnxruntime" in result.stdout
    session = onnxruntime.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    inputs = {i.name: i.shape for i in session.get_inputs()}
    assert (
        list(inputs) == ["observation", "command"] and inputs["observation"][1] == n - 2 and inputs["command"][1] == 2
    )
    assert session.get_modelmeta().custom_metadata_map["command_slice"] == f"{named.start}:{named.stop}"
    commands = command_slice(env)
    assert commands == named
    observations = sample_observations(env, loaded, 100, seed=0)
    env.close()
    reference = np.stack([loaded.act(obs, deterministic=True) for obs in observations])
    np.testing.assert_allclose(onnx_actions(session, observations, commands), reference, rtol=0, atol=1e-5)
    assert export_onnx(model, None, tmp_path / "again.onnx").is_file()


def test_the_command_input_goes_back_at_its_slice_wherever_it_sits():
    from walklab.export import CommandInputPolicy, without_command

    class Identity(torch.nn.Module):
        obs_dim = 7

        def forward(self, obs):
            return obs

    observations = np.arange(14, dtype=np.float32).reshape(2, 7)
    for command in (slice(5, 7), slice(2, 4)):  # last, and in the middle
        module = CommandInputPolicy(Identity(), command)
        inputs = without_command(observations, command), observations[:, command]
        rebuilt = module(*map(torch.as_tensor, inputs))
        np.testing.assert_array_equal(rebuilt.numpy(), observations)
