"""ResidualWalk-v0: a PPO policy adds small foot-position corrections to an open-loop trot."""

from __future__ import annotations

import math
from typing import Any

import gymnasium as gym
import mujoco
import numpy as np
from gymnasium import spaces

from envs.assets import MAX_FRAME_PIXELS
from envs.camera import track, tracking_camera
from envs.config import EnvConfig
from envs.fields import ConfigError
from envs.layout import (  # noqa: F401 - the layout's names, where older code imports them
    JOINT_QPOS,
    JOINT_QVEL,
    N_ACTIONS,
    N_COMMAND_OBS,
    N_GROUND_SAMPLES,
    N_HEADING_OBS,
    N_MODULATION,
    N_STEERING,
    observation_size,
    observation_structure,
)
from envs.physics import SingleSim
from envs.randomization import (  # noqa: F401
    OBS_NOISE_STD,
    RANDOMIZE_ACTUATOR_STRENGTH,
    RANDOMIZE_FRICTION,
    RANDOMIZE_TERRAIN_HEIGHT,
    RANDOMIZE_TRUNK_MASS,
)
from envs.robot_sim import load_model
from envs.walk_core import (  # noqa: F401
    FALL_TERMINATIONS,
    OFF_TERRAIN_MARGIN,
    TERMINATIONS,
    WalkCore,
    is_fall,
)


class ResidualWalkEnv(gym.Env):
    """Residual foot-position corrections on top of the baseline trot, on rough terrain.

    Each control step (``frame_skip`` x 4 ms physics steps; 5 of them, 50 Hz, by default) the action
    ``a`` in [-1, 1]^12 passes a first-order low-pass filter, ``r <- r + action_filter * (a - r)``,
    and the residual ``r`` is scaled by ``residual_scale`` (metres) and added to the baseline
    trot's foot targets (4 feet x (x, y, z) in each hip's frame, trunk axes, leg order FR,
    FL, RR, RL); analytic inverse kinematics turns them into the 12 position-actuator targets.
    With ``a = 0`` the env reproduces ``envs.rollout.run_baseline`` step for step.

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
    With ``swing_height`` one more entry (after the gait's two, before steering) scales the swing's
    apex, ``step_height x (1 + swing_height_range x r)``, so the policy can lift its feet over a
    step or a ridge instead of catching it; it passes ``action_filter``.
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
    | 35:35+A | A       | previous action (A = 12, +2 gait_modulation, +1 swing_height, +1 steering) | - |
    | next A  | A       | filtered action r now applied (action units)                 | -     |
    | next 12 | 12      | ground minus trunk height, 3 points per hip: x -3, 0, +3 cm (``terrain_samples``) | m |
    | next 3  | 3       | sin, cos of the yaw off the commanded heading, trunk's world y (heading_obs.) | -, -, m |
    | last 2  | 2       | commanded forward speed, commanded yaw rate (``commands``)   | m/s, rad/s |
    Without gait modulation the phase is ``t / cycle_time`` (time-based, as the plain trot).
    ``info`` also reports ``stride_scale``, ``frequency_scale`` (1.0 without modulation) and ``turn``
    (steering_range x r, 0.0 without steering).

    ## Commands (``commands=True``)
    Each reset draws a forward speed uniformly between ``command_speed_min`` and
    ``command_speed_max`` (default 0.05..0.20 m/s) and a yaw rate between
    ``command_yaw_rate_min`` and ``command_yaw_rate_max`` (default 0..0 rad/s: straight ahead;
    ``command_straight_share`` of the episodes walk at yaw rate 0 whatever the range), from the
    env's ``np_random`` after every other draw of the reset (so with commands off
    nothing, not even the random stream, changes). ``reset(options={"command": (v, w)})``
    fixes it for one episode (equal range ends fix it for all). ``env.command`` holds it, the
    observation ends with it and ``info`` carries ``command_speed``, ``command_yaw_rate``,
    ``heading_speed`` (the step's world velocity projected on the trunk's heading, m/s) and
    ``yaw_rate`` (about world z, rad/s), ``yaw`` and ``command_heading`` (rad). A turning robot's
    spawn moves sideways against its turn (``Commands.spawn_y_shift``). The trot's own speed is fixed by the gait
    (no-slip 2 x step_length / cycle_time = 0.15 m/s with the default gait; about 0.10 m/s on
    the default terrain): a policy reaches commands above or below it by shortening or
    lengthening the stride and slowing or quickening the cycle, which needs
    ``gait_modulation`` (foot residuals alone move the feet by at most ``residual_scale``).
    With ``command_feedforward`` the gait does part of this itself: the stride and frequency
    scales start at ``sqrt(command / no-slip speed)`` each (0.58 at 0.05 m/s, 1.41 at 0.30 m/s
    with the default gait), so the plain modulated trot walks the command without slip; the gait
    actions add ``stride_range x r`` and ``frequency_range x r`` to that, clipped to the usual
    ``1 -/+ range``. Off, or with commands off, the gait starts at 1 as before.

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
    - ``heading`` [0.0]            (-) 1 - cos(yaw - commanded heading), yaw = heading of the trunk's forward
      axis off world +x; the commanded heading starts at 0 and turns at the commanded yaw rate
      (0 for ever without commands or with yaw rate 0; ``info["command_heading"]``)
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
    or ``<term>_weight``; ``envs/config.py`` holds every field with its default, unit and range.
    render_mode (None, "human", "rgb_array"), width/height (640x480, rgb_array frames), model (a
    compiled scene to use instead of loading ``config.terrain``; a pickled clone reloads the
    terrain). terrain "flat" selects the flat floor. ``metadata["render_fps"]`` follows ``dt``.
    Invalid values raise ``envs.fields.ConfigError`` (a ValueError) naming the field.

    ## Implementation
    The walk itself is ``envs.walk_core.WalkCore``, computed in numpy over N robots; this env is
    its N = 1 view on one MjData (``envs.physics.SingleSim``), and
    ``gym.make_vec("ResidualWalk-v0", num_envs=N, vectorization_mode="vector_entry_point")``
    (``envs.vector_env.ResidualWalkVectorEnv``, a Gymnasium ``VectorEnv``; the training's SB3 adapter
    is ``walklab.vec_envs.batched``) steps N of them on one ``mujoco.batch.Batch``. The layout of
    actions and observations is ``envs.layout`` (``observation_structure``).

    ## Version history
    - v0: first release.
    """

    metadata = {"render_modes": ["human", "rgb_array"], "render_fps": 50}
    core_class = WalkCore  # a subclass with another ``_reward_<term>`` adds a reward term

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
        for name, value in (("width", width), ("height", height)):
            if isinstance(value, bool) or not isinstance(value, int) or not 16 <= value <= MAX_FRAME_PIXELS:
                raise ConfigError(
                    f"ResidualWalkEnv.{name}", f"an integer >= 16 and <= {MAX_FRAME_PIXELS} (pixels)", value
                )
        self.config = config
        self.render_mode = render_mode
        self.width, self.height = width, height
        self.gait = config.gait
        self.residual_scale = config.residual_scale
        self.action_filter = config.action_filter
        self.frame_skip = config.frame_skip

        model = model if model is not None else load_model(config.terrain, robot=config.robot)
        physics = SingleSim(model, config.robot)
        self.core = self.core_class(config, physics)
        self.sim, self.model, self.data = physics.robot, physics.model, physics.data
        self.controller = self.core.controller
        self.reward_terms = self.core.reward_terms
        self.weights = self.core.weights
        self.dt = self.core.dt
        self.metadata = {**self.metadata, "render_fps": int(round(1.0 / self.dt))}
        self.n_actions = self.core.n_actions
        self.observation_structure = observation_structure(config)
        self.observation_space = spaces.Box(-np.inf, np.inf, shape=(self.core.obs_size,), dtype=np.float32)
        self.action_space = spaces.Box(-1.0, 1.0, shape=(self.n_actions,), dtype=np.float32)
        self._renderer = None
        self._viewer = None

    # ------------------------------------------------------------------ gym API
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        info = self.core.reset(0, seed, options)  # seeds np_random (the core's) as gymnasium.Env.reset
        return self.core.last_obs[0].copy(), info

    def step(self, action):
        action = self._action_array(action)
        result = self.core.step(action[None])
        if self.render_mode == "human" and not result.infos[0]["physics_error"]:
            self.render()
        return result.observation[0], float(result.reward[0]), bool(result.terminated[0]), False, result.infos[0]

    def _action_array(self, action) -> np.ndarray:
        """`action` as float64 numbers, or a ValueError saying which sizes are accepted."""
        try:
            array = np.asarray(action, dtype=np.float64).ravel()
        except (TypeError, ValueError):
            raise ValueError(
                f"action must be {self._action_sizes()} numbers, got {type(action).__name__} {action!r:.60}"
            ) from None
        if array.size not in (N_ACTIONS, self.n_actions):
            raise ValueError(f"action must have {self._action_sizes()} entries, got shape {np.shape(action)}")
        return array

    def _action_sizes(self) -> str:
        extra = f" (or {N_ACTIONS}, the residuals alone)" if self.n_actions != N_ACTIONS else ""
        return f"{self.n_actions}{extra}"

    def render(self):
        if self.render_mode == "rgb_array":
            if self._renderer is None:
                frame = self.model.vis.global_  # the offscreen buffer grows to the frame asked for
                frame.offwidth, frame.offheight = max(frame.offwidth, self.width), max(frame.offheight, self.height)
                self._renderer = mujoco.Renderer(self.model, self.height, self.width)
            self._renderer.update_scene(self.data, self.tracking_camera())
            return self._renderer.render()
        if self.render_mode == "human":
            if self._viewer is None:
                from mujoco import viewer  # on first use: importing it picks MuJoCo's GL backend

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

    # ------------------------------------------------------------------ the robot's state
    # gymnasium.Env's random stream and its seed are the core's rows of robot 0
    _np_random = property(lambda self: self.core.rngs[0], lambda self, rng: self.core.rngs.__setitem__(0, rng))
    _np_random_seed = property(lambda self: self.core.seeds[0], lambda self, s: self.core.seeds.__setitem__(0, s))

    @property
    def nominal_speed(self) -> float:
        """The plain trot's no-slip speed, 2 x step_length / cycle_time (m/s)."""
        return self.core.nominal_speed

    @property
    def command(self) -> np.ndarray:
        """This episode's (forward speed m/s, yaw rate rad/s); zeros without commands."""
        return self.core.commands.values[0]

    @command.setter
    def command(self, value) -> None:
        self.core.commands.values[0] = value

    @property
    def _residual(self) -> np.ndarray:
        return self.core.residual[0]

    @property
    def _prev_action(self) -> np.ndarray:
        return self.core.prev_action[0]

    @property
    def _step_count(self) -> int:
        return int(self.core.step_count[0])

    @property
    def _episode_x0(self) -> float:
        return float(self.core.episode_x0[0])

    @property
    def _last_termination(self) -> str:
        return self.core.last_termination[0]

    @_last_termination.setter
    def _last_termination(self, value: str) -> None:
        self.core.last_termination[0] = value

    @property
    def _nominal(self) -> dict[str, np.ndarray]:
        return self.core._nominal_physics[0]

    def _cycles(self) -> float:
        """Gait cycles walked: the plain trot's t / cycle_time plus what a modulated frequency added."""
        return self._step_count * self.dt / self.gait.cycle_time + float(self.core.extra_cycles[0])

    def _yaw(self) -> float:
        """Heading (rad) of the trunk's forward axis in the world's horizontal plane; 0 = +x."""
        rot = self.data.xmat[self.sim.trunk_id]
        return math.atan2(rot[3], rot[0])

    # ------------------------------------------------------------------ terrain switching
    @property
    def terrain_path(self) -> str | None:
        """The PNG last loaded by set_terrain (None: the configured terrain)."""
        return self.core.terrain_path[0]

    @property
    def terrain_schedule(self):
        return self.core.terrain_schedule[0]

    def set_terrain(self, png: str | None) -> None:
        """Walk on another heightfield PNG from the next step on (``WalkCore.set_terrain``; a
        renderer already open keeps drawing the old terrain)."""
        self.core.set_terrain(0, png)

    def set_terrain_schedule(self, schedule) -> None:
        """Let `schedule` choose the terrain at every reset (``WalkCore.set_terrain_schedule``;
        ``walklab.curriculum.TerrainCurriculum`` is the one the training's ``--curriculum`` uses)."""
        self.core.set_terrain_schedule(0, schedule)

    def tracking_camera(self) -> mujoco.MjvCamera:
        """A camera that follows the trunk from the side and behind (envs/camera.py, as the viewer's)."""
        return tracking_camera(self.model, self.sim.trunk_id)

    # ------------------------------------------------------------------ pickling
    def __getstate__(self):
        # Not gymnasium.utils.EzPickle: that rebuilds from the constructor arguments only, and a
        # clone here must also carry the episode (SubprocVecEnv, tests of determinism).
        return {"init": (self.config, self.render_mode, self.width, self.height), "robot": self.core.snapshot(0)}

    def __setstate__(self, state):
        self.__init__(*state["init"])
        self.core.restore(0, state["robot"])
