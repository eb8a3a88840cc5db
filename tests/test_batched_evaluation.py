"""Episodes as rows of one batch measure exactly what one-by-one episodes measure."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from envs.assets import POLICIES_DIR
from walklab.evaluation import PolicySource, run_episodes
from walklab.policies import open_policy

SEEDS = [0, 1, 2, 3]
SECONDS = 4.0


def _as_dict(episode) -> dict:
    return {k: v for k, v in dataclasses.asdict(episode).items() if k != "observations"}


@pytest.mark.parametrize("policy", ["residual_walk", "commanded_walk"])
@pytest.mark.parametrize("baseline", [False, True])
def test_batched_episodes_equal_one_by_one(policy, baseline):
    source = PolicySource(model=str(POLICIES_DIR / policy / "final_model.zip"), baseline=baseline)
    one_by_one = run_episodes(source, SEEDS, SECONDS, batched=False)
    batched = run_episodes(source, SEEDS, SECONDS, batched=True, threads=2)
    assert [_as_dict(e) for e in batched] == [_as_dict(e) for e in one_by_one]
    assert len({round(e.forward_velocity, 6) for e in batched}) == len(SEEDS)  # the seeds gave different walks


def test_row_actions_equal_single_actions():
    _, env, loaded = open_policy(POLICIES_DIR / "residual_walk" / "final_model.zip")
    obs = np.random.default_rng(0).normal(0, 1, (40, env.observation_space.shape[0])).astype(np.float32)
    rows = loaded.act_rows(obs)
    np.testing.assert_array_equal(rows, np.stack([loaded.act(o) for o in obs]))
