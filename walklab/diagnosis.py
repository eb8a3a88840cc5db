"""What debug_model.py reports about a run: training progress, trained vs baseline, verdicts, plots."""

from __future__ import annotations

import csv
import json
import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from envs.robot import DEFAULT_ROBOT
from gait.parameters import WORKING_GAIT
from walklab import runs
from walklab.files import atomic_write_bytes

ACTION_USE_THRESHOLD = 0.5  # mean |action| above this: the model is using its residuals
LEARNING_GAIN_THRESHOLD = 2.0  # last-100 mean episode reward minus first-10 mean
COLLAPSE_FRACTION = 0.5  # last-100 mean below this share of the best 20-episode mean: collapse


@dataclass
class TrainingProgress:
    episodes: int
    first10: float
    last100: float
    best: float
    rewards: np.ndarray  # per episode, in time order
    timesteps: np.ndarray  # cumulative environment steps at each episode's end


@dataclass
class MonitorReading:
    """What the monitor files of a run hold, read as far as they are valid."""

    progress: TrainingProgress | None  # None when no valid finished episode was found
    rows: int  # valid episode rows
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> rows (or files) skipped

    @property
    def note(self) -> str | None:
        """One line saying what was skipped and why, or None when every file read cleanly."""
        if not self.skipped:
            return None
        parts = ", ".join(f"{n} {reason}" for reason, n in sorted(self.skipped.items()))
        return f"monitor CSVs: skipped {parts}; read {self.rows} valid episode rows"


MONITOR_COLUMNS = ("r", "l", "t")  # episode reward, length (steps), end time (s from the file's t_start)


def _monitor_rows(path: Path, skipped: Counter) -> list[tuple[float, float, int]]:
    """(wall time, reward, length) of every valid row of one SB3 monitor file; what is not valid
    (a row cut short by a kill, text where a number belongs, a non-finite value) is counted in
    `skipped` by reason and left out."""
    try:
        with path.open(newline="", encoding="utf-8", errors="replace") as fh:
            lines = fh.read().splitlines()
    except OSError:
        skipped["unreadable file(s)"] += 1
        return []
    try:
        header = json.loads(lines[0].lstrip("#")) if lines else None
        t_start = float(header.get("t_start", 0.0)) if isinstance(header, dict) else None
    except (ValueError, TypeError):
        t_start = None
    if t_start is None or not math.isfinite(t_start):
        skipped["file(s) without a valid JSON first line"] += 1
        return []
    table = list(csv.reader(lines[1:]))
    columns = table[0] if table else []
    if not set(MONITOR_COLUMNS) <= set(columns):
        skipped["file(s) without the r,l,t columns"] += 1
        return []
    at = [columns.index(c) for c in MONITOR_COLUMNS]
    out = []
    for row in table[1:]:
        if not row:
            continue
        if len(row) != len(columns):
            skipped["row(s) with a wrong number of fields"] += 1
            continue
        try:
            r, length, t = (float(row[i]) for i in at)
        except ValueError:
            skipped["row(s) with a value that is not a number"] += 1
            continue
        if not all(map(math.isfinite, (r, length, t))) or length < 1 or length != int(length):
            skipped["row(s) with an impossible value"] += 1
            continue
        out.append((t_start + t, r, int(length)))
    return out


def read_monitors(run_dir: Path) -> MonitorReading:
    """Episodes from every monitor_<i>.csv.monitor.csv (SB3 Monitor format), merged in time order.

    A damaged file (a run killed while writing, a file edited by hand) is read as far as it is
    valid; the reading's ``note`` says how many rows or files were skipped and why."""
    skipped: Counter = Counter()
    rows = []
    for path in sorted(run_dir.glob("monitor_*.csv.monitor.csv")):  # resumed runs add monitor_<i>_part<k>
        rows += _monitor_rows(path, skipped)
    if not rows:
        return MonitorReading(None, 0, dict(skipped))
    # numpy's default sort, as pandas' sort_values ordered them (robots of a batch end together: ties)
    order = np.argsort(np.array([row[0] for row in rows]), kind="quicksort")
    rows = [rows[i] for i in order]
    r = np.array([row[1] for row in rows], dtype=float)
    progress = TrainingProgress(
        episodes=len(r),
        first10=float(r[:10].mean()),
        last100=float(r[-100:].mean()),
        best=float(r.max()),
        rewards=r,
        timesteps=np.cumsum([row[2] for row in rows]),
    )
    return MonitorReading(progress, len(rows), dict(skipped))


def verdicts(config: dict, progress: TrainingProgress | None, trained: dict, baseline: dict) -> list[str]:
    """The checks of TRAINING_FIXES.md's 'Debugging Failed Runs', each with what to try."""
    out = []
    gait = config["env"]["gait"]
    robot = config["env"].get("robot", DEFAULT_ROBOT)  # runs from before robots walked the mini
    working, fix = working_gait(robot).to_dict(), "retrain with the explicit GaitParameters of train_residual_ppo_v2.py"
    if robot != DEFAULT_ROBOT:  # another robot's own trot: v2 walks it when no gait flag is given
        fix = f"retrain without gait flags: v2 --robot {robot} walks the robot's own working trot"
    off = [k for k in ("body_height", "step_length", "step_height", "cycle_time") if gait.get(k) != working[k]]
    if off:
        out.append(
            "GAIT MISMATCH: the run trained with "
            + ", ".join(f"{k}={gait[k]}" for k in off)
            + f" instead of the working gait ({', '.join(f'{k}={working[k]}' for k in off)}); "
            + fix
        )
    else:
        out.append("OK gait: the run used the working gait parameters")
    v_t, v_b = trained["forward_velocity_mps"], baseline["forward_velocity_mps"]
    mean_abs = trained["mean_abs_action"]
    if mean_abs > ACTION_USE_THRESHOLD:
        out.append(f"OK residuals used: mean |action| {mean_abs:.2f} > {ACTION_USE_THRESHOLD}")
    elif v_t > v_b:
        out.append(
            f"SMALL RESIDUALS: mean |action| {mean_abs:.2f} <= {ACTION_USE_THRESHOLD}, yet faster than the "
            "baseline: small corrections suffice here (a larger --residual-scale allows larger ones)"
        )
    else:
        out.append(
            f"LOW RESIDUALS: mean |action| {mean_abs:.2f} <= {ACTION_USE_THRESHOLD} and no faster than the "
            "baseline: the model barely corrects the trot; lower --energy-weight/--smoothness-weight "
            "or raise --forward-velocity-weight"
        )
    if v_t > v_b:
        out.append(f"OK faster than baseline: {v_t:.3f} vs {v_b:.3f} m/s")
    else:
        out.append(
            f"WORSE THAN BASELINE: {v_t:.3f} vs {v_b:.3f} m/s; check the gait and reward weights in "
            "config.json, then train longer or with --ent-coef 0.01"
        )
    causes = trained["early_terminations"]
    if trained["falls"]:
        listed = ", ".join(f"{k} x{v}" for k, v in causes.items())
        out.append(
            f"EARLY TERMINATION: {trained['falls']}/{trained['episodes']} episodes fell ({listed}): "
            "raise --orientation-weight or lower --learning-rate"
        )
    elif causes:
        listed = ", ".join(f"{k} x{v}" for k, v in causes.items())
        out.append(
            f"EARLY END without a fall ({listed}): the robot left the terrain sideways; "
            "raise --heading-weight or --centre-line-weight (distance from the centre line)"
        )
    else:
        out.append("OK no early termination")
    if progress is None:
        out.append("NO MONITOR DATA: the run wrote no finished episode; train longer")
    else:
        gain = progress.last100 - progress.first10
        if gain >= LEARNING_GAIN_THRESHOLD:
            out.append(f"OK learning: last-100 mean {progress.last100:.1f} is {gain:+.1f} above the first 10")
        else:
            out.append(
                f"FLAT LEARNING: last-100 mean {progress.last100:.1f} vs first-10 {progress.first10:.1f} "
                f"({gain:+.1f}); the baseline may be too good for residuals to help: try harder "
                "terrain or --residual-scale 0.04"
            )
        window = 20
        if progress.episodes >= 2 * window:
            rolling = np.convolve(progress.rewards, np.ones(window) / window, mode="valid")
            peak = float(rolling.max())
            if peak > 0 and progress.last100 < COLLAPSE_FRACTION * peak:
                out.append(
                    f"COLLAPSE: reward peaked at {peak:.1f} (20-episode mean) and fell to "
                    f"{progress.last100:.1f}; lower --learning-rate (1e-4) or set --clip-range 0.3"
                )
    return out


def working_gait(robot: str):
    """`robot`'s working trot (its description file); the mini's when the robot cannot be read here."""
    from envs.fields import ConfigError
    from envs.robot import RobotError, describe

    try:
        return describe(robot).gait
    except (ConfigError, RobotError, OSError):
        return WORKING_GAIT


def choose_model(run_dir: Path, which: str) -> Path:
    """final (or interrupted, if the run was stopped), best, or an explicit path."""
    if which == "best":
        path = run_dir / runs.BEST_MODEL
    elif which == "final":  # the end of training: final, or interrupted if that is newer
        ends = [p for p in (run_dir / runs.FINAL_MODEL, run_dir / runs.INTERRUPTED_MODEL) if p.is_file()]
        path = max(ends, key=lambda p: p.stat().st_mtime) if ends else run_dir / runs.FINAL_MODEL
    else:
        path = Path(which)
    if not path.is_file():
        raise runs.RunError(f"no model at {path}: train to the end, or pass --model best|PATH")
    return path


def plot_learning_curve(progress: TrainingProgress | None, path: Path) -> Path:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.5))
    if progress is not None:
        ax.plot(progress.timesteps, progress.rewards, ".", ms=2, alpha=0.4, label="episode reward")
        if progress.episodes >= 20:
            rolling = np.convolve(progress.rewards, np.ones(20) / 20, mode="valid")
            ax.plot(progress.timesteps[19:], rolling, lw=2, label="20-episode mean")
        ax.legend()
    ax.set_xlabel("environment steps (all envs)")
    ax.set_ylabel("episode reward")
    ax.set_title("learning curve")
    return _save(fig, path)


def plot_velocity(
    trained_trace: list[float], baseline_trace: list[float], dt: float, path: Path, cycle_time: float = 0.8
) -> Path:
    """Both walks' forward velocity over time, each a running mean over one gait cycle (`cycle_time` s,
    the run's trot: 0.8 s on the mini, 40 steps at 50 Hz)."""
    import matplotlib.pyplot as plt

    window = max(1, int(round(cycle_time / dt)))

    def smooth(v):
        v = np.asarray(v)
        k = min(len(v), window)  # one gait cycle
        return np.convolve(v, np.ones(k) / k, mode="valid") if k else v

    fig, ax = plt.subplots(figsize=(7, 3.5))
    for name, trace in (("trained", trained_trace), ("baseline", baseline_trace)):
        s = smooth(trace)
        ax.plot(np.arange(len(s)) * dt, s, label=f"{name} (mean {np.mean(trace):.3f} m/s)")
    ax.set_xlabel("time (s)")
    ax.set_ylabel(f"forward velocity (m/s, {cycle_time:g} s mean)")
    ax.set_title("velocity over time, first evaluation episode")
    ax.legend()
    return _save(fig, path)


def plot_action_histogram(abs_actions: list[float], path: Path) -> Path:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.5))
    ax.hist(abs_actions, bins=40, range=(0, 1))
    ax.axvline(ACTION_USE_THRESHOLD, color="k", ls="--", label=f"{ACTION_USE_THRESHOLD} threshold")
    ax.set_xlabel("|action| per joint-axis entry")
    ax.set_ylabel("count")
    ax.set_title("action magnitudes (trained policy)")
    ax.legend()
    return _save(fig, path)


def _save(fig, path: Path) -> Path:
    import io

    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    return atomic_write_bytes(path, buffer.getvalue())
