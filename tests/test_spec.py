"""The env spec's tables are generated from the code, and docs/environment.md holds what it generates."""

import os
import re

import envs.spec as spec
from envs.config import EnvConfig, RewardWeights
from envs.layout import OBSERVATION_PARTS, action_size, observation_size
from envs.residual_walk_env import ResidualWalkEnv
from tests.conftest import REPO
from walklab.presets import V2

DOC = REPO / "docs" / "environment.md"


def test_docs_hold_the_generated_tables_for_v2():
    text = DOC.read_text()
    tables = spec.spec_tables(V2.env, complete=False)
    if os.environ.get("WRITE_SPEC_TABLES"):
        DOC.write_text(spec.replace_generated(text, tables))
        text = DOC.read_text()
    assert spec.generated(text) == tables, (
        "docs/environment.md's spec tables differ from the code: WRITE_SPEC_TABLES=1 pytest tests/test_spec.py"
    )


def test_the_docs_sizes_are_the_code_sizes():
    """Every "N actions" and "N observations" the page states is v2's or the env default's."""
    text = DOC.read_text()
    configs = (V2.env, EnvConfig())
    actions = {action_size(c.gait_modulation, c.steering, c.swing_height) for c in configs}
    observations = {observation_size(c) for c in configs}
    stated_actions = {int(n) for n in re.findall(r"(\d+) actions", text)}
    stated_observations = {int(n) for n in re.findall(r"(\d+) observations", text)}
    assert stated_actions == actions and stated_observations == observations, (stated_actions, stated_observations)


def test_every_part_and_term_is_in_the_tables_and_documented():
    tables = spec.spec_tables(EnvConfig())
    for part in OBSERVATION_PARTS:
        assert f"`{part.name}`" in tables and part.meaning and part.unit
    for term in RewardWeights.terms():
        method = getattr(ResidualWalkEnv.core_class, f"_reward_{term}")
        assert method.__doc__ and method.__doc__.startswith(("(+)", "(-)")), term
        assert f"`{term}`" in tables and f"--{term.replace('_', '-')}-weight" in tables
    assert spec.spec_tables(EnvConfig()) in spec.__doc__  # the module docstring ends with them
