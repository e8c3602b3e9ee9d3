"""Training data: the mirror augmentation is the mirror of the body, cross-validation folds keep
groups whole and test every clip once, crops stay inside their sequence."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dancesearch.dataset import ClipSet, Crop, Normaliser, cv_folds, make_batch, mirror_map
from dancesearch.features.motion import MOTION_DIM, motion_features
from dancesearch.skeleton import JOINTS
from dancesearch.sources import bandai


def mirrored_joints(joints: np.ndarray) -> np.ndarray:
    swap = [
        JOINTS.index(n.replace("left_", "\0").replace("right_", "left_").replace("\0", "right_"))
        for n in JOINTS
    ]
    return joints[:, swap] * np.array([-1.0, 1.0, 1.0])


def test_mirrored_features_are_the_features_of_the_mirrored_body(data: Path) -> None:
    seq = bandai.read(data / "bandai" / "dataset-1_dash_happy_001.bvh")[0]
    features = motion_features(seq.joints, seq.fps)
    perm, sign = mirror_map()
    expected = motion_features(mirrored_joints(seq.joints.astype(np.float64)), seq.fps)
    np.testing.assert_allclose(features[:, perm] * sign, expected, atol=1e-4)
    assert not np.allclose(features, expected, atol=1e-2)  # a walk is not its own mirror


def toy(groups: int = 20, per_group: int = 3) -> tuple[pd.DataFrame, pd.DataFrame]:
    seqs = [f"s{g}-{k}" for g in range(groups) for k in range(per_group)]
    splits = pd.DataFrame(
        {
            "seq_id": seqs,
            "group": [s.split("-")[0] for s in seqs],
            "split": ["excluded" if s == "s0-0" else "train" for s in seqs],
            "stratum": [f"genre{int(s[1:].split('-')[0]) % 3}" for s in seqs],
        }
    )
    clips = pd.DataFrame({"seq_id": [s for s in seqs for _ in range(2)]})
    return clips, splits


def test_folds_keep_groups_whole_and_test_every_clip_once() -> None:
    clips, splits = toy()
    folds = cv_folds(clips, splits, k=5, seed=0)
    tested = [s for fold in folds for s, role in fold.items() if role == "test"]
    used = splits.loc[splits["split"] != "excluded", "seq_id"]
    assert sorted(tested) == sorted(used)
    for fold in folds:
        assert fold["s0-0"] == "excluded"
        roles = pd.Series(fold).rename("role").to_frame().join(splits.set_index("seq_id"))
        roles = roles[roles["role"] != "excluded"]
        assert (roles.groupby("group")["role"].nunique() == 1).all()
        assert {"train", "val", "test"} <= set(fold.values())
    assert cv_folds(clips, splits, k=5, seed=0) == folds  # seeded


def test_crops_stay_inside_their_sequence_and_padding_is_masked() -> None:
    rng = np.random.default_rng(0)
    motion = rng.normal(size=(100, MOTION_DIM)).astype(np.float32)
    clips = pd.DataFrame(
        {
            "clip_id": ["a@0", "a@60"],
            "seq_id": ["a", "a"],
            "start_frame": [0, 60],
            "n_frames": [60, 40],
            "has_music": [False, False],
            "genre_key": ["x", "x"],
        }
    )
    data = ClipSet(clips, [["c"], ["d"]], [["template"], ["template"]], {"a": (motion, None)})
    norm = Normaliser.fit(data)
    for _ in range(50):
        b = make_batch(data, np.array([0, 1]), norm, Crop(shift_s=1.0, min_share=0.5), rng)
        assert b.music is None and not b.has_music.any()
        lengths = b.mask.sum(1).numpy()
        assert (lengths >= 20).all() and (lengths <= 60).all()
        assert (b.motion.numpy()[~b.mask.numpy()] == 0).all()
    with pytest.raises(IndexError):
        make_batch(data, np.array([2]), norm)
