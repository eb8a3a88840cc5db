"""ResidualWalk-v0: a PPO policy adds small foot-position corrections to an open-loop trot."""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import gymnasium as gym
import mujoco
import numpy as np
from gymnasium import spaces

from envs.config import EnvConfig
from envs.robot_sim import RobotSim, load_model, spawn_pose
from gait.controller import BaselineTrotController

OFF_TERRAIN_MARGIN = 0.2  # m, episode ends this close to the heightfield's edge
ROLL_RATE_SCALE = 0.1  # m per rad: roll rate's share of the lateral_stability cost

# Domain randomisation ranges (uniform, multiplicative unless noted), drawn at every reset.
RANDOMIZE_FRICTION = (0.7, 1.3)  # x sliding friction of every geom
RANDOMIZE_TRUNK_MASS = (0.85, 1.15)  # x trunk (and battery) mass
RANDOMIZE_ACTUATOR_STRENGTH = (0.85, 1.15)  # x position gain kp and torque limit
RANDOMIZE_TERRAIN_HEIGHT = (0.8, 1.2)  # x heightfield elevation
OBS_NOISE_STD = 0.02  # additive Gaussian noise on every observation entry (obs units), randomize only

# Action and observation layout (see the class docstring's tables).
N_ACTIONS = 12  # 4 legs x (x, y, z) foot offsets: the residual part of every action
N_MODULATION = 2  # stride and frequency, with gait_modulation
N_STEERING = 1  # the differential stride, with steering (the last action entry)
JOINT_QPOS = slice(7, 19)  # the 12 joint angles in qpos (after the free joint's 7)
JOINT_QVEL = slice(6, 18)  # the 12 joint velocities in qvel (after the free joint's 6)
N_GROUND_SAMPLES = 12  # 3 per leg
N_HEADING_OBS = 3  # sin yaw, cos yaw, lateral position
N_COMMAND_OBS = 2  # commanded forward speed (m/s) and yaw rate (rad/s): the LAST entries, with commands


def observation_size(n_actions: int, terrain_samples: bool, heading_observation: bool, commands: bool = False) -> int:
    """3 gravity + 3 gyro + 3 velocity + 12 joints + 12 joint speeds + 2 phase + 2 x actions (+ extras)."""
    return (
        35
        + 2 * n_actions
        + (N_GROUND_SAMPLES if terrain_samples else 0)
        + (N_HEADING_OBS if heading_observation else 0)
        + (N_COMMAND_OBS if commands else 0)
    )


# How an episode can end, and which endings are falls (the one definition every report uses).
TERMINATIONS = ("fell_height", "fell_tilt", "off_terrain", "physics_error", "invalid_action")
FALL_TERMINATIONS = frozenset({"fell_height", "fell_tilt", "physics_error", "invalid_action"})


def is_fall(termination: str) -> bool:
    """True when an episode ended because the robot fell or the simulation (or the action) broke."""
    return termination in FALL_TERMINATIONS


_INSTABILITY_WARNINGS = tuple(
    int(w)
    for w in (mujoco.mjtWarning.mjWARN_BADQPOS, mujoco.mjtWarning.mjWARN_BADQVEL, mujoco.mjtWarning.mjWARN_BADQACC)
)


class ResidualWalkEnv(gym.Env):
    """Residual foot-position corrections on top of the baseline trot, on rough terrain.

    Each control step (``frame_skip`` x 4 ms physics steps; 5 of them, 50 Hz, by default) the action
    ``a`` in [-1, 1]^12 passes a first-order low-pass filter, ``r <- r + action_filter * (a - r)``,
    and the residual ``r`` is scaled by ``residual_scale`` (metres) and added to the baseline
    trot's foot targets (4 feet x (x, y, z) in each hip's frame, trunk axes, leg order FR,
    FL, RR, RL); analytic inverse kinematics turns them into the 12 position-actuator targets.
    With ``a = 0`` the env reproduces ``envs.robot_sim.run_baseline`` step for step.

    Why the filter: this 0.58 kg robot's servos follow a target jump within a few
    milliseconds, so white exploration noise of only 1 mm per step halves the trot's speed
    even on flat ground (DIAGNOSIS.md); filtered, the same noise leaves the walk intact.

    ## Action space
    ``Box(-1, 1, (12,), float32)``, ``(14,)`` with ``gait_modulation``, one more with ``steering``. Entries 0:12 are per
    leg ``(dx, dy, dz)`` foot offsets in units of ``residual_scale`` m (default 0.02 m, so at
    most 2 cm per axis). With ``gait_modulation`` (Policies Modulating Trajectory Generators,
    Iscen et al. 2018) entry 12 scales the stride, ``step_length x (1 + stride_range x r12)``,
    and entry 13 the frequency, the phase advancing ``(1 + frequency_range x r13) x dt /
    cycle_time`` per step: the policy may walk past the trot's own no-slip speed
    (2 x step_length / cycle_time) while staying a correction on top of the trot. Actions are
    clipped to [-1, 1]. A 12-entry action (the baseline's zero residual, say) is accepted with
    modulation on and leaves the stride and frequency at the gait's own. Every entry passes a
    low-pass filter: the foot offsets and the stride
    with ``action_filter`` (a stride jump jerks every foot, like unfiltered residuals), the
    frequency with its own ``frequency_filter`` (default 1: none; the phase integrates the
    frequency, so exploration noise on it averages out instead of jerking the feet, while a
    filter as slow as the feet's would hide the policy's exploration of the gait's timing).
    With ``steering`` one more entry, the last, steers: left legs stride ``x (1 - steering_range
    x r)`` and right legs ``x (1 + steering_range x r)`` (on top of the stride scale), so a
    positive value yaws the robot to the left. Foot residuals alone cannot steer: a turn needs a
    stride-long difference between the sides, which the residual filter attenuates. The steering
    entry passes ``action_filter`` like the stride; zero steering is the plain stride, bit for bit.

    ## Observation space (float32; 59 entries + 12 ground samples + 4 with gait_modulation + 2 with steering
    ## + 3 heading + 2 commands)
    | slice   | entries | meaning                                                      | unit  |
    |---------|---------|--------------------------------------------------------------|-------|
    | 0:3     | 3       | gravity direction in the trunk frame (unit vector)           | -     |
    | 3:6     | 3       | trunk angular velocity, trunk frame (gyro)                   | rad/s |
    | 6:9     | 3       | trunk linear velocity, trunk frame (velocimeter)             | m/s   |
    | 9:21    | 12      | joint positions                                              | rad   |
    | 21:33   | 12      | joint velocities                                             | rad/s |
    | 33:35   | 2       | gait phase as (sin, cos) of 2 pi x cycles walked             | -     |
    | 35:35+A | A       | previous action (A = 12, +2 with gait_modulation, +1 steering) | -   |
    | next A  | A       | filtered action r now applied (action units)                 | -     |
    | next 12 | 12      | ground minus trunk height, 3 points per hip: x -3, 0, +3 cm (``terrain_samples``) | m |
    | next 3  | 3       | sin yaw, cos yaw, world y of the trunk (``heading_observation``) | -, -, m |
    | last 2  | 2       | commanded forward speed, commanded yaw rate (``commands``)   | m/s, rad/s |
    Without gait modulation the phase is ``t / cycle_time`` (time-based, as the plain trot).
    ``info`` also reports ``stride_scale``, ``frequency_scale`` (1.0 without modulation) and ``turn``
    (steering_range x r, 0.0 without steering).

    ## Commands (``commands=True``)
    Each reset draws a forward speed uniformly between ``command_speed_min`` and
    ``command_speed_max`` (default 0.05..0.20 m/s) and a yaw rate between
    ``command_yaw_rate_min`` and ``command_yaw_rate_max`` (default 0..0 rad/s: straight ahead),
    from the env's ``np_random`` after every other draw of the reset (so with commands off
    nothing, not even the random stream, changes). ``reset(options={"command": (v, w)})``
    fixes it for one episode (equal range ends fix it for all). ``env.command`` holds it, the
    observation ends with it and ``info`` carries ``command_speed``, ``command_yaw_rate``,
    ``heading_speed`` (the step's world velocity projected on the trunk's heading, m/s) and
    ``yaw_rate`` (about world z, rad/s). The trot's own speed is fixed by the gait
    (no-slip 2 x step_length / cycle_time = 0.15 m/s with the default gait; about 0.10 m/s on
    the default terrain): a policy reaches commands above or below it by shortening or
    lengthening the stride and slowing or quickening the cycle, which needs
    ``gait_modulation`` (foot residuals alone move the feet by at most ``residual_scale``).
    With ``command_feedforward`` the gait does part of this itself: the stride and frequency
    scales start at ``sqrt(command / no-slip speed)`` each (0.58 at 0.05 m/s, 1.41 at 0.30 m/s
    with the default gait), so the plain modulated trot walks the command without slip; the gait
    actions add ``stride_range x r`` and ``frequency_range x r`` to that, clipped to the usual
    ``1 -/+ range``. Off, or with commands off, the gait starts at 1 as before.
    Best measured (DIAGNOSIS.md, cmdR, the shipped commanded policy): ``commands=True,
    gait_modulation=True, command_feedforward=True, command_speed_max=0.40,
    command_speed_kernel="laplace", command_speed_sigma=0.10, command_speed_window=0.8,
    forward_velocity_weight=0, tracking_velocity_weight=3.0, tracking_yaw_rate_weight=0.5,
    orientation_weight=3.0`` with the training's curriculum (mean tracking error 0.0086 m/s over
    0.05-0.20 m/s on the default terrain).

    ## Terrain switching
    ``set_terrain(png)`` swaps the heightfield in place (same pixel size as the configured
    terrain; compiled once per PNG and cached) and ``set_terrain_schedule(schedule)`` lets an
    object pick the terrain at every reset from how the last episode went: the training's
    ``--curriculum`` (``curriculum`` and ``curriculum_*`` fields, read by ``walklab.training``,
    not by the env) installs ``walklab.curriculum.TerrainCurriculum`` in each training env.

    ## Reward
    ``reward = sum_k weight_k * term_k``: each ``_reward_<k>`` method returns the unscaled term
    with its sign (costs negative) and ``_get_rew`` scales them in one line. The weights are the
    fields of ``envs.config.RewardWeights`` (defaults in brackets; the reference's original
    weights are ``ORIGINAL_REWARD_WEIGHTS``: forward 1.0, lateral 0.5, energy 0.1, smoothness 0.2):
    - ``forward_velocity`` [5.0]   (+) trunk velocity along world x, m/s
    - ``lateral_stability`` [0.3]  (-) |trunk velocity along world y| + 0.1 m/rad x |roll rate|
    - ``energy`` [0.05]            (-) mean squared filtered foot residual r[0:12]: how much correction is applied
    - ``smoothness`` [0.05]        (-) mean squared change of the action since the last step
    - ``alive`` [0.1]              (+) 1 per step while not fallen
    - ``height`` [0.0]             (-) |trunk height above ground - gait.body_height|, m
    - ``orientation`` [0.5]        (-) 1 - cos(tilt), tilt = angle between trunk up-axis and world up
    - ``heading`` [0.0]            (-) 1 - cos(yaw), yaw = heading of the trunk's forward axis off world +x
    - ``centre_line`` [0.0]        (-) |world y of the trunk|: away from the terrain's centre line, m
    - ``tracking_velocity`` [0.0]  (+) exp(-((heading_speed - command_speed) / command_speed_sigma)^2),
      sigma 0.05 m/s; 0 without commands (legged_gym's tracking reward, scaled to this robot's speeds);
      with ``command_speed_kernel="laplace"`` exp(-|heading_speed - command_speed| / command_speed_sigma);
      with ``command_speed_window`` W > 0 s, heading_speed is the mean of the episode's last
      round(W / dt) steps (fewer at its start), ``info["tracked_speed"]``: the per-step speed
      varies within a stride (standard deviation 0.05-0.12 m/s on the trot) and its distribution
      is skewed (short stalls and slips), so a kernel on it pays most for a mean speed about a
      fifth below the command (scripts/tracking_kernel_bias.py)
    - ``tracking_yaw_rate`` [0.0]  (+) exp(-((yaw_rate - command_yaw_rate) / command_yaw_rate_sigma)^2),
      sigma 0.3 rad/s; 0 without commands
    ``info`` carries ``reward_<term>`` (weighted, signed) for every term, even zero-weighted
    ones, and their sum equals the returned reward.

    ## Episode end
    - terminated (``info["termination"]`` names the cause, "" while running):
      "fell_height" (trunk lower than ``min_body_height`` above the ground under it),
      "fell_tilt" (tilt over ``max_tilt``), "off_terrain" (within 0.2 m of the terrain's edge),
      "physics_error" (NaN state or a MuJoCo instability warning), "invalid_action" (an action
      with NaN or inf entries: it is not applied, the residual filter keeps its last finite
      state). After the last two ``info["physics_error"]`` is True, the reward 0 and the
      observation the last finite one. ``is_fall(termination)`` is the toolkit's one
      definition of a fall: every cause but "off_terrain".
    - truncated: by the registration's ``max_episode_steps`` (1000 steps = 20 s).

    ## Arguments
    ``ResidualWalkEnv(config=None, render_mode=None, width=640, height=480, **keywords)``.
    ``config`` is an ``envs.config.EnvConfig`` (default ``EnvConfig()``); ``keywords`` change
    single settings (``gym.make("ResidualWalk-v0", residual_scale=0.04)``): any EnvConfig field
    or ``<term>_weight``. EnvConfig's fields, with defaults and validated ranges:
    gait (``GaitParameters()``: body_height 0.05, step_length 0.06, step_height 0.04,
    cycle_time 0.8), residual_scale (0.02 m, 0..0.1), action_filter (0.1, (0, 1]; 1.0 = no
    filter), terrain (None = assets/hfield.png; a PNG path), frame_skip (5, 1..100; 4 ms each),
    reward_weights (``RewardWeights()``), min_body_height (0.02 m), max_tilt (1.0 rad),
    terrain_samples (True), gait_modulation (False), stride_range (0.6, 0..0.9), frequency_range
    (0.4, 0..0.8), frequency_filter (1.0, (0, 1]), steering (False), steering_range (0.3, 0..0.9),
    heading_observation (False), commands (False),
    command_speed_min/max (0.05/0.20 m/s, -0.5..0.5), command_yaw_rate_min/max (0/0 rad/s, -2..2),
    command_speed_sigma (0.05 m/s), command_speed_kernel ("gaussian" or "laplace"),
    command_speed_window (0 s: per step; 0..5),
    command_feedforward (False; needs commands and gait_modulation),
    command_yaw_rate_sigma (0.3 rad/s), curriculum (False), curriculum_levels (6, 2..21),
    curriculum_promote (0.7), curriculum_demote (0.35), curriculum_own_terrain (0.0) (the
    curriculum fields are the training's, see walklab/curriculum.py), randomize (False: when True
    each reset draws friction x[0.7, 1.3],
    trunk mass x[0.85, 1.15], actuator kp and torque limit x[0.85, 1.15], terrain elevation
    x[0.8, 1.2], and adds N(0, 0.02) noise to observations). render_mode (None, "human",
    "rgb_array"), width/height (640x480, rgb_array frames), model (a compiled scene to use
    instead of loading ``config.terrain``; a pickled clone reloads the terrain). terrain "flat"
    selects the flat floor. ``metadata["render_fps"]`` follows
    ``dt``. Invalid values raise ``envs.fields.ConfigError`` (a ValueError) naming the field.

    ## Version history
    - v0: first release.
    """

    metadata = {"render_modes": ["human", "rgb_array"], "render_fps": 50}

    def __init__(
        self,
        config: EnvConfig | None = None,
        render_mode: str | None = None,
        width: int = 640,
        height: int = 480,
        model: mujoco.MjModel | None = None,
        **keywords: Any,
    ):
        config = (config if config is not None else EnvConfig()).replace(**keywords)
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']}, got {render_mode!r}")
        self.config = config
        self.render_mode = render_mode
        self.width, self.height = width, height

        self.gait = config.gait
        self.residual_scale = config.residual_scale
        self.action_filter = config.action_filter
        self.frame_skip = config.frame_skip
        self.reward_terms = type(config.reward_weights).terms()
        self.weights = config.reward_weights.to_dict()
        # a term added after this env was frozen has no method here: it counts 0, as it did then
        self._reward_fns = [
            (f"reward_{k}", self.weights[k], getattr(self, f"_reward_{k}", _unknown_term)) for k in self.reward_terms
        ]

        self.sim = RobotSim(model if model is not None else load_model(config.terrain))
        self.model, self.data = self.sim.model, self.sim.data
        self.controller = BaselineTrotController(self.gait)
        self.dt = self.model.opt.timestep * self.frame_skip
        self.metadata = {**self.metadata, "render_fps": int(round(1.0 / self.dt))}
        self._sensor = {
            name: slice(self.model.sensor_adr[i], self.model.sensor_adr[i] + self.model.sensor_dim[i])
            for name in ("trunk_gyro", "trunk_linvel")
            for i in [mujoco.mj_name2id(self.model, mujoco.mjtObj.mjOBJ_SENSOR, name)]
        }
        self._nominal = {
            "friction": self.model.geom_friction[:, 0].copy(),
            "body_mass": self.model.body_mass.copy(),
            "body_inertia": self.model.body_inertia.copy(),
            "gain": self.model.actuator_gainprm[:, 0].copy(),
            "bias": self.model.actuator_biasprm[:, 1].copy(),
            "force": self.model.actuator_forcerange.copy(),
            "hfield_size": self.model.hfield_size.copy(),
        }
        # views of MuJoCo's warning counters, looked up once (data lives as long as the env)
        self._instability_stats = tuple(self.data.warning[w] for w in _INSTABILITY_WARNINGS)
        self._terrain_limit_x = self.sim.terrain_height.half_length - OFF_TERRAIN_MARGIN
        self._terrain_limit_y = self.sim.terrain_height.half_width - OFF_TERRAIN_MARGIN

        self.n_actions = (
            N_ACTIONS + (N_MODULATION if config.gait_modulation else 0) + (N_STEERING if config.steering else 0)
        )
        obs_size = observation_size(self.n_actions, config.terrain_samples, config.heading_observation, config.commands)
        self.observation_space = spaces.Box(-np.inf, np.inf, shape=(obs_size,), dtype=np.float32)
        self.action_space = spaces.Box(-1.0, 1.0, shape=(self.n_actions,), dtype=np.float32)

        # A modulated or steered gait advances by cycles walked; the plain trot by time, bit for bit as before.
        self._phase_from_cycles = config.gait_modulation or config.steering
        self._filter = np.full(self.n_actions, self.action_filter)  # low-pass coefficient per action entry
        if config.gait_modulation:  # the stride keeps action_filter: a stride jump jerks every foot
            self._filter[N_ACTIONS + 1] = config.frequency_filter
        self._step_count = 0
        # Gait cycles walked beyond the plain trot's t / cycle_time (the modulated frequency's extra);
        # kept apart so that an unmodulated step is bit for bit the plain trot's.
        self._extra_cycles = 0.0
        self._prev_action = np.zeros(self.n_actions)
        self._residual = np.zeros(self.n_actions)  # filtered action, the correction actually applied
        self._last_obs = np.zeros(obs_size, dtype=np.float32)
        self._renderer = None
        self._viewer = None
        self._init_commands_and_terrain()

    # ------------------------------------------------------------------ gym API
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self._switch_terrain_before_episode()
        if self.config.randomize:
            self._randomize_physics()
        x, y, yaw = spawn_pose(self.np_random)
        self.sim.place(x, y, yaw, self.controller.joint_targets(0.0))
        self._step_count = 0
        self._extra_cycles = 0.0
        self._prev_action = np.zeros(self.n_actions)
        self._residual = np.zeros(self.n_actions)
        self._start_command_episode(options)  # after every other draw: with commands off the RNG is untouched
        self._last_obs = self._get_obs(self.sim.ground_samples())
        return self._last_obs, self._state_info()

    def step(self, action):
        action = np.asarray(action, dtype=np.float64).ravel()
        if action.size == N_ACTIONS < self.n_actions:  # a residual alone: the gait's own stride and frequency
            action = np.concatenate([action, np.zeros(self.n_actions - N_ACTIONS)])
        action = action.reshape(self.n_actions)
        if not np.isfinite(action).all():
            return self._failure_result("invalid_action", action)
        action = np.minimum(np.maximum(action, -1.0), 1.0)  # np.clip's result, at half its call cost
        self._residual += self._filter * (action - self._residual)
        offsets = (self.residual_scale * self._residual[:N_ACTIONS]).reshape(4, 3)
        stride_scale, frequency_scale, turn = self._modulation()
        if self._phase_from_cycles:
            self.data.ctrl[:] = self.controller.joint_targets_at(self._cycles(), offsets, stride_scale, turn)
            self._extra_cycles += (frequency_scale - 1.0) * self.dt / self.gait.cycle_time
        else:  # time-based, bit for bit as the plain trot
            self.data.ctrl[:] = self.controller.joint_targets(self._step_count * self.dt, offsets)
        x_before, y_before = self.data.qpos[0], self.data.qpos[1]
        mujoco.mj_step(self.model, self.data, nstep=self.frame_skip)
        self._step_count += 1

        if not self._physics_ok():
            return self._failure_result("physics_error", action)
        x_velocity = (self.data.qpos[0] - x_before) / self.dt
        y_velocity = (self.data.qpos[1] - y_before) / self.dt
        ground = self.sim.ground_samples()
        body_height = self.sim.trunk_height_above_ground(ground)
        tilt = self.sim.trunk_tilt()
        heading_speed = 0.0  # along the trunk's heading: what tracking_velocity and info read (commands)
        if self.config.commands:
            heading_speed = self._heading_speed(x_velocity, y_velocity)
            self._track_speed(heading_speed)
        reward, reward_info = self._get_rew(x_velocity, y_velocity, body_height, tilt, action)
        termination = self._termination(body_height, tilt)
        self._last_termination = termination
        self._prev_action = action
        self._last_obs = self._get_obs(ground)
        info = {
            "x_position": float(self.data.qpos[0]),
            "x_velocity": float(x_velocity),
            "y_velocity": float(y_velocity),
            "body_height": body_height,
            "tilt": tilt,
            "mean_abs_action": float(np.abs(action).sum()) / self.n_actions,  # np.mean's sum / n
            "stride_scale": stride_scale,
            "frequency_scale": frequency_scale,
            "turn": turn,
            "termination": termination,
            "physics_error": False,
            **reward_info,
            **self._command_info(heading_speed),
        }
        if self.render_mode == "human":
            self.render()
        return self._last_obs, reward, bool(termination), False, info

    def render(self):
        if self.render_mode == "rgb_array":
            if self._renderer is None:
                self._renderer = mujoco.Renderer(self.model, self.height, self.width)
            self._renderer.update_scene(self.data, self.tracking_camera())
            return self._renderer.render()
        if self.render_mode == "human":
            if self._viewer is None:
                from mujoco import viewer

                from envs.camera import track

                self._viewer = viewer.launch_passive(self.model, self.data)
                with self._viewer.lock():
                    track(self._viewer.cam, self.model, self.sim.trunk_id, self.data)
            self._viewer.sync()
        return None

    def close(self):
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None
        if self._viewer is not None:
            self._viewer.close()
            self._viewer = None

    # ------------------------------------------------------------------ pieces
    def _get_obs(self, ground: np.ndarray) -> np.ndarray:
        """The observation vector; `ground` is the world z of the 12 ground samples."""
        d = self.data
        rot = d.xmat[self.sim.trunk_id]
        gravity_body = -rot[6:9]  # world -z in the trunk frame (row 2 of the rotation matrix)
        if self._phase_from_cycles:
            phase = 2 * np.pi * self._cycles()
        else:
            phase = 2 * np.pi * self._step_count * self.dt / self.gait.cycle_time
        parts = [
            gravity_body,
            d.sensordata[self._sensor["trunk_gyro"]],
            d.sensordata[self._sensor["trunk_linvel"]],
            d.qpos[JOINT_QPOS],
            d.qvel[JOINT_QVEL],
            (np.sin(phase), np.cos(phase)),
            self._prev_action,
            self._residual,
        ]
        if self.config.terrain_samples:
            parts.append(ground - d.qpos[2])
        if self.config.heading_observation:
            yaw = self._yaw()
            parts.append((math.sin(yaw), math.cos(yaw), d.qpos[1]))
        if self.config.commands:
            parts.append(self.command)
        obs = np.concatenate(parts, dtype=np.float32)
        if self.config.randomize:
            obs += self.np_random.normal(0.0, OBS_NOISE_STD, size=obs.shape).astype(np.float32)
        return obs

    def _get_rew(self, x_velocity, y_velocity, body_height, tilt, action):
        """(reward, {reward_<term>: weighted signed value}); the reward is the sum of the values."""
        state = _StepState(x_velocity, y_velocity, body_height, tilt, action)
        # a term weighted 0 is not computed (its value is 0 whatever it would be)
        reward_info = {key: weight * fn(state) if weight else 0.0 for key, weight, fn in self._reward_fns}
        return sum(reward_info.values()), reward_info

    # One method per reward term, unscaled, signed: + rewards, - costs.
    def _reward_forward_velocity(self, s: _StepState) -> float:
        return float(s.x_velocity)  # progress along world x, m/s

    def _reward_lateral_stability(self, s: _StepState) -> float:
        return -(abs(s.y_velocity) + ROLL_RATE_SCALE * abs(self.data.qvel[3]))  # sideways drift and roll rate

    def _reward_energy(self, s: _StepState) -> float:
        feet = self._residual[:N_ACTIONS]
        return -float(feet.dot(feet)) / N_ACTIONS  # foot correction applied

    def _reward_smoothness(self, s: _StepState) -> float:
        delta = s.action - self._prev_action
        return -float(delta.dot(delta)) / self.n_actions  # jerky actions

    def _reward_alive(self, s: _StepState) -> float:
        return 1.0  # one per step still standing

    def _reward_heading(self, s: _StepState) -> float:
        return -(1.0 - math.cos(self._yaw()))  # walking off the +x direction

    def _reward_centre_line(self, s: _StepState) -> float:
        return -abs(float(self.data.qpos[1]))  # away from the terrain's long centre line, m

    def _reward_height(self, s: _StepState) -> float:
        return -abs(s.body_height - self.gait.body_height)  # distance from the gait's body height, m

    def _reward_orientation(self, s: _StepState) -> float:
        return -(1.0 - math.cos(s.tilt))  # trunk tilt

    def _reward_tracking_velocity(self, s: _StepState) -> float:
        if not self.config.commands:
            return 0.0
        error = self._tracked_speed - self.command[0]  # m/s along the trunk's heading (_track_speed)
        if self.config.command_speed_kernel == "laplace":
            return math.exp(-abs(error) / self.config.command_speed_sigma)  # 1 on the command
        return math.exp(-((error / self.config.command_speed_sigma) ** 2))

    def _reward_tracking_yaw_rate(self, s: _StepState) -> float:
        if not self.config.commands:
            return 0.0
        error = self._yaw_rate() - self.command[1]  # rad/s about world z
        return math.exp(-((error / self.config.command_yaw_rate_sigma) ** 2))

    def _modulation(self) -> tuple[float, float, float]:
        """(stride scale, frequency scale, turn) from the filtered gait actions; (1, 1, 0) without them."""
        r, c = self._residual, self.config
        turn = c.steering_range * float(r[-1]) if c.steering else 0.0
        if not c.gait_modulation:
            return 1.0, 1.0, turn
        if c.command_feedforward:  # start from the command's no-slip gait, stay within the usual bounds
            base = math.sqrt(max(float(self.command[0]), 0.0) / self.nominal_speed)
            stride = base + c.stride_range * float(r[N_ACTIONS])
            frequency = base + c.frequency_range * float(r[N_ACTIONS + 1])
            return (
                min(max(stride, 1.0 - c.stride_range), 1.0 + c.stride_range),
                min(max(frequency, 1.0 - c.frequency_range), 1.0 + c.frequency_range),
                turn,
            )
        return (
            1.0 + c.stride_range * float(r[N_ACTIONS]),
            1.0 + c.frequency_range * float(r[N_ACTIONS + 1]),
            turn,
        )

    @property
    def nominal_speed(self) -> float:
        """The plain trot's no-slip speed, 2 x step_length / cycle_time (m/s)."""
        return 2.0 * self.gait.step_length / self.gait.cycle_time

    def _cycles(self) -> float:
        """Gait cycles walked: the plain trot's t / cycle_time plus what a modulated frequency added."""
        return self._step_count * self.dt / self.gait.cycle_time + self._extra_cycles

    def _yaw(self) -> float:
        """Heading (rad) of the trunk's forward axis in the world's horizontal plane; 0 = +x."""
        rot = self.data.xmat[self.sim.trunk_id]
        return math.atan2(rot[3], rot[0])

    def _termination(self, body_height: float, tilt: float) -> str:
        if body_height < self.config.min_body_height:
            return "fell_height"
        if tilt > self.config.max_tilt:
            return "fell_tilt"
        x, y = self.data.qpos[0], self.data.qpos[1]
        if abs(x) > self._terrain_limit_x or abs(y) > self._terrain_limit_y:
            return "off_terrain"
        return ""

    def _physics_ok(self) -> bool:
        """False after NaN/inf state or a MuJoCo instability warning (MuJoCo then resets the data itself)."""
        if any(stat.number for stat in self._instability_stats):  # counters are cleared by every reset
            return False
        return bool(np.isfinite(self.data.qpos).all() and np.isfinite(self.data.qvel).all())

    def _failure_result(self, termination: str, action):
        """End the episode on a broken simulation or a non-finite action, with finite outputs."""
        qpos_x = self.data.qpos[0]
        info = {
            "x_position": float(qpos_x) if np.isfinite(qpos_x) else float("nan"),
            "x_velocity": 0.0,
            "y_velocity": 0.0,
            "body_height": 0.0,
            "tilt": 0.0,
            "mean_abs_action": float(np.mean(np.abs(np.nan_to_num(action, nan=0.0, posinf=1.0, neginf=1.0)))),
            "stride_scale": 1.0,
            "frequency_scale": 1.0,
            "turn": 0.0,
            "termination": termination,
            "physics_error": True,
            **{f"reward_{k}": 0.0 for k in self.reward_terms},
        }
        self._last_termination = termination
        if termination == "physics_error":
            mujoco.mj_resetData(self.model, self.data)  # leave finite state behind for render/close
        return self._last_obs, 0.0, True, False, info

    def _state_info(self) -> dict[str, Any]:
        return {"x_position": float(self.data.qpos[0]), "body_height": self.sim.trunk_height_above_ground()}

    def _randomize_physics(self) -> None:
        m, n, rng = self.model, self._nominal, self.np_random
        m.geom_friction[:, 0] = n["friction"] * rng.uniform(*RANDOMIZE_FRICTION)
        mass_scale = rng.uniform(*RANDOMIZE_TRUNK_MASS)
        m.body_mass[self.sim.trunk_id] = n["body_mass"][self.sim.trunk_id] * mass_scale
        m.body_inertia[self.sim.trunk_id] = n["body_inertia"][self.sim.trunk_id] * mass_scale  # same shape, heavier
        strength = rng.uniform(*RANDOMIZE_ACTUATOR_STRENGTH)
        m.actuator_gainprm[:, 0] = n["gain"] * strength
        m.actuator_biasprm[:, 1] = n["bias"] * strength
        m.actuator_forcerange[:] = n["force"] * strength
        m.hfield_size[:, 2] = n["hfield_size"][:, 2] * rng.uniform(*RANDOMIZE_TERRAIN_HEIGHT)

    # ------------------------------------------------------------------ commands and terrain switching
    def _init_commands_and_terrain(self) -> None:
        self.command = np.zeros(N_COMMAND_OBS)  # (forward speed m/s, yaw rate rad/s); zeros without commands
        window_steps = max(1, int(round(self.config.command_speed_window / self.dt)))
        self._speed_window = np.zeros(window_steps)  # the last heading speeds, a ring (tracking_velocity)
        self._speed_window_count = 0  # steps recorded this episode
        self._tracked_speed = 0.0  # what tracking_velocity compares with the command, m/s
        self.terrain_schedule = None  # set_terrain_schedule (a curriculum): picks each episode's terrain
        self.terrain_path: str | None = None  # the PNG last loaded by set_terrain (None: the configured one)
        self._terrain_cache: dict[str, np.ndarray] = {}
        self._episode_x0 = 0.0
        self._episode_started = False
        self._last_termination = ""

    def _start_command_episode(self, options: dict | None) -> None:
        """Record the spawn and draw this episode's command (``options={"command": (v, w)}`` fixes it)."""
        self._episode_x0 = float(self.data.qpos[0])
        self._episode_started = True
        self._last_termination = ""
        self._speed_window[:] = 0.0
        self._speed_window_count = 0
        self._tracked_speed = 0.0
        if not self.config.commands:
            return
        if options is not None and options.get("command") is not None:
            command = np.asarray(options["command"], dtype=np.float64).reshape(-1)
            if command.size == 1:
                command = np.array([command[0], 0.0])
            if command.size != N_COMMAND_OBS or not np.isfinite(command).all():
                raise ValueError(f"options['command'] must be (forward m/s, yaw rad/s), got {options['command']!r}")
            self.command = command
            return
        c = self.config
        self.command = np.array(
            [
                self.np_random.uniform(*sorted((c.command_speed_min, c.command_speed_max))),
                self.np_random.uniform(*sorted((c.command_yaw_rate_min, c.command_yaw_rate_max))),
            ]
        )

    def _command_info(self, heading_speed: float) -> dict[str, float]:
        """The command and what it is compared with, in ``info`` (nothing without commands)."""
        if not self.config.commands:
            return {}
        return {
            "command_speed": float(self.command[0]),
            "command_yaw_rate": float(self.command[1]),
            "heading_speed": heading_speed,
            "tracked_speed": self._tracked_speed,
            "yaw_rate": self._yaw_rate(),
        }

    def _track_speed(self, heading_speed: float) -> None:
        """Record this step's heading speed; ``_tracked_speed`` becomes the mean of the window's filled
        part (the speed itself at W = 0)."""
        window = self._speed_window
        if window.size == 1:
            self._tracked_speed = heading_speed
            return
        window[self._speed_window_count % window.size] = heading_speed
        self._speed_window_count += 1
        self._tracked_speed = float(window.sum()) / min(self._speed_window_count, window.size)

    def _heading_speed(self, x_velocity: float, y_velocity: float) -> float:
        """Speed (m/s) along the trunk's heading in the horizontal plane, from the step's world velocity."""
        yaw = self._yaw()
        return float(x_velocity * math.cos(yaw) + y_velocity * math.sin(yaw))

    def _yaw_rate(self) -> float:
        """Trunk angular velocity about world z (rad/s); the free joint's qvel[3:6] is in the trunk frame."""
        rot = self.data.xmat[self.sim.trunk_id]
        return float(rot[6:9].dot(self.data.qvel[3:6]))

    def set_terrain(self, png: str | None) -> None:
        """Walk on another heightfield PNG from the next step on (None: the configured terrain).

        The heights are swapped in place (the PNG is compiled once, by MuJoCo's own loader, and
        cached), so nothing is recompiled per switch. The PNG must have the configured terrain's
        size in pixels. A renderer already open keeps drawing the old terrain.
        """
        key = str(png) if png is not None else (self.config.terrain or "")
        if key not in self._terrain_cache:
            if self.sim.terrain_height.flat:
                raise ValueError("set_terrain needs a heightfield scene, not the flat floor")
            source = load_model(png if png is not None else self.config.terrain)
            if (
                source.hfield_data.shape != self.model.hfield_data.shape
                or not np.array_equal(source.hfield_nrow, self.model.hfield_nrow)
                or not np.array_equal(source.hfield_ncol, self.model.hfield_ncol)
            ):
                raise ValueError(
                    f"terrain {png} has {source.hfield_nrow[0]}x{source.hfield_ncol[0]} pixels; "
                    f"the env's has {self.model.hfield_nrow[0]}x{self.model.hfield_ncol[0]}"
                )
            self._terrain_cache[key] = np.array(source.hfield_data, copy=True)
        self.model.hfield_data[:] = self._terrain_cache[key]  # the terrain lookup reads the same memory
        self.terrain_path = None if png is None else str(png)

    def set_terrain_schedule(self, schedule) -> None:
        """Let `schedule` choose the terrain at every reset (None: stop switching).

        `schedule.next_terrain(outcome)` is called at the start of each reset and returns a PNG
        path (or None to keep the current terrain); `outcome` describes the episode that just
        ended, or is None before the first one: ``distance_m`` (along world x), ``seconds``,
        ``termination``, ``fell`` (``is_fall``), ``command_mps`` (None without commands) and
        ``nominal_mps`` (the trot's no-slip speed, 2 x step_length / cycle_time).
        ``walklab.curriculum.TerrainCurriculum`` is the one the training's ``--curriculum`` uses.
        """
        self.terrain_schedule = schedule
        self._episode_started = False

    def _switch_terrain_before_episode(self) -> None:
        if self.terrain_schedule is None:
            return
        outcome = None
        if self._episode_started and self._step_count > 0:
            x_end = float(self.data.qpos[0])
            outcome = {
                "distance_m": x_end - self._episode_x0 if np.isfinite(x_end) else 0.0,
                "seconds": self._step_count * self.dt,
                "termination": self._last_termination,
                "fell": is_fall(self._last_termination),
                "command_mps": float(self.command[0]) if self.config.commands else None,
                "nominal_mps": self.nominal_speed,
            }
        png = self.terrain_schedule.next_terrain(outcome)
        if png is not None and str(png) != self.terrain_path:
            self.set_terrain(png)

    def tracking_camera(self) -> mujoco.MjvCamera:
        """A camera that follows the trunk from the side and behind (envs/camera.py, as the viewer's)."""
        from envs.camera import tracking_camera

        return tracking_camera(self.model, self.sim.trunk_id)

    # ------------------------------------------------------------------ pickling
    def __getstate__(self):
        # Not gymnasium.utils.EzPickle: that rebuilds from the constructor arguments only, and a
        # clone here must also carry the episode's state (SubprocVecEnv, tests of determinism).
        return {
            "init": (self.config, self.render_mode, self.width, self.height),
            "qpos": self.data.qpos.copy(),
            "qvel": self.data.qvel.copy(),
            "ctrl": self.data.ctrl.copy(),
            "time": self.data.time,
            "step_count": self._step_count,
            "extra_cycles": self._extra_cycles,
            "prev_action": self._prev_action.copy(),
            "residual": self._residual.copy(),
            "last_obs": self._last_obs.copy(),
            "np_random": self._np_random,
            "command": self.command.copy(),
            "speed_window": (self._speed_window.copy(), self._speed_window_count, self._tracked_speed),
            "terrain": (
                self.terrain_path,
                self.terrain_schedule,
                self._episode_x0,
                self._episode_started,
                self._last_termination,
            ),
        }

    def __setstate__(self, state):
        self.__init__(*state["init"])
        if "terrain" in state:
            terrain_path, self.terrain_schedule, self._episode_x0, self._episode_started, self._last_termination = (
                state["terrain"]
            )
            if terrain_path is not None:
                self.set_terrain(terrain_path)
            self.command = state["command"]
        if "speed_window" in state:
            window, self._speed_window_count, self._tracked_speed = state["speed_window"]
            self._speed_window = window.copy()
        self.data.qpos[:] = state["qpos"]
        self.data.qvel[:] = state["qvel"]
        self.data.ctrl[:] = state["ctrl"]
        self.data.time = state["time"]
        mujoco.mj_forward(self.model, self.data)
        self._step_count = state["step_count"]
        self._extra_cycles = state["extra_cycles"]
        self._prev_action = state["prev_action"]
        self._residual = state["residual"]
        self._last_obs = state["last_obs"]
        self._np_random = state["np_random"]


class _StepState(NamedTuple):
    """What the reward terms read about the step just taken."""

    x_velocity: float  # m/s, world x
    y_velocity: float  # m/s, world y
    body_height: float  # m above the ground around the hips
    tilt: float  # rad
    action: np.ndarray  # the clipped action


def _unknown_term(state) -> float:
    return 0.0
