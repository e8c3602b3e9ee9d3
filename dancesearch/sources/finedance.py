"""Reader for FineDance (Li et al., ICCV 2023): SMPL-X rotations at 30 FPS with their songs.

Layout under the root: `motion/NNN.npy` (T, 315), `music_wav/NNN.wav`, `label_json/NNN.json`;
the official splits (`splits.json`, see data/finedance) sit in the root or its parent.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from dancesearch.errors import SourceError
from dancesearch.skeleton import Quality, Sequence, to_common
from dancesearch.sources import load_json
from dancesearch.sources.smpl import (
    check_array,
    forward_kinematics,
    load_rest_joints,
    rest_joints_files,
    rotation_6d_to_matrix,
)

FPS = 30.0
SPLITS_FILE = "splits.json"
SPLITS = ("cross_genre", "cross_dancer")  # FineDance@Genre and FineDance@Dancer
# label_json keys, matched case-insensitively; the first present wins. FineDance's own files
# use name / style1 (coarse) / style2 (fine); the others are accepted for hand-made labels.
SONG_KEYS = ("name", "song", "music")
STYLE_KEYS = ("style1", "style")
GENRE_KEYS = ("style2", "genre")
NUMBER = re.compile(r"^\d+$")
LICENCE = "Research use as released by its authors"
CREDIT = "FineDance, Ronghui Li et al., ICCV 2023"
QUALITY: tuple[Quality, ...] = ("exact",) * 22


def _is_root(root: Path) -> bool:
    return (root / "motion").is_dir() and (root / "music_wav").is_dir()


def looks_like(root: Path) -> bool:
    if root.is_file():
        return (
            root.suffix == ".npy" and root.parent.name == "motion" and _is_root(root.parent.parent)
        )
    return _is_root(root) or (root.name == "motion" and _is_root(root.parent))


def discover(root: Path) -> list[Path]:
    """The motion/NNN.npy files of a FineDance root (or of its motion/ folder)."""
    if root.is_file() and looks_like(root):
        return [root]
    motion = root if root.name == "motion" else root / "motion"
    items = sorted(p for p in motion.glob("*.npy") if NUMBER.match(p.stem))
    if not items:
        raise SourceError(root, "no FineDance motion/NNN.npy files found")
    return items


def load_splits(root: Path) -> dict[str, Any] | None:
    """The parsed splits.json of the root or its parent, or None when there is none."""
    for folder in (root, root.parent):
        path = folder / SPLITS_FILE
        if path.is_file():
            splits = load_json(path)
            if not isinstance(splits, dict):
                raise SourceError(path, "expected an object with cross_genre / cross_dancer")
            return splits
    return None


def split_labels(number: str, splits: dict[str, Any]) -> dict[str, str]:
    """{"split_cross_genre": ..., "split_cross_dancer": ...} for sequence `number`.

    Values are train / val / test / excluded. Excluded wins over test, as in the official
    loader, which skips ignored ids even where its test list names them (120 and 130).
    "train": "all other ids" makes every unlisted id train; a train list is taken literally.
    """
    labels = {}
    for name in SPLITS:
        split = splits.get(name)
        if not isinstance(split, dict):
            continue
        for part in ("excluded", "test", "val", "train"):
            ids = split.get(part)
            if isinstance(ids, list) and number in ids:
                labels[f"split_{name}"] = part
                break
        else:
            if isinstance(split.get("train"), str):  # "all other ids"
                labels[f"split_{name}"] = "train"
    return labels


def _labels_json(path: Path) -> dict[str, str]:
    """song / style / genre from label_json/NNN.json; empty when the file is absent."""
    if not path.is_file():
        return {}
    raw = load_json(path)
    if not isinstance(raw, dict):
        raise SourceError(path, "expected an object with name / style1 / style2")
    lower = {str(k).lower(): str(v).strip() for k, v in raw.items() if v not in (None, "")}
    found = {}
    for label, keys in (("song", SONG_KEYS), ("style", STYLE_KEYS), ("genre", GENRE_KEYS)):
        value = next((lower[k] for k in keys if k in lower), None)
        if value:
            found[label] = value
    return found


def item_files(item: Path) -> list[Path]:
    """The files a motion's result depends on: it, its song and labels, splits, rest joints."""
    root = item.parent.parent
    sidecars = [
        root / "music_wav" / f"{item.stem}.wav",
        root / "label_json" / f"{item.stem}.json",
        root / SPLITS_FILE,
        root.parent / SPLITS_FILE,
    ]
    rest = rest_joints_files([item.parent, root, root.parent])
    return [item] + [p for p in sidecars if p.is_file()] + rest


def read(item: Path, rest_joints: Path | None = None) -> list[Sequence]:
    """One Sequence per motion/NNN.npy, with its song, labels and official split memberships.

    rest_joints: explicit `smplx_neu_J_1.npy`; by default it is looked up as
    `smpl.find_rest_joints` says, in motion/, the root and the root's parent.
    """
    root = item.parent.parent
    try:
        data = np.load(item, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise SourceError(item, f"cannot read FineDance motion: {e}") from None
    check_array(data, (None, 315), "motion", item)
    music = root / "music_wav" / f"{item.stem}.wav"
    if not music.is_file():
        raise SourceError(item, f"music file {music} is missing (FineDance's music_wav/)")
    rest = load_rest_joints([item.parent, root, root.parent], rest_joints)
    # 52 joints x 6-D; only the first 22 (pelvis + 21 body joints) move the common body
    rotations = rotation_6d_to_matrix(data[:, 3:].reshape(len(data), 52, 6)[:, :22])
    joints = forward_kinematics(rotations, rest, data[:, :3])
    info = _labels_json(root / "label_json" / f"{item.stem}.json")
    labels = {"category": "dance"}
    labels.update({k: v for k, v in info.items() if k != "genre"})
    splits = load_splits(root)
    if splits is not None:
        labels.update(split_labels(item.stem.zfill(3), splits))
    seq = Sequence(
        seq_id=f"finedance/{item.stem}",
        source="finedance",
        path=item,
        joints=joints,
        fps=FPS,
        joint_quality=QUALITY,
        music_path=music,
        music_offset=0.0,
        genre=info.get("genre"),
        performer=None,  # FineDance's files do not say which of its 27 dancers performed
        labels=labels,
        licence=LICENCE,
        credit=CREDIT,
    )
    return [to_common(seq)]
