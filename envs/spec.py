"""ResidualWalk-v0's specification: what ``envs.walk_core.WalkCore`` computes for each robot, per step.

``envs.residual_walk_env.ResidualWalkEnv`` (one robot) and ``envs.vector_env.ResidualWalkVectorEnv``
(N robots on one ``mujoco.batch.Batch``) are views of the core. The observation and reward tables
at the end of this docstring are generated (``spec_tables(config)``) from the layout's table
(``envs.layout.OBSERVATION_PARTS``), the reward weights (``envs.config.RewardWeights``) and the
``_reward_<term>`` methods (``envs.rewards``); docs/environment.md holds v2's (the parts it observes,
the terms it pays for), checked by ``tests/test_spec.py`` (``WRITE_SPEC_TABLES=1`` rewrites them).

Each control step (``frame_skip`` x 4 ms physics steps; 5 of them, 50 Hz, by default) the action
``a`` in [-1, 1]^n passes a first-order low-pass filter, ``r <- r + action_filter * (a - r)``, and
the residual ``r`` is scaled by ``residual_scale`` (metres) and added to the baseline trot's foot
targets (4 feet x (x, y, z) in each hip's frame, trunk axes, leg order FR, FL, RR, RL); analytic
inverse kinematics turns them into the 12 position-actuator targets. With ``a = 0`` the env
reproduces ``envs.rollout.run_baseline`` step for step.

Why the filter: this 0.58 kg robot's servos follow a target jump within a few milliseconds, so
white exploration noise of only 1 mm per step halves the trot's speed even on flat ground
(DIAGNOSIS.md); filtered, the same noise leaves the walk intact.

## Action
``Box(-1, 1, (n,), float32)``; ``envs.layout.action_structure(config)`` names its parts in order.
Entries 0:12 are per leg ``(dx, dy, dz)`` foot offsets in units of ``residual_scale`` m (default
0.02 m, so at most 2 cm per axis). With ``gait_modulation`` (Policies Modulating Trajectory
Generators, Iscen et al. 2018) entry 12 scales the stride, ``step_length x (1 + stride_range x
r12)``, and entry 13 the frequency, the phase advancing ``(1 + frequency_range x r13) x dt /
cycle_time`` per step: the policy may walk past the trot's own no-slip speed (2 x step_length /
cycle_time) while staying a correction on top of the trot. A 12-entry action (the baseline's zero
residual, say) is accepted with modulation on and leaves the stride and frequency at the gait's own.
Actions are clipped to [-1, 1]. Every entry passes a low-pass filter: the foot offsets and the
stride with ``action_filter`` (a stride jump jerks every foot, like unfiltered residuals), the
frequency with its own ``frequency_filter`` (default 1: none; the phase integrates the frequency,
so exploration noise on it averages out instead of jerking the feet).
With ``swing_height`` one more entry (after the gait's two, before steering) scales the swing's
apex, ``step_height x (1 + swing_height_range x r)``, so the policy can lift its feet over a step
or a ridge; it passes ``action_filter``.
With ``steering`` one more entry, the last, steers: left legs stride ``x (1 - steering_range x r)``
and right legs ``x (1 + steering_range x r)`` (on top of the stride scale), so a positive value
yaws the robot to the left. Foot residuals alone cannot steer: a turn needs a stride-long
difference between the sides, which the residual filter attenuates. Zero steering is the plain
stride, bit for bit.

## Observation
float32, the parts of the observation table below in its order (``observation_slices(config)``
gives each part's slice; a part behind an option is there only with it). Without gait modulation
or steering the phase is ``t / cycle_time`` (time-based, as the plain trot). With ``randomize`` each
entry gets Gaussian noise (``envs.randomization.OBS_NOISE_STD``) after the parts are put together.
``info`` also reports ``stride_scale``, ``frequency_scale`` (1.0 without modulation) and ``turn``
(steering_range x r, 0.0 without steering).
With ``obs_history`` k > 0 (off by default) the observation goes on with the last k observations
(each the parts above, exactly as observed, noise included) and then the last k actions sent
(clipped), both newest first; the episode's first observation and zero actions fill the slots
the episode is too young for (``envs.history``; the table "Observation history").

## Commands (``commands=True``)
Each reset draws a forward speed uniformly between ``command_speed_min`` and
``command_speed_max`` (default 0.05..0.20 m/s) and a yaw rate between ``command_yaw_rate_min`` and
``command_yaw_rate_max`` (default 0..0 rad/s: straight ahead; ``command_straight_share`` of the
episodes walk at yaw rate 0 whatever the range), from the robot's random stream after every other
draw of the reset (so with commands off nothing, not even the random stream, changes).
``reset(options={"command": (v, w)})`` fixes it for one episode (equal range ends fix it for all).
``env.command`` holds it, the observation's ``command`` part shows it and ``info`` carries
``command_speed``, ``command_yaw_rate``, ``heading_speed`` (the step's world velocity projected on
the trunk's heading, m/s), ``tracked_speed``, ``yaw_rate`` (about world z, rad/s), ``yaw`` and
``command_heading`` (rad). A turning robot's spawn moves sideways against its turn
(``Commands.spawn_y_shift``). The trot's own speed is fixed by the gait (no-slip 0.15 m/s with the
default gait; about 0.10 m/s on the default terrain): a policy reaches other commands by changing
the stride and the cycle, which needs ``gait_modulation``. With ``command_feedforward`` the stride
and frequency scales start at ``sqrt(command / no-slip speed)`` each, so the plain modulated trot
walks the command without slip; the gait actions add ``stride_range x r`` and ``frequency_range x
r`` to that, clipped to the usual ``1 -/+ range``.

## Terrain switching
``set_terrain(png)`` swaps the heightfield in place (same pixel size as the configured terrain;
compiled once per PNG and cached) and ``set_terrain_schedule(schedule)`` lets an object pick the
terrain at every reset from how the last episode went: the training's ``--curriculum`` installs
``walklab.curriculum.TerrainCurriculum`` in each training env.

## Reward
``reward = sum_k weight_k * term_k``: each ``_reward_<k>`` method (``envs.rewards``) returns the
unscaled term with its sign (costs negative) and ``WalkCore`` weights and sums them in one place
(a term weighted 0 is not computed). The weights are the fields of ``envs.config.RewardWeights``
(the reference's original weights are ``ORIGINAL_REWARD_WEIGHTS``: forward 1.0, lateral 0.5,
energy 0.1, smoothness 0.2). ``info`` carries ``reward_<term>`` (weighted, signed) for every term,
even zero-weighted ones, and their sum equals the returned reward. The commanded heading starts at
0 and turns at the commanded yaw rate (0 for ever without commands). ``tracking_velocity``
(legged_gym's tracking reward, scaled to this robot's speeds) compares ``heading_speed`` with the
command; with ``command_speed_window`` W > 0 s, the mean of the episode's last round(W / dt) steps
(fewer at its start), ``info["tracked_speed"]``: the per-step speed varies within a stride and is
skewed (short stalls and slips), so a kernel on it pays most for a mean speed about a fifth below
the command (scripts/tracking_kernel_bias.py).

## Episode end
- terminated (``info["termination"]`` names the cause, "" while running): "fell_height" (trunk
  lower than ``min_body_height`` above the ground under it), "fell_tilt" (tilt over ``max_tilt``),
  "off_terrain" (within 0.2 m of the terrain's edge), "physics_error" (NaN state or a MuJoCo
  instability warning), "invalid_action" (an action with NaN or inf entries: it is not applied, the
  residual filter keeps its last finite state). After the last two ``info["physics_error"]`` is
  True, the reward 0 and the observation the last finite one. ``is_fall(termination)`` is the
  toolkit's one definition of a fall: every cause but "off_terrain".
- truncated: by the registration's ``max_episode_steps`` (1000 steps = 20 s).
"""

from __future__ import annotations

import dataclasses

from envs.config import WEIGHT_SUFFIX, EnvConfig
from envs.layout import (
    HISTORY_PARTS,
    OBSERVATION_PARTS,
    action_size,
    current_observation_size,
    history_parts,
    observation_size,
    observation_slices,
    part_size,
)
from envs.rewards import RewardTerms

BEGIN = "<!-- spec tables: generated by envs/spec.py (WRITE_SPEC_TABLES=1 pytest tests/test_spec.py); do not edit -->"
END = "<!-- end of spec tables -->"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _row(cells) -> str:
    return "| " + " | ".join(_cell(str(c)) for c in cells) + " |"


def observation_table(config: EnvConfig, complete: bool = True) -> str:
    """Markdown: the parts of ``OBSERVATION_PARTS`` in order, their slices under `config`.

    `complete` lists the parts `config` switches off too ("off"); otherwise only the observed ones.
    """
    slices = observation_slices(config)
    header = ("slice", "entries", "part", "meaning", "unit", "option", "noise (obs_noise_level 1)")
    lines = [_row(header), _row(["---"] * len(header))]
    for part in OBSERVATION_PARTS + history_parts(config):
        at = slices.get(part.name)
        if not (at or complete):
            continue
        where = f"{at.start}:{at.stop}" if at else "off"
        noise = f"{part.noise:g}" if part.noise else "-"
        cells = (
            where,
            part_size(part, config),
            f"`{part.name}`",
            part.meaning,
            part.unit,
            part.option or "always",
            noise,
        )
        lines.append(_row(cells))
    return "\n".join(lines)


def history_table(config: EnvConfig) -> str:
    """Markdown: what ``obs_history`` k > 0 would add after `config`'s observation (it observes none)."""
    size = current_observation_size(config)
    sizes = {
        "observation_history": size,
        "action_history": action_size(config.gait_modulation, config.steering, config.swing_height),
    }
    header = ("entries", "part", "meaning", "unit", "option")
    lines = [
        f"Off (`obs_history` 0). With `obs_history` k > 0 (`--obs-history k`) the observation goes on "
        f"after its {size} entries with these parts, newest first (`envs.history`):",
        "",
        _row(header),
        _row(["---"] * len(header)),
    ]
    for part in HISTORY_PARTS:
        lines.append(_row((f"k x {sizes[part.name]}", f"`{part.name}`", part.meaning, part.unit, part.option)))
    return "\n".join(lines)


def reward_table(config: EnvConfig, terms: type = RewardTerms, complete: bool = True) -> str:
    """Markdown: the reward terms, their weights under `config` and by default, and what they pay (signed).

    `complete` lists the terms `config` weights 0 too; otherwise only the paid ones.
    """
    weights = config.reward_weights
    lines = [_row(("term", "weight", "default", "unscaled term, signed", "weight flag")), _row(["---"] * 5)]
    for field in dataclasses.fields(weights):
        if not (getattr(weights, field.name) or complete):
            continue
        doc = (getattr(terms, f"_reward_{field.name}").__doc__ or "").strip().rstrip(".")
        flag = "--" + (field.name + WEIGHT_SUFFIX).replace("_", "-")
        lines.append(_row((f"`{field.name}`", getattr(weights, field.name), field.default, doc, f"`{flag}`")))
    return "\n".join(lines)


def spec_tables(config: EnvConfig, terms: type = RewardTerms, complete: bool = True) -> str:
    """The spec's generated part for `config`: its sizes, the observation table and the reward table.

    Not `complete`: only what `config` observes and pays for (docs/environment.md's v2 tables, which
    a new option's part or a new zero-weighted term leaves as they are).
    """
    n_actions = action_size(config.gait_modulation, config.steering, config.swing_height)
    history = () if config.obs_history else ("", "### Observation history", "", history_table(config))
    return "\n".join(
        (
            f"{n_actions} actions, {observation_size(config)} observations.",
            "",
            "### Observation",
            "",
            observation_table(config, complete),
            *history,
            "",
            "### Reward",
            "",
            reward_table(config, terms, complete),
        )
    )


def replace_generated(text: str, tables: str) -> str:
    """`text` with the part between BEGIN and END replaced by `tables`."""
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n{tables}\n{END}{tail}"


def generated(text: str) -> str:
    """The part of `text` between BEGIN and END."""
    return text.split(BEGIN, 1)[1].split(END, 1)[0].strip("\n")


__doc__ += "\n## Tables, with the env's default settings\n" + spec_tables(EnvConfig()) + "\n"
