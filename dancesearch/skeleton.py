"""The common body every source is mapped onto: the 22-joint SMPL layout, metres, Y up, 30 FPS.

Owns the `Sequence` record that readers yield, axis conversion, resampling and the checks that
a sequence is a plausible human body.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from dancesearch.errors import SourceError

FPS = 30.0

JOINTS: tuple[str, ...] = (
    "pelvis", "left_hip", "right_hip", "spine1", "left_knee", "right_knee", "spine2",
    "left_ankle", "right_ankle", "spine3", "left_foot", "right_foot", "neck", "left_collar",
    "right_collar", "head", "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
    "left_wrist", "right_wrist",
)  # fmt: skip
PARENTS: tuple[int, ...] = (
    -1,
    0,
    0,
    0,
    1,
    2,
    3,
    4,
    5,
    6,
    7,
    8,
    9,
    9,
    9,
    12,
    13,
    14,
    16,
    17,
    18,
    19,
)
J = {name: i for i, name in enumerate(JOINTS)}
BONES: tuple[tuple[int, int], ...] = tuple((p, c) for c, p in enumerate(PARENTS) if p >= 0)

Quality = Literal["exact", "approximate", "interpolated"]


@dataclass
class Sequence:
    """One continuous performance by one dancer, on the common body.

    joints: (T, 22, 3) float32, metres, Y up, at `fps` frames per second (readers may hand over
    any rate; `to_common` resamples to 30 FPS). Frame f of the motion plays with music time
    `music_offset + f / fps` seconds of `music_path`.
    """

    seq_id: str  # "<source>/<relative name>", stable across runs and machines
    source: str  # reader that produced it: m2d, cmu, bandai, g1, aistpp, finedance, ...
    path: Path  # file (or folder) it was read from
    joints: np.ndarray
    fps: float
    joint_quality: tuple[Quality, ...]  # one per joint of JOINTS: how the rig map obtained it
    music_path: Path | None = None
    music_offset: float = 0.0  # seconds into music_path at motion frame 0
    genre: str | None = None
    performer: str | None = None
    group: str | None = None  # recordings of one dance (partners) share a group; default seq_id
    labels: dict[str, str] = field(default_factory=dict)  # source-specific: style, content, ...
    descriptions: list[str] = field(default_factory=list)  # human-written text about the take
    licence: str = ""
    credit: str = ""

    def __post_init__(self) -> None:
        if self.group is None:
            self.group = self.seq_id
        self.joints = np.asarray(self.joints, dtype=np.float32)
        if self.joints.ndim != 3 or self.joints.shape[1:] != (22, 3):
            raise SourceError(
                self.path, f"joints have shape {self.joints.shape}, expected (T, 22, 3)"
            )
        if len(self.joint_quality) != 22:
            raise ValueError("joint_quality needs one entry per joint")

    @property
    def n_frames(self) -> int:
        return int(self.joints.shape[0])

    @property
    def duration(self) -> float:
        """Seconds of motion."""
        return self.n_frames / self.fps

    @property
    def has_music(self) -> bool:
        return self.music_path is not None


def z_up_to_y_up(points: np.ndarray) -> np.ndarray:
    """Rotate (..., 3) points from a right-handed Z-up frame to a right-handed Y-up frame.

    A rotation of -90 degrees about X: (x, y, z) -> (x, z, -y). Handedness is kept, so a
    body's left stays on its left.
    """
    return np.stack([points[..., 0], points[..., 2], -points[..., 1]], axis=-1)


def resample(joints: np.ndarray, fps_in: float, fps_out: float = FPS) -> np.ndarray:
    """Linearly resample (T, J, 3) joints from fps_in to fps_out over the same duration.

    Output frame k lies at time k / fps_out; frames past the last input time are not made up,
    so the result has floor((T - 1) * fps_out / fps_in) + 1 frames.
    """
    if fps_in <= 0:
        raise ValueError(f"fps_in must be positive, got {fps_in}")
    t_in = joints.shape[0]
    if t_in == 0 or abs(fps_in - fps_out) < 1e-9:
        return joints.astype(np.float32, copy=True)
    n_out = int(np.floor((t_in - 1) * fps_out / fps_in + 1e-9)) + 1
    pos = np.arange(n_out) * (fps_in / fps_out)
    lo = np.clip(np.floor(pos).astype(int), 0, t_in - 1)
    hi = np.clip(lo + 1, 0, t_in - 1)
    w = (pos - lo).astype(np.float32)[:, None, None]
    return ((1 - w) * joints[lo] + w * joints[hi]).astype(np.float32)


def bone_lengths(joints: np.ndarray) -> np.ndarray:
    """(T, 21) length of every bone of PARENTS per frame, in the joints' units."""
    parents = np.array([p for p, _ in BONES])
    children = np.array([c for _, c in BONES])
    return np.linalg.norm(joints[:, children] - joints[:, parents], axis=-1)


def heading(joints: np.ndarray) -> np.ndarray:
    """(T,) unwrapped yaw of the body in radians, from the hips.

    joints: (T, 22, 3) metres, Y up. The body's left is left_hip - right_hip on the floor, its
    forward is left x up; yaw is the angle about +Y that turns +Z onto forward (0 when facing +Z,
    pi/2 when facing +X). Unwrapped, so a turn of several revolutions keeps counting.
    """
    left = joints[:, J["left_hip"]] - joints[:, J["right_hip"]]
    # forward = left x up = (-left_z, 0, left_x); yaw = atan2(forward_x, forward_z)
    return np.unwrap(np.arctan2(-left[:, 2], left[:, 0]).astype(np.float64))


def rotate_y(points: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """Rotate (T, ..., 3) points about +Y by per-frame angles (T,) in radians."""
    shape = (-1,) + (1,) * (points.ndim - 2)
    c, s = np.cos(angle).reshape(shape), np.sin(angle).reshape(shape)
    x, y, z = points[..., 0], points[..., 1], points[..., 2]
    return np.stack([c * x + s * z, y, -s * x + c * z], axis=-1)


def check_plausible(joints: np.ndarray, path: str | Path) -> None:
    """Raise SourceError unless (T, 22, 3) metres Y-up joints look like an upright person.

    Catches the usual reader mistakes: wrong units (cm read as m), wrong up axis, NaNs.
    """
    if not np.isfinite(joints).all():
        bad = int((~np.isfinite(joints)).any(axis=(1, 2)).sum())
        raise SourceError(path, f"{bad} frame(s) contain NaN or infinite joint positions")
    head_above_pelvis = np.median(joints[:, J["head"], 1] - joints[:, J["pelvis"], 1])
    if not 0.2 < head_above_pelvis < 1.2:
        raise SourceError(
            path,
            f"head is {head_above_pelvis:.2f} m above the pelvis (median); expected 0.2-1.2 m "
            "for an upright body in metres with Y up (wrong units or up axis?)",
        )


def floor_to_zero(joints: np.ndarray) -> np.ndarray:
    """Shift (T, 22, 3) joints vertically so the typical supporting foot point is at y = 0.

    The floor is the median over frames of the lowest foot joint: one foot is on the floor in
    most frames of a dance, and the median ignores jumps and the odd noisy frame.
    """
    feet = joints[:, [J["left_ankle"], J["right_ankle"], J["left_foot"], J["right_foot"]], 1]
    return joints - np.array([0.0, np.median(feet.min(axis=1)), 0.0], dtype=np.float32)


def to_common(seq: Sequence) -> Sequence:
    """Resample a reader's sequence to 30 FPS, put its floor at y = 0 and check it is a body."""
    check_plausible(seq.joints, seq.path)
    seq.joints = floor_to_zero(resample(seq.joints, seq.fps, FPS))
    seq.fps = FPS
    return seq
