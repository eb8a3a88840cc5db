"""Vector envs for training: picklable env factories, worker processes, and closing them safely."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

from envs.config import EnvConfig
from walklab.config import VEC_ENV_LAYOUTS

MONITOR_INFO_KEYWORDS = ("x_position", "termination")


PR_SET_PDEATHSIG = 1


def _ignore_sigint() -> None:
    """Workers leave Ctrl-C to the main process, which saves the model and closes them."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def die_with_parent(parent_pid: int | None) -> None:
    """Make the kernel SIGKILL this worker when its parent dies (kill -9 of the trainer included).

    Linux only (prctl PR_SET_PDEATHSIG); elsewhere workers still end when their pipe closes.
    A parent that died before the call is caught by the getppid() check that follows it.
    """
    if sys.platform.startswith("linux"):
        import ctypes

        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass
    if parent_pid is not None and os.getppid() != parent_pid:
        os._exit(1)  # the trainer is already gone


def worker_init(parent_pid: int | None) -> None:
    """Everything a worker does first: die with the trainer, leave signals to it, drop its run lock."""
    die_with_parent(parent_pid)
    _ignore_sigint()
    from walklab.runs import close_inherited_locks

    close_inherited_locks()


def make_env_fn(
    env_config: EnvConfig, episode_steps: int, monitor_path: Path | None, worker: bool, parent_pid: int | None = None
):
    """A picklable factory for one (monitored) ResidualWalk-v0 with a time limit of `episode_steps`."""

    def _init():
        if worker:
            worker_init(parent_pid)
        import gymnasium as gym
        from stable_baselines3.common.monitor import Monitor

        import envs  # registers ResidualWalk-v0

        env = gym.make(envs.ENV_ID, config=env_config, max_episode_steps=episode_steps)
        if monitor_path is None:
            return env
        return Monitor(env, filename=str(monitor_path), info_keywords=MONITOR_INFO_KEYWORDS)

    return _init


class _FreshInfos(list):
    """The per-env info dicts of one step. Every env step returns new dicts of immutable values
    (envs.residual_walk_env, Gymnasium's MuJoCo envs, SB3's Monitor), so a copy of the list is a
    true copy: DummyVecEnv's ``deepcopy`` of it (about 40 us per vector step of 4 envs with this
    env's 22 info entries, `bench/THROUGHPUT_NOTES.md`) buys nothing."""

    def __deepcopy__(self, memo):
        return list(self)


def in_process_vec_env(fns):
    """SB3's DummyVecEnv over `fns`, without the per-step deepcopy of the info dicts (_FreshInfos).
    Its transitions and infos are equal to DummyVecEnv's."""
    from stable_baselines3.common.vec_env import DummyVecEnv

    vec = DummyVecEnv(fns)
    vec.buf_infos = _FreshInfos(vec.buf_infos)
    return vec


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
        from walklab.vec_envs.batched import BatchedVecEnv

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
        from walklab.split_vec_env import SplitVecEnv

        return SplitVecEnv(fns, n_local=n_here, start_method=start_method)
    from stable_baselines3.common.vec_env import SubprocVecEnv

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
