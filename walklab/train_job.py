"""What one training run is (``TrainJob``) and how it can end badly (the training's exceptions)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from envs.config import EnvConfig
from walklab.config import PPOConfig, RunSettings


class TrainingError(Exception):
    """Bad training arguments or an unusable resume target; the message says what to do."""

    exit_code = 2


class TrainingFailed(TrainingError):
    """A fault that is not the user's mistake (a full disk, a dead worker); the run is marked failed."""

    exit_code = 1


class StopTraining(Exception):
    """Raised by an ``on_evaluation`` hook to end a run early (a sweep's pruner, say).

    The run directory is closed cleanly: workers stopped, the model saved as the interrupted
    one, config.json's status set to ``status``. ``train`` then re-raises the exception.
    """

    status = "stopped"

    def __init__(self, status: str = "stopped", message: str = ""):
        super().__init__(message or status)
        self.status = status


@dataclass(frozen=True)
class TrainJob:
    """Everything one training run needs: the three configurations and where to write."""

    script: str
    run_name: str
    env: EnvConfig
    ppo: PPOConfig
    run: RunSettings
    runs_dir: Path = Path("runs")
    resume: Path | None = None
    init_from: Path | None = None  # a model (or run directory) whose weights and statistics start a new run
    progress_bar: bool = True
    args: dict[str, Any] = field(default_factory=dict)  # the parsed flags, recorded in config.json
    command: str = ""  # the command line config.json records (walklab.train_cli fills it)
    # The command line's job: after a Ctrl-C the process is on its way out, and a later press
    # must not kill it before it exits with its own code. In-process callers get their handlers back.
    exiting_after: bool = False
