"""Reader for Tang et al.'s "Dance with Melody" ballroom data (m2d): one folder per dance.

`DANCE_<G>_<N>/skeletons.json` (23 points, centimetres, Y up, 25 FPS, relative to `center`),
`config.json` (song frame of motion frame 0, at 25 FPS) and `audio.mp3` (the whole song).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from dancesearch.errors import SourceError
from dancesearch.skeleton import Quality, Sequence, to_common
from dancesearch.sources import load_json

NAME = re.compile(r"^DANCE_([A-Z])_(\d+)$")
GENRES = {"C": "cha-cha", "R": "rumba", "T": "tango", "W": "waltz"}
FPS = 25.0
LICENCE = "Research use only; the source repository has no licence file"
CREDIT = (
    "Music and motion: Tang, Jia, Mao, 'Dance with Melody: An LSTM-autoencoder Approach to "
    "Music-oriented Dance Synthesis', ACM Multimedia 2018 "
    "(github.com/mhy12345/Music-to-Dance-Motion-Synthesis)"
)


def _mid(p: np.ndarray, a: int, b: int) -> np.ndarray:
    return 0.5 * (p[:, a] + p[:, b])


def _lerp(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
    return a + t * (b - a)


def to_smpl22(points: np.ndarray) -> tuple[np.ndarray, tuple[Quality, ...]]:
    """Map (T, 23, 3) m2d points onto the 22 SMPL joints (same units), with quality per joint.

    Point order and sides follow the m2d README: 12-20 are the left side, 3-11 the right.
    Point 2 is a lower-spine root about 13 cm above the hip line, so the SMPL pelvis lies a
    little below it, between it and the hip midpoint.
    """
    p = points
    hips = _mid(p, 7, 16)
    neck = _mid(p, 3, 12)
    head = _mid(p, 0, 1)
    pelvis = _lerp(hips, p[:, 2], 0.4)
    table: list[tuple[np.ndarray, Quality]] = [
        (pelvis, "approximate"),
        (p[:, 16], "exact"),  # left_hip
        (p[:, 7], "exact"),  # right_hip
        (_lerp(p[:, 2], neck, 0.1), "interpolated"),  # spine1
        (p[:, 17], "exact"),  # left_knee
        (p[:, 8], "exact"),  # right_knee
        (_lerp(p[:, 2], neck, 0.4), "interpolated"),  # spine2
        (p[:, 18], "exact"),  # left_ankle
        (p[:, 9], "exact"),  # right_ankle
        (_lerp(p[:, 2], neck, 0.55), "interpolated"),  # spine3
        (_lerp(p[:, 19], p[:, 20], 0.7), "interpolated"),  # left_foot: ball, heel -> toe
        (_lerp(p[:, 10], p[:, 11], 0.7), "interpolated"),  # right_foot
        (neck, "approximate"),  # neck: shoulder midpoint
        (_lerp(neck, p[:, 12], 0.45), "interpolated"),  # left_collar
        (_lerp(neck, p[:, 3], 0.45), "interpolated"),  # right_collar
        (_lerp(neck, head, 0.5), "interpolated"),  # head joint sits at the skull base
        (p[:, 12], "exact"),  # left_shoulder
        (p[:, 3], "exact"),  # right_shoulder
        (p[:, 13], "exact"),  # left_elbow
        (p[:, 4], "exact"),  # right_elbow
        (p[:, 15], "approximate"),  # left_wrist (wrist/hand marker)
        (p[:, 6], "approximate"),  # right_wrist
    ]
    return np.stack([j for j, _ in table], axis=1), tuple(q for _, q in table)


def looks_like(root: Path) -> bool:
    if root.is_dir() and NAME.match(root.name):
        return True
    return root.is_dir() and any(
        NAME.match(d.name) and (d / "skeletons.json").exists() for d in root.iterdir()
    )


def discover(root: Path) -> list[Path]:
    if root.is_dir() and NAME.match(root.name):
        return [root]
    items = sorted(d for d in root.iterdir() if d.is_dir() and NAME.match(d.name))
    if not items:
        raise SourceError(root, "no DANCE_<G>_<N> folders (m2d layout) found")
    return items


def read(item: Path) -> list[Sequence]:
    """One Sequence for a DANCE_<G>_<N> folder, synchronised with its song."""
    m = NAME.match(item.name)
    if not m:
        raise SourceError(item, "folder name is not DANCE_<G>_<N>")
    skel_path = item / "skeletons.json"
    data = load_json(skel_path)
    config = load_json(item / "config.json")
    try:
        points = np.asarray(data["skeletons"], dtype=np.float32)
        center = np.asarray(data["center"], dtype=np.float32)
    except (KeyError, TypeError, ValueError) as e:
        raise SourceError(
            skel_path, f"expected 'skeletons' [T][23][3] and 'center' [T][3]: {e}"
        ) from None
    if points.ndim != 3 or points.shape[1:] != (23, 3):
        raise SourceError(skel_path, f"'skeletons' has shape {points.shape}, expected (T, 23, 3)")
    if center.shape != (points.shape[0], 3):
        raise SourceError(
            skel_path, f"'center' has shape {center.shape}, expected ({len(points)}, 3)"
        )
    if len(points) < 2:
        raise SourceError(skel_path, "fewer than 2 frames")
    if "start_position" not in config:
        raise SourceError(item / "config.json", "missing 'start_position'")
    music = item / "audio.mp3"
    if not music.exists():
        raise SourceError(music, "missing file: every m2d dance needs its song")
    joints, quality = to_smpl22((points + center[:, None, :]) / 100.0)  # cm -> m
    genre_letter, number = m.group(1), m.group(2)
    seq = Sequence(
        seq_id=f"m2d/{item.name}",
        source="m2d",
        path=item,
        joints=joints,
        fps=FPS,
        joint_quality=quality,
        music_path=music,
        music_offset=float(config["start_position"]) / FPS,
        genre=GENRES.get(genre_letter, genre_letter),
        performer=None,
        labels={"category": "dance", "dance_id": f"{genre_letter}_{number}"},
        licence=LICENCE,
        credit=CREDIT,
    )
    return [to_common(seq)]
