"""The left-right mirror of the observation and action (walklab.symmetry), and --mirror-weight."""

import json

import numpy as np
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from envs.layout import action_slices, observation_slices
from envs.residual_walk_env import ResidualWalkEnv
from tests.conftest import TINY_V2_ARGS, run_script
from walklab.presets import V2
from walklab.symmetry import mirror_maps


@pytest.mark.parametrize(
    "config",
    [V2.env, V2.env.replace(obs_history=2), V2.env.replace(commands=True)],
    ids=["v2", "history", "commands"],
)
def test_the_mirror_is_its_own_inverse_and_covers_every_entry(config):
    obs_index, obs_sign, act_index, act_sign = mirror_maps(config)
    env = ResidualWalkEnv(config)
    assert len(obs_index) == env.observation_space.shape[0] and len(act_index) == env.action_space.shape[0]
    for index, sign in ((obs_index, obs_sign), (act_index, act_sign)):
        assert sorted(index) == list(range(len(index)))
        assert (index[index] == np.arange(len(index))).all() and (sign * sign[index] == 1).all()


def test_steering_and_the_feet_lateral_offsets_flip_the_rest_swap_sides():
    config = V2.env
    _, _, act_index, act_sign = mirror_maps(config)
    parts = action_slices(config)
    assert act_sign[parts["steering"]].tolist() == [-1.0]
    assert act_sign[parts["stride"]].tolist() == [1.0] and act_sign[parts["swing_height"]].tolist() == [1.0]
    feet = parts["foot_offsets"]
    assert act_index[feet][:3].tolist() == [3, 4, 5]  # FR's offsets come from FL's
    assert act_sign[feet].tolist() == [1.0, -1.0, 1.0] * 4


def test_the_trot_half_a_cycle_on_is_its_own_mirror_image():
    """The plain trot (zero residual) half a cycle later stands as its mirror image: each leg's
    joints where its mirror partner's were, the hips' abduction reversed."""
    config = V2.env
    obs_index, obs_sign, _, _ = mirror_maps(config)
    env = ResidualWalkEnv(config)
    obs, _ = env.reset(seed=3)
    observed = [obs]
    zero = np.zeros(env.action_space.shape, dtype=np.float32)
    for _ in range(180):
        observed.append(env.step(zero)[0])
    half_cycle = round(config.gait.cycle_time / 2 / 0.02)
    joints = observation_slices(config)["joint_positions"]
    for step in (120, 140, 150):
        mirrored = (obs_sign * observed[step][obs_index])[joints]
        later = observed[step + half_cycle][joints]
        assert np.abs(mirrored - later).max() < 0.1  # the terrain differs under the feet
        assert np.abs(observed[step][joints] - later).max() > 0.3  # the legs did change places


def test_mirror_weight_trains_and_is_recorded(tmp_path):
    result = run_script(
        "train_residual_ppo_v2.py", *TINY_V2_ARGS, "--total-timesteps", "512", "--mirror-weight", "1",
        "--run-name", "mirror", "--runs-dir", str(tmp_path),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    (run,) = tmp_path.iterdir()
    config = json.loads((run / "config.json").read_text())
    assert config["ppo"]["mirror_weight"] == 1.0
    (events,) = run.rglob("events.out.tfevents.*")
    accumulator = EventAccumulator(str(events))
    accumulator.Reload()
    (loss,) = accumulator.Scalars("train/mirror_loss")
    assert 0 < loss.value < 1
