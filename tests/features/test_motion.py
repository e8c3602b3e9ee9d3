"""Motion features: invariance to place and facing, root velocities, contacts, window checks."""

from __future__ import annotations

import numpy as np
import pytest

from dancesearch.features.motion import (
    BROKEN_KINDS,
    MOTION_DIM,
    MOTION_FEATURE_NAMES,
    MotionConfig,
    broken_reason,
    heading,
    is_static,
    motion_features,
)
from dancesearch.skeleton import J

FPS = 30.0
# The neutral SMPL-X rest pose (FineDance's smplx_neu_J_1.npy, first 22 joints), rounded, with
# the feet on the floor: facing +Z, left hand at +X.
REST = np.array(
    [
        [0.003, 0.935, 0.012], [0.061, 0.843, -0.014], [-0.060, 0.831, -0.009],
        [0.000, 1.045, -0.016], [0.116, 0.464, -0.023], [-0.104, 0.469, -0.026],
        [0.010, 1.177, -0.022], [0.073, 0.061, -0.055], [-0.089, 0.058, -0.046],
        [-0.002, 1.229, 0.007], [0.120, 0.003, 0.063], [-0.128, 0.000, 0.073],
        [-0.014, 1.394, -0.025], [0.045, 1.314, -0.000], [-0.049, 1.314, -0.006],
        [0.011, 1.555, -0.004], [0.164, 1.372, -0.016], [-0.152, 1.367, -0.019],
        [0.418, 1.300, -0.058], [-0.423, 1.331, -0.046], [0.670, 1.323, -0.061],
        [-0.672, 1.326, -0.061],
    ],
    dtype=np.float32,
)  # fmt: skip


def col(name: str) -> int:
    return MOTION_FEATURE_NAMES.index(name)


def rotate_y(points: np.ndarray, angle: np.ndarray | float) -> np.ndarray:
    """Rotate (T, 22, 3) about +Y (per frame when angle is (T,)), taking +Z towards +X."""
    a = np.broadcast_to(np.asarray(angle, dtype=np.float64), (len(points),))[:, None]
    x, y, z = points[..., 0], points[..., 1], points[..., 2]
    c, s = np.cos(a), np.sin(a)
    return np.stack([c * x + s * z, y, -s * x + c * z], axis=-1).astype(np.float32)


def still(n: int = 60) -> np.ndarray:
    return np.repeat(REST[None], n, axis=0)


def dancing(n: int = 90, seed: int = 0) -> np.ndarray:
    """Rest pose with swinging limbs, a wandering path and a slow turn: a generic motion."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / FPS
    phase = rng.uniform(0, 2 * np.pi, size=(22, 3))
    wobble = 0.05 * np.sin(2 * np.pi * 1.3 * t[:, None, None] + phase)
    joints = rotate_y(REST[None] + wobble, 0.8 * t)
    path = np.stack([0.5 * t, 0.05 * np.sin(3 * t), 0.3 * t**2], axis=-1)
    return (joints + path[:, None]).astype(np.float32)


def test_shape_and_names() -> None:
    feats = motion_features(dancing(), FPS)
    assert feats.shape == (90, MOTION_DIM) == (90, len(MOTION_FEATURE_NAMES))
    assert feats.dtype == np.float32 and np.isfinite(feats).all()
    assert motion_features(REST[None], FPS).shape == (1, MOTION_DIM)
    assert MotionConfig().key() == MotionConfig().key() != MotionConfig(contact_speed_m_s=1).key()


def test_invariant_to_place_and_facing() -> None:
    joints = dancing()
    moved = rotate_y(joints, 2.4) + np.array([3.0, 0.0, -7.5], dtype=np.float32)
    np.testing.assert_allclose(motion_features(moved, FPS), motion_features(joints, FPS), atol=1e-3)


def test_walking_forward_at_1_m_s() -> None:
    t = np.arange(60) / FPS
    turned = rotate_y(still(), 0.7)  # facing away from +Z
    facing = heading(turned)
    np.testing.assert_allclose(facing, heading(REST[None])[0] + 0.7, atol=1e-6)
    forward = np.stack([np.sin(facing), 0 * facing, np.cos(facing)], axis=-1)
    joints = turned + (t[:, None] * forward)[:, None].astype(np.float32)
    feats = motion_features(joints, FPS)
    np.testing.assert_allclose(feats[:, col("root_vel_z")], 1.0, atol=1e-3)
    np.testing.assert_allclose(feats[:, [col("root_vel_x"), col("root_vel_y")]], 0.0, atol=1e-3)
    np.testing.assert_allclose(feats[:, col("root_yaw_rate")], 0.0, atol=1e-3)


def test_spinning_at_1_rev_per_s() -> None:
    t = np.arange(75) / FPS
    pelvis_xz = REST[0] * [1, 0, 1]
    joints = rotate_y(still(75) - pelvis_xz, 2 * np.pi * t) + pelvis_xz
    feats = motion_features(joints, FPS)
    np.testing.assert_allclose(feats[:, col("root_yaw_rate")], 2 * np.pi, rtol=1e-3)
    # the body-frame pose does not change while spinning
    pos = [i for i, n in enumerate(MOTION_FEATURE_NAMES) if n.startswith("pos_")]
    np.testing.assert_allclose(feats[:, pos] - feats[:1, pos], 0.0, atol=1e-4)


def test_foot_contacts() -> None:
    contacts = [
        col(f"contact_{n}") for n in ("left_ankle", "right_ankle", "left_foot", "right_foot")
    ]
    assert (motion_features(still(), FPS)[:, contacts] == 1).all()

    lifted = still()
    lifted[:, [J["left_ankle"], J["left_foot"]], 1] += 0.3  # left foot held up, not moving
    assert (motion_features(lifted, FPS)[:, contacts] == [0, 1, 0, 1]).all()

    sliding = still()
    sliding[:, J["right_foot"], 2] += 2.0 * np.arange(60) / FPS  # low but moving at 2 m/s
    assert (motion_features(sliding, FPS)[:, contacts] == [1, 1, 1, 0]).all()


def test_is_static() -> None:
    rng = np.random.default_rng(1)
    jitter = still(90) + rng.normal(0, 0.0003, size=(90, 22, 3)).astype(np.float32)
    assert is_static(still(), FPS) and is_static(jitter, FPS)
    assert not is_static(dancing(), FPS)
    waving = still(90)  # one hand swings 10 cm side to side at 1 Hz, the rest holds still
    waving[:, J["left_wrist"], 0] += 0.1 * np.sin(2 * np.pi * np.arange(90) / FPS)
    assert not is_static(waving, FPS)


def test_broken_reason() -> None:
    assert broken_reason(dancing(), FPS) is None

    nan = dancing()
    nan[10, 3, 1] = np.nan
    reason = broken_reason(nan, FPS)
    assert reason is not None and reason.startswith("non-finite:")

    teleport = dancing()
    teleport[40:, J["left_wrist"]] += [1.5, 0.0, 0.0]  # 1.5 m in one frame = 45 m/s
    reason = broken_reason(teleport, FPS)
    assert reason is not None and reason.startswith("teleport: left_wrist") and "frame 40" in reason

    stretched = dancing()
    stretched[60:, J["right_wrist"], 1] -= np.linspace(0, 1.0, 30)  # forearm grows 1 m in 1 s
    reason = broken_reason(stretched, FPS)
    assert reason is not None and reason.startswith("bone-stretch: bone to right_wrist")
    kinds = {str(broken_reason(x, FPS)).split(":")[0] for x in (nan, teleport, stretched)}
    assert kinds == set(BROKEN_KINDS)

    with pytest.raises(ValueError, match="NaN"):
        motion_features(nan, FPS)
