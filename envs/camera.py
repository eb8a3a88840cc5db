"""The tracking camera: one definition for recorded videos and the interactive viewer.

``ResidualWalkEnv.render()`` (rgb_array), the phase scripts' recordings and every script that
opens the MuJoCo viewer frame the robot with these values: the camera follows the trunk from
0.6 m (for the reference size of ``envs.robot``; x ``size`` for another robot), behind and to
the side (azimuth 120 deg), looking 20 deg down.
"""

from __future__ import annotations

import mujoco

TRACK_BODY = "trunk"  # the default robot's trunk; pass a robot's own (Robot.description.name_of("trunk"))
DISTANCE = 0.6  # m from the tracked body's centre of mass, at the reference size (x Robot.size)
AZIMUTH = 120.0  # deg, around world z (90 looks along +y; 120 is behind-left of a robot walking +x)
ELEVATION = -20.0  # deg, negative looks down


def body_id(model: mujoco.MjModel, body: str | int = TRACK_BODY) -> int:
    """The id of `body` (a name or an id) in `model`."""
    if isinstance(body, int):
        return body
    index = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, body)
    if index < 0:
        raise ValueError(f"no body named {body!r} in the model")
    return index


def track(
    cam: mujoco.MjvCamera,
    model: mujoco.MjModel,
    body: str | int = TRACK_BODY,
    data: mujoco.MjData | None = None,
    size: float = 1.0,
) -> mujoco.MjvCamera:
    """Point `cam` (a new MjvCamera, or a viewer handle's ``cam``) at `body` and follow it.

    Sets the type, tracked body, distance, azimuth and elevation once; a viewer's user can
    move the camera with the mouse afterwards, and it keeps following the body. With `data`
    (after mj_forward) the look-at point starts on the body's centre of mass before the first
    scene update (MuJoCo then keeps it there). `size` is the robot's (``envs.robot.Robot.size``).
    """
    cam.type = mujoco.mjtCamera.mjCAMERA_TRACKING
    cam.trackbodyid = body_id(model, body)
    if data is not None:
        cam.lookat[:] = data.subtree_com[cam.trackbodyid]
    cam.fixedcamid = -1
    cam.distance = DISTANCE * size
    cam.azimuth = AZIMUTH
    cam.elevation = ELEVATION
    return cam


def tracking_camera(
    model: mujoco.MjModel, body: str | int = TRACK_BODY, data: mujoco.MjData | None = None, size: float = 1.0
) -> mujoco.MjvCamera:
    """A new MjvCamera that follows `body` (for mujoco.Renderer.update_scene)."""
    return track(mujoco.MjvCamera(), model, body, data, size)
