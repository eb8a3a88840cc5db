"""The two training scripts' presets: their defaults and which flags they offer.

v2 (recommended) exposes every PPO and env setting; v1 keeps the original, simpler set-up.
Both walk ``WORKING_GAIT``, given here explicitly; each root script restates it (the reference's
``grep -A5 GaitParameters train_residual_ppo_v2.py`` shows it) and calls ``main`` with its preset.
That is the mini's trot: with ``--robot`` the preset is ``for_robot(name)``, which walks the robot's own
working trot and physics steps (its description file), every other default as written here.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from envs.config import EnvConfig, RewardWeights
from gait.parameters import GaitParameters
from walklab.config import PPOConfig, RunSettings


@dataclass(frozen=True)
class Preset:
    """A training script's defaults and the flag groups it offers."""

    script: str
    run_name: str
    env: EnvConfig
    ppo: PPOConfig
    run: RunSettings = RunSettings()
    ppo_flags: bool = True
    env_flags: bool = True  # every EnvConfig setting a flag (v2)
    env_fields: tuple[str, ...] = ()  # else only these EnvConfig settings (v1: the robot)

    def with_gait(self, gait: GaitParameters) -> Preset:
        return dataclasses.replace(self, env=self.env.replace(gait=gait))

    def for_robot(self, robot: str) -> Preset:
        """These defaults on `robot`: its own working trot and physics steps (the mini's preset unchanged)."""
        if str(robot) == self.env.robot:
            return self
        return dataclasses.replace(self, env=self.env.replace(robot=str(robot)))


# Explicit gait parameters of the working baseline (~0.09-0.1 m/s on the default terrain); the old
# defaults (body_height 0.07, step_length 0.05, step_height 0.015) stall on the ridges (DIAGNOSIS.md).
WORKING_GAIT = GaitParameters(body_height=0.05, step_length=0.06, step_height=0.04, cycle_time=0.8)

V2 = Preset(
    script="train_residual_ppo_v2.py",
    run_name="residual_v2",
    env=EnvConfig(
        gait=WORKING_GAIT,
        residual_scale=0.04,  # 4 cm: the reference's suggested larger scale (DIAGNOSIS.md, exp3)
        gait_modulation=True,  # the policy may lengthen the stride and quicken the trot (DIAGNOSIS.md, expD)
        frequency_range=0.6,  # cycle 0.8 s down to 0.5 s at most
        steering=True,  # ... and steer, by striding longer on one side (DIAGNOSIS.md, expF and expH)
        steering_range=0.5,  # one side's stride up to 50 % longer, the other's 50 % shorter
        swing_height=True,  # ... and lift its feet higher or lower (DIAGNOSIS.md, issue 27's round)
        heading_observation=True,  # it sees its heading and lateral position ...
        reward_weights=RewardWeights(heading=3.0),  # ... and pays for turning off +x
    ),
    # 32 envs x 256 steps: the same 8192 samples per update as 4 x 2048, stepped as rows of one
    # mujoco.batch simulation (DIAGNOSIS.md, the batched-simulator round); batch 512, log std -1.5
    # (modulation -0.5): start close to the baseline
    ppo=PPOConfig(n_steps=256),
    run=RunSettings(n_envs=32, vec_env="batched"),
)

V1 = Preset(
    script="train_residual_ppo.py",
    run_name="residual_v1",
    env=EnvConfig(gait=WORKING_GAIT),  # the env's own residual scale, 0.02 m
    ppo=PPOConfig(n_steps=512, batch_size=64, log_std_init=0.0),  # short rollouts, SB3's initial noise
    ppo_flags=False,
    env_flags=False,
    env_fields=("robot",),  # --robot, as v2's (its own trot and physics steps come with it)
)
