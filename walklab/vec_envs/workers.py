"""Worker processes of the split and subprocess layouts: they die with the trainer and leave signals to it."""

from __future__ import annotations

import ctypes
import os
import signal
import sys

from walklab.runs import close_inherited_locks

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
    close_inherited_locks()
