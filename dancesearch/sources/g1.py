"""Reader for G1 Moves: human dance and karate retargeted to the Unitree G1 robot, no music.

`<clip>.npz` holds G1 link positions (`body_pos_w` (N, 30, 3) float16, metres, Z up, 60 FPS)
and derived toe points; `labels.csv` beside them gives category, style and performer.
The body keeps the robot's proportions (about 1.3 m tall).
"""

from __future__ import annotations

import csv
import zipfile
from pathlib import Path

import numpy as np

from dancesearch.errors import SourceError
from dancesearch.skeleton import Quality, Sequence, to_common, z_up_to_y_up
from dancesearch.sources.smpl import check_array

FPS = 60.0
N_BODIES = 30
LABELS_CSV = "labels.csv"
KEYS = ("body_pos_w", "body_names", "toe_pos_w")
LICENCE = "CC BY 4.0"
CREDIT = (
    'Motion: "G1 Moves" by Mitch Chaiet / Experiential Technologies (dance: Jasmine Coro; '
    "karate: Mike Gassaway; DIT: Molly Maguire), captured with MOVIN TRACIN — "
    "https://github.com/experientialtech/g1-moves — licensed CC BY 4.0 "
    "(https://creativecommons.org/licenses/by/4.0/). Modified: reduced to float16 G1 link "
    "positions; some clips recomputed by forward kinematics."
)
# the G1 links the README's mapping reads
LINKS = (
    "pelvis", "torso_link", "left_shoulder_pitch_link", "right_shoulder_pitch_link",
    "left_hip_pitch_link", "right_hip_pitch_link", "left_knee_link", "right_knee_link",
    "left_ankle_pitch_link", "right_ankle_pitch_link", "left_ankle_roll_link",
    "right_ankle_roll_link", "left_shoulder_roll_link", "right_shoulder_roll_link",
    "left_elbow_link", "right_elbow_link", "left_wrist_pitch_link", "right_wrist_pitch_link",
    "left_wrist_yaw_link", "right_wrist_yaw_link",
)  # fmt: skip


def _lerp(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
    return a + t * (b - a)


def to_smpl22(
    body: np.ndarray, names: list[str], toe: np.ndarray
) -> tuple[np.ndarray, tuple[Quality, ...]]:
    """Map G1 links (N, 30, 3) and toes (N, 2, 3) onto the 22 SMPL joints, per the README.

    The G1 waist is one joint cluster at the torso link T and the head is rigid with the torso,
    so the spine, neck and head are placed along T -> M (the shoulder-pitch midpoint) at
    fractions taken from SMPL rest proportions; neck and head lie beyond M.
    """
    idx = {n: i for i, n in enumerate(names)}

    def g(name: str) -> np.ndarray:
        return body[:, idx[name]]

    t = g("torso_link")
    m = 0.5 * (g("left_shoulder_pitch_link") + g("right_shoulder_pitch_link"))
    table: list[tuple[np.ndarray, Quality]] = [
        (g("pelvis"), "exact"),
        (g("left_hip_pitch_link"), "approximate"),  # first of three hip hinges
        (g("right_hip_pitch_link"), "approximate"),
        (_lerp(t, m, 0.10), "interpolated"),  # spine1
        (g("left_knee_link"), "exact"),
        (g("right_knee_link"), "exact"),
        (_lerp(t, m, 0.45), "interpolated"),  # spine2
        (g("left_ankle_pitch_link"), "exact"),
        (g("right_ankle_pitch_link"), "exact"),
        (_lerp(t, m, 0.60), "interpolated"),  # spine3
        (_lerp(g("left_ankle_roll_link"), toe[:, 0], 0.7), "interpolated"),  # ball of foot
        (_lerp(g("right_ankle_roll_link"), toe[:, 1], 0.7), "interpolated"),
        (_lerp(t, m, 1.15), "interpolated"),  # neck, above the shoulder line
        (_lerp(m, g("left_shoulder_pitch_link"), 0.6), "interpolated"),  # left_collar
        (_lerp(m, g("right_shoulder_pitch_link"), 0.6), "interpolated"),
        (_lerp(t, m, 1.35), "interpolated"),  # head
        (g("left_shoulder_roll_link"), "approximate"),  # closest to a ball-joint centre
        (g("right_shoulder_roll_link"), "approximate"),
        (g("left_elbow_link"), "exact"),
        (g("right_elbow_link"), "exact"),
        # wrist_roll is a forearm twist 10 cm from the elbow; the wrist is between pitch and yaw
        (_lerp(g("left_wrist_pitch_link"), g("left_wrist_yaw_link"), 0.5), "interpolated"),
        (_lerp(g("right_wrist_pitch_link"), g("right_wrist_yaw_link"), 0.5), "interpolated"),
    ]
    return np.stack([j for j, _ in table], axis=1), tuple(q for _, q in table)


def _has_g1_keys(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as z:  # an npz is a zip; listing it reads no arrays
            names = set(z.namelist())
    except (OSError, zipfile.BadZipFile):
        return False
    return {"body_pos_w.npy", "body_names.npy"} <= names


def looks_like(root: Path) -> bool:
    if root.is_file():
        return root.suffix == ".npz" and _has_g1_keys(root)
    first = next(iter(sorted(root.glob("*.npz"))), None) if root.is_dir() else None
    return first is not None and _has_g1_keys(first)


def discover(root: Path) -> list[Path]:
    """The G1 Moves clips (npz with `body_pos_w` and `body_names`) in a folder."""
    if root.is_file():
        if not looks_like(root):
            raise SourceError(root, "not a G1 Moves npz (needs body_pos_w and body_names)")
        return [root]
    items = sorted(p for p in root.glob("*.npz") if _has_g1_keys(p))
    if not items:
        raise SourceError(root, "no G1 Moves <clip>.npz files found")
    return items


def clip_labels(item: Path) -> dict[str, str]:
    """The labels.csv row of a clip (matched by `file`), or {} when there is none."""
    csv_path = item.parent / LABELS_CSV
    if not csv_path.is_file():
        return {}
    try:
        with csv_path.open(newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                if row.get("file") == item.name or row.get("clip") == item.stem:
                    return {k: (v or "").strip() for k, v in row.items() if k}
    except (OSError, csv.Error, UnicodeDecodeError) as e:
        raise SourceError(csv_path, f"cannot read G1 labels: {e}") from None
    return {}


def item_files(item: Path) -> list[Path]:
    """The clip file and the labels.csv its category, style and performer come from."""
    labels = item.parent / LABELS_CSV
    return [item, labels] if labels.is_file() else [item]


def read(item: Path) -> list[Sequence]:
    """One Sequence per clip, on the common body (Y up, 30 FPS), with its labels.csv row."""
    try:
        with np.load(item, allow_pickle=False) as npz:
            missing = [k for k in KEYS if k not in npz.files]
            if missing:
                raise SourceError(item, f"missing key '{missing[0]}' (G1 Moves npz)")
            body = npz["body_pos_w"].astype(np.float32)
            names = [str(n) for n in npz["body_names"]]
            toe = npz["toe_pos_w"].astype(np.float32)
            fps = float(npz["fps"].reshape(-1)[0]) if "fps" in npz.files else FPS
    except (OSError, ValueError, zipfile.BadZipFile) as e:
        raise SourceError(item, f"cannot read G1 Moves npz: {e}") from None
    if not fps > 0:
        raise SourceError(item, f"'fps' is {fps}, expected a positive number")
    check_array(body, (None, N_BODIES, 3), "body_pos_w", item)
    check_array(toe, (len(body), 2, 3), "toe_pos_w", item)
    absent = [n for n in LINKS if n not in names]
    if absent:
        raise SourceError(item, f"'body_names' lacks {', '.join(absent)}")
    joints, quality = to_smpl22(body, names, toe)
    row = clip_labels(item)
    labels = {k: row[k] for k in ("category", "style") if row.get(k)}
    labels["title"] = row.get("clip") or item.stem  # the take's name, e.g. B_SpinKarate
    seq = Sequence(
        seq_id=f"g1/{item.stem}",
        source="g1",
        path=item,
        joints=z_up_to_y_up(joints),
        fps=fps,
        joint_quality=quality,
        genre=None,  # the styles come from clip names and are not verified genres
        performer=row.get("performer") or None,
        labels=labels,
        licence=LICENCE,
        credit=CREDIT,
    )
    return [to_common(seq)]
