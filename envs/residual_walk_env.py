"""ResidualWalk-v0: a PPO policy adds small foot-position corrections to an open-loop trot."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import gymnasium as gym
import mujoco
import numpy as np
from gymnasium import spaces

from envs.robot_sim import CONTROL_FRAME_SKIP, FALL_HEIGHT, FALL_TILT, RobotSim, load_model, spawn_pose
from gait.controller import BaselineTrotController
from gait.parameters import GaitParameters

OFF_TERRAIN_MARGIN = 0.2  # m, episode ends this close to the heightfield's edge

# Domain randomisation ranges (uniform, multiplicative unless noted), drawn at every reset.
RANDOMIZE_FRICTION = (0.7, 1.3)  # x sliding friction of every geom
RANDOMIZE_TRUNK_MASS = (0.85, 1.15)  # x trunk (and battery) mass
RANDOMIZE_ACTUATOR_STRENGTH = (0.85, 1.15)  # x position gain kp and torque limit
RANDOMIZE_TERRAIN_HEIGHT = (0.8, 1.2)  # x heightfield elevation
OBS_NOISE_STD = 0.02  # additive Gaussian noise on every observation entry (obs units), randomize only

_INSTABILITY_WARNINGS = tuple(int(w) for w in (
    mujoco.mjtWarning.mjWARN_BADQPOS, mujoco.mjtWarning.mjWARN_BADQVEL, mujoco.mjtWarning.mjWARN_BADQACC))

REWARD_TERMS = ("forward_velocity", "lateral_stability", "energy", "smoothness", "alive", "height", "orientation")


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
    ``Box(-1, 1, (12,), float32)``: per leg ``(dx, dy, dz)`` foot offsets in units of
    ``residual_scale`` m (default 0.02 m, so at most 2 cm per axis). Actions are clipped.

    ## Observation space (float32; 59 entries, 71 with ``terrain_samples=True``)
    | slice   | entries | meaning                                                      | unit  |
    |---------|---------|--------------------------------------------------------------|-------|
    | 0:3     | 3       | gravity direction in the trunk frame (unit vector)           | -     |
    | 3:6     | 3       | trunk angular velocity, trunk frame (gyro)                   | rad/s |
    | 6:9     | 3       | trunk linear velocity, trunk frame (velocimeter)             | m/s   |
    | 9:21    | 12      | joint positions                                              | rad   |
    | 21:33   | 12      | joint velocities                                             | rad/s |
    | 33:35   | 2       | gait phase as (sin, cos) of 2 pi t / cycle_time              | -     |
    | 35:47   | 12      | previous action                                              | -     |
    | 47:59   | 12      | filtered residual r now applied (action units)               | -     |
    | 59:71   | 12      | ground height minus trunk height at 3 points per leg: x -3, 0, +3 cm around each hip | m |

    ## Reward
    ``reward = sum_k <k>_weight * sign_k * term_k`` with unscaled terms:
    - ``forward_velocity``  (+) trunk velocity along world x, m/s
    - ``lateral_stability`` (-) |trunk velocity along world y| + 0.1 |roll rate|, m/s + rad/s
    - ``energy``            (-) mean squared filtered residual r: how much correction is applied
    - ``smoothness``        (-) mean squared change of the action since the last step
    - ``alive``             (+) 1 per step while not fallen
    - ``height``            (-) |trunk height above ground - gait.body_height|, m
    - ``orientation``       (-) 1 - cos(tilt), tilt = angle between trunk up-axis and world up
    ``info`` carries ``reward_<term>`` (weighted, signed) for every term, even zero-weighted
    ones, and their sum equals the returned reward. Defaults follow the fixed reward:
    forward 5.0, lateral 0.3, energy 0.05, smoothness 0.05, alive 0.1, height 0.0,
    orientation 0.5. The original weights are ``forward_velocity_weight=1.0,
    lateral_stability_weight=0.5, energy_weight=0.1, smoothness_weight=0.2``.

    ## Episode end
    - terminated: trunk lower than ``min_body_height`` above the ground under it, tilt over
      ``max_tilt``, the robot within 0.2 m of the terrain's edge, or a physics error (NaN or
      MuJoCo instability; ``info["physics_error"] = True`` and the last finite observation).
    - truncated: by the registration's ``max_episode_steps`` (1000 steps = 20 s).
    ``info["termination"]`` names the cause: "fell_height", "fell_tilt", "off_terrain",
    "physics_error" or "".

    ## Arguments
    gait (GaitParameters(): body_height 0.05, step_length 0.06, step_height 0.04, cycle_time 0.8),
    residual_scale (0.02 m), action_filter (0.1; 1.0 = no filter), terrain (None =
    assets/hfield.png; a PNG path), frame_skip (10),
    the seven ``<term>_weight`` keywords above, min_body_height (0.02 m), max_tilt (1.0 rad),
    terrain_samples (True), randomize (False: when True each reset draws friction x[0.7, 1.3],
    trunk mass x[0.85, 1.15], actuator kp and torque limit x[0.85, 1.15], terrain elevation
    x[0.8, 1.2], and adds N(0, 0.02) noise to observations), render_mode (None, "human",
    "rgb_array"), width/height (640x480, rgb_array frames).

    ## Version history
    - v0: first release.
    """

    metadata = {"render_modes": ["human", "rgb_array"], "render_fps": 50}

    def __init__(
        self,
        gait: GaitParameters | None = None,
        residual_scale: float = 0.02,
        action_filter: float = 0.1,
        terrain: str | Path | None = None,
        frame_skip: int = CONTROL_FRAME_SKIP,
        forward_velocity_weight: float = 5.0,
        lateral_stability_weight: float = 0.3,
        energy_weight: float = 0.05,
        smoothness_weight: float = 0.05,
        alive_weight: float = 0.1,
        height_weight: float = 0.0,
        orientation_weight: float = 0.5,
        min_body_height: float = FALL_HEIGHT,
        max_tilt: float = FALL_TILT,
        terrain_samples: bool = True,
        randomize: bool = False,
        render_mode: str | None = None,
        width: int = 640,
        height: int = 480,
    ):
        if residual_scale < 0:
            raise ValueError(f"residual_scale must be >= 0 m, got {residual_scale}")
        if not 0.0 < action_filter <= 1.0:
            raise ValueError(f"action_filter must be in (0, 1], got {action_filter}")
        if frame_skip < 1:
            raise ValueError(f"frame_skip must be >= 1, got {frame_skip}")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']}, got {render_mode!r}")
        self._init_kwargs = dict(locals())
        del self._init_kwargs["self"]
        self._init_kwargs.pop("__class__", None)

        self.gait = gait if gait is not None else GaitParameters()
        self.residual_scale = float(residual_scale)
        self.action_filter = float(action_filter)
        self.terrain = terrain
        self.frame_skip = int(frame_skip)
        self.weights = {
            "forward_velocity": forward_velocity_weight,
            "lateral_stability": lateral_stability_weight,
            "energy": energy_weight,
            "smoothness": smoothness_weight,
            "alive": alive_weight,
            "height": height_weight,
            "orientation": orientation_weight,
        }
        self.min_body_height = min_body_height
        self.max_tilt = max_tilt
        self.terrain_samples = terrain_samples
        self.randomize = randomize
        self.render_mode = render_mode
        self.width, self.height = width, height

        self.sim = RobotSim(load_model(terrain))
        self.model, self.data = self.sim.model, self.sim.data
        self.controller = BaselineTrotController(self.gait)
        self.dt = self.model.opt.timestep * self.frame_skip
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

        obs_size = 59 + (12 if terrain_samples else 0)
        self.observation_space = spaces.Box(-np.inf, np.inf, shape=(obs_size,), dtype=np.float32)
        self.action_space = spaces.Box(-1.0, 1.0, shape=(12,), dtype=np.float32)

        self._step_count = 0
        self._prev_action = np.zeros(12)
        self._residual = np.zeros(12)  # filtered action, the correction actually applied
        self._last_obs = np.zeros(obs_size, dtype=np.float32)
        self._renderer = None
        self._viewer = None

    # ------------------------------------------------------------------ gym API
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        if self.randomize:
            self._randomize_physics()
        x, y, yaw = spawn_pose(self.np_random)
        self.sim.place(x, y, yaw, self.controller.joint_targets(0.0))
        self._step_count = 0
        self._prev_action = np.zeros(12)
        self._residual = np.zeros(12)
        self._last_obs = self._get_obs(self.sim.ground_samples())
        return self._last_obs, self._state_info()

    def step(self, action):
        action = np.clip(np.asarray(action, dtype=np.float64).reshape(12), -1.0, 1.0)
        t = self._step_count * self.dt
        self._residual += self.action_filter * (action - self._residual)
        offsets = (self.residual_scale * self._residual).reshape(4, 3)
        self.data.ctrl[:] = self.controller.joint_targets(t, offsets)
        x_before, y_before = self.data.qpos[0], self.data.qpos[1]
        mujoco.mj_step(self.model, self.data, nstep=self.frame_skip)
        self._step_count += 1

        if not self._physics_ok():
            return self._physics_error_result(action)
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

                self._viewer = viewer.launch_passive(self.model, self.data)
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
        phase = 2 * np.pi * self._step_count * self.dt / self.gait.cycle_time
        parts = [
            gravity_body,
            d.sensordata[self._sensor["trunk_gyro"]],
            d.sensordata[self._sensor["trunk_linvel"]],
            d.qpos[7:19],
            d.qvel[6:18],
            (np.sin(phase), np.cos(phase)),
            self._prev_action,
            self._residual,
        ]
        if self.terrain_samples:
            parts.append(ground - d.qpos[2])
        obs = np.concatenate(parts).astype(np.float32)
        if self.randomize:
            obs += self.np_random.normal(0.0, OBS_NOISE_STD, size=obs.shape).astype(np.float32)
        return obs

    def _get_rew(self, x_velocity, y_velocity, body_height, tilt, action):
        """(reward, {reward_<term>: weighted signed value}); the reward is the sum of the values."""
        w = self.weights
        delta = action - self._prev_action
        reward_info = {
            # reward: progress along world x (m/s)
            "reward_forward_velocity": w["forward_velocity"] * float(x_velocity),
            # cost: sideways drift (m/s) and roll rate (rad/s, scaled 0.1)
            "reward_lateral_stability": -w["lateral_stability"] * (abs(y_velocity) + 0.1 * abs(self.data.qvel[3])),
            # cost: correction applied, mean squared filtered residual
            "reward_energy": -w["energy"] * float(self._residual.dot(self._residual)) / 12.0,
            # cost: jerky residuals, mean squared change of action
            "reward_smoothness": -w["smoothness"] * float(delta.dot(delta)) / 12.0,
            # reward: one per step still standing
            "reward_alive": w["alive"],
            # cost: distance from the gait's body height (m)
            "reward_height": -w["height"] * abs(body_height - self.gait.body_height),
            # cost: trunk tilt, 1 - cos(tilt)
            "reward_orientation": -w["orientation"] * (1.0 - math.cos(tilt)),
        }
        return sum(reward_info.values()), reward_info

    def _termination(self, body_height: float, tilt: float) -> str:
        if body_height < self.min_body_height:
            return "fell_height"
        if tilt > self.max_tilt:
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

    def _physics_error_result(self, action):
        info = {
            "x_position": float("nan") if not np.isfinite(self.data.qpos[0]) else float(self.data.qpos[0]),
            "x_velocity": 0.0,
            "y_velocity": 0.0,
            "body_height": 0.0,
            "tilt": 0.0,
            "mean_abs_action": float(np.mean(np.abs(action))),
            "termination": "physics_error",
            "physics_error": True,
            **{f"reward_{k}": 0.0 for k in REWARD_TERMS},
        }
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
        """A camera that follows the trunk from the side and behind."""
        cam = mujoco.MjvCamera()
        cam.type = mujoco.mjtCamera.mjCAMERA_TRACKING
        cam.trackbodyid = self.sim.trunk_id
        cam.distance = 0.6
        cam.azimuth = 120.0
        cam.elevation = -20.0
        return cam

    # ------------------------------------------------------------------ pickling
    def __getstate__(self):
        return {
            "init_kwargs": self._init_kwargs,
            "qpos": self.data.qpos.copy(),
            "qvel": self.data.qvel.copy(),
            "ctrl": self.data.ctrl.copy(),
            "time": self.data.time,
            "step_count": self._step_count,
            "prev_action": self._prev_action.copy(),
            "residual": self._residual.copy(),
            "last_obs": self._last_obs.copy(),
            "np_random": self._np_random,
        }

    def __setstate__(self, state):
        self.__init__(**state["init_kwargs"])
        self.data.qpos[:] = state["qpos"]
        self.data.qvel[:] = state["qvel"]
        self.data.ctrl[:] = state["ctrl"]
        self.data.time = state["time"]
        mujoco.mj_forward(self.model, self.data)
        self._step_count = state["step_count"]
        self._prev_action = state["prev_action"]
        self._residual = state["residual"]
        self._last_obs = state["last_obs"]
        self._np_random = state["np_random"]
