"""Training configuration: PPO settings and run settings, frozen and validated like EnvConfig.

With ``envs.config.EnvConfig`` these are the single source of every training default: the
scripts' flags are generated from their fields (``walklab.flags``), config.json stores them
as dicts (``env``, ``ppo``, ``training``), and a run is rebuilt from that record.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from envs.fields import ConfigError, setting, to_dict, validate

SB3_LOG_STD_INIT = 0.0  # stable-baselines3's own defaults, for run records that predate these fields
SB3_NET_ARCH = (64, 64)


VEC_ENV_LAYOUTS = ("in-process", "split", "subprocess", "batched")  # RunSettings.vec_env; walklab.vec_envs builds them


MAX_TRAINING_STEPS = 10**11  # environment steps: weeks of training on this machine
MAX_ROLLOUT = 2**20  # samples per rollout (n_steps x n_envs): about 0.5 GB of buffer with this observation


@dataclass(frozen=True)
class PPOConfig:
    """stable-baselines3 PPO settings; every field becomes a ``--<field>`` flag of v2.

    Adding a setting is one field here: its flag and config.json entry follow, and it reaches
    ``PPO(...)`` through :meth:`constructor_kwargs` (policy settings go to policy_kwargs).
    """

    n_steps: int = setting(2048, "rollout length per env per update", low=1, high=MAX_ROLLOUT)
    # SB3 normalises advantages over each minibatch: it needs at least 2 samples
    batch_size: int = setting(512, "minibatch size; must divide n_steps x n_envs", low=2, high=MAX_ROLLOUT)
    learning_rate: float = setting(3e-4, "Adam learning rate", low=0, high=1, low_open=True)
    n_epochs: int = setting(10, "passes over each rollout", low=1, high=1000)
    gamma: float = setting(0.99, "discount factor", low=0, high=1, low_open=True)
    gae_lambda: float = setting(0.95, "GAE lambda", low=0, high=1)
    clip_range: float = setting(0.2, "PPO clip range", low=0, high=1, low_open=True)
    ent_coef: float = setting(0.0, "entropy bonus (try 0.01 to explore)", low=0, high=1)
    log_std_init: float = setting(-1.5, "initial log standard deviation of the Gaussian policy", low=-10, high=2)
    net_arch: tuple = setting((64, 64), "hidden layer sizes of the policy and value networks", low=1, high=4096)
    modulation_log_std_init: float = setting(
        -0.5,
        "initial log standard deviation of the two gait-modulation "
        "actions (with --gait-modulation; wider than the feet's so the "
        "policy explores the gait's stride and timing)",
        low=-10,
        high=2,
    )

    def __post_init__(self) -> None:
        validate(self)

    def to_dict(self) -> dict[str, Any]:
        return to_dict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> PPOConfig:
        """From config.json; older records without the policy fields get SB3's defaults."""
        values = {
            "log_std_init": SB3_LOG_STD_INIT,
            "net_arch": SB3_NET_ARCH,
            "modulation_log_std_init": values.get("log_std_init", SB3_LOG_STD_INIT),
            **values,
        }
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ConfigError("ppo", f"settings among {', '.join(sorted(known))}", sorted(unknown))
        return cls(**values)

    def constructor_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``stable_baselines3.PPO``."""
        values = self.to_dict()
        values.pop("modulation_log_std_init")  # applied after construction (walklab.training)
        net = values.pop("net_arch")
        policy_kwargs = {"net_arch": dict(pi=list(net), vf=list(net)), "log_std_init": values.pop("log_std_init")}
        return {**values, "policy_kwargs": policy_kwargs}


@dataclass(frozen=True)
class RunSettings:
    """How long and how wide to train, and how often to evaluate and checkpoint."""

    total_timesteps: int = setting(
        1_000_000, "environment steps to train, summed over all envs", low=1, high=MAX_TRAINING_STEPS
    )
    n_envs: int = setting(4, "environments stepped together (one rollout gathers n_steps from each)", low=1, high=256)
    vec_env: str = setting(
        "batched",
        "where the envs step: 'in-process' (one after another in the trainer, SB3's DummyVecEnv), "
        "'split' (half in the trainer, half in one worker process, at the same time: two cores) or "
        "'subprocess' (one worker process per env, SubprocVecEnv: for machines with a core per env) or "
        "'batched' (every env a row of one mujoco.batch simulation, physics on --threads C threads: "
        "fastest with 16 or more envs); bench/THROUGHPUT_NOTES.md compares them",
        choices=VEC_ENV_LAYOUTS,
    )
    threads: int = setting(
        0, "physics threads of --vec-env batched (0: every CPU this process may use)", low=0, high=256
    )
    seed: int = setting(0, "random seed for PPO and the environments", low=0, high=2**31 - 1)
    eval_freq: int = setting(
        50_000,
        "evaluate every this many environment steps and keep best_model.zip "
        "(0: never; else at least one rollout, n_steps x n_envs)",
        low=0,
        high=MAX_TRAINING_STEPS,
    )
    eval_episodes: int = setting(3, "deterministic episodes per evaluation", low=1, high=1000)
    eval_seconds: float = setting(20.0, "length of each evaluation episode (s)", low=0, low_open=True, high=3600)
    checkpoint_freq: int = setting(
        100_000,
        "save model + statistics to checkpoints/ every this many environment steps (all envs)",
        low=1,
        high=MAX_TRAINING_STEPS,
    )
    episode_steps: int = setting(
        1000, "control steps per training episode (1000 = 20 s at 50 Hz)", low=1, high=180_000
    )  # at most an hour

    def __post_init__(self) -> None:
        validate(self)

    def to_dict(self) -> dict[str, Any]:
        return to_dict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> RunSettings:
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})


def check_combination(ppo: PPOConfig, run: RunSettings) -> None:
    """Rules across fields: a rollout buffer that fits in memory, whole minibatches, and no
    evaluation more often than once per rollout (an evaluation every few steps would stall training)."""
    rollout = ppo.n_steps * run.n_envs
    if rollout > MAX_ROLLOUT:
        raise ConfigError(
            "PPOConfig.n_steps",
            f"at most {MAX_ROLLOUT} / n_envs = {MAX_ROLLOUT // run.n_envs} (the rollout buffer)",
            ppo.n_steps,
        )
    if rollout % ppo.batch_size != 0:
        raise ConfigError(
            "PPOConfig.batch_size",
            f"a divisor of n_steps x n_envs = {ppo.n_steps} x {run.n_envs} = {rollout}",
            ppo.batch_size,
        )
    if 0 < run.eval_freq < rollout:
        raise ConfigError(
            "RunSettings.eval_freq", f"0 (never) or at least one rollout, n_steps x n_envs = {rollout}", run.eval_freq
        )
