"""Domain randomisation: per-episode physics draws, written into one robot's own MjModel.

The ranges are uniform and multiplicative. ``randomize_physics`` draws them from the robot's
random stream in a fixed order (friction, trunk mass, actuator strength, terrain height), so a
robot of a batch and a single env with the same seed draw the same physics.
"""

from __future__ import annotations

import mujoco
import numpy as np

RANDOMIZE_FRICTION = (0.7, 1.3)  # x sliding friction of every geom
RANDOMIZE_TRUNK_MASS = (0.85, 1.15)  # x trunk (and battery) mass
RANDOMIZE_ACTUATOR_STRENGTH = (0.85, 1.15)  # x position gain kp and torque limit
RANDOMIZE_TERRAIN_HEIGHT = (0.8, 1.2)  # x heightfield elevation
OBS_NOISE_STD = 0.02  # additive Gaussian noise on every observation entry (obs units), randomize only


def nominal_physics(model: mujoco.MjModel) -> dict[str, np.ndarray]:
    """Copies of the fields randomisation scales, taken before any draw."""
    return {
        "friction": model.geom_friction[:, 0].copy(),
        "body_mass": model.body_mass.copy(),
        "body_inertia": model.body_inertia.copy(),
        "gain": model.actuator_gainprm[:, 0].copy(),
        "bias": model.actuator_biasprm[:, 1].copy(),
        "force": model.actuator_forcerange.copy(),
        "hfield_size": model.hfield_size.copy(),
        "kv": model.actuator_biasprm[:, 2].copy(),  # envs.perturbations' draws
        "dof_damping": model.dof_damping.copy(),
        "body_ipos": model.body_ipos.copy(),
    }


# The model fields randomize_physics and envs.perturbations write: a robot's randomised physics (in its snapshot).
RANDOMIZED_FIELDS = (
    "geom_friction",
    "body_mass",
    "body_inertia",
    "actuator_gainprm",
    "actuator_biasprm",
    "actuator_forcerange",
    "hfield_size",
    "dof_damping",  # envs.perturbations
    "body_ipos",
)


def physics_values(model: mujoco.MjModel) -> dict[str, np.ndarray]:
    """Copies of `model`'s RANDOMIZED_FIELDS."""
    return {name: getattr(model, name).copy() for name in RANDOMIZED_FIELDS}


def same_physics(model: mujoco.MjModel, values: dict[str, np.ndarray]) -> bool:
    """True when `model`'s RANDOMIZED_FIELDS hold `values` bit for bit."""
    return all(getattr(model, name).tobytes() == np.asarray(values[name]).tobytes() for name in RANDOMIZED_FIELDS)


def set_physics_values(model: mujoco.MjModel, values: dict[str, np.ndarray]) -> None:
    """Write `values` (a ``physics_values``) into `model`'s RANDOMIZED_FIELDS."""
    for name in RANDOMIZED_FIELDS:
        getattr(model, name)[:] = values[name]


def randomize_physics(model: mujoco.MjModel, nominal: dict[str, np.ndarray], trunk_id: int, rng) -> None:
    """Scale `model`'s friction, trunk mass, actuator strength and terrain height by fresh draws."""
    m, n = model, nominal
    m.geom_friction[:, 0] = n["friction"] * rng.uniform(*RANDOMIZE_FRICTION)
    mass_scale = rng.uniform(*RANDOMIZE_TRUNK_MASS)
    m.body_mass[trunk_id] = n["body_mass"][trunk_id] * mass_scale
    m.body_inertia[trunk_id] = n["body_inertia"][trunk_id] * mass_scale  # same shape, heavier
    strength = rng.uniform(*RANDOMIZE_ACTUATOR_STRENGTH)
    m.actuator_gainprm[:, 0] = n["gain"] * strength
    m.actuator_biasprm[:, 1] = n["bias"] * strength
    m.actuator_forcerange[:] = n["force"] * strength
    m.hfield_size[:, 2] = n["hfield_size"][:, 2] * rng.uniform(*RANDOMIZE_TERRAIN_HEIGHT)


def observation_noise(rng, size: int) -> np.ndarray:
    """One observation's additive noise, float32."""
    return rng.normal(0.0, OBS_NOISE_STD, size=size).astype(np.float32)
