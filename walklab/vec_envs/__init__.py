"""Vector envs for training, as one package: in-process (SB3's DummyVecEnv), split over two
processes, one process per env, and batched on mujoco.batch; ``make_vec_env`` builds any of them.

Modules: ``in_process`` (env factories, DummyVecEnv), ``split`` (SplitVecEnv), ``batched``
(BatchedVecEnv), ``workers`` (what a worker process does first). Nothing here imports this
``__init__``, so the package has no circle.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from stable_baselines3.common.vec_env import SubprocVecEnv

from envs.config import EnvConfig
from walklab.config import VEC_ENV_LAYOUTS
from walklab.vec_envs.batched import BatchedVecEnv
from walklab.vec_envs.in_process import MONITOR_INFO_KEYWORDS, in_process_vec_env, make_env_fn
from walklab.vec_envs.split import SplitVecEnv

__all__ = [
    "MONITOR_INFO_KEYWORDS",
    "BatchedVecEnv",
    "SplitVecEnv",
    "in_process_vec_env",
    "local_env_count",
    "make_env_fn",
    "make_vec_env",
    "stop_workers",
    "vec_env_from_fns",
]


def make_vec_env(
    env_config: EnvConfig,
    n_envs: int,
    episode_steps: int,
    seed: int,
    monitor_paths: list[Path] | None = None,
    layout: str = "in-process",
    threads: int = 0,
):
    """`n_envs` envs laid out as `layout` (VEC_ENV_LAYOUTS): all in this process
    (in_process_vec_env), half here and half in one worker process (``split``, SplitVecEnv), one
    worker process each (``subprocess``, SubprocVecEnv), or rows of one mujoco.batch simulation on
    `threads` C threads (``batched``, BatchedVecEnv). With one env the first three are in-process.
    All four give the same transitions for the same seed."""
    if layout not in VEC_ENV_LAYOUTS:
        raise ValueError(f"vec env layout must be one of {VEC_ENV_LAYOUTS}, got {layout!r}")
    paths = monitor_paths if monitor_paths is not None else [None] * n_envs
    if layout == "batched":
        vec = BatchedVecEnv(env_config, n_envs, episode_steps, threads=threads or None, monitor_paths=paths)
        vec.seed(seed)
        return vec
    n_here = local_env_count(layout, n_envs)
    fns = [
        make_env_fn(env_config, episode_steps, paths[i], worker=i >= n_here, parent_pid=os.getpid())
        for i in range(n_envs)
    ]
    vec = vec_env_from_fns(fns, layout)
    vec.seed(seed)
    return vec


def local_env_count(layout: str, n_envs: int) -> int:
    """How many of `n_envs` envs a `layout` steps in the trainer's own process."""
    if n_envs < 2:
        return n_envs
    return {"in-process": n_envs, "split": (n_envs + 1) // 2, "subprocess": 0, "batched": n_envs}[layout]


def vec_env_from_fns(fns, layout: str):
    """The vector env of `layout` over the env factories `fns` (the first local_env_count of them
    run in this process, so they must not be worker factories)."""
    start_method = "fork" if sys.platform.startswith("linux") else None
    n_here = local_env_count(layout, len(fns))
    if n_here == len(fns):
        return in_process_vec_env(fns)
    if layout == "split":
        return SplitVecEnv(fns, n_local=n_here, start_method=start_method)
    return SubprocVecEnv(fns, start_method=start_method)


def stop_workers(vec) -> None:
    """Close the vector env even when Ctrl-C left some workers' replies unread."""
    inner = getattr(vec, "venv", vec)
    if getattr(inner, "waiting", False):  # SubprocVecEnv mid-step: close() would wait forever
        for process in inner.processes:
            process.terminate()
        inner.waiting = False
        inner.closed = True
        return
    try:
        vec.close()
    except (EOFError, BrokenPipeError, OSError):  # workers already gone
        pass
