"""ResidualWalk-v0: a PPO policy adds small foot-position corrections to an open-loop trot."""
from __future__ import annotations

import dataclasses
import math
from typing import Any

import gymnasium as gym
import mujoco
import numpy as np
from gymnasium import spaces

from envs.config import REWARD_TERMS, EnvConfig
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
JOINT_QPOS = slice(7, 19)  # the 12 joint angles in qpos (after the free joint's 7)
JOINT_QVEL = slice(6, 18)  # the 12 joint velocities in qvel (after the free joint's 6)
N_GROUND_SAMPLES = 12  # 3 per leg
N_HEADING_OBS = 3  # sin yaw, cos yaw, lateral position


def observation_size(n_actions: int, terrain_samples: bool, heading_observation: bool) -> int:
    """3 gravity + 3 gyro + 3 velocity + 12 joints + 12 joint speeds + 2 phase + 2 x actions (+ extras)."""
    return (35 + 2 * n_actions + (N_GROUND_SAMPLES if terrain_samples else 0)
            + (N_HEADING_OBS if heading_observation else 0))

# How an episode can end, and which endings are falls (the one definition every report uses).
TERMINATIONS = ("fell_height", "fell_tilt", "off_terrain", "physics_error", "invalid_action")
FALL_TERMINATIONS = frozenset({"fell_height", "fell_tilt", "physics_error", "invalid_action"})


def is_fall(termination: str) -> bool:
    """True when an episode ended because the robot fell or the simulation (or the action) broke."""
    return termination in FALL_TERMINATIONS


_INSTABILITY_WARNINGS = tuple(int(w) for w in (
    mujoco.mjtWarning.mjWARN_BADQPOS, mujoco.mjtWarning.mjWARN_BADQVEL, mujoco.mjtWarning.mjWARN_BADQACC))


class ResidualWalkEnv(gym.Env):
    """Residual foot-position corrections on top of the baseline trot, on rough terrain.

    Each control step (``frame_skip`` x 2 ms physics steps; 50 Hz by default) the action
    ``a`` in [-1, 1]^12 passes a first-order low-pass filter, ``r <- r + action_filter * (a - r)``,
    and the residual ``r`` is scaled by ``residual_scale`` (metres) and added to the baseline
    trot's foot targets (4 feet x (x, y, z) in each hip's frame, trunk axes, leg order FR,
    FL, RR, RL); analytic inverse kinematics turns them into the 12 position-actuator targets.
    With ``a = 0`` the env reproduces ``envs.robot_sim.run_baseline`` step for step.

    Why the filter: this 0.58 kg robot's servos follow a target jump within a few
    milliseconds, so white exploration noise of only 1 mm per step halves the trot's speed
    even on flat ground (DIAGNOSIS.md); filtered, the same noise leaves the walk intact.

    ## Action space
    ``Box(-1, 1, (12,), float32)``, or ``(14,)`` with ``gait_modulation``. Entries 0:12 are per
    leg ``(dx, dy, dz)`` foot offsets in units of ``residual_scale`` m (default 0.02 m, so at
    most 2 cm per axis). With ``gait_modulation`` (Policies Modulating Trajectory Generators,
    Iscen et al. 2018) entry 12 scales the stride, ``step_length x (1 + stride_range x r12)``,
    and entry 13 the frequency, the phase advancing ``(1 + frequency_range x r13) x dt /
    cycle_time`` per step: the policy may walk past the trot's own no-slip speed
    (2 x step_length / cycle_time) while staying a correction on top of the trot. Actions are
    clipped to [-1, 1]; every entry passes the low-pass filter.

    ## Observation space (float32; 59 entries + 12 ground samples + 4 with gait_modulation + 3 heading)
    | slice   | entries | meaning                                                      | unit  |
    |---------|---------|--------------------------------------------------------------|-------|
    | 0:3     | 3       | gravity direction in the trunk frame (unit vector)           | -     |
    | 3:6     | 3       | trunk angular velocity, trunk frame (gyro)                   | rad/s |
    | 6:9     | 3       | trunk linear velocity, trunk frame (velocimeter)             | m/s   |
    | 9:21    | 12      | joint positions                                              | rad   |
    | 21:33   | 12      | joint velocities                                             | rad/s |
    | 33:35   | 2       | gait phase as (sin, cos) of 2 pi x cycles walked             | -     |
    | 35:35+A | A       | previous action (A = 12, or 14 with gait_modulation)         | -     |
    | next A  | A       | filtered action r now applied (action units)                 | -     |
    | next 12 | 12      | ground height minus trunk height at 3 points per leg: x -3, 0, +3 cm around each hip (``terrain_samples``) | m |
    | last 3  | 3       | sin yaw, cos yaw, world y of the trunk (``heading_observation``) | -, -, m |
    Without gait modulation the phase is ``t / cycle_time`` (time-based, as the plain trot).
    ``info`` also reports ``stride_scale`` and ``frequency_scale`` (1.0 without modulation).

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
    filter), terrain (None = assets/hfield.png; a PNG path), frame_skip (10, 1..100),
    reward_weights (``RewardWeights()``), min_body_height (0.02 m), max_tilt (1.0 rad),
    terrain_samples (True), gait_modulation (False), stride_range (0.6, 0..0.9), frequency_range
    (0.4, 0..0.8), heading_observation (False), randomize (False: when True each reset draws friction x[0.7, 1.3],
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

    def __init__(self, config: EnvConfig | None = None, render_mode: str | None = None, width: int = 640,
                 height: int = 480, model: mujoco.MjModel | None = None, **keywords: Any):
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
        self._reward_fns = [(f"reward_{k}", self.weights[k], getattr(self, f"_reward_{k}")) for k in self.reward_terms]

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
        self._terrain_limit_x = self.sim.terrain_height.half_length - OFF_TERRAIN_MARGIN
        self._terrain_limit_y = self.sim.terrain_height.half_width - OFF_TERRAIN_MARGIN

        self.n_actions = N_ACTIONS + (N_MODULATION if config.gait_modulation else 0)
        obs_size = observation_size(self.n_actions, config.terrain_samples, config.heading_observation)
        self.observation_space = spaces.Box(-np.inf, np.inf, shape=(obs_size,), dtype=np.float32)
        self.action_space = spaces.Box(-1.0, 1.0, shape=(self.n_actions,), dtype=np.float32)

        self._step_count = 0
        self._cycles = 0.0  # gait cycles walked (advanced at the modulated frequency with gait_modulation)
        self._prev_action = np.zeros(self.n_actions)
        self._residual = np.zeros(self.n_actions)  # filtered action, the correction actually applied
        self._last_obs = np.zeros(obs_size, dtype=np.float32)
        self._renderer = None
        self._viewer = None

    # ------------------------------------------------------------------ gym API
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        if self.config.randomize:
            self._randomize_physics()
        x, y, yaw = spawn_pose(self.np_random)
        self.sim.place(x, y, yaw, self.controller.joint_targets(0.0))
        self._step_count = 0
        self._cycles = 0.0
        self._prev_action = np.zeros(self.n_actions)
        self._residual = np.zeros(self.n_actions)
        self._last_obs = self._get_obs(self.sim.ground_samples())
        return self._last_obs, self._state_info()

    def step(self, action):
        action = np.asarray(action, dtype=np.float64).reshape(self.n_actions)
        if not np.isfinite(action).all():
            return self._failure_result("invalid_action", action)
        action = np.clip(action, -1.0, 1.0)
        self._residual += self.action_filter * (action - self._residual)
        offsets = (self.residual_scale * self._residual[:N_ACTIONS]).reshape(4, 3)
        stride_scale, frequency_scale = self._modulation()
        if self.config.gait_modulation:
            self.data.ctrl[:] = self.controller.joint_targets_at(self._cycles, offsets, stride_scale)
            self._cycles += frequency_scale * self.dt / self.gait.cycle_time
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
        reward, reward_info = self._get_rew(x_velocity, y_velocity, body_height, tilt, action)
        termination = self._termination(body_height, tilt)
        self._prev_action = action
        self._last_obs = self._get_obs(ground)
        info = {
            "x_position": float(self.data.qpos[0]),
            "x_velocity": float(x_velocity),
            "y_velocity": float(y_velocity),
            "body_height": body_height,
            "tilt": tilt,
            "mean_abs_action": float(np.mean(np.abs(action))),
            "stride_scale": stride_scale,
            "frequency_scale": frequency_scale,
            "termination": termination,
            "physics_error": False,
            **reward_info,
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
        if self.config.gait_modulation:
            phase = 2 * np.pi * self._cycles
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
        obs = np.concatenate(parts).astype(np.float32)
        if self.config.randomize:
            obs += self.np_random.normal(0.0, OBS_NOISE_STD, size=obs.shape).astype(np.float32)
        return obs

    def _get_rew(self, x_velocity, y_velocity, body_height, tilt, action):
        """(reward, {reward_<term>: weighted signed value}); the reward is the sum of the values."""
        state = _StepState(x_velocity, y_velocity, body_height, tilt, action)
        reward_info = {key: weight * fn(state) for key, weight, fn in self._reward_fns}
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

    def _reward_height(self, s: _StepState) -> float:
        return -abs(s.body_height - self.gait.body_height)  # distance from the gait's body height, m

    def _reward_orientation(self, s: _StepState) -> float:
        return -(1.0 - math.cos(s.tilt))  # trunk tilt

    def _modulation(self) -> tuple[float, float]:
        """(stride scale, frequency scale) from the filtered modulation actions; (1, 1) without."""
        if not self.config.gait_modulation:
            return 1.0, 1.0
        r = self._residual
        return (1.0 + self.config.stride_range * float(r[N_ACTIONS]),
                1.0 + self.config.frequency_range * float(r[N_ACTIONS + 1]))

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
        warnings = self.data.warning
        if any(warnings[w].number for w in _INSTABILITY_WARNINGS):  # counters are cleared by every reset
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
            "termination": termination,
            "physics_error": True,
            **{f"reward_{k}": 0.0 for k in self.reward_terms},
        }
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
            "cycles": self._cycles,
            "prev_action": self._prev_action.copy(),
            "residual": self._residual.copy(),
            "last_obs": self._last_obs.copy(),
            "np_random": self._np_random,
        }

    def __setstate__(self, state):
        self.__init__(*state["init"])
        self.data.qpos[:] = state["qpos"]
        self.data.qvel[:] = state["qvel"]
        self.data.ctrl[:] = state["ctrl"]
        self.data.time = state["time"]
        mujoco.mj_forward(self.model, self.data)
        self._step_count = state["step_count"]
        self._cycles = state["cycles"]
        self._prev_action = state["prev_action"]
        self._residual = state["residual"]
        self._last_obs = state["last_obs"]
        self._np_random = state["np_random"]


@dataclasses.dataclass(frozen=True)
class _StepState:
    """What the reward terms read about the step just taken."""

    x_velocity: float  # m/s, world x
    y_velocity: float  # m/s, world y
    body_height: float  # m above the ground around the hips
    tilt: float  # rad
    action: np.ndarray  # the clipped action
