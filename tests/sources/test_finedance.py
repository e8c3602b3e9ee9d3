"""FineDance reader: 6-D rotations, labels, official splits, and bad inputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from dancesearch.errors import SourceError
from dancesearch.sources import finedance, smpl
from tests.fixtures.shared_data import DATA as SHARED
from tests.fixtures.smpl_fixtures import REST_JOINTS, write_finedance


@pytest.fixture(autouse=True)
def _no_rest_joints_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(smpl.REST_JOINTS_ENV, raising=False)


def test_6d_is_the_first_two_rows_and_round_trips() -> None:
    mats = Rotation.random(100, random_state=0).as_matrix()
    d6 = smpl.matrix_to_rotation_6d(mats)
    np.testing.assert_array_equal(d6[:, :3], mats[:, 0, :])
    np.testing.assert_array_equal(d6[:, 3:], mats[:, 1, :])
    np.testing.assert_allclose(smpl.rotation_6d_to_matrix(d6), mats, atol=1e-6)


def test_6d_gram_schmidt_makes_a_rotation_from_noisy_rows() -> None:
    rng = np.random.default_rng(0)
    d6 = smpl.matrix_to_rotation_6d(Rotation.random(50, random_state=1).as_matrix())
    mats = smpl.rotation_6d_to_matrix(d6 * 1.3 + rng.normal(scale=0.05, size=d6.shape))
    np.testing.assert_allclose(
        mats @ mats.transpose(0, 2, 1), np.broadcast_to(np.eye(3), mats.shape), atol=1e-5
    )
    np.testing.assert_allclose(np.linalg.det(mats), 1.0, atol=1e-5)


def test_read_poses_the_body_from_6d(tmp_path: Path) -> None:
    written = write_finedance(tmp_path, numbers=("001",), frames=90)[0]
    assert finedance.looks_like(tmp_path)
    assert finedance.discover(tmp_path) == [written.path]
    (seq,) = finedance.read(written.path)
    assert seq.fps == 30.0 and seq.n_frames == 90
    rotations = Rotation.from_rotvec(written.axis_angle[:, :22].reshape(-1, 3)).as_matrix()
    expected = smpl.forward_kinematics(rotations.reshape(90, 22, 3, 3), REST_JOINTS, written.trans)
    np.testing.assert_allclose(seq.joints[:, :, [0, 2]], expected[:, :, [0, 2]], atol=1e-5)
    assert np.ptp(seq.joints[..., 1] - expected[..., 1]) < 1e-5  # only the floor shift differs


def test_read_labels_music_and_splits(tmp_path: Path) -> None:
    first, second = write_finedance(tmp_path, numbers=("001", "117"), frames=30)
    (seq,) = finedance.read(first.path)
    assert seq.seq_id == "finedance/001" and seq.source == "finedance"
    assert seq.music_path == tmp_path / "music_wav" / "001.wav" and seq.music_offset == 0.0
    assert seq.genre == "Popping"
    assert seq.labels == {
        "category": "dance",
        "song": "Song One",
        "style": "Street",
        "split_cross_genre": "test",
        "split_cross_dancer": "train",
    }
    assert seq.licence == "Research use as released by its authors"
    assert seq.credit == "FineDance, Ronghui Li et al., ICCV 2023"
    (other,) = finedance.read(second.path)  # label keys in other spellings
    assert other.genre == "Dai" and other.labels["style"] == "Folk"
    assert other.labels["split_cross_genre"] == "excluded"
    assert other.labels["split_cross_dancer"] == "val"


def test_without_splits_or_labels(tmp_path: Path) -> None:
    written = write_finedance(tmp_path, numbers=("005",), frames=30)[0]
    (tmp_path / "splits.json").unlink()
    (tmp_path / "label_json" / "005.json").unlink()
    (seq,) = finedance.read(written.path)
    assert seq.genre is None and seq.labels == {"category": "dance"}


def test_real_official_splits() -> None:
    splits = finedance.load_splits(SHARED / "finedance")
    if splits is None:
        pytest.skip(f"shared data absent: {SHARED / 'finedance' / 'splits.json'}")
    label = finedance.split_labels
    assert label("063", splits) == {"split_cross_genre": "test", "split_cross_dancer": "train"}
    # 120 and 130 are listed as test and as excluded: the official loader skips them
    assert label("120", splits)["split_cross_genre"] == "excluded"
    assert label("130", splits) == {
        "split_cross_genre": "excluded",
        "split_cross_dancer": "excluded",
    }
    assert label("115", splits) == {"split_cross_genre": "train", "split_cross_dancer": "val"}
    assert label("001", splits) == {"split_cross_genre": "train", "split_cross_dancer": "test"}


def test_wrong_width(tmp_path: Path) -> None:
    written = write_finedance(tmp_path, numbers=("001",), frames=30)[0]
    np.save(written.path, np.zeros((30, 300), dtype=np.float32))
    with pytest.raises(SourceError, match=r"001\.npy.*\(30, 300\).*\(T, 315\)"):
        finedance.read(written.path)


def test_nan_frames(tmp_path: Path) -> None:
    written = write_finedance(tmp_path, numbers=("001",), frames=30)[0]
    motion = np.load(written.path)
    motion[3, 10] = np.nan
    np.save(written.path, motion)
    with pytest.raises(SourceError, match=r"001\.npy.*1 frame"):
        finedance.read(written.path)


def test_missing_music(tmp_path: Path) -> None:
    written = write_finedance(tmp_path, numbers=("001",), frames=30)[0]
    (tmp_path / "music_wav" / "001.wav").unlink()
    with pytest.raises(SourceError, match=r"001\.npy.*001\.wav"):
        finedance.read(written.path)


def test_missing_rest_joints(tmp_path: Path) -> None:
    written = write_finedance(tmp_path / "fd", numbers=("001",), frames=30, rest=False)[0]
    with pytest.raises(SourceError, match=smpl.REST_JOINTS_FILE):
        finedance.read(written.path)


def test_bad_label_json(tmp_path: Path) -> None:
    written = write_finedance(tmp_path, numbers=("001",), frames=30)[0]
    (tmp_path / "label_json" / "001.json").write_text("{not json")
    with pytest.raises(SourceError, match=r"001\.json"):
        finedance.read(written.path)
