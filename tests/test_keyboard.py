"""walklab.keyboard: the viewer's keys step a commanded policy's command within its trained ranges."""

from walklab.keyboard import KEY_DOWN, KEY_LEFT, KEY_RIGHT, KEY_SPACE, KEY_UP, KeyboardCommand


def test_arrows_step_the_command_and_space_stops():
    keys = KeyboardCommand.for_env({"command_speed_max": 0.4, "command_yaw_rate_max": 0.6}, (0.2, 0.0))
    assert keys.take() is None  # nothing pressed yet
    keys.press(KEY_UP)
    keys.press(KEY_LEFT)
    assert keys.take() == (0.25, 0.25) and keys.take() is None
    for _ in range(10):
        keys.press(KEY_UP)
        keys.press(KEY_RIGHT)
    assert keys.take() == (0.4, -0.6)  # held at the trained range's ends
    keys.press(KEY_DOWN)
    assert keys.take() == (0.35, -0.6)
    keys.press(KEY_SPACE)
    assert keys.take() == (0.0, 0.0)
    keys.press(ord("A"))  # other keys are the viewer's own
    assert keys.take() is None


def test_a_policy_trained_straight_may_still_be_asked_to_turn_a_little():
    keys = KeyboardCommand.for_env({"command_speed_max": 0.2}, (0.2, 0.0))
    for _ in range(5):
        keys.press(KEY_LEFT)
    assert keys.take() == (0.2, 0.5)
