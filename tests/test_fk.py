"""Forward kinematics with a parent and its child both rotated, against positions worked out
by hand: a child's rotation acts in its parent's rotated frame (world = R_parent @ R_child).

Both implementations are checked: the SMPL one (AIST++, FineDance, manifest npz) and the BVH
one. Rotations are right-handed: Rz(90) takes +X to +Y, Ry(90) takes +Z to +X and +X to -Z,
Rx(90) takes +Y to +Z and -Z to +Y.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dancesearch.skeleton import J
from dancesearch.sources import bvh, smpl
from tests.fixtures import bvh_fixtures as fx
from tests.fixtures.smpl_fixtures import REST_JOINTS

QUARTER = np.pi / 2
X, Y, Z = np.eye(3) * QUARTER  # axis-angle of a quarter turn about each axis


@pytest.mark.parametrize(
    ("shoulder", "elbow", "elbow_at", "wrist_at"),
    [
        # the upper arm (0.26 m along +X from the shoulder at (0.18, 0.45, 0)) turns up; the
        # forearm (0.26 m along +X) turns a further quarter: it points back along -X
        (Z, Z, (0.18, 0.71, 0.0), (-0.08, 0.71, 0.0)),
        # the upper arm twists about itself (the elbow stays); the forearm, bent towards -Z in
        # the upper arm's frame, points up in the world
        (X, Y, (0.44, 0.45, 0.0), (0.44, 0.71, 0.0)),
        # the upper arm swings back to -Z; the forearm, bent to +Y in its frame, stays up
        (Y, Z, (0.18, 0.45, -0.26), (0.18, 0.71, -0.26)),
    ],
)
def test_smpl_parent_and_child_rotated_together(shoulder, elbow, elbow_at, wrist_at) -> None:
    axis_angle = np.zeros((1, 22, 3))
    axis_angle[0, J["left_shoulder"]] = shoulder
    axis_angle[0, J["left_elbow"]] = elbow
    posed = smpl.forward_kinematics(
        smpl.axis_angle_to_matrix(axis_angle), REST_JOINTS, np.zeros((1, 3))
    )[0]
    np.testing.assert_allclose(posed[J["left_shoulder"]], REST_JOINTS[J["left_shoulder"]])
    np.testing.assert_allclose(posed[J["left_elbow"]], elbow_at, atol=1e-6)
    np.testing.assert_allclose(posed[J["left_wrist"]], wrist_at, atol=1e-6)
    right = [J["right_shoulder"], J["right_elbow"], J["right_wrist"]]
    np.testing.assert_allclose(posed[right], REST_JOINTS[right], atol=1e-6)  # untouched


def test_bvh_parent_and_child_rotated_together(tmp_path: Path) -> None:
    # fx.chain: root at 0 -> a at (0, 1, 0) -> b at +X of a -> end site at +Z of b
    root = fx.chain(fx.ZYX)
    motion = np.zeros((1, fx.n_channels(root)))
    motion[0, fx.columns(root)["a"]] = [90.0, 0.0, 0.0]  # a: Zrotation 90
    motion[0, fx.columns(root)["b"]] = [0.0, 90.0, 0.0]  # b: Yrotation 90
    world = bvh.forward_kinematics(bvh.parse(fx.write_bvh(tmp_path / "ab.bvh", root, motion)))
    # b = a + Rz(90) X = (0, 2, 0); end = b + Rz(90) Ry(90) Z = b + Rz(90) X = (0, 3, 0)
    np.testing.assert_allclose(world[0], [[0, 0, 0], [0, 1, 0], [0, 2, 0], [0, 3, 0]], atol=1e-9)
