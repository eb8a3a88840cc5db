#!/usr/bin/env python3
"""Sweep v2's hyperparameters with Optuna: every trial is an ordinary train_residual_ppo_v2.py run.

    python3 sweep_residual_ppo.py --study-name NAME --n-trials 20 --trial-timesteps 300000 --n-envs 4
    python3 sweep_residual_ppo.py --study-name NAME ... --storage postgresql://user:pw@host/db   # many machines
    python3 sweep_residual_ppo.py --study-name NAME ... --seeds 0 1 2 --fix learning_rate=3e-4

The study lives in runs/sweeps/<study-name>/study.db (SQLite) unless --storage names a shared
database; running the same command again continues it. Trial runs, trials.csv and the plots go
to runs/sweeps/<study-name>/. The search space and its ranges: walklab/sweep/space.py (SEARCH_SPACE).
"""

from __future__ import annotations

from walklab.sweep.cli import SMOKE_ARGS, build_parser, main, parse_args  # noqa: F401 - the fuzz suite finds them here

if __name__ == "__main__":
    main()
