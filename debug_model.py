#!/usr/bin/env python3
"""Explain a training run: is the policy using its residuals, is it faster than the baseline, did it learn?

Reads RUN_DIR/config.json, loads final_model.zip (or --model best|PATH) with its VecNormalize
statistics, runs the trained policy and the baseline trot on the same seeds and terrain, reads
every monitor CSV, and writes report.md, report.json and PNG plots into RUN_DIR/debug/.
The robot is the run's (config.json; there is no --robot): its verdicts compare the run's gait
with that robot's own working trot, and the velocity plot averages over one of its gait cycles.

    python3 debug_model.py runs/quick_test_20251111_173611
    python3 debug_model.py runs/RUN --model best --episodes 10 --seconds 20
    python3 debug_model.py runs/RUN --robustness    # + the robustness report's cases (phase 7)
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from walklab.cli import (
    EPISODES,
    SECONDS,
    OneLineErrorParser,
    fail,
    heightfield_file,
    output_or_fail,
    statistics_file,
)
from walklab.policy_inputs import policy_inputs_or_fail, run_config_or_fail

# The project's heavier modules are imported inside main(), after the flags are parsed: --help and
# a refused flag answer at once, and MUJOCO_GL is chosen before MuJoCo loads.


# The cheapest complete run, from the repository root ({tmp}: a scratch folder); the fuzz suite
# (tests/test_cli_fuzz.py) starts every case from it.
SMOKE_ARGS = ["assets/policies/residual_walk", "--episodes", "1", "--seconds", "0.5", "--out", "{tmp}/debug"]


def build_parser() -> OneLineErrorParser:
    p = OneLineErrorParser.for_script(__doc__)
    p.add_argument("run_dir", type=Path, help="a run directory written by train_residual_ppo*.py")
    p.add_argument("--model", default="final", help="final (default; interrupted if stopped), best, or a .zip path")
    p.add_argument(
        "--normalize", type=statistics_file, default=None, help="statistics .pkl (default: saved beside the model)"
    )
    p.add_argument("--episodes", type=EPISODES, default=5, help="episodes per side (seeds 0..K-1)")
    p.add_argument("--seconds", type=SECONDS, default=20.0, help="episode length (s)")
    p.add_argument("--terrain", type=heightfield_file, default=None, help="evaluate on this heightfield PNG instead")
    p.add_argument("--out", type=Path, default=None, help="report folder (default RUN_DIR/debug)")
    p.add_argument(
        "--robustness",
        action="store_true",
        help="add the robustness report's cases (phases_test/phase7_robustness.py), --episodes each",
    )
    return p


def parse_args(argv=None) -> argparse.Namespace:
    """The flags with every input checked before any work (one line and exit 2 otherwise): the run
    directory's config.json (``args.run_config``), the model it names (``args.model_path``) and the
    policy's files and env (``args.policy``, ``args.env_config``)."""
    args = build_parser().parse_args(argv)
    from walklab import diagnosis
    from walklab.runs import RunError

    args.run_config = run_config_or_fail(args.run_dir)  # a clear error for a folder that is not a run
    try:
        args.model_path = diagnosis.choose_model(args.run_dir, args.model)
    except RunError as exc:
        fail(str(exc))
    args.policy = policy_inputs_or_fail(args.model_path, args.normalize, terrain=args.terrain)
    args.env_config = args.policy.env_config
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("MPLBACKEND", "Agg")
    out = output_or_fail(args.out or args.run_dir / "debug", "directory", "--out" if args.out else None)

    from envs.robot_sim import TerrainFileError
    from walklab import diagnosis
    from walklab.evaluation import evaluate, improvement_pct, zero_rows
    from walklab.files import atomic_write_json, atomic_write_text
    from walklab.policies import open_policy
    from walklab.runs import RunDir, RunError

    try:
        model_path = args.model_path  # checked in parse_args, with the run's config.json
        config, env, loaded = open_policy(model_path, args.normalize, terrain=args.terrain)
    except (RunError, TerrainFileError) as exc:
        fail(str(exc))
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        fail(f"cannot create {out} ({exc.strerror or exc})")

    status = RunDir(args.run_dir).describe_status()  # "killed" when config.json says running but nobody trains it
    print(
        f"run {args.run_dir} ({status}, {config.get('trained_timesteps', '?')} steps); "
        f"model {model_path.name}; {args.episodes} episodes x {args.seconds:g} s"
    )
    # every episode a row of one batch (the same numbers as one by one)
    trained, trained_eps = evaluate(env, None, args.episodes, args.seconds, record_actions=True, rows=loaded.act_rows)
    baseline, baseline_eps = evaluate(env, None, args.episodes, args.seconds, rows=zero_rows)
    monitors = diagnosis.read_monitors(args.run_dir)
    progress = monitors.progress
    if monitors.note:  # a damaged monitor file: the valid rows are used, the rest said in one line
        print(monitors.note)
    checks = diagnosis.verdicts(config, progress, trained, baseline)
    improvement = improvement_pct(trained, baseline)

    plots = {
        "learning_curve": diagnosis.plot_learning_curve(progress, out / "learning_curve.png"),
        "velocity": diagnosis.plot_velocity(
            trained_eps[0].velocity_trace,
            baseline_eps[0].velocity_trace,
            env.dt,
            out / "velocity.png",
            cycle_time=env.config.gait.cycle_time,  # the run's own trot (its robot's)
        ),
        "action_histogram": diagnosis.plot_action_histogram(
            [a for e in trained_eps for a in e.abs_actions], out / "action_histogram.png"
        ),
    }
    report = {
        "run_dir": str(args.run_dir),
        "model": str(model_path),
        "normalize": str(loaded.stats_path) if loaded.stats_path else None,
        "episodes": args.episodes,
        "seconds": args.seconds,
        "terrain": str(args.terrain) if args.terrain else config["env"].get("terrain"),
        "trained": trained,
        "baseline": baseline,
        "improvement_pct": improvement,
        "using_residuals": trained["mean_abs_action"] > diagnosis.ACTION_USE_THRESHOLD,
        "training_progress": None
        if progress is None
        else {
            "episodes": progress.episodes,
            "first10_mean_reward": progress.first10,
            "last100_mean_reward": progress.last100,
            "best_episode_reward": progress.best,
        },
        "monitor_rows_skipped": monitors.skipped,
        "verdicts": checks,
        "plots": {k: v.name for k, v in plots.items()},
    }
    if args.robustness:  # the same cases as phases_test/phase7_robustness.py, on this report's seeds
        from walklab.robustness import ROBUSTNESS_CASES, evaluate_case

        seeds = list(range(args.episodes))
        report["robustness"] = [
            {"name": name, **evaluate_case(env.config, env.model, loaded.act_rows, settings, seeds, args.seconds)}
            for name, settings in ROBUSTNESS_CASES.items()
        ]
    atomic_write_json(out / "report.json", report)
    text = render_markdown(report)
    atomic_write_text(out / "report.md", text)
    print(text)
    print(f"wrote {out / 'report.md'}, report.json and {len(plots)} plots")
    return 0


def render_markdown(r: dict) -> str:
    t, b = r["trained"], r["baseline"]
    imp = "n/a" if r["improvement_pct"] is None else f"{r['improvement_pct']:+.1f}%"
    rows = [
        ("forward velocity (m/s)", f"{t['forward_velocity_mps']:.4f}", f"{b['forward_velocity_mps']:.4f}"),
        ("lateral velocity (m/s)", f"{t['lateral_velocity_mps']:+.4f}", f"{b['lateral_velocity_mps']:+.4f}"),
        ("lateral drift (m)", f"{t['lateral_drift_m']:.3f}", f"{b['lateral_drift_m']:.3f}"),
        ("body height (m)", f"{t['body_height_m']:.4f}", f"{b['body_height_m']:.4f}"),
        (
            "mean / max tilt (rad)",
            f"{t['mean_tilt_rad']:.3f} / {t['max_tilt_rad']:.3f}",
            f"{b['mean_tilt_rad']:.3f} / {b['max_tilt_rad']:.3f}",
        ),
        ("mean abs action", f"{t['mean_abs_action']:.3f}", f"{b['mean_abs_action']:.3f}"),
        ("falls", f"{t['falls']}/{t['episodes']}", f"{b['falls']}/{b['episodes']}"),
        ("mean episode reward", f"{t['mean_episode_reward']:.1f}", f"{b['mean_episode_reward']:.1f}"),
    ]
    lines = [
        f"# Debug report: {r['run_dir']}",
        "",
        f"Model `{r['model']}`, {r['episodes']} episodes x {r['seconds']:g} s, deterministic actions, "
        f"same seeds for both sides.",
        "",
        "| | trained | baseline |",
        "|---|---|---|",
        *[f"| {a} | {x} | {y} |" for a, x, y in rows],
        "",
        f"Improvement in forward velocity: **{imp}**. "
        f"Using residuals (mean abs action > 0.5): **{'yes' if r['using_residuals'] else 'no'}**.",
        "",
        "## Reward terms (mean per step)",
        "",
        "| term | trained | baseline |",
        "|---|---|---|",
    ]
    for k, v in t["reward_terms_per_step"].items():
        lines.append(f"| {k} | {v:+.4f} | {b['reward_terms_per_step'][k]:+.4f} |")
    p = r["training_progress"]
    lines += ["", "## Training progress (monitor CSVs)", ""]
    if r.get("monitor_rows_skipped"):
        skipped = ", ".join(f"{n} {why}" for why, n in sorted(r["monitor_rows_skipped"].items()))
        lines += [f"Skipped (damaged monitor files): {skipped}.", ""]
    if p is None:
        lines.append("No finished training episode recorded.")
    else:
        lines += [
            f"- episodes: {p['episodes']}",
            f"- first 10 episodes: {p['first10_mean_reward']:.2f}",
            f"- last 100 episodes: {p['last100_mean_reward']:.2f}",
            f"- best episode: {p['best_episode_reward']:.2f}",
        ]
    if r.get("robustness"):
        from walklab.robustness import markdown_table

        lines += ["", "## Robustness (phases_test/phase7_robustness.py's cases)", "", markdown_table(r["robustness"])]
    lines += [
        "",
        "## Verdicts",
        "",
        *[f"- {v}" for v in r["verdicts"]],
        "",
        "## Plots",
        "",
        *[f"![{k}]({v})" for k, v in r["plots"].items()],
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
