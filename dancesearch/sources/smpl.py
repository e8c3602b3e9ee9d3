"""Forward kinematics of the 22 SMPL / SMPL-X body joints from per-joint rotations.

Shared by the SMPL-based readers (AIST++, FineDance, manifest `smpl_npz`). Joint positions come
from rest-pose joints (FineDance's `smplx_neu_J_1.npy`) and rotations alone, so no licensed body
model file is needed; the body shape is therefore the neutral SMPL-X body, not the dancer's.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from smplx.lbs import batch_rigid_transform, batch_rodrigues

from dancesearch.errors import SourceError
from dancesearch.skeleton import PARENTS

REST_JOINTS_FILE = "smplx_neu_J_1.npy"
REST_JOINTS_ENV = "DANCESEARCH_REST_JOINTS"
REST_JOINTS_URL = "https://github.com/li-ronghui/FineDance"
# SMPL and SMPL-X share the first 22 joints and their tree: it is the common body's tree
SMPL_PARENTS: tuple[int, ...] = PARENTS


def rest_joints_files(search_dirs: list[Path]) -> list[Path]:
    """The rest-joints file an item would use, as a list: empty when there is none yet."""
    try:
        return [find_rest_joints(search_dirs)]
    except SourceError:
        return []


def find_rest_joints(search_dirs: list[Path], rest_joints: Path | None = None) -> Path:
    """The rest-joints file: `rest_joints`, else $DANCESEARCH_REST_JOINTS, else the first
    `smplx_neu_J_1.npy` in `search_dirs` (a reader passes its ingest root and the root's parent).

    Raises SourceError saying where to put the file when none is found.
    """
    if rest_joints is not None:
        if not rest_joints.is_file():
            raise SourceError(rest_joints, "rest-joints file given explicitly does not exist")
        return rest_joints
    from_env = os.environ.get(REST_JOINTS_ENV)
    if from_env:
        if not Path(from_env).is_file():
            raise SourceError(from_env, f"${REST_JOINTS_ENV} names a file that does not exist")
        return Path(from_env)
    for folder in search_dirs:
        candidate = folder / REST_JOINTS_FILE
        if candidate.is_file():
            return candidate
    where = " or ".join(str(d) for d in search_dirs)
    raise SourceError(
        search_dirs[0] if search_dirs else REST_JOINTS_FILE,
        f"SMPL-X rest joints {REST_JOINTS_FILE} not found: copy FineDance's {REST_JOINTS_FILE} "
        f"({REST_JOINTS_URL}, 788 bytes) into {where}, or set ${REST_JOINTS_ENV} to its path",
    )


def load_rest_joints(search_dirs: list[Path], rest_joints: Path | None = None) -> np.ndarray:
    """(22, 3) float32 rest-pose body joints, metres, Y up, found as `find_rest_joints` says."""
    path = find_rest_joints(search_dirs, rest_joints)
    try:
        joints = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise SourceError(path, f"cannot read rest joints: {e}") from None
    if joints.ndim != 2 or joints.shape[0] < 22 or joints.shape[1] != 3:
        raise SourceError(path, f"rest joints have shape {joints.shape}, expected (55, 3)")
    if not np.isfinite(joints[:22]).all():
        raise SourceError(path, "rest joints contain NaN or infinite values")
    return joints[:22].astype(np.float32)


def check_array(array: np.ndarray, shape: tuple[int | None, ...], key: str, path: Path) -> None:
    """SourceError naming `path` and `key` unless `array` has `shape` (None = any) and is finite."""
    if array.ndim != len(shape) or any(
        want is not None and got != want for got, want in zip(array.shape, shape, strict=True)
    ):
        expected = "(" + ", ".join("T" if s is None else str(s) for s in shape) + ")"
        raise SourceError(path, f"'{key}' has shape {array.shape}, expected {expected}")
    if array.size == 0:
        raise SourceError(path, f"'{key}' is empty")
    if not np.issubdtype(array.dtype, np.number):
        raise SourceError(path, f"'{key}' has dtype {array.dtype}, expected numbers")
    bad = ~np.isfinite(array)
    if bad.any():
        frames = int(bad.reshape(len(array), -1).any(axis=1).sum())
        raise SourceError(path, f"'{key}' has NaN or infinite values in {frames} frame(s)")


def axis_angle_to_matrix(axis_angle: np.ndarray) -> np.ndarray:
    """(..., 3) axis-angle vectors (radians) -> (..., 3, 3) rotation matrices (Rodrigues)."""
    flat = torch.as_tensor(np.asarray(axis_angle, dtype=np.float32).reshape(-1, 3))
    with torch.no_grad():
        mats = batch_rodrigues(flat).numpy()
    return mats.reshape(*np.shape(axis_angle)[:-1], 3, 3)


def matrix_to_rotation_6d(matrix: np.ndarray) -> np.ndarray:
    """(..., 3, 3) -> (..., 6): the first two ROWS, flattened (pytorch3d's convention)."""
    return np.asarray(matrix)[..., :2, :].reshape(*np.shape(matrix)[:-2], 6)


def rotation_6d_to_matrix(d6: np.ndarray) -> np.ndarray:
    """(..., 6) -> (..., 3, 3): Gram-Schmidt on the two rows; the third row is their cross."""
    d6 = np.asarray(d6, dtype=np.float64)
    a1, a2 = d6[..., :3], d6[..., 3:]
    b1 = a1 / np.linalg.norm(a1, axis=-1, keepdims=True)
    a2 = a2 - np.sum(b1 * a2, axis=-1, keepdims=True) * b1
    b2 = a2 / np.linalg.norm(a2, axis=-1, keepdims=True)
    b3 = np.cross(b1, b2)
    return np.stack([b1, b2, b3], axis=-2).astype(np.float32)


def forward_kinematics(
    rotations: np.ndarray, rest_joints: np.ndarray, translation: np.ndarray
) -> np.ndarray:
    """Posed joints of the 22-joint SMPL body, as SMPL/SMPL-X compute them.

    rotations: (T, 22, 3, 3) local rotation of each joint relative to its parent (joint 0 is
    the global orientation); rest_joints: (22, 3) metres; translation: (T, 3) metres, added to
    every joint (so the pelvis is at rest_joints[0] + translation, as in smplx's `transl`).
    Returns (T, 22, 3) float32 metres in the rest joints' frame.
    """
    n = rotations.shape[0]
    rot = torch.as_tensor(np.ascontiguousarray(rotations, dtype=np.float32))
    rest = torch.as_tensor(np.asarray(rest_joints, dtype=np.float32)).expand(n, 22, 3)
    parents = torch.tensor(SMPL_PARENTS, dtype=torch.long)
    with torch.no_grad():
        posed, _ = batch_rigid_transform(rot, rest.contiguous(), parents)
    return posed.numpy() + np.asarray(translation, dtype=np.float32)[:, None, :]
