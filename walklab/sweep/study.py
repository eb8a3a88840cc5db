"""The sweep's storage (SQLite or PostgreSQL), its Optuna study, and the results it writes."""

from __future__ import annotations

import importlib.util
import io
import shlex
import time

from walklab.cli import fail
from walklab.files import atomic_write_bytes, atomic_write_text
from walklab.sweep.space import Param, SweepSettings, space_record

SPACE_ATTR, SETTINGS_ATTR = "search_space", "trial_settings"
HEARTBEAT_SECONDS, GRACE_SECONDS = 60, 300  # a worker silent for 5 min (machine died): its trial is failed


def _one_line(exc: BaseException) -> str:
    inner = getattr(exc, "orig", None) or exc
    text = str(inner).strip().splitlines()
    return (text[0] if text else type(inner).__name__).strip()


def _shown_url(url: str) -> str:
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url


def driver_url(url: str) -> str:
    """``postgresql://`` with the installed driver: SQLAlchemy 2.1 picks psycopg 3 for the plain
    scheme, this project installs psycopg2-binary (the driver 1.4 and 2.0 pick)."""
    scheme, sep, rest = url.partition("://")
    if sep and scheme in ("postgresql", "postgres") and importlib.util.find_spec("psycopg") is None:
        return f"postgresql+psycopg2://{rest}"
    return url


def open_storage(url: str):
    """An Optuna RDBStorage with heartbeats (a dead worker's trial is failed after GRACE_SECONDS)."""
    import optuna

    url = driver_url(url)
    if url.startswith("sqlite"):
        engine_kwargs = {"connect_args": {"timeout": 60}}
    elif url.startswith("postgresql"):
        engine_kwargs = {"connect_args": {"connect_timeout": 10}, "pool_pre_ping": True}
    else:
        engine_kwargs = {}
    import warnings

    def create():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)  # heartbeats are "experimental"
            return optuna.storages.RDBStorage(
                url, engine_kwargs=engine_kwargs, heartbeat_interval=HEARTBEAT_SECONDS, grace_period=GRACE_SECONDS
            )

    return _retry_races(create)


def _retry_races(action, attempts: int = 6):
    """Run `action`, again when another worker won a race to create the same rows or tables (two
    workers started together on a new database both create Optuna's schema and the study)."""
    import random

    from optuna.exceptions import StorageInternalError
    from sqlalchemy.exc import IntegrityError, InternalError, ProgrammingError

    for attempt in range(attempts):
        try:
            return action()
        except (IntegrityError, ProgrammingError, InternalError, StorageInternalError):
            if attempt == attempts - 1:
                raise
            time.sleep(0.3 + random.random())


def _differences(stored: dict, wanted: dict) -> list[str]:
    keys = list(dict.fromkeys([*stored, *wanted]))
    return [k for k in keys if stored.get(k) != wanted.get(k)]


def open_study(storage, settings: SweepSettings, space: dict[str, Param], sampler, pruner, shown_url: str):
    """Create the study or join it; a study made with another space or trial settings is refused."""
    import optuna

    wanted_space, wanted_settings = space_record(space), settings.record()
    names = optuna.study.get_all_study_names(storage)
    if settings.study_name in names:
        study = optuna.load_study(study_name=settings.study_name, storage=storage, sampler=sampler, pruner=pruner)
        attrs = study.user_attrs
        if SPACE_ATTR in attrs and attrs[SPACE_ATTR] != wanted_space:
            diff = _differences(attrs[SPACE_ATTR], wanted_space)
            fail(
                f"study {settings.study_name!r} in {shown_url} was created with another search space "
                f"(differs in {', '.join(diff)}); use the same space or another --study-name"
            )
        if SETTINGS_ATTR in attrs and attrs[SETTINGS_ATTR] != wanted_settings:
            diff = _differences(attrs[SETTINGS_ATTR], wanted_settings)
            there = ", ".join(f"{k}={attrs[SETTINGS_ATTR].get(k)}" for k in diff)
            fail(
                f"study {settings.study_name!r} in {shown_url} was created with other trial settings "
                f"(differs in {', '.join(diff)}: there {there}); use the same settings or another --study-name"
            )
        if study.direction != optuna.study.StudyDirection.MAXIMIZE:
            fail(f"study {settings.study_name!r} in {shown_url} is not a sweep of this script (it minimises)")
    else:
        study = _retry_races(
            lambda: optuna.create_study(
                study_name=settings.study_name,
                storage=storage,
                sampler=sampler,
                pruner=pruner,
                direction="maximize",
                load_if_exists=True,
            )
        )
    if SPACE_ATTR not in study.user_attrs:  # new study (or two workers racing to create it: same values)
        _retry_races(lambda: study.set_user_attr(SPACE_ATTR, wanted_space))
        _retry_races(lambda: study.set_user_attr(SETTINGS_ATTR, wanted_settings))
    return study


def write_results(study, settings: SweepSettings, url: str) -> None:
    """trials.csv, the two plots, the best trial's command and the dashboard command."""
    import warnings

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import optuna
    from optuna.trial import TrialState

    out = settings.study_dir
    out.mkdir(parents=True, exist_ok=True)
    trials = study.get_trials(deepcopy=False)
    counts = {state: sum(t.state == state for t in trials) for state in TrialState}
    print(
        f"\nstudy {settings.study_name!r}: {len(trials)} trials: {counts[TrialState.COMPLETE]} complete, "
        f"{counts[TrialState.PRUNED]} pruned, {counts[TrialState.FAIL]} failed, "
        f"{counts[TrialState.RUNNING]} running"
    )
    if trials:
        csv = out / "trials.csv"
        # Several workers of one study write here at once: each goes through its own
        # per-process temporary name, so one worker's rename never steals another's file.
        atomic_write_text(csv, study.trials_dataframe().to_csv(index=False))
        print(f"all trials: {csv}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # optuna.visualization.matplotlib is "experimental"
        plots = [
            ("optimization_history.png", optuna.visualization.matplotlib.plot_optimization_history),
            ("param_importances.png", optuna.visualization.matplotlib.plot_param_importances),
        ]
        for name, plot in plots:
            try:
                ax = plot(study)
                fig = ax.figure if hasattr(ax, "figure") else ax.flat[0].figure
                fig.set_size_inches(8, 5)
                fig.tight_layout()
                png = io.BytesIO()
                fig.savefig(png, format="png", dpi=100)
                plt.close(fig)
                atomic_write_bytes(out / name, png.getvalue())
                print(f"plot: {out / name}")
            except Exception as exc:  # too few finished trials, or nothing varies
                plt.close("all")
                print(f"plot {name} skipped: {_one_line(exc)}")
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    if complete:
        best = max(complete, key=lambda t: t.value)
        seeds = " ".join(str(s) for s in settings.seeds)
        print(f"best: trial {best.number}, velocity ratio {best.value:.3f} over the baseline (mean over seeds {seeds})")
        for key in sorted(best.user_attrs):
            if key.startswith("run_dir_seed"):
                print(f"  run directory: {best.user_attrs[key]}")
        print("reproduce it with:")
        print(f"  {best.user_attrs.get('command', '(no command recorded)')}")
        if len(settings.seeds) > 1:
            print(f"  (and --seed {' / '.join(str(s) for s in settings.seeds[1:])} for the other seeds)")
    else:
        print("no trial has finished yet: no best trial")
    print("live view (pip install optuna-dashboard):")
    print(f"  optuna-dashboard {shlex.quote(_shown_url(driver_url(url)))}")
