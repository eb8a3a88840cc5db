"""Environments for residual RL on the mini quadruped; importing registers ResidualWalk-v0."""

from gymnasium.envs.registration import register, registry

ENV_ID = "ResidualWalk-v0"
MAX_EPISODE_STEPS = 1000  # 20 s at the default 50 Hz control rate

if ENV_ID not in registry:
    register(
        id=ENV_ID,
        entry_point="envs.residual_walk_env:ResidualWalkEnv",
        # N robots on one mujoco.batch.Batch, a gymnasium.vector.VectorEnv (envs/vector_env.py):
        # gym.make_vec(ENV_ID, num_envs=N, vectorization_mode="vector_entry_point")
        vector_entry_point="envs.vector_env:ResidualWalkVectorEnv",
        max_episode_steps=MAX_EPISODE_STEPS,
    )


def __getattr__(name):
    # Imported on first use: registering the env must not import MuJoCo, whose GL backend
    # (MUJOCO_GL) the headless scripts choose before their first MuJoCo import.
    if name == "ResidualWalkEnv":
        from envs.residual_walk_env import ResidualWalkEnv

        return ResidualWalkEnv
    raise AttributeError(f"module 'envs' has no attribute {name!r}")


__all__ = ["ENV_ID", "MAX_EPISODE_STEPS", "ResidualWalkEnv"]
