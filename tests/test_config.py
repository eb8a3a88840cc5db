"""The configuration dataclasses are the single source: fields drive flags, config.json, the env and PPO."""

import dataclasses
import json

import numpy as np
import pytest

from envs.config import REWARD_TERMS, EnvConfig, RewardWeights
from envs.fields import ConfigError, setting
from envs.residual_walk_env import ResidualWalkEnv
from envs.walk_core import WalkCore
from walklab.config import PPOConfig, RunSettings
from walklab.presets import V1, V2
from walklab.train_cli import build_parser, job_from_args


def test_reward_terms_follow_the_weight_fields():
    assert REWARD_TERMS == tuple(f.name for f in dataclasses.fields(RewardWeights))
    env = ResidualWalkEnv()
    env.reset(seed=0)
    _, reward, _, _, info = env.step(np.zeros(12))
    assert {f"reward_{k}" for k in REWARD_TERMS} <= set(info)
    assert reward == pytest.approx(sum(info[f"reward_{k}"] for k in REWARD_TERMS))


@dataclasses.dataclass(frozen=True)
class WeightsWithHop(RewardWeights):
    hop: float = setting(2.0, "reward weight of upward trunk speed", low=0)


class CoreWithHop(WalkCore):
    def _reward_hop(self, s):
        return s.qvel[:, 2]  # upward trunk speed, m/s, of every robot stepped


class EnvWithHop(ResidualWalkEnv):
    core_class = CoreWithHop


def test_a_new_reward_term_is_one_field_plus_its_method():
    env = EnvWithHop(EnvConfig(reward_weights=WeightsWithHop()))
    env.reset(seed=1)
    _, reward, _, _, info = env.step(np.zeros(12))
    assert info["reward_hop"] == pytest.approx(2.0 * env.data.qvel[2])
    assert reward == pytest.approx(sum(info[f"reward_{k}"] for k in env.reward_terms))
    # its keyword, flag and config.json entry follow from the field
    assert EnvWithHop(EnvConfig(reward_weights=WeightsWithHop()), hop_weight=0.5).weights["hop"] == 0.5
    preset = dataclasses.replace(V2, env=V2.env.replace(reward_weights=WeightsWithHop()))
    args = build_parser(preset, "test").parse_args(["--hop-weight", "3.5"])
    job = job_from_args(preset, args)
    assert job.env.reward_weights.hop == 3.5
    assert json.loads(json.dumps(job.env.to_dict()))["reward_weights"]["hop"] == 3.5


@dataclasses.dataclass(frozen=True)
class PPOWithTargetKL(PPOConfig):
    target_kl: float = setting(0.05, "stop an update's epochs early beyond this KL divergence", low=0, low_open=True)


def test_a_new_ppo_setting_is_one_field():
    preset = dataclasses.replace(V2, ppo=PPOWithTargetKL())
    args = build_parser(preset, "test").parse_args(["--target-kl", "0.02", "--n-steps", "256"])
    job = job_from_args(preset, args)
    kwargs = job.ppo.constructor_kwargs()
    assert kwargs["target_kl"] == 0.02 and kwargs["n_steps"] == 256
    from stable_baselines3 import PPO

    model = PPO("MlpPolicy", ResidualWalkEnv(), device="cpu", **{**kwargs, "batch_size": 64})
    assert model.target_kl == 0.02 and model.policy.log_std.detach().numpy() == pytest.approx(-1.5)
    assert job.ppo.to_dict()["target_kl"] == 0.02


def test_v1_and_v2_are_presets_of_one_trainer():
    assert V2.env.residual_scale == 0.04 and V1.env.residual_scale == EnvConfig().residual_scale
    assert V1.ppo.n_steps == 512 and V2.ppo.n_steps * V2.run.n_envs == PPOConfig().n_steps * 4 == 8192
    v1_flags = build_parser(V1, "v1").format_help()
    assert "--total-timesteps" in v1_flags and "--learning-rate" not in v1_flags
    v2_flags = build_parser(V2, "v2").format_help()
    for f in dataclasses.fields(PPOConfig):
        assert "--" + f.name.replace("_", "-") in v2_flags
    for term in REWARD_TERMS:
        assert f"--{term.replace('_', '-')}-weight" in v2_flags


@pytest.mark.parametrize(
    "build, field",
    [
        (lambda: EnvConfig(residual_scale=float("nan")), "EnvConfig.residual_scale"),
        (lambda: EnvConfig(action_filter=0.0), "EnvConfig.action_filter"),
        (lambda: EnvConfig(frame_skip=2.5), "EnvConfig.frame_skip"),
        (lambda: RewardWeights(energy=float("inf")), "RewardWeights.energy"),
        (lambda: PPOConfig(gamma=1.5), "PPOConfig.gamma"),
        (lambda: PPOConfig(net_arch=(64, -1)), "PPOConfig.net_arch"),
        (lambda: RunSettings(n_envs=0), "RunSettings.n_envs"),
        (lambda: ResidualWalkEnv(max_tilt=float("nan")), "EnvConfig.max_tilt"),
        (lambda: ResidualWalkEnv(no_such_setting=1), "env keyword"),
    ],
)
def test_every_value_is_checked_by_the_same_rules(build, field):
    with pytest.raises(ConfigError, match=field.replace(".", r"\.")):
        build()


def test_old_run_records_are_migrated_when_read(tmp_path):
    from walklab.run_config import env_config_from_record
    from walklab.run_config import read_config as load_config

    old = {
        "status": "finished",
        "run_name": "old",
        "seed": 0,
        "total_timesteps": 1000,
        "n_envs": 1,
        "gait": EnvConfig().gait.to_dict(),
        "env_kwargs": {"residual_scale": 0.04, "terrain": None, "energy_weight": 0.07},
        "ppo_kwargs": {
            "n_steps": 512,
            "batch_size": 64,
            "learning_rate": 3e-4,
            "n_epochs": 10,
            "gamma": 0.99,
            "gae_lambda": 0.95,
            "clip_range": 0.2,
            "ent_coef": 0.0,
        },
        "max_episode_steps": 1000,
        "checkpoint_every": 100000,
    }
    (tmp_path / "config.json").write_text(json.dumps(old))
    config = load_config(tmp_path)
    env = env_config_from_record(config)
    assert env.residual_scale == 0.04 and env.reward_weights.energy == 0.07
    assert PPOConfig.from_dict(config["ppo"]).log_std_init == 0.0  # SB3's default, as the old run trained
    assert config["training"]["episode_steps"] == 1000
