"""The walk of N robots in numpy: action filter, gait, IK, rewards, termination and observation.

``WalkCore`` is the one implementation of ResidualWalk-v0's step. ``ResidualWalkEnv`` is its
N = 1 view (one MjData); ``envs.vector_env.ResidualWalkVectorEnv`` (the Gymnasium vector env, and
under it the training's ``walklab.vec_envs.batched.BatchedVecEnv``) steps N robots on one
``mujoco.batch.Batch``. ``envs.spec``'s docstring is the spec of what is computed here (its
observation and reward tables generated from ``envs.layout`` and ``envs.rewards``).

Bit for bit: every value equals the one the per-robot formulas give. Where the single-robot
arithmetic used Python's ``math`` (libm), this module maps ``math`` over the rows (``envs.rows.libm``):
numpy's SIMD ``arctan2``, ``arccos`` and ``hypot`` round differently in the last bit. Dot products
of the reward go through the same BLAS kernel as a single robot's, and the legs' inverse
kinematics is the controller's own leg solver (``gait.kinematics.leg_solver``), mapped over every leg.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import mujoco
import numpy as np

from envs import layout as L
from envs.commands import Commands
from envs.config import EnvConfig
from envs.episode import (  # noqa: F401 - the terminations, where older code imports them
    FALL_TERMINATIONS,
    TERMINATIONS,
    RobotEpisodes,
    is_fall,
)
from envs.history import ObservationHistory
from envs.observation import ObservationParts
from envs.perturbations import Perturbations
from envs.physics import BatchSim, SingleSim
from envs.randomization import nominal_physics
from envs.rewards import RewardTerms, StepState
from envs.robot import load_robot
from envs.rows import RobotRows, libm, scatter
from envs.terrain import TerrainTable
from envs.terrain_switch import TerrainFiles
from gait.controller import TROT_PHASE_OFFSETS, BaselineTrotController

OFF_TERRAIN_MARGIN = 0.2  # m, episode ends this close to the heightfield's edge

_TWO_PI = 2.0 * math.pi


class StepResult(NamedTuple):
    observation: np.ndarray  # (N, obs) float32
    reward: np.ndarray  # (N,)
    terminated: np.ndarray  # (N,) bool
    infos: list[dict[str, Any]]


class WalkCore(RobotEpisodes, ObservationParts, RewardTerms):
    """N ResidualWalk-v0 robots over one physics backend (``SingleSim`` or ``BatchSim``).

    Each robot's whole episode is the core's (``envs.episode``): every per-robot value is a row
    declared once in ``rows``; ``reset(i, seed, options)``, ``set_terrain(i, png)``,
    ``set_terrain_schedule(i, schedule)``, ``snapshot(i)`` and ``restore(i, snapshot)`` per robot.
    """

    def __init__(self, config: EnvConfig, physics: SingleSim | BatchSim):
        self.config = c = config
        self.physics = physics
        self.n = n = physics.n
        self.gait = c.gait
        self.robot = robot = load_robot(c.robot)  # its names, addresses, limits, geometry and size
        self.controller = BaselineTrotController(c.gait, robot.geometry, robot.joint_low, robot.joint_high)
        # resolved once: the step reads arrays and floats, never the robot's description
        self._side = np.array(robot.geometry.sides)  # +1 for left legs, -1 for right legs
        self._joint_low, self._joint_high = self.controller.joint_low, self.controller.joint_high
        self._leg_ik = self.controller.solve  # one leg's IK on this robot's geometry
        self._leg_offsets = list(robot.geometry.leg_offsets) if robot.geometry.hip_offset else None
        self._joint_qpos, self._joint_qvel = robot.joint_qpos, robot.joint_qvel
        self._ground_points = robot.ground_sample_points  # (12, 2) trunk-frame xy of the ground samples
        self._residual_scale = robot.scaled(c.residual_scale)  # m: residual_scale is for the reference size
        self._min_body_height = robot.scaled(c.min_body_height)  # m
        self._height_target = c.gait.body_height + robot.scaled(c.height_target_offset)  # m, the height term's
        self.length_unit = robot.size  # the reward terms count lengths in robot sizes (envs.rewards)
        model = physics.models()[0]
        self.dt = model.opt.timestep * c.frame_skip
        self.reward_terms = type(c.reward_weights).terms()
        self.weights = c.reward_weights.to_dict()
        self._reward_fns = [(f"reward_{k}", self.weights[k], getattr(self, f"_reward_{k}")) for k in self.reward_terms]
        self._obs_terms = self._observation_terms()  # envs.layout.OBSERVATION_PARTS' methods, in order
        self.n_actions = L.action_size(c.gait_modulation, c.steering, c.swing_height)
        self._swing_index = L.swing_height_index(c)
        self.obs_size = L.observation_size(c)  # with obs_history, the history's parts included
        self.current_obs_size = L.current_observation_size(c)  # without them: one history slot
        self._sensor = {}  # the IMU's readings in sensordata, by role
        for role in ("gyro", "linear_velocity"):
            i = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_SENSOR, robot.description.name_of(role))
            self._sensor[role] = slice(model.sensor_adr[i], model.sensor_adr[i] + model.sensor_dim[i])
        # A modulated or steered gait advances by cycles walked; the plain trot by time.
        self.phase_from_cycles = c.gait_modulation or c.steering
        self.filter = np.full(self.n_actions, c.action_filter)  # low-pass coefficient per action entry
        if c.gait_modulation:  # the stride keeps action_filter: a stride jump jerks every foot
            self.filter[L.FREQUENCY_ACTION] = c.frequency_filter
        self._nominal_feet = self.controller._nominal  # (4, 3) sweep centres in the hip frames
        self._needs_yaw = bool(c.heading_observation or c.commands or self.weights["heading"])

        # Every per-robot value, declared once (snapshot and restore copy each; envs/episode.py)
        self.rows = rows = RobotRows(n)
        self.rngs = rows.objects("rng")  # robot i's random stream (the single env's np_random)
        self.seeds = rows.objects("seed")  # the seed it was made from (np_random_seed)
        self.step_count = rows.array("step_count", dtype=np.int64)  # control steps of the episode
        # Gait cycles walked beyond the plain trot's t / cycle_time (the modulated frequency's extra)
        self.extra_cycles = rows.array("extra_cycles")
        self.prev_action = rows.array("prev_action", self.n_actions)
        self.residual = rows.array("residual", self.n_actions)  # filtered action, the correction actually applied
        self.last_obs = rows.array("last_obs", self.obs_size, dtype=np.float32)
        self.last_termination = rows.objects("last_termination", "")
        self.commands = Commands(c, n, self.dt, rows)  # the command, its heading and speed window
        # pushes, latency, sensor noise, actuator and mass draws: their stream and rows (envs.perturbations)
        self.perturbations = Perturbations(c, robot, n, self.dt, self.n_actions, self.current_obs_size, rows)
        # the last obs_history observations and actions (envs.history); empty rows when off
        self.history = ObservationHistory(c.obs_history, self.current_obs_size, self.n_actions, rows)
        self.episode_x0 = rows.array("episode_x0")  # m, world x at the episode's start
        self.episode_started = rows.array("episode_started", dtype=bool)  # an episode since the schedule was set
        self.terrain_path = rows.objects("terrain_path")  # the PNG last loaded (None: the configured terrain)
        self.terrain_schedule = rows.objects("terrain_schedule")  # picks the terrain at each reset

        models = physics.models()
        self._nominal_physics = [nominal_physics(m) for m in models]
        self.terrain_files = TerrainFiles(c.terrain, physics.terrain(0).flat)
        self.ground = TerrainTable([physics.terrain(i) for i in range(n)])
        first = physics.terrain(0)
        self.terrain_limit_x = first.half_length - OFF_TERRAIN_MARGIN
        self.terrain_limit_y = first.half_width - OFF_TERRAIN_MARGIN

    @property
    def nominal_speed(self) -> float:
        """The plain trot's no-slip speed, 2 x step_length / cycle_time (m/s)."""
        return 2.0 * self.gait.step_length / self.gait.cycle_time

    # ------------------------------------------------------------------ reset
    def observe(self, ids: np.ndarray) -> list[dict[str, float]]:
        """Observations of freshly reset robots `ids` into ``last_obs``; returns their reset infos."""
        ids = np.asarray(ids, dtype=np.intp)
        p = self.physics
        rot = p.trunk_xmat[ids]
        ground = self._ground(p.qpos[ids], rot, ids)
        yaw = libm(math.atan2, rot[:, 3], rot[:, 0]) if self._needs_yaw else None
        obs = self._observation(ids, ground, rot, yaw)
        if self.history.on:  # the first observation fills the history (envs.history)
            self.history.start(ids, obs)
            obs = self.history.observation(ids, obs)
        self.last_obs[ids] = obs
        height = p.qpos[ids, 2] - ground.sum(axis=1) / ground.shape[1]
        return [{"x_position": float(p.qpos[i, 0]), "body_height": float(h)} for i, h in zip(ids, height)]

    # ------------------------------------------------------------------ step
    def step(self, actions: np.ndarray) -> StepResult:
        """One control step of every robot; `actions` is (N, n_actions) or (N, 12)."""
        n, na = self.n, self.n_actions
        action = np.asarray(actions, dtype=np.float64).reshape(n, -1)
        if action.shape[1] == L.N_ACTIONS < na:  # a residual alone: the gait's own stride and frequency
            action = np.concatenate([action, np.zeros((n, na - L.N_ACTIONS))], axis=1)
        action = action.reshape(n, na)
        valid = np.isfinite(action).all(axis=1)
        all_valid = bool(valid.all())
        go = slice(None) if all_valid else np.flatnonzero(valid)
        action = np.minimum(np.maximum(action, -1.0), 1.0)  # np.clip's result, at half its call cost
        perturb = self.perturbations
        arriving = perturb.delayed(go, action) if perturb.delays else action[go]  # action latency
        self.residual[go] += self.filter * (arriving - self.residual[go])
        stride, frequency, turn = self._modulation(go)
        cycles = self.step_count[go] * self.dt / self.gait.cycle_time + self.extra_cycles[go]
        offsets = self._residual_scale * self.residual[go, : L.N_ACTIONS]
        lift = None  # the swing apex's scale, with swing_height
        if self.config.swing_height:
            lift = 1.0 + self.config.swing_height_range * self.residual[go, self._swing_index]
        targets = self._joint_targets(cycles, offsets, stride, turn, lift)
        # a biased encoder: the servo holds the joint where it reads the target
        self.physics.ctrl[go] = targets - perturb.joint_offset[go] if perturb.offsets else targets
        if self.phase_from_cycles:
            self.extra_cycles[go] += (frequency - 1.0) * self.dt / self.gait.cycle_time
        xy_before = self.physics.qpos[go, 0:2].copy()

        if perturb.pushes:
            perturb.push(go, self.step_count, self.physics.qvel)
        raised = self.physics.step(None if all_valid else go, self.config.frame_skip)
        self.step_count[go] += 1
        p = self.physics
        healthy = valid & ~p.unstable() & np.isfinite(p.qpos).all(axis=1) & np.isfinite(p.qvel).all(axis=1)
        healthy[raised] = False
        broken = valid & ~healthy

        reward = np.zeros(n)
        terminated = ~healthy
        infos: list[dict[str, Any]] = [{} for _ in range(n)]
        for i in np.flatnonzero(~healthy):
            infos[i] = self._failure_info(i, "physics_error" if valid[i] else "invalid_action", action[i])
        if broken.any():
            p.clear(np.flatnonzero(broken))  # finite state behind for render/close
        if healthy.any():
            if not all_valid:  # the gait's values of every robot, neutral where none was computed
                stride, frequency, turn, xy_before = (
                    scatter(v, valid, fill)
                    for v, fill in ((stride, 1.0), (frequency, 1.0), (turn, 0.0), (xy_before, 0.0))
                )
            rows = slice(None) if healthy.all() else np.flatnonzero(healthy)
            obs_rows, reward[rows], terminated[rows], live_infos = self._step_live(
                rows, action[rows], xy_before[rows], (stride[rows], frequency[rows], turn[rows])
            )
            self.last_obs[rows] = obs_rows
            for i, info in zip(np.arange(n)[rows], live_infos):
                infos[i] = info
        return StepResult(self.last_obs.copy(), reward, terminated, infos)

    def _step_live(self, rows, action, xy_before, modulation):
        """Rewards, termination, observation and info of the robots `rows` whose step went well."""
        p, c = self.physics, self.config
        qpos, qvel = p.qpos[rows], p.qvel[rows]
        rot = p.trunk_xmat[rows]
        x_velocity = (qpos[:, 0] - xy_before[:, 0]) / self.dt
        y_velocity = (qpos[:, 1] - xy_before[:, 1]) / self.dt
        ground = self._ground(qpos, rot, rows)
        body_height = qpos[:, 2] - ground.sum(axis=1) / ground.shape[1]
        # the C library's acos, not np.arccos: numpy's AVX-512 loop rounds differently (machine-dependent tilts)
        tilt = libm(math.acos, np.minimum(1.0, np.maximum(-1.0, rot[:, 8])))
        yaw = libm(math.atan2, rot[:, 3], rot[:, 0]) if self._needs_yaw else None
        ids = np.arange(self.n)[rows]
        heading_speed = None
        if c.commands:  # along the trunk's heading: what tracking_velocity and info read
            heading_speed = x_velocity * libm(math.cos, yaw) + y_velocity * libm(math.sin, yaw)
            self.commands.track(heading_speed, ids)
            self.commands.advance(ids)
        fell_height = body_height < self._min_body_height
        fell_tilt = tilt > c.max_tilt
        state = StepState(
            x_velocity, y_velocity, body_height, tilt, action, qpos, qvel, rot, yaw, ids, fell_height | fell_tilt
        )
        reward = np.zeros(len(ids))
        terms = {}
        for key, weight, fn in self._reward_fns:  # a term weighted 0 is not computed
            value = weight * fn(state) if weight else np.zeros(len(ids))
            terms[key] = value
            reward = reward + value
        off = (np.abs(qpos[:, 0]) > self.terrain_limit_x) | (np.abs(qpos[:, 1]) > self.terrain_limit_y)
        done = fell_height | fell_tilt | off
        self.prev_action[ids] = action
        obs = self._observation(ids, ground, rot, yaw)
        if self.history.on:  # the observation they were given last and the action sent in answer
            self.history.push(ids, self.last_obs[ids, : self.current_obs_size], action)
            obs = self.history.observation(ids, obs)

        # info: one dict per robot (SB3 and the callbacks read them)
        mean_abs = np.abs(action).sum(axis=1) / self.n_actions
        columns = {
            "x_position": qpos[:, 0].tolist(),
            "x_velocity": x_velocity.tolist(),
            "y_velocity": y_velocity.tolist(),
            "body_height": body_height.tolist(),
            "tilt": tilt.tolist(),
            "mean_abs_action": mean_abs.tolist(),
            "stride_scale": modulation[0].tolist(),
            "frequency_scale": modulation[1].tolist(),
            "turn": modulation[2].tolist(),
        }
        term_columns = {k: v.tolist() for k, v in terms.items()}
        if c.commands:
            command = self.commands.values[ids]
            extra = {
                "command_speed": command[:, 0].tolist(),
                "command_yaw_rate": command[:, 1].tolist(),
                "heading_speed": heading_speed.tolist(),
                "tracked_speed": self.commands.tracked[ids].tolist(),
                "yaw_rate": self._yaw_rate(state).tolist(),
                "yaw": yaw.tolist(),  # rad, the trunk's heading in (-pi, pi]
                "command_heading": self.commands.heading[ids].tolist(),  # rad, unwrapped
            }
        else:
            extra = {}
        infos = []
        for k, i in enumerate(ids):
            termination = (
                "fell_height" if fell_height[k] else "fell_tilt" if fell_tilt[k] else "off_terrain" if off[k] else ""
            )
            self.last_termination[i] = termination
            info = {name: values[k] for name, values in columns.items()}
            info["termination"] = termination
            info["physics_error"] = False
            for name, values in term_columns.items():
                info[name] = values[k]
            for name, values in extra.items():
                info[name] = values[k]
            infos.append(info)
        return obs, reward, done, infos

    def _failure_info(self, i: int, termination: str, action: np.ndarray) -> dict[str, Any]:
        """End robot i's episode on a broken simulation or a non-finite action, with finite outputs."""
        qpos_x = self.physics.qpos[i, 0]
        self.last_termination[i] = termination
        return {
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

    # ------------------------------------------------------------------ gait
    def _modulation(self, go) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(stride scale, frequency scale, turn) of the robots `go` from their filtered gait actions."""
        r, c = self.residual[go], self.config
        m = r.shape[0]
        turn = c.steering_range * r[:, -1] if c.steering else np.zeros(m)
        if not c.gait_modulation:
            return np.ones(m), np.ones(m), turn
        stride_action, frequency_action = r[:, L.STRIDE_ACTION], r[:, L.FREQUENCY_ACTION]
        if c.command_feedforward:  # start from the command's no-slip gait, stay within the usual bounds
            base = np.sqrt(np.maximum(self.commands.values[go, 0], 0.0) / self.nominal_speed)
            stride = base + c.stride_range * stride_action
            frequency = base + c.frequency_range * frequency_action
            return (
                np.minimum(np.maximum(stride, 1.0 - c.stride_range), 1.0 + c.stride_range),
                np.minimum(np.maximum(frequency, 1.0 - c.frequency_range), 1.0 + c.frequency_range),
                turn,
            )
        return 1.0 + c.stride_range * stride_action, 1.0 + c.frequency_range * frequency_action, turn

    def _joint_targets(self, cycles, offsets, stride, turn, lift=None) -> np.ndarray:
        """The 12 joint targets (rad) per robot: the trot's foot targets plus `offsets` (m), through IK.

        ``gait.controller.BaselineTrotController.joint_targets_at`` for many robots at once.
        """
        g = self.gait
        scale = stride[:, None] * (1.0 - turn[:, None] * self._side)  # (m, 4): left x (1 - turn), right x (1 + turn)
        step_length = g.step_length * scale
        half_step = (g.step_length / 2) * scale
        phase = (cycles[:, None] + TROT_PHASE_OFFSETS) % 1.0
        stance = phase < g.duty_factor
        s = (phase - g.duty_factor) / (1.0 - g.duty_factor)
        angle = _TWO_PI * s
        dx_stance = half_step - step_length * phase / g.duty_factor
        dx_swing = step_length * (s - libm(math.sin, angle) / _TWO_PI) - half_step
        apex = g.step_height if lift is None else g.step_height * lift[:, None]  # (m, 1) with swing_height
        dz_swing = apex * 0.5 * (1.0 - libm(math.cos, angle))
        nominal = self._nominal_feet
        x = nominal[:, 0] + np.where(stance, dx_stance, dx_swing) + offsets[:, 0::3]
        y = nominal[:, 1] + offsets[:, 1::3]
        z = nominal[:, 2] + np.where(stance, 0.0, dz_swing) + offsets[:, 2::3]
        xs, ys, zs = x.ravel().tolist(), y.ravel().tolist(), z.ravel().tolist()
        if self._leg_offsets is None:
            feet = map(self._leg_ik, xs, ys, zs)
        else:  # legs with a sideways hip link
            feet = map(self._leg_ik, xs, ys, zs, self._leg_offsets * len(cycles))
        q = np.fromiter((angle for leg in feet for angle in leg), dtype=np.float64, count=12 * len(cycles))
        return np.minimum(np.maximum(q.reshape(len(cycles), 12), self._joint_low), self._joint_high)
