"""Hyperparameter sweeps of v2 with Optuna: embedded SQLite by default, PostgreSQL for many machines.

Every trial is an ordinary v2 run: the sampled parameters become flags of
``train_residual_ppo_v2.py``, parsed by the script's own parser (``walklab.train_cli``) and
trained by ``walklab.training.train``, so each trial directory has its ``config.json`` and
works with ``debug_model.py`` and ``tests/compare_residual_vs_baseline.py``. The best trial's
reproduction command is that argv.

Objective: deterministic forward velocity of the trial's final model over the baseline trot's,
same env, same fixed seeds (maximised; with several ``--seeds`` the mean ratio). Each periodic
evaluation during training reports the same ratio (on the evaluation seeds) to Optuna, and the
median pruner stops trials that fall behind.

The search space is :data:`SEARCH_SPACE`, the one place it is declared; ``--fix``, ``--range``,
``--choices`` and ``--space FILE.yaml`` narrow it for one study. The space and the trial
settings are stored in the study's user attributes: a later worker with another space is refused.

Modules: ``space`` (the parameters, narrowing, ``SweepSettings``, a trial's flags), ``objective``
(a trial as v2 runs, its ratio, the pruning hook), ``study`` (storage, the study, results) and
``cli`` (the flags and ``main``).
"""

from walklab.sweep.cli import main

__all__ = ["main"]
