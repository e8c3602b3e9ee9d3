"""Motion features: per-frame kinematics of the common 22-joint body, and window sanity checks.

Owns the heading-aligned body frame (pelvis on the vertical axis, facing +Z, left +X) that makes
features independent of where on the floor a dancer stands and which way they face, and the
checks segmentation uses to drop static or broken windows.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass

import numpy as np

from dancesearch.skeleton import BONES, JOINTS, J, bone_lengths, heading, rotate_y

# Bump when the features computed from the same config change, so stored features are redone.
_VERSION = 1

_NON_ROOT = tuple(range(1, len(JOINTS)))  # the pelvis is the origin: its position is always 0
CONTACT_JOINTS: tuple[str, ...] = ("left_ankle", "right_ankle", "left_foot", "right_foot")

MOTION_FEATURE_NAMES: tuple[str, ...] = (
    *(f"pos_{JOINTS[j]}_{a}" for j in _NON_ROOT for a in "xyz"),
    *(f"vel_{JOINTS[j]}_{a}" for j in _NON_ROOT for a in "xyz"),
    "root_vel_x",
    "root_vel_y",
    "root_vel_z",
    "root_yaw_rate",
    *(f"height_{name}" for name in JOINTS),
    *(f"contact_{name}" for name in CONTACT_JOINTS),
)
MOTION_DIM = len(MOTION_FEATURE_NAMES)  # 63 + 63 + 3 + 1 + 22 + 4 = 156

# Kinds of broken windows, the part of a broken_reason before the colon.
BROKEN_KINDS: tuple[str, ...] = ("non-finite", "teleport", "bone-stretch")


@dataclass(frozen=True)
class MotionConfig:
    """Thresholds of the foot-contact features. Heights are above the floor (y = 0).

    contact_ankle_height_m: an ankle joint touches the floor below this height (the SMPL ankle
        sits about 6 cm above a flat foot's sole; floors of marker data are off by a few cm).
    contact_foot_height_m: the same for the foot (toe-base) joints, about 0-3 cm when flat.
    contact_speed_m_s: and moves slower than this (a planted, pivoting foot still creeps).
    """

    contact_ankle_height_m: float = 0.15
    contact_foot_height_m: float = 0.10
    contact_speed_m_s: float = 0.6

    def key(self) -> str:
        """Short hash of the fields and the code version, stable across runs and machines."""
        text = json.dumps({"motion": _VERSION, **asdict(self)}, sort_keys=True)
        return hashlib.sha1(text.encode()).hexdigest()[:10]


DEFAULT_MOTION = MotionConfig()


def _checked(joints: np.ndarray) -> np.ndarray:
    joints = np.asarray(joints, dtype=np.float64)
    if joints.ndim != 3 or joints.shape[1:] != (len(JOINTS), 3) or len(joints) == 0:
        raise ValueError(f"joints have shape {joints.shape}, expected (T >= 1, 22, 3)")
    return joints


def _keep_length(d: np.ndarray) -> np.ndarray:
    """(T-1, ...) per-step values to (T, ...): frame 0 repeats frame 1 (zeros when T = 1)."""
    if len(d) == 0:
        return np.zeros((1, *d.shape[1:]))
    return np.concatenate([d[:1], d], axis=0)


def motion_features(
    joints: np.ndarray, fps: float, config: MotionConfig = DEFAULT_MOTION
) -> np.ndarray:
    """Per-frame features of a motion, invariant to floor position and facing direction.

    joints: (T, 22, 3) metres, Y up, floor at y = 0, at fps frames per second.
    Returns (T, MOTION_DIM = 156) float32, columns as MOTION_FEATURE_NAMES. The body frame of
    frame t has the pelvis on its vertical axis, +Z forward and +X to the body's left (yaw from
    `heading`); velocities use the mean heading of the two frames they span.
      pos_*     (63) non-root joints relative to the pelvis, body frame, m
      vel_*     (63) non-root joint velocities in the world, expressed in the body frame, m/s
      root_vel  (3)  pelvis velocity in the body frame: x sideways (left +), y up, z forward, m/s
      root_yaw_rate (1) d(yaw)/dt, rad/s, positive turning from +Z towards +X (anticlockwise
                    seen from above)
      height_*  (22) every joint's y above the floor (height_pelvis first), m
      contact_* (4)  1.0 where ankle/foot joints are low and slow (MotionConfig), else 0.0
    Velocities are backward differences; frame 0 repeats frame 1, so the length stays T.
    """
    joints = _checked(joints)
    if not np.isfinite(joints).all():
        raise ValueError("joints contain NaN or infinite values; see broken_reason")
    yaw = heading(joints)
    root = joints[:, 0]
    local = rotate_y(joints - root[:, None], -yaw)

    # Step t-1 -> t, expressed in the heading halfway between the two frames, so a body
    # walking straight while turning still reads as moving forward.
    step = np.diff(joints, axis=0) * fps
    mid_yaw = (yaw[1:] + yaw[:-1]) / 2
    world_vel = _keep_length(step)
    body_vel = _keep_length(rotate_y(step, -mid_yaw))
    yaw_rate = _keep_length(np.diff(yaw) * fps)

    speed = np.linalg.norm(world_vel, axis=-1)
    heights = joints[..., 1]
    contact_idx = [J[name] for name in CONTACT_JOINTS]
    limits = np.array([config.contact_ankle_height_m] * 2 + [config.contact_foot_height_m] * 2)
    contacts = (heights[:, contact_idx] < limits) & (
        speed[:, contact_idx] < config.contact_speed_m_s
    )

    t = len(joints)
    return np.concatenate(
        [
            local[:, 1:].reshape(t, -1),
            body_vel[:, 1:].reshape(t, -1),
            body_vel[:, 0],
            yaw_rate[:, None],
            heights,
            contacts.astype(np.float64),
        ],
        axis=1,
    ).astype(np.float32)


def is_static(joints: np.ndarray, fps: float, max_mean_speed_m_s: float = 0.05) -> bool:
    """True when no part of the body moves: every joint's mean speed over the window is below
    the limit.

    joints: (T, 22, 3) metres at fps. A held pose with tracking jitter stays near 0.01 m/s at
    every joint. The fastest joint decides, not the body's average: a slow one-handed gesture
    (an elderly person raising the left hand, 0.03 m/s averaged over 22 joints) moves its hand
    at 0.15 m/s or more.
    """
    joints = _checked(joints)
    if len(joints) < 2:
        return True
    speed = np.linalg.norm(np.diff(joints, axis=0), axis=-1) * fps  # (T-1, 22)
    return bool(speed.mean(axis=0).max() < max_mean_speed_m_s)


def broken_reason(
    joints: np.ndarray,
    fps: float,
    max_speed_m_s: float = 15.0,
    max_bone_stretch: float = 2.0,
) -> str | None:
    """Why a window of motion is unusable, or None when it looks like a body.

    joints: (T, 22, 3) metres at fps.
    max_speed_m_s: a joint moving faster between two frames has jumped (capture or retarget
        glitch); the fastest human hand strikes reach about 10 m/s.
    max_bone_stretch: a bone longer than this multiple of its median length over the window
        has come apart (marker data varies by 5-15 %, not 2x).
    Returns "kind: detail" with kind one of BROKEN_KINDS, e.g.
    "teleport: left_wrist moves at 31.2 m/s at frame 120 (limit 15.0)".
    """
    joints = _checked(joints)
    finite = np.isfinite(joints).all(axis=(1, 2))
    if not finite.all():
        return f"non-finite: {int((~finite).sum())} frame(s) contain NaN or infinite positions"
    if len(joints) >= 2:
        speed = np.linalg.norm(np.diff(joints, axis=0), axis=-1) * fps  # (T-1, 22)
        frame, joint = np.unravel_index(int(speed.argmax()), speed.shape)
        if speed[frame, joint] > max_speed_m_s:
            return (
                f"teleport: {JOINTS[joint]} moves at {speed[frame, joint]:.1f} m/s at frame "
                f"{frame + 1} (limit {max_speed_m_s})"
            )
    lengths = bone_lengths(joints)  # (T, 21)
    stretch = lengths / np.maximum(np.median(lengths, axis=0), 1e-6)
    frame, bone = np.unravel_index(int(stretch.argmax()), stretch.shape)
    if stretch[frame, bone] > max_bone_stretch:
        return (
            f"bone-stretch: bone to {JOINTS[BONES[bone][1]]} is {stretch[frame, bone]:.1f}x "
            f"its median length at frame {frame} (limit {max_bone_stretch})"
        )
    return None
