"""Perturbations (issue 36): pushes, action latency, per-sensor observation noise, actuator and mass
randomisation. Each is an ``EnvConfig`` setting, off by default (then nothing here draws or changes).

Seeding: each robot draws its perturbations from its own stream, ``perturbation_rng``, made from
its episode seed (``perturbation_stream(seed)``) whenever its main stream is, and kept apart from
it: the spawn, the command and ``randomize``'s draws are the same with and without perturbations,
and a policy and the baseline trot run on the same seed meet the same pushes, delays, noise and
physics. Per episode, at reset (each only when its setting is on, in this order): actuator
strength, kp and damping scales (one per actuator), joint offsets, link masses, the trunk's centre
of mass, the action latency and the first push. Per step: the push when it is due, then the
observation noise.

Every per-robot value is a row of the core's ``RobotRows`` (envs/rows.py), so ``WalkCore.snapshot``,
``restore`` and pickling carry it; the model fields written are in
``envs.randomization.RANDOMIZED_FIELDS``.

- pushes: every ``push_interval_min``..``push_interval_max`` s (uniform) the trunk's horizontal
  velocity (the free joint's qvel) changes by ``push_velocity`` m/s, in a uniformly drawn
  direction. The size is stated for the reference robot and scaled by sqrt(robot.size) (Froude:
  speeds of similar walks scale with sqrt(g x leg length)) and by the robot's own push scale (its
  description's ``"robustness": {"push_scale": s}``, 1 unless calibrated: ``Robot.push_speed_scale``).
- action latency: each episode draws a delay d in 0..``action_latency_max`` control steps; the
  action entering the low-pass filter at step t is the one the policy sent at step t - d (zeros,
  the plain trot's, before the first one arrives). The observed previous action is the one sent.
- observation noise: ``obs_noise_level`` x the part's scale (``envs.layout.OBSERVATION_PARTS``'
  ``noise`` column, in the part's units; lengths x robot.size, speeds x sqrt(robot.size)),
  uniform in [-1, 1] x that, per entry and step (Playground's and legged_gym's form).
- actuators: force limit x U(1 +- ``actuator_strength_range``), kp x U(1 +- ``actuator_kp_range``)
  (gain and bias together), damping x U(1 +- ``actuator_kv_range``) (the servo's kv and the
  joint's passive damping: the mini's servo has kv 0), per actuator; ``joint_offset_max``: each
  joint's encoder reads q + b, b ~ U(+-joint_offset_max) rad: the observed joint position is off
  by b and the servo, closing its loop on the same encoder, holds the joint b short of its target.
- masses: every link but the trunk x U(1 +- ``link_mass_range``) (inertia with it); the trunk's
  centre of mass moves by U(+-``com_offset_max``) m per axis (reference size, x robot.size).
"""

from __future__ import annotations

import math

import numpy as np

from envs.layout import observation_parts, part_size

PERTURBATION_STREAM = 36  # mixed into the episode seed: the perturbations' own random stream
LENGTH_UNITS = {"m": 1.0}  # noise scales in these units scale with robot.size
SPEED_UNITS = {"m/s": 0.5}  # ... and in these with sqrt(robot.size)

# The settings that switch a perturbation on, and their off values (evaluations default to these).
PERTURBATIONS_OFF = {
    "push_velocity": 0.0,
    "action_latency_max": 0,
    "obs_noise_level": 0.0,
    "actuator_strength_range": 0.0,
    "actuator_kp_range": 0.0,
    "actuator_kv_range": 0.0,
    "joint_offset_max": 0.0,
    "link_mass_range": 0.0,
    "com_offset_max": 0.0,
}
MODEL_SETTINGS = ("actuator_strength_range", "actuator_kp_range", "actuator_kv_range", "link_mass_range")


def perturbation_stream(seed: int) -> np.random.Generator:
    """A robot's perturbation stream for an episode seed (independent of its main stream)."""
    return np.random.default_rng([int(seed), PERTURBATION_STREAM])


def changes_models(config) -> bool:
    """True when `config` edits each robot's model per episode (then a batch needs per-robot models)."""
    return bool(config.randomize or config.com_offset_max or any(getattr(config, k) for k in MODEL_SETTINGS))


def noise_scales(config, size: float) -> np.ndarray:
    """Per observation entry: the noise's half-width at obs_noise_level 1, in the entry's units."""
    scales = []
    for part in observation_parts(config):
        scale = part.noise * size ** LENGTH_UNITS.get(part.unit, 0.0) * size ** SPEED_UNITS.get(part.unit, 0.0)
        scales.extend([scale] * part_size(part, config))
    return np.array(scales)


def _uniform(rng, spread: float, count: int) -> np.ndarray:
    return rng.uniform(1.0 - spread, 1.0 + spread, count)


class Perturbations:
    """The perturbations of a core's N robots: rows declared in `rows`, drawn from each robot's stream."""

    def __init__(self, config, robot, n: int, dt: float, n_actions: int, obs_size: int, rows):
        c = self.config = config
        self.n, self.n_actions = n, n_actions
        self.rngs = rows.objects("perturbation_rng")  # each robot's perturbation stream
        self.latency = rows.array("action_latency", dtype=np.int64)  # control steps, this episode's
        depth = c.action_latency_max + 1
        self.queue = rows.array("action_queue", depth * n_actions)  # the last actions sent, newest first
        self.next_push = rows.array("next_push_step", dtype=np.int64)  # the step count of the next push
        self.joint_offset = rows.array("joint_offset", 12)  # rad, encoder bias per joint
        self.delays = bool(c.action_latency_max)
        self.pushes = bool(c.push_velocity)
        self.offsets = bool(c.joint_offset_max)
        self.noisy = bool(c.obs_noise_level)
        self.models = bool(c.com_offset_max or any(getattr(c, k) for k in MODEL_SETTINGS))  # model draws of its own
        self._push_speed = c.push_velocity * robot.push_speed_scale  # m/s
        self._push_steps = (c.push_interval_min / dt, c.push_interval_max / dt)  # control steps
        self._root_qvel = robot.root_qvel
        self._com_offset = c.com_offset_max * robot.size  # m
        self._noise = (c.obs_noise_level * noise_scales(c, robot.size)).astype(np.float32) if self.noisy else None
        if self._noise is not None and self._noise.size != obs_size:
            raise AssertionError("noise scales and observation disagree")

    def seed(self, i: int, seed: int) -> None:
        """Robot i's stream for the episode seed `seed` (called whenever its main stream is seeded)."""
        self.rngs[i] = perturbation_stream(seed)

    # ------------------------------------------------------------------ per episode
    def start(self, i: int, model, nominal: dict, trunk_id: int, randomized: bool) -> bool:
        """Robot i's episode draws; True when its model changed (`randomized`: randomize_physics just ran)."""
        c, rng = self.config, self.rngs[i]
        if self.models:
            self._draw_model(rng, model, nominal, trunk_id, randomized)
        self.joint_offset[i] = rng.uniform(-c.joint_offset_max, c.joint_offset_max, 12) if self.offsets else 0.0
        self.latency[i] = rng.integers(0, c.action_latency_max + 1) if self.delays else 0
        self.queue[i] = 0.0
        self.next_push[i] = self._interval(rng) if self.pushes else -1
        return self.models

    def _draw_model(self, rng, model, nominal: dict, trunk_id: int, randomized: bool) -> None:
        c, m, n = self.config, model, nominal
        actuators = c.actuator_strength_range or c.actuator_kp_range or c.actuator_kv_range
        if actuators and not randomized:  # randomize_physics starts these from nominal; without it, here
            m.actuator_gainprm[:, 0] = n["gain"]
            m.actuator_biasprm[:, 1] = n["bias"]
            m.actuator_forcerange[:] = n["force"]
        if c.actuator_strength_range:
            m.actuator_forcerange[:] *= _uniform(rng, c.actuator_strength_range, m.nu)[:, None]
        if c.actuator_kp_range:
            kp = _uniform(rng, c.actuator_kp_range, m.nu)
            m.actuator_gainprm[:, 0] *= kp
            m.actuator_biasprm[:, 1] *= kp
        if c.actuator_kv_range:
            kv = _uniform(rng, c.actuator_kv_range, m.nu)
            m.actuator_biasprm[:, 2] = n["kv"] * kv
            dofs = m.jnt_dofadr[m.actuator_trnid[:, 0]]
            m.dof_damping[dofs] = n["dof_damping"][dofs] * kv
        if c.link_mass_range:
            links = np.array([b for b in range(1, m.nbody) if b != trunk_id and n["body_mass"][b] > 0])
            scale = _uniform(rng, c.link_mass_range, len(links))
            m.body_mass[links] = n["body_mass"][links] * scale
            m.body_inertia[links] = n["body_inertia"][links] * scale[:, None]
        if c.com_offset_max:
            m.body_ipos[trunk_id] = n["body_ipos"][trunk_id] + rng.uniform(-self._com_offset, self._com_offset, 3)

    def _interval(self, rng) -> int:
        """Control steps until the next push (at least 1)."""
        return max(1, int(round(rng.uniform(*self._push_steps))))

    # ------------------------------------------------------------------ per step
    def delayed(self, go, action: np.ndarray) -> np.ndarray:
        """The actions that reach the filter for robots `go` this step, `action` (N, n_actions) sent now."""
        queue = self.queue.reshape(self.n, -1, self.n_actions)
        queue[go, 1:] = queue[go, :-1]
        queue[go, 0] = action[go]
        ids = np.arange(self.n)[go]
        return queue[ids, self.latency[ids]]

    def push(self, go, step_count: np.ndarray, qvel: np.ndarray) -> None:
        """Kick the trunks of robots `go` whose push is due at `step_count` (their steps so far)."""
        ids = np.arange(self.n)[go]
        for i in ids[step_count[ids] == self.next_push[ids]].tolist():
            rng = self.rngs[i]
            angle = rng.uniform(0.0, 2.0 * math.pi)
            v = self._root_qvel
            qvel[i, v] += self._push_speed * math.cos(angle)
            qvel[i, v + 1] += self._push_speed * math.sin(angle)
            self.next_push[i] += self._interval(rng)

    def add_noise(self, ids: np.ndarray, obs: np.ndarray) -> None:
        """Add this step's sensor noise to the observation rows of robots `ids` (float32, in place)."""
        for k, i in enumerate(ids.tolist()):
            obs[k] += self.rngs[i].uniform(-1.0, 1.0, obs.shape[1]).astype(np.float32) * self._noise
