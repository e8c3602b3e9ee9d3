"""AIST++ reader, and the shared SMPL forward kinematics it is built on (sources.smpl)."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from dancesearch.errors import SourceError
from dancesearch.skeleton import J, bone_lengths
from dancesearch.sources import aistpp, smpl
from tests.fixtures.shared_data import DATA as SHARED
from tests.fixtures.smpl_fixtures import REST_JOINTS, write_aistpp, write_rest_joints


@pytest.fixture(autouse=True)
def _no_rest_joints_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(smpl.REST_JOINTS_ENV, raising=False)


def _rewrite(path: Path, **changes: Any) -> None:
    """Change (value) or drop (None) keys of an AIST++ pickle in place."""
    data = pickle.loads(path.read_bytes())
    for key, value in changes.items():
        if value is None:
            del data[key]
        else:
            data[key] = value
    path.write_bytes(pickle.dumps(data))


# ------------------------------------------------------------------ forward kinematics


def test_zero_rotations_give_rest_joints_plus_translation() -> None:
    trans = np.array([[0.0, 0.0, 0.0], [1.0, 2.0, 3.0]], dtype=np.float32)
    rotations = smpl.axis_angle_to_matrix(np.zeros((2, 22, 3)))
    posed = smpl.forward_kinematics(rotations, REST_JOINTS, trans)
    np.testing.assert_allclose(posed, REST_JOINTS[None] + trans[:, None], atol=1e-6)


def test_quarter_turn_of_left_elbow_moves_only_the_wrist() -> None:
    axis_angle = np.zeros((1, 22, 3))
    axis_angle[0, J["left_elbow"]] = (0.0, np.pi / 2, 0.0)  # +90 degrees about +Y
    posed = smpl.forward_kinematics(
        smpl.axis_angle_to_matrix(axis_angle), REST_JOINTS, np.zeros((1, 3))
    )
    # forearm (0.26, 0, 0) from the elbow at (0.44, 0.45, 0); R_y(90) takes +X to -Z
    np.testing.assert_allclose(posed[0, J["left_wrist"]], (0.44, 0.45, -0.26), atol=1e-6)
    others = [j for j in range(22) if j != J["left_wrist"]]
    np.testing.assert_allclose(posed[0, others], REST_JOINTS[others], atol=1e-6)


def test_bone_lengths_constant_under_random_rotations() -> None:
    rotations = Rotation.random(10 * 22, random_state=0).as_matrix().reshape(10, 22, 3, 3)
    trans = np.random.default_rng(0).normal(size=(10, 3))
    posed = smpl.forward_kinematics(rotations, REST_JOINTS, trans)
    rest = bone_lengths(REST_JOINTS[None])
    np.testing.assert_allclose(bone_lengths(posed), np.repeat(rest, 10, axis=0), atol=1e-5)


def test_axis_angle_to_matrix_matches_scipy() -> None:
    axis_angle = np.random.default_rng(1).normal(size=(4, 5, 3))
    expected = Rotation.from_rotvec(axis_angle.reshape(-1, 3)).as_matrix().reshape(4, 5, 3, 3)
    np.testing.assert_allclose(smpl.axis_angle_to_matrix(axis_angle), expected, atol=1e-5)


def test_rest_joints_lookup_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    explicit = write_rest_joints(tmp_path / "explicit")
    from_env = write_rest_joints(tmp_path / "env")
    beside = write_rest_joints(tmp_path / "root")
    search = [tmp_path / "nowhere", tmp_path / "root"]
    monkeypatch.setenv(smpl.REST_JOINTS_ENV, str(from_env))
    assert smpl.find_rest_joints(search, explicit) == explicit
    assert smpl.find_rest_joints(search) == from_env
    monkeypatch.delenv(smpl.REST_JOINTS_ENV)
    assert smpl.find_rest_joints(search) == beside
    np.testing.assert_allclose(smpl.load_rest_joints(search), REST_JOINTS)


def test_real_rest_joints_are_an_upright_body() -> None:
    folder = SHARED / "finedance"
    if not (folder / smpl.REST_JOINTS_FILE).is_file():
        pytest.skip(f"shared data absent: {folder / smpl.REST_JOINTS_FILE}")
    rest = smpl.load_rest_joints([folder])
    assert rest.shape == (22, 3)
    assert 0.5 < rest[J["head"], 1] - rest[J["pelvis"], 1] < 0.7
    assert rest[J["left_hip"], 0] > 0 > rest[J["right_hip"], 0]  # SMPL's left is +X


def test_missing_rest_joints_says_where_to_put_them(tmp_path: Path) -> None:
    written = write_aistpp(tmp_path, rest=False)
    with pytest.raises(SourceError, match=smpl.REST_JOINTS_FILE) as info:
        aistpp.read(written.path)
    assert smpl.REST_JOINTS_ENV in str(info.value)
    assert str(tmp_path) in str(info.value)


# ------------------------------------------------------------------------ AIST++ reader


def test_read_scales_translation_and_halves_frame_rate(tmp_path: Path) -> None:
    written = write_aistpp(tmp_path, frames=120, scaling=95.0)
    assert aistpp.looks_like(tmp_path)
    assert aistpp.discover(tmp_path) == [written.path]
    (seq,) = aistpp.read(written.path)
    assert seq.fps == 30.0 and seq.n_frames == 60
    # 60 -> 30 FPS keeps every other frame; the pelvis is rest pelvis + smpl_trans / scaling
    pelvis = REST_JOINTS[0] + written.trans[::2]
    np.testing.assert_allclose(seq.joints[:, 0, [0, 2]], pelvis[:, [0, 2]], atol=1e-5)
    assert np.ptp(seq.joints[:, 0, 1] - pelvis[:, 1]) < 1e-5  # only the floor shift differs


def test_read_poses_the_whole_body(tmp_path: Path) -> None:
    written = write_aistpp(tmp_path, frames=60)
    (seq,) = aistpp.read(written.path)
    rotations = Rotation.from_rotvec(written.axis_angle[:, :22].reshape(-1, 3)).as_matrix()
    expected = smpl.forward_kinematics(rotations.reshape(-1, 22, 3, 3), REST_JOINTS, written.trans)
    expected = expected[::2] - expected[::2, :1]
    np.testing.assert_allclose(seq.joints - seq.joints[:, :1], expected, atol=1e-5)


def test_read_parses_name_music_and_credits(tmp_path: Path) -> None:
    written = write_aistpp(tmp_path, name="gJB_sFM_cAll_d09_mJB3_ch12")
    (seq,) = aistpp.read(written.path)
    assert seq.seq_id == "aistpp/gJB_sFM_cAll_d09_mJB3_ch12"
    assert seq.source == "aistpp"
    assert seq.genre == "ballet jazz"
    assert seq.performer == "AIST++ dancer d09"
    assert seq.music_path == tmp_path / "wavs" / "mJB3.wav"
    assert seq.music_offset == 0.0
    assert seq.group == "aistpp/gJB_sFM_cAll_d09_mJB3_ch12"
    assert seq.labels == {
        "category": "dance",
        "situation": "advanced",
        "music_id": "mJB3",
        "choreography": "ch12",
    }
    assert seq.joint_quality == ("exact",) * 22
    assert seq.licence.startswith("AIST++: CC BY 4.0") and "Tsuchida" in seq.credit


@pytest.mark.parametrize(
    ("code", "genre"), [("BR", "break"), ("LH", "LA hip-hop"), ("WA", "waack")]
)
def test_genre_codes(tmp_path: Path, code: str, genre: str) -> None:
    written = write_aistpp(tmp_path, name=f"g{code}_sBM_cAll_d01_m{code}1_ch02", frames=20)
    assert aistpp.read(written.path)[0].genre == genre


def test_motions_folder_as_root_and_ignore_list(tmp_path: Path) -> None:
    kept = write_aistpp(tmp_path, name="gPO_sBM_cAll_d10_mPO1_ch01", frames=20)
    write_aistpp(tmp_path, name="gPO_sBM_cAll_d10_mPO1_ch02", frames=20)
    (tmp_path / "ignore_list.txt").write_text("gPO_sBM_cAll_d10_mPO1_ch02\n")
    assert aistpp.looks_like(tmp_path / "motions")
    assert aistpp.discover(tmp_path / "motions") == [kept.path]
    assert aistpp.discover(tmp_path) == [kept.path]


def test_missing_music_file(tmp_path: Path) -> None:
    written = write_aistpp(tmp_path, music=False)
    with pytest.raises(SourceError, match="mBR0.wav") as info:
        aistpp.read(written.path)
    assert written.path.name in str(info.value)


def test_missing_key(tmp_path: Path) -> None:
    written = write_aistpp(tmp_path)
    _rewrite(written.path, smpl_trans=None)
    with pytest.raises(SourceError, match="smpl_trans") as info:
        aistpp.read(written.path)
    assert written.path.name in str(info.value)


def test_wrong_pose_shape(tmp_path: Path) -> None:
    written = write_aistpp(tmp_path)
    _rewrite(written.path, smpl_poses=np.zeros((120, 69)))
    with pytest.raises(SourceError, match=r"smpl_poses.*\(120, 69\)") as info:
        aistpp.read(written.path)
    assert written.path.name in str(info.value)


def test_nan_frames(tmp_path: Path) -> None:
    written = write_aistpp(tmp_path)
    poses = written.axis_angle.reshape(120, 72).astype(np.float64)
    poses[[5, 6]] = np.nan
    _rewrite(written.path, smpl_poses=poses)
    with pytest.raises(SourceError, match="2 frame") as info:
        aistpp.read(written.path)
    assert written.path.name in str(info.value)
