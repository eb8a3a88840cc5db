"""A vector env for two cores: half the envs step in the trainer's process, the other half in one
worker process, at the same time (``--vec-env split``).

PPO's collection alternates: the policy acts for every env, then every env steps. With the envs
in the trainer (DummyVecEnv) one core steps them one after another; with one worker per env
(SubprocVecEnv) four pipes, pickled info dicts and context switches per step eat what the second
core gives (bench/THROUGHPUT_NOTES.md). Here the trainer sends the worker its envs' actions in
one message, steps its own envs while the worker steps the others, and reads the worker's
results back in one message: one round trip per vector step.

The envs are the same, in the same order, with the same seeds (``seed(s)`` gives env ``i`` seed
``s + i`` as every SB3 vector env does), so the transitions equal DummyVecEnv's step for step
(``tests/test_vecenv.py``).
"""

from __future__ import annotations

import multiprocessing as mp
import sys
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from stable_baselines3.common.vec_env.base_vec_env import CloudpickleWrapper, VecEnv, VecEnvIndices

from walklab.vec_envs.in_process import in_process_vec_env


def _group_worker(remote, parent_remote, fns_wrapper: CloudpickleWrapper) -> None:
    """The worker's loop: one in-process vector env of its group, driven by (command, data)
    messages. Each reply is ("ok", value) or ("error", exception): an env's exception is raised
    again in the trainer, and the worker lives on."""
    parent_remote.close()
    vec = in_process_vec_env(fns_wrapper.var)
    while True:
        try:
            command, data = remote.recv()
        except (EOFError, KeyboardInterrupt):  # the trainer is gone
            break
        if command == "close":
            vec.close()
            remote.close()
            break
        try:
            reply = ("ok", _run(vec, command, data))
        except Exception as error:  # noqa: BLE001 - any env error goes back to the trainer
            reply = ("error", error)
        try:
            remote.send(reply)
        except (BrokenPipeError, OSError):
            break
        except Exception:  # noqa: BLE001 - an exception that does not pickle
            remote.send(("error", RuntimeError(repr(reply[1]))))


def _run(vec, command: str, data):
    if command == "step":
        vec.step_async(data)
        obs, rewards, dones, infos = vec.step_wait()
        return obs, rewards, dones, infos, list(vec.reset_infos)
    if command == "reset":
        vec._seeds, vec._options = data
        obs = vec.reset()
        return obs, list(vec.reset_infos)
    if command == "env_method":
        name, args, kwargs, indices = data
        return vec.env_method(name, *args, indices=indices, **kwargs)
    if command == "get_attr":
        return vec.get_attr(data[0], indices=data[1])
    if command == "has_attr":
        return vec.has_attr(data)
    if command == "set_attr":
        vec.set_attr(data[0], data[1], indices=data[2])
        return [None] * len(data[2])
    if command == "is_wrapped":
        return vec.env_is_wrapped(data[0], indices=data[1])
    if command == "get_images":
        return vec.get_images()
    raise NotImplementedError(f"split vec env worker: unknown command {command!r}")


class SplitVecEnv(VecEnv):
    """`env_fns[:n_local]` stepped in this process, the rest in one worker process, concurrently.

    ``walklab.vec_envs.local_env_count`` chooses `n_local`. Box observations only (what
    ResidualWalk-v0 has).
    The worker is ``processes[0]``; ``waiting`` is True between step_async and step_wait, as in
    SubprocVecEnv, so ``walklab.vec_envs.stop_workers`` closes both the same way.
    """

    def __init__(self, env_fns: Sequence[Callable], n_local: int, start_method: str | None = None):
        n_envs = len(env_fns)
        self.n_local = int(n_local)
        if not 1 <= self.n_local < n_envs:
            raise ValueError(f"n_local must be in 1..{n_envs - 1}, got {self.n_local}")
        self.waiting = False
        self.closed = False
        if start_method is None:
            start_method = "fork" if sys.platform.startswith("linux") else "spawn"
        ctx = mp.get_context(start_method)
        self.remote, work_remote = ctx.Pipe()
        process = ctx.Process(
            target=_group_worker,
            args=(work_remote, self.remote, CloudpickleWrapper(list(env_fns[self.n_local :]))),
            daemon=True,
        )
        process.start()
        work_remote.close()
        self.processes = [process]
        self.local = in_process_vec_env(list(env_fns[: self.n_local]))
        super().__init__(n_envs, self.local.observation_space, self.local.action_space)

    def _receive(self):
        status, value = self.remote.recv()
        self.waiting = False  # the reply is read: nothing is left in the pipe
        if status == "error":
            raise value
        return value

    # ------------------------------------------------------------------ stepping
    def step_async(self, actions: np.ndarray) -> None:
        self.remote.send(("step", actions[self.n_local :]))  # the worker starts at once ...
        self.waiting = True
        self.local.step_async(actions[: self.n_local])

    def step_wait(self):
        obs, rewards, dones, infos = self.local.step_wait()  # ... while this process steps its own
        r_obs, r_rewards, r_dones, r_infos, r_reset_infos = self._receive()
        self.reset_infos = list(self.local.reset_infos) + r_reset_infos
        return (
            np.concatenate([obs, r_obs]),
            np.concatenate([rewards, r_rewards]),
            np.concatenate([dones, r_dones]),
            list(infos) + list(r_infos),
        )

    def reset(self):
        k = self.n_local
        self.remote.send(("reset", (self._seeds[k:], self._options[k:])))
        self.local._seeds, self.local._options = self._seeds[:k], self._options[:k]
        obs = self.local.reset()
        r_obs, r_reset_infos = self._receive()
        self.reset_infos = list(self.local.reset_infos) + r_reset_infos
        self._reset_seeds()
        self._reset_options()
        return np.concatenate([obs, r_obs])

    def close(self) -> None:
        if self.closed:
            return
        if self.waiting:
            self.remote.recv()
            self.waiting = False
        try:
            self.remote.send(("close", None))
        except (BrokenPipeError, OSError):
            pass
        self.processes[0].join(timeout=10)
        if self.processes[0].is_alive():
            self.processes[0].terminate()
        self.local.close()
        self.closed = True

    # ------------------------------------------------------------------ attributes and methods
    def _split(self, indices: VecEnvIndices) -> tuple[list[int], list[int], list[int]]:
        """(all indices, the local ones, the worker's, renumbered from 0)."""
        every = list(self._get_indices(indices))
        return every, [i for i in every if i < self.n_local], [i - self.n_local for i in every if i >= self.n_local]

    def _gather(self, local_fn, command: str, payload, indices: VecEnvIndices) -> list[Any]:
        every, local, remote = self._split(indices)
        local_results = local_fn(local) if local else []
        remote_results = []
        if remote:
            self.remote.send((command, payload(remote)))
            remote_results = self._receive()
        by_index = dict(zip(local, local_results, strict=True))
        by_index.update({i + self.n_local: r for i, r in zip(remote, remote_results, strict=True)})
        return [by_index[i] for i in every]

    def env_method(self, method_name: str, *method_args, indices: VecEnvIndices = None, **method_kwargs) -> list[Any]:
        return self._gather(
            lambda idx: self.local.env_method(method_name, *method_args, indices=idx, **method_kwargs),
            "env_method",
            lambda idx: (method_name, method_args, method_kwargs, idx),
            indices,
        )

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        return self._gather(
            lambda idx: self.local.get_attr(attr_name, indices=idx), "get_attr", lambda idx: (attr_name, idx), indices
        )

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        self._gather(
            lambda idx: [self.local.set_attr(attr_name, value, indices=idx)] * len(idx),
            "set_attr",
            lambda idx: (attr_name, value, idx),
            indices,
        )

    def has_attr(self, attr_name: str) -> bool:
        return self.local.has_attr(attr_name)

    def env_is_wrapped(self, wrapper_class, indices: VecEnvIndices = None) -> list[bool]:
        return self._gather(
            lambda idx: self.local.env_is_wrapped(wrapper_class, indices=idx),
            "is_wrapped",
            lambda idx: (wrapper_class, idx),
            indices,
        )

    def get_images(self) -> Sequence[np.ndarray | None]:
        self.remote.send(("get_images", None))
        return list(self.local.get_images()) + list(self._receive())
