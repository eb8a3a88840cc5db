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

    The N = 1 view of ``envs.walk_core.WalkCore`` on one MjData (``envs.physics.SingleSim``). The
    specification (action, observation table, commands, reward table, episode end) is the docstring
    of ``envs.spec``, next to the code it describes; docs/environment.md holds its tables for v2.
    ``gym.make_vec("ResidualWalk-v0", num_envs=N, vectorization_mode="vector_entry_point")``
    (``envs.vector_env.ResidualWalkVectorEnv``, a Gymnasium ``VectorEnv``; the training's SB3 adapter
    is ``walklab.vec_envs.batched``) steps N robots on one ``mujoco.batch.Batch``. The observation's
    parts are named: ``observation_structure`` (part -> size) and ``envs.layout.observation_slices``.

    ## Arguments
    ``ResidualWalkEnv(config=None, render_mode=None, width=640, height=480, **keywords)``.
    ``config`` is an ``envs.config.EnvConfig`` (default ``EnvConfig()``); ``keywords`` change
    single settings (``gym.make("ResidualWalk-v0", residual_scale=0.04)``): any EnvConfig field
    or ``<term>_weight``; ``envs/config.py`` holds every field with its default, unit and range.
    render_mode (None, "human", "rgb_array"), width/height (640x480, rgb_array frames), model (a
    compiled scene to use instead of loading ``config.terrain``; a pickled clone reloads the
    terrain). terrain "flat" selects the flat floor. ``metadata["render_fps"]`` follows ``dt``.
    Invalid values raise ``envs.fields.ConfigError`` (a ValueError) naming the field.

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
                    track(self._viewer.cam, self.model, self.sim.trunk_id, self.data, size=self.sim.robot.size)
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
        return tracking_camera(self.model, self.sim.trunk_id, size=self.sim.robot.size)

    # ------------------------------------------------------------------ pickling
    def __getstate__(self):
        # Not gymnasium.utils.EzPickle: that rebuilds from the constructor arguments only, and a
        # clone here must also carry the episode (SubprocVecEnv, tests of determinism).
        return {"init": (self.config, self.render_mode, self.width, self.height), "robot": self.core.snapshot(0)}

    def __setstate__(self, state):
        self.__init__(*state["init"])
        self.core.restore(0, state["robot"])
