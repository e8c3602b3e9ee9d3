"""G1 Moves reader: the README's link mapping, Z up -> Y up, labels.csv, real clips."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dancesearch.errors import SourceError
from dancesearch.skeleton import JOINTS, J
from dancesearch.sources import g1
from tests.fixtures.shared_data import DATA as SHARED

G1 = SHARED / "g1"
needs_g1 = pytest.mark.skipif(not (G1 / "labels.csv").is_file(), reason=f"shared data absent: {G1}")

# the 30 link names in body_names order (the file format, from the data README)
NAMES = [
    "pelvis", "left_hip_pitch_link", "left_hip_roll_link", "left_hip_yaw_link",
    "left_knee_link", "left_ankle_pitch_link", "left_ankle_roll_link", "right_hip_pitch_link",
    "right_hip_roll_link", "right_hip_yaw_link", "right_knee_link", "right_ankle_pitch_link",
    "right_ankle_roll_link", "waist_yaw_link", "waist_roll_link", "torso_link",
    "left_shoulder_pitch_link", "left_shoulder_roll_link", "left_shoulder_yaw_link",
    "left_elbow_link", "left_wrist_roll_link", "left_wrist_pitch_link", "left_wrist_yaw_link",
    "right_shoulder_pitch_link", "right_shoulder_roll_link", "right_shoulder_yaw_link",
    "right_elbow_link", "right_wrist_roll_link", "right_wrist_pitch_link", "right_wrist_yaw_link",
]  # fmt: skip


def test_mapping_follows_the_readme_table() -> None:
    rng = np.random.default_rng(0)
    body, toe = rng.normal(size=(4, 30, 3)), rng.normal(size=(4, 2, 3))
    joints, quality = g1.to_smpl22(body, NAMES, toe)
    p = {n: body[:, i] for i, n in enumerate(NAMES)}
    t = p["torso_link"]
    m = 0.5 * (p["left_shoulder_pitch_link"] + p["right_shoulder_pitch_link"])
    np.testing.assert_allclose(joints[:, J["head"]], t + 1.35 * (m - t))
    np.testing.assert_allclose(joints[:, J["spine2"]], t + 0.45 * (m - t))
    np.testing.assert_allclose(
        joints[:, J["left_collar"]], m + 0.6 * (p["left_shoulder_pitch_link"] - m)
    )
    np.testing.assert_allclose(
        joints[:, J["right_foot"]],
        p["right_ankle_roll_link"] + 0.7 * (toe[:, 1] - p["right_ankle_roll_link"]),
    )
    np.testing.assert_allclose(
        joints[:, J["left_wrist"]], 0.5 * (p["left_wrist_pitch_link"] + p["left_wrist_yaw_link"])
    )
    np.testing.assert_allclose(joints[:, J["left_shoulder"]], p["left_shoulder_roll_link"])
    exact = {
        "pelvis",
        "left_knee",
        "right_knee",
        "left_ankle",
        "right_ankle",
        "left_elbow",
        "right_elbow",
    }
    approximate = {"left_hip", "right_hip", "left_shoulder", "right_shoulder"}
    for name, q in zip(JOINTS, quality, strict=True):
        want = (
            "exact" if name in exact else "approximate" if name in approximate else "interpolated"
        )
        assert q == want, name


def _fake_clip(path: Path, body: np.ndarray) -> Path:
    toe = np.zeros((len(body), 2, 3), dtype=np.float16)
    np.savez(path, body_pos_w=body, body_names=np.array(NAMES), toe_pos_w=toe)
    return path


def test_wrong_shape_names_file_and_key(tmp_path: Path) -> None:
    clip = _fake_clip(tmp_path / "Bad.npz", np.zeros((10, 29, 3), dtype=np.float16))
    with pytest.raises(SourceError, match=r"Bad\.npz.*body_pos_w.*\(10, 29, 3\)"):
        g1.read(clip)


def test_missing_key_names_file_and_key(tmp_path: Path) -> None:
    clip = tmp_path / "NoToe.npz"
    np.savez(clip, body_pos_w=np.zeros((10, 30, 3), dtype=np.float16), body_names=np.array(NAMES))
    with pytest.raises(SourceError, match=r"NoToe\.npz.*toe_pos_w"):
        g1.read(clip)


def test_nan_frames(tmp_path: Path) -> None:
    body = np.zeros((10, 30, 3), dtype=np.float16)
    body[4, 0, 2] = np.nan
    clip = _fake_clip(tmp_path / "Nan.npz", body)
    with pytest.raises(SourceError, match=r"Nan\.npz.*1 frame"):
        g1.read(clip)


@needs_g1
def test_discovers_all_39_clips() -> None:
    assert g1.looks_like(G1)
    clips = g1.discover(G1)
    assert len(clips) == 39
    assert clips[0].name == "B_DadDance.npz"


@needs_g1
def test_real_dance_clip_is_an_upright_robot_at_30_fps() -> None:
    (seq,) = g1.read(G1 / "J_Dance2_Salsa.npz")
    assert seq.seq_id == "g1/J_Dance2_Salsa" and seq.source == "g1"
    assert seq.fps == 30.0 and seq.n_frames == 1075  # 2150 frames at 60 fps
    height = seq.joints[..., 1]  # Y up after the conversion
    head_above_pelvis = np.median(height[:, J["head"]] - height[:, J["pelvis"]])
    assert 0.3 < head_above_pelvis < 0.5  # the G1 is about 1.3 m tall
    assert 0.7 < height[:, J["pelvis"]].mean() < 0.85
    assert height[:, J["left_foot"]].mean() < 0.1
    assert seq.genre is None and seq.music_path is None
    assert seq.labels == {"category": "dance", "style": "Salsa", "title": "J_Dance2_Salsa"}
    assert seq.performer == "Jasmine Coro"
    assert seq.licence == "CC BY 4.0" and seq.credit.startswith(
        'Motion: "G1 Moves" by Mitch Chaiet'
    )


@needs_g1
def test_real_karate_clip_labels() -> None:
    (seq,) = g1.read(G1 / "M_ShortMove14.npz")
    assert seq.n_frames == 196  # 392 frames at 60 fps
    assert seq.labels == {"category": "karate", "style": "Light Punch", "title": "M_ShortMove14"}
    assert seq.performer == "Mike Gassaway"
