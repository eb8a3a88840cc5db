"""Short seeded walks on the default terrain: the working trot walks, the legacy one stalls."""

from envs.robot_sim import load_model
from envs.rollout import run_baseline
from gait import LEGACY_GAIT, WORKING_GAIT


def test_working_gait_walks_forward_and_legacy_stalls():
    model = load_model()
    working = [run_baseline(WORKING_GAIT, 8.0, seed, model=model) for seed in (0, 1)]
    legacy = [run_baseline(LEGACY_GAIT, 8.0, seed, model=model) for seed in (0, 1)]
    for w in working:
        assert not w.fell
        assert w.forward_velocity > 0.06  # m/s
    for lg in legacy:
        assert lg.forward_velocity < 0.03  # m/s: its 1.5 cm swing cannot clear the ridges


def test_walk_is_deterministic_for_a_seed():
    model = load_model()
    a = run_baseline(WORKING_GAIT, 2.0, 3, model=model)
    b = run_baseline(WORKING_GAIT, 2.0, 3, model=model)
    assert a == b


def test_flat_ground_is_faster_than_rough_terrain():
    rough = run_baseline(WORKING_GAIT, 6.0, 0, model=load_model())
    flat = run_baseline(WORKING_GAIT, 6.0, 0, model=load_model(flat=True))
    assert flat.forward_velocity > rough.forward_velocity
