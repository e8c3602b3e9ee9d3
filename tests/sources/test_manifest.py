"""Manifest reader: a user's library in CSV or JSON, one item per row, errors per row."""

from __future__ import annotations

import csv
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from dancesearch.errors import SourceError
from dancesearch.skeleton import z_up_to_y_up
from dancesearch.sources import manifest, smpl
from tests.fixtures.shared_data import DATA as SHARED
from tests.fixtures.smpl_fixtures import REST_JOINTS, smooth_motion, write_rest_joints, write_wav


@pytest.fixture(autouse=True)
def _no_rest_joints_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(smpl.REST_JOINTS_ENV, raising=False)


def _relative(joints: np.ndarray) -> np.ndarray:
    """Joints relative to the pelvis: unchanged by the floor shift of to_common."""
    return joints - joints[:, :1]


def write_joints_npy(path: Path, frames: int = 60) -> np.ndarray:
    """A walking rest body, (T, 22, 3) metres Y up, saved Z up in centimetres; returns it."""
    walk = np.stack([np.linspace(0, 0.5, frames), np.full(frames, 0.95), np.zeros(frames)], 1)
    joints = (REST_JOINTS[None] + walk[:, None]).astype(np.float32)
    z_up_cm = np.stack([joints[..., 0], -joints[..., 2], joints[..., 1]], axis=-1) * 100
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, z_up_cm)
    return joints


def write_amass_npz(path: Path, frames: int = 60) -> np.ndarray:
    """AMASS-style npz, Z up (root turned +90 degrees about X), 60 fps; returns Y-up joints."""
    axis_angle, trans = smooth_motion(frames, 52, 60.0, seed=3)
    axis_angle[:, 0] = (np.pi / 2, 0.0, 0.0)  # the body's +Y becomes the world's +Z
    np.savez(
        path,
        poses=axis_angle.reshape(frames, 156),
        trans=trans,
        mocap_framerate=np.array(60.0),
        betas=np.zeros(16),
        gender=np.array("neutral"),
    )
    rotations = Rotation.from_rotvec(axis_angle[:, :22].reshape(-1, 3)).as_matrix()
    posed = smpl.forward_kinematics(rotations.reshape(frames, 22, 3, 3), REST_JOINTS, trans)
    return z_up_to_y_up(posed)


def write_csv(path: Path, rows: list[dict[str, Any]]) -> Path:
    columns = list(dict.fromkeys(k for row in rows for k in row))
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.fixture
def library(tmp_path: Path) -> dict[str, Any]:
    """A folder with a joints npy, an AMASS npz, a song and the rest joints."""
    write_rest_joints(tmp_path)
    write_wav(tmp_path / "song.wav", 3.0)
    return {
        "root": tmp_path,
        "solo": write_joints_npy(tmp_path / "takes" / "solo.npy"),
        "amass": write_amass_npz(tmp_path / "amass_take.npz"),
    }


SOLO_ROW = {
    "motion": "takes/solo.npy",
    "fps": "60",
    "up": "z",
    "units": "cm",
    "music": "song.wav",
    "music_offset": "1.5",
    "genre": "waltz",
    "performer": "Ann",
    "captions": "a slow waltz|wide turns",
    "tags": "slow|turns",
    "licence": "CC BY 4.0",
    "credit": "Ann Example",
}


def test_csv_manifest_with_joints_and_smpl_rows(library: dict[str, Any]) -> None:
    root = library["root"]
    lib = write_csv(root / "lib.csv", [SOLO_ROW, {"motion": "amass_take.npz", "up": "z"}])
    assert manifest.looks_like(lib)
    items = manifest.discover(lib)
    assert items == [Path(f"{lib}#1"), Path(f"{lib}#2")]
    (solo,) = manifest.read(items[0])
    assert solo.seq_id == "manifest/solo" and solo.source == "manifest"
    assert solo.fps == 30.0 and solo.n_frames == 30
    np.testing.assert_allclose(_relative(solo.joints), _relative(library["solo"][::2]), atol=1e-5)
    assert solo.music_path == root / "song.wav" and solo.music_offset == 1.5
    assert (solo.genre, solo.performer) == ("waltz", "Ann")
    assert solo.descriptions == ["a slow waltz", "wide turns"]
    assert solo.labels == {"format": "joints_npy", "tags": "slow|turns"}
    assert (solo.licence, solo.credit, solo.group) == ("CC BY 4.0", "Ann Example", "manifest/solo")
    (amass,) = manifest.read(items[1])
    assert amass.seq_id == "manifest/amass_take" and amass.n_frames == 30
    np.testing.assert_allclose(_relative(amass.joints), _relative(library["amass"][::2]), atol=1e-5)
    assert amass.music_path is None and amass.labels == {"format": "smpl_npz"}


def test_json_manifest_and_folder_root(library: dict[str, Any]) -> None:
    root = library["root"]
    rows = [
        {**SOLO_ROW, "captions": ["a slow waltz", "wide turns"], "fps": 60, "music_offset": 0},
        {"motion": "amass_take.npz", "format": "smpl_npz", "up": "z", "fps": 120, "group": "g"},
    ]
    (root / "manifest.json").write_text(json.dumps(rows))
    assert manifest.looks_like(root)
    assert manifest.discover(root) == [Path(f"{root / 'manifest.json'}#{n}") for n in (1, 2)]
    solo, amass = manifest.read(root / "manifest.json")
    assert solo.descriptions == ["a slow waltz", "wide turns"]
    assert amass.n_frames == 15 and amass.group == "g"  # fps 120 beats mocap_framerate 60


BAD_ROWS = [
    ({"motion": "nope.npy", "fps": "30"}, r"motion file .*nope\.npy does not exist"),
    ({"motion": "takes/solo.npy"}, "fps is required for joints_npy"),
    ({**SOLO_ROW, "up": "x"}, "up 'x' unknown"),
    ({**SOLO_ROW, "units": "inch"}, "units 'inch' unknown"),
    ({**SOLO_ROW, "fps": "fast"}, "fps 'fast' is not a number"),
    ({**SOLO_ROW, "format": "fbx"}, "format 'fbx' unknown"),
    ({**SOLO_ROW, "genere": "waltz"}, "unknown column.*genere"),
    ({**SOLO_ROW, "music": "missing.wav"}, r"music file .*missing\.wav does not exist"),
    ({"motion": "amass_take.npz", "units": "cm"}, "units applies to joints_npy only"),
    ({"motion": "bad_shape.npy", "fps": "30"}, r"bad_shape\.npy: 'joints' has shape \(5, 21, 3\)"),
    ({"motion": "nan.npy", "fps": "30", "up": "z", "units": "cm"}, r"nan\.npy: .*1 frame"),
    ({"motion": "no_trans.npz", "fps": "30"}, r"no_trans\.npz: missing key 'trans'"),
]


@pytest.mark.parametrize(("row", "problem"), BAD_ROWS)
def test_bad_row_names_manifest_row_and_problem(
    library: dict[str, Any], row: dict[str, str], problem: str
) -> None:
    root = library["root"]
    np.save(root / "bad_shape.npy", np.zeros((5, 21, 3)))
    nan = np.load(root / "takes" / "solo.npy")
    nan[7, 3, 0] = np.nan
    np.save(root / "nan.npy", nan)
    np.savez(root / "no_trans.npz", poses=np.zeros((5, 156)))
    lib = write_csv(root / "lib.csv", [row])
    with pytest.raises(SourceError, match=rf"lib\.csv: row 1: .*{problem}"):
        manifest.read(Path(f"{lib}#1"))


def test_missing_rest_joints_for_smpl_row(tmp_path: Path) -> None:
    write_amass_npz(tmp_path / "take.npz")
    lib = write_csv(tmp_path / "lib.csv", [{"motion": "take.npz", "up": "z"}])
    with pytest.raises(SourceError, match=rf"lib\.csv: row 1: .*{smpl.REST_JOINTS_FILE}"):
        manifest.read(Path(f"{lib}#1"))


def test_whole_manifest_keeps_good_rows_and_logs_bad_ones(
    library: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    root = library["root"]
    lib = write_csv(root / "lib.csv", [{"motion": "nope.npy", "fps": "30"}, SOLO_ROW])
    with caplog.at_level(logging.WARNING):
        (seq,) = manifest.read(lib)
    assert seq.seq_id == "manifest/solo"
    assert "row 1" in caplog.text and "nope.npy" in caplog.text


def test_duplicate_file_stems(library: dict[str, Any]) -> None:
    root = library["root"]
    write_joints_npy(root / "other" / "solo.npy")
    lib = write_csv(root / "lib.csv", [SOLO_ROW, {**SOLO_ROW, "motion": "other/solo.npy"}])
    with pytest.raises(SourceError, match="row 2: .*'solo' is used by row 1"):
        manifest.read(Path(f"{lib}#2"))


def test_bvh_row(tmp_path: Path) -> None:
    bvh_file = SHARED / "bandai" / "dataset-1_dash_normal_001.bvh"
    if not bvh_file.is_file():
        pytest.skip(f"shared data absent: {bvh_file}")
    lib = write_csv(tmp_path / "lib.csv", [{"motion": str(bvh_file), "genre": "none"}])
    (seq,) = manifest.read(Path(f"{lib}#1"))
    assert seq.seq_id == "manifest/dataset-1_dash_normal_001" and seq.fps == 30.0
    assert seq.labels == {"format": "bvh", "rig": "bandai"}
