"""Perturbations (envs.perturbations): off they change nothing, on they act as documented, drawn
from each robot's own stream (a batch row equals the single env: tests/test_batched_vec_env.py;
snapshots carry them: tests/test_snapshot.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from envs.config import EnvConfig
from envs.fields import ConfigError
from envs.layout import observation_slices
from envs.perturbations import PERTURBATIONS_OFF, changes_models, noise_scales
from envs.residual_walk_env import ResidualWalkEnv
from tests.walk_cases import PERTURBED_SETTINGS
from walklab.presets import V2

STEPS = 60


def trace(config: EnvConfig, seed: int = 4, steps: int = STEPS) -> list[bytes]:
    env = ResidualWalkEnv(config)
    obs, _ = env.reset(seed=seed)
    out = [obs.tobytes() + env.data.qpos.tobytes()]
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        obs, reward, terminated, _, _ = env.step(rng.uniform(-1, 1, env.n_actions))
        out.append(obs.tobytes() + env.data.qpos.tobytes() + repr(reward).encode())
        if terminated:
            break
    return out


def test_the_off_values_are_the_defaults():
    defaults = EnvConfig()
    assert {k: getattr(defaults, k) for k in PERTURBATIONS_OFF} == PERTURBATIONS_OFF
    assert not changes_models(defaults) and changes_models(defaults.replace(link_mass_range=0.1))


@pytest.mark.parametrize("name", sorted(PERTURBED_SETTINGS))
def test_each_perturbation_changes_the_walk_the_same_way_on_the_same_seed(name):
    if name.startswith("push_interval"):
        return  # the pushes' timing, with push_velocity
    settings = {name: PERTURBED_SETTINGS[name]}
    if name == "push_velocity":
        settings.update(push_interval_min=0.2, push_interval_max=0.4)
    config = V2.env.replace(**settings)
    nominal, perturbed = trace(V2.env), trace(config)
    assert perturbed != nominal
    assert perturbed == trace(config)
    # the spawn comes from the main stream, which the perturbations leave alone
    assert ResidualWalkEnv(config).reset(seed=9)[1] == ResidualWalkEnv(V2.env).reset(seed=9)[1]


def test_pushes_wait_for_their_time():
    config = V2.env.replace(push_velocity=0.5, push_interval_min=1.0, push_interval_max=1.0)  # 50 steps
    assert trace(config, steps=50) == trace(V2.env, steps=50)
    assert trace(config, steps=51) != trace(V2.env, steps=51)


def test_a_push_changes_the_trunk_velocity_by_push_velocity_in_some_direction():
    env = ResidualWalkEnv(V2.env.replace(push_velocity=0.3, push_interval_min=0.1, push_interval_max=0.1))
    env.reset(seed=1)
    perturb, core = env.core.perturbations, env.core
    qvel = np.zeros((1, env.model.nv))
    core.step_count[0] = perturb.next_push[0]
    perturb.push(slice(None), core.step_count, qvel)
    assert math.hypot(qvel[0, 0], qvel[0, 1]) == pytest.approx(0.3) and not qvel[0, 2:].any()
    assert perturb.next_push[0] == core.step_count[0] + 5  # 0.1 s at 50 Hz


def test_a_robots_push_scale_scales_its_kicks(tmp_path):
    """The description's "robustness": {"push_scale": s} kicks the robot s times as hard (the mini: 1)."""
    import json

    from envs.robot import load_robot

    mini = load_robot("mini").description
    folder = tmp_path / "soft"
    folder.mkdir()
    description = json.loads(mini.file.read_text())
    description.update(mjcf=str(mini.mjcf), scenes={kind: str(path) for kind, path in mini.scenes.items()})
    (folder / "robot.json").write_text(json.dumps({**description, "robustness": {"push_scale": 0.5}}))
    kicks = []
    for robot in ("mini", str(folder)):
        env = ResidualWalkEnv(
            V2.env.replace(robot=robot, push_velocity=0.3, push_interval_min=0.1, push_interval_max=0.1)
        )
        env.reset(seed=1)
        perturb, core = env.core.perturbations, env.core
        qvel = np.zeros((1, env.model.nv))
        core.step_count[0] = perturb.next_push[0]
        perturb.push(slice(None), core.step_count, qvel)
        kicks.append(math.hypot(qvel[0, 0], qvel[0, 1]))
    assert kicks == pytest.approx([0.3, 0.15])


def test_latency_delays_the_action_by_the_drawn_steps():
    env = ResidualWalkEnv(V2.env.replace(action_latency_max=3))
    delays = set()
    for seed in range(12):
        env.reset(seed=seed)
        d = int(env.core.perturbations.latency[0])
        delays.add(d)
        for step in range(d + 1):
            env.step(np.ones(env.n_actions))
            arrived = step >= d
            assert (env.core.residual[0] != 0).all() == arrived
            assert (env.core.prev_action[0] == 1).all()  # observed: the action sent
    assert delays == {0, 1, 2, 3}


def test_sensor_noise_is_per_part_within_its_scale():
    level = 2.0
    config = V2.env.replace(obs_noise_level=level)
    scales = noise_scales(config, 1.0)
    slices = observation_slices(config)
    assert (scales[slices["joint_positions"]] == 0.01).all() and (scales[slices["joint_velocities"]] == 1.5).all()
    assert (scales[slices["gyro"]] == 0.2).all() and (scales[slices["gravity"]] == 0.05).all()
    assert (scales[slices["phase"]] == 0).all() and (scales[slices["previous_action"]] == 0).all()
    noisy, _ = ResidualWalkEnv(config).reset(seed=2)
    clean, _ = ResidualWalkEnv(V2.env).reset(seed=2)
    error = np.abs(noisy.astype(np.float64) - clean)
    assert (error <= level * scales * 1.0001 + 1e-6).all()
    assert (error[scales > 0] > 0).all() and (error[scales == 0] == 0).all()


def test_model_draws_start_from_the_nominal_model_every_episode():
    config = V2.env.replace(
        actuator_strength_range=0.2,
        actuator_kp_range=0.2,
        actuator_kv_range=0.5,
        link_mass_range=0.3,
        com_offset_max=0.01,
    )
    env = ResidualWalkEnv(config)
    nominal = ResidualWalkEnv(V2.env).model
    env.reset(seed=3)
    first = [
        getattr(env.model, f).copy()
        for f in ("actuator_gainprm", "actuator_forcerange", "dof_damping", "body_mass", "body_ipos")
    ]
    for seed in (4, 5):
        env.reset(seed=seed)
    env.reset(seed=3)
    again = [
        getattr(env.model, f)
        for f in ("actuator_gainprm", "actuator_forcerange", "dof_damping", "body_mass", "body_ipos")
    ]
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    trunk = env.core.physics.trunk_id
    assert env.model.body_mass[trunk] == nominal.body_mass[trunk]  # the trunk's mass is randomize's
    assert not np.array_equal(env.model.body_ipos[trunk], nominal.body_ipos[trunk])
    assert not np.array_equal(env.model.dof_damping, nominal.dof_damping)
    ratio = env.model.actuator_gainprm[:, 0] / nominal.actuator_gainprm[:, 0]
    assert ((0.8 <= ratio) & (ratio <= 1.2)).all() and len(set(ratio.tolist())) == env.model.nu


def test_joint_offsets_bias_the_observation_and_the_servo_alike():
    config = V2.env.replace(joint_offset_max=0.05)
    env = ResidualWalkEnv(config)
    obs, _ = env.reset(seed=6)
    offset = env.core.perturbations.joint_offset[0].copy()
    joints = observation_slices(config)["joint_positions"]
    np.testing.assert_allclose(obs[joints], env.data.qpos[env.core._joint_qpos] + offset, rtol=0, atol=1e-6)
    env.step(np.zeros(env.n_actions))
    targets = ResidualWalkEnv(V2.env)
    targets.reset(seed=6)
    targets.step(np.zeros(env.n_actions))
    np.testing.assert_array_equal(env.data.ctrl, targets.data.ctrl - offset)


def test_push_intervals_must_be_ordered():
    with pytest.raises(ConfigError, match="push_interval_max"):
        EnvConfig(push_interval_min=2.0, push_interval_max=1.0)
